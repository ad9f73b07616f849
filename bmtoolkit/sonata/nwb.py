"""Reading spikes from NWB files (HDF5) without pynwb.

Two layouts are read:

- **NWB 2 units tables** (Allen Brain Observatory Neuropixels sessions and any NWB 2 file
  with sorted units): :func:`read_nwb_units` gives one row per unit with its spike times
  (seconds) and every scalar column of the units table, joined with the electrodes table on
  the unit's peak channel (``location``, ``probe_vertical_position`` ...), as BMTK's
  ``ecephys_probe`` input module sees them; :func:`read_nwb_intervals` gives an intervals
  table such as ``drifting_gratings_presentations`` (seconds).
- **BMTK's legacy NWB spike files** (``/processing/<trial>/spike_train/<node_id>/data``):
  :func:`read_nwb_spike_trains`.

Examples
--------
>>> units = read_nwb_units("session.nwb")  # doctest: +SKIP
>>> units.loc[951108382, "spike_times"][:3]  # doctest: +SKIP
array([3.1102, 3.2841, 3.9005])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from bmtoolkit.exceptions import MissingFileError, SonataFormatError

__all__ = [
    "nwb_interval_names",
    "read_nwb_intervals",
    "read_nwb_spike_trains",
    "read_nwb_units",
]

#: where NWB 2 keeps the electrodes table
ELECTRODES_PATH = "general/extracellular_ephys/electrodes"


def _open(path: str | os.PathLike[str]) -> h5py.File:
    p = Path(path)
    if not p.is_file():
        raise MissingFileError("NWB file not found", path=p)
    try:
        return h5py.File(p, "r")
    except OSError as err:
        raise SonataFormatError(f"not an HDF5/NWB file ({err})", path=p) from err


def _decode(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in ("S", "O"):
        return np.array([v.decode() if isinstance(v, bytes) else v for v in values], dtype=object)
    return values


def _table(group: h5py.Group, where: str) -> pd.DataFrame:
    """A DynamicTable as a DataFrame indexed by ``id``: scalar columns as they are, ragged
    columns (``<name>`` with ``<name>_index``) as one array per row; object references and
    compound columns are left out."""
    if "id" not in group:
        raise SonataFormatError("not an NWB table: no 'id' dataset", path=where)
    ids = group["id"][()]
    columns: dict[str, Any] = {}
    names = [
        n.decode() if isinstance(n, bytes) else str(n)
        for n in np.atleast_1d(group.attrs.get("colnames", []))
    ]
    names = names or [k for k in group if k != "id" and not k.endswith("_index")]
    for name in names:
        if name not in group or not isinstance(group[name], h5py.Dataset):
            continue
        data = group[name]
        if data.dtype.kind in ("V", "O") and data.dtype.names is not None:
            continue  # compound (e.g. timeseries references)
        if h5py.check_dtype(ref=data.dtype) is not None:
            continue
        values = _decode(data[()])
        index_name = f"{name}_index"
        if index_name in group:
            ends = group[index_name][()].astype(np.int64)
            starts = np.concatenate([[0], ends[:-1]])
            columns[name] = [values[a:b] for a, b in zip(starts, ends, strict=True)]
        elif len(values) == len(ids) and np.ndim(values) == 1:
            columns[name] = values
    return pd.DataFrame(columns, index=pd.Index(ids, name="id"))


def read_nwb_units(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The units table of an NWB 2 file, joined with its electrodes table.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``unit_id``; column ``spike_times`` holds one array per unit (seconds);
        the electrodes' columns (``location`` ...) are joined on ``peak_channel_id`` (renamed
        ``channel_id``) when the units table has it.

    Raises
    ------
    MissingFileError
        The file does not exist.
    SonataFormatError
        It is not HDF5 or has no ``/units`` table with ``spike_times``.
    """
    with _open(path) as fh:
        if "units" not in fh or "spike_times" not in fh["units"]:
            raise SonataFormatError("no units table with spike_times (/units)", path=path)
        units = _table(fh["units"], f"{path}:/units")
        electrodes = (
            _table(fh[ELECTRODES_PATH], f"{path}:/{ELECTRODES_PATH}")
            if (ELECTRODES_PATH in fh)
            else None
        )
    units.index.name = "unit_id"
    units = units.rename(columns={"peak_channel_id": "channel_id"})
    if electrodes is not None and "channel_id" in units.columns:
        electrodes = electrodes.drop(columns=[c for c in electrodes if c in units.columns])
        electrodes.index.name = "channel_id"
        units = (
            units.reset_index()
            .merge(electrodes.reset_index(), how="left", on="channel_id")
            .set_index("unit_id")
        )
    return units


def nwb_interval_names(path: str | os.PathLike[str]) -> list[str]:
    """Names of the intervals tables (``/intervals/*``) of an NWB 2 file."""
    with _open(path) as fh:
        return sorted(fh["intervals"]) if "intervals" in fh else []


def read_nwb_intervals(path: str | os.PathLike[str], name: str) -> pd.DataFrame:
    """One intervals table (``start_time``, ``stop_time`` in seconds and its other columns).

    Raises
    ------
    SonataFormatError
        No such table (the message lists those the file has).
    """
    with _open(path) as fh:
        group = fh.get(f"intervals/{name}")
        if group is None:
            known = sorted(fh["intervals"]) if "intervals" in fh else []
            raise SonataFormatError(f"no intervals table {name!r}; the file has {known}", path=path)
        return _table(group, f"{path}:/intervals/{name}")


def read_nwb_spike_trains(
    path: str | os.PathLike[str], *, trial: str | None = None, population: str | None = None
) -> pd.DataFrame:
    """Spike trains of BMTK's NWB spike files: ``/processing/<trial>/spike_train/<node_id>/data``.

    Parameters
    ----------
    trial : str, optional
        The ``/processing`` group to read; needed when the file has several.
    population : str, optional
        Population written in the result (the files have none).

    Returns
    -------
    pandas.DataFrame
        Columns ``population``, ``node_id``, ``timestamp`` (as stored: ms).
    """
    with _open(path) as fh:
        trials = sorted(fh["processing"]) if "processing" in fh else []
        if trial is None:
            if len(trials) != 1:
                raise SonataFormatError(
                    f"expected one trial in /processing, found {trials}: set the input's 'trial'",
                    path=path,
                )
            trial = trials[0]
        if trial not in trials or "spike_train" not in fh["processing"][trial]:
            raise SonataFormatError(
                f"no /processing/{trial}/spike_train (trials: {trials})", path=path
            )
        group = fh["processing"][trial]["spike_train"]
        ids, times = [], []
        for key in group:
            data = np.asarray(group[key]["data"][()], dtype=float).ravel()
            ids.append(np.full(len(data), int(key), dtype=np.int64))
            times.append(data)
    return pd.DataFrame(
        {
            "population": population,
            "node_id": np.concatenate(ids) if ids else np.zeros(0, np.int64),
            "timestamp": np.concatenate(times) if times else np.zeros(0),
        }
    )
