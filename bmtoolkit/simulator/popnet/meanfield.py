"""Mean-field rate mode: Siegert transfer of the diffusion moments of the input.

Each internal population ``i`` receives from source ``j`` (internal or external) Poisson
events at rate ``nsyns * r_j`` with jumps of mean ``w`` and second moment ``E[w^2]``; in the
diffusion approximation its free membrane potential has mean
``mu_i = tau_m sum_j nsyns w r_j`` and standard deviation ``sigma_i = sqrt(tau_m sum_j nsyns
E[w^2] r_j)`` (relative to rest). Its stationary rate is the Siegert function
``phi(mu_i, sigma_i)`` (:func:`~bmtoolkit.simulator.popnet.transfer.siegert_rate`).

- :meth:`MeanFieldModel.fixed_point`: self-consistent rates ``r = phi(r)`` for the external
  rates at a given time;
- :meth:`MeanFieldModel.run`: the dynamics ``tau_rate dr/dt = -r + phi(r(t - delay))``.

The lower voltage bound ``v_min`` of the density solver has no counterpart here.

Examples
--------
>>> from bmtoolkit.simulator.popnet.populations import (
...     LIFPopulation, ExternalPopulation, Connection, PopulationNetwork)
>>> from bmtoolkit.simulator.popnet.inputs import ConstantRate
>>> net = PopulationNetwork(
...     (LIFPopulation("exc", v_reset=10.0, tau_ref=2.0),),
...     (ExternalPopulation("drive", ConstantRate(1600.0)),),
...     (Connection("drive", "exc", weight=0.5),),
... )
>>> round(float(MeanFieldModel(net).fixed_point()[0]), 2)
4.06
"""

from __future__ import annotations

import numpy as np

from bmtoolkit.exceptions import ConfigError, SimulationError
from bmtoolkit.simulator.popnet.populations import PopulationNetwork, RateResult
from bmtoolkit.simulator.popnet.transfer import siegert_rate


class RateModel:
    """Shared machinery of rate modes: coupling matrices, delays and the time loop.

    Subclasses implement :meth:`update` (one step of the rates).
    """

    def __init__(self, network: PopulationNetwork, *, dt: float = 0.1, tstart: float = 0.0):
        if not dt > 0:
            raise ConfigError(f"dt must be > 0, got {dt}")
        self.network, self.dt, self.tstart = network, float(dt), float(tstart)
        self.w, self.w2 = network.weight_matrix()
        pops = network.populations
        self.tau_m = np.array([p.tau_m for p in pops])
        self.tau_rate = np.array([p.tau_rate for p in pops])
        n_t = len(pops)
        n_s = len(network.source_names)
        # per-connection delayed coupling, for the dynamics
        self._conn = [
            (
                network.source_index(c.target),
                network.source_index(c.source),
                c.nsyns * c.jump().mean,
                c.nsyns * c.jump().second_moment(),
                max(1, int(round(c.delay / self.dt))),
            )
            for c in network.connections
        ]
        self.max_delay = max([d for *_, d in self._conn], default=1)
        self.shape = (n_t, n_s)

    def moments(self, source_rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(mu, sigma)`` (mV) of every internal population for source rates (Hz)."""
        r = np.asarray(source_rates, float) * 1e-3
        mu = self.tau_m * (self.w @ r)
        sigma = np.sqrt(np.maximum(self.tau_m * (self.w2 @ r), 0.0))
        return mu, sigma

    def _delayed_moments(self, hist: np.ndarray, row: int) -> tuple[np.ndarray, np.ndarray]:
        n_t = self.shape[0]
        m1, m2 = np.zeros(n_t), np.zeros(n_t)
        for i, j, a, b, d in self._conn:
            r = hist[row - d, j] * 1e-3
            m1[i] += a * r
            m2[i] += b * r
        return self.tau_m * m1, np.sqrt(np.maximum(self.tau_m * m2, 0.0))

    def update(self, rates: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Rates after one step given the current input moments."""
        raise NotImplementedError

    def run(self, tstop: float, *, r0: np.ndarray | None = None) -> RateResult:
        """Integrate the rate dynamics from ``tstart`` to ``tstop`` (ms)."""
        net, dt, n_pop = self.network, self.dt, len(self.network.populations)
        n_steps = max(0, int(round((tstop - self.tstart) / dt)))
        pad = self.max_delay
        hist = np.zeros((pad + n_steps + 1, len(net.source_names)))
        t_all = self.tstart + dt * np.arange(-pad, n_steps + 1)
        hist[:, n_pop:] = net.external_rates(t_all)
        if r0 is not None:
            hist[: pad + 1, :n_pop] = np.asarray(r0, float)
        for n in range(n_steps):
            row = pad + n
            mu, sigma = self._delayed_moments(hist, row + 1)
            hist[row + 1, :n_pop] = self.update(hist[row, :n_pop], mu, sigma)
        return RateResult(
            population_names=net.population_names,
            times=self.tstart + dt * np.arange(n_steps),
            rates=hist[pad + 1 :, :n_pop].copy(),
            dt=dt,
        )


class MeanFieldModel(RateModel):
    """Siegert mean-field rates of a :class:`PopulationNetwork` (see the module docstring)."""

    def transfer(self, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Siegert rate (Hz) of each population for input moments relative to rest."""
        return np.array(
            [
                siegert_rate(
                    m,
                    s,
                    tau_m=p.tau_m,
                    v_th=p.v_th - p.e_l,
                    v_reset=p.v_reset - p.e_l,
                    tau_ref=p.tau_ref,
                )
                for p, m, s in zip(self.network.populations, mu, sigma)
            ]
        )

    def update(self, rates: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """Exponential-Euler step of ``tau_rate dr/dt = -r + phi``."""
        decay = np.exp(-self.dt / self.tau_rate)
        return self.transfer(mu, sigma) + (rates - self.transfer(mu, sigma)) * decay

    def fixed_point(
        self,
        t: float = 0.0,
        *,
        r0: np.ndarray | None = None,
        damping: float = 0.5,
        tol: float = 1e-9,
        max_iter: int = 5000,
    ) -> np.ndarray:
        """Self-consistent rates (Hz) for the external rates at time ``t`` (ms).

        Damped iteration ``r <- r + damping * (phi(r) - r)``; the damping is halved whenever
        the residual grows.

        Raises
        ------
        SimulationError
            No convergence within ``max_iter`` iterations.
        """
        n_pop = len(self.network.populations)
        ext = self.network.external_rates(np.array([t]))[0]
        r = np.zeros(n_pop) if r0 is None else np.asarray(r0, float).copy()
        last = np.inf
        for _ in range(max_iter):
            mu, sigma = self.moments(np.concatenate([r, ext]))
            residual = self.transfer(mu, sigma) - r
            size = float(np.max(np.abs(residual))) if n_pop else 0.0
            if size < tol * max(1.0, float(np.max(np.abs(r), initial=0.0))):
                return r
            if size > last:
                damping = max(damping * 0.5, 1e-4)
            last = size
            r = np.maximum(r + damping * residual, 0.0)
        raise SimulationError(
            f"mean-field fixed point did not converge in {max_iter} iterations "
            f"(residual {last:.3g} Hz)"
        )
