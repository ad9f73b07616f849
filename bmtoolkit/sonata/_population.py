"""Shared machinery of node and edge populations: groups, types-table merge, id checks."""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from bmtoolkit.exceptions import NodeIdError, SonataFormatError
from bmtoolkit.sonata._h5 import open_h5
from bmtoolkit.sonata.groups import (
    SLAB_ROWS,
    H5Group,
    UnknownPropertyError,
    default_group_index,
    find_groups,
    group_ids,
    read_dataset,
    read_rows,
)
from bmtoolkit.sonata.types_table import TypesTable, read_types_table

if TYPE_CHECKING:  # pandas is imported only where a DataFrame is asked for
    import pandas as pd


def check_integer_dataset(ds: h5py.Dataset, path: Path, *, allow_integral_float: bool = False):
    """Raise unless ``ds`` is a 1-D integer dataset (optionally: float holding integers)."""
    kind = ds.dtype.kind
    if ds.ndim != 1:
        raise SonataFormatError(
            f"expected a 1-D dataset, found shape {ds.shape}", path=path, field=ds.name
        )
    if kind in "iu" or (allow_integral_float and kind == "f"):
        return
    raise SonataFormatError(
        f"expected an integer dataset, found dtype {ds.dtype}", path=path, field=ds.name
    )


def to_int64(values: np.ndarray, path: Path, field: str) -> np.ndarray:
    """Convert integer (or integral float) ids to int64, rejecting fractions and overflow."""
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)) or np.any(values != np.floor(values)):
            raise SonataFormatError("expected integer values", path=path, field=field)
    elif values.dtype.kind == "u" and values.size and values.max() > np.iinfo(np.int64).max:
        raise SonataFormatError("id exceeds the int64 range", path=path, field=field)
    if values.dtype.kind == "u" and values.dtype.itemsize == 8:
        return values.view(np.int64)  # same bits for ids below 2**63: no copy
    return values.astype(np.int64, copy=False)


def load_types(types_path, type_column: str, population: str) -> TypesTable:
    """Read a types table keyed by its id column (rows of ``population`` only if it has a
    ``population`` column naming it)."""
    if types_path is None:
        return TypesTable.empty(type_column)
    p = Path(types_path)
    table = read_types_table(p, id_column=type_column)
    if "population" in table.data:
        pops = table.data["population"].tolist()
        named = np.array([v == population for v in pops], dtype=bool)
        if named.any():
            unnamed = np.array([v is None or v != v for v in pops], dtype=bool)
            table = table.select(named | unnamed)
    if len(set(table.ids.tolist())) != len(table):
        raise SonataFormatError(
            f"{type_column} values repeat and no 'population' column value selects rows for "
            f"population {population!r}",
            path=p,
            field=type_column,
        )
    return table


def _combine(pieces: list[tuple[np.ndarray, np.ndarray | None]], n: int) -> np.ndarray:
    """Assemble (mask, values-or-None) pieces into one array of length n."""
    arrays = [v for _, v in pieces if v is not None]
    missing = any(v is None for _, v in pieces)
    if any(a.dtype.kind == "O" for a in arrays) or (
        missing and any(a.dtype.kind not in "biuf" for a in arrays)
    ):
        dtype = np.dtype(object)
    elif arrays:
        dtype = np.result_type(*arrays)
        if missing or (len(arrays) > 1 and any(a.dtype.kind == "b" for a in arrays)):
            dtype = np.result_type(dtype, np.float64) if dtype.kind != "b" else np.dtype(object)
    else:
        dtype = np.dtype(np.float64)
    shape = next((a.shape[1:] for a in arrays), ())
    out = np.empty((n, *shape), dtype=dtype)
    if dtype.kind == "f":
        out.fill(np.nan)
    elif dtype.kind == "O":
        out.fill(None)
    for mask, values in pieces:
        if values is not None:
            out[mask] = values
    return out


class PopulationBase:
    """Common reader of ``/<kind>/<name>``; subclasses are NodePopulation and EdgePopulation."""

    kind = ""
    type_column = ""
    id_name = ""
    group_id_name = ""
    group_index_name = ""
    reserved: tuple[str, ...] = ()

    def __init__(self, name: str, h5_path: Path, pop: h5py.Group, types_path=None) -> None:
        self.name = name
        self.h5_path = Path(h5_path)
        self._pop_path = pop.name
        self.types_table = load_types(types_path, self.type_column, name)
        self.groups: dict[int, H5Group] = find_groups(pop, self.h5_path)
        self._cache: dict[str, Any] = {}
        #: rows of the file this object stands for (None: all; see ``EdgePopulation.select``)
        self._rows: np.ndarray | None = None
        self._has = {key for key in pop if isinstance(pop[key], h5py.Dataset)}
        for key in (self.type_column, self.group_id_name, self.group_index_name):
            if key in self._has:
                check_integer_dataset(
                    pop[key], self.h5_path, allow_integral_float=key != self.type_column
                )
        self.size = 0

    # ----------------------------------------------------------------- raw datasets
    def _field(self, key: str) -> str:
        return f"{self._pop_path}/{key}"

    def _read(self, key: str, sel=None) -> np.ndarray:
        with open_h5(self.h5_path) as h5:
            try:
                ds = h5[self._field(key)]
            except KeyError:
                raise SonataFormatError(
                    "required dataset is missing", path=self.h5_path, field=self._field(key)
                ) from None
            if self._rows is not None and sel is None:
                return read_rows(ds, self.h5_path, self._rows)
            return read_dataset(ds, self.h5_path, sel)

    def slabs(self, key: str, slab: int | None = None):
        """``(first row, values)`` of a per-row dataset (``source_node_id``, the type ids
        ...), ``slab`` rows at a time: whole-population checks without the whole array.

        Examples
        --------
        >>> for lo, ids in pop.slabs("target_node_id"):  # doctest: +SKIP
        ...     print(lo, ids.max())
        """
        if self._rows is not None:
            yield 0, self._read(key)
            return
        slab = int(slab or SLAB_ROWS)
        for lo in range(0, self.size, slab):
            values = self._read(key, np.s_[lo : min(lo + slab, self.size)])
            yield lo, to_int64(values, self.h5_path, self._field(key))

    def clear_cache(self) -> None:
        """Forget the per-row arrays read so far (type ids, group ids and indices, edge
        indices): 8 bytes per row each, read again when next needed.

        Examples
        --------
        >>> pop.clear_cache()  # doctest: +SKIP
        """
        self._cache.clear()

    def _ids_dataset(self, key: str) -> np.ndarray:
        """A cached integer dataset of length ``size`` as int64."""
        if key not in self._cache:
            values = to_int64(self._read(key), self.h5_path, self._field(key))
            if len(values) != self.size:
                raise SonataFormatError(
                    f"expected length {self.size}, found {len(values)}",
                    path=self.h5_path,
                    field=self._field(key),
                )
            self._cache[key] = values
        return self._cache[key]

    def _type_ids(self) -> np.ndarray:
        return self._ids_dataset(self.type_column)

    def _group_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(group id, group index) per row, validated against the groups."""
        if "_gid" not in self._cache:
            if self.group_id_name in self._has:
                gid = self._ids_dataset(self.group_id_name)
            else:
                gid = np.zeros(self.size, dtype=np.int64)
            if self.group_index_name in self._has:
                gidx = self._ids_dataset(self.group_index_name)
            elif self._rows is not None and self.group_id_name in self._has:
                # the rows' places in their groups are counted over the whole file
                key = self.group_id_name
                every = to_int64(self._read(key, np.s_[:]), self.h5_path, self._field(key))
                gidx = default_group_index(every)[self._rows]
            elif self._rows is not None:  # one group: its rows are the file's rows
                gidx = self._rows.copy()
            else:
                gidx = default_group_index(gid)
            present = group_ids(gid)
            for g in present:
                grp = self.groups.get(int(g))
                if grp is None:
                    raise SonataFormatError(
                        f"refers to group {int(g)}, which does not exist "
                        f"(groups: {sorted(self.groups)})",
                        path=self.h5_path,
                        field=self._field(self.group_id_name),
                    )
                idx = gidx if len(present) == 1 else gidx[gid == g]
                has_data = bool(grp.attribute_names or grp.dynamics_param_names)
                if idx.size and (idx.min() < 0 or (has_data and idx.max() >= grp.size)):
                    raise SonataFormatError(
                        f"group index out of range for group {int(g)} of size {grp.size}",
                        path=self.h5_path,
                        field=self._field(self.group_index_name),
                    )
            self._cache["_gid"], self._cache["_gidx"] = gid, gidx
            single = len(self.groups) == 1 and bool(np.all(gid == next(iter(self.groups))))
            rows = np.arange(self.size) if self._rows is None else self._rows
            self._cache["_identity"] = np.asarray(single and bool(np.array_equal(gidx, rows)))
        return self._cache["_gid"], self._cache["_gidx"]

    def group_rows(self, ids=None) -> tuple[np.ndarray, np.ndarray]:
        """Group id and row inside that group of every element (or of ``ids``), as int64."""
        rows = self._check_ids(ids)
        gid, gidx = self._group_arrays()
        if rows is None:
            return gid.copy(), gidx.copy()
        return gid[rows], gidx[rows]

    # ----------------------------------------------------------------------- ids
    def _check_ids(self, ids, what: str | None = None) -> np.ndarray | None:
        if ids is None:
            return None
        arr = np.atleast_1d(np.asarray(ids))
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        if arr.dtype.kind not in "iu":
            raise NodeIdError(
                f"ids must be integers, got dtype {arr.dtype}",
                path=self.h5_path,
                field=what or self._pop_path,
            )
        if arr.min() < 0 or arr.max() >= self.size:
            bad = arr[(arr < 0) | (arr >= self.size)][:5].tolist()
            raise NodeIdError(
                f"ids {bad} are outside the population of size {self.size}",
                path=self.h5_path,
                field=what or self._pop_path,
            )
        return arr.astype(np.int64, copy=False)

    # ---------------------------------------------------------------- properties
    @property
    def types_path(self) -> Path | None:
        """The types table file (None without one)."""
        return self.types_table.path

    @cached_property
    def types(self) -> pd.DataFrame:
        """The types table as a DataFrame indexed by the type id (built on first use;
        :attr:`types_table` holds the same columns as numpy arrays)."""
        return self.types_table.to_frame(index=True)

    @property
    def property_names(self) -> list[str]:
        """H5 group attributes followed by types-table columns (not the type id)."""
        names: list[str] = []
        for grp in self.groups.values():
            names.extend(n for n in grp.attribute_names if n not in names)
        names.extend(str(c) for c in self.types_table.properties if c not in names)
        return names

    def _csv_values(self, name: str, type_ids: np.ndarray) -> np.ndarray:
        pos = self.types_table.positions(type_ids)
        if np.any(pos < 0):
            missing = sorted(set(type_ids[pos < 0].tolist()))[:5]
            raise SonataFormatError(
                f"{self.type_column} {missing} of {self.h5_path}:{self._pop_path} "
                "are not in the types table",
                path=self.types_path,
                field=self.type_column,
            )
        return self.types_table.data[name][pos]

    def _reserved(self, name: str, rows: np.ndarray | None) -> np.ndarray | None:
        if name == self.type_column:
            t = self._type_ids()
            return t if rows is None else t[rows]
        if name == self.id_name:
            every = np.arange(self.size, dtype=np.int64) if self._rows is None else self._rows
            return every.copy() if rows is None else every[rows]
        return None

    def column(self, name: str, ids=None) -> np.ndarray:
        """One property for all rows (or ``ids``): HDF5 value where present, else the types
        table value; ``@library`` codes decoded.

        Raises
        ------
        UnknownPropertyError
            Neither the HDF5 groups nor the types table hold ``name`` (a SonataFormatError
            and KeyError naming the file and property).
        NodeIdError
            An id is outside the population.
        """
        rows = self._check_ids(ids)
        reserved = self._reserved(name, rows)
        if reserved is not None:
            return reserved
        in_h5 = [g for g in self.groups.values() if name in g.attribute_names]
        in_csv = name in self.types_table.properties
        if not in_h5 and not in_csv:
            raise UnknownPropertyError(
                f"no property {name!r} in the HDF5 groups or the types table "
                f"(known: {self.property_names})",
                path=self.h5_path,
                field=self._field(name),
            )
        if not in_h5:
            t = self._type_ids()
            return self._csv_values(name, t if rows is None else t[rows])
        gid, gidx = self._group_arrays()
        if bool(self._cache["_identity"]):  # group rows are the file's rows
            if self._rows is None:
                wanted = rows
            else:
                wanted = self._rows if rows is None else self._rows[rows]
            return in_h5[0].read(name) if wanted is None else in_h5[0].read(name, rows=wanted)
        sel_gid = gid if rows is None else gid[rows]
        sel_gidx = gidx if rows is None else gidx[rows]
        pieces: list[tuple[np.ndarray, np.ndarray | None]] = []
        for g in group_ids(sel_gid):
            mask = sel_gid == g
            grp = self.groups[int(g)]
            if name in grp.attribute_names:
                pieces.append((mask, grp.read(name, rows=sel_gidx[mask])))
            elif in_csv:
                t = self._type_ids() if rows is None else self._type_ids()[rows]
                pieces.append((mask, self._csv_values(name, t[mask])))
            else:
                pieces.append((mask, None))
        return _combine(pieces, len(sel_gid))

    def columns(self, properties: Sequence[str] | str | None = None, ids=None) -> dict:
        """Properties as ``{name: array}`` in id order (types table merged, HDF5 overrides);
        the numpy twin of :meth:`get`, which needs no pandas.

        Examples
        --------
        >>> pop.columns(["model_type"], ids=[0, 2])  # doctest: +SKIP
        {'model_type': array(['biophysical', 'biophysical'], dtype=object)}
        """
        if isinstance(properties, str):
            properties = [properties]
        rows = self._check_ids(ids)
        names = list(properties) if properties is not None else self._default_columns()
        return {name: self.column(name, rows) for name in names}

    def get(self, properties: Sequence[str] | str | None = None, ids=None) -> pd.DataFrame:
        """Properties as a DataFrame indexed by id (types table merged, HDF5 overrides).

        2-D properties (e.g. ``positions``) become object columns holding one row each.
        """
        import pandas as pd

        rows = self._check_ids(ids)
        index = pd.Index(
            np.arange(self.size, dtype=np.int64) if rows is None else rows, name=self.id_name
        )
        data = {
            name: list(values) if values.ndim > 1 else values
            for name, values in self.columns(properties, rows).items()
        }
        return pd.DataFrame(data, index=index)

    def _default_columns(self) -> list[str]:
        return [self.type_column, *self.property_names]

    def dynamics_params(self, ids=None) -> pd.DataFrame:
        """Per-row ``dynamics_params`` from the HDF5 groups (NaN where a group lacks one)."""
        import pandas as pd

        rows = self._check_ids(ids)
        index = pd.Index(
            np.arange(self.size, dtype=np.int64) if rows is None else rows, name=self.id_name
        )
        names: list[str] = []
        for grp in self.groups.values():
            names.extend(n for n in grp.dynamics_param_names if n not in names)
        if not names:
            return pd.DataFrame(index=index)
        gid, gidx = self._group_arrays()
        sel_gid = gid if rows is None else gid[rows]
        sel_gidx = gidx if rows is None else gidx[rows]
        data = {}
        for name in names:
            pieces = []
            for g in group_ids(sel_gid):
                mask = sel_gid == g
                grp = self.groups[int(g)]
                if name in grp.dynamics_param_names:
                    pieces.append((mask, grp.read(name, dynamics=True)[sel_gidx[mask]]))
                else:
                    pieces.append((mask, None))
            data[name] = _combine(pieces, len(sel_gid))
        return pd.DataFrame(data, index=index)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, size={self.size}, "
            f"file={os.fspath(self.h5_path)!r})"
        )
