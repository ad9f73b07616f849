"""SONATA frame reports (soma and multi-compartment) and extracellular (ECP) reports.

Frame report layout written (``/report/<population>/``):

- ``data`` float32 (T, N_elements) with ``units`` (and ``variable`` when known);
- ``mapping/node_ids`` uint64 (attribute ``sorted`` uint8), ``mapping/index_pointers`` uint64
  (N + 1) plus a hard link ``mapping/index_pointer`` for BMTK, ``mapping/element_ids`` uint32,
  ``mapping/element_pos`` float32, ``mapping/time`` float64 ``[start, stop, dt]`` with
  ``units="ms"``.

Reading accepts BMTK's files too (float64 data, ``index_pointer`` only, no ``units``) and the
legacy single-cell layout (``/mapping/gids`` + ``/<variable>/data``).

**Time convention.** ``mapping/time = [start, stop, dt]`` and row ``i`` holds the value at
``start + i * dt`` in the spec's reading; BMTK's recorder stores the value *after* step
``i + 1`` in row ``i``. :meth:`FrameReport.times` takes ``shift_one_step=True`` for BMTK's
convention. Our simulators write the spec convention unless told otherwise.

Examples
--------
>>> import os, tempfile, numpy as np
>>> from bmtoolkit.sonata import FrameReportData, write_frame_report, read_frame_report
>>> rep = FrameReportData.soma("v1", node_ids=[0, 1], data=np.zeros((4, 2)), tstart=0, tstop=0.4, dt=0.1)
>>> path = os.path.join(tempfile.mkdtemp(), "v.h5")
>>> write_frame_report(path, [rep])
>>> r = read_frame_report(path)["v1"]
>>> r.n_steps, r.trace(1).shape
(4, (4, 1))
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from bmtoolkit.exceptions import ConfigError, NodeIdError, SonataFormatError
from bmtoolkit.sonata._h5 import STR_DTYPE, atomic_write, decode_str, open_h5, require


def n_frames(tstart: float, tstop: float, dt: float) -> int:
    """Number of rows for ``time = [tstart, tstop, dt]`` (right-open interval).

    Examples
    --------
    >>> n_frames(0.0, 4000.0, 0.1)
    40000
    """
    if dt <= 0:
        raise ConfigError(f"report dt must be > 0, got {dt}", field="dt")
    return int(round((tstop - tstart) / dt))


@dataclass(frozen=True)
class FrameReportData:
    """One population's frame report, ready to write.

    Parameters
    ----------
    population : str
        Node population name.
    node_ids : array of int, shape (N,)
    index_pointers : array of int, shape (N + 1,)
        Columns ``index_pointers[i]:index_pointers[i+1]`` of ``data`` belong to ``node_ids[i]``.
    element_ids, element_pos : arrays, shape (N_el,)
        Section id and position along the section of each column.
    data : array, shape (T, N_el)
    tstart, tstop, dt : float
        ``T`` must equal ``round((tstop - tstart) / dt)``.
    units : str
    variable : str, optional
    """

    population: str
    node_ids: np.ndarray
    index_pointers: np.ndarray
    element_ids: np.ndarray
    element_pos: np.ndarray
    data: np.ndarray
    tstart: float
    tstop: float
    dt: float
    units: str = "mV"
    variable: str | None = None
    extra_attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = np.asarray(self.node_ids)
        ptr = np.asarray(self.index_pointers)
        data = np.asarray(self.data)
        where = f"report of population {self.population!r}"
        if data.ndim != 2:
            raise ConfigError(f"{where}: data must be 2-D (T, N_elements), got shape {data.shape}")
        if ptr.shape != (len(ids) + 1,):
            raise ConfigError(f"{where}: index_pointers must have N+1 = {len(ids) + 1} entries")
        if len(ptr) and (ptr[0] != 0 or ptr[-1] != data.shape[1] or np.any(np.diff(ptr) < 0)):
            raise ConfigError(
                f"{where}: index_pointers must rise from 0 to the number of columns {data.shape[1]}"
            )
        for name in ("element_ids", "element_pos"):
            if len(np.asarray(getattr(self, name))) != data.shape[1]:
                raise ConfigError(f"{where}: {name} must have one entry per column of data")
        expected = n_frames(self.tstart, self.tstop, self.dt)
        if data.shape[0] != expected:
            raise ConfigError(
                f"{where}: data has {data.shape[0]} rows but time [{self.tstart}, {self.tstop}, "
                f"{self.dt}] implies {expected}"
            )

    @classmethod
    def soma(
        cls,
        population: str,
        node_ids: Sequence[int] | np.ndarray,
        data: np.ndarray,
        tstart: float,
        tstop: float,
        dt: float,
        *,
        units: str = "mV",
        variable: str | None = None,
    ) -> FrameReportData:
        """A soma report: one column per node, ``element_ids`` 0 and ``element_pos`` 0.5."""
        ids = np.asarray(node_ids, dtype=np.int64)
        n = len(ids)
        return cls(
            population=population,
            node_ids=ids,
            index_pointers=np.arange(n + 1, dtype=np.uint64),
            element_ids=np.zeros(n, np.uint32),
            element_pos=np.full(n, 0.5, np.float32),
            data=np.asarray(data),
            tstart=float(tstart),
            tstop=float(tstop),
            dt=float(dt),
            units=units,
            variable=variable,
        )


def write_frame_report(path: str | os.PathLike[str], reports: Sequence[FrameReportData]) -> None:
    """Write one or more populations' frame reports to one file (atomic).

    Examples
    --------
    See the module docstring.
    """
    names = [r.population for r in reports]
    if len(set(names)) != len(names):
        raise ConfigError(f"one report per population, got {names}", path=path)
    with atomic_write(path) as h5:
        root = h5.create_group("report")
        for rep in reports:
            grp = root.create_group(rep.population)
            data = np.asarray(rep.data, dtype=np.float32)
            chunks = (min(max(data.shape[0], 1), 1024), min(max(data.shape[1], 1), 256))
            ds = grp.create_dataset(
                "data", data=data, chunks=chunks if data.size else None, dtype=np.float32
            )
            ds.attrs.create("units", rep.units, dtype=STR_DTYPE)
            if rep.variable:
                ds.attrs.create("variable", rep.variable, dtype=STR_DTYPE)
            for key, value in rep.extra_attrs.items():
                ds.attrs[key] = value
            m = grp.create_group("mapping")
            ids = np.asarray(rep.node_ids).astype(np.uint64)
            nid = m.create_dataset("node_ids", data=ids, dtype=np.uint64)
            nid.attrs["sorted"] = np.uint8(bool(np.all(np.diff(ids.astype(np.int64)) >= 0)))
            m.create_dataset(
                "index_pointers", data=np.asarray(rep.index_pointers, np.uint64), dtype=np.uint64
            )
            m["index_pointer"] = m["index_pointers"]  # hard link: BMTK's name
            m.create_dataset("element_ids", data=np.asarray(rep.element_ids), dtype=np.uint32)
            m.create_dataset("element_pos", data=np.asarray(rep.element_pos), dtype=np.float32)
            t = m.create_dataset(
                "time", data=np.array([rep.tstart, rep.tstop, rep.dt], np.float64), dtype=np.float64
            )
            t.attrs.create("units", "ms", dtype=STR_DTYPE)


class FrameReport:
    """One population of a frame report file, read lazily.

    Attributes
    ----------
    population, node_ids, index_pointers, element_ids, element_pos, tstart, tstop, dt,
    units, variable, n_steps
    """

    def __init__(self, path: Path, h5path: str, data_path: str, mapping_path: str) -> None:
        self.path = path
        self._h5path = h5path
        self._data_path = data_path
        with open_h5(path) as h5:
            grp = require(h5, h5path, path) if h5path else h5
            mapping = require(h5, mapping_path, path)
            data = require(h5, data_path, path)
            self.population = h5path.rsplit("/", 1)[-1] if h5path else "default"
            ids_name = "node_ids" if "node_ids" in mapping else "gids"
            self.node_ids = require(mapping, ids_name, path)[()].astype(np.int64).ravel()
            ptr_name = next((n for n in ("index_pointers", "index_pointer") if n in mapping), None)
            if ptr_name is None:
                raise SonataFormatError(
                    "mapping has neither index_pointers nor index_pointer",
                    path=path,
                    field=mapping.name,
                )
            ptr = mapping[ptr_name][()].astype(np.int64).ravel()
            self.shape = tuple(data.shape) if data.ndim == 2 else (data.shape[0], 1)
            if len(ptr) == len(self.node_ids):  # older files: N entries, last one implied
                ptr = np.append(ptr, self.shape[1])
            self.index_pointers = ptr
            el_name = "element_ids" if "element_ids" in mapping else "element_id"
            self.element_ids = (
                mapping[el_name][()].astype(np.int64).ravel()
                if el_name in mapping
                else np.zeros(self.shape[1], np.int64)
            )
            self.element_pos = (
                mapping["element_pos"][()].astype(np.float64).ravel()
                if "element_pos" in mapping
                else np.full(self.shape[1], 0.5)
            )
            if "time" in mapping:
                t = mapping["time"][()].astype(np.float64)
                self.tstart, self.tstop, self.dt = (float(t[0]), float(t[1]), float(t[2]))
            else:
                self.tstart, self.tstop, self.dt = 0.0, float("nan"), float("nan")
            self.units = decode_str(data.attrs["units"]) if "units" in data.attrs else None
            var = data.attrs.get("variable")
            self.variable = (
                decode_str(var)
                if var is not None
                else (data_path.rsplit("/", 2)[-2] if data_path.count("/") and not h5path else None)
            )
            self.n_steps = int(self.shape[0])
            del grp
        if self.index_pointers[-1] != self.shape[1]:
            raise SonataFormatError(
                f"index pointers end at {self.index_pointers[-1]} but data has {self.shape[1]} columns",
                path=path,
                field=mapping_path,
            )

    def __repr__(self) -> str:
        return (
            f"FrameReport({self.population!r}, nodes={len(self.node_ids)}, "
            f"elements={self.shape[1]}, steps={self.n_steps}, dt={self.dt})"
        )

    def times(self, *, shift_one_step: bool = False) -> np.ndarray:
        """Time of each row in ms; ``shift_one_step=True`` gives BMTK's ``start + (i+1) dt``."""
        offset = 1 if shift_one_step else 0
        return self.tstart + (np.arange(self.n_steps) + offset) * self.dt

    @cached_property
    def _row_of_node(self) -> dict[int, int]:
        return {int(n): i for i, n in enumerate(self.node_ids)}

    def columns(self, node_id: int) -> slice:
        """Columns of ``data`` holding ``node_id``."""
        try:
            i = self._row_of_node[int(node_id)]
        except KeyError:
            raise NodeIdError(
                f"node {node_id} is not in this report (population {self.population!r})",
                path=self.path,
                field=f"{self._h5path}/mapping/node_ids",
            ) from None
        return slice(int(self.index_pointers[i]), int(self.index_pointers[i + 1]))

    def data(
        self,
        node_ids: Sequence[int] | None = None,
        time_window: tuple[float, float] | None = None,
    ) -> np.ndarray:
        """Return data rows (all or within ``time_window`` [t0, t1)) for all or some nodes."""
        rows = slice(None)
        if time_window is not None:
            t = self.times()
            lo, hi = (
                np.searchsorted(t, time_window[0] - 1e-9),
                np.searchsorted(t, time_window[1] - 1e-9),
            )
            rows = slice(int(lo), int(hi))
        with open_h5(self.path) as h5:
            ds = h5[self._data_path]
            if ds.ndim == 1:
                block = ds[rows][:, None]
            elif node_ids is None:
                block = ds[rows, :]
            else:
                cols = (
                    np.concatenate(
                        [np.arange(s.start, s.stop) for s in (self.columns(n) for n in node_ids)]
                    )
                    if len(node_ids)
                    else np.zeros(0, np.int64)
                )
                order = np.argsort(cols)
                picked = ds[rows, :][:, cols[order]] if len(cols) else np.zeros((self.n_steps, 0))
                block = np.empty_like(picked)
                block[:, order] = picked
        return block

    def trace(self, node_id: int) -> np.ndarray:
        """Data of one node, shape (T, n_elements_of_node)."""
        return self.data([node_id])


def read_frame_report(
    path: str | os.PathLike[str], *, default_population: str | None = None
) -> dict[str, FrameReport]:
    """Open a frame report file; return ``{population: FrameReport}``.

    Raises
    ------
    MissingFileError, SonataFormatError
    """
    p = Path(path)
    out: dict[str, FrameReport] = {}
    with open_h5(p) as h5:
        if "report" in h5:
            pops = [k for k, v in h5["report"].items() if isinstance(v, h5py.Group)]
            locations = [
                (f"/report/{k}", f"/report/{k}/data", f"/report/{k}/mapping") for k in pops
            ]
        elif "mapping" in h5:  # legacy single-cell layout: /mapping + /<variable>/data
            data_groups = [k for k, v in h5.items() if isinstance(v, h5py.Group) and "data" in v]
            if not data_groups:
                raise SonataFormatError("legacy report has no <variable>/data", path=p)
            locations = [("", f"/{data_groups[0]}/data", "/mapping")]
        else:
            raise SonataFormatError(
                "not a frame report: expected a /report group", path=p, field="/report"
            )
    for h5path, data_path, mapping_path in locations:
        rep = FrameReport(p, h5path, data_path, mapping_path)
        if not h5path and default_population:
            rep.population = default_population
        out[rep.population] = rep
    return out


@dataclass(frozen=True)
class EcpReport:
    """An extracellular potential report: ``data`` (T, n_channels) in ``units``."""

    channel_ids: np.ndarray
    data: np.ndarray
    tstart: float
    tstop: float
    dt: float
    units: str = "mV"


def write_ecp_report(
    path: str | os.PathLike[str],
    data: np.ndarray,
    channel_ids: Sequence[int] | np.ndarray,
    tstart: float,
    tstop: float,
    dt: float,
    units: str = "mV",
) -> None:
    """Write an ECP report in the layout BMTK reads: ``/ecp/{data (T, n_ch), channel_id, time}``.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "ecp.h5")
    >>> write_ecp_report(p, np.zeros((10, 3)), [0, 1, 2], 0.0, 1.0, 0.1)
    >>> read_ecp_report(p).data.shape
    (10, 3)
    """
    arr = np.asarray(data, dtype=np.float32)
    ch = np.asarray(channel_ids, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[1] != len(ch):
        raise ConfigError(f"ECP data must be (T, {len(ch)} channels), got {arr.shape}", path=path)
    if arr.shape[0] != n_frames(tstart, tstop, dt):
        raise ConfigError(
            f"ECP data has {arr.shape[0]} rows; time [{tstart}, {tstop}, {dt}] implies "
            f"{n_frames(tstart, tstop, dt)}",
            path=path,
        )
    with atomic_write(path) as h5:
        grp = h5.create_group("ecp")
        ds = grp.create_dataset("data", data=arr, dtype=np.float32)
        ds.attrs.create("units", units, dtype=STR_DTYPE)
        grp.create_dataset("channel_id", data=ch, dtype=np.int64)
        t = grp.create_dataset("time", data=np.array([tstart, tstop, dt], np.float64))
        t.attrs.create("units", "ms", dtype=STR_DTYPE)


def read_ecp_report(path: str | os.PathLike[str]) -> EcpReport:
    """Read an ECP report (BMTK layout ``/ecp`` or the spec's root ``data``/``channel_id``)."""
    p = Path(path)
    with open_h5(p) as h5:
        grp = h5["ecp"] if "ecp" in h5 else h5
        data = require(grp, "data", p)[()]
        ch = require(grp, "channel_id", p)[()].astype(np.int64).ravel()
        t = require(grp, "time", p)[()].astype(np.float64)
        units = decode_str(grp["data"].attrs.get("units", "mV"))
    if data.ndim != 2:
        raise SonataFormatError(f"ECP data must be 2-D, got {data.shape}", path=p, field="data")
    if data.shape[1] != len(ch) and data.shape[0] == len(ch):
        data = data.T  # the spec stores (channels, time)
    return EcpReport(ch, data, float(t[0]), float(t[1]), float(t[2]), units)


#: columns of BMTK's weight-recorder table, in its order
WEIGHT_EVENT_COLUMNS: tuple[str, ...] = (
    "source_node_id",
    "source_population",
    "target_node_id",
    "target_population",
    "time_ms",
    "weights",
    "receptors",
    "ports",
)


def write_weight_events(path: str | os.PathLike[str], table: Any) -> Path:
    """Write a weight-recorder table (one row per transmitted spike) as BMTK writes it: space
    separated, a header of :data:`WEIGHT_EVENT_COLUMNS`; written to a temporary file and
    renamed, so a failed write leaves no partial file.

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> df = pd.DataFrame({c: [0] for c in WEIGHT_EVENT_COLUMNS})
    >>> p = write_weight_events(Path(tempfile.mkdtemp()) / "w.csv", df)
    >>> p.read_text().splitlines()[0].split()[:3]
    ['source_node_id', 'source_population', 'target_node_id']
    """
    from bmtoolkit.sonata._h5 import atomic_text

    missing = [c for c in WEIGHT_EVENT_COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"weight events table lacks columns {missing}", path=str(path))
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_text(dest, newline="") as fh:
        table.loc[:, list(WEIGHT_EVENT_COLUMNS)].to_csv(fh, sep=" ", index=False)
    return dest
