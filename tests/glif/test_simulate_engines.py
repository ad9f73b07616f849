"""``simulate``'s compiled loop gives the Python loop's result bit for bit, and the engine
choice falls back or refuses as documented (NEST itself is the peer in test_simulate.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.simulate import simulate
from tests.glif.test_batch import DT, _random_models


@pytest.mark.parametrize("n_asc", [0, 1, 2, 3, 5])
def test_compiled_and_python_loops_give_the_same_traces(n_asc):
    # every level, random parameters, noisy drives from rest and from another voltage, dt
    # finer than the model's (a longer cut in samples): equal arrays, not just close ones
    rng = np.random.default_rng(20 + n_asc)
    spikes = 0
    for p in _random_models(rng, n_asc):
        for amp, v0, dt in ((0.8e-10, None, DT), (2.4e-10, -0.06, DT), (3e-10, None, DT / 2)):
            stim = np.full(4000, amp) + rng.normal(0, 4e-11, 4000)
            a = simulate(p, stim, dt=dt, v0=v0, engine="python")
            b = simulate(p, stim, dt=dt, v0=v0, engine="c")
            np.testing.assert_array_equal(a.voltage, b.voltage)
            np.testing.assert_array_equal(a.threshold, b.threshold)
            np.testing.assert_array_equal(a.spikes, b.spikes)
            assert b.spikes.dtype == a.spikes.dtype and b.dt == a.dt
            spikes += a.spikes.size
    assert spikes > 500


def test_one_sample_and_a_spike_on_the_last_sample():
    p = _random_models(np.random.default_rng(1))[0]
    for stim in (np.array([1e-9]), np.r_[np.zeros(51), np.full(2, 1e-6)]):
        a, b = simulate(p, stim, engine="python"), simulate(p, stim, engine="c")
        np.testing.assert_array_equal(a.voltage, b.voltage)
        np.testing.assert_array_equal(a.spikes, b.spikes)
    assert b.spikes.tolist() == [52]  # the last sample


def test_simulate_engine_choice(monkeypatch):
    p = replace(_random_models(np.random.default_rng(2))[6])
    stim = np.full(3000, 3e-10)
    expected = simulate(p, stim, engine="python")
    assert expected.spikes.size > 0
    with pytest.raises(ConfigError, match="engine must be 'auto', 'c' or 'python'"):
        simulate(p, stim, engine="numpy")
    np.testing.assert_array_equal(simulate(p, stim).voltage, expected.voltage)
    # switched off: "auto" runs the Python loop, "c" says why it cannot run
    monkeypatch.setenv("BMTOOLKIT_NATIVE", "0")
    np.testing.assert_array_equal(simulate(p, stim).voltage, expected.voltage)
    with pytest.raises(ConfigError, match="kernel is unavailable: BMTOOLKIT_NATIVE=0"):
        simulate(p, stim, engine="c")
