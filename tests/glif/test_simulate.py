"""The numpy GLIF simulator reproduces NEST's glif_psc (the peer) at every level."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.glif import make_stimulus, simulate
from tests.glif.conftest import nest_sweep

pytestmark = pytest.mark.nest


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_same_voltage_and_spikes_as_nest(glif_levels, level):
    p = glif_levels[level]
    stim = make_stimulus("noise", duration=1.0, dt=5e-5, amplitude=1e-10, offset=1.2e-10, seed=3)
    data = nest_sweep(p, stim, with_spikes=True)
    res = simulate(p, data.stimulus, v0=float(data.voltage[0]))
    assert data.spike_times.size > 10
    np.testing.assert_allclose(res.spike_times, data.spike_times, atol=1e-9)
    np.testing.assert_allclose(res.voltage, data.voltage, atol=1e-9)
