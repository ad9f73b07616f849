"""Calibrations (threshold, f-I curve) and the protocol's sampling and spike counting."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError, SimulationError, UnknownModelError
from bmtoolkit.glif import GlifParameters, Sweep, fit_glif, make_stimulus, simulate
from bmtoolkit.glif.calibrate import (
    CALIBRATIONS,
    calibrate_f_i,
    calibrate_threshold,
    count_loss,
    count_windows,
    data_counts,
)
from bmtoolkit.glif.protocol import DEFAULT_DT, CellProtocol, NeuronCellDriver, run_protocol
from bmtoolkit.glif.spikes import detect_upstrokes, sweep_spikes

DT = 1e-4
TRUTH = GlifParameters(level=4, El=-0.07, R=1.5e8, C=1.5e-10, th_inf=0.02,
                       spike_cut_length=25, dt=DT, reset_a=0.3, reset_b=0.008,
                       a_spike=0.002, b_spike=30.0, asc_amp=(-4e-11, -8e-11))  # fmt: skip


def _square(amp: float, params: GlifParameters = TRUTH) -> Sweep:
    i = make_stimulus("long_square", duration=0.7, dt=DT, amplitude=amp, delay=0.1, width=0.5)
    return Sweep(i, simulate(params, i).voltage, DT, kind="long_square", name=f"{amp:g}")


def _counts(params: GlifParameters, sweeps: list[Sweep]) -> list[int]:
    return [int(simulate(params, s.stimulus, dt=DT, v0=float(s.voltage[0])).spikes.size)
            for s in sweeps]  # fmt: skip


def test_f_i_calibration_recovers_the_time_constant_and_threshold():
    rheo = TRUTH.th_inf / TRUTH.R
    squares = [_square(k * rheo) for k in (0.8, 0.95, 1.05, 1.2, 1.5, 2.0)]
    data = [int(sweep_spikes(s).size) for s in squares]
    assert data[0] == 0 and data[-1] > data[2] > 0
    wrong = replace(TRUTH, C=TRUTH.C / 2.0, th_inf=TRUTH.th_inf * 0.8)
    fixed = calibrate_f_i(wrong, squares)
    assert _counts(fixed, squares) == data  # every square's count, not only the total
    # counts alone leave a trade-off between the two; the grid lands near the truth
    assert fixed.C == pytest.approx(TRUTH.C, rel=0.25)
    assert fixed.th_inf == pytest.approx(TRUTH.th_inf, rel=0.05)
    # the threshold alone matches the total, not the curve
    only_th = calibrate_threshold(wrong, squares)
    assert sum(_counts(only_th, squares)) == pytest.approx(sum(data), abs=1)
    assert count_loss(_counts(only_th, squares), data) > count_loss(_counts(fixed, squares), data)


def test_calibrations_are_registered_and_chosen_by_name():
    assert {"threshold", "f-i"} <= set(CALIBRATIONS.names())
    i = make_stimulus("noise", duration=1.0, dt=DT, amplitude=6e-11, offset=1.5e-10, seed=3)
    sub = make_stimulus("noise", duration=1.0, dt=DT, amplitude=3e-11, offset=5e-11, seed=4)
    sweeps = [Sweep(s, simulate(TRUTH, s).voltage, DT, kind="noise") for s in (sub, i)]
    sweeps += [_square(a) for a in (1.2e-10, 1.6e-10, 2.2e-10)]
    fit = fit_glif(sweeps, 1, calibrate="f-i")
    assert _counts(fit.params, sweeps[1:]) != [0, 0, 0, 0]
    with pytest.raises(UnknownModelError, match="f-i"):
        fit_glif(sweeps, 1, calibrate="nonsense")


def test_upstrokes_below_the_spike_threshold_are_not_spikes():
    v = np.full(400, -0.07)
    v[100:103] = [-0.05, -0.035, -0.05]  # spikelet, peak -35 mV
    v[200:203] = [-0.03, 0.02, -0.05]  # spike
    v[300:303] = [-0.03, -0.01, -0.05]  # spike, peak -10 mV
    assert detect_upstrokes(v, DT).tolist() == [100, 200, 300]
    assert detect_upstrokes(v, DT, min_peak=-0.015).tolist() == [200, 300]


class _GlifDriver:
    """A driver that 'records' a GLIF model, integrating at ``step`` s."""

    def __init__(self, params: GlifParameters, step: float) -> None:
        self.params, self.step, self.calls = params, step, []

    def __call__(self, stimulus: np.ndarray, dt: float) -> np.ndarray:
        self.calls.append(dt)
        v = simulate(self.params, stimulus, dt=dt).voltage
        v[simulate(self.params, stimulus, dt=dt).spikes] = 0.02  # a peak to cross
        return v


def test_protocol_samples_at_the_driver_step_and_counts_threshold_crossings():
    drive = _GlifDriver(TRUTH, DT)
    proto = CellProtocol(spike_threshold=-0.015, noise_offsets=(1.1,), square_amplitudes=(0.8, 1.5),
                         ramp_duration=1.5, square_gap=0.5, squares_from_rest=False)  # fmt: skip
    sweeps = run_protocol(drive, proto)
    assert set(drive.calls) == {DT}
    assert all(s.dt == DT and s.spike_times is not None for s in sweeps.train + sweeps.held_out)
    assert sweeps.rheobase == pytest.approx(TRUTH.th_inf / TRUTH.R, rel=0.05)
    # the squares in one series, one count window per square: silent below the rheobase
    (series,) = [s for s in sweeps.train if s.kind == "long_square"]
    assert series.name == "long_square_series"
    windows = count_windows(series)
    assert len(windows) == 2 and windows[1][0] - windows[0][0] == round(1.0 / DT)
    assert np.diff(series.stimulus[[windows[0][0], windows[1][0]]]) > 0
    counts = data_counts([series])
    assert counts[0] == 0 < counts[1]
    # or each square from rest in its own sweep (the default records both)
    apart = run_protocol(drive, replace(proto, square_gap=None, squares_from_rest=True))
    squares = [s for s in apart.train if s.kind == "long_square"]
    assert [s.name for s in squares] == ["long_square_0.8", "long_square_1.5"]
    assert data_counts(squares).tolist() == counts.tolist()  # a GLIF keeps no memory that long
    both = [s.name for s in run_protocol(drive, replace(proto, squares_from_rest=True)).train]
    assert both[-3:] == ["long_square_0.8", "long_square_1.5", "long_square_series"]
    with pytest.raises(ConfigError, match="no long squares"):
        run_protocol(drive, replace(proto, square_gap=None))
    # an explicit dt wins; drivers without a step get the default
    assert CellProtocol(dt=5e-5).sample_dt(drive) == 5e-5
    assert CellProtocol().sample_dt(lambda i, dt: i) == DEFAULT_DT


def test_neuron_driver_refuses_a_sample_interval_off_its_step():
    drive = NeuronCellDriver(None, None, nrn_dt=0.1)
    assert drive.step == 1e-4
    with pytest.raises(SimulationError, match="not a multiple"):
        drive(np.zeros(10), 5e-5)
