"""Each step of the GLIF fit on its own, on traces whose answer is known by construction."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError, UnknownModelError
from bmtoolkit.glif import (
    GlifParameters,
    Sweep,
    detect_spikes,
    explained_variance,
    fit_glif,
    make_stimulus,
    prepare,
    simulate,
    spike_cut_length,
)
from bmtoolkit.glif.regression import fit_after_spike_currents, fit_subthreshold, fit_voltage_reset
from bmtoolkit.glif.threshold import (
    fit_threshold_lsq,
    laplace_log_cdf,
    laplace_log_sf,
    mlin_log_likelihood,
    spike_thresholds,
)

DT = 5e-5
TRUTH = GlifParameters(level=4, El=-0.065, R=1.5e8, C=1.2e-10, th_inf=0.018,
                       spike_cut_length=80, dt=DT, reset_a=0.5, reset_b=0.003,
                       a_spike=0.002, b_spike=80.0, asc_amp=(-5e-11, -2e-10))  # fmt: skip


def _sweeps(params=TRUTH, offsets=(0.0, 1.5e-10, 2e-10)):
    out = []
    for k, off in enumerate(offsets):
        i = make_stimulus("noise", duration=1.5, dt=DT, amplitude=6e-11 if off else 2e-11,
                          offset=off, seed=10 + k)  # fmt: skip
        out.append(Sweep(i, simulate(params, i).voltage, DT, kind="noise", name=f"s{k}"))
    return out


def _transitions(sweeps, cut=TRUTH.spike_cut_length):
    return [prepare(s, detect_spikes(s.voltage, DT), cut) for s in sweeps]


def test_stimuli_of_each_kind():
    sq = make_stimulus("long_square", duration=2.0, dt=DT, amplitude=1e-10)
    assert sq.max() == 1e-10 and np.count_nonzero(sq) == round(1.0 / DT)
    assert np.count_nonzero(make_stimulus("short_square", duration=0.5, dt=DT,
                                          amplitude=1e-9)) == 60  # fmt: skip
    r = make_stimulus("ramp", duration=1.0, dt=DT, slope=2.5e-11, delay=0.0)
    assert r[-1] == pytest.approx(2.5e-11)
    n1 = make_stimulus("noise", duration=1.0, dt=DT, amplitude=1e-10, offset=5e-11, seed=1)
    n2 = make_stimulus("noise", duration=1.0, dt=DT, amplitude=1e-10, offset=5e-11, seed=1)
    assert np.array_equal(n1, n2) and n1.std() == pytest.approx(1e-10, rel=0.15)
    with pytest.raises(UnknownModelError, match="long_square"):
        make_stimulus("chirp", duration=1.0, dt=DT)


def test_bad_sweeps_are_refused_with_the_field():
    with pytest.raises(ConfigError, match="s1: stimulus/voltage"):
        Sweep(np.zeros(3), np.zeros(4), DT, name="s1")
    with pytest.raises(ConfigError, match="dt"):
        Sweep(np.zeros(3), np.zeros(3), 0.0)
    with pytest.raises(ConfigError, match="kind"):
        Sweep(np.zeros(3), np.zeros(3), DT, kind="chirp")
    with pytest.raises(ConfigError, match="one dt"):
        fit_glif([Sweep(np.zeros(9), np.zeros(9), DT), Sweep(np.zeros(9), np.zeros(9), 1e-4)], 1)


def test_spike_detection_and_cut_on_a_reset_model():
    sw = _sweeps()[1]
    res = simulate(TRUTH, sw.stimulus)
    found = detect_spikes(sw.voltage, DT)
    assert np.array_equal(found, res.spikes) and found.size > 5
    assert spike_cut_length(sw.voltage, found, DT) == TRUTH.spike_cut_length


def test_spike_detection_and_cut_on_action_potentials():
    v = np.full(2000, -0.07)
    shape = np.r_[np.linspace(-0.05, 0.03, 4), np.linspace(0.02, -0.075, 20),
                  np.linspace(-0.074, -0.07, 30)]  # fmt: skip
    for s in (300, 1200):
        v[s : s + shape.size] = shape
    assert list(detect_spikes(v, DT)) == [300, 1200]
    assert spike_cut_length(v, np.array([300, 1200]), DT) == 23


def test_subthreshold_regression():
    m = fit_subthreshold(_transitions(_sweeps()[:1]))
    assert m.R == pytest.approx(TRUTH.R, rel=1e-6)
    assert m.C == pytest.approx(TRUTH.C, rel=1e-6)
    assert m.El == pytest.approx(TRUTH.El, abs=1e-6)
    with pytest.raises(ConfigError, match="spike-free"):
        fit_subthreshold([prepare(Sweep(np.zeros(50), np.zeros(50), DT), np.array([], int), 0)])


def test_after_spike_currents_and_reset_regressions():
    trs = _transitions(_sweeps())
    m = fit_subthreshold(trs, quiet_taus=TRUTH.asc_tau)
    amps = fit_after_spike_currents(trs, m, TRUTH.asc_tau)
    np.testing.assert_allclose(amps, TRUTH.asc_amp, rtol=1e-3)
    a, b = fit_voltage_reset(trs, m.El)
    assert (a, b) == (pytest.approx(0.5, abs=1e-6), pytest.approx(0.003, abs=1e-6))


def test_threshold_least_squares_and_mlin():
    trs = _transitions(_sweeps())
    m = fit_subthreshold(trs, quiet_taus=TRUTH.asc_tau)
    amps = fit_after_spike_currents(trs, m, TRUTH.asc_tau)
    th = spike_thresholds(trs, m, amps, TRUTH.asc_tau)
    assert th.min() > TRUTH.th_inf - 3e-4  # every spike crossed at least th_inf
    lsq = fit_threshold_lsq(trs, m, 4, asc_amps=amps, asc_taus=TRUTH.asc_tau)
    assert lsq.th_inf == pytest.approx(TRUTH.th_inf, abs=3e-4)
    assert lsq.a_spike == pytest.approx(TRUTH.a_spike, abs=3e-4)
    assert lsq.b_spike == pytest.approx(TRUTH.b_spike, rel=0.2)
    # MLIN prefers the true threshold to a shifted one
    v = np.r_[np.linspace(0, 0.017, 50), 0.0185]
    spike = np.r_[np.zeros(50, bool), True]
    good = mlin_log_likelihood(np.full(51, 0.018), v, spike, 2e-4)
    assert good > mlin_log_likelihood(np.full(51, 0.016), v, spike, 2e-4)
    assert good > mlin_log_likelihood(np.full(51, 0.020), v, spike, 2e-4)


def test_laplace_log_cdf_is_the_two_branch_formula_bit_for_bit():
    """The buffered evaluation gives the bits of ``log(1/2) + z`` below zero and
    ``log1p(-exp(-|z|) / 2)`` elsewhere, signed zeros and non-finite values included."""
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(0.0, 0.01, 20_000), 0.0, -0.0, np.inf, -np.inf, np.nan, 1e-300, -1e-300]
    for scale in (1e-3, 2.5e-4, 1.0):
        z = x / scale
        with np.errstate(invalid="ignore"):
            ref = np.where(
                z < 0, np.log(0.5) + np.minimum(z, 0), np.log1p(-0.5 * np.exp(-np.abs(z)))
            )
        got = laplace_log_cdf(x, scale)
        assert np.array_equal(got, ref, equal_nan=True)
        assert np.array_equal(np.signbit(got), np.signbit(ref))
        assert np.array_equal(laplace_log_sf(x, scale), laplace_log_cdf(-x, scale), equal_nan=True)
    assert laplace_log_cdf(0.3, 1e-3).shape == ()  # a scalar in, a 0-d array out, as before
    # the CDF of a Laplace distribution: 1/2 at zero, e^-1 / 2 one scale below
    assert laplace_log_cdf(np.array([0.0, -2.0]), 2.0) == pytest.approx(
        [np.log(0.5), np.log(0.5) - 1]
    )


def test_explained_variance_orders_models():
    data = [np.array([0.1, 0.2, 0.5, 0.9])]
    assert explained_variance(data, data, duration=1.0) == pytest.approx(1.0)
    near = explained_variance(data, [np.array([0.102, 0.2, 0.505, 0.9])], duration=1.0)
    far = explained_variance(data, [np.array([0.3, 0.7])], duration=1.0)
    assert 0.9 < near < 1.0 and far < 0.2


def test_neuron_config_round_trip_all_levels():
    for level in range(1, 6):
        p = replace(TRUTH, level=level, a_voltage=5.0 if level == 5 else 0.0, b_voltage=40.0)
        q = GlifParameters.from_neuron_config(p.to_neuron_config())
        assert q.level == level
        assert (q.R, q.C, q.El, q.th_inf) == (p.R, p.C, p.El, p.th_inf)
    with pytest.raises(ConfigError, match="cell.json"):
        GlifParameters.from_neuron_config({"coeffs": {}}, source="cell.json")
