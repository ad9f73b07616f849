"""Firing-rate time series (populations or cells) and voltage-density snapshots.

Rates are written by the rate-based backends (popnet, filternet) and read by the analyzer.

Layout written::

    /rates/<population>/node_ids   uint64 (N,)
    /rates/<population>/time       float64 [start, stop, dt], attribute units="ms"
    /rates/<population>/times      float64 (T,) -- only when the samples are not evenly spaced
    /rates/<population>/data       float32 (T, N), attribute units (default "Hz")

    /densities/<population>/<node_id>/{time (as above), v_edges (n_bins + 1), data (T, n_bins)}

with the SONATA root attributes. ``stop = start + T * dt`` (row ``i`` is the rate over
``[start + i dt, start + (i + 1) dt)``, stamped with its start time). The optional CSV is tidy:
single-space separated columns ``population node_id time rate``.

Several populations go in one file by calling :func:`write_rates` once per population with
``mode="a"``: the existing file is read and rewritten with the new population added (or
replaced), through a temporary file, so a failed write never leaves a broken file.

Examples
--------
>>> import os, tempfile, numpy as np
>>> from bmtoolkit.sonata.rates import write_rates, read_rates
>>> path = os.path.join(tempfile.mkdtemp(), "rates.h5")
>>> write_rates(path, "exc", [0], np.arange(3) * 0.5, np.array([[1.0], [2.0], [3.0]]))
>>> write_rates(path, "inh", [0, 1], np.arange(3) * 0.5, np.ones((3, 2)), mode="a")
>>> series = read_rates(path)
>>> sorted(series), series["exc"].data[:, 0].tolist(), series["inh"].times.tolist()
(['exc', 'inh'], [1.0, 2.0, 3.0], [0.0, 0.5, 1.0])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError, SonataFormatError
from bmtoolkit.sonata._h5 import atomic_text, atomic_write, decode_str, open_h5, require

_CSV_COLUMNS = ["population", "node_id", "time", "rate"]

__all__ = [
    "RateSeries",
    "DensitySnapshots",
    "write_rates",
    "read_rates",
    "write_densities",
    "read_densities",
]


@dataclass(frozen=True)
class RateSeries:
    """Rates of the nodes of one population: ``data[t, i]`` is node ``node_ids[i]`` at
    ``times[t]`` (ms)."""

    node_ids: np.ndarray
    times: np.ndarray
    data: np.ndarray
    units: str = "Hz"

    def to_dataframe(self, population: str = ""):
        """Tidy table with columns ``population node_id time rate``."""
        import pandas as pd

        t, n = self.data.shape
        return pd.DataFrame(
            {
                "population": np.full(t * n, population, dtype=object),
                "node_id": np.tile(self.node_ids.astype(np.int64), t),
                "time": np.repeat(self.times, n),
                "rate": self.data.astype(np.float64).ravel(),
            }
        )


@dataclass(frozen=True)
class DensitySnapshots:
    """Probability mass per voltage bin of one population node over time."""

    times: np.ndarray
    v_edges: np.ndarray
    data: np.ndarray


def _time_axis(times: np.ndarray, field: str) -> tuple[np.ndarray, np.ndarray | None]:
    """``([start, stop, dt], explicit times or None)`` for a sample-time vector."""
    if times.ndim != 1 or not np.all(np.isfinite(times)):
        raise ConfigError("times must be a finite 1-D array (ms)", field=field)
    if times.size == 0:
        return np.array([0.0, 0.0, 0.0]), None
    if times.size == 1:
        return np.array([times[0], times[0], 0.0]), None
    step = np.diff(times)
    dt = float(np.mean(step))
    if dt <= 0 or np.any(step <= 0):
        raise ConfigError("times must be strictly increasing", field=field)
    even = np.allclose(step, dt, rtol=1e-6, atol=1e-9)
    header = np.array([times[0], times[0] + times.size * dt, dt])
    return header, None if even else times


def _read_times(group: h5py.Group, n_rows: int, path: Path) -> np.ndarray:
    if "times" in group:
        return np.asarray(group["times"][()], dtype=np.float64)
    start, _stop, dt = (float(x) for x in require(group, "time", path)[()][:3])
    return start + dt * np.arange(n_rows)


def _write_time(group: h5py.Group, header: np.ndarray, explicit: np.ndarray | None) -> None:
    ds = group.create_dataset("time", data=header.astype(np.float64))
    ds.attrs["units"] = "ms"
    if explicit is not None:
        group.create_dataset("times", data=explicit.astype(np.float64)).attrs["units"] = "ms"


def _existing(path: Path, mode: str) -> tuple[dict[str, RateSeries], dict]:
    if mode not in ("w", "a"):
        raise ConfigError(f"mode must be 'w' or 'a', got {mode!r}", field="mode")
    if mode == "w" or not path.exists():
        return {}, {}
    with open_h5(path) as h5:
        has_rates = "rates" in h5
    return (read_rates(path) if has_rates else {}), _read_all_densities(path)


def _write_file(path: Path, rates: dict[str, RateSeries], densities: dict) -> None:
    with atomic_write(path) as h5:
        root = h5.create_group("rates")
        for name, s in rates.items():
            g = root.create_group(name)
            g.create_dataset("node_ids", data=np.asarray(s.node_ids, dtype=np.uint64))
            header, explicit = _time_axis(np.asarray(s.times, float), f"rates/{name}/time")
            _write_time(g, header, explicit)
            g.create_dataset("data", data=np.asarray(s.data, dtype=np.float32)).attrs["units"] = (
                s.units
            )
        if densities:
            droot = h5.create_group("densities")
            for (pop, node), snap in densities.items():
                g = droot.require_group(pop).create_group(str(int(node)))
                header, explicit = _time_axis(snap.times, f"densities/{pop}/{node}/time")
                _write_time(g, header, explicit)
                g.create_dataset("v_edges", data=snap.v_edges.astype(np.float64)).attrs["units"] = (
                    "mV"
                )
                g.create_dataset("data", data=snap.data.astype(np.float64))


def write_rates(
    path: str | os.PathLike[str],
    population: str,
    node_ids: Sequence[int] | np.ndarray,
    times: Sequence[float] | np.ndarray,
    rates: np.ndarray,
    *,
    units: str = "Hz",
    csv: bool = False,
    mode: str = "w",
) -> None:
    """Write the rate series of one population (``rates[t, i]`` for ``node_ids[i]``).

    Parameters
    ----------
    path : path-like
        HDF5 destination. With ``csv=True`` a tidy CSV is also written beside it
        (same name, ``.csv`` suffix) holding every population of the file.
    population : str
    node_ids : sequence of int
        ``N`` node ids (one per column; a population-level series uses one id).
    times : sequence of float
        ``T`` sample times (ms), strictly increasing; evenly spaced ones are stored as
        ``[start, stop, dt]``.
    rates : array (T, N) or (T,)
    units : str
    csv : bool
    mode : {"w", "a"}
        ``"w"`` replaces the file; ``"a"`` keeps the populations already in it.
    """
    path = Path(path)
    ids = np.asarray(node_ids)
    if ids.ndim != 1 or (ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0)):
        raise ConfigError("node_ids must be a 1-D array of non-negative integers", field="node_ids")
    t = np.asarray(times, dtype=float)
    data = np.asarray(rates, dtype=float)
    if data.ndim == 1:
        data = data[:, None]
    if data.shape != (t.size, ids.size):
        raise ConfigError(
            f"rates must have shape (len(times), len(node_ids)) = {(t.size, ids.size)}, "
            f"got {data.shape}",
            field="rates",
        )
    _time_axis(t, "times")
    series, densities = _existing(path, mode)
    series[population] = RateSeries(ids.astype(np.uint64), t, data, units)
    _write_file(path, series, densities)
    if csv:
        _write_csv(path.with_suffix(".csv"), series)


def _write_csv(path: Path, series: dict[str, RateSeries]) -> None:
    import pandas as pd

    frames = [s.to_dataframe(name) for name, s in series.items()]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_CSV_COLUMNS)
    with atomic_text(path) as fh:
        table.to_csv(fh, sep=" ", index=False, float_format="%.10g", lineterminator="\n")


def read_rates(
    path: str | os.PathLike[str], population: str | None = None
) -> dict[str, RateSeries]:
    """Read rate series: ``{population: RateSeries}`` (only ``population`` if given).

    Reads the HDF5 layout above, or a tidy CSV (``population node_id time rate``; missing
    ``population``/``node_id`` columns mean one series named ``""`` with node 0), or BMTK's
    filternet table (``node_id population timestamps firing_rates``, times in seconds, read
    as ms).

    Raises
    ------
    MissingFileError, SonataFormatError
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(path, population)
    out: dict[str, RateSeries] = {}
    with open_h5(path) as h5:
        root = require(h5, "rates", path)
        names = [population] if population is not None else list(root)
        for name in names:
            g = require(root, name, path)
            data = np.asarray(require(g, "data", path)[()])
            if data.ndim != 2:
                raise SonataFormatError("expected a 2-D (T, N) array", path=path, field=g.name)
            ids = np.asarray(require(g, "node_ids", path)[()], dtype=np.uint64)
            if ids.size != data.shape[1]:
                raise SonataFormatError(
                    f"{ids.size} node_ids for {data.shape[1]} data columns", path=path, field=g.name
                )
            units = decode_str(g["data"].attrs.get("units", "Hz"))
            out[name] = RateSeries(ids, _read_times(g, data.shape[0], path), data, units)
    return out


def _read_csv(path: Path, population: str | None) -> dict[str, RateSeries]:
    import pandas as pd

    if not path.exists():
        raise MissingFileError("file does not exist", path=path)
    try:
        df = pd.read_csv(path, sep=r"\s+", engine="python")
    except (OSError, ValueError) as err:
        raise SonataFormatError(f"cannot read rates CSV: {err}", path=path) from None
    if {"timestamps", "firing_rates"} <= set(df.columns) and "time" not in df.columns:
        df = df.rename(columns={"firing_rates": "rate"})
        df["time"] = df.pop("timestamps").astype(float) * 1000.0
    for col in ("time", "rate"):
        if col not in df.columns:
            raise SonataFormatError(
                f"missing column {col!r}; found {list(df.columns)}", path=path, field=col
            )
    if "population" not in df.columns:
        df["population"] = ""
    if "node_id" not in df.columns:
        df["node_id"] = 0
    df["population"] = df["population"].astype(str)
    if population is not None:
        df = df[df["population"] == population]
    out: dict[str, RateSeries] = {}
    for name, sub in df.groupby("population", sort=False):
        table = sub.pivot_table(index="time", columns="node_id", values="rate", aggfunc="first")
        out[str(name)] = RateSeries(
            table.columns.to_numpy().astype(np.uint64),
            table.index.to_numpy(dtype=float),
            table.to_numpy(dtype=float),
        )
    return out


def write_densities(
    path: str | os.PathLike[str],
    population: str,
    node_id: int,
    times: Sequence[float] | np.ndarray,
    v_edges: Sequence[float] | np.ndarray,
    density: np.ndarray,
    *,
    mode: str = "a",
) -> None:
    """Add voltage-density snapshots (``density[t, bin]``, probability mass) of one node.

    Stored under ``/densities/<population>/<node_id>`` of the same file as the rates; with the
    default ``mode="a"`` everything already in the file is kept.
    """
    path = Path(path)
    t = np.asarray(times, float)
    edges = np.asarray(v_edges, float)
    data = np.asarray(density, float)
    if data.shape != (t.size, edges.size - 1):
        raise ConfigError(
            f"density must have shape (len(times), len(v_edges) - 1) = {(t.size, edges.size - 1)}"
            f", got {data.shape}",
            field="density",
        )
    series, densities = _existing(path, mode)
    densities[(population, int(node_id))] = DensitySnapshots(t, edges, data)
    _write_file(path, series, densities)


def _read_all_densities(path: Path) -> dict[tuple[str, int], DensitySnapshots]:
    out: dict[tuple[str, int], DensitySnapshots] = {}
    with open_h5(path) as h5:
        if "densities" not in h5:
            return out
        for pop, group in h5["densities"].items():
            for node, g in group.items():
                data = np.asarray(require(g, "data", path)[()])
                out[(pop, int(node))] = DensitySnapshots(
                    _read_times(g, data.shape[0], path),
                    np.asarray(require(g, "v_edges", path)[()]),
                    data,
                )
    return out


def read_densities(
    path: str | os.PathLike[str], population: str | None = None
) -> dict[tuple[str, int], DensitySnapshots]:
    """Read density snapshots: ``{(population, node_id): DensitySnapshots}``."""
    snaps = _read_all_densities(Path(path))
    if population is None:
        return snaps
    return {k: v for k, v in snaps.items() if k[0] == population}
