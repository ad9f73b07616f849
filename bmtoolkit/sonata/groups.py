"""Node and edge groups: the per-group attribute tables of a SONATA population.

A population's rows are split into groups (``0``, ``1``, ...); row ``i`` of the population
lives in group ``*_group_id[i]`` at row ``*_group_index[i]``. Each group holds one dataset
per attribute (length M, or (M, k)), an optional ``dynamics_params`` subgroup of per-row
parameter overrides and an optional ``@library`` subgroup of string enumerations whose
attribute datasets then hold integer codes.

:class:`GroupData` describes a group to write; :class:`H5Group` reads one lazily.

Column types: numbers keep their dtype; strings are written as variable-length UTF-8 and read
back as object arrays of ``str``; booleans are written as SONATA's int8 0/1 (tagged so that
our reader returns ``bool`` again).

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.sonata.groups import GroupData
>>> g = GroupData({"x": np.zeros(3), "model": np.array([0, 1, 0])},
...               library={"model": ["a", "b"]})
>>> g.size
3
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import h5py
import numpy as np

from bmtoolkit.exceptions import SonataFormatError, UnknownPropertyError  # noqa: F401 (re-exported)
from bmtoolkit.sonata._h5 import STR_DTYPE, open_h5
from bmtoolkit.sonata.storage import CONTIGUOUS, Storage

DYNAMICS = "dynamics_params"
LIBRARY = "@library"
#: dataset attribute marking an int8 column written from a boolean array
BOOL_MARKER = "bmtoolkit_bool"


def as_array(values, *, path=None, field_name: str | None = None) -> np.ndarray:
    """Turn a column into a numpy array; strings become an object array of ``str``."""
    arr = np.asarray(values)
    if arr.dtype.kind in "US":
        arr = arr.astype(str).astype(object)
    elif arr.dtype.kind == "O":
        if not all(isinstance(v, str) for v in arr.ravel()):
            raise SonataFormatError(
                "object columns must hold only strings", path=path, field=field_name
            )
    elif arr.dtype.kind not in "biuf":
        raise SonataFormatError(
            f"unsupported dtype {arr.dtype} (expected numbers, booleans or strings)",
            path=path,
            field=field_name,
        )
    if arr.ndim not in (1, 2):
        raise SonataFormatError(
            f"expected a 1-D or 2-D column, got shape {arr.shape}", path=path, field=field_name
        )
    return arr


def _frozen(mapping: Mapping | None, *, where: str, convert: bool) -> Mapping:
    out = {}
    for key, value in (mapping or {}).items():
        if not isinstance(key, str) or not key or "/" in key:
            raise SonataFormatError(f"invalid column name {key!r}", field=where)
        out[key] = as_array(value, field_name=f"{where}/{key}") if convert else tuple(value)
    return MappingProxyType(out)


@dataclass(frozen=True)
class GroupData:
    """Attribute columns of one node or edge group, as written to ``<population>/<id>/``.

    Parameters
    ----------
    attributes : mapping of str to array
        One column per attribute, each of the same length M (2-D columns have M rows).
    dynamics_params : mapping of str to array, optional
        Per-row parameter overrides, written under ``dynamics_params/``.
    library : mapping of str to sequence of str, optional
        ``@library`` enumerations: ``attributes[name]`` holds integer codes into
        ``library[name]``. Readers return the decoded strings.

    Examples
    --------
    >>> import numpy as np
    >>> GroupData({"syn_weight": np.ones(4), "nsyns": np.full(4, 2, np.uint16)}).size
    4
    """

    attributes: Mapping[str, np.ndarray]
    dynamics_params: Mapping[str, np.ndarray] = field(default_factory=dict)
    library: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        attrs = _frozen(self.attributes, where="attributes", convert=True)
        dyn = _frozen(self.dynamics_params, where=DYNAMICS, convert=True)
        lib = _frozen(self.library, where=LIBRARY, convert=False)
        object.__setattr__(self, "attributes", attrs)
        object.__setattr__(self, "dynamics_params", dyn)
        object.__setattr__(self, "library", lib)
        sizes = {f"attributes/{k}": len(v) for k, v in attrs.items()}
        sizes.update({f"{DYNAMICS}/{k}": len(v) for k, v in dyn.items()})
        if len(set(sizes.values())) > 1:
            raise SonataFormatError(f"group columns differ in length: {sizes}", field="attributes")
        for name, values in lib.items():
            codes = attrs.get(name)
            if codes is None or codes.dtype.kind not in "iu":
                raise SonataFormatError(
                    "an @library enumeration needs an integer code column of the same name",
                    field=f"{LIBRARY}/{name}",
                )
            if codes.size and (codes.min() < 0 or codes.max() >= len(values)):
                raise SonataFormatError(
                    f"@library codes must lie in [0, {len(values)})", field=f"attributes/{name}"
                )

    @property
    def size(self) -> int:
        """Number of rows M (0 for a group without columns)."""
        for values in (*self.attributes.values(), *self.dynamics_params.values()):
            return len(values)
        return 0


def group_ids(group_id: np.ndarray) -> np.ndarray:
    """The distinct group ids, sorted; one group (what writers make) needs no sort.

    ``np.unique`` would sort every row and, in numpy 2.4, import ``numpy.ma`` on its first
    call; a population with one group, the common case, is recognised by its min and max.

    Examples
    --------
    >>> import numpy as np
    >>> group_ids(np.array([1, 1, 1])).tolist(), group_ids(np.array([2, 0, 2])).tolist()
    ([1], [0, 2])
    """
    if group_id.size and group_id.min() == group_id.max():
        return group_id[:1]
    return np.unique(group_id)


def default_group_index(group_id: np.ndarray) -> np.ndarray:
    """Row of each element inside its group (``arange`` within each group id)."""
    if group_id.size == 0 or group_id.min() == group_id.max():
        return np.arange(len(group_id), dtype=np.int64)
    order = np.argsort(group_id, kind="stable")
    sorted_ids = group_id[order]
    starts = np.searchsorted(sorted_ids, sorted_ids, side="left")
    out = np.empty(len(group_id), dtype=np.int64)
    out[order] = np.arange(len(group_id)) - starts
    return out


#: rows per piece when large columns are written piecewise (bounds the temporaries)
CHUNK_ROWS = 1 << 22


@dataclass(frozen=True)
class RowSource:
    """Rows to gather into a written group, produced piece by piece.

    Attributes
    ----------
    size : int
        Number of rows.
    take : callable
        ``take(lo, hi)`` returns the source rows of written rows ``[lo, hi)`` as int64.

    Examples
    --------
    >>> import numpy as np
    >>> rows = np.array([2, 0, 1])
    >>> RowSource(3, lambda lo, hi: rows[lo:hi]).take(1, 3).tolist()
    [0, 1]
    """

    size: int
    take: Callable[[int, int], np.ndarray]

    @classmethod
    def of(cls, rows: np.ndarray) -> RowSource:
        """Wrap a full array of rows."""
        return cls(len(rows), lambda lo, hi: rows[lo:hi])


def write_pieces(
    parent: h5py.Group,
    name: str,
    n: int,
    dtype,
    piece: Callable[[int, int], np.ndarray],
    *,
    tail: tuple[int, ...] = (),
    chunk_rows: int | None = None,
    storage: Storage = CONTIGUOUS,
) -> h5py.Dataset:
    """Write a numeric dataset of ``n`` rows from ``piece(lo, hi)`` (one piece at a time).

    The file is the same as with ``create_dataset(name, data=whole)``; ``storage`` chooses
    chunking and compression (:mod:`bmtoolkit.sonata.storage`).
    """
    chunk = int(chunk_rows or CHUNK_ROWS)
    dtype = np.dtype(dtype)
    opts = storage.dataset_options(n, tail, dtype)
    if n <= chunk:
        return parent.create_dataset(name, data=np.asarray(piece(0, n), dtype=dtype), **opts)
    ds = parent.create_dataset(name, shape=(n, *tail), dtype=dtype, **opts)
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        ds[lo:hi] = np.asarray(piece(lo, hi), dtype=dtype)
    return ds


def _write_column(
    grp: h5py.Group,
    name: str,
    values: np.ndarray,
    rows: RowSource | None = None,
    chunk_rows: int | None = None,
    storage: Storage = CONTIGUOUS,
) -> None:
    if values.dtype.kind == "O":
        if rows is not None:
            values = values[rows.take(0, rows.size)]
        grp.create_dataset(name, data=values.astype(str).astype(object), dtype=STR_DTYPE)
        return
    n = len(values) if rows is None else rows.size
    if rows is None and values.dtype.kind != "b":
        grp.create_dataset(
            name, data=values, **storage.dataset_options(n, values.shape[1:], values.dtype)
        )
        return
    # SONATA stores booleans as int8 0/1 (libsonata rejects HDF5 enum booleans); the
    # marker attribute lets our reader give back a bool array
    dtype = np.int8 if values.dtype.kind == "b" else values.dtype

    def piece(lo: int, hi: int) -> np.ndarray:
        part = values[lo:hi] if rows is None else values[rows.take(lo, hi)]
        return part.astype(dtype, copy=False)

    ds = write_pieces(
        grp, name, n, dtype, piece, tail=values.shape[1:], chunk_rows=chunk_rows, storage=storage
    )
    if values.dtype.kind == "b":
        ds.attrs[BOOL_MARKER] = np.uint8(1)


def write_group(
    parent: h5py.Group,
    key: str,
    data: GroupData,
    rows: np.ndarray | RowSource | None = None,
    *,
    chunk_rows: int | None = None,
    storage: Storage = CONTIGUOUS,
):
    """Write ``data`` (optionally its ``rows`` in that order) as ``parent[key]``.

    ``rows`` may be an array or a :class:`RowSource`; large columns are gathered and written
    ``chunk_rows`` rows at a time, so no full reordered copy of a column is held.
    """
    if rows is not None and not isinstance(rows, RowSource):
        rows = RowSource.of(np.asarray(rows))
    grp = parent.create_group(key)
    for name, values in data.attributes.items():
        _write_column(grp, name, values, rows, chunk_rows, storage)
    if data.dynamics_params:
        dyn = grp.create_group(DYNAMICS)
        for name, values in data.dynamics_params.items():
            _write_column(dyn, name, values, rows, chunk_rows, storage)
    if data.library:
        lib = grp.create_group(LIBRARY)
        for name, strings in data.library.items():
            lib.create_dataset(name, data=np.asarray(list(strings), dtype=object), dtype=STR_DTYPE)
    return grp


def read_dataset(ds: h5py.Dataset, path, sel=None) -> np.ndarray:
    """Read a dataset (or the selection ``sel``) with strings decoded to ``str`` objects."""
    try:
        if h5py.check_string_dtype(ds.dtype) is not None:
            out = ds.asstr()[()] if sel is None else ds.asstr()[sel]
            return np.asarray(out, dtype=object)
        out = ds[()] if sel is None else ds[sel]
        if BOOL_MARKER in ds.attrs and out.dtype.kind in "iu":
            out = out.astype(bool)
        return out
    except (OSError, ValueError, TypeError) as err:
        raise SonataFormatError(f"cannot read dataset: {err}", path=path, field=ds.name) from None


#: rows per slab when a selection of rows is read (bounds the temporary read of a slab)
SLAB_ROWS = 1 << 21


def read_rows(ds: h5py.Dataset, path, rows: np.ndarray, *, slab: int | None = None) -> np.ndarray:
    """Rows ``rows`` of a dataset (any order, repeats allowed), read slab by slab.

    Reads only the slabs of ``slab`` consecutive rows that hold a wanted row, each from its
    first to its last wanted row, so the memory used is the result plus one slab, whatever
    the dataset's length (``slab`` defaults to :data:`SLAB_ROWS`). Strings are decoded as
    :func:`read_dataset` decodes them.

    Examples
    --------
    >>> import h5py, os, tempfile
    >>> f = h5py.File(os.path.join(tempfile.mkdtemp(), "r.h5"), "w")
    >>> ds = f.create_dataset("x", data=np.arange(10) * 10)
    >>> read_rows(ds, "r.h5", np.array([7, 2, 9, 2]), slab=4).tolist()
    [70, 20, 90, 20]
    """
    slab = int(slab or SLAB_ROWS)
    rows = np.asarray(rows, dtype=np.int64)
    n = ds.shape[0] if ds.shape else 1
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise SonataFormatError(
            f"rows {int(rows.min())}..{int(rows.max())} outside the dataset of {n} rows",
            path=path,
            field=ds.name,
        )
    ordered = rows.size < 2 or bool(np.all(rows[1:] >= rows[:-1]))
    order = None if ordered else np.argsort(rows, kind="stable")
    wanted = rows if order is None else rows[order]
    parts = []
    starts = np.searchsorted(wanted, np.arange(0, n + slab, slab, dtype=np.int64))
    for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        if a == b:
            continue
        lo, hi = int(wanted[a]), int(wanted[b - 1]) + 1
        block = read_dataset(ds, path, np.s_[lo:hi])
        parts.append(block[wanted[a:b] - lo])
    if parts:
        out = np.concatenate(parts) if len(parts) > 1 else parts[0]
    else:
        out = read_dataset(ds, path, np.s_[0:0])
    if order is not None:
        unsorted = np.empty_like(out)
        unsorted[order] = out
        out = unsorted
    return out


class H5Group:
    """Lazy view of one group ``<population>/<id>`` of a file.

    Attributes
    ----------
    h5_path : Path
        File holding the group.
    name : str
        HDF5 path of the group.
    size : int
        Rows M (from its first dataset; 0 for an empty group).
    attribute_names : list of str
        Datasets directly in the group (decoded through ``@library`` where present).
    dynamics_param_names : list of str
        Datasets under ``dynamics_params/``.
    library : dict of str to list of str
        ``@library`` enumerations.
    """

    def __init__(self, grp: h5py.Group, path: Path) -> None:
        self.h5_path = path
        self.name = grp.name
        self.attribute_names: list[str] = []
        self.dynamics_param_names: list[str] = []
        self.library: dict[str, list[str]] = {}
        self.shapes: dict[str, tuple[int, ...]] = {}
        sizes: dict[str, int] = {}
        for key, obj in grp.items():
            if isinstance(obj, h5py.Dataset):
                self.attribute_names.append(key)
                self.shapes[key] = obj.shape
                sizes[key] = obj.shape[0] if obj.shape else 1
            elif key == DYNAMICS:
                for pkey, pobj in obj.items():
                    if isinstance(pobj, h5py.Dataset):
                        self.dynamics_param_names.append(pkey)
                        sizes[f"{DYNAMICS}/{pkey}"] = pobj.shape[0] if pobj.shape else 1
            elif key == LIBRARY:
                for lkey, lobj in obj.items():
                    self.library[lkey] = [str(v) for v in read_dataset(lobj, path).tolist()]
        if len(set(sizes.values())) > 1:
            raise SonataFormatError(
                f"datasets of one group must have equal lengths, found {sizes}",
                path=path,
                field=self.name,
            )
        self.size = next(iter(sizes.values()), 0)

    def read(
        self, name: str, *, dynamics: bool = False, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Read one column, or its ``rows`` only (``@library`` codes decoded to ``str``)."""
        sub = f"{DYNAMICS}/{name}" if dynamics else name
        with open_h5(self.h5_path) as h5:
            try:
                ds = h5[f"{self.name}/{sub}"]
            except KeyError:
                raise UnknownPropertyError(
                    "no such dataset in the group", path=self.h5_path, field=f"{self.name}/{sub}"
                ) from None
            if rows is None:
                values = read_dataset(ds, self.h5_path)
            else:
                values = read_rows(ds, self.h5_path, rows)
        if not dynamics and name in self.library:
            labels = np.asarray(self.library[name], dtype=object)
            if values.dtype.kind not in "iu" or (
                values.size and (values.min() < 0 or values.max() >= len(labels))
            ):
                raise SonataFormatError(
                    f"@library codes must be integers in [0, {len(labels)})",
                    path=self.h5_path,
                    field=f"{self.name}/{name}",
                )
            values = labels[values]
        return values

    def __repr__(self) -> str:
        return f"H5Group({os.fspath(self.h5_path)!r}, {self.name!r}, size={self.size})"


def find_groups(pop: h5py.Group, path: Path) -> dict[int, H5Group]:
    """All numbered groups of a population."""
    out: dict[int, H5Group] = {}
    for key, obj in pop.items():
        if isinstance(obj, h5py.Group) and key.isdigit():
            out[int(key)] = H5Group(obj, path)
    return dict(sorted(out.items()))
