"""Distance-dependent connectivity with a k-d tree cutoff.

``P(i -> j) = p0 * f(d_ij)`` for ``d_ij <= cutoff`` and 0 beyond, with ``d_ij`` the Euclidean
distance between the somata in 3-D (``axes="xyz"``) or in a plane (``axes="xz"``, the horizontal
plane when ``y`` is cortical depth). Profiles ``f``:

- ``gaussian``: ``f(d) = exp(-d^2 / (2 sigma^2))``;
- ``exponential``: ``f(d) = exp(-d / sigma)``;
- ``uniform``: ``f(d) = 1``.

How it scales: sources are binned in a grid of cells of side ``cutoff / 2``; a
``scipy.spatial.cKDTree`` over the occupied cell centres returns, for each cell of targets, the
source cells that can hold a partner within ``cutoff``. Among those candidate pairs, proposals
are drawn with probability ``p0`` by geometric skips and accepted with probability ``f(d)``,
which is exact (``p0 * f(d)``) and costs time proportional to ``p0 x`` candidate pairs in range,
never ``N^2`` and never a per-pair Python call. Memory is proportional to the edges of a block.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.builder import NetworkBuilder, positions
>>> net = NetworkBuilder("v1")
>>> net.add_nodes(N=300, positions=positions.cylinder(300, 200.0, 100.0, seed=1), ei="e")
>>> rule = DistanceProbability(p0=0.3, sigma=50.0, cutoff=150.0)
>>> _ = net.add_edges(source={"ei": "e"}, target={"ei": "e"}, connection_rule=rule)
>>> net.build(seed=3)
>>> net.nedges > 0
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.builder.rules.base import (
    CONNECTION_RULES,
    ConnectionRule,
    Connections,
    NodeBlock,
    SynapseCount,
    bernoulli_pairs,
    drop_autapses,
)
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.registry import Registry

#: distance profiles ``f(d, sigma) -> values in [0, 1]``
DISTANCE_PROFILES: Registry[Callable[[np.ndarray, float], np.ndarray]] = Registry(
    "distance profile"
)


@DISTANCE_PROFILES.register("gaussian")
def gaussian_profile(d: np.ndarray, sigma: float) -> np.ndarray:
    """``exp(-d^2 / (2 sigma^2))``."""
    return np.exp(-(d * d) / (2.0 * sigma * sigma))


@DISTANCE_PROFILES.register("exponential")
def exponential_profile(d: np.ndarray, sigma: float) -> np.ndarray:
    """``exp(-d / sigma)``."""
    return np.exp(-d / sigma)


@DISTANCE_PROFILES.register("uniform")
def uniform_profile(d: np.ndarray, sigma: float) -> np.ndarray:
    """``1`` (only the cutoff matters)."""
    return np.ones_like(d)


_AXES = {"x": 0, "y": 1, "z": 2}


def axes_index(axes: str) -> list[int]:
    """Columns of ``positions`` for an axes string such as ``"xyz"`` or ``"xz"``."""
    try:
        cols = [_AXES[a] for a in axes.lower()]
    except KeyError:
        raise ConfigError(f"axes must be letters of 'xyz', got {axes!r}", field="axes") from None
    if not cols or len(set(cols)) != len(cols):
        raise ConfigError(f"axes must be distinct letters of 'xyz', got {axes!r}", field="axes")
    return cols


@dataclass
class CandidateGrid:
    """Source positions binned for cutoff queries (see the module docstring).

    Parameters
    ----------
    points : np.ndarray
        ``(n, D)`` source coordinates.
    cutoff : float or None
        Maximum distance; None means every source is a candidate of every target.
    """

    points: np.ndarray
    cutoff: float | None

    def __post_init__(self) -> None:
        n, dims = self.points.shape
        self.order = np.arange(n, dtype=np.int64)
        if self.cutoff is None or n == 0:
            return
        from scipy.spatial import cKDTree

        self.cell = self.cutoff / 2.0
        self.origin = self.points.min(axis=0)
        coords = np.floor((self.points - self.origin) / self.cell).astype(np.int64)
        cells, inverse = np.unique(coords, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        self.order = np.argsort(inverse, kind="stable").astype(np.int64)
        counts = np.bincount(inverse, minlength=len(cells))
        self.starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.counts = counts.astype(np.int64)
        self.tree = cKDTree((cells + 0.5) * self.cell + self.origin)
        self.reach = self.cutoff + self.cell * np.sqrt(dims)

    def groups(self, targets: np.ndarray) -> Iterator[tuple[np.ndarray, Candidates]]:
        """Yield ``(target rows, candidate sources)`` covering every pair within cutoff."""
        n_src = len(self.points)
        if self.cutoff is None or n_src == 0:
            if len(targets) and n_src:
                one = np.zeros(1, dtype=np.int64)
                yield (
                    np.arange(len(targets), dtype=np.int64),
                    Candidates(self.order, one, np.array([n_src], dtype=np.int64)),
                )
            return
        coords = np.floor((targets - self.origin) / self.cell).astype(np.int64)
        tcells, inverse = np.unique(coords, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        by_cell = np.argsort(inverse, kind="stable").astype(np.int64)
        bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(tcells)))])
        neighbours = self.tree.query_ball_point(
            (tcells + 0.5) * self.cell + self.origin, self.reach
        )
        for k, cells in enumerate(neighbours):
            if not cells:
                continue
            cells = np.sort(np.asarray(cells, dtype=np.int64))
            yield (
                by_cell[bounds[k] : bounds[k + 1]],
                Candidates(self.order, self.starts[cells], self.counts[cells]),
            )


class Candidates:
    """The source rows of some grid cells, in cell order, without materialising them.

    ``take(i)`` gives the rows at positions ``i`` of the concatenated cells, so a rule pays for
    the pairs it proposes rather than for every candidate of every target cell.

    Parameters
    ----------
    order : np.ndarray
        Source rows sorted by grid cell.
    starts, counts : np.ndarray
        First position in ``order`` and number of sources of each cell.
    """

    __slots__ = ("_ends", "_offset", "order", "total")

    def __init__(self, order: np.ndarray, starts: np.ndarray, counts: np.ndarray) -> None:
        self.order = order
        self._ends = np.cumsum(counts)
        self.total = int(self._ends[-1]) if len(counts) else 0
        # position in ``order`` = i + offset of the cell holding i
        self._offset = starts - (self._ends - counts)

    def __len__(self) -> int:
        return self.total

    def take(self, i: np.ndarray) -> np.ndarray:
        """Source rows at positions ``i`` (int64, each in ``[0, len)``)."""
        if len(self._ends) == 1:
            return self.order[i + self._offset[0]]
        cell = np.searchsorted(self._ends, i, side="right")
        return self.order[i + self._offset[cell]]


class ThinnedRule(ConnectionRule):
    """Base of rules with ``P = pmax * accept(pair)``, optionally limited to ``cutoff``.

    Subclasses set ``pmax``, ``cutoff``, ``axes``, ``nsyns``, ``autapses`` and implement
    :meth:`accept`, the acceptance probability of proposed pairs in [0, 1].
    """

    pmax: float = 1.0
    cutoff: float | None = None
    axes: str = "xyz"
    autapses: bool = False
    nsyns: SynapseCount = SynapseCount()

    def _coords(self, block: NodeBlock) -> np.ndarray:
        return block.positions(type(self).__name__)[:, axes_index(self.axes)]

    def prepare(self, sources: NodeBlock) -> Any:  # noqa: D102
        pts = self._coords(sources) if self.cutoff is not None else np.zeros((len(sources), 1))
        return CandidateGrid(pts, self.cutoff)

    #: whether :meth:`accept` uses the distances it is given
    needs_distance: bool = False

    def accept(
        self,
        sources: NodeBlock,
        targets: NodeBlock,
        src: np.ndarray,
        trg: np.ndarray,
        d: np.ndarray | None,
    ) -> np.ndarray:
        """Acceptance probability of each proposed pair (``d``: distances, or None)."""
        return np.ones(len(src))

    def distances(
        self, sources: NodeBlock, targets: NodeBlock, src: np.ndarray, trg: np.ndarray
    ) -> np.ndarray:
        """Distance of each pair in the rule's axes."""
        diff = self._coords(sources)[src] - self._coords(targets)[trg]
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))

    def connect(self, sources, targets, rng, state):  # noqa: D102
        grid: CandidateGrid = state
        use_d = self.cutoff is not None or self.needs_distance
        spts = tpts = None
        if use_d:
            # coordinates once per block (the grid already holds the sources' when cut off)
            spts = grid.points if self.cutoff is not None else self._coords(sources)
            tpts = self._coords(targets)
        grid_pts = tpts if self.cutoff is not None else np.zeros((len(targets), 1))
        src_parts, trg_parts = [], []
        for trows, cand in grid.groups(grid_pts):
            ti, ci = bernoulli_pairs(len(trows), len(cand), self.pmax, rng)
            src, trg = cand.take(ci), trows[ti]
            if not self.autapses:
                keep = drop_autapses(sources, targets, src, trg)
                src, trg = src[keep], trg[keep]
            d = None
            if use_d:
                diff = spts[src] - tpts[trg]
                d = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            prob = self.accept(sources, targets, src, trg, d)
            if self.cutoff is not None:
                prob = np.where(d <= self.cutoff, prob, 0.0)
            keep = rng.random(len(src)) < prob
            src_parts.append(src[keep])
            trg_parts.append(trg[keep])
        if not src_parts:
            return Connections.empty()
        src = np.concatenate(src_parts)
        trg = np.concatenate(trg_parts)
        return Connections(src, trg, self.nsyns.draw(len(src), rng))


@CONNECTION_RULES.register("distance")
class DistanceProbability(ThinnedRule):
    """``P(d) = p0 * f(d / sigma)`` within ``cutoff`` (see the module docstring).

    Parameters
    ----------
    p0 : float
        Probability at distance 0, in [0, 1].
    sigma : float
        Length scale (um) of the profile.
    profile : {"gaussian", "exponential", "uniform"}
        Shape ``f`` (registered in :data:`DISTANCE_PROFILES`).
    cutoff : float, optional
        No connection beyond this distance (um). None: no cutoff (every pair is a candidate).
    axes : str
        ``"xyz"`` for 3-D distance, ``"xz"`` (or any two letters) for a planar distance.
    nsyns : int or (int, int)
        Synapses per connection.
    autapses : bool
        Allow a node to connect to itself.
    """

    def __init__(
        self,
        p0: float,
        sigma: float,
        profile: str = "gaussian",
        cutoff: float | None = None,
        axes: str = "xyz",
        nsyns: Any = 1,
        autapses: bool = False,
    ) -> None:
        if not 0.0 <= float(p0) <= 1.0:
            raise ConfigError(f"p0 must be in [0, 1], got {p0}", field="p0")
        if float(sigma) <= 0:
            raise ConfigError(f"sigma must be > 0, got {sigma}", field="sigma")
        if cutoff is not None and float(cutoff) <= 0:
            raise ConfigError(f"cutoff must be > 0, got {cutoff}", field="cutoff")
        self.pmax = self.p0 = float(p0)
        self.sigma = float(sigma)
        self.profile = DISTANCE_PROFILES.get(profile)
        self.profile_name = profile
        self.cutoff = None if cutoff is None else float(cutoff)
        axes_index(axes)
        self.axes = axes
        self.nsyns = SynapseCount.parse(nsyns)
        self.autapses = autapses

    def probability(self, d: np.ndarray) -> np.ndarray:
        """The formula, for tests and plots."""
        p = self.p0 * self.profile(np.asarray(d, dtype=float), self.sigma)
        return p if self.cutoff is None else np.where(np.asarray(d) <= self.cutoff, p, 0.0)

    needs_distance = True

    def accept(self, sources, targets, src, trg, d):  # noqa: D102
        return self.profile(d, self.sigma)
