"""Density solver vs a NEST Monte-Carlo simulation of the same E/I network."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.simulator.popnet.montecarlo import psth, run_nest, step_response_network
from bmtoolkit.simulator.popnet.solver import DensitySolver
from tests.conftest import require_module

STEP_MS = 100.0
TSTOP = 200.0


def smoothed_peak_time(times: np.ndarray, rate: np.ndarray, start: float, stop: float) -> float:
    kernel = np.ones(3) / 3.0
    smooth = np.convolve(rate, kernel, mode="same")
    window = (times > start) & (times < stop)
    return float(times[window][np.argmax(smooth[window])])


@pytest.mark.slow
@pytest.mark.nest
def test_step_response_matches_nest_iaf_psc_delta():
    require_module("nest")
    net = step_response_network(n_neurons=10_000, step_ms=STEP_MS)
    mc = run_nest(net, TSTOP, dt=0.1, seed=12345)
    # the fine step used in tests and the coarse one the benchmark times
    for dt in (0.1, 0.5):
        density = DensitySolver(net, dt=dt).run(TSTOP)
        check_against_nest(net, density, mc, dt)


def check_against_nest(net, density, mc, dt):
    per_ms = int(round(1.0 / dt))
    for i, name in enumerate(net.population_names):
        n = mc.n_neurons[name]
        assert n == 10_000
        # 5 ms bins for the RMS error (finite-size noise of 10,000 neurons stays small)
        _, mc_rate = psth(mc.spikes[name], n_neurons=n, tstart=0.0, tstop=TSTOP, bin_ms=5.0)
        pop_rate = density.rates[:, i].reshape(-1, 5 * per_ms).mean(axis=1)
        rms = np.sqrt(np.mean((mc_rate - pop_rate) ** 2))
        assert rms < 0.1 * mc_rate.mean(), (name, dt, rms, mc_rate.mean())
        # the step produces a clear transient peak: compare its time on 1 ms bins
        centres, mc_fine = psth(mc.spikes[name], n_neurons=n, tstart=0.0, tstop=TSTOP, bin_ms=1.0)
        pop_fine = density.rates[:, i].reshape(-1, per_ms).mean(axis=1)
        t_mc = smoothed_peak_time(centres, mc_fine, STEP_MS, STEP_MS + 40.0)
        t_pop = smoothed_peak_time(centres, pop_fine, STEP_MS, STEP_MS + 40.0)
        assert abs(t_mc - t_pop) <= 5.0, (name, dt, t_mc, t_pop)
        assert pop_fine.max() > 1.5 * pop_rate[-5:].mean()  # a real overshoot, not noise
