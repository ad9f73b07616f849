"""Nested GLIF levels: embeddings behave like the embedded level, and :func:`fit_levels`
never keeps a level that scores worse on the training sweeps than a level it contains."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif import GlifParameters, Sweep, make_stimulus, simulate
from bmtoolkit.glif.nested import contains, embed, fit_levels

LOWER = {
    1: GlifParameters(
        level=1, El=-0.07, R=2e8, C=1e-10, th_inf=0.015, spike_cut_length=60, dt=5e-5
    ),  # fmt: skip
    4: GlifParameters(
        level=4,
        El=-0.07,
        R=2e8,
        C=1e-10,
        th_inf=0.015,
        spike_cut_length=60,
        dt=5e-5,
        reset_a=0.3,
        reset_b=0.004,
        a_spike=0.002,
        b_spike=50.0,
        asc_tau=(1 / 30, 1 / 300),
        asc_amp=(-2e-11, -5e-12),
        asc_r=(1.0, 1.0),
    ),  # fmt: skip
}


@pytest.mark.parametrize(("inner", "outer"), [(1, 2), (1, 3), (1, 4), (1, 5), (4, 5)])
def test_embedding_reproduces_the_lower_level(inner, outer):
    p = LOWER[inner]
    stim = make_stimulus("noise", duration=1.0, dt=5e-5, amplitude=5e-11, offset=1.2e-10, seed=3)
    a, b = simulate(p, stim), simulate(embed(p, outer), stim)
    assert a.spikes.size > 5
    np.testing.assert_array_equal(a.spikes, b.spikes)
    np.testing.assert_allclose(a.voltage, b.voltage, atol=1e-12)
    # a round trip through the Allen form keeps the level (non-zero neutral decay rates)
    q = embed(p, outer)
    assert GlifParameters.from_neuron_config(q.to_neuron_config()).level == outer


def test_embedding_into_a_level_that_lacks_a_mechanism_is_refused():
    assert not contains(3, 2)
    with pytest.raises(ConfigError, match="does not contain"):
        embed(LOWER[4], 3)


def test_fit_levels_is_monotone_along_nesting():
    truth = LOWER[4]
    sweeps = []
    for k, (off, amp) in enumerate([(4e-11, 3e-11), (1.1e-10, 6e-11), (1.3e-10, 6e-11)]):
        i = make_stimulus("noise", duration=1.0, dt=5e-5, amplitude=amp, offset=off, seed=k)
        sweeps.append(Sweep(i, simulate(truth, i).voltage, 5e-5, kind="noise"))
    fits = fit_levels(sweeps, (2, 4, 5))
    assert sorted(fits) == [1, 2, 3, 4, 5]
    for outer in fits:
        for inner in fits:
            if outer != inner and contains(outer, inner):
                assert fits[outer].score >= fits[inner].score
        assert fits[outer].params.level == outer
    # the true level's own fit is (nearly) perfect and is kept
    assert fits[4].source == 4 and fits[4].score > 0.95
