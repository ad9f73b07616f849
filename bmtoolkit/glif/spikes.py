"""Spike detection, the spike-cut length, and the sweep seen by the fitting steps.

A GLIF model does not describe the action potential itself: it cuts ``spike_cut_length``
samples after each spike, during which the voltage, the threshold and the after-spike
currents are held, and then restarts from the reset voltage. The fitting steps therefore see
a sweep as a sequence of *transitions* ``n -> n + 1``:

- a **spike transition** ends on the spike sample ``s`` (``n = s - 1``): the voltage crossed
  the threshold during it;
- the ``spike_cut_length`` transitions after it are **cut** (``n = s .. s + L - 1``);
- every other transition is **free**: the linear subthreshold dynamics hold across it, and
  after it the voltage was below threshold.

:func:`prepare` turns a sweep, its spike samples and ``L`` into a :class:`Transitions`
record (free and spike transitions only, in time order), which the regression and threshold
steps share.

Two detection rules are registered in :data:`SPIKE_DETECTORS`: ``"upstroke"`` (an action
potential: dV/dt rises above 20 V/s, the Allen criterion) and ``"reset"`` (a recording of a
reset model, e.g. NEST ``glif_psc``: the voltage jumps down in one sample). ``"auto"`` picks
the one that finds spikes. Two rules for the cut length are in :data:`SPIKE_CUT_RULES`:
``"flat"`` (the voltage is held after the reset) and ``"trough"`` (from the upstroke to the
after-hyperpolarisation minimum).

Examples
--------
>>> import numpy as np
>>> v = np.r_[np.linspace(-0.07, -0.05, 10), np.full(5, -0.06), np.linspace(-0.059, -0.055, 5)]
>>> detect_spikes(v, 1e-4, method="reset")
array([10])
>>> spike_cut_length(v, np.array([10]), 1e-4, rule="flat")
4
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.sweeps import Sweep
from bmtoolkit.registry import Registry

SPIKE_DETECTORS: Registry[Callable[..., np.ndarray]] = Registry("spike detection method")
SPIKE_CUT_RULES: Registry[Callable[..., int]] = Registry("spike-cut rule")


@SPIKE_DETECTORS.register("upstroke")
def detect_upstrokes(v: np.ndarray, dt: float, *, dvdt: float = 20.0, refractory: float = 0.002,
                     min_peak: float | None = None) -> np.ndarray:  # fmt: skip
    """Samples where dV/dt first exceeds ``dvdt`` (V/s), at least ``refractory`` s apart.

    The returned sample is the first one of the upstroke (the voltage before it is the
    threshold the GLIF model should learn). With ``min_peak`` (V) an upstroke counts only
    if the voltage then reaches ``min_peak`` before the next upstroke: the spikes a network
    simulator counts by a somatic threshold crossing (bionet's ``spike_threshold``), without
    the spikelets that do not reach it.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.full(200, -0.07); v[50:53] = [-0.05, -0.03, -0.05]  # a spikelet
    >>> v[120:123] = [-0.03, 0.02, -0.05]                          # a spike
    >>> detect_upstrokes(v, 1e-4), detect_upstrokes(v, 1e-4, min_peak=-0.015)
    (array([ 50, 120]), array([120]))
    """
    rate = np.diff(v) / dt
    above = rate > dvdt
    onsets = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    if above.size and above[0]:
        onsets = np.r_[0, onsets]
    if min_peak is not None and onsets.size:
        ends = np.r_[onsets[1:], v.size - 1] + 1
        peaks = np.array([v[a:b].max() for a, b in zip(onsets, ends, strict=True)])
        onsets = onsets[peaks >= min_peak]
    keep: list[int] = []
    for s in onsets:
        if not keep or (s - keep[-1]) * dt >= refractory:
            keep.append(int(s))
    return np.asarray(keep, dtype=int) + 1


@SPIKE_DETECTORS.register("reset")
def detect_resets(v: np.ndarray, dt: float, *, jump: float = 0.002) -> np.ndarray:
    """Samples where the voltage drops by more than ``jump`` (V) in one sample (a reset)."""
    return np.flatnonzero(np.diff(v) < -jump).astype(int) + 1


def detect_spikes(v: np.ndarray, dt: float, *, method: str = "auto", **options) -> np.ndarray:
    """Spike samples of a voltage trace (V, sampled every ``dt`` s).

    Parameters
    ----------
    v : ndarray
        Membrane potential (V).
    dt : float
        Sample interval (s).
    method : str
        ``"upstroke"``, ``"reset"`` or ``"auto"`` (upstrokes when there are any, else resets).
    **options
        Passed to the detector (``dvdt``, ``jump``).

    Returns
    -------
    ndarray of int
        For ``"upstroke"`` the first sample of each action potential; for ``"reset"`` the
        first sample after the reset.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.full(100, -0.07); v[40:43] = [-0.04, 0.02, -0.03]
    >>> detect_spikes(v, 1e-4)
    array([40])
    """
    v = np.asarray(v, dtype=float)
    if method == "auto":
        up = detect_upstrokes(v, dt)
        return up if up.size else detect_resets(v, dt)
    return SPIKE_DETECTORS.get(method)(v, dt, **options)


def sweep_spikes(sweep: Sweep, *, method: str = "auto") -> np.ndarray:
    """Spike samples of a sweep: its own ``spike_times`` when given, else detected."""
    if sweep.spike_times is not None:
        idx = np.round(sweep.spike_times / sweep.dt).astype(int)
        return idx[(idx > 0) & (idx < sweep.n_samples)]
    return detect_spikes(sweep.voltage, sweep.dt, method=method)


@SPIKE_CUT_RULES.register("flat")
def _cut_flat(v: np.ndarray, spikes: np.ndarray, dt: float, *, rtol: float = 1e-9) -> int:
    """Median number of samples the voltage stays at its reset value, minus one."""
    lengths = []
    for s in spikes:
        held = np.isclose(v[s:], v[s], rtol=0.0, atol=abs(v[s]) * rtol + 1e-12)
        run = int(np.argmin(held)) if not held.all() else held.size
        if s + run < v.size:  # the hold ended inside the sweep
            lengths.append(run - 1)
    return int(np.median(lengths)) if lengths else 0


@SPIKE_CUT_RULES.register("trough")
def _cut_trough(v: np.ndarray, spikes: np.ndarray, dt: float, *, window: float = 0.01) -> int:
    """Median number of samples from the upstroke to the after-spike minimum within ``window`` s."""
    w = max(1, int(round(window / dt)))
    lengths = []
    for k, s in enumerate(spikes):
        stop = min(v.size, s + w, spikes[k + 1] if k + 1 < spikes.size else v.size)
        if stop - s > 1:
            lengths.append(int(np.argmin(v[s:stop])))
    return int(np.median(lengths)) if lengths else 0


def spike_cut_length(v: np.ndarray, spikes: np.ndarray, dt: float, *, rule: str = "auto") -> int:
    """Samples cut after each spike (``spike_cut_length`` of the Allen ``neuron_config``).

    ``"flat"`` counts how long the voltage is held after a reset; ``"trough"`` measures from
    the upstroke to the after-hyperpolarisation minimum; ``"auto"`` uses ``"flat"`` when the
    sample after the first spike repeats it exactly.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.full(60, -0.07); v[10:14] = [0.02, -0.02, -0.075, -0.072]
    >>> spike_cut_length(v, np.array([10]), 1e-4, rule="trough")
    2
    """
    v = np.asarray(v, dtype=float)
    spikes = np.asarray(spikes, dtype=int)
    if spikes.size == 0:
        return 0
    if rule == "auto":
        s = spikes[0]
        rule = "flat" if s + 1 < v.size and v[s + 1] == v[s] else "trough"
    return SPIKE_CUT_RULES.get(rule)(v, spikes, dt)


@dataclass(frozen=True)
class Transitions:
    """The free and spike transitions of a sweep, in time order (see the module docstring).

    Attributes
    ----------
    v0, v1 : ndarray
        Voltage before and after each transition (V); ``v1`` of a spike transition is the
        recorded sample after it (the reset or the upstroke), not a crossing value.
    current : ndarray
        Injected current during the transition (A).
    spike : ndarray of bool
        Whether the transition ends in a spike.
    index : ndarray of int
        Sample ``n`` each transition starts from.
    spikes : ndarray of int
        The spike samples of the sweep.
    v_post : ndarray
        For each spike, the voltage at the end of the cut (V); NaN if the sweep ends inside
        the cut.
    cut : int
        The spike-cut length (samples).
    n_samples : int
        Length of the sweep.
    dt : float
        Sample interval (s).
    """

    v0: np.ndarray
    v1: np.ndarray
    current: np.ndarray
    spike: np.ndarray
    index: np.ndarray
    spikes: np.ndarray
    v_post: np.ndarray
    cut: int
    n_samples: int
    dt: float

    def events(self, delay: int = 0) -> np.ndarray:
        """An impulse train over the sample axis: 1 at ``spike + cut + delay`` of each spike."""
        out = np.zeros(self.n_samples)
        at = self.spikes + self.cut + delay
        np.add.at(out, at[at < self.n_samples], 1.0)
        return out

    @property
    def n_spikes(self) -> int:
        """Number of spike transitions."""
        return int(self.spike.sum())


def prepare(sweep: Sweep, spikes: np.ndarray, cut: int) -> Transitions:
    """The :class:`Transitions` of ``sweep`` given its spike samples and the cut length.

    Examples
    --------
    >>> import numpy as np
    >>> sw = Sweep(np.zeros(8), np.array([0, 1, 2, 9, 9, 9, 5, 6.]) * 1e-3, 1e-4)
    >>> tr = prepare(sw, np.array([3]), 2)
    >>> tr.v0 * 1e3, tr.spike, tr.v_post * 1e3
    (array([0., 1., 2., 9., 5.]), array([False, False,  True, False, False]), array([9.]))
    """
    n = sweep.n_samples
    spikes = np.asarray(spikes, dtype=int)
    if cut < 0:
        raise ConfigError(f"spike_cut_length must be >= 0, got {cut}", path=sweep.name or None)
    kind = np.zeros(n - 1, dtype=np.int8)  # 0 free, 1 spike, 2 cut
    for s in spikes:
        if 1 <= s < n:
            kind[s : min(n - 1, s + cut)] = 2
    for s in spikes:
        if 1 <= s < n:
            kind[s - 1] = 1
    keep = np.flatnonzero(kind != 2)
    v = sweep.voltage
    spikes = spikes[(spikes >= 1) & (spikes < n)]
    post_idx = spikes + cut
    v_post = np.where(post_idx < n, v[np.minimum(post_idx, n - 1)], np.nan)
    return Transitions(
        v0=v[keep],
        v1=v[keep + 1],
        current=sweep.stimulus[keep],
        spike=kind[keep] == 1,
        index=keep,
        spikes=spikes,
        v_post=v_post,
        cut=int(cut),
        n_samples=n,
        dt=sweep.dt,
    )
