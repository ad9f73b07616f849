"""BMTK's ``bmtk.builder.auxi.edge_connectors`` module path: per-pair connection functions.

Each function has BMTK's signature, ``f(source, target, **connection_params) -> nsyns`` (or
``None`` for no connection), and is given to
:meth:`bmtoolkit.builder.NetworkBuilder.add_edges` as ``connection_rule`` with its
parameters as ``connection_params``; the builder calls it once per pair
(:mod:`bmtoolkit.builder.rules.callables`). Like BMTK's, they draw from the global generators
(:func:`distance_connector` from Python's ``random``, :func:`connect_random` from
``numpy.random``) the same numbers in the same order: an unseeded serial build of a script that
seeds them gives BMTK's edges (:mod:`bmtoolkit.builder.script_order`); a seeded build seeds
them per block. For large networks the
vectorized rules of :mod:`bmtoolkit.builder.rules` (``distance``, ``random``) give the same
kind of connectivity without a Python call per pair.

Examples
--------
>>> from bmtoolkit.builder.networks import NetworkBuilder
>>> net = NetworkBuilder("v1")
>>> net.add_nodes(N=20, x=range(20), y=[0.0] * 20, z=[0.0] * 20, ei="e")
>>> cm = net.add_edges(source={"ei": "e"}, target={"ei": "e"},
...                    connection_rule=connect_random,
...                    connection_params={"nsyn_min": 1, "nsyn_max": 3})
>>> net.build()
>>> net.nedges > 0
True
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["connect_random", "distance_connector"]


def _position(node: Mapping[str, Any]) -> np.ndarray:
    """The ``(x, y, z)`` of a node view (``positions`` or the ``x``/``y``/``z`` columns)."""
    if "positions" in node:
        return np.asarray(node["positions"], dtype=float)
    return np.array([float(node.get(axis, 0.0)) for axis in ("x", "y", "z")])


def distance_connector(
    source: Mapping[str, Any],
    target: Mapping[str, Any],
    d_weight_min: float,
    d_weight_max: float,
    d_max: float,
    nsyn_min: int,
    nsyn_max: int,
) -> int | None:
    """Connect with a probability falling linearly with distance; random synapse count.

    The probability is ``d_weight_max`` at distance 0 and falls linearly to ``d_weight_min``
    at ``d_max``; beyond ``d_max`` nothing connects, nor does a node to itself. A connected
    pair gets ``nsyn_min`` to ``nsyn_max`` synapses (both included). Both draws come from
    Python's ``random`` module, as in BMTK.

    Examples
    --------
    >>> a = {"node_id": 0, "positions": [0.0, 0.0, 0.0]}
    >>> b = {"node_id": 1, "positions": [500.0, 0.0, 0.0]}
    >>> distance_connector(a, b, 0.0, 1.0, 100.0, 1, 3) is None
    True
    """
    if source["node_id"] == target["node_id"]:
        return None
    distance = float(np.linalg.norm(_position(source) - _position(target)))
    if distance > d_max:
        return None
    frac = distance / d_max if d_max > 0 else 0.0
    p = d_weight_max * (1.0 - frac) + d_weight_min * frac
    if p <= 0.0 or random.random() > p:
        return None
    return random.randint(int(nsyn_min), int(nsyn_max))


def connect_random(
    source: Mapping[str, Any],
    target: Mapping[str, Any],
    nsyn_min: int = 0,
    nsyn_max: int = 10,
    distribution: Any = None,
) -> int:
    """A uniform random synapse count in ``[nsyn_min, nsyn_max)`` for every pair.

    ``distribution`` is accepted for BMTK's signature and, as there, not used.

    Examples
    --------
    >>> 2 <= connect_random({"node_id": 0}, {"node_id": 1}, nsyn_min=2, nsyn_max=4) < 4
    True
    """
    return int(np.random.randint(int(nsyn_min), int(nsyn_max)))
