"""Distance-dependent connectivity with a k-d tree cutoff.

``P(i -> j) = p0 * f(d_ij)`` for ``d_ij <= cutoff`` and 0 beyond, with ``d_ij`` the Euclidean
distance between the somata in 3-D (``axes="xyz"``) or in a plane (``axes="xz"``, the horizontal
plane when ``y`` is cortical depth). Profiles ``f``:

- ``gaussian``: ``f(d) = exp(-d^2 / (2 sigma^2))``;
- ``exponential``: ``f(d) = exp(-d / sigma)``;
- ``uniform``: ``f(d) = 1``.

How it scales: sources are binned in a grid of cells of side ``cutoff / 4``; a
``scipy.spatial.cKDTree`` over the occupied cell centres returns, for each cell of targets, the
source cells that can hold a partner within ``cutoff``. For each (target cell, source cell) entry
the profile at the smallest distance between the two cells, ``f(dmin)``, bounds ``f`` for all its
pairs (the built-in profiles never increase with distance); pairs are proposed with probability
``p0 * q``, ``q = 2**-k >= f(dmin)``, by geometric skips over all entries of the same ``k`` at
once, and accepted with probability ``f(d) / q``. The result is exact (``p0 * f(d)``), costs time
proportional to the pairs proposed (a small multiple of the edges made), never ``N^2`` and never
a per-pair Python call. Memory is proportional to the edges of a block.

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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.builder.rules.base import (
    CONNECTION_RULES,
    ConnectionRule,
    Connections,
    NodeBlock,
    SynapseCount,
    bernoulli_flat,
    bernoulli_pairs,
    drop_autapses,
)
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.registry import Registry

#: distance profiles ``f(d, sigma) -> values in [0, 1]``
DISTANCE_PROFILES: Registry[Callable[[np.ndarray, float], np.ndarray]] = Registry(
    "distance profile"
)


#: profiles that never increase with distance (their value at the smallest distance between two
#: grid cells bounds every pair of those cells)
MONOTONE_PROFILES = frozenset({"gaussian", "exponential", "uniform"})


@DISTANCE_PROFILES.register("gaussian")
def gaussian_profile(d: np.ndarray, sigma: float) -> np.ndarray:
    """``exp(-d^2 / (2 sigma^2))``."""
    d = np.asarray(d)
    if d.dtype != np.float64 or d.ndim == 0:
        return np.exp(-(d * d) / (2.0 * sigma * sigma))
    out = np.multiply(d, d)  # the same operations, in place
    np.negative(out, out=out)
    out /= 2.0 * sigma * sigma
    return np.exp(out, out=out)


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

    #: grid cells per cutoff length
    cells_per_cutoff = 4

    def __post_init__(self) -> None:
        n, dims = self.points.shape
        self.order = np.arange(n, dtype=np.int64)
        if self.cutoff is None or n == 0:
            return
        self.cell = self.cutoff / self.cells_per_cutoff
        self.origin = self.points.min(axis=0)
        coords = np.floor((self.points - self.origin) / self.cell).astype(np.int64)
        self.shape = coords.max(axis=0) + 1
        keys = np.ravel_multi_index(coords.T, self.shape)
        # occupied cells by increasing key; sources sorted by cell
        self.cell_keys, inverse = np.unique(keys, return_inverse=True)
        inverse = inverse.ravel()
        self.order = np.argsort(inverse, kind="stable").astype(np.int64)
        counts = np.bincount(inverse, minlength=len(self.cell_keys)).astype(np.int64)
        self.starts = np.cumsum(counts) - counts
        self.counts = counts
        # cell index by key: a dense table when the grid is not much larger than its occupancy
        self.lookup = None
        size = int(np.prod(self.shape))
        if size <= max(8 * len(self.cell_keys), 1 << 20):
            self.lookup = np.full(size, -1, dtype=np.int64)
            self.lookup[self.cell_keys] = np.arange(len(self.cell_keys))
        # neighbour offsets whose cells can hold a pair within cutoff, with that smallest distance
        r = self.cells_per_cutoff + 1
        grid = np.stack(np.meshgrid(*[np.arange(-r, r + 1)] * dims, indexing="ij"), axis=-1)
        offsets = grid.reshape(-1, dims)
        gap = np.maximum(np.abs(offsets) - 1, 0) * self.cell
        dmin = np.sqrt((gap * gap).sum(axis=1))
        near = dmin <= self.cutoff
        self.offsets, self.offset_dmin = offsets[near], np.maximum(dmin[near] - 1e-9 * self.cell, 0)

    def propose(
        self,
        targets: np.ndarray,
        p: float,
        rng: np.random.Generator,
        bound: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Candidate (source, target) pairs, each proposed with probability ``p * q``.

        Without a cutoff every pair is a candidate and ``q = 1``. With one, the candidates of a
        target are the sources of the grid cells that can hold a point within ``cutoff`` of its
        cell. ``bound(dmin)``, an upper bound of the acceptance at distances ``>= dmin``, gives
        each (target cell, source cell) entry ``q = 2**-k >= bound(dmin)``, with ``dmin`` the
        smallest distance between the two cells. The pairs of all entries of one level ``k``
        form one flat index space thinned by geometric skips, so the cost follows the number of
        proposals, with no Python loop per target or cell.

        Returns
        -------
        src, trg : np.ndarray
            Source rows and target rows (into ``targets``), int64.
        q : np.ndarray
            Proposal factor of each pair; accept with probability ``accept / q``.
        """
        n_src = len(self.points)
        if self.cutoff is None or n_src == 0:
            ti, ci = bernoulli_pairs(len(targets), n_src, p, rng)
            return self.order[ci], ti, np.ones(len(ci))
        tcoords = np.floor((targets - self.origin) / self.cell).astype(np.int64)
        tcells, inverse = np.unique(tcoords, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        by_cell = np.argsort(inverse, kind="stable").astype(np.int64)
        n_targets = np.bincount(inverse, minlength=len(tcells)).astype(np.int64)
        target_start = np.cumsum(n_targets) - n_targets
        # entries (target cell, offset) whose neighbour cell holds sources
        n_off = len(self.offsets)
        nb = (tcells[:, None, :] + self.offsets[None, :, :]).reshape(-1, tcells.shape[1])
        inside = np.all((nb >= 0) & (nb < self.shape), axis=1)
        entry = np.flatnonzero(inside)
        keys = np.ravel_multi_index(nb[entry].T, self.shape)
        if self.lookup is not None:
            pos = self.lookup[keys]
            found = pos >= 0
        else:
            pos = np.minimum(np.searchsorted(self.cell_keys, keys), len(self.cell_keys) - 1)
            found = self.cell_keys[pos] == keys
        entry, cells = entry[found], pos[found]
        group, off = np.divmod(entry, n_off)
        if bound is None:
            level = np.zeros(len(off), dtype=np.int64)
        else:
            factor = np.minimum(bound(self.offset_dmin), 1.0)
            lv = np.floor(-np.log2(np.maximum(factor, 2.0**-60))).astype(np.int64)
            lv -= (2.0 ** -lv.astype(float)) < factor  # 2**-k must not be below the bound
            lv[factor <= 0] = -1
            level = lv[off]
        out_src, out_trg, out_q = [], [], []
        for k in np.unique(level):
            if k < 0:
                continue
            sel = level == k
            g, c = group[sel], cells[sel]
            count = self.counts[c]
            pairs = n_targets[g] * count
            pair_end = np.cumsum(pairs)
            q = 2.0 ** -float(k)
            flat = bernoulli_flat(int(pair_end[-1]), p * q, rng)
            # proposals are increasing: count them per entry and repeat the entries' values
            # (a search per entry instead of one per proposal)
            per_entry = np.searchsorted(flat, pair_end)
            per_entry[1:] -= per_entry[:-1].copy()
            local = flat
            local -= np.repeat(pair_end - pairs, per_entry)
            t_local, c_local = np.divmod(local, np.repeat(count, per_entry))
            del local, flat
            c_local += np.repeat(self.starts[c], per_entry)
            out_src.append(self.order[c_local])
            del c_local
            t_local += np.repeat(target_start[g], per_entry)
            out_trg.append(by_cell[t_local])
            out_q.append(np.full(len(t_local), q))
        if not out_src:
            z = np.zeros(0, dtype=np.int64)
            return z, z.copy(), np.zeros(0)
        if len(out_src) == 1:
            return out_src[0], out_trg[0], out_q[0]
        return np.concatenate(out_src), np.concatenate(out_trg), np.concatenate(out_q)


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

    def accept_bound(self, dmin: np.ndarray) -> np.ndarray | None:
        """Upper bound of :meth:`accept` over pairs at least ``dmin`` apart (None: 1)."""
        return None

    def connect(self, sources, targets, rng, state):  # noqa: D102
        grid: CandidateGrid = state
        use_d = self.cutoff is not None or self.needs_distance
        tpts = self._coords(targets) if use_d else None
        bound = None
        if self.cutoff is not None and self.accept_bound(np.zeros(1)) is not None:
            bound = self.accept_bound
        grid_pts = tpts if self.cutoff is not None else np.zeros((len(targets), 1))
        src, trg, q = grid.propose(grid_pts, self.pmax, rng, bound)
        if not self.autapses:
            keep = drop_autapses(sources, targets, src, trg)
            if not keep.all():
                src, trg, q = src[keep], trg[keep], q[keep]
            del keep
        d = None
        if use_d:
            # the grid holds the sources' coordinates when there is a cutoff
            spts = grid.points if self.cutoff is not None else self._coords(sources)
            diff = np.take(spts, src, axis=0)
            diff -= np.take(tpts, trg, axis=0)
            d = np.einsum("ij,ij->i", diff, diff)
            del diff
            np.sqrt(d, out=d)
        prob = self.accept(sources, targets, src, trg, d)
        if self.cutoff is not None:
            prob = np.where(d <= self.cutoff, prob, 0.0)
        draw = rng.random(len(src))
        draw *= q
        keep = draw < prob
        del draw, prob
        src, trg = src[keep], trg[keep]
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

    def accept_bound(self, dmin):  # noqa: D102
        # built-in profiles never increase with distance; others get no bound
        if self.profile_name in MONOTONE_PROFILES:
            return self.profile(dmin, self.sigma)
        return None
