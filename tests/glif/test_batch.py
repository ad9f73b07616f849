"""Batched spike counts (the calibration searches) against the one-model simulator."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif import GlifParameters, Sweep, make_stimulus, simulate
from bmtoolkit.glif.batch import batch_counts
from bmtoolkit.glif.calibrate import (
    calibrate_adaptation,
    calibrate_f_i,
    calibrate_voltage_threshold,
    count_loss,
    count_score,
    data_counts,
    model_counts,
)

DT = 1e-4


def _random_models(rng: np.random.Generator, n_asc: int = 3) -> list[GlifParameters]:
    out = []
    for level in (1, 2, 3, 4, 5):
        for _ in range(3):
            out.append(GlifParameters(
                level=level, El=-0.07, R=rng.uniform(1e8, 3e8), C=rng.uniform(5e-11, 2e-10),
                th_inf=rng.uniform(0.01, 0.025), spike_cut_length=int(rng.integers(10, 60)),
                dt=DT, reset_a=rng.uniform(0, 0.5), reset_b=rng.uniform(0, 0.01),
                a_spike=rng.uniform(0, 0.005), b_spike=rng.uniform(20, 200),
                a_voltage=rng.uniform(-5, 20), b_voltage=rng.uniform(0.5, 50),
                asc_tau=(0.03, 0.003, 1.0, 0.1, 0.01)[:n_asc],
                asc_amp=tuple(rng.uniform(-3e-11, 1e-11, n_asc)), asc_r=(1.0,) * n_asc,
            ))  # fmt: skip
    return out


@pytest.mark.parametrize("engine", ["c", "numpy"])
def test_batch_counts_are_the_simulator_counts_at_every_level(engine):
    rng = np.random.default_rng(0)
    n = 6000
    stims = np.stack([np.r_[np.zeros(500), np.full(5000, a), np.zeros(500)] + rng.normal(0, s, n)
                      for a, s in ((1.5e-10, 0.0), (2.5e-10, 3e-11), (4e-10, 1e-11))])  # fmt: skip
    windows = [[(500, 3000), (3000, 5600)]] * 3
    v0 = [-0.07, -0.068, -0.071]
    models = _random_models(rng)
    counts = batch_counts(models, stims, DT, windows, v0=v0, engine=engine)
    assert counts.shape == (len(models), 3, 2) and counts.sum() > 500
    for i, p in enumerate(models):
        for s in range(3):
            spikes = simulate(p, stims[s], dt=DT, v0=v0[s]).spikes
            expected = [int(((spikes >= a) & (spikes < b)).sum()) for a, b in windows[s]]
            assert counts[i, s].tolist() == expected, (p.level, i, s)


@pytest.mark.parametrize("n_asc", [0, 1, 2, 3, 4, 5])
def test_compiled_and_numpy_loops_count_the_same(n_asc):
    # many models (every level, after-spike currents of every count) on noisy sweeps of
    # different start voltages and overlapping windows: the same counts from both engines
    # (the kernel has a loop for each count up to 4 and one for any count, 5 here)
    rng = np.random.default_rng(10 + n_asc)
    models = _random_models(rng, n_asc) + _random_models(rng, n_asc)
    n = 5000
    stims = np.stack([np.full(n, a) + rng.normal(0, 4e-11, n)
                      for a in (0.8e-10, 1.6e-10, 2.4e-10, 3.6e-10)])  # fmt: skip
    windows = [[(0, 2000), (1000, 4000), (3000, 5000)]] * 4
    v0 = [-0.07, -0.06, -0.075, -0.065]
    c = batch_counts(models, stims, DT, windows, v0=v0, engine="c")
    assert c.sum() > 1000 and (c[:, :, 1] > 0).sum() > len(models)
    np.testing.assert_array_equal(c, batch_counts(models, stims, DT, windows, v0=v0,
                                                  engine="numpy"))  # fmt: skip
    # without v0 every model starts at its El
    np.testing.assert_array_equal(batch_counts(models, stims[:2], DT, windows[:2]),
                                  batch_counts(models, stims[:2], DT, windows[:2],
                                               engine="numpy"))  # fmt: skip


def test_batch_counts_engine_choice(monkeypatch):
    p = _random_models(np.random.default_rng(2))[6]
    stim = np.full((1, 3000), 3e-10)
    expected = batch_counts([p], stim, DT, [[(0, 3000)]], engine="numpy")
    assert expected.sum() > 0
    with pytest.raises(ConfigError, match="engine must be 'auto', 'c' or 'numpy'"):
        batch_counts([p], stim, DT, [[(0, 3000)]], engine="fortran")
    # more after-spike currents than the kernel holds: numpy counts them, "c" refuses
    many = replace(p, asc_tau=(0.01,) * 17, asc_amp=(0.0,) * 17, asc_r=(1.0,) * 17)
    np.testing.assert_array_equal(batch_counts([many], stim, DT, [[(0, 3000)]]),
                                  batch_counts([many], stim, DT, [[(0, 3000)]],
                                               engine="numpy"))  # fmt: skip
    with pytest.raises(ConfigError, match="at most 16 after-spike currents, got 17"):
        batch_counts([many], stim, DT, [[(0, 3000)]], engine="c")
    # switched off: "auto" falls back to numpy, "c" says why it cannot run
    monkeypatch.setenv("BMTOOLKIT_NATIVE", "0")
    np.testing.assert_array_equal(batch_counts([p], stim, DT, [[(0, 3000)]]), expected)
    with pytest.raises(ConfigError, match="kernel is unavailable: BMTOOLKIT_NATIVE=0"):
        batch_counts([p], stim, DT, [[(0, 3000)]], engine="c")


def test_batch_counts_refuses_mixed_shapes():
    p = _random_models(np.random.default_rng(1))[9]
    q = replace(p, asc_tau=(0.03,), asc_amp=(0.0,), asc_r=(1.0,))
    with pytest.raises(ConfigError, match="same number of after-spike currents"):
        batch_counts([p, q], np.zeros((1, 10)), DT, [[(0, 10)]])
    with pytest.raises(ConfigError, match="one list of windows per sweep"):
        batch_counts([p], np.zeros((2, 10)), DT, [[(0, 10)], [(0, 5), (5, 10)]])


def _squares(params: GlifParameters, amps, gap: float | None) -> list[Sweep]:
    """Long squares from rest, or one series with ``gap`` s between squares."""
    if gap is None:
        out = []
        for a in amps:
            i = make_stimulus(
                "long_square", duration=0.6, dt=DT, amplitude=a, delay=0.05, width=0.5
            )
            out.append(Sweep(i, simulate(params, i).voltage, DT, kind="long_square"))
        return out
    period = 0.5 + gap
    i = np.sum([make_stimulus("long_square", duration=0.05 + len(amps) * period, dt=DT,
                              amplitude=a, delay=0.05 + k * period, width=0.5)
                for k, a in enumerate(amps)], axis=0)  # fmt: skip
    return [Sweep(i, simulate(params, i).voltage, DT, kind="long_square")]


def test_adaptation_calibration_learns_the_memory_of_a_square_series():
    # the "cell": a GLIF3 with a slow (0.8 s) adapting current, so that a square fires less
    # after the squares before it than from rest
    truth = GlifParameters(level=3, El=-0.07, R=2e8, C=1e-10, th_inf=0.015, spike_cut_length=30,
                           dt=DT, asc_tau=(0.03, 0.003, 0.8), asc_amp=(-5e-12, 0.0, -8e-12),
                           asc_r=(1.0, 1.0, 1.0))  # fmt: skip
    amps = (0.9e-10, 1.1e-10, 1.4e-10, 1.8e-10)
    sweeps = _squares(truth, amps, None) + _squares(truth, amps, 0.5)
    data = data_counts(sweeps)
    assert (data[4:] < data[:4]).sum() >= 2  # the series fires less: the cell remembers
    start = replace(truth, asc_tau=(0.03, 0.003), asc_amp=(-5e-12, 0.0), asc_r=(1.0, 1.0),
                    C=1.3e-10, th_inf=0.013)  # fmt: skip
    f_i = calibrate_f_i(start, sweeps)
    adapted = calibrate_adaptation(start, sweeps, first=300, per_round=150, seed=2)
    loss_f_i = count_loss(model_counts([f_i], sweeps)[0], data)
    loss_adapted = count_loss(model_counts([adapted], sweeps)[0], data)
    assert len(adapted.asc_tau) == 3 and adapted.asc_amp[2] < 0  # a slow adapting current
    assert loss_adapted < 0.5 * loss_f_i
    assert count_score(sweeps)(adapted) == pytest.approx(-loss_adapted)
    # seeded: the same search gives the same model
    assert calibrate_adaptation(start, sweeps, first=300, per_round=150, seed=2) == adapted
    # levels without after-spike currents or voltage threshold get the f-I calibration
    lif = replace(start, level=1)
    assert calibrate_adaptation(lif, sweeps) == calibrate_f_i(lif, sweeps)


@pytest.mark.parametrize("levels", [(1,), (3,), (1, 3), (5,)])
def test_batch_counts_skip_the_terms_every_model_has_off(levels):
    # without a spike-dependent (levels 1, 3, and 5 with a_spike 0) or voltage-dependent
    # threshold in any model, those terms are not computed: the counts stay the simulator's
    rng = np.random.default_rng(3)
    models = [replace(p, a_spike=0.0) for p in _random_models(rng) if p.level in levels]
    stim = np.r_[np.zeros(300), np.full(4000, 2.2e-10), np.zeros(300)] + rng.normal(0, 2e-11, 4600)
    counts = batch_counts(models, stim[None, :], DT, [[(300, 2300), (2300, 4600)]], v0=[-0.069])
    assert counts.sum() > 10 * len(models)
    for i, p in enumerate(models):
        spikes = simulate(p, stim, dt=DT, v0=-0.069).spikes
        assert counts[i, 0].tolist() == [int((spikes < 2300).sum()), int((spikes >= 2300).sum())]


def test_count_loss_weighs_each_sweep_by_its_weight():
    i = make_stimulus("long_square", duration=0.3, dt=DT, amplitude=2e-10, delay=0.05, width=0.2)
    p = GlifParameters(level=1, El=-0.07, R=2e8, C=1e-10, th_inf=0.015, spike_cut_length=30,
                       dt=DT)  # fmt: skip
    a = Sweep(i, simulate(p, i).voltage, DT, kind="long_square")
    heavy = replace(a, weight=3.0)
    off = replace(p, th_inf=0.02)
    assert count_score([a, heavy])(off) == pytest.approx(4 * count_score([a])(off))
    assert count_loss(np.array([3, 1]), np.array([1, 1]), np.array([0.5, 2.0])) == 0.5
    with pytest.raises(ConfigError, match="weight must be a number >= 0"):
        replace(a, weight=-1.0)


def test_voltage_threshold_calibration_learns_facilitation():
    # the "cell": its threshold falls while it is depolarised and recovers in seconds
    # (a_voltage / b_voltage = -1.5, b_voltage = 0.3 /s), so a square after others fires
    # more than from rest; the start is the same cell without that threshold
    truth = GlifParameters(level=5, El=-0.07, R=2e8, C=1e-10, th_inf=0.02, spike_cut_length=30,
                           dt=DT, a_spike=0.0, b_spike=100.0, a_voltage=-0.45, b_voltage=0.3,
                           asc_tau=(0.03, 0.003), asc_amp=(-5e-12, 0.0), asc_r=(1.0, 1.0))  # fmt: skip
    amps = (0.8e-10, 0.9e-10, 0.95e-10, 1.05e-10, 1.2e-10)
    sweeps = _squares(truth, amps, None) + _squares(truth, amps, 0.3)
    data = data_counts(sweeps)
    assert (data[5:] > data[:5]).sum() >= 2  # the series fires more: facilitation
    start = replace(truth, a_voltage=0.0)
    fitted = calibrate_voltage_threshold(start, sweeps, per_round=150)
    loss_start = count_loss(model_counts([start], sweeps)[0], data)
    loss_fitted = count_loss(model_counts([fitted], sweeps)[0], data)
    assert fitted.a_voltage < 0 and fitted.b_voltage < 3.0
    assert loss_fitted < 0.3 * loss_start
    # never worse than its start; only level 5 has the threshold
    assert calibrate_voltage_threshold(truth, sweeps, per_round=50, rounds=1) is not None
    with pytest.raises(ValueError, match="no voltage-dependent threshold"):
        calibrate_voltage_threshold(replace(start, level=3), sweeps)
