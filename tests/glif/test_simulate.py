"""The GLIF simulator reproduces NEST's glif_psc (the peer) at every level, with both its
engines (the compiled loop and the Python one)."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.glif import make_stimulus, simulate
from tests.glif.conftest import nest_sweep

pytestmark = pytest.mark.nest


@pytest.mark.parametrize("engine", ["c", "python"])
@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_same_voltage_and_spikes_as_nest(glif_levels, level, engine):
    p = glif_levels[level]
    stim = make_stimulus("noise", duration=1.0, dt=5e-5, amplitude=1e-10, offset=1.2e-10, seed=3)
    data = nest_sweep(p, stim, with_spikes=True)
    res = simulate(p, data.stimulus, v0=float(data.voltage[0]), engine=engine)
    assert data.spike_times.size > 10
    np.testing.assert_allclose(res.spike_times, data.spike_times, atol=1e-9)
    np.testing.assert_allclose(res.voltage, data.voltage, atol=1e-9)


def test_three_after_spike_currents_run_in_nest_as_in_the_simulator(glif_levels):
    # NEST sizes its after-spike current state by its defaults (two): the third current of
    # the adaptation calibration reaches NEST only with the state set too (with_asc_state)
    from dataclasses import replace

    p = glif_levels[3]
    slow = replace(p, asc_tau=(*p.asc_tau, 0.8), asc_amp=(*p.asc_amp, -2e-11),
                   asc_r=(*p.asc_r, 1.0))  # fmt: skip
    assert len(slow.to_nest()["ASCurrents"]) == 3
    stim = make_stimulus("long_square", duration=1.0, dt=5e-5, amplitude=2.5e-10, delay=0.1,
                         width=0.8)  # fmt: skip
    data = nest_sweep(slow, stim, with_spikes=True)
    res = simulate(slow, data.stimulus, v0=float(data.voltage[0]))
    assert res.spike_times.size < simulate(p, data.stimulus).spike_times.size  # it adapts
    np.testing.assert_allclose(res.spike_times, data.spike_times, atol=1e-9)
