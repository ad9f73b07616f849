"""Poisson spike trains with explicit seeds, written as SONATA spike files.

:class:`PoissonSpikeGenerator` collects spike trains for nodes of one or more populations,
either at a constant rate or following a rate time series (inhomogeneous Poisson, drawn by
thinning), and writes them through :func:`bmtoolkit.sonata.write_spikes`. The same seed
always gives the same spikes, whatever the order in which populations are added.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.simulator.core.spike_generators import PoissonSpikeGenerator
>>> gen = PoissonSpikeGenerator(seed=42)
>>> gen.add(node_ids=range(10), firing_rate=15.0, times=(0.0, 2.0), population="lgn")
>>> df = gen.to_dataframe()
>>> list(df.columns)
['population', 'node_id', 'timestamp']
>>> bool(df["timestamp"].between(0.0, 2000.0).all())
True
>>> gen.to_sonata("lgn_spikes.h5")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError

if TYPE_CHECKING:  # pandas is imported where a DataFrame is needed
    import pandas as pd

#: delimiter of the small tables read here: commas, semicolons, tabs or runs of spaces
TABLE_SEP = r"[,;\s]+"


def poisson_times(
    rate_hz: float, tstart_ms: float, tstop_ms: float, rng: np.random.Generator
) -> np.ndarray:
    """Sorted spike times (ms) of one homogeneous Poisson train.

    Examples
    --------
    >>> t = poisson_times(100.0, 0.0, 1000.0, np.random.default_rng(0))
    >>> 60 < len(t) < 140
    True
    """
    if rate_hz < 0:
        raise ConfigError(f"firing rate must be >= 0 Hz, got {rate_hz}")
    duration = tstop_ms - tstart_ms
    if rate_hz == 0 or duration <= 0:
        return np.empty(0)
    n = rng.poisson(rate_hz * duration / 1000.0)
    return np.sort(rng.uniform(tstart_ms, tstop_ms, size=n))


def inhomogeneous_poisson_times(
    times_ms: np.ndarray, rates_hz: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Spike times of an inhomogeneous Poisson process by thinning.

    The rate is piecewise linear between the samples ``(times_ms[i], rates_hz[i])``; the train
    spans ``times_ms[0]`` to ``times_ms[-1]``.

    Examples
    --------
    >>> t = inhomogeneous_poisson_times(np.array([0.0, 500, 1000]), np.array([0.0, 0, 200]),
    ...                                 np.random.default_rng(1))
    >>> bool((t >= 500).all())
    True
    """
    times_ms = np.asarray(times_ms, dtype=float)
    rates_hz = np.asarray(rates_hz, dtype=float)
    if times_ms.ndim != 1 or times_ms.shape != rates_hz.shape or len(times_ms) < 2:
        raise ConfigError("a rate time series needs >= 2 times and as many rates (1-D)")
    if np.any(np.diff(times_ms) <= 0):
        raise ConfigError("rate time-series times must increase strictly")
    if np.any(rates_hz < 0):
        raise ConfigError("rates must be >= 0 Hz")
    rmax = float(rates_hz.max())
    candidates = poisson_times(rmax, times_ms[0], times_ms[-1], rng)
    if len(candidates) == 0:
        return candidates
    keep = rng.uniform(0.0, rmax, size=len(candidates)) < np.interp(candidates, times_ms, rates_hz)
    return candidates[keep]


def read_rate_table(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read ``(times_ms, rates_hz)`` from a CSV/space table with columns ``time`` and ``rate``.

    Delimiters may be commas, semicolons, tabs or spaces; ``firing_rate``/``rates`` and ``t``/``times``
    are accepted as column names, and a headerless two-column table is read as time, rate.

    Examples
    --------
    >>> times, rates = read_rate_table("rates.csv")  # doctest: +SKIP
    """
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise MissingFileError("rate time-series file does not exist", path=path)
    df = pd.read_csv(path, sep=TABLE_SEP, engine="python")
    cols = {c.strip().lower(): c for c in df.columns}
    tcol = next((cols[c] for c in ("time", "times", "t", "timestamps") if c in cols), None)
    rcol = next((cols[c] for c in ("rate", "rates", "firing_rate", "hz") if c in cols), None)
    if tcol is None or rcol is None:
        raw = pd.read_csv(path, sep=TABLE_SEP, engine="python", header=None)
        if raw.shape[1] != 2:
            raise ConfigError(
                "expected columns 'time' and 'rate' (or two headerless columns)",
                path=path,
            )
        try:
            return raw[0].to_numpy(float), raw[1].to_numpy(float)
        except ValueError as err:
            raise ConfigError(f"non-numeric rate table: {err}", path=path) from err
    return df[tcol].to_numpy(float), df[rcol].to_numpy(float)


class PoissonSpikeGenerator:
    """Collect Poisson spike trains and write them as SONATA spikes.

    Parameters
    ----------
    seed : int or None
        Seed of the generator; with a seed the spikes are reproducible. The trains of each
        :meth:`add` call are drawn from a child stream keyed by the population name and the
        order of calls.
    time_units : {"ms", "s"}
        Units of ``times`` passed to :meth:`add` (spikes are always stored in ms).
    population : str, optional
        Default population of :meth:`add`.

    Examples
    --------
    >>> gen = PoissonSpikeGenerator(seed=1)
    >>> gen.add([0, 1], firing_rate=([0.0, 1000.0], [10.0, 30.0]), times=(0, 1000),
    ...         population="tw", time_units="ms")
    >>> sorted(gen.to_dataframe()["node_id"].unique().tolist())
    [0, 1]
    """

    def __init__(
        self, seed: int | None = None, time_units: str = "s", population: str | None = None
    ) -> None:
        if time_units not in ("ms", "s"):
            raise ConfigError(f"time_units must be 'ms' or 's', got {time_units!r}")
        self.seed = seed
        self.population = population
        self.time_units = time_units
        self._seq = np.random.SeedSequence(seed)
        self._n_calls = 0
        self._frames: list[pd.DataFrame] = []

    def add(
        self,
        node_ids: Iterable[int] | int,
        firing_rate: float | Sequence[float] | tuple[Sequence[float], Sequence[float]],
        times: tuple[float, float] | None = None,
        population: str | None = None,
        *,
        time_units: str | None = None,
    ) -> None:
        """Add one Poisson train per node.

        Parameters
        ----------
        node_ids : int or iterable of int
            Node ids (within ``population``).
        firing_rate : float, array or (times, rates)
            Constant rate in Hz; a sequence of rates sampled at ``np.linspace`` over
            ``times``; or ``(sample_times, rates)`` for an inhomogeneous rate (sample times in
            ``time_units``).
        times : (start, stop)
            Interval of the trains, in ``time_units`` (default: the sample times' range).
        population : str
            Population of the nodes.
        """
        import pandas as pd

        population = population or self.population
        if not population:
            raise ConfigError("a population name is required (add(..., population=...))")
        units = time_units or self.time_units
        scale = 1000.0 if units == "s" else 1.0
        if isinstance(node_ids, Iterable):
            ids = np.atleast_1d(np.asarray(list(node_ids)))
        else:
            ids = np.atleast_1d(np.asarray(node_ids))
        ids = ids.astype(np.int64)
        sample_t, sample_r = self._rate_samples(firing_rate, times, scale)
        if times is None:
            if sample_t is None:
                raise ConfigError("times=(start, stop) is required with a constant firing rate")
            start, stop = sample_t[0], sample_t[-1]
        else:
            start, stop = float(times[0]) * scale, float(times[1]) * scale
        self._n_calls += 1
        child = np.random.SeedSequence(
            self._seq.entropy, spawn_key=(*self._seq.spawn_key, self._n_calls)
        )
        rng = np.random.default_rng(child)
        node_col, time_col = [], []
        for nid in ids:
            if sample_t is None:
                t = poisson_times(float(sample_r), start, stop, rng)
            else:
                t = inhomogeneous_poisson_times(sample_t, np.asarray(sample_r), rng)
                t = t[(t >= start) & (t <= stop)]
            node_col.append(np.full(len(t), nid, dtype=np.int64))
            time_col.append(t)
        self._frames.append(
            pd.DataFrame(
                {
                    "population": population,
                    "node_id": np.concatenate(node_col) if node_col else np.empty(0, np.int64),
                    "timestamp": np.concatenate(time_col) if time_col else np.empty(0),
                }
            )
        )

    @staticmethod
    def _rate_samples(
        firing_rate: object, times: tuple[float, float] | None, scale: float
    ) -> tuple[np.ndarray | None, np.ndarray | float]:
        if np.isscalar(firing_rate):
            return None, float(firing_rate)  # type: ignore[arg-type]
        if (
            isinstance(firing_rate, tuple)
            and len(firing_rate) == 2
            and not np.isscalar(firing_rate[0])
        ):
            t = np.asarray(firing_rate[0], dtype=float) * scale
            return t, np.asarray(firing_rate[1], dtype=float)
        rates = np.asarray(firing_rate, dtype=float)
        if times is None:
            raise ConfigError("times=(start, stop) is required with a rate array")
        t = np.linspace(float(times[0]) * scale, float(times[1]) * scale, len(rates))
        return t, rates

    def to_dataframe(self) -> pd.DataFrame:
        """Spikes as a DataFrame with ``population``, ``node_id``, ``timestamp`` (ms)."""
        import pandas as pd

        if not self._frames:
            return pd.DataFrame(
                {
                    "population": pd.Series(dtype=str),
                    "node_id": pd.Series(dtype=np.int64),
                    "timestamp": pd.Series(dtype=float),
                }
            )
        df = pd.concat(self._frames, ignore_index=True)
        return df.sort_values(["timestamp", "population", "node_id"], kind="stable").reset_index(
            drop=True
        )

    def to_sonata(self, path: str | os.PathLike[str], sort_order: str = "by_time") -> None:
        """Write the spikes to a SONATA ``.h5`` (or BMTK ``.csv``) file."""
        from bmtoolkit.sonata import write_spikes

        write_spikes(path, self.to_dataframe(), sort_order=sort_order)

    to_hdf5 = to_sonata
