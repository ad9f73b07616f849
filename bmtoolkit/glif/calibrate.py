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
  after-spike current at levels 3-5, the voltage-dependent threshold at level 5,
  :func:`calibrate_voltage_threshold`) fitted to the same counts, for cells whose response
  to a step depends on the steps before it.

Each count weighs as its sweep's :attr:`~bmtoolkit.glif.sweeps.Sweep.weight` says
(:func:`count_loss`).

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
                 bounds: tuple[float, float], iterations: int) -> GlifParameters:  # fmt: skip
    """``params`` with ``th_inf`` scaled (bisection on a log scale within ``bounds``) so the
    total count on ``sweeps`` is as close to ``target`` as the bisection gets."""
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        counts = _counts(replace(params, th_inf=params.th_inf * float(np.exp(mid))), sweeps)
        if counts.sum() > target:
            lo = mid
        else:
            hi = mid
    return replace(params, th_inf=params.th_inf * float(np.exp(0.5 * (lo + hi))))


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
    return _match_total(params, [_active(s) for s in spiking], target, bounds, iterations)


def count_losses(model: np.ndarray, data: np.ndarray,
                 weights: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """:func:`count_loss` of each row of ``model`` (candidates x windows) against ``data``."""
    model, data = np.asarray(model, float), np.asarray(data, float)
    err = ((model - data) / (data + 1.0)) ** 2
    return np.sum(err if weights is None else err * np.asarray(weights, float), axis=-1)


def count_loss(model: np.ndarray, data: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Spike-count mismatch over sweeps: ``Σ w ((model - data) / (data + 1))²``.

    The squared relative error of every count (a miss of 2 spikes weighs more on a sweep with
    3 than with 30, as a tolerance of 20 % on each count would), finite on sweeps without
    spikes (there any spike counts as a miss of at least 100 %); ``weights`` ``w`` (default
    1) are the :attr:`Sweep.weight` of each count's sweep.

    Examples
    --------
    >>> import numpy as np
    >>> count_loss(np.array([3, 10]), np.array([1, 10]))
    1.0
    """
    return float(count_losses(model, data, weights))


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


@dataclass(frozen=True)
class _Targets:
    """The data counts of every count window, which windows the calibrations compare (those
    before the f-I peak, :func:`past_f_i_peak`) and each window's weight (its sweep's)."""

    data: np.ndarray
    used: np.ndarray
    weights: np.ndarray

    def losses(self, model: np.ndarray) -> np.ndarray:
        """:func:`count_losses` of model counts (candidates x every window)."""
        u = self.used
        return count_losses(np.atleast_2d(model)[:, u], self.data[u], self.weights[u])


def _count_targets(sweeps: Sequence[Sweep], detect: str) -> _Targets:
    data = data_counts(sweeps, detect=detect)
    weights = np.array([s.weight for s in sweeps for _ in count_windows(s)], float)
    return _Targets(data, ~past_f_i_peak(sweeps, data), weights)


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
    targets = _count_targets(sweeps, detect)

    def score(params: GlifParameters) -> float:
        return -float(targets.losses(model_counts([params], sweeps))[0])

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
    targets = _count_targets(sweeps, detect)
    if targets.data.sum() == 0:
        return params
    return _fit_f_i(params, sweeps, targets, tau_scales, th_scales, refine)


def _fit_f_i(params: GlifParameters, sweeps: Sequence[Sweep], targets: _Targets,
             tau_scales: Sequence[float], th_scales: Sequence[float],
             refine: bool) -> GlifParameters:  # fmt: skip
    """The grid search of :func:`calibrate_f_i` against ``targets``."""

    def search(keys: list[tuple[float, float]], center: tuple[float, float]) -> tuple[float, float]:
        cands = [replace(params, C=params.C * a, th_inf=params.th_inf * b) for a, b in keys]
        losses = targets.losses(model_counts(cands, sweeps))
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
#: ranges of the voltage-dependent threshold's ``a_voltage / b_voltage`` (negative: the
#: threshold falls while the cell is depolarised) and ``b_voltage`` (1/s, how fast it
#: recovers) that :func:`calibrate_adaptation` searches at level 5
VOLTAGE_RATIOS: tuple[float, float] = (-3.0, 0.0)
VOLTAGE_RATES: tuple[float, float] = (0.03, 3.0)


def _with_slow_asc(start: GlifParameters, x: np.ndarray) -> GlifParameters:
    """``start`` with C and th_inf scaled by ``exp(x[0:2])`` and one more after-spike
    current, amplitude ``x[2]`` threshold currents, time constant ``exp(x[3])`` s."""
    amp = float(x[2]) * start.th_inf / start.R
    return replace(start, C=start.C * float(np.exp(x[0])),
                   th_inf=start.th_inf * float(np.exp(x[1])),
                   asc_tau=(*start.asc_tau, float(np.exp(x[3]))),
                   asc_amp=(*start.asc_amp, amp), asc_r=(*start.asc_r, 1.0))  # fmt: skip


def _with_voltage_threshold(start: GlifParameters, x: np.ndarray) -> GlifParameters:
    """``start`` with C and th_inf scaled by ``exp(x[0:2])``, ``a_voltage / b_voltage =
    x[2]`` and ``b_voltage = exp(x[3])``."""
    rate = float(np.exp(x[3]))
    return replace(start, C=start.C * float(np.exp(x[0])),
                   th_inf=start.th_inf * float(np.exp(x[1])),
                   a_voltage=float(x[2]) * rate, b_voltage=rate)  # fmt: skip


@dataclass(frozen=True)
class _Search:
    """A seeded search of :func:`calibrate_adaptation`: its first points (``first``, rows
    of x), box (``lo``, ``hi``) and the model of a point (``make``)."""

    make: Callable[[np.ndarray], GlifParameters]
    first: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def _search(search: _Search, sweeps: Sequence[Sweep], targets: _Targets,
            rng: np.random.Generator, rounds: int,
            per_round: int) -> tuple[GlifParameters, float]:  # fmt: skip
    """The best model of ``search`` and its loss: its first points, then ``rounds``
    rounds of ``per_round`` points scattered around the 30 best so far, each narrower."""
    xs_seen: list[np.ndarray] = []
    losses_seen: list[np.ndarray] = []
    points, span = search.first, search.hi - search.lo
    for r in range(rounds + 1):
        model = model_counts([search.make(x) for x in points], sweeps)
        xs_seen.append(points)
        losses_seen.append(targets.losses(model))
        if r == rounds:
            break
        xs, losses = np.vstack(xs_seen), np.concatenate(losses_seen)
        top = xs[np.argsort(losses, kind="stable")[:30]]
        jitter = rng.normal(0.0, 1.0, (per_round, span.size)) * span * 0.1 / (r + 1)
        points = np.clip(top[rng.integers(0, len(top), per_round)] + jitter, search.lo,
                         search.hi)  # fmt: skip
    xs, losses = np.vstack(xs_seen), np.concatenate(losses_seen)
    k = int(np.argmin(losses))
    return search.make(xs[k]), float(losses[k])


def _improve(start: GlifParameters, loss: float, search: _Search, sweeps: Sequence[Sweep],
             targets: _Targets, rng: np.random.Generator, rounds: int,
             per_round: int) -> tuple[GlifParameters, float]:  # fmt: skip
    """The best model of ``search`` and its loss if it beats ``start`` (loss ``loss``),
    else ``start`` and ``loss``."""
    found, found_loss = _search(search, sweeps, targets, rng, rounds, per_round)
    return (found, found_loss) if found_loss < loss else (start, loss)


#: factors of C and th_inf (log) the searches of :func:`calibrate_adaptation` stay within
_SCALE_BOX = (np.log([1 / 1.5, 1 / 1.2]), np.log([1.5, 1.2]))


def _slow_asc_search(start: GlifParameters, rng: np.random.Generator, first: int) -> _Search:
    lo = np.r_[_SCALE_BOX[0], SLOW_ASC_AMPS[0], np.log(SLOW_ASC_TAUS[0])]
    hi = np.r_[_SCALE_BOX[1], SLOW_ASC_AMPS[1], np.log(SLOW_ASC_TAUS[1])]
    points = np.vstack([np.r_[0.0, 0.0, 0.0, lo[3]], rng.uniform(lo, hi, (first, lo.size))])
    return _Search(lambda x: _with_slow_asc(start, x), points, lo, hi)


def _voltage_search(start: GlifParameters) -> _Search:
    """A grid of ``a_voltage / b_voltage`` (13), ``b_voltage`` (9) and th_inf (7 factors,
    0.97-1.15: a threshold that falls with depolarisation starts higher)."""
    lo = np.r_[_SCALE_BOX[0], VOLTAGE_RATIOS[0], np.log(VOLTAGE_RATES[0])]
    hi = np.r_[_SCALE_BOX[1], VOLTAGE_RATIOS[1], np.log(VOLTAGE_RATES[1])]
    grid = [np.r_[0.0, np.log(t), a, np.log(r)]
            for a in np.linspace(*VOLTAGE_RATIOS, 13)
            for r in np.geomspace(*VOLTAGE_RATES, 9)
            for t in np.geomspace(0.97, 1.15, 7)]  # fmt: skip
    return _Search(lambda x: _with_voltage_threshold(start, x), np.vstack(grid), lo, hi)


def calibrate_voltage_threshold(params: GlifParameters, sweeps: Sequence[Sweep], *,
                                rounds: int = 2, per_round: int = 300, seed: int = 0,
                                detect: str = "auto") -> GlifParameters:  # fmt: skip
    """Fit the voltage-dependent threshold of a level-5 model to the spike counts.

    ``a_voltage / b_voltage`` (:data:`VOLTAGE_RATIOS`), ``b_voltage``
    (:data:`VOLTAGE_RATES`) and ``th_inf`` (0.97-1.15 times) on a grid, then ``rounds``
    rounds of ``per_round`` random points around the 30 best (``C`` and ``th_inf`` free
    within 1.5x and 1.2x), minimising :func:`count_loss`; ``params`` is returned unchanged
    when nothing found beats it. Applied to a lower level written as level 5
    (:func:`~bmtoolkit.glif.nested.embed`), it adds to that model only a threshold that
    follows the voltage: a negative ``a_voltage`` with a slow ``b_voltage`` lowers the
    threshold during a depolarisation and keeps it low for seconds.
    """
    if not level_has(params.level)["voltage_threshold"]:
        raise ValueError(f"GLIF{params.level} has no voltage-dependent threshold")
    targets = _count_targets(sweeps, detect)
    own = float(targets.losses(model_counts([params], sweeps))[0])
    return _improve(params, own, _voltage_search(params), sweeps, targets,
                    np.random.default_rng(seed), rounds, per_round)[0]  # fmt: skip


@CALIBRATIONS.register("adaptation")
def calibrate_adaptation(params: GlifParameters, sweeps: Sequence[Sweep], *,
                         rounds: int = 3, first: int = 500, per_round: int = 300,
                         seed: int = 0, detect: str = "auto") -> GlifParameters:  # fmt: skip
    """:func:`calibrate_f_i`, then slow adaptation fitted to the spike counts as well.

    A cell's response to a current step depends on the steps before it when it has
    conductances slower than a square: adaptation that lasts seconds, or slow inactivation
    that leaves it more excitable after a depolarisation, even one without spikes. Two
    searches follow the f-I fit, each keeping its start when it finds nothing better, so
    the :func:`count_loss` over every count window never gets worse:

    1. levels with after-spike currents (3-5): one more, slow after-spike current (time
       constant within :data:`SLOW_ASC_TAUS`, amplitude a fraction :data:`SLOW_ASC_AMPS`
       of the threshold current) with the time-constant and threshold factors, by a seeded
       random search (``first`` points in the whole range, then ``rounds`` rounds of
       ``per_round`` points around the 30 best so far, each round narrower);
    2. level 5: the voltage-dependent threshold (``a_voltage``, ``b_voltage``) on top of
       that, from a grid (:data:`VOLTAGE_RATIOS` x :data:`VOLTAGE_RATES` x threshold
       factors) and the same rounds. A negative ``a_voltage`` with a slow ``b_voltage``
       lowers the threshold during a depolarisation and keeps it low for seconds, so a
       step can fire a cell that the same step from rest leaves silent.

    Give the long squares both from rest and as a series (``CellProtocol`` records both):
    the difference between the two is what the slow mechanisms are fitted to. Levels 1 and
    2 have none of them and get :func:`calibrate_f_i`.
    """
    targets = _count_targets(sweeps, detect)
    if targets.data.sum() == 0:
        return params
    best = _fit_f_i(params, sweeps, targets, TAU_SCALES, TH_SCALES, True)
    has = level_has(params.level)
    if not (has["asc"] or has["voltage_threshold"]):
        return best
    loss = float(targets.losses(model_counts([best], sweeps))[0])
    rng = np.random.default_rng(seed)
    searches: list[Callable[[GlifParameters], _Search]] = []
    if has["asc"]:
        searches.append(lambda start: _slow_asc_search(start, rng, first))
    if has["voltage_threshold"]:
        searches.append(_voltage_search)
    for make_search in searches:
        best, loss = _improve(best, loss, make_search(best), sweeps, targets, rng, rounds - 1,
                              per_round)  # fmt: skip
    return best
