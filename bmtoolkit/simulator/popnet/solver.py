"""Population-density solver for networks of LIF populations with finite synaptic jumps.

Each internal population is a probability mass vector over the voltage bins of its
:class:`~bmtoolkit.simulator.popnet.kernels.Grid`. One step of ``dt`` does, for all
populations at once (the state vectors are concatenated, the operators are block diagonal):

1. **leak**: the exact flow ``v -> E_L + (v - E_L) exp(-dt/tau_m)`` as a constant sparse
   remap matrix (:func:`~bmtoolkit.simulator.popnet.kernels.leak_matrix`);
2. **jumps**: the exact exponential ``exp(dt G)`` of the jump generator
   ``G = sum_k lambda_k (J_k - I)`` for the input rates ``lambda_k`` of this step, computed by
   uniformisation: with ``Lambda = max_pop sum_k lambda_k`` and the substochastic matrix
   ``A = I + dt G / (dt Lambda)``, ``exp(dt G) p = sum_n Poisson(n; dt Lambda) A^n p``, truncated
   when the Poisson tail is below ``tol`` (the tail weight is given to the last term). The
   values of ``A`` are refreshed in place on a fixed sparsity pattern each step;
3. **threshold flux**: the mass that left the grid in step 2 is the firing probability of the
   step (rate = mass / dt); it waits ``round(tau_ref / dt)`` steps in a delay line and is put
   back at ``v_reset``.

All operators are non-negative and column (sub)stochastic, so the density stays non-negative
and the total mass (grid plus refractory line) is conserved to round-off. The scheme is
stable for any ``dt``; its error is first order in ``dt`` (operator splitting, input rates held
over a step) and in ``dv``. See ``docs/design/popnet_solver.md``.

Examples
--------
>>> from bmtoolkit.simulator.popnet.populations import (
...     LIFPopulation, ExternalPopulation, Connection, PopulationNetwork)
>>> from bmtoolkit.simulator.popnet.inputs import ConstantRate
>>> net = PopulationNetwork(
...     (LIFPopulation("exc", tau_m=20.0, v_th=20.0, dv=0.1),),
...     (ExternalPopulation("drive", ConstantRate(100.0)),),
...     (Connection("drive", "exc", weight=5.0, distribution="exponential"),),
... )
>>> result = DensitySolver(net, dt=0.1).run(300.0)
>>> round(float(result.rates[-1000:, 0].mean()), 1)
8.7
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse, special
from scipy.linalg.blas import daxpy as _axpy

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.popnet.kernels import Grid, jump_matrix, leak_matrix
from bmtoolkit.simulator.popnet.populations import LIFPopulation, PopulationNetwork, RateResult

try:  # the compiled kernel behind ``csr @ vector``, without scipy's per-call dispatch
    from scipy.sparse._sparsetools import csr_matvec as _csr_matvec
except ImportError:  # pragma: no cover - depends on the scipy version
    _csr_matvec = None


def _make_matvec(mat: sparse.csr_matrix):
    """Return ``f(x) -> mat @ x`` using the compiled CSR kernel when it is available.

    The solver spends most of its time in many small products; scipy's operator dispatch
    costs more than the product itself at these sizes. The fast path is checked against the
    public operator once and dropped if it disagrees or fails.
    """
    n_rows, n_cols = mat.shape

    def public(x: np.ndarray) -> np.ndarray:
        return mat @ x

    if _csr_matvec is None:
        return public

    def fast(x: np.ndarray) -> np.ndarray:
        out = np.zeros(n_rows)
        _csr_matvec(n_rows, n_cols, mat.indptr, mat.indices, mat.data, x, out)
        return out

    probe = np.linspace(0.0, 1.0, n_cols)
    try:
        if np.allclose(fast(probe), public(probe), rtol=1e-12, atol=1e-300):
            return fast
    except (TypeError, ValueError, RuntimeError):  # pragma: no cover
        pass
    return public  # pragma: no cover


def poisson_weights(mean: float, tol: float) -> np.ndarray:
    """Poisson probabilities ``P(n; mean)`` for ``n = 0..n_max`` with the tail (< ``tol``) added
    to the last one, so that they sum to one.

    Examples
    --------
    >>> w = poisson_weights(0.5, 1e-12)
    >>> bool(abs(w.sum() - 1.0) < 1e-15), bool(w.min() > 0)
    (True, True)
    """
    if mean <= 0:
        return np.ones(1)
    if mean < 30.0:  # the usual case: a short recurrence is cheaper than array set-up
        weights = [math.exp(-mean)]
        cum = weights[0]
        k = 0
        while 1.0 - cum > tol or k < mean:
            k += 1
            weights.append(weights[-1] * mean / k)
            cum += weights[-1]
        w = np.asarray(weights)
        w[-1] += max(1.0 - cum, 0.0)
        return w / w.sum()
    # computed in log space so that large means (stiff steps) do not underflow exp(-mean)
    n = np.arange(int(mean + 12.0 * math.sqrt(mean) + 30.0))
    w = np.exp(n * math.log(mean) - mean - special.gammaln(n + 1.0))
    tail = np.cumsum(w[::-1])[::-1]  # tail[k] = sum_{j >= k} w_j
    # smallest n_max (past the mode) whose remaining tail is below tol
    past = np.nonzero((tail[1:] < tol) & (n[:-1] >= mean))[0]
    n_max = int(past[0]) if past.size else n.size - 1
    out = w[: n_max + 1].copy()
    out[-1] += tail[n_max + 1] if n_max + 1 < n.size else 0.0
    return out / out.sum()


@dataclass
class DensityResult(RateResult):
    """Rates (Hz) of each internal population per step, and optional density snapshots."""

    grids: dict[str, Grid] = field(default_factory=dict)
    density_times: np.ndarray = field(default_factory=lambda: np.zeros(0))
    densities: dict[str, np.ndarray] = field(default_factory=dict)


class DensitySolver:
    """Time stepper of a :class:`PopulationNetwork` with the population-density method.

    Parameters
    ----------
    network : PopulationNetwork
    dt : float
        Time step (ms).
    tol : float
        Truncation tolerance of the Poisson series in the jump step.
    tstart : float
        Time (ms) of the initial state (all mass at rest).

    Notes
    -----
    Delays are rounded to whole steps, with a minimum of one step (the rate of the current step
    is not known while it is being computed). External rates are evaluated at mid-step.
    """

    def __init__(
        self, network: PopulationNetwork, *, dt: float = 0.1, tol: float = 1e-12, tstart=0.0
    ):
        if not dt > 0:
            raise ConfigError(f"dt must be > 0, got {dt}")
        self.network, self.dt, self.tol, self.tstart = network, float(dt), float(tol), tstart
        pops = network.populations
        self.grids = {p.name: Grid(p.v_min, p.v_th, p.dv) for p in pops}
        sizes = np.array([self.grids[p.name].n for p in pops], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        self.total = int(self.offsets[-1])
        self._pop_of_bin = np.repeat(np.arange(len(pops)), sizes)
        self.leak = sparse.block_diag(
            [leak_matrix(self.grids[p.name], tau_m=p.tau_m, dt=self.dt, e_l=p.e_l) for p in pops],
            format="csr",
        )
        self._build_kernels()
        self._build_resets()
        self.p = np.zeros(self.total)
        for i, pop in enumerate(pops):
            idx, wts = self.grids[pop.name].split(pop.e_l)
            self.p[self.offsets[i] + idx] += wts
        self.step_index = 0
        self._last_rates: np.ndarray | None = None

    # ------------------------------------------------------------------ set-up
    def _build_kernels(self) -> None:
        net = self.network
        keys: dict[tuple, int] = {}
        conn_kernel, conn_source, conn_nsyns, conn_delay = [], [], [], []
        for c in net.connections:
            k = keys.setdefault(c.kernel_key(), len(keys))
            conn_kernel.append(k)
            conn_source.append(net.source_index(c.source))
            conn_nsyns.append(c.nsyns)
            conn_delay.append(max(1, int(round(c.delay / self.dt))))
        self.n_kernels = len(keys)
        self._conn_kernel = np.asarray(conn_kernel, dtype=np.int64)
        self._conn_source = np.asarray(conn_source, dtype=np.int64)
        self._conn_nsyns = np.asarray(conn_nsyns, dtype=float)
        self._conn_delay = np.asarray(conn_delay, dtype=np.int64)
        self.max_delay = int(self._conn_delay.max()) if len(conn_delay) else 1
        n_pop = len(net.populations)
        kernel_target = np.zeros(self.n_kernels, dtype=np.int64)
        rows, cols, vals, slot = [], [], [], []
        by_key = {k: c for c in net.connections for k in [keys[c.kernel_key()]]}
        for k, c in by_key.items():
            t = net.source_index(c.target)
            kernel_target[k] = t
            mat, _ = jump_matrix(self.grids[c.target], c.jump())
            coo = mat.tocoo()
            rows.append(coo.row + self.offsets[t])
            cols.append(coo.col + self.offsets[t])
            vals.append(coo.data)
            slot.append(np.full(coo.nnz, k))
        # identity slots, one per population: the "no event" part of uniformisation
        diag = np.arange(self.total)
        rows.append(diag)
        cols.append(diag)
        vals.append(np.ones(self.total))
        slot.append(self.n_kernels + self._pop_of_bin)
        rows_a, cols_a = np.concatenate(rows), np.concatenate(cols)
        lin = rows_a * self.total + cols_a
        uniq, pos = np.unique(lin, return_inverse=True)
        self._slots = sparse.csr_matrix(
            (np.concatenate(vals), (pos, np.concatenate(slot))),
            shape=(uniq.size, self.n_kernels + n_pop),
        )
        urow, ucol = uniq // self.total, uniq % self.total
        indptr = np.concatenate([[0], np.cumsum(np.bincount(urow, minlength=self.total))])
        self._A = sparse.csr_matrix(
            (np.ones(uniq.size), ucol.astype(np.int32), indptr), shape=(self.total,) * 2
        )
        self._A_matvec = _make_matvec(self._A)
        self._slots_matvec = _make_matvec(self._slots)  # reads self._A.data, refreshed in place
        self._leak_matvec = _make_matvec(self.leak)
        self._kernel_target = kernel_target

    def _build_resets(self) -> None:
        pops = self.network.populations
        self.ref_steps = np.array([int(round(p.tau_ref / self.dt)) for p in pops], dtype=np.int64)
        self._ref_len = int(self.ref_steps.max()) + 1 if len(pops) else 1
        self._ref = np.zeros((self._ref_len, len(pops)))
        idx, wts = [], []
        for i, p in enumerate(pops):
            b, w = self.grids[p.name].split(p.v_reset)
            idx.append(self.offsets[i] + b)
            wts.append(w)
        self._reset_idx = np.concatenate(idx) if idx else np.zeros(0, np.int64)
        self._reset_w = np.concatenate(wts) if wts else np.zeros(0)
        self._reset_pop = np.repeat(np.arange(len(pops)), [len(i) for i in idx])
        self._reset_unique = np.unique(self._reset_idx).size == self._reset_idx.size

    # ------------------------------------------------------------------ stepping
    def mass(self) -> np.ndarray:
        """Total probability of each population: grid plus refractory delay line."""
        grid = np.add.reduceat(self.p, self.offsets[:-1]) if self.total else np.zeros(0)
        waiting = np.zeros(len(self.network.populations))
        for i, n in enumerate(self.ref_steps):
            if n > 0:  # the last n fired masses are still refractory
                last = [(self.step_index - 1 - j) % self._ref_len for j in range(n)]
                waiting[i] = self._ref[last, i].sum()
        return grid + waiting

    def density(self, name: str) -> np.ndarray:
        """Probability mass per bin of population ``name`` (a copy)."""
        i = self.network.population_names.index(name)
        return self.p[self.offsets[i] : self.offsets[i + 1]].copy()

    def step(self, kernel_rates: np.ndarray) -> np.ndarray:
        """Advance one step with the given total event rate (1/ms) of each kernel.

        Returns the firing rate (Hz) of each internal population during the step.
        """
        n_pop = len(self.network.populations)
        p = self._leak_matvec(self.p)
        before = np.add.reduceat(p, self.offsets[:-1])
        lam_pop = np.bincount(self._kernel_target, kernel_rates, minlength=n_pop)
        lam = float(lam_pop.max()) if n_pop else 0.0
        if lam > 0:
            coef = np.concatenate([kernel_rates / lam, 1.0 - lam_pop / lam])
            self._A.data[:] = self._slots_matvec(coef)
            weights = poisson_weights(self.dt * lam, self.tol)
            # Horner: sum_n w_n A^n p = w_0 p + A (w_1 p + A (w_2 p + ...))
            matvec = self._A_matvec
            out = weights[-1] * p
            for w in weights[-2::-1]:
                out = _axpy(p, matvec(out), a=w)  # in place: out = A out + w p
            p = out
        after = np.add.reduceat(p, self.offsets[:-1])
        fired = np.maximum(before - after, 0.0)
        slot = self.step_index % self._ref_len
        self._ref[slot] = fired
        back = self._ref[(self.step_index - self.ref_steps) % self._ref_len, np.arange(n_pop)]
        if self._reset_unique:
            p[self._reset_idx] += back[self._reset_pop] * self._reset_w
        else:
            np.add.at(p, self._reset_idx, back[self._reset_pop] * self._reset_w)
        self.p = p
        self.step_index += 1
        return fired * (1000.0 / self.dt)

    def run(
        self, tstop: float, *, density_every: float | None = None, progress=None
    ) -> DensityResult:
        """Simulate from the current state until ``tstop`` (ms).

        Parameters
        ----------
        tstop : float
        density_every : float, optional
            Also store the density of every population every this many ms.
        progress : callable, optional
            Called as ``progress(steps_done, steps_total)`` every 1000 steps.
        """
        net, dt = self.network, self.dt
        t0 = self.tstart + self.step_index * dt
        n_steps = max(0, int(round((tstop - t0) / dt)))
        n_pop, pad = len(net.populations), self.max_delay
        times = t0 + dt * np.arange(n_steps)
        # source rates (Hz), rows = steps, with `pad` rows of history before the first step
        hist = np.zeros((pad + n_steps, len(net.source_names)))
        ext_t = t0 + dt * (np.arange(-pad, n_steps) + 0.5)
        hist[:, n_pop:] = net.external_rates(ext_t)
        if self._last_rates is not None:
            hist[:pad, :n_pop] = self._last_rates
        every = None if density_every is None else max(1, int(round(density_every / dt)))
        snaps: dict[str, list[np.ndarray]] = {n: [] for n in net.population_names}
        snap_t: list[float] = []
        ck, cs, cn, cd = self._conn_kernel, self._conn_source, self._conn_nsyns, self._conn_delay
        scale = 1e-3  # Hz -> 1/ms
        for n in range(n_steps):
            row = pad + n
            src = hist[row - cd, cs]
            kernel_rates = np.bincount(ck, cn * src * scale, minlength=self.n_kernels)
            hist[row, :n_pop] = self.step(kernel_rates)
            if every is not None and self.step_index % every == 0:
                snap_t.append(times[n] + dt)
                for i, name in enumerate(net.population_names):
                    snaps[name].append(self.p[self.offsets[i] : self.offsets[i + 1]].copy())
            if progress is not None and (n + 1) % 1000 == 0:
                progress(n + 1, n_steps)
        if n_steps:  # internal rates of the last `pad` steps, the history of the next call
            self._last_rates = hist[n_steps:, :n_pop].copy()
        return DensityResult(
            population_names=net.population_names,
            times=times,
            rates=hist[pad:, :n_pop].copy(),
            dt=dt,
            grids=dict(self.grids),
            density_times=np.asarray(snap_t),
            densities={k: np.asarray(v) for k, v in snaps.items() if v},
        )


def stationary_rate(
    population: LIFPopulation,
    inputs: list[tuple[float, object]],
    *,
    dt: float = 0.1,
    tol: float = 1e-12,
) -> tuple[float, np.ndarray]:
    """Stationary rate (Hz) and density of one population under constant Poisson inputs.

    Solves for the fixed point of the solver's one-step map directly (sparse LU) instead of
    time stepping; the result is what :class:`DensitySolver` converges to.

    Parameters
    ----------
    population : LIFPopulation
    inputs : list of (rate_hz, JumpDistribution)
        Total event rate and jump-size distribution of each input.
    """
    from scipy.sparse import linalg as splinalg

    grid = Grid(population.v_min, population.v_th, population.dv)
    n = grid.n
    leak = leak_matrix(grid, tau_m=population.tau_m, dt=dt, e_l=population.e_l)
    rates = np.array([r * 1e-3 for r, _ in inputs])
    lam = float(rates.sum())
    step = leak.tocsc()
    if lam > 0:
        a = sparse.csr_matrix((n, n))
        for r, (_, dist) in zip(rates, inputs):
            a = a + (r / lam) * jump_matrix(grid, dist)[0]
        series = sparse.identity(n, format="csr") * 0.0
        term = sparse.identity(n, format="csr")
        for k, w in enumerate(poisson_weights(dt * lam, tol)):
            if k:
                term = a @ term
            series = series + w * term
        step = (series @ leak).tocsc()
    fire = 1.0 - np.asarray(step.sum(axis=0)).ravel()
    idx, wts = grid.split(population.v_reset)
    reset = np.zeros(n)
    reset[idx] = wts
    n_ref = int(round(population.tau_ref / dt))
    fire[fire < 1e-15] = 0.0
    reinject = sparse.csr_matrix(reset[:, None]) @ sparse.csr_matrix(fire[None, :])
    system = (sparse.identity(n, format="csr") - step - reinject).tocsr()
    # replace the last equation by the normalisation: grid mass + refractory mass = 1
    keep = sparse.diags(np.r_[np.ones(n - 1), 0.0])
    norm = sparse.csr_matrix((np.ones(n) + n_ref * fire)[None, :])
    system = keep @ system + sparse.vstack([sparse.csr_matrix((n - 1, n)), norm])
    rhs = np.zeros(n)
    rhs[-1] = 1.0
    p = splinalg.spsolve(system.tocsc(), rhs)
    return float(fire @ p) * 1000.0 / dt, p
