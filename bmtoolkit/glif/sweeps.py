"""Current-clamp sweeps as arrays, and the Allen protocol stimuli that produce them.

A :class:`Sweep` holds the injected current (A), the membrane voltage (V) and the sample
interval (s), all in SI units as in the Allen Cell Types Database, plus the protocol kind.
:data:`STIMULI` registers one generator per Allen protocol kind (long square, short square,
ramp, noise); each returns the current array for a given duration and dt.

Examples
--------
>>> import numpy as np
>>> i = make_stimulus("long_square", duration=0.5, dt=5e-5, amplitude=1e-10, delay=0.1,
...                   width=0.3)
>>> sw = Sweep(stimulus=i, voltage=np.full(i.size, -0.07), dt=5e-5, kind="long_square")
>>> sw.n_samples, round(sw.duration, 3), float(i.max())
(10000, 0.5, 1e-10)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.registry import Registry

#: Allen protocol kinds a sweep may have ("other" for anything else)
SWEEP_KINDS: tuple[str, ...] = ("long_square", "short_square", "ramp", "noise", "other")


@dataclass(frozen=True)
class Sweep:
    """One current-clamp recording.

    Parameters
    ----------
    stimulus : ndarray
        Injected current (A), one value per sample; ``stimulus[n]`` drives the membrane from
        sample ``n`` to ``n + 1``.
    voltage : ndarray
        Membrane potential (V), same length.
    dt : float
        Sample interval (s).
    kind : str
        One of :data:`SWEEP_KINDS`.
    name : str
        A label (file and sweep number) used in reports and errors.
    spike_times : ndarray, optional
        Spike times (s) when the recording comes with them; otherwise they are detected.
    weight : float
        How much each spike count of this sweep weighs in the count-based calibrations
        (:func:`~bmtoolkit.glif.calibrate.count_loss`), default 1.
    """

    stimulus: np.ndarray
    voltage: np.ndarray
    dt: float
    kind: str = "other"
    name: str = ""
    spike_times: np.ndarray | None = field(default=None, compare=False)
    weight: float = 1.0

    def __post_init__(self) -> None:
        i = np.asarray(self.stimulus, dtype=float)
        v = np.asarray(self.voltage, dtype=float)
        where = self.name or "sweep"
        if i.ndim != 1 or v.ndim != 1 or i.shape != v.shape:
            raise ConfigError(
                f"stimulus and voltage must be 1-D arrays of equal length, got shapes "
                f"{i.shape} and {v.shape}",
                path=where,
                field="stimulus/voltage",
            )
        if not (np.isfinite(self.dt) and self.dt > 0):
            raise ConfigError(f"dt must be a positive number of seconds, got {self.dt}",
                              path=where, field="dt")  # fmt: skip
        if self.kind not in SWEEP_KINDS:
            raise ConfigError(f"unknown sweep kind {self.kind!r}; known: {', '.join(SWEEP_KINDS)}",
                              path=where, field="kind")  # fmt: skip
        if not (np.isfinite(self.weight) and self.weight >= 0):
            raise ConfigError(f"weight must be a number >= 0, got {self.weight}", path=where,
                              field="weight")  # fmt: skip
        if not (np.all(np.isfinite(i)) and np.all(np.isfinite(v))):
            raise ConfigError("stimulus and voltage must be finite", path=where,
                              field="stimulus/voltage")  # fmt: skip
        object.__setattr__(self, "stimulus", i)
        object.__setattr__(self, "voltage", v)
        object.__setattr__(self, "dt", float(self.dt))
        if self.spike_times is not None:
            object.__setattr__(self, "spike_times", np.asarray(self.spike_times, dtype=float))

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.voltage.size)

    @property
    def duration(self) -> float:
        """Length of the sweep (s)."""
        return self.n_samples * self.dt

    @property
    def times(self) -> np.ndarray:
        """Sample times (s), starting at 0."""
        return np.arange(self.n_samples) * self.dt


STIMULI: Registry[Callable[..., np.ndarray]] = Registry("sweep kind")


def _window(n: int, dt: float, delay: float, width: float) -> slice:
    start = int(round(delay / dt))
    return slice(start, min(n, start + int(round(width / dt))))


@STIMULI.register("long_square")
def long_square(n: int, dt: float, *, amplitude: float, delay: float = 0.1,
                width: float = 1.0) -> np.ndarray:  # fmt: skip
    """A current step of ``amplitude`` (A) from ``delay`` for ``width`` seconds (Allen: 1 s)."""
    out = np.zeros(n)
    out[_window(n, dt, delay, width)] = amplitude
    return out


@STIMULI.register("short_square")
def short_square(n: int, dt: float, *, amplitude: float, delay: float = 0.1,
                 width: float = 0.003) -> np.ndarray:  # fmt: skip
    """A 3 ms current pulse of ``amplitude`` (A) at ``delay`` (s)."""
    return long_square(n, dt, amplitude=amplitude, delay=delay, width=width)


@STIMULI.register("ramp")
def ramp(n: int, dt: float, *, slope: float, delay: float = 0.1,
         width: float | None = None) -> np.ndarray:  # fmt: skip
    """A current rising by ``slope`` (A/s) from ``delay`` to the end (or for ``width`` s)."""
    out = np.zeros(n)
    w = _window(n, dt, delay, (n * dt - delay) if width is None else width)
    out[w] = slope * dt * np.arange(1, w.stop - w.start + 1)
    return out


@STIMULI.register("noise")
def noise(n: int, dt: float, *, amplitude: float, offset: float = 0.0, tau: float = 0.003,
          delay: float = 0.0, width: float | None = None, seed: int = 0) -> np.ndarray:  # fmt: skip
    """Coloured noise: ``offset`` plus an Ornstein-Uhlenbeck current of std ``amplitude`` (A).

    The Allen noise protocol injects pink noise around a DC offset; an OU process with a
    few-ms correlation time ``tau`` has the same effect on a GLIF fit (it explores the
    subthreshold range and makes spikes at irregular times). ``seed`` makes it reproducible.
    """
    rng = np.random.default_rng(seed)
    w = _window(n, dt, delay, (n * dt - delay) if width is None else width)
    m = w.stop - w.start
    decay = np.exp(-dt / tau)
    kicks = rng.standard_normal(m) * amplitude * np.sqrt(1.0 - decay**2)
    from scipy.signal import lfilter

    ou = lfilter([1.0], [1.0, -decay], kicks)
    out = np.zeros(n)
    out[w] = offset + ou
    return out


def make_stimulus(kind: str, *, duration: float, dt: float, **params: float) -> np.ndarray:
    """The current (A) of an Allen protocol ``kind`` lasting ``duration`` s at ``dt`` s.

    Parameters
    ----------
    kind : str
        A name registered in :data:`STIMULI` (``long_square``, ``short_square``, ``ramp``,
        ``noise``).
    duration, dt : float
        Length and sample interval (s).
    **params
        The generator's own parameters (``amplitude``, ``delay``, ``width`` ...).

    Examples
    --------
    >>> make_stimulus("ramp", duration=0.001, dt=2.5e-4, slope=1e-9, delay=0.0)
    array([2.5e-13, 5.0e-13, 7.5e-13, 1.0e-12])
    """
    n = int(round(duration / dt))
    return STIMULI.get(kind)(n, dt, **params)
