"""Training sweeps cut into overlapping windows that torchnet simulates in one batch.

Back-propagating through a whole sweep means one sequential step per sample (40,000 for 2 s
at 50 us). The sweeps are therefore cut into windows of ``window`` seconds that run side by
side in the batch dimension; window ``w`` starts ``w * (window - warmup)`` into its sweep,
so its first ``warmup`` seconds overlap the previous window and are simulated but not
scored, and every sample is scored exactly once.

A window starts from the recorded state, not from rest:

- the voltage is the recorded one at the start sample;
- if the start falls inside the spike cut of a recorded spike, the model starts refractory
  for the rest of the cut, holding the voltage recorded at its end (what a GLIF model does
  after a spike);
- the spike-induced threshold and the after-spike currents are the sums of the
  contributions of the recorded spikes before the start, each decaying from the end of its
  cut (:attr:`Windows.lags`); this is exact for reset factors ``asc_r`` of 1 and the data's
  spike times;
- the voltage-dependent threshold starts at the value the recorded voltage and current
  imply under the current parameters (:func:`theta_voltage_trace`, recomputed at every
  step without a gradient); the warm-up absorbs what remains.

Times are in ms, voltages in mV and currents in pA (torchnet's units).

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.glif import Sweep
>>> sw = Sweep(np.zeros(1000), np.full(1000, -0.07), 1e-4)
>>> win = make_windows([sw], [np.array([300])], cut=20, window=0.04, warmup=0.01,
...                    bin_size=0.001)
>>> win.n_windows, win.length, int(win.refractory[1]), win.lags[2].round(1).tolist()
(3, 400, 20, [28.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.parameters import GlifParameters, level_has
from bmtoolkit.glif.simulate import asc_step_average, theta_voltage_coefficients
from bmtoolkit.glif.sweeps import Sweep
from bmtoolkit.models.allen_glif import A_TO_PA, S_TO_MS, V_TO_MV


@dataclass(frozen=True)
class Windows:
    """A batch of windows (``B`` windows of ``L`` steps; ``K`` spike lags at most).

    Attributes
    ----------
    stimulus : ndarray
        ``(L + 1, B)`` injected current (pA): row ``k`` drives step ``k``.
    voltage : ndarray
        ``(L, B)`` recorded voltage (mV) after each step.
    free : ndarray of bool
        ``(L, B)`` scored samples outside the recorded spikes' cuts (voltage term).
    data_spikes : ndarray
        ``(L, B)`` 1 at the recorded spike samples, else 0.
    scored_bins : ndarray of bool
        ``(B, L // bin_samples)`` bins of the spike-train term.
    data_counts : ndarray
        ``(B, L // bin_samples)`` recorded spikes per bin.
    v_start : ndarray
        ``(B,)`` recorded voltage (mV) the window starts from.
    refractory : ndarray
        ``(B,)`` steps of spike cut left at the start.
    lags : ndarray
        ``(B, K)`` time (ms) since the end of the cut of each earlier recorded spike
        (``inf`` pads).
    bin_samples : int
        Samples per bin.
    dt : float
        Step (ms).
    sweep_index : ndarray of int
        ``(B,)`` sweep each window comes from.
    start_sample : ndarray of int
        ``(B,)`` sample of its sweep whose recorded state the window starts from.
    """

    stimulus: np.ndarray
    voltage: np.ndarray
    free: np.ndarray
    data_spikes: np.ndarray
    scored_bins: np.ndarray
    data_counts: np.ndarray
    v_start: np.ndarray
    refractory: np.ndarray
    lags: np.ndarray
    bin_samples: int
    dt: float
    sweep_index: np.ndarray
    start_sample: np.ndarray

    @property
    def n_windows(self) -> int:
        """Number of windows ``B``."""
        return int(self.v_start.size)

    @property
    def length(self) -> int:
        """Steps per window ``L``."""
        return int(self.voltage.shape[0])

    def select(self, index: np.ndarray) -> Windows:
        """The windows ``index`` (a sub-batch)."""
        idx = np.asarray(index, dtype=int)
        return Windows(
            stimulus=self.stimulus[:, idx], voltage=self.voltage[:, idx],
            free=self.free[:, idx], data_spikes=self.data_spikes[:, idx],
            scored_bins=self.scored_bins[idx],
            data_counts=self.data_counts[idx], v_start=self.v_start[idx],
            refractory=self.refractory[idx], lags=self.lags[idx],
            bin_samples=self.bin_samples, dt=self.dt, sweep_index=self.sweep_index[idx],
            start_sample=self.start_sample[idx],
        )  # fmt: skip


def cut_mask(n: int, spikes: np.ndarray, cut: int) -> np.ndarray:
    """Samples inside a spike cut: ``spike <= n < spike + cut`` for some spike.

    Examples
    --------
    >>> cut_mask(8, np.array([2]), 3).astype(int).tolist()
    [0, 0, 1, 1, 1, 0, 0, 0]
    """
    out = np.zeros(n, dtype=bool)
    for s in np.asarray(spikes, dtype=int):
        out[max(0, s) : min(n, s + cut)] = True
    return out


def make_windows(sweeps: Sequence[Sweep], spikes: Sequence[np.ndarray], *, cut: int,
                 window: float, warmup: float, bin_size: float) -> Windows:  # fmt: skip
    """Cut ``sweeps`` (with their spike samples) into :class:`Windows`.

    Parameters
    ----------
    sweeps : sequence of Sweep
        Sweeps at one ``dt``.
    spikes : sequence of ndarray
        Spike samples of each sweep.
    cut : int
        Spike-cut length (samples).
    window, warmup, bin_size : float
        Window length, unscored start of every window but a sweep's first, PSTH bin (s).
    """
    dt = sweeps[0].dt
    nb = max(1, int(round(bin_size / dt)))
    length = int(np.ceil(window / dt / nb)) * nb
    warm = int(round(warmup / dt / nb)) * nb
    stride = length - warm
    if stride < nb:
        raise ConfigError(f"window ({window} s) must exceed warmup ({warmup} s) by one bin",
                          field="GradientOptions.window")  # fmt: skip
    rows: list[dict] = []
    for k, (sw, sp) in enumerate(zip(sweeps, spikes, strict=True)):
        sp = np.asarray(sp, dtype=int)
        n = sw.n_samples
        in_cut = cut_mask(n, sp, cut)
        starts = range(0, n - 1, stride)
        for w, a in enumerate(starts):
            first = 0 if w == 0 else warm
            if a + first + 1 > n - 1:
                break
            rows.append(_window(sw, sp, in_cut, a, first, length, cut, nb, k))
    if not rows:
        raise ConfigError("the training sweeps are too short to make a window",
                          field="sweeps")  # fmt: skip
    k_max = max(1, max(r["lags"].size for r in rows))
    lags = np.full((len(rows), k_max), np.inf)
    for i, r in enumerate(rows):
        lags[i, : r["lags"].size] = r["lags"]
    return Windows(
        stimulus=np.stack([r["stimulus"] for r in rows], axis=1),
        voltage=np.stack([r["voltage"] for r in rows], axis=1),
        free=np.stack([r["free"] for r in rows], axis=1),
        data_spikes=np.stack([r["spikes"] for r in rows], axis=1),
        scored_bins=np.stack([r["scored_bins"] for r in rows]),
        data_counts=np.stack([r["counts"] for r in rows]),
        v_start=np.array([r["v_start"] for r in rows]),
        refractory=np.array([r["refractory"] for r in rows], dtype=float),
        lags=lags, bin_samples=nb, dt=dt * S_TO_MS,
        sweep_index=np.array([r["sweep"] for r in rows], dtype=int),
        start_sample=np.array([r["start"] for r in rows], dtype=int),
    )  # fmt: skip


def _window(sw: Sweep, sp: np.ndarray, in_cut: np.ndarray, a: int, first: int, length: int,
            cut: int, nb: int, sweep: int) -> dict:  # fmt: skip
    """One window starting at sample ``a``, scored from output position ``first``."""
    n = sw.n_samples
    stim = np.zeros(length + 1)
    m = min(length + 1, n - a)
    stim[:m] = sw.stimulus[a : a + m] * A_TO_PA
    volt = np.zeros(length)
    valid = np.zeros(length, dtype=bool)
    k = min(length, n - 1 - a)  # output positions p <-> samples a + 1 + p
    volt[:k] = sw.voltage[a + 1 : a + 1 + k] * V_TO_MV
    valid[:k] = True
    scored = valid.copy()
    scored[:first] = False
    free = scored.copy()
    free[:k] &= ~in_cut[a + 1 : a + 1 + k]
    pos = sp - a - 1
    pos = pos[(pos >= 0) & (pos < length)]
    counts = np.bincount(pos // nb, minlength=length // nb).astype(float)
    at = np.zeros(length)
    at[pos] = 1.0
    scored_bins = scored.reshape(-1, nb).any(axis=1)
    # state at the start: inside the cut of an earlier spike, refractory until its end
    current = sp[(sp <= a) & (sp + cut > a)]
    t_eff = int(current[-1] + cut) if current.size else a
    before = sp[sp + cut <= t_eff]
    return {
        "stimulus": stim, "voltage": volt, "free": free, "spikes": at, "scored_bins": scored_bins,
        "counts": counts, "v_start": sw.voltage[min(t_eff, n - 1)] * V_TO_MV,
        "refractory": t_eff - a, "lags": (t_eff - before - cut) * sw.dt * S_TO_MS,
        "sweep": sweep, "start": t_eff,
    }  # fmt: skip


def theta_voltage_trace(sweep: Sweep, spikes: np.ndarray, cut: int,
                        params: GlifParameters) -> np.ndarray:  # fmt: skip
    """Voltage-dependent threshold (V) at every sample implied by the recorded voltage.

    The exact step of :func:`~bmtoolkit.glif.simulate.theta_voltage_coefficients` applied to
    the recorded voltage and the injected plus after-spike current (from the recorded
    spikes, reset factors 1), held during spike cuts, as the model would have it had it
    followed the recording.

    Examples
    --------
    >>> import numpy as np
    >>> from bmtoolkit.glif import GlifParameters, Sweep
    >>> p = GlifParameters(level=5, El=-0.07, R=1e8, C=1e-10, th_inf=0.02,
    ...                    spike_cut_length=10, dt=1e-4, a_voltage=10.0, b_voltage=50.0)
    >>> sw = Sweep(np.full(2000, 1e-10), np.full(2000, -0.06), 1e-4)  # at rest 10 mV above El
    >>> round(float(theta_voltage_trace(sw, np.array([], int), 10, p)[-1]) * 1e3, 3)  # a u / b
    2.0
    """
    n = sweep.n_samples
    dt = sweep.dt
    decay, c_u, c_i = theta_voltage_coefficients(params.a_voltage, params.b_voltage, params.R,
                                                 params.C, dt)  # fmt: skip
    current = sweep.stimulus[:-1].copy()
    if level_has(params.level)["asc"]:
        events = np.zeros(n - 1)
        at = np.asarray(spikes, dtype=int) + cut
        np.add.at(events, at[at < n - 1], 1.0)
        taus = np.asarray(params.asc_tau, float)
        for amp, tau, avg in zip(params.asc_amp, taus, asc_step_average(taus, dt), strict=True):
            current += amp * avg * lfilter([1.0], [1.0, -np.exp(-dt / tau)], events)
    active = ~cut_mask(n, spikes, cut)[:-1]
    x = c_u * (sweep.voltage[:-1] - params.El) + c_i * current
    theta = np.zeros(n)
    theta[1:][active] = lfilter([1.0], [1.0, -decay], x[active])
    filled = np.where(np.r_[True, active], np.arange(n), 0)
    return theta[np.maximum.accumulate(filled)]
