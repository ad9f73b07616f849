"""Analytic checks of the LGN filter model: convolution, TF tuning, polarity, adaptation,
Poisson statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.exceptions import ConfigError, UnknownModelError
from bmtoolkit.models.lgn import FITTED_TEMPORAL
from bmtoolkit.simulator.filternet.cells import build_cells
from bmtoolkit.simulator.filternet.evaluate import evaluate_rates, spatial_responses
from bmtoolkit.simulator.filternet.filters import (
    GaussianSpatialFilter,
    TemporalFilter,
    cosine_bump_kernels,
    resample_kernels,
)
from bmtoolkit.simulator.filternet.spiking import poisson_spikes, poisson_trials
from bmtoolkit.simulator.filternet.stimuli import (
    Movie,
    full_field_flash,
    grating,
    make_stimulus,
)


def _cell(
    model: str,
    x: float = 30.0,
    y: float = 15.0,
    size: float = 4.0,
    spont: float = 3.0,
    spatial_kernel: str = "pixel",
):
    return build_cells(
        pd.DataFrame(
            {
                "model_template": [f"lgnmodel:{model}"],
                "x": [x],
                "y": [y],
                "spatial_size": [size],
                "spont_fr": [spont],
            }  # fmt: skip
        ),
        spatial_kernel=spatial_kernel,
    )


def _independent_kernel(weights, kpeaks, delays, n=600):
    """Raised-cosine bumps written out directly from their definition."""
    width = np.log(200.3 / 100.3)
    total = np.zeros(n + int(delays[0]))
    for w, kp, d in zip(weights, kpeaks, delays):
        t = np.arange(1, n + 1, dtype=float)
        phi = 0.5 * (1 + np.cos(np.clip((np.log(t + 0.3) - np.log(kp)) * np.pi / (2 * width),
                                        -np.pi, np.pi)))  # fmt: skip
        phi /= np.linalg.norm(phi)
        shifted = np.zeros_like(total)
        m = min(n, total.size - int(d))
        shifted[int(d) : int(d) + m] = phi[:m]
        total += w * shifted
    return total


def test_kernel_matches_definition():
    for w, k, d in FITTED_TEMPORAL.values():
        got = cosine_bump_kernels(w, k, d)
        want = _independent_kernel(w, k, d)
        np.testing.assert_allclose(got, want, atol=2e-3 * np.abs(want).max())


def test_grating_response_equals_independent_convolution():
    movie = grating(30, 60, duration_ms=600.0, sf=0.05, tf=3.0, orientation=30.0,
                    contrast=0.8, degrees_per_pixel=1.0)  # fmt: skip
    spont = 40.0  # high enough that the rectifier never clips
    # the exactly sampled Gaussian (the default "pixel" kernel is checked against BMTK's)
    cells = _cell("sON_TF4", x=27.0, y=14.0, size=6.0, spont=spont, spatial_kernel="sampled")
    rates = evaluate_rates(cells, movie).rates[0]

    # independent: full Gaussian over every pixel, direct time-domain convolution
    sigma = 2.0
    xx, yy = np.meshgrid(movie.cols, movie.rows)
    r2 = ((xx - 27.0) ** 2 + (yy - 14.0) ** 2) / sigma**2
    g = np.exp(-0.5 * r2) * (r2 <= 16.0)
    g /= g.sum()
    s = np.einsum("trc,rc->t", movie.data.astype(float), g)
    k = _independent_kernel(*FITTED_TEMPORAL["sON_TF4"])
    linear = np.convolve(s, k)[: movie.n_frames]
    want = np.maximum(linear + spont, 0.0)
    assert want.min() > 0
    np.testing.assert_allclose(rates, want, atol=1e-3 * np.abs(linear).max() + 1e-4)
    assert np.ptp(rates) > 5.0  # the cell is actually modulated


def test_lower_frame_rate_gives_same_response_for_slow_stimulus():
    fast = full_field_flash(10, 10, duration_ms=800.0, t_on=200.0, frame_rate=1000.0)
    slow = full_field_flash(10, 10, duration_ms=800.0, t_on=200.0, frame_rate=100.0)
    cells = _cell("sON_TF1", x=5.0, y=5.0, spont=5.0)
    r_fast = evaluate_rates(cells, fast).rates[0]
    r_slow = evaluate_rates(cells, slow).rates[0]
    late_fast, late_slow = r_fast[700:].mean(), r_slow[70:].mean()
    assert abs(late_fast - late_slow) < 0.05 * abs(late_fast - 5.0)


@pytest.mark.parametrize("model", ["sON_TF1", "sON_TF8", "sOFF_TF15", "tOFF_TF4"])
def test_tf_tuning_peaks_at_kernel_fourier_peak(model):
    tfs = np.array([1.0, 2.0, 4.0, 8.0, 15.0])
    cells = build_cells(
        pd.DataFrame(
            {
                "model_template": [f"lgnmodel:{model}"],
                "x": [20.0],
                "y": [10.0],
                "spatial_size": [3.0],
                "spont_fr": [0.0],
            }
        )  # fmt: skip
    )
    amps = []
    for tf in tfs:
        m = grating(20, 40, duration_ms=2000.0, sf=0.02, tf=tf, contrast=1.0)
        lin = evaluate_rates(cells, m, nonlinearity="linear").rates[0].astype(float)
        t = m.times_ms / 1000.0
        steady = t >= 1.0  # whole cycles of every tf, kernel fully engaged
        z = np.mean(lin[steady] * np.exp(-2j * np.pi * tf * t[steady]))
        amps.append(2 * abs(z))
    w, k, d = FITTED_TEMPORAL[model]
    h = np.abs(TemporalFilter(w, k, d).transfer(tfs))
    assert tfs[int(np.argmax(amps))] == tfs[int(np.argmax(h))]
    # the whole tuning curve follows |H(f)| (same spatial gain for every tf)
    ratio = np.asarray(amps) / h
    np.testing.assert_allclose(ratio, ratio.mean(), rtol=0.02)


def test_on_and_off_cells_respond_with_opposite_sign_to_a_flash():
    movie = full_field_flash(20, 20, duration_ms=500.0, t_on=100.0, t_off=400.0)
    nodes = pd.DataFrame({
        "model_template": ["lgnmodel:sON_TF4", "lgnmodel:sOFF_TF4"],
        "x": [10.0, 10.0], "y": [10.0, 10.0], "spatial_size": [4.0, 4.0],
        "spont_fr": [5.0, 5.0],
        # same temporal filter, so only the polarity differs
        "weight_dom_0": [3.2, 3.2], "weight_dom_1": [-1.6, -1.6],
        "kpeaks_dom_0": [22.0, 22.0], "kpeaks_dom_1": [56.0, 56.0],
        "delay_dom_0": [0.0, 0.0], "delay_dom_1": [15.0, 15.0],
    })  # fmt: skip
    cells = build_cells(nodes)
    lin = evaluate_rates(cells, movie, nonlinearity="linear").rates - 5.0
    np.testing.assert_allclose(lin[0], -lin[1], atol=1e-4)
    rates = evaluate_rates(cells, movie).rates
    onset = slice(110, 160)
    assert rates[0, onset].mean() > 5.0 + 5.0  # ON excited by light onset
    assert rates[1, onset].max() < 5.0  # OFF suppressed
    np.testing.assert_allclose(rates[:, :100], 5.0, atol=1e-4)  # spontaneous before


def test_transient_decays_and_sustained_stays_during_long_flash():
    dark = full_field_flash(20, 20, duration_ms=3000.0, t_on=500.0, contrast=-1.0)
    bright = full_field_flash(20, 20, duration_ms=3000.0, t_on=500.0, contrast=1.0)
    spont = 4.0
    transient = _cell("tOFF_TF15", x=10.0, y=10.0, spont=spont)
    sustained = _cell("sON_TF2", x=10.0, y=10.0, spont=spont)
    r_t = evaluate_rates(transient, dark).rates[0] - spont
    r_s = evaluate_rates(sustained, bright).rates[0] - spont
    late = slice(2000, 3000)
    assert r_t.max() > 5.0 and r_s.max() > 5.0
    assert abs(r_t[late].mean()) < 0.1 * r_t.max()  # transient back near baseline
    assert r_s[late].min() > 0.3 * r_s.max()  # sustained stays well above baseline


def test_two_subunit_cell_has_on_and_off_subfields():
    nodes = pd.DataFrame({"model_template": ["lgnmodel:sONsOFF_001"], "x": [20.0],
                          "y": [20.0], "tuning_angle": [0.0]})  # fmt: skip
    cells = build_cells(nodes)
    assert cells.n_subunits == 2
    assert cells.amplitude[0] < 0 < cells.amplitude[1]
    np.testing.assert_allclose(cells.x, [20.0, 26.0])
    np.testing.assert_allclose(cells.offset, [2.0, 2.0])
    flash = full_field_flash(40, 40, duration_ms=600.0, t_on=200.0)
    rate = evaluate_rates(cells, flash).rates[0]
    np.testing.assert_allclose(rate[:200], 4.0, atol=1e-4)
    assert rate[200:].max() > 4.0  # the ON subunit answers light


def test_spike_counts_match_rate_integral():
    movie = grating(20, 40, duration_ms=2000.0, sf=0.04, tf=2.0, contrast=0.8)
    rng = np.random.default_rng(3)
    nodes = pd.DataFrame({
        "model_template": ["lgnmodel:sON_TF2"] * 50 + ["lgnmodel:tOFF_TF8"] * 50,
        "x": rng.uniform(0, 40, 100), "y": rng.uniform(0, 20, 100),
        "spatial_size": rng.uniform(2, 8, 100), "spont_fr": 5.0,
    })  # fmt: skip
    res = evaluate_rates(build_cells(nodes), movie)
    expected = res.rates.astype(float).sum(axis=1) * res.dt_ms / 1000.0
    trials = poisson_trials(res.rates, dt_ms=res.dt_ms, n_trials=5, seed=11)
    counts = np.stack([np.bincount(ids, minlength=100) for ids, _ in trials])
    total_expected = expected.sum() * 5
    assert abs(counts.sum() - total_expected) < 4 * np.sqrt(total_expected)
    # per-cell counts: standardized deviations look standard normal
    z = (counts.mean(axis=0) - expected) / np.sqrt(expected / 5)
    assert abs(z.mean()) < 4 / np.sqrt(100) + 0.05
    assert 0.6 < z.std() < 1.4
    # within-cell timing follows the rate: more spikes where the rate is high
    ids, times = trials[0]
    assert times.min() >= 0 and times.max() < 2000.0
    assert np.all(np.diff(times) >= 0)


def test_spikes_are_seeded_and_trials_differ():
    rates = np.full((3, 500), 30.0)
    a = poisson_spikes(rates, dt_ms=1.0, seed=5, trial=0)
    b = poisson_spikes(rates, dt_ms=1.0, seed=5, trial=0)
    c = poisson_spikes(rates, dt_ms=1.0, seed=5, trial=1)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    with pytest.raises(ConfigError):
        poisson_spikes(-rates, dt_ms=1.0)


def test_spatial_filter_normalisation_and_dog():
    cols, rows = np.arange(40.0), np.arange(30.0)
    w = GaussianSpatialFilter(20.0, 15.0, (2.0, 4.0), rotation=30.0).weights(cols, rows)
    assert w.sum() == pytest.approx(1.0)
    dog = GaussianSpatialFilter(20.0, 15.0, (1.0, 1.0), surround_scale=3.0,
                                surround_weight=1.0).weights(cols, rows)  # fmt: skip
    assert abs(dog.sum()) < 1e-9 and dog[15, 20] > 0 and dog.min() < 0
    # a field half off-screen is renormalised over the visible pixels
    edge = GaussianSpatialFilter(0.0, 15.0, (2.0, 2.0)).weights(cols, rows)
    assert edge.sum() == pytest.approx(1.0)


def test_elongated_field_prefers_aligned_bars():
    cells = build_cells(pd.DataFrame({"model_template": ["lgnmodel:sON_TF4"], "x": [20.0],
                                      "y": [20.0], "spatial_size": ["(3.0, 12.0)"]}))  # fmt: skip
    movie_v = make_stimulus("static_grating", {"row_size": 40, "col_size": 40, "sf": 0.08,
                                               "orientation": 0.0, "phase": 90.0},
                            duration_ms=2.0)  # fmt: skip
    movie_h = make_stimulus("static_grating", {"row_size": 40, "col_size": 40, "sf": 0.08,
                                               "orientation": 90.0, "phase": 90.0},
                            duration_ms=2.0)  # fmt: skip
    s_v = spatial_responses(cells, movie_v)[0, 0]
    s_h = spatial_responses(cells, movie_h)[0, 0]
    assert abs(s_v) > 3 * abs(s_h)


def test_resample_kernels_scales_with_frame_interval():
    k = np.arange(100.0)[None, :]
    np.testing.assert_allclose(resample_kernels(k, 100.0, 5), [[0.0, 100.0, 200.0, 300.0,
                                                                 400.0]])  # fmt: skip


def test_workers_give_same_rates_as_one_process():
    rng = np.random.default_rng(0)
    nodes = pd.DataFrame({
        "model_template": ["lgnmodel:sON_TF8", "lgnmodel:sONtOFF_001", "lgnmodel:sOFF_TF1"] * 6,
        "x": rng.uniform(0, 40, 18), "y": rng.uniform(0, 20, 18), "tuning_angle": 45.0,
    })  # fmt: skip
    cells = build_cells(nodes)
    movie = grating(20, 40, duration_ms=300.0, sf=0.05, tf=4.0)
    one = evaluate_rates(cells, movie).rates
    two = evaluate_rates(cells, movie, n_workers=2, block_cells=5).rates
    np.testing.assert_allclose(one, two, rtol=1e-5, atol=1e-4)


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ConfigError, match="unknown LGN cell type"):
        build_cells(pd.DataFrame({"model_template": ["lgnmodel:foo"], "x": [0.0], "y": [0.0]}))
    with pytest.raises(ConfigError, match="'x'"):
        build_cells(pd.DataFrame({"model_template": ["lgnmodel:sON_TF1"], "y": [0.0]}))
    with pytest.raises(ConfigError, match="no opt_wts"):
        build_cells(pd.DataFrame({"model_template": ["lgnmodel:sON_TF3"], "x": [0.0],
                                  "y": [0.0]}))  # fmt: skip
    with pytest.raises(UnknownModelError, match="grating"):
        make_stimulus("gratting", {}, duration_ms=10.0)
    with pytest.raises(ConfigError, match="does not take"):
        make_stimulus("grating", {"speed": 3.0}, duration_ms=10.0)
    with pytest.raises(ConfigError):
        Movie(np.zeros((3, 2, 2), np.float32), 100.0, np.arange(3.0), np.arange(2.0))
