"""BMTK's ``bmtk.utils.reports.spike_trains`` module path: spike tables to build and save.

- :class:`SpikeTrains` collects spikes (``add_spike``, ``add_spikes``), reads them
  (``load``, ``from_sonata``, ``from_csv``) and writes them (``to_sonata``, ``to_csv``)
  through :func:`bmtoolkit.sonata.read_spikes` and :func:`bmtoolkit.sonata.write_spikes`;
- :class:`PoissonSpikeGenerator` adds Poisson trains drawn by
  :mod:`bmtoolkit.simulator.core.spike_generators`, with BMTK's arguments: ``times`` in
  seconds, ``firing_rate`` a constant (Hz) or one rate per entry of a ``times`` array
  (inhomogeneous), ``node_ids`` a list or the path of a nodes file.

Tables use BMTK's column names: ``node_ids``, ``timestamps`` (ms) and ``population``.
With ``seed=None`` the generator is seeded from NumPy's global state, so
``np.random.seed(n)`` in a script makes its inputs reproducible (other spikes than BMTK's
for the same seed, with the same statistics).

Examples
--------
>>> psg = PoissonSpikeGenerator(population="lgn", seed=1)
>>> psg.add(node_ids=range(5), firing_rate=20.0, times=(0.0, 2.0))
>>> sorted(psg.to_dataframe().columns)
['node_ids', 'population', 'timestamps']
>>> st = SpikeTrains()
>>> st.add_spikes(node_ids=0, timestamps=[1.0, 5.0], population="v1")
>>> st.get_times(0, population="v1").tolist()
[1.0, 5.0]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError

__all__ = ["PoissonSpikeGenerator", "SpikeTrains"]

#: our column names -> BMTK's
_BMTK_COLUMNS = {"node_id": "node_ids", "timestamp": "timestamps"}


def _units_scale(units: str) -> float:
    """Factor from ms to ``units``."""
    if units not in ("ms", "s"):
        raise ConfigError(f"units must be 'ms' or 's', got {units!r}")
    return 1.0 if units == "ms" else 1e-3


class SpikeTrains:
    """Spikes of one or more populations, as BMTK's ``SpikeTrains`` presents them.

    Parameters
    ----------
    population : str, optional
        Population of spikes added without one.
    units : {"ms", "s"}
        Units of the timestamps given to and returned by this object.

    Examples
    --------
    >>> st = SpikeTrains(population="v1")
    >>> st.add_spike(node_id=3, timestamp=12.5)
    >>> st.n_spikes(), st.node_ids()
    (1, [3])
    """

    def __init__(self, population: str | None = None, units: str = "ms", **kwargs: Any) -> None:
        self._scale = _units_scale(units)
        self._units = units
        self._default_population = population
        self._parts: list[pd.DataFrame] = []

    # ------------------------------------------------------------------ adding
    def _population(self, population: str | None) -> str:
        pop = population or self._default_population
        if not pop:
            raise ConfigError("spikes need a population name (population=...)")
        return pop

    def add_spikes(
        self,
        node_ids: int | Iterable[int],
        timestamps: float | Iterable[float],
        population: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Add spikes: one node id with many times, or one node id per timestamp."""
        times = np.atleast_1d(np.asarray(timestamps, dtype=float))
        ids = np.atleast_1d(np.asarray(node_ids, dtype=np.int64))
        if ids.size == 1:
            ids = np.full(times.shape, ids[0], dtype=np.int64)
        if ids.shape != times.shape:
            raise ConfigError(f"{ids.size} node ids for {times.size} timestamps")
        self._parts.append(
            pd.DataFrame(
                {
                    "population": self._population(population),
                    "node_id": ids,
                    "timestamp": times / self._scale,
                }
            )
        )

    def add_spike(
        self, node_id: int, timestamp: float, population: str | None = None, **kwargs: Any
    ) -> None:
        """Add one spike."""
        self.add_spikes([node_id], [timestamp], population)

    # ------------------------------------------------------------------ reading
    def _table(self) -> pd.DataFrame:
        """All spikes with our column names, times in ms."""
        from bmtoolkit.sonata.spikes import empty_spikes

        parts = [p for p in self._parts if len(p)]
        if not parts:
            return empty_spikes()
        return pd.concat(parts, ignore_index=True)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], file_type: str | None = None, **kwargs: Any
    ) -> SpikeTrains:
        """Read a SONATA ``.h5`` or BMTK ``.csv`` spikes file."""
        from bmtoolkit.sonata import read_spikes

        trains = cls(**kwargs)
        trains._parts.append(read_spikes(Path(path)))
        return trains

    from_sonata = load
    from_csv = load

    @property
    def populations(self) -> list[str]:
        """Names of the populations with spikes, sorted."""
        return sorted(self._table()["population"].unique().tolist())

    def _select(self, populations: str | Sequence[str] | None) -> pd.DataFrame:
        df = self._table()
        if populations is None:
            return df
        wanted = [populations] if isinstance(populations, str) else list(populations)
        return df[df["population"].isin(wanted)]

    def node_ids(self, population: str | None = None) -> list[int]:
        """Sorted ids of the nodes that spiked."""
        return sorted(self._select(population)["node_id"].unique().tolist())

    def n_spikes(self, population: str | None = None) -> int:
        """Number of spikes (of one population, or all)."""
        return len(self._select(population))

    def time_range(self, population: str | None = None) -> tuple[float, float]:
        """First and last spike time."""
        t = self._select(population)["timestamp"].to_numpy() * self._scale
        if len(t) == 0:
            raise ConfigError("there are no spikes to take the time range of")
        return float(t.min()), float(t.max())

    def get_times(
        self,
        node_id: int,
        population: str | None = None,
        time_window: tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """Sorted spike times of one node."""
        df = self._select(population if population is not None else self._default_population)
        t = np.sort(df.loc[df["node_id"] == int(node_id), "timestamp"].to_numpy()) * self._scale
        if time_window is not None:
            t = t[(t >= time_window[0]) & (t <= time_window[1])]
        return t

    def to_dataframe(
        self,
        populations: str | Sequence[str] | None = None,
        sort_order: str | None = None,
        with_population_col: bool = True,
        **kwargs: Any,
    ) -> pd.DataFrame:
        """Spikes with BMTK's columns ``node_ids``, ``timestamps`` and ``population``."""
        df = self._select(populations)
        if sort_order in ("by_time", "time"):
            df = df.sort_values(["timestamp", "population", "node_id"], kind="stable")
        elif sort_order in ("by_id", "id", "gid", "by_gid", "node_id"):
            df = df.sort_values(["population", "node_id", "timestamp"], kind="stable")
        df = df.rename(columns=_BMTK_COLUMNS).reset_index(drop=True)
        df["timestamps"] = df["timestamps"] * self._scale
        cols = ["node_ids", "timestamps", "population"]
        return df[cols if with_population_col else cols[:2]]

    def spikes(
        self,
        populations: str | Sequence[str] | None = None,
        time_window: tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> Iterator[tuple[float, str, int]]:
        """Iterate ``(timestamp, population, node_id)`` in time order."""
        df = self.to_dataframe(populations, sort_order="by_time")
        for t, pop, nid in zip(df["timestamps"], df["population"], df["node_ids"]):
            if time_window is None or time_window[0] <= t <= time_window[1]:
                yield float(t), str(pop), int(nid)

    def __len__(self) -> int:
        return self.n_spikes()

    # ------------------------------------------------------------------ writing
    def to_sonata(
        self,
        path: str | os.PathLike[str],
        mode: str = "w",
        sort_order: str = "by_time",
        **kwargs: Any,
    ) -> None:
        """Write a SONATA spikes file (written to a temporary file, then renamed)."""
        from bmtoolkit.sonata import write_spikes

        if mode != "w":
            raise ConfigError(f"only mode='w' (a new file) is supported, got {mode!r}", path=path)
        write_spikes(path, self._table(), sort_order=sort_order or "none")

    def to_csv(
        self,
        path: str | os.PathLike[str],
        mode: str = "w",
        sort_order: str = "by_time",
        **kwargs: Any,
    ) -> None:
        """Write BMTK's space-separated CSV (``timestamps population node_ids``)."""
        if Path(path).suffix.lower() != ".csv":
            raise ConfigError("a CSV spikes file must end in .csv", path=path)
        self.to_sonata(path, mode=mode, sort_order=sort_order)


class PoissonSpikeGenerator(SpikeTrains):
    """Poisson spike trains with BMTK's arguments (see the module docstring).

    Parameters
    ----------
    population : str, optional
        Population of the trains added without one.
    seed : int, optional
        Seed of the draws (default: one drawn from NumPy's global state).
    output_units : {"ms", "s"}
        Units of the timestamps this object returns (files always store ms).

    Examples
    --------
    >>> import numpy as np
    >>> psg = PoissonSpikeGenerator(population="tw", seed=3)
    >>> times = np.linspace(0.0, 1.0, 100)
    >>> psg.add(node_ids=[0, 1], firing_rate=np.where(times < 0.5, 0.0, 50.0), times=times)
    >>> bool((psg.to_dataframe()["timestamps"] >= 490.0).all())
    True
    """

    def __init__(
        self,
        population: str | None = None,
        seed: int | None = None,
        output_units: str = "ms",
        **kwargs: Any,
    ) -> None:
        super().__init__(population=population, units=output_units)
        from bmtoolkit.simulator.core.spike_generators import (
            PoissonSpikeGenerator as _Generator,
        )

        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        self._generator = _Generator(seed=seed, time_units="s", population=population)

    def add(
        self,
        node_ids: int | Iterable[int] | str | os.PathLike[str],
        firing_rate: float | Sequence[float] | np.ndarray,
        population: str | None = None,
        times: tuple[float, float] | Sequence[float] | np.ndarray = (0.0, 1.0),
        abs_ref: float = 0,
        tau_ref: float = 0,
    ) -> None:
        """Add one train per node.

        Parameters
        ----------
        node_ids : int, iterable of int, or path
            Node ids, or a SONATA nodes file whose (only, or ``population``'s) ids are used.
        firing_rate : float or array
            Constant rate (Hz), or the rate at each entry of ``times`` (inhomogeneous).
        population : str, optional
            Population of the nodes (default: the generator's, or the nodes file's).
        times : (start, stop) or array
            Interval in seconds, or the sample times of an inhomogeneous ``firing_rate``.
        abs_ref, tau_ref : float
            Refractory periods; only 0 (a pure Poisson process) is supported.
        """
        if abs_ref or tau_ref:
            raise ConfigError(
                "refractory Poisson trains (abs_ref, tau_ref) are not supported; leave them at 0"
            )
        if isinstance(node_ids, (str, os.PathLike)):
            node_ids, population = _node_ids_of_file(node_ids, population)
        pop = self._population(population)
        if np.isscalar(firing_rate):
            self._generator.add(node_ids, float(firing_rate), times=tuple(times), population=pop)
        else:
            rates = np.asarray(firing_rate, dtype=float)
            samples = np.asarray(times, dtype=float)
            if samples.shape != rates.shape:
                raise ConfigError(
                    f"an inhomogeneous firing_rate needs one entry of times per rate; got "
                    f"{samples.size} times for {rates.size} rates"
                )
            self._generator.add(node_ids, (samples, rates), population=pop)

    def _table(self) -> pd.DataFrame:
        generated = self._generator.to_dataframe()
        own = super()._table()
        if not len(own):
            return generated
        return pd.concat([generated, own], ignore_index=True)


def _node_ids_of_file(
    path: str | os.PathLike[str], population: str | None
) -> tuple[np.ndarray, str]:
    """Node ids of ``population`` (or of the only population) of a SONATA nodes file."""
    from bmtoolkit.sonata import read_nodes

    pops = read_nodes(Path(path))
    if population is None:
        if len(pops) != 1:
            raise ConfigError(
                f"the nodes file has populations {sorted(pops)}; say which with population=",
                path=path,
            )
        population = next(iter(pops))
    if population not in pops:
        raise ConfigError(
            f"no population {population!r} in the nodes file; it has {sorted(pops)}",
            path=path,
            field="population",
        )
    return np.asarray(pops[population].ids()), population
