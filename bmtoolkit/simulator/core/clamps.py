"""Current-clamp waveforms read from files, as BMTK's ``IClamp`` input types define them.

BMTK chooses the reader by the input's ``input_type``:

- ``current_clamp``: ``amp``, ``delay``, ``duration``, each a number or equal-length lists
  (one step each; handled by :func:`~bmtoolkit.simulator.core.inputs.load_current_clamp`);
- ``csv`` / ``file``: a table (``separator`` default ``" "``) with a ``timestamps`` and an
  ``amps`` column (``timestamps_column``, ``amplitudes_column`` rename them): the current is
  ``amps[i]`` from ``timestamps[i]`` to ``timestamps[i + 1]``, zero before the first
  timestamp; it stops at the last timestamp (or one interval later when the last amplitude is
  not zero), see :func:`csv_waveform`;
- ``nwb`` / ``allen``: sweep ``sweep_id`` of an Allen Cell Types NWB file (amperes, turned
  into nA), optionally ``downsample`` (ms between kept samples), ``sweep_window``
  (``[start, stop]`` ms of the sweep to keep) and ``delay`` (ms at which the sweep starts),
  see :func:`nwb_waveform`.

A file waveform is a :class:`PlayedWaveform`: samples on a regular grid that NEURON plays into
the clamp's amplitude (as BMTK does with ``Vector.play``); other backends get the same current
as a list of steps (:meth:`PlayedWaveform.steps`).

Deliberate differences from BMTK 1.2.0: a CSV whose timestamps are not evenly spaced is
played on the greatest common grid of its timestamps (BMTK assumes the first interval for
all); an NWB sweep with a ``delay`` starts at that delay with its first sample (BMTK switches
the clamp on at ``delay`` but plays the samples from time 0, dropping the first ``delay`` ms)
and stops at its end (BMTK holds the last sample to the end of the run).

Examples
--------
>>> import numpy as np
>>> w = csv_waveform(np.array([800.0, 1300.0, 1800.0]), np.array([0.15, 0.0, 0.2]))
>>> w.dt, w.start, w.stop
(100.0, 0.0, 2300.0)
>>> w.steps()
[(800.0, 1300.0, 0.15), (1800.0, 2300.0, 0.2)]
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np

from bmtoolkit.exceptions import ConfigError

__all__ = ["PlayedWaveform", "csv_steps", "csv_waveform", "nwb_waveform", "read_clamp_csv"]

#: timestamps are put on a grid of this resolution (ms) to find their common interval
GRID_RESOLUTION = 1e-6
#: longest waveform played sample by sample (longer ones are injected as steps only)
MAX_SAMPLES = 20_000_000


@dataclass(frozen=True, eq=False)
class PlayedWaveform:
    """Amplitude ``amps[k]`` (nA, or the config's unit) from ``start + k * dt`` ms, while
    ``start <= t < stop``."""

    amps: np.ndarray
    dt: float
    start: float
    stop: float

    def steps(self) -> list[tuple[float, float, float]]:
        """``[(start, stop, amplitude), ...]`` of the non-zero stretches (equal neighbours
        merged), clipped to ``[start, stop)``."""
        amps = np.asarray(self.amps, dtype=float)
        n = len(amps)
        times = self.start + self.dt * np.arange(n + 1)
        out: list[tuple[float, float, float]] = []
        k = 0
        while k < n:
            j = k
            while j + 1 < n and amps[j + 1] == amps[k]:
                j += 1
            t0, t1 = float(times[k]), min(float(times[j + 1]), self.stop)
            if amps[k] != 0.0 and t1 > t0 and t0 < self.stop:
                out.append((round(t0, 9), round(t1, 9), float(amps[k])))
            k = j + 1
        return out


def _grid(values: np.ndarray) -> float:
    """Largest interval (ms) on which every value lies, at :data:`GRID_RESOLUTION`."""
    ticks = np.rint(np.asarray(values, dtype=float) / GRID_RESOLUTION).astype(np.int64)
    g = 0
    for v in np.unique(np.abs(ticks)):
        g = gcd(g, int(v))
    return g * GRID_RESOLUTION if g else 0.0


def csv_steps(timestamps: np.ndarray, amps: np.ndarray) -> list[tuple[float, float, float]]:
    """``[(start, stop, amplitude), ...]`` of a CSV clamp (non-zero rows only).

    Examples
    --------
    >>> csv_steps(np.array([0.0, 10.0, 25.0]), np.array([0.1, 0.0, 0.3]))
    [(0.0, 10.0, 0.1), (25.0, 40.0, 0.3)]
    """
    t = np.asarray(timestamps, dtype=float)
    a = np.asarray(amps, dtype=float)
    last = float(t[-1] + (t[-1] - t[-2]) if a[-1] != 0 else t[-1])
    stops = np.append(t[1:], last)
    return [(float(t0), float(t1), float(v)) for t0, t1, v in zip(t, stops, a) if v and t1 > t0]


def csv_waveform(
    timestamps: np.ndarray, amps: np.ndarray, where: str = ""
) -> PlayedWaveform | None:
    """The waveform of a CSV clamp: ``amps[i]`` from ``timestamps[i]`` until the next one,
    sampled on the common grid of the timestamps (``None`` when that grid would need more
    than :data:`MAX_SAMPLES` samples: :func:`csv_steps` then says it all).

    Raises
    ------
    ConfigError
        Fewer than two rows, a negative or decreasing timestamp.
    """
    t = np.asarray(timestamps, dtype=float)
    a = np.asarray(amps, dtype=float)
    if len(t) < 2:
        raise ConfigError("a current-clamp CSV needs two or more rows", path=where or None)
    if t[0] < 0 or np.any(np.diff(t) <= 0):
        raise ConfigError(
            "current-clamp CSV timestamps must start at >= 0 ms and increase", path=where or None
        )
    step = _grid(np.concatenate([t[:1], np.diff(t)]))
    last = float(t[-1] + (t[-1] - t[-2]) if a[-1] != 0 else t[-1])
    n = int(round(last / step)) if step > 0 else 0
    if step <= 0 or n > MAX_SAMPLES:
        return None
    grid = np.arange(n) * step
    index = np.searchsorted(t, grid + step * 1e-9, side="right") - 1
    played = np.where(index >= 0, a[np.clip(index, 0, None)], 0.0)
    return PlayedWaveform(amps=played, dt=float(step), start=0.0, stop=last)


def read_clamp_csv(
    path: Path, *, separator: str = " ", timestamps: str = "timestamps", amplitudes: str = "amps"
) -> tuple[np.ndarray, np.ndarray]:
    """``(timestamps, amps)`` columns of a current-clamp CSV (BMTK's layout)."""
    import pandas as pd

    table = pd.read_csv(path, sep=separator)
    for option, column in (("timestamps_column", timestamps), ("amplitudes_column", amplitudes)):
        if column not in table.columns:
            raise ConfigError(
                f"current-clamp CSV has no column {column!r} (columns: {list(table.columns)}); "
                f"name it with '{option}'",
                path=str(path),
            )
    return table[timestamps].to_numpy(float), table[amplitudes].to_numpy(float)


def nwb_waveform(
    amps: np.ndarray,
    dt: float,
    *,
    downsample: float | None = None,
    sweep_window: tuple[float, float] | None = None,
    delay: float = 0.0,
    where: str = "",
) -> PlayedWaveform:
    """The waveform of an NWB sweep sampled every ``dt`` ms (see the module notes)."""
    amps = np.asarray(amps, dtype=float)
    times = np.arange(len(amps)) * dt
    if downsample is not None and downsample > dt:
        stride = int(np.round(downsample / dt))
        amps, times, dt = amps[::stride], times[::stride], float(downsample)
    if sweep_window is not None:
        lo, hi = (float(v) for v in sweep_window)
        if not 0 <= lo < hi:
            raise ConfigError(
                "'sweep_window' must be [start_time, stop_time] with 0 <= start < stop",
                path=where or None,
                field="sweep_window",
            )
        keep = (times >= lo) & (times <= hi)
        amps = amps[keep]
    start = float(delay)
    return PlayedWaveform(amps=amps, dt=float(dt), start=start, stop=start + len(amps) * dt)
