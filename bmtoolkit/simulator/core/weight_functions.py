"""Weight functions: BMTK's calling conventions and the built-in names BMTK models use.

Two calling conventions are accepted, both registered in
:data:`~bmtoolkit.simulator.core.registries.WEIGHT_FUNCTIONS`:

- **vectorized** (BMTK's convention for NEST networks, ours by default):
  ``fn(edges, src_nodes, trg_nodes)`` gets every edge of one edge type at once. ``edges`` is
  a :class:`pandas.DataFrame` holding every edge column (HDF5 group columns, edge-type CSV
  columns such as ``weight_sigma``, ``source_node_id``, ``target_node_id``,
  ``edge_type_id``; ``nsyns`` 1 when absent); ``src_nodes``/``trg_nodes`` give one row per
  edge, ``src_nodes["tuning_angle"]`` is a :class:`pandas.Series` so ``.values`` works. The
  result is the connection's total weight.
- **per edge** (BMTK's convention for NEURON networks): ``fn(edge_props, src_node,
  trg_node)`` is called once per edge with mappings of that edge's and its two nodes'
  properties, and returns the weight of *one* synapse; the connection's total is that times
  ``nsyns`` (BMTK's NEURON simulator gives each of the ``nsyns`` synapses the returned
  weight). :class:`PerEdgeWeight` wraps such a function into the vectorized form.

:func:`is_per_edge` tells them apart by the parameter names (``edge``/``edge_props`` vs
``edges``); an explicit ``per_edge=`` at registration overrides it.

Built-in names (BMTK's and the Allen V1 model's):

- ``wmax``, ``default_weight_fnc``, ``set_syn_weight``: ``syn_weight * nsyns``;
- ``gaussianLL``: ``syn_weight * nsyns * exp(-(d / weight_sigma)**2)`` with ``d`` BMTK's
  orientation difference of ``tuning_angle`` (0-90 degrees);
- ``DirectionRule_others``, ``DirectionRule_EE``: the V1 model's direction-tuned rules
  (``weight_sigma`` from the edge types; ``DirectionRule_EE`` adds the x/z phase term);
- ``ConstantMultiplier_LGN``, ``ConstantMultiplier_BKG``: the V1 model's ``syn_weight``
  (its LGN and background edges, without ``nsyns`` as the V1 model defines them).

Examples
--------
>>> import pandas as pd
>>> from bmtoolkit.simulator.core.registries import get_weight_function
>>> edges = pd.DataFrame({"syn_weight": [2.0], "nsyns": [3], "weight_sigma": [30.0]})
>>> src = pd.DataFrame({"tuning_angle": [10.0]})
>>> trg = pd.DataFrame({"tuning_angle": [40.0]})
>>> round(float(get_weight_function("gaussianLL")(edges, src, trg)[0]), 4)
2.2073
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from bmtoolkit.simulator.core.registries import NodeColumns

__all__ = [
    "PerEdgeWeight",
    "Row",
    "direction_rule_ee",
    "direction_rule_others",
    "gaussian_ll",
    "is_per_edge",
    "orientation_difference",
]

#: first-parameter names that mark a per-edge function / a vectorized one
_PER_EDGE_NAMES = frozenset({"edge", "edge_props", "edge_prop", "edge_property", "syn"})
_VECTOR_NAMES = frozenset({"edges", "edges_df", "edge_table", "edge_df"})


def is_per_edge(fn: Callable[..., Any], default: bool = False) -> bool:
    """Whether ``fn`` takes one edge at a time (BMTK's NEURON convention) rather than a table.

    Decided by the first parameter's name (``edge``, ``edge_props`` ...: per edge; ``edges``:
    vectorized), else by the second (``src_node``/``src_cell`` vs ``src_nodes``), else
    ``default``.

    Examples
    --------
    >>> is_per_edge(lambda edge_props, src_node, trg_node: 1.0)
    True
    >>> is_per_edge(lambda edges, src_nodes, trg_nodes: 1.0)
    False
    >>> is_per_edge(lambda a, b, c: 1.0, default=True)
    True
    """
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return default
    if params and params[0] in _PER_EDGE_NAMES:
        return True
    if params and params[0] in _VECTOR_NAMES:
        return False
    if len(params) > 1:
        if params[1] in ("src_node", "src_cell", "source_node", "source_cell", "src_props"):
            return True
        if params[1] in ("src_nodes", "source_nodes", "sources", "source"):
            return False
    return default


class Row(Mapping):
    """One edge's or node's properties as a read-only mapping (``row["syn_weight"]``).

    ``row.node_id`` (nodes) or ``row.source_node_id``/``row.target_node_id`` (edges) are
    attributes too, as on BMTK's objects.

    Examples
    --------
    >>> r = Row({"node_id": 3, "x": 1.5})
    >>> r["x"], r.node_id, r.get("y", 0.0)
    (1.5, 3, 0.0)
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError as err:
            raise AttributeError(f"no {name!r}; known: {', '.join(self._values)}") from err

    def __repr__(self) -> str:
        return f"Row({self._values!r})"


def _rows(frame: Any, n: int) -> list[Row]:
    """One :class:`Row` per position of ``frame`` (a DataFrame or a NodeColumns view)."""
    columns = list(getattr(frame, "columns", ()))
    arrays = {c: np.asarray(frame[c]) for c in columns}
    if "node_id" not in arrays and hasattr(frame, "node_ids"):
        arrays["node_id"] = np.asarray(frame.node_ids)
    out = []
    for i in range(n):
        out.append(Row({c: _scalar(a[i]) for c, a in arrays.items()}))
    return out


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class PerEdgeWeight:
    """A per-edge weight function ``fn(edge_props, src_node, trg_node)`` in vectorized form.

    Each edge's result is the weight of one synapse (as in BMTK's NEURON simulator); the
    returned array holds the connection totals, ``result * nsyns``.

    Examples
    --------
    >>> import pandas as pd
    >>> w = PerEdgeWeight(lambda e, s, t: e["syn_weight"] * s["x"])
    >>> edges = pd.DataFrame({"syn_weight": [1.0, 2.0], "nsyns": [1, 3]})
    >>> w(edges, pd.DataFrame({"x": [5.0, 7.0]}), pd.DataFrame({"x": [0.0, 0.0]})).tolist()
    [5.0, 42.0]
    """

    per_edge = True

    def __init__(self, fn: Callable[[Any, Any, Any], float]) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "weight_function")
        self.__doc__ = getattr(fn, "__doc__", None)

    def __call__(self, edges: pd.DataFrame, source: NodeColumns, target: NodeColumns) -> np.ndarray:
        n = len(edges)
        erows = _rows(edges, n)
        srows = _rows(source, n)
        trows = _rows(target, n)
        out = np.fromiter(
            (float(self.fn(e, s, t)) for e, s, t in zip(erows, srows, trows, strict=True)),
            dtype=float,
            count=n,
        )
        if "nsyns" in getattr(edges, "columns", ()):
            out *= np.asarray(edges["nsyns"], dtype=float)
        return out

    def __repr__(self) -> str:
        return f"PerEdgeWeight({self.__name__})"


def _col(frame: Any, name: str) -> np.ndarray:
    return np.asarray(frame[name], dtype=float)


def _nsyns(edges: pd.DataFrame) -> np.ndarray:
    if "nsyns" in getattr(edges, "columns", ()):
        return _col(edges, "nsyns")
    return np.ones(len(edges))


def orientation_difference(a: Any, b: Any) -> np.ndarray:
    """BMTK's ``gaussianLL`` orientation difference of two angles (degrees, 0-90).

    Examples
    --------
    >>> orientation_difference([0.0, 10.0], [90.0, 190.0]).tolist()
    [90.0, 0.0]
    """
    d = np.mod(np.abs(np.asarray(b, float) - np.asarray(a, float)), 360.0)
    return np.abs(np.abs(np.abs(180.0 - d) - 90.0) - 90.0)


def _direction_difference(a: Any, b: Any) -> np.ndarray:
    """Direction difference of two angles (degrees, 0-180), as the V1 model defines it."""
    d = np.mod(np.abs(np.asarray(b, float) - np.asarray(a, float)), 360.0)
    return np.abs(np.abs(d - 180.0) - 180.0)


def gaussian_ll(edges: pd.DataFrame, source: NodeColumns, target: NodeColumns) -> np.ndarray:
    """``syn_weight * nsyns * exp(-(d / weight_sigma)**2)``, ``d`` the orientation
    difference of the two nodes' ``tuning_angle`` (BMTK's ``gaussianLL``)."""
    d = orientation_difference(_col(source, "tuning_angle"), _col(target, "tuning_angle"))
    w0 = _col(edges, "syn_weight")
    return w0 * _nsyns(edges) * np.exp(-((d / _col(edges, "weight_sigma")) ** 2))


def direction_rule_others(
    edges: pd.DataFrame, source: NodeColumns, target: NodeColumns
) -> np.ndarray:
    """The V1 model's ``DirectionRule_others``: a Gaussian of the direction difference."""
    d = _direction_difference(_col(source, "tuning_angle"), _col(target, "tuning_angle"))
    mult = np.exp(-((d / _col(edges, "weight_sigma")) ** 2))
    return _col(edges, "syn_weight") * mult * _nsyns(edges)


def direction_rule_ee(edges: pd.DataFrame, source: NodeColumns, target: NodeColumns) -> np.ndarray:
    """The V1 model's ``DirectionRule_EE``: :func:`direction_rule_others` times a phase term
    of the x/z offset along the target's preferred direction."""
    src_t = _col(source, "tuning_angle")
    trg_t = _col(target, "tuning_angle")
    mult = np.exp(-((_direction_difference(src_t, trg_t) / _col(edges, "weight_sigma")) ** 2))
    dx = (_col(target, "x") - _col(source, "x")) * 0.07
    dz = (_col(target, "z") - _col(source, "z")) * 0.04
    theta = np.deg2rad(trg_t)
    xz = dx * np.cos(theta) + dz * np.sin(theta)
    phase = np.exp(-(xz**2) / 2.0)  # sigma_phase 1
    # horizontal preferences scaled by 5.5/4, vertical ones by 5.5/7, linear in between
    tilt = np.abs(np.abs(np.abs(180.0 - np.mod(np.abs(trg_t), 360.0)) - 90.0) - 90.0)
    phase = phase * (5.5 / 4.0 - 11.0 / 1680.0 * tilt)
    return _col(edges, "syn_weight") * mult * phase * _nsyns(edges)


def constant_multiplier(
    edges: pd.DataFrame, source: NodeColumns, target: NodeColumns
) -> np.ndarray:  # noqa: ARG001
    """The V1 model's ``ConstantMultiplier_*``: ``syn_weight`` (no ``nsyns`` factor)."""
    return _col(edges, "syn_weight")


#: name -> vectorized function, registered by :mod:`~bmtoolkit.simulator.core.registries`
BUILTIN: dict[str, Callable[[Any, Any, Any], np.ndarray]] = {
    "gaussianLL": gaussian_ll,
    "DirectionRule_others": direction_rule_others,
    "DirectionRule_EE": direction_rule_ee,
    "ConstantMultiplier_LGN": constant_multiplier,
    "ConstantMultiplier_BKG": constant_multiplier,
}
