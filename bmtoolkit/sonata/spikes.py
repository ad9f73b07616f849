"""SONATA spike files: read every layout found in practice, write the portable one.

Layouts read
------------
- per population (spec): ``/spikes/<pop>/{node_ids, timestamps}`` with a ``sorting``
  attribute stored as an HDF5 enum or a string (``by_time``, ``by_id``, ``none``, and the older
  ``time`` / ``by_gid``);
- legacy (BMTK inputs): ``/spikes/{gids|node_ids, timestamps}`` without a population group;
  the population is the one the caller names (``default_population``);
- CSV (BMTK): whitespace-separated columns ``timestamps population node_ids`` (header names
  ``timestamp(s)``/``time(s)``, ``node_id(s)``/``gid(s)`` are accepted; ``population`` is optional).

Layout written (every reader we know accepts it): ``/spikes/<pop>`` with enum ``sorting``
(uint8: none=0, by_id=1, by_time=2), ``timestamps`` float64 with ``units="ms"``, ``node_ids``
uint64; root ``magic``/``version``. CSV output uses single spaces and LF.

Spikes travel as a :class:`pandas.DataFrame` with columns ``population`` (str),
``node_id`` (int64) and ``timestamp`` (float64, ms).

Examples
--------
>>> import os, tempfile, numpy as np
>>> from bmtoolkit.sonata import write_spikes, read_spikes
>>> path = os.path.join(tempfile.mkdtemp(), "spikes.h5")
>>> write_spikes(path, {"v1": (np.array([2, 0, 1]), np.array([3.0, 1.0, 2.0]))})
>>> df = read_spikes(path)
>>> df["node_id"].tolist(), df["timestamp"].tolist()
([0, 1, 2], [1.0, 2.0, 3.0])
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, TypeGuard

import h5py
import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError, SonataFormatError
from bmtoolkit.sonata._h5 import STR_DTYPE, atomic_text, atomic_write, open_h5, require

if TYPE_CHECKING:  # pandas is imported only where a DataFrame is read or given
    import pandas as pd

#: values of the HDF5 enum ``sorting`` attribute
SORTING_ENUM: dict[str, int] = {"none": 0, "by_id": 1, "by_time": 2}
_SORTING_ALIASES = {
    "none": "none",
    "by_id": "by_id",
    "by_gid": "by_id",
    "id": "by_id",
    "gid": "by_id",
    "node_id": "by_id",
    "by_time": "by_time",
    "time": "by_time",
    "timestamps": "by_time",
}
SORTING_DTYPE = h5py.enum_dtype(SORTING_ENUM, basetype="u1")
COLUMNS = ("population", "node_id", "timestamp")

_CSV_TIME = ("timestamps", "timestamp", "times", "time")
_CSV_ID = ("node_ids", "node_id", "gids", "gid")

SpikeInput: TypeAlias = "pd.DataFrame | Mapping[str, tuple[np.ndarray, np.ndarray]]"


def normalize_sort_order(value: str | None) -> str:
    """Map any spelling of a spike sort order to ``by_time``, ``by_id`` or ``none``.

    Examples
    --------
    >>> normalize_sort_order("time"), normalize_sort_order("by_gid"), normalize_sort_order(None)
    ('by_time', 'by_id', 'none')
    """
    if value is None:
        return "none"
    try:
        return _SORTING_ALIASES[str(value).strip().lower()]
    except KeyError:
        raise ConfigError(
            f"unknown spike sort order {value!r}; expected one of by_time, by_id, none",
            field="spikes_sort_order",
        ) from None


def empty_spikes() -> pd.DataFrame:
    """An empty spikes table with the standard columns and dtypes."""
    import pandas as pd

    return pd.DataFrame(
        {
            "population": pd.Series([], dtype=object),
            "node_id": np.zeros(0, np.int64),
            "timestamp": np.zeros(0, np.float64),
        }
    )


def _table(population: str, node_ids: np.ndarray, timestamps: np.ndarray) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "population": np.full(len(node_ids), population, dtype=object),
            "node_id": np.asarray(node_ids).astype(np.int64, copy=False),
            "timestamp": np.asarray(timestamps).astype(np.float64, copy=False),
        }
    )


def spike_counts(path: str | os.PathLike[str]) -> dict[str, int]:
    """Number of spikes per population in a spikes file, read without building a table.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "s.h5")
    >>> write_spikes(p, {"v1": ([0, 1, 0], [1.0, 2.0, 3.0])})
    >>> spike_counts(p)
    {'v1': 3}
    """
    p = Path(path)
    if p.suffix.lower() == ".csv":
        df = read_spikes(p)
        return {str(k): int(v) for k, v in df.groupby("population").size().items()}
    counts: dict[str, int] = {}
    with open_h5(p) as h5:
        root = require(h5, "spikes", p)
        if not isinstance(root, h5py.Group):
            raise SonataFormatError("expected a group", path=p, field="/spikes")
        for name, grp in root.items():
            if isinstance(grp, h5py.Group):
                counts[name] = len(_read_1d(grp, "node_ids", p))
        if not counts and isinstance(root.get("timestamps"), h5py.Dataset):  # legacy layout
            counts["default"] = len(_read_1d(root, "timestamps", p))
    return counts


def _read_h5(path: Path, population: str | None, default_population: str | None) -> pd.DataFrame:
    import pandas as pd

    frames = []
    with open_h5(path) as h5:
        root = require(h5, "spikes", path)
        if not isinstance(root, h5py.Group):
            raise SonataFormatError("expected a group", path=path, field="/spikes")
        legacy_ids = next(
            (k for k in ("gids", "node_ids") if isinstance(root.get(k), h5py.Dataset)), None
        )
        if legacy_ids is not None:
            name = default_population or "default"
            if population is not None and population != name:
                return empty_spikes()
            ids = _read_1d(root, legacy_ids, path)
            times = _read_1d(root, "timestamps", path)
            _check_lengths(path, "/spikes", ids, times)
            frames.append(_table(name, ids, times))
        for name, grp in root.items():
            if not isinstance(grp, h5py.Group):
                continue
            if population is not None and name != population:
                continue
            ids = _read_1d(grp, "node_ids", path)
            times = _read_1d(grp, "timestamps", path)
            _check_lengths(path, grp.name, ids, times)
            frames.append(_table(name, ids, times))
    if population is not None and not frames:
        raise SonataFormatError(
            f"no spikes for population {population!r}", path=path, field=f"/spikes/{population}"
        )
    return pd.concat(frames, ignore_index=True) if frames else empty_spikes()


def _read_1d(grp: h5py.Group, name: str, path: Path) -> np.ndarray:
    ds = require(grp, name, path)
    data = ds[()]
    if data.ndim != 1 or not (np.issubdtype(data.dtype, np.number)):
        raise SonataFormatError(
            f"expected a 1-D numeric dataset, found shape {data.shape} dtype {data.dtype}",
            path=path,
            field=ds.name,
        )
    if name != "timestamps" and not np.issubdtype(data.dtype, np.integer):
        raise SonataFormatError(
            f"node ids must be integers, found {data.dtype}", path=path, field=ds.name
        )
    return data


def _check_lengths(path: Path, where: str, ids: np.ndarray, times: np.ndarray) -> None:
    if len(ids) != len(times):
        raise SonataFormatError(
            f"node_ids has {len(ids)} entries but timestamps has {len(times)}",
            path=path,
            field=where,
        )


def _read_csv(path: Path, population: str | None, default_population: str | None) -> pd.DataFrame:
    import pandas as pd

    try:
        df = pd.read_csv(path, sep=r"\s+", engine="python", na_values=["NULL", "NONE"])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise SonataFormatError(f"cannot parse spikes CSV: {err}", path=path) from None
    cols = {c.strip().lower(): c for c in df.columns}
    tcol = next((cols[c] for c in _CSV_TIME if c in cols), None)
    icol = next((cols[c] for c in _CSV_ID if c in cols), None)
    if tcol is None or icol is None:
        raise SonataFormatError(
            f"spikes CSV needs columns 'timestamps' and 'node_ids'; found {list(df.columns)}",
            path=path,
        )
    pops = (
        df[cols["population"]].astype(str).to_numpy(object)
        if "population" in cols
        else np.full(len(df), default_population or "default", dtype=object)
    )
    out = pd.DataFrame(
        {
            "population": pops,
            "node_id": df[icol].to_numpy().astype(np.int64),
            "timestamp": df[tcol].to_numpy().astype(np.float64),
        }
    )
    if population is not None:
        out = out[out["population"] == population].reset_index(drop=True)
    return out


def read_spikes(
    path: str | os.PathLike[str],
    *,
    population: str | None = None,
    default_population: str | None = None,
) -> pd.DataFrame:
    """Read a SONATA spikes file (HDF5 or CSV) into a DataFrame.

    Parameters
    ----------
    path : path-like
        ``.h5``/``.hdf5``/``.sonata`` or ``.csv`` file.
    population : str, optional
        Keep only this population.
    default_population : str, optional
        Population name for spikes stored without one (legacy HDF5 layout, CSV without a
        ``population`` column). Defaults to ``"default"``.

    Returns
    -------
    pandas.DataFrame
        Columns ``population``, ``node_id`` (int64), ``timestamp`` (float64, ms), in file order.

    Raises
    ------
    MissingFileError, SonataFormatError
        Missing file, unreadable file, missing datasets, mismatched lengths, wrong dtypes.
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError("spikes file does not exist", path=p)
    if p.suffix.lower() in (".csv", ".txt"):
        return _read_csv(p, population, default_population)
    return _read_h5(p, population, default_population)


def _is_frame(obj: object) -> TypeGuard[pd.DataFrame]:
    """True for a pandas DataFrame (without importing pandas: none exists before it is)."""
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(obj, pd.DataFrame)


def _per_population(
    spikes: SpikeInput | tuple[np.ndarray, np.ndarray], population: str | None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{population: (node_ids, timestamps)}`` from any accepted input, without copies
    where the input already is arrays (no per-spike population strings are made)."""
    if _is_frame(spikes):
        import pandas as pd

        missing = {"node_id", "timestamp"} - set(spikes.columns)
        if missing:
            raise ConfigError(
                f"spikes table lacks columns {sorted(missing)}; expected {list(COLUMNS)}"
            )
        ids = spikes["node_id"].to_numpy()
        times = spikes["timestamp"].to_numpy()
        if "population" not in spikes.columns:
            if population is None:
                raise ConfigError("spikes table has no 'population' column; pass population=")
            return {population: (ids, times)}
        codes, names = pd.factorize(spikes["population"], sort=False)
        if len(names) == 1:
            return {str(names[0]): (ids, times)}
        return {str(name): (ids[codes == k], times[codes == k]) for k, name in enumerate(names)}
    if isinstance(spikes, tuple) and len(spikes) == 2:
        if population is None:
            raise ConfigError("pass population= when spikes are given as (node_ids, timestamps)")
        return {population: (np.asarray(spikes[0]), np.asarray(spikes[1]))}
    if isinstance(spikes, Mapping):
        out = {}
        for pop, value in spikes.items():
            ids, times = value
            out[str(pop)] = (np.asarray(ids), np.asarray(times))
        return out
    raise ConfigError(
        "spikes must be a DataFrame (population, node_id, timestamp), a {population: "
        f"(node_ids, timestamps)}} mapping or a (node_ids, timestamps) tuple; got {type(spikes)!r}"
    )


def _check(pop: str, ids: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(ids) != len(times):
        raise ConfigError(
            f"population {pop!r}: {len(ids)} node ids but {len(times)} timestamps",
            field="node_id",
        )
    if len(ids) and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0):
        raise ConfigError(
            f"population {pop!r}: spike node ids must be non-negative integers", field="node_id"
        )
    times = times.astype(np.float64, copy=False)
    if len(times) and not np.all(np.isfinite(times)):
        raise ConfigError(f"population {pop!r}: spike timestamps must be finite", field="timestamp")
    return ids, times


def _in_order(primary: np.ndarray, secondary: np.ndarray) -> bool:
    """True when rows are already sorted by (primary, secondary): an O(n) check."""
    if len(primary) < 2:
        return True
    step = np.diff(primary)
    if np.all(step > 0):
        return True
    if np.any(step < 0):
        return False
    return bool(np.all(np.diff(secondary)[step == 0] >= 0))


def _sorted_arrays(ids: np.ndarray, times: np.ndarray, order: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows of one population in ``order``; already ordered input is returned as it is."""
    if order == "by_time":
        if _in_order(times, ids):
            return ids, times
        idx = np.lexsort((ids, times))
    elif order == "by_id":
        if _in_order(ids, times):
            return ids, times
        idx = np.lexsort((times, ids))
    else:
        return ids, times
    return ids[idx], times[idx]


def write_spikes(
    path: str | os.PathLike[str],
    spikes: SpikeInput | tuple[np.ndarray, np.ndarray],
    *,
    sort_order: str = "by_time",
    population: str | None = None,
    populations: list[str] | None = None,
) -> None:
    """Write spikes as a SONATA HDF5 file (or CSV when ``path`` ends in ``.csv``).

    Parameters
    ----------
    path : path-like
        Destination; written through a temporary file and renamed.
    spikes : DataFrame, mapping or tuple
        ``DataFrame`` with ``population``/``node_id``/``timestamp``; ``{pop: (node_ids,
        timestamps)}``; or ``(node_ids, timestamps)`` together with ``population``.
    sort_order : {"by_time", "by_id", "none"}
        Order of the rows in each population (BMTK spellings ``time``/``gid`` accepted).
    population : str, optional
        Population of a tuple input or of a table without a ``population`` column.
    populations : list of str, optional
        Populations to write even when they have no spike (empty groups), so readers see them.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> write_spikes(p, (np.array([1, 0]), np.array([0.5, 0.2])), population="lgn")
    >>> open(p).read().splitlines()[:2]
    ['timestamps population node_ids', '0.2 lgn 0']
    """
    order = normalize_sort_order(sort_order)
    trains = {
        pop: _check(pop, ids, times)
        for pop, (ids, times) in _per_population(spikes, population).items()
    }
    for extra in populations or ():
        trains.setdefault(extra, (np.zeros(0, np.uint64), np.zeros(0)))
    sorted_trains = {pop: _sorted_arrays(ids, times, order) for pop, (ids, times) in trains.items()}
    dest = Path(path)
    if dest.suffix.lower() == ".csv":
        _write_csv(dest, sorted_trains)
        return
    with atomic_write(dest) as h5:
        root = h5.create_group("spikes")
        for name, (ids, times) in sorted_trains.items():
            grp = root.create_group(name)
            grp.attrs.create("sorting", SORTING_ENUM[order], dtype=SORTING_DTYPE)
            ts = grp.create_dataset("timestamps", data=times, dtype=np.float64)
            ts.attrs.create("units", "ms", dtype=STR_DTYPE)
            grp.create_dataset("node_ids", data=ids.astype(np.uint64, copy=False), dtype=np.uint64)


def _write_csv(dest: Path, trains: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    with atomic_text(dest) as fh:
        fh.write("timestamps population node_ids\n")
        for name, (ids, times) in trains.items():
            for t, i in zip(times.tolist(), ids.tolist()):
                fh.write(f"{t!r} {name} {int(i)}\n")
