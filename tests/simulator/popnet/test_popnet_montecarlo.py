"""Density solver vs a NEST Monte-Carlo simulation of the same E/I network."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.simulator.popnet.inputs import PiecewiseRate
from bmtoolkit.simulator.popnet.montecarlo import psth, run_nest
from bmtoolkit.simulator.popnet.populations import (
    Connection,
    ExternalPopulation,
    LIFPopulation,
    PopulationNetwork,
)
from bmtoolkit.simulator.popnet.solver import DensitySolver
from tests.conftest import require_module

STEP_MS = 100.0
TSTOP = 200.0


def step_network(n_neurons: int = 10_000) -> PopulationNetwork:
    """Excitatory and inhibitory LIF populations; the external drive steps up at 100 ms."""
    params = dict(v_min=-10.0, v_reset=10.0, tau_ref=2.0, dv=0.1, n_neurons=n_neurons)
    return PopulationNetwork(
        (LIFPopulation("exc", **params), LIFPopulation("inh", **params)),
        (ExternalPopulation("ext", PiecewiseRate((0.0, STEP_MS), (1600.0, 2200.0))),),
        (
            Connection("ext", "exc", weight=0.5),
            Connection("ext", "inh", weight=0.45),
            Connection("exc", "exc", weight=0.1, nsyns=100, delay=1.5),
            Connection("exc", "inh", weight=0.1, nsyns=100, delay=1.5),
            Connection("inh", "exc", weight=-0.5, nsyns=50, delay=1.5),
            Connection("inh", "inh", weight=-0.5, nsyns=50, delay=1.5),
        ),
    )


def smoothed_peak_time(times: np.ndarray, rate: np.ndarray, start: float, stop: float) -> float:
    kernel = np.ones(3) / 3.0
    smooth = np.convolve(rate, kernel, mode="same")
    window = (times > start) & (times < stop)
    return float(times[window][np.argmax(smooth[window])])


@pytest.mark.slow
@pytest.mark.nest
def test_step_response_matches_nest_iaf_psc_delta():
    require_module("nest")
    net = step_network()
    density = DensitySolver(net, dt=0.1).run(TSTOP)
    mc = run_nest(net, TSTOP, dt=0.1, seed=12345)
    for i, name in enumerate(net.population_names):
        n = mc.n_neurons[name]
        assert n == 10_000
        # 5 ms bins for the RMS error (finite-size noise of 10,000 neurons stays small)
        _, mc_rate = psth(mc.spikes[name], n_neurons=n, tstart=0.0, tstop=TSTOP, bin_ms=5.0)
        pop_rate = density.rates[:, i].reshape(-1, 50).mean(axis=1)
        rms = np.sqrt(np.mean((mc_rate - pop_rate) ** 2))
        assert rms < 0.1 * mc_rate.mean(), (name, rms, mc_rate.mean())
        # the step produces a clear transient peak: compare its time on 1 ms bins
        centres, mc_fine = psth(mc.spikes[name], n_neurons=n, tstart=0.0, tstop=TSTOP, bin_ms=1.0)
        pop_fine = density.rates[:, i].reshape(-1, 10).mean(axis=1)
        t_mc = smoothed_peak_time(centres, mc_fine, STEP_MS, STEP_MS + 40.0)
        t_pop = smoothed_peak_time(centres, pop_fine, STEP_MS, STEP_MS + 40.0)
        assert abs(t_mc - t_pop) <= 5.0, (name, t_mc, t_pop)
        assert pop_fine.max() > 1.5 * pop_rate[-5:].mean()  # a real overshoot, not noise
