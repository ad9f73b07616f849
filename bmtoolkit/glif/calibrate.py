"""Calibration steps: adjust a fitted GLIF model so it fires as much as the cell.

The regression and likelihood steps fit the membrane around one operating point (fast
noise around half the rheobase) and the threshold to the spikes of noise. A cell's response
to slow, steady currents can differ from that (slow conductances, accommodation), and
near the rheobase the f-I curve of a leaky integrate-and-fire model is much steeper than
most cells'. The Allen fits therefore optimise scale factors of the fitted values
(``coeffs`` of the ``neuron_config``) against the recorded spikes. Two calibrations are
registered in :data:`CALIBRATIONS`:

- ``"threshold"`` (:func:`calibrate_threshold`): scale ``th_inf`` so the model's total spike
  count on the given sweeps matches the data's;
- ``"f-i"`` (:func:`calibrate_f_i`): also choose the membrane time constant (``C`` scaled,
  ``R`` kept, so the steady response to a current is unchanged) from a grid, each time with
  ``th_inf`` scaled to match the total count, so that the spike count of **every** sweep
  (every square of a long-square series) is matched as closely as possible: on a long-square series from below to above the
  rheobase, this is the model's f-I curve fitted to the cell's, as a whole.

Both count spikes with :func:`~bmtoolkit.glif.spikes.sweep_spikes` (the sweeps' own
``spike_times`` when they carry them) and simulate with :func:`~bmtoolkit.glif.simulate`.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.glif import GlifParameters, Sweep, make_stimulus, simulate
>>> truth = GlifParameters(level=1, El=-0.07, R=2e8, C=1e-10, th_inf=0.015,
...                        spike_cut_length=30, dt=1e-4)
>>> squares = []
>>> for amp in (0.7e-10, 0.9e-10, 1.1e-10, 1.5e-10):
...     i = make_stimulus("long_square", duration=0.6, dt=1e-4, amplitude=amp, delay=0.05,
...                       width=0.5)
...     squares.append(Sweep(i, simulate(truth, i).voltage, 1e-4, kind="long_square"))
>>> off = GlifParameters(level=1, El=-0.07, R=2e8, C=0.5e-10, th_inf=0.012,
...                      spike_cut_length=30, dt=1e-4)
>>> fixed = calibrate_f_i(off, squares)
>>> round(fixed.C / off.C, 2), round(fixed.th_inf * 1e3)
(2.0, 15)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bmtoolkit.glif.parameters import GlifParameters
from bmtoolkit.glif.simulate import simulate
from bmtoolkit.glif.spikes import sweep_spikes
from bmtoolkit.glif.sweeps import Sweep
from bmtoolkit.registry import Registry

#: calibrations :func:`~bmtoolkit.glif.fit.fit_glif` can finish with (``calibrate=NAME``)
CALIBRATIONS: Registry[Callable[..., GlifParameters]] = Registry("calibration")

#: time-constant scale factors :func:`calibrate_f_i` tries
TAU_SCALES: tuple[float, ...] = (0.5, 0.71, 1.0, 1.41, 2.0, 2.83, 4.0)


def count_windows(sweep: Sweep, *, tail: float = 0.05) -> list[tuple[int, int]]:
    """Sample ranges whose spikes are counted separately: each current step of a long-square
    sweep (from its onset to ``tail`` s after it ends; a series of squares in one recording
    gives one window per square), the whole sweep for other kinds.

    Examples
    --------
    >>> import numpy as np
    >>> i = np.r_[np.zeros(10), np.ones(20), np.zeros(30), 2 * np.ones(20), np.zeros(20)]
    >>> count_windows(Sweep(i, np.zeros(100), 1e-3, kind="long_square"), tail=0.005)
    [(10, 35), (60, 85)]
    """
    n = sweep.n_samples
    if sweep.kind != "long_square":
        return [(0, n)]
    on = np.r_[False, sweep.stimulus != 0, False]
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    pad = int(round(tail / sweep.dt))
    return [(int(a), min(n, int(b) + pad)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


@dataclass(frozen=True)
class _Counted:
    """A sweep cut to where the model can fire, and its count windows (sample ranges)."""

    sweep: Sweep
    windows: tuple[tuple[int, int], ...]


def _active(sweep: Sweep) -> _Counted:
    """``sweep`` from its first count window to the end of its last (a model at rest without
    input stays silent), with the windows shifted to match."""
    windows = count_windows(sweep)
    if not windows:
        return _Counted(sweep, ((0, sweep.n_samples),))
    start, stop = windows[0][0], windows[-1][1]
    cut = Sweep(sweep.stimulus[start:stop], sweep.voltage[start:stop], sweep.dt,
                kind=sweep.kind, name=sweep.name)  # fmt: skip
    return _Counted(cut, tuple((a - start, b - start) for a, b in windows))


def _window_counts(spikes: np.ndarray, windows: Sequence[tuple[int, int]]) -> list[int]:
    return [int(((spikes >= a) & (spikes < b)).sum()) for a, b in windows]


def data_counts(sweeps: Sequence[Sweep], *, detect: str = "auto") -> np.ndarray:
    """Recorded spike counts of every :func:`count_windows` window of ``sweeps``, in order."""
    return np.array([c for s in sweeps
                     for c in _window_counts(sweep_spikes(s, method=detect), count_windows(s))],
                    dtype=int)  # fmt: skip


def past_f_i_peak(sweeps: Sequence[Sweep], counts: np.ndarray) -> np.ndarray:
    """Which :func:`count_windows` windows lie past the peak of the long-square f-I curve.

    A cell driven into depolarisation block fires fewer spikes on stronger squares; a GLIF
    model cannot, so :func:`calibrate_f_i` leaves the squares above the one with the most
    spikes that fire fewer than it out. ``counts`` are the data counts of every window.

    Examples
    --------
    >>> import numpy as np
    >>> sq = [Sweep(np.r_[np.zeros(5), np.full(10, a), np.zeros(5)], np.zeros(20), 1e-3,
    ...             kind="long_square") for a in (1.0, 2.0, 3.0)]
    >>> past_f_i_peak(sq, np.array([5, 20, 2])).tolist()
    [False, False, True]
    """
    amps, square = [], []
    for s in sweeps:
        for a, b in count_windows(s):
            amps.append(float(np.abs(s.stimulus[a:b]).max()))
            square.append(s.kind == "long_square")
    amps_a, square_a = np.asarray(amps), np.asarray(square, bool)
    counts = np.asarray(counts)
    out = np.zeros(counts.size, bool)
    if not square_a.any():
        return out
    top = int(counts[square_a].max())
    peak_amp = amps_a[square_a][counts[square_a] == top].min()
    out[square_a] = (amps_a[square_a] > peak_amp) & (counts[square_a] < top)
    return out


def _counts(params: GlifParameters, sweeps: Sequence[_Counted]) -> np.ndarray:
    out: list[int] = []
    for c in sweeps:
        s = c.sweep
        spikes = simulate(params, s.stimulus, dt=s.dt, v0=float(s.voltage[0])).spikes
        out.extend(_window_counts(spikes, c.windows))
    return np.array(out, dtype=int)


def _match_total(params: GlifParameters, sweeps: Sequence[_Counted], target: int,
                 bounds: tuple[float, float], iterations: int,
                 used: np.ndarray | None = None) -> tuple[GlifParameters, np.ndarray]:  # fmt: skip
    """``params`` with ``th_inf`` scaled (bisection on a log scale within ``bounds``) so the
    total count on ``sweeps`` is as close to ``target`` as the bisection gets; and its counts."""
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        counts = _counts(replace(params, th_inf=params.th_inf * float(np.exp(mid))), sweeps)
        if (counts if used is None else counts[used]).sum() > target:
            lo = mid
        else:
            hi = mid
    best = replace(params, th_inf=params.th_inf * float(np.exp(0.5 * (lo + hi))))
    return best, _counts(best, sweeps)


@CALIBRATIONS.register("threshold")
def calibrate_threshold(params: GlifParameters, sweeps: Sequence[Sweep], *,
                        bounds: tuple[float, float] = (0.05, 2.0), iterations: int = 14,
                        detect: str = "auto") -> GlifParameters:  # fmt: skip
    """Scale ``th_inf`` so the model fires as many spikes as the data on ``sweeps``.

    The Allen fits optimise ``coeffs.th_inf`` for the same purpose. The total spike count
    falls as the threshold rises, so a bisection of the scale factor within ``bounds`` (on a
    log scale, ``iterations`` steps) finds the match. Sweeps without spikes are ignored.
    """
    spiking = [s for s in sweeps if sweep_spikes(s, method=detect).size]
    target = sum(sweep_spikes(s, method=detect).size for s in spiking)
    if target == 0:
        return params
    return _match_total(params, [_active(s) for s in spiking], target, bounds, iterations)[0]


def count_loss(model: np.ndarray, data: np.ndarray) -> float:
    """Spike-count mismatch over sweeps: ``Σ (model - data)² / (data + 1)``.

    A relative measure (a miss of 2 spikes weighs more on a sweep with 3 than with 30) that
    stays finite on sweeps without spikes.

    Examples
    --------
    >>> import numpy as np
    >>> count_loss(np.array([3, 10]), np.array([1, 10]))
    2.0
    """
    model, data = np.asarray(model, float), np.asarray(data, float)
    return float(np.sum((model - data) ** 2 / (data + 1.0)))


@CALIBRATIONS.register("f-i")
def calibrate_f_i(params: GlifParameters, sweeps: Sequence[Sweep], *,
                  tau_scales: Sequence[float] = TAU_SCALES,
                  bounds: tuple[float, float] = (0.05, 2.0), iterations: int = 10,
                  detect: str = "auto") -> GlifParameters:  # fmt: skip
    """Choose the time constant and threshold that match the spike count of every sweep.

    For each factor of ``tau_scales`` the capacitance is scaled by it (``R`` and ``El``
    kept), ``th_inf`` is scaled so the total count matches (as in
    :func:`calibrate_threshold`), and the mismatch :func:`count_loss` over every
    :func:`count_windows` window (each square of a long-square sweep or series, each other
    sweep whole) is computed; the best factor wins (ties: the one closest to 1). Windows
    without spikes count too (long squares below the rheobase, where the model must stay
    silent); squares past the peak of the f-I curve (depolarisation block,
    :func:`past_f_i_peak`) do not. Give the suprathreshold sweeps and the long squares of
    the protocol.

    Parameters
    ----------
    params : GlifParameters
        The fitted model.
    sweeps : sequence of Sweep
        Training sweeps (one dt).
    tau_scales : sequence of float
        Capacitance (time-constant) factors tried.
    bounds, iterations : see :func:`calibrate_threshold`.
    detect : str
        Spike detection method for sweeps without ``spike_times``.
    """
    data = data_counts(sweeps, detect=detect)
    if data.sum() == 0:
        return params
    counted = [_active(s) for s in sweeps]
    used = ~past_f_i_peak(sweeps, data)
    best: tuple[float, float, GlifParameters] | None = None
    for scale in sorted(tau_scales, key=lambda x: abs(np.log(x))):
        trial, model = _match_total(replace(params, C=params.C * float(scale)), counted,
                                    int(data[used].sum()), bounds, iterations, used)  # fmt: skip
        loss = count_loss(model[used], data[used])
        if best is None or loss < best[0] - 1e-12:
            best = (loss, scale, trial)
    assert best is not None
    return best[2]
