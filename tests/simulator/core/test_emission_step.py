"""Input spike times -> emission step: the shared rule equals NEST's spike_generator."""

from __future__ import annotations

import os

import numpy as np
import pytest

from bmtoolkit.simulator.core.inputs import emission_step
from tests.conftest import require_module

#: offsets (ms) from grid points: on it, within half a tic, exactly half a tic, beyond it
OFFSETS = [0.0, 4e-4, -4e-4, 5e-4, -5e-4, 6e-4, -6e-4, 1e-4, 4.9999e-4, 0.05, -0.0999]


def test_emission_step_rounds_to_the_tic_then_up_to_the_step():
    t = np.array([2.0, 2.0004, 1.9996, 2.0005, 2.0006, 2.05, 2.1])
    assert emission_step(t, 0.1).tolist() == [19, 19, 19, 20, 20, 20, 20]
    # relative to a start time on the grid; times at or before it fall before step 0
    assert emission_step(t, 0.1, tstart=1.0).tolist() == [9, 9, 9, 10, 10, 10, 10]
    assert emission_step([1.0, 0.5], 0.1, tstart=1.0).tolist() == [-1, -6]


@pytest.mark.parametrize("dt", [0.1, 0.025, 0.5])
def test_emission_step_equals_nest_spike_generator(dt):
    """A spike_generator with allow_offgrid_times emits each spike at the end of the step
    emission_step names (the spike recorder stamps it there)."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    nest = require_module("nest")
    rng = np.random.default_rng(7)
    times = rng.integers(1, 4000, 2000) * 0.1 + rng.choice(OFFSETS, 2000)
    times = np.unique(np.round(times, 9))
    times = times[times > 0]
    nest.ResetKernel()
    nest.set(resolution=dt, print_time=False)
    gen = nest.Create("spike_generator", params={"allow_offgrid_times": True,
                                                 "spike_times": times.tolist()})  # fmt: skip
    rec = nest.Create("spike_recorder")
    nest.Connect(gen, rec)
    nest.Simulate(410.0)
    got = np.sort(np.asarray(rec.get("events")["times"], dtype=float))
    expected = np.sort((emission_step(times, dt) + 1) * dt)
    assert got.size == expected.size == times.size
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
