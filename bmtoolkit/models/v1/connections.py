"""Connection rules of the V1 model: probabilities, distance and orientation dependence, weights.

Every value here is **our choice** unless a source is named. The seed material (the Allen
Institute slides and the BMTK/SONATA/VND workshop) names where the Allen model's values come
from: connection probabilities and unitary PSPs from multi-patch synaptic physiology (Seeman et
al. 2018) and the literature (Lee et al. 2016; Billeh et al. 2020), axonal delays, and
like-to-like connectivity and weights; it gives no numbers. The tables below follow the
qualitative structure those sources describe, and the weights were tuned so the network answers
a drifting grating with finite, nonzero rates in every class and orientation-tuned excitatory
cells (``docs/v1_model.md`` records the numbers).

Recurrent connections
---------------------
``P(i -> j) = p0(kind_i, kind_j) * L(layer_i, layer_j) * exp(-d^2 / (2 sigma^2))`` with ``d`` the
horizontal (x-z) distance and a cutoff at ``3 sigma``:

- ``p0`` by source and target kind (:data:`P0`): excitatory cells contact Pvalb cells most,
  Pvalb and Sst cells inhibit excitatory cells densely, Htr3a (VIP-like) cells inhibit Sst
  cells (the disinhibitory motif), Sst cells avoid each other;
- ``L`` by source and target layer (:data:`LAMINAR_E` for excitatory sources: the canonical
  L4 -> L2/3 -> L5 -> L6 -> L4 loop; inhibition mostly within a layer, :data:`LAMINAR_I`);
- ``sigma`` 110 um for excitatory and 90 um for inhibitory sources;
- E -> E connections are like-to-like: ``p`` is multiplied by ``(1 + a cos(2 dtheta)) /
  (1 + a)`` with ``a = 0.6`` and ``dtheta`` the preferred-orientation difference, and so are
  their weights (:data:`LIKE_TO_LIKE_WEIGHT`); the peak ``p0`` is raised by ``1 + a`` so the
  mean over orientations stays ``p0``.

Weights are PSC amplitudes in pA per synapse (NEST ``glif_psc``), one connection one synapse,
on the receptor port of the source and target sign (BMTK's ``e2e``, ``i2e``, ``e2i``, ``i2i``
ports, time constants 5.5, 8.5, 2.8 and 5.8 ms). Delays (ms) depend on the source and target
sign.

Scaling down
------------
A model at ``fraction`` of full size keeps the cell density and shrinks the radius by
``sqrt(fraction)``, so a cell loses the partners that would lie beyond the edge. Recurrent
weights are multiplied by :func:`in_degree_compensation`, the ratio of the mean in-degree at
full size to that at ``fraction`` for the rule's ``sigma`` (computed, not fitted), so the mean
input a cell receives does not depend on the fraction.

Examples
--------
>>> round(recurrent_p0("e4", "e23"), 3)
0.084
>>> in_degree_compensation(110.0, 1.0)
1.0
>>> 1.0 < in_degree_compensation(110.0, 0.05) < 4.0
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from bmtoolkit.models.v1.cells import CLASS_INFO, FULL_RADIUS, check_fraction

KINDS = ("E", "Pvalb", "Sst", "Htr3a")

#: peak connection probability by (source kind, target kind), same layer, distance 0
P0: dict[str, dict[str, float]] = {
    "E": {"E": 0.14, "Pvalb": 0.35, "Sst": 0.25, "Htr3a": 0.15},
    "Pvalb": {"E": 0.40, "Pvalb": 0.45, "Sst": 0.10, "Htr3a": 0.05},
    "Sst": {"E": 0.30, "Pvalb": 0.25, "Sst": 0.03, "Htr3a": 0.30},
    "Htr3a": {"E": 0.08, "Pvalb": 0.05, "Sst": 0.40, "Htr3a": 0.05},
}

#: laminar factor of excitatory sources, source layer -> target layer
LAMINAR_E: dict[str, dict[str, float]] = {
    "2/3": {"1": 0.5, "2/3": 1.0, "4": 0.1, "5": 0.6, "6": 0.1},
    "4": {"1": 0.1, "2/3": 0.6, "4": 1.0, "5": 0.4, "6": 0.1},
    "5": {"1": 0.1, "2/3": 0.15, "4": 0.1, "5": 1.0, "6": 0.3},
    "6": {"1": 0.0, "2/3": 0.05, "4": 0.3, "5": 0.2, "6": 1.0},
}
#: laminar factor of inhibitory sources (L1 Htr3a cells reach down into L2/3)
LAMINAR_I: dict[str, dict[str, float]] = {
    "1": {"1": 1.0, "2/3": 0.5, "4": 0.0, "5": 0.0, "6": 0.0},
    "2/3": {"1": 0.2, "2/3": 1.0, "4": 0.15, "5": 0.0, "6": 0.0},
    "4": {"1": 0.0, "2/3": 0.15, "4": 1.0, "5": 0.15, "6": 0.0},
    "5": {"1": 0.0, "2/3": 0.0, "4": 0.15, "5": 1.0, "6": 0.15},
    "6": {"1": 0.0, "2/3": 0.0, "4": 0.0, "5": 0.15, "6": 1.0},
}

#: gaussian length scale (um) of the horizontal distance dependence, by source sign
SIGMA = {"e": 110.0, "i": 90.0}
#: the rule stops at this many sigma
CUTOFF_SIGMAS = 3.0
#: like-to-like modulation depth ``a`` of E -> E probabilities and weights
LIKE_TO_LIKE = 0.6
LIKE_TO_LIKE_WEIGHT = 0.6

#: PSC amplitude (pA) per synapse by (source kind, target kind); inhibitory ones are negative
WEIGHTS: dict[str, dict[str, float]] = {
    "E": {"E": 9.0, "Pvalb": 16.0, "Sst": 10.0, "Htr3a": 10.0},
    "Pvalb": {"E": -30.0, "Pvalb": -28.0, "Sst": -16.0, "Htr3a": -16.0},
    "Sst": {"E": -18.0, "Pvalb": -16.0, "Sst": -10.0, "Htr3a": -16.0},
    "Htr3a": {"E": -14.0, "Pvalb": -12.0, "Sst": -12.0, "Htr3a": -12.0},
}
#: synaptic delay (ms) by (source sign, target sign)
DELAYS = {("e", "e"): 1.6, ("e", "i"): 1.2, ("i", "e"): 1.0, ("i", "i"): 1.0}
#: receptor port (BMTK synapse file) by (source sign, target sign)
RECEPTORS = {("e", "e"): "e2e.json", ("i", "e"): "i2e.json",
             ("e", "i"): "e2i.json", ("i", "i"): "i2i.json"}  # fmt: skip
PORTS = {"e2e.json": 1, "i2e.json": 2, "e2i.json": 3, "i2i.json": 4}


def sign(kind: str) -> str:
    """``"e"`` for excitatory kinds, ``"i"`` otherwise."""
    return "e" if kind == "E" else "i"


def recurrent_p0(source_class: str, target_class: str) -> float:
    """Mean (over orientations) connection probability at distance 0 of a class pair."""
    s_layer, s_kind = CLASS_INFO[source_class]
    t_layer, t_kind = CLASS_INFO[target_class]
    laminar = LAMINAR_E if s_kind == "E" else LAMINAR_I
    return P0[s_kind][t_kind] * laminar[s_layer][t_layer]


@dataclass(frozen=True)
class PairRule:
    """What connects one source class to one target class.

    Attributes
    ----------
    p0 : float
        Peak probability (after the like-to-like raise for E -> E).
    sigma : float
        Gaussian length scale (um).
    like_to_like : bool
        Orientation-modulated probability and weight.
    weight : float
        PSC amplitude (pA) at full size, before the in-degree compensation.
    delay : float
        ms.
    synapse : str
        Synapse file (receptor port).
    """

    p0: float
    sigma: float
    like_to_like: bool
    weight: float
    delay: float
    synapse: str


def pair_rule(source_class: str, target_class: str) -> PairRule | None:
    """The rule of a class pair, None when the pair does not connect."""
    p = recurrent_p0(source_class, target_class)
    if p <= 0:
        return None
    s_kind, t_kind = CLASS_INFO[source_class][1], CLASS_INFO[target_class][1]
    s, t = sign(s_kind), sign(t_kind)
    l2l = s_kind == "E" and t_kind == "E"
    if l2l:
        p = min(1.0, p * (1.0 + LIKE_TO_LIKE))
    return PairRule(
        p0=p,
        sigma=SIGMA[s],
        like_to_like=l2l,
        weight=WEIGHTS[s_kind][t_kind],
        delay=DELAYS[(s, t)],
        synapse=RECEPTORS[(s, t)],
    )


@lru_cache(maxsize=64)
def _disk_overlap(sigma: float, radius: float, samples: int = 200_000) -> float:
    """Mean over points uniform in a disk of ``sum`` of the gaussian profile over the disk.

    Returned per unit density: ``E_x[ integral_disk exp(-|x-y|^2 / 2 sigma^2) dy ]`` in um^2,
    by Monte Carlo over pairs of points with a fixed seed (relative error ~0.3 %).
    """
    rng = np.random.default_rng(12345)
    r = radius * np.sqrt(rng.random((2, samples)))
    phi = rng.uniform(0.0, 2.0 * np.pi, (2, samples))
    dx = r[0] * np.cos(phi[0]) - r[1] * np.cos(phi[1])
    dy = r[0] * np.sin(phi[0]) - r[1] * np.sin(phi[1])
    d2 = dx * dx + dy * dy
    cutoff = CUTOFF_SIGMAS * sigma
    f = np.where(d2 <= cutoff * cutoff, np.exp(-d2 / (2.0 * sigma * sigma)), 0.0)
    return float(f.mean() * math.pi * radius * radius)


def in_degree_compensation(sigma: float, fraction: float) -> float:
    """Weight factor that restores the full-size mean in-degree at ``fraction``.

    The ratio of the mean, over cells of the disk, of the number of partners a gaussian rule
    of length ``sigma`` finds at full radius to the number it finds at the reduced radius.
    """
    f = check_fraction(fraction)
    if f == 1.0:
        return 1.0
    full = _disk_overlap(float(sigma), FULL_RADIUS)
    small = _disk_overlap(float(sigma), FULL_RADIUS * math.sqrt(f))
    return full / small
