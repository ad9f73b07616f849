"""Calibration steps: adjust a fitted GLIF model so it fires as much as the cell.

The regression and likelihood steps fit the membrane around one operating point (fast
noise around half the rheobase) and the threshold to the spikes of noise. A cell's response
to slow, steady currents can differ from that (slow conductances, accommodation), and
near the rheobase the f-I curve of a leaky integrate-and-fire model is much steeper than
most cells'. The Allen fits therefore optimise scale factors of the fitted values
(``coeffs`` of the ``neuron_config``) against the recorded spikes. Three calibrations are
registered in :data:`CALIBRATIONS`:

- ``"threshold"`` (:func:`calibrate_threshold`): scale ``th_inf`` so the model's total spike
  count on the given sweeps matches the data's;
- ``"f-i"`` (:func:`calibrate_f_i`): choose the membrane time constant (``C`` scaled, ``R``
  kept, so the steady response to a current is unchanged) and ``th_inf`` together, on a
  grid of both, so that the spike count of **every** sweep (every square of a long-square
  series) is matched as closely as possible: on long squares from below to above the
  rheobase, this is the model's f-I curve fitted to the cell's, as a whole. The grid's
  models are simulated together (:mod:`bmtoolkit.glif.batch`);
- ``"adaptation"`` (:func:`calibrate_adaptation`): ``"f-i"``, then slow adaptation (a slow
  after-spike current at levels 3-5, the voltage-dependent threshold at level 5) fitted to
  the same counts, for cells whose response to a step depends on the steps before it.

All count spikes with :func:`~bmtoolkit.glif.spikes.sweep_spikes` (the sweeps' own
``spike_times`` when they carry them) and simulate the model's update rules
(:func:`~bmtoolkit.glif.simulate`).

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
>>> data_counts(squares).tolist(), model_counts([off, fixed], squares).tolist()
([0, 12, 19, 29], [[22, 35, 46, 61], [0, 12, 19, 30]])
>>> bool(1.5 < fixed.C / off.C < 2.5 and 0.0135 < fixed.th_inf < 0.0165)  # truth: 2, 0.015
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bmtoolkit.glif.parameters import GlifParameters, level_has
from bmtoolkit.glif.simulate import simulate
from bmtoolkit.glif.spikes import sweep_spikes
from bmtoolkit.glif.sweeps import Sweep
from bmtoolkit.registry import Registry

#: calibrations :func:`~bmtoolkit.glif.fit.fit_glif` can finish with (``calibrate=NAME``)
CALIBRATIONS: Registry[Callable[..., GlifParameters]] = Registry("calibration")

#: time-constant scale factors :func:`calibrate_f_i` tries
TAU_SCALES: tuple[float, ...] = tuple(float(2.0 ** (k / 2)) for k in range(-4, 5))


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


def count_losses(model: np.ndarray, data: np.ndarray) -> np.ndarray:
    """:func:`count_loss` of each row of ``model`` (candidates x windows) against ``data``."""
    model, data = np.asarray(model, float), np.asarray(data, float)
    return np.sum(((model - data) / (data + 1.0)) ** 2, axis=-1)


def count_loss(model: np.ndarray, data: np.ndarray) -> float:
    """Spike-count mismatch over sweeps: ``Σ ((model - data) / (data + 1))²``.

    The squared relative error of every count (a miss of 2 spikes weighs more on a sweep with
    3 than with 30, as a tolerance of 20 % on each count would), finite on sweeps without
    spikes (there any spike counts as a miss of at least 100 %).

    Examples
    --------
    >>> import numpy as np
    >>> count_loss(np.array([3, 10]), np.array([1, 10]))
    1.0
    """
    return float(count_losses(model, data))


def _groups(sweeps: Sequence[_Counted]) -> list[tuple[list[int], np.ndarray, list, list]]:
    """Sweeps batched for :func:`~bmtoolkit.glif.batch.batch_counts`: same number of count
    windows, similar lengths (the shorter ones padded with zeros after their last window).
    Each group: ``(sweep indices, stimuli, windows, initial voltages)``."""
    order = sorted(range(len(sweeps)),
                   key=lambda i: (len(sweeps[i].windows), sweeps[i].sweep.n_samples))  # fmt: skip
    groups: list[list[int]] = []
    for i in order:
        g = groups[-1] if groups else None
        first = sweeps[g[0]] if g else None
        if (first is None or len(first.windows) != len(sweeps[i].windows)
                or sweeps[i].sweep.n_samples > 1.25 * first.sweep.n_samples):  # fmt: skip
            groups.append([i])
        else:
            g.append(i)  # type: ignore[union-attr]
    out = []
    for g in groups:
        n = max(sweeps[i].sweep.n_samples for i in g)
        stim = np.zeros((len(g), n))
        for row, i in enumerate(g):
            stim[row, : sweeps[i].sweep.n_samples] = sweeps[i].sweep.stimulus
        out.append((g, stim, [list(sweeps[i].windows) for i in g],
                    [float(sweeps[i].sweep.voltage[0]) for i in g]))  # fmt: skip
    return out


def model_counts(candidates: Sequence[GlifParameters], sweeps: Sequence[Sweep]) -> np.ndarray:
    """Spike counts of each candidate model in every :func:`count_windows` window of
    ``sweeps`` (one row per candidate, windows in the order of :func:`data_counts`), all
    candidates simulated together (:func:`~bmtoolkit.glif.batch.batch_counts`; a single
    candidate by :func:`~bmtoolkit.glif.simulate.simulate`, the same counts).

    Examples
    --------
    >>> import numpy as np
    >>> from bmtoolkit.glif import GlifParameters, Sweep, make_stimulus
    >>> p = GlifParameters(level=1, El=-0.07, R=2e8, C=1e-10, th_inf=0.015,
    ...                    spike_cut_length=30, dt=1e-4)
    >>> i = make_stimulus("long_square", duration=0.6, dt=1e-4, amplitude=1.5e-10,
    ...                   delay=0.05, width=0.5)
    >>> sq = Sweep(i, np.full(i.size, -0.07), 1e-4, kind="long_square")
    >>> model_counts([p, replace(p, th_inf=0.03)], [sq]).tolist()
    [[29], [0]]
    """
    from bmtoolkit.glif.batch import batch_counts

    counted = [_active(s) for s in sweeps]
    dts = {s.dt for s in sweeps}
    if len(dts) != 1:
        raise ValueError("model_counts needs sweeps of one dt")
    if len(candidates) == 1:  # one model: simulate's sample loop beats a numpy op per step
        return _counts(candidates[0], counted)[None, :]
    offsets = np.cumsum([0] + [len(c.windows) for c in counted])
    out = np.zeros((len(candidates), int(offsets[-1])), dtype=int)
    dt = dts.pop()
    for idx, stim, windows, v0 in _groups(counted):
        counts = batch_counts(candidates, stim, dt, windows, v0=v0)
        for row, i in enumerate(idx):
            out[:, offsets[i] : offsets[i + 1]] = counts[:, row, :]
    return out


def _count_targets(sweeps: Sequence[Sweep], detect: str) -> tuple[np.ndarray, np.ndarray]:
    """The data counts of every count window, and which windows the calibrations compare
    (those before the f-I peak, :func:`past_f_i_peak`)."""
    data = data_counts(sweeps, detect=detect)
    return data, ~past_f_i_peak(sweeps, data)


def count_score(
    sweeps: Sequence[Sweep], *, detect: str = "auto"
) -> Callable[[GlifParameters], float]:
    """``score(params)``: minus the :func:`count_loss` of a model over every count window of
    ``sweeps`` (squares past the f-I peak left out, as in :func:`calibrate_f_i`); higher is
    better. :func:`~bmtoolkit.glif.convert.convert_to_point` selects among nested levels
    with it (``fit_levels(..., score=count_score(train))``).

    Examples
    --------
    >>> import numpy as np
    >>> from bmtoolkit.glif import GlifParameters, Sweep, make_stimulus, simulate
    >>> p = GlifParameters(level=1, El=-0.07, R=2e8, C=1e-10, th_inf=0.015,
    ...                    spike_cut_length=30, dt=1e-4)
    >>> i = make_stimulus("long_square", duration=0.6, dt=1e-4, amplitude=1.5e-10,
    ...                   delay=0.05, width=0.5)
    >>> score = count_score([Sweep(i, simulate(p, i).voltage, 1e-4, kind="long_square")])
    >>> score(p), round(score(replace(p, th_inf=0.03)), 2)  # 29 spikes missed
    (-0.0, -0.93)
    """
    data, used = _count_targets(sweeps, detect)

    def score(params: GlifParameters) -> float:
        return -count_loss(model_counts([params], sweeps)[0][used], data[used])

    return score


#: threshold scale factors :func:`calibrate_f_i` tries with every time-constant factor
TH_SCALES: tuple[float, ...] = tuple(float(2.0 ** (k / 8)) for k in range(-16, 9))


def _best(losses: np.ndarray, keys: Sequence[tuple[float, float]],
          center: tuple[float, float] = (1.0, 1.0)) -> int:  # fmt: skip
    """Index of the lowest loss; ties go to the factors closest to ``center`` (time
    constant first)."""
    low = losses.min()
    tied = [i for i in range(len(keys)) if losses[i] <= low + 1e-12]
    return min(tied, key=lambda i: (abs(np.log(keys[i][0] / center[0])),
                                    abs(np.log(keys[i][1] / center[1]))))  # fmt: skip


@CALIBRATIONS.register("f-i")
def calibrate_f_i(params: GlifParameters, sweeps: Sequence[Sweep], *,
                  tau_scales: Sequence[float] = TAU_SCALES,
                  th_scales: Sequence[float] = TH_SCALES, refine: bool = True,
                  detect: str = "auto") -> GlifParameters:  # fmt: skip
    """Choose the time constant and threshold that match the spike count of every sweep.

    Every pair of a capacitance (time-constant) factor of ``tau_scales`` (``R`` and ``El``
    kept, so the steady response to a current is unchanged) and a ``th_inf`` factor of
    ``th_scales`` is simulated on ``sweeps`` (all pairs at once,
    :func:`~bmtoolkit.glif.batch.batch_counts`), and the pair with the least
    :func:`count_loss` over every :func:`count_windows` window (each square of a long-square
    sweep or series, each other sweep whole) wins; with ``refine`` a grid four times finer
    around it follows (seven factors of each). Windows without spikes count too (long
    squares below the rheobase, where the model must stay silent); squares past the peak of
    the f-I curve (depolarisation block, :func:`past_f_i_peak`) do not. Give the suprathreshold sweeps and
    the long squares of the protocol (a series of squares carries the cell's adaptation from
    one square to the next: the model is fitted to that too).

    Parameters
    ----------
    params : GlifParameters
        The fitted model.
    sweeps : sequence of Sweep
        Training sweeps (one dt).
    tau_scales, th_scales : sequence of float
        Capacitance and threshold factors of the grid.
    refine : bool
        Search a finer grid around the best pair.
    detect : str
        Spike detection method for sweeps without ``spike_times``.
    """
    data, used = _count_targets(sweeps, detect)
    if data.sum() == 0:
        return params
    return _fit_f_i(params, sweeps, data, used, tau_scales, th_scales, refine)


def _fit_f_i(params: GlifParameters, sweeps: Sequence[Sweep], data: np.ndarray,
             used: np.ndarray, tau_scales: Sequence[float], th_scales: Sequence[float],
             refine: bool) -> GlifParameters:  # fmt: skip
    """The grid search of :func:`calibrate_f_i` against the counts ``data`` of the windows
    ``used``."""

    def search(keys: list[tuple[float, float]], center: tuple[float, float]) -> tuple[float, float]:
        cands = [replace(params, C=params.C * a, th_inf=params.th_inf * b) for a, b in keys]
        model = model_counts(cands, sweeps)
        losses = count_losses(model[:, used], data[used])
        return keys[_best(losses, keys, center)]

    ts, th = search([(float(a), float(b)) for a in tau_scales for b in th_scales], (1.0, 1.0))
    if refine:
        step_t = _grid_step(tau_scales) ** 0.25
        step_h = _grid_step(th_scales) ** 0.25
        ts, th = search([(ts * step_t**i, th * step_h**j)
                         for i in range(-3, 4) for j in range(-3, 4)], (ts, th))  # fmt: skip
    return replace(params, C=params.C * ts, th_inf=params.th_inf * th)


def _grid_step(scales: Sequence[float]) -> float:
    """The median ratio of neighbouring factors of a grid (1 for a single factor)."""
    s = np.sort(np.asarray(scales, float))
    return float(np.median(s[1:] / s[:-1])) if s.size > 1 else 1.0


#: range of the slow after-spike current's time constant (s) :func:`calibrate_adaptation` tries
SLOW_ASC_TAUS: tuple[float, float] = (0.2, 3.0)
#: range of its amplitude, as a fraction of the threshold current ``th_inf / R`` (negative:
#: adapting)
SLOW_ASC_AMPS: tuple[float, float] = (-0.3, 0.0)
#: ranges of the voltage-dependent threshold's ``a_voltage / b_voltage`` and ``b_voltage`` (1/s)
VOLTAGE_RATIOS: tuple[float, float] = (-2.0, 1.0)
VOLTAGE_RATES: tuple[float, float] = (0.1, 20.0)


def _adaptation_model(start: GlifParameters, x: np.ndarray, has: dict[str, bool]) -> GlifParameters:
    """``start`` with the factors and slow mechanisms of one search point ``x`` (see
    :func:`calibrate_adaptation`)."""
    p = replace(start, C=start.C * float(np.exp(x[0])), th_inf=start.th_inf * float(np.exp(x[1])))
    k = 2
    if has["asc"]:
        amp = float(x[k]) * start.th_inf / start.R
        p = replace(p, asc_tau=(*start.asc_tau, float(np.exp(x[k + 1]))),
                    asc_amp=(*start.asc_amp, amp), asc_r=(*start.asc_r, 1.0))  # fmt: skip
        k += 2
    if has["voltage_threshold"]:
        rate = float(np.exp(x[k + 1]))
        p = replace(p, a_voltage=float(x[k]) * rate, b_voltage=rate)
    return p


@CALIBRATIONS.register("adaptation")
def calibrate_adaptation(params: GlifParameters, sweeps: Sequence[Sweep], *,
                         rounds: int = 3, first: int = 800, per_round: int = 500,
                         seed: int = 0, detect: str = "auto") -> GlifParameters:  # fmt: skip
    """:func:`calibrate_f_i`, then slow adaptation fitted to the spike counts as well.

    A cell's response to a current step depends on the steps before it when it has
    conductances slower than a square (adaptation that lasts seconds, or slow inactivation
    that makes it more excitable). Levels with after-spike currents (3-5) get one more,
    slow after-spike current (time constant within :data:`SLOW_ASC_TAUS`, amplitude a
    fraction :data:`SLOW_ASC_AMPS` of the threshold current); level 5 also has its
    voltage-dependent threshold (``a_voltage``, ``b_voltage``) chosen here, so that a slow
    ``b_voltage`` can carry a depolarisation's effect from one step to the next. Together
    with the time-constant and threshold factors these are found by a seeded random search
    (``first`` points in the whole range, then ``rounds - 1`` rounds of ``per_round``
    points around the 30 best so far, each round narrower) minimising :func:`count_loss`
    over every count window, as :func:`calibrate_f_i` does; the result of
    :func:`calibrate_f_i` is kept when nothing found beats it, so the loss is never worse
    than its. Give the long squares both from rest and as a series (``CellProtocol``
    records both): the difference between the two is what the slow mechanisms are fitted
    to. Levels 1 and 2 have none of them and get :func:`calibrate_f_i`.
    """
    data, used = _count_targets(sweeps, detect)
    if data.sum() == 0:
        return params
    start = _fit_f_i(params, sweeps, data, used, TAU_SCALES, TH_SCALES, True)
    has = level_has(params.level)
    if not (has["asc"] or has["voltage_threshold"]):
        return start
    lo = [-np.log(2.0), -np.log(1.5)]
    hi = [np.log(2.0), np.log(1.5)]
    origin = [0.0, 0.0]
    if has["asc"]:
        lo += [SLOW_ASC_AMPS[0], np.log(SLOW_ASC_TAUS[0])]
        hi += [SLOW_ASC_AMPS[1], np.log(SLOW_ASC_TAUS[1])]
        origin += [0.0, np.log(SLOW_ASC_TAUS[0])]
    if has["voltage_threshold"]:
        lo += [VOLTAGE_RATIOS[0], np.log(VOLTAGE_RATES[0])]
        hi += [VOLTAGE_RATIOS[1], np.log(VOLTAGE_RATES[1])]
        # the fitted voltage threshold, or none, as a starting point
        ratio = start.a_voltage / start.b_voltage if start.b_voltage > 0 else 0.0
        rate = start.b_voltage if start.b_voltage > 0 else 1.0
        origin += [
            float(np.clip(ratio, *VOLTAGE_RATIOS)),
            float(np.log(np.clip(rate, *VOLTAGE_RATES))),
        ]
    lo_a, hi_a = np.asarray(lo), np.asarray(hi)
    rng = np.random.default_rng(seed)
    points = np.vstack([origin, rng.uniform(lo_a, hi_a, (first, lo_a.size))])
    seen_x: list[np.ndarray] = []
    seen_loss: list[np.ndarray] = []
    for r in range(max(1, rounds)):
        model = model_counts([_adaptation_model(start, x, has) for x in points], sweeps)
        seen_x.append(points)
        seen_loss.append(count_losses(model[:, used], data[used]))
        xs, losses = np.vstack(seen_x), np.concatenate(seen_loss)
        top = xs[np.argsort(losses, kind="stable")[:30]]
        width = (hi_a - lo_a) * 0.15 / (r + 1)
        points = np.clip(top[rng.integers(0, len(top), per_round)]
                         + rng.normal(0.0, 1.0, (per_round, lo_a.size)) * width, lo_a, hi_a)  # fmt: skip
    xs, losses = np.vstack(seen_x), np.concatenate(seen_loss)
    best = _adaptation_model(start, xs[int(np.argmin(losses))], has)
    # the f-I result itself (its voltage threshold may lie outside the searched ranges)
    own = count_losses(model_counts([start], sweeps)[0][used], data[used])
    return start if own <= losses.min() else best
