"""Voltage grid, leak remap and synaptic jump kernels of the population-density solver.

The membrane potential range ``[v_min, v_th]`` is cut into ``N`` bins of width ``dv``; the
density is stored as the probability mass of each bin, taken as uniform inside the bin.

- :func:`leak_matrix`: the exact leak flow over one time step ``v -> E_L + (v - E_L) e^{-dt/tau}``
  applied to uniform bins: each bin's image interval is split over the (at most two) bins it
  overlaps. The map is a contraction toward rest, so nothing leaves the grid.
- :func:`jump_matrix`: where the mass of each bin goes after one synaptic event whose size is
  drawn from a :class:`JumpDistribution`; mass pushed above threshold is the firing probability
  (returned separately), mass pushed below ``v_min`` is kept in the lowest bin.

Jump distributions are registered by name in :data:`JUMP_DISTRIBUTIONS` (``delta``,
``exponential``, ``uniform``); each only needs the antiderivative of its CDF.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.simulator.popnet.kernels import Grid, jump_matrix, JUMP_DISTRIBUTIONS
>>> grid = Grid(v_min=0.0, v_th=1.0, dv=0.25)
>>> J, fire = jump_matrix(grid, JUMP_DISTRIBUTIONS.get("delta")(0.5))
>>> np.round(J.toarray().sum(axis=0) + fire, 12).tolist()
[1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.registry import Registry


@dataclass(frozen=True)
class Grid:
    """Uniform voltage grid ``[v_min, v_th]`` with bin width close to ``dv`` (mV).

    The number of bins is ``ceil((v_th - v_min) / dv)`` and the width is adjusted so the bins
    tile the range exactly.

    Examples
    --------
    >>> Grid(v_min=-10.0, v_th=20.0, dv=0.1).n
    300
    """

    v_min: float
    v_th: float
    dv: float

    def __post_init__(self) -> None:
        if not self.v_th > self.v_min:
            raise ConfigError(f"v_max/threshold ({self.v_th}) must exceed v_min ({self.v_min})")
        if not self.dv > 0:
            raise ConfigError(f"dv must be > 0, got {self.dv}")

    @property
    def n(self) -> int:
        """Number of bins."""
        return max(1, math.ceil((self.v_th - self.v_min) / self.dv - 1e-9))

    @property
    def width(self) -> float:
        """Actual bin width."""
        return (self.v_th - self.v_min) / self.n

    @property
    def edges(self) -> np.ndarray:
        """Bin edges, ``n + 1`` values."""
        return np.linspace(self.v_min, self.v_th, self.n + 1)

    @property
    def centers(self) -> np.ndarray:
        """Bin centres."""
        e = self.edges
        return 0.5 * (e[1:] + e[:-1])

    def split(self, v: float) -> tuple[np.ndarray, np.ndarray]:
        """Bins and weights that place a unit mass at voltage ``v`` (linear between centres).

        Examples
        --------
        >>> Grid(0.0, 1.0, 0.25).split(0.25)
        (array([0, 1]), array([0.5, 0.5]))
        """
        x = (v - self.v_min) / self.width - 0.5
        x = min(max(x, 0.0), self.n - 1.0)
        i = min(int(math.floor(x)), self.n - 2) if self.n > 1 else 0
        f = x - i
        if self.n == 1:
            return np.array([0]), np.array([1.0])
        return np.array([i, i + 1]), np.array([1.0 - f, f])


class JumpDistribution:
    """Distribution of the voltage jump caused by one synaptic event.

    Subclasses implement :meth:`phi`, the antiderivative of the CDF ``F`` with ``phi(-inf) = 0``
    (vectorised over numpy arrays), and :attr:`mean`.
    """

    mean: float = 0.0

    def phi(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def second_moment(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


JUMP_DISTRIBUTIONS: Registry[type[JumpDistribution]] = Registry("jump distribution")


@JUMP_DISTRIBUTIONS.register("delta", aliases=("fixed", "constant"))
@dataclass(frozen=True)
class DeltaJump(JumpDistribution):
    """Every event moves ``v`` by exactly ``weight`` mV."""

    weight: float

    @property
    def mean(self) -> float:  # type: ignore[override]
        return self.weight

    def second_moment(self) -> float:
        return self.weight**2

    def phi(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(np.asarray(x, dtype=float) - self.weight, 0.0)


@JUMP_DISTRIBUTIONS.register("exponential")
@dataclass(frozen=True)
class ExponentialJump(JumpDistribution):
    """Jump sizes exponentially distributed with mean ``weight`` (sign gives the direction)."""

    weight: float

    def __post_init__(self) -> None:
        if self.weight == 0:
            raise ConfigError("exponential jump distribution needs a non-zero mean weight")

    @property
    def mean(self) -> float:  # type: ignore[override]
        return self.weight

    def second_moment(self) -> float:
        return 2.0 * self.weight**2

    def phi(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        a = abs(self.weight)
        if self.weight > 0:
            xp = np.maximum(x, 0.0)
            return xp - a * (-np.expm1(-xp / a))
        xn = np.minimum(x, 0.0)
        return a * np.exp(xn / a) + np.maximum(x, 0.0)


@JUMP_DISTRIBUTIONS.register("uniform")
@dataclass(frozen=True)
class UniformJump(JumpDistribution):
    """Jump sizes uniform on ``[weight - half_width, weight + half_width]``."""

    weight: float
    half_width: float = 0.0

    @property
    def mean(self) -> float:  # type: ignore[override]
        return self.weight

    def second_moment(self) -> float:
        return self.weight**2 + self.half_width**2 / 3.0

    def phi(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self.half_width <= 0:
            return np.maximum(x - self.weight, 0.0)
        lo, hi = self.weight - self.half_width, self.weight + self.half_width
        inside = np.clip(x, lo, hi)
        return (inside - lo) ** 2 / (2 * (hi - lo)) + np.maximum(x - hi, 0.0)


def leak_matrix(grid: Grid, *, tau_m: float, dt: float, e_l: float = 0.0) -> sparse.csr_matrix:
    """Column-stochastic matrix moving bin masses along the exact leak flow for ``dt`` ms.

    Parameters
    ----------
    grid : Grid
    tau_m, dt : float
        Membrane time constant and step (ms).
    e_l : float
        Resting potential; must lie in ``[v_min, v_th)``.

    Examples
    --------
    >>> L = leak_matrix(Grid(0.0, 1.0, 0.25), tau_m=10.0, dt=1.0)
    >>> bool(np.allclose(L.sum(axis=0), 1.0))
    True
    """
    if not grid.v_min <= e_l < grid.v_th:
        raise ConfigError(
            f"resting potential {e_l} must lie in [v_min, threshold) = [{grid.v_min}, {grid.v_th})"
        )
    n, w = grid.n, grid.width
    k = math.exp(-dt / tau_m)
    edges = grid.edges
    lo = e_l + (edges[:-1] - e_l) * k
    hi = e_l + (edges[1:] - e_l) * k
    pos = (lo - grid.v_min) / w
    j0 = np.clip(np.floor(pos + 1e-12).astype(np.int64), 0, n - 1)
    boundary = grid.v_min + (j0 + 1) * w
    frac0 = np.clip((boundary - lo) / (hi - lo), 0.0, 1.0)
    j1 = np.minimum(j0 + 1, n - 1)
    cols = np.arange(n)
    m = sparse.csr_matrix(
        (np.concatenate([frac0, 1.0 - frac0]), (np.concatenate([j0, j1]), np.tile(cols, 2))),
        shape=(n, n),
    )
    m.eliminate_zeros()
    return m


def jump_matrix(
    grid: Grid, dist: JumpDistribution, *, cutoff: float = 1e-14
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Transition matrix of one synaptic event and the firing probability of each bin.

    Entry ``(j, i)`` is the probability that mass uniform in bin ``i`` lands in bin ``j``;
    ``fire[i]`` is the probability of crossing threshold. Mass that would go below ``v_min`` is
    put in bin 0. Columns plus ``fire`` sum to one to round-off (``fire`` is the complement).

    Parameters
    ----------
    grid : Grid
    dist : JumpDistribution
    cutoff : float
        Entries below this are dropped (their mass goes to ``fire`` or bin 0 consistently).
    """
    n, w = grid.n, grid.width
    m = np.arange(-(n - 1), n)  # displacement in bins, target - source
    d = m * w
    # P(U + W in [d, d + w]) with U ~ uniform(0, w): second difference of phi
    c = (dist.phi(d + w) - 2.0 * dist.phi(d) + dist.phi(d - w)) / w
    c[np.abs(c) < cutoff] = 0.0
    c = np.maximum(c, 0.0)
    nz = np.nonzero(c)[0]
    rows, cols, vals = [], [], []
    src = np.arange(n)
    for idx in nz:
        shift = int(m[idx])
        tgt = src + shift
        ok = (tgt >= 0) & (tgt < n)
        rows.append(tgt[ok])
        cols.append(src[ok])
        vals.append(np.full(int(ok.sum()), c[idx]))
    # mass below v_min: P(U + W < v_min - e_i) = (phi(x) - phi(x - w)) / w, x = v_min - e_i
    x = grid.v_min - grid.edges[:-1]
    below = np.maximum((dist.phi(x) - dist.phi(x - w)) / w, 0.0)
    rows.append(np.zeros(n, dtype=np.int64))
    cols.append(src)
    vals.append(below)
    mat = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    mat.sum_duplicates()
    mat.eliminate_zeros()
    colsum = np.asarray(mat.sum(axis=0)).ravel()
    fire = np.clip(1.0 - colsum, 0.0, 1.0)
    fire[fire < 1e-12] = 0.0
    # rescale so that every column plus its firing probability is exactly one
    scale = np.divide(1.0 - fire, colsum, out=np.zeros(n), where=colsum > 0)
    mat = (mat @ sparse.diags(scale)).tocsr()
    return mat, fire
