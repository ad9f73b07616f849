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
    assert emission_step(t, 0.1, precise=False).tolist() == [19, 19, 19, 20, 20, 20, 20]
    # relative to a start time on the grid; times at or before it fall before step 0
    got = emission_step(t, 0.1, tstart=1.0, precise=False).tolist()
    assert got == [9, 9, 9, 10, 10, 10, 10]
    assert emission_step([1.0, 0.5], 0.1, tstart=1.0).tolist() == [-1, -6]


def test_precise_rule_moves_every_off_grid_time_to_the_end_of_its_step():
    """BMTK's default (precise_times): only a time on the grid stays on it."""
    t = np.array([2.0, 2.0004, 1.9996, 2.0005, 2.0006, 2.05, 2.1, 69.70000001])
    assert emission_step(t, 0.1).tolist() == [19, 20, 19, 20, 20, 20, 20, 697]


def _nest_emission_times(nest, times, dt, params):
    """Times at which a parrot_neuron relays a spike_generator's spikes (1 dt later), so the
    recorded time is the emission step's end whatever offset a precise spike carries."""
    nest.ResetKernel()
    nest.set(resolution=dt, print_time=False)
    gen = nest.Create("spike_generator", params={**params, "spike_times": times.tolist()})
    parrot = nest.Create("parrot_neuron")
    rec = nest.Create("spike_recorder")
    nest.Connect(gen, parrot, syn_spec={"delay": dt})
    nest.Connect(parrot, rec)
    nest.Simulate(float(np.ceil(times.max())) + 10.0)
    return np.sort(np.asarray(rec.get("events")["times"], dtype=float)) - dt


@pytest.mark.parametrize("dt", [0.1, 0.025, 0.5])
@pytest.mark.parametrize("precise", [True, False])
def test_emission_step_equals_nest_spike_generator(dt, precise):
    """A spike_generator with precise_times (BMTK's default) or allow_offgrid_times emits each
    spike at the end of the step emission_step names, for times near the grid and for
    unrounded Poisson times."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    nest = require_module("nest")
    rng = np.random.default_rng(7)
    near = rng.integers(1, 4000, 2000) * 0.1 + rng.choice(OFFSETS, 2000)
    poisson = np.cumsum(rng.exponential(1000.0 / 15.0, 400))
    times = np.unique(np.concatenate([np.round(near, 9), near, poisson]))
    times = times[times > 0]
    params = {"precise_times": True} if precise else {"allow_offgrid_times": True}
    got = _nest_emission_times(nest, times, dt, params)
    expected = np.sort((emission_step(times, dt, precise=precise) + 1) * dt)
    assert got.size == expected.size == times.size
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    # the two rules differ on these times, so the test tells them apart
    other = np.sort((emission_step(times, dt, precise=not precise) + 1) * dt)
    assert not np.allclose(other, got, rtol=0, atol=1e-9)
