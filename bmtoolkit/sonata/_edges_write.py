"""Writing SONATA edge populations: ids sorted, groups packed, the index built piecewise.

:func:`write_edges` and :class:`EdgePopulationData` are used through
:mod:`bmtoolkit.sonata.edges` (or :mod:`bmtoolkit.sonata`), which re-exports them beside the
reader.

Examples
--------
>>> from bmtoolkit.sonata.edges import EdgePopulationData
>>> EdgePopulationData.single_group(
...     "a_to_b", "a", "b", source_node_id=[0], target_node_id=[0], edge_type_id=[1]
... ).size
1
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import h5py
import numpy as np

from bmtoolkit.exceptions import NodeIdError, SonataFormatError
from bmtoolkit.sonata._h5 import STR_DTYPE, atomic_write
from bmtoolkit.sonata.builds import stamp_edges
from bmtoolkit.sonata.groups import (
    GroupData,
    RowSource,
    default_group_index,
    write_group,
    write_pieces,
)
from bmtoolkit.sonata.index import (
    INDEX_GROUP_NAMES,
    NODE_TABLE_NAMES,
    RANGE_TABLE,
    EdgeOrder,
    IndexStream,
    pieces,
)
from bmtoolkit.sonata.nodes import check_groups, freeze_groups, population_list
from bmtoolkit.sonata.storage import Storage

__all__ = ["CHUNK_ROWS", "EdgePopulationData", "write_edges"]

#: rows per piece when large datasets are permuted, filled or indexed piecewise
CHUNK_ROWS = 1 << 22


def _int_ids(values, *, field: str, name: str) -> np.ndarray:
    """A 1-D integer array as int64 (no copy when it already is one)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise SonataFormatError(f"expected a 1-D array, got shape {arr.shape}", field=field)
    if arr.size and arr.dtype.kind not in "iu":
        raise SonataFormatError(
            f"expected integers for population {name!r}, got dtype {arr.dtype}", field=field
        )
    return arr.astype(np.int64, copy=False)


def _constant(values: np.ndarray, chunk: int = CHUNK_ROWS) -> bool:
    """Whether every value equals the first one (checked piecewise)."""
    if values.size == 0:
        return True
    first = values[0]
    return all(bool(np.all(values[lo:hi] == first)) for lo, hi in pieces(len(values), chunk))


def _is_arange(values: np.ndarray, chunk: int = CHUNK_ROWS) -> bool:
    """Whether ``values`` is ``0, 1, ..., n-1`` (checked piecewise)."""
    return all(
        bool(np.array_equal(values[lo:hi], np.arange(lo, hi)))
        for lo, hi in pieces(len(values), chunk)
    )


class _GroupColumn:
    """Field of :class:`EdgePopulationData` whose default is built on access, never stored.

    Populations in one group in edge order (the usual case) then hold no ``edge_group_id``
    or ``edge_group_index`` arrays: the writer fills those datasets piecewise.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name
        self._slot = f"_{name}_given"

    def __get__(self, obj, objtype=None):
        if obj is None:
            return None  # the dataclass default
        value = obj.__dict__.get(self._slot)
        if value is not None:
            return value
        gid = obj.__dict__.get("_edge_group_id_given")
        if self._name == "edge_group_id" or gid is None:
            n = obj.size
            return np.zeros(n, np.int64) if self._name == "edge_group_id" else np.arange(n)
        return default_group_index(gid)

    def __set__(self, obj, value) -> None:
        obj.__dict__[self._slot] = value


@dataclass(frozen=True)
class EdgePopulationData:
    """One edge population to write.

    Parameters
    ----------
    name : str
        Population name (``/edges/<name>``).
    source_population, target_population : str
        Node populations the ids refer to (``node_population`` attributes).
    source_node_id, target_node_id, edge_type_id : array of int, shape (E,)
        Held as int64; int64 arrays are kept as given, without a copy (do not change them
        before writing).
    groups : mapping of int to GroupData
        Usually ``{0: GroupData({"syn_weight": ..., "nsyns": ...})}``.
    edge_group_id, edge_group_index : array of int, optional
        Default: all in group 0, ``arange`` within each group. Defaults are built when the
        attribute is read, not stored, so a large single-group population costs no memory
        for them.

    Examples
    --------
    >>> import numpy as np
    >>> EdgePopulationData("a_to_b", "a", "b", np.array([0]), np.array([1]), np.array([5]),
    ...                    {0: GroupData({"syn_weight": np.ones(1)})}).size
    1
    """

    name: str
    source_population: str
    target_population: str
    source_node_id: np.ndarray
    target_node_id: np.ndarray
    edge_type_id: np.ndarray
    groups: Mapping[int, GroupData]
    edge_group_id: np.ndarray | None = _GroupColumn()  # type: ignore[assignment]
    edge_group_index: np.ndarray | None = _GroupColumn()  # type: ignore[assignment]

    def __post_init__(self) -> None:
        for key in ("name", "source_population", "target_population"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value or "/" in value:
                raise SonataFormatError(f"invalid population name {value!r}", field=key)
        arrays = {
            key: _int_ids(getattr(self, key), field=key, name=self.name)
            for key in ("source_node_id", "target_node_id", "edge_type_id")
        }
        n = len(arrays["edge_type_id"])
        gid = self.__dict__.get("_edge_group_id_given")
        if gid is not None:
            gid = arrays["edge_group_id"] = _int_ids(gid, field="edge_group_id", name=self.name)
        gidx = self.__dict__.get("_edge_group_index_given")
        if gidx is not None:
            arrays["edge_group_index"] = _int_ids(gidx, field="edge_group_index", name=self.name)
        elif gid is not None and not _constant(gid):
            arrays["edge_group_index"] = default_group_index(gid)
        for key, arr in arrays.items():
            if len(arr) != n:
                raise SonataFormatError(
                    f"population {self.name!r}: length {len(arr)} differs from "
                    f"edge_type_id length {n}",
                    field=key,
                )
            if key.endswith("node_id") and arr.size and arr.min() < 0:
                raise NodeIdError(f"population {self.name!r}: negative node id", field=key)
        groups = freeze_groups(self.groups, name=self.name)
        if n and not groups:
            groups = freeze_groups({0: GroupData({})}, name=self.name)
        gidx = arrays.get("edge_group_index")
        if gidx is None:
            # rows 0..n-1 of one group: the two extremes stand for the whole column
            m = min(n, 2)
            g = int(gid[0]) if gid is not None and n else 0
            ends = np.array([0, n - 1][:m], dtype=np.int64)
            check_groups(groups, np.full(m, g, np.int64), ends, name=self.name, prefix="edge")
        else:
            gid_all = gid if gid is not None else np.zeros(n, np.int64)
            check_groups(groups, gid_all, gidx, name=self.name, prefix="edge")
        for key, arr in arrays.items():
            object.__setattr__(self, key, arr)
        object.__setattr__(self, "groups", groups)

    def _group_columns(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The stored ``edge_group_id`` and ``edge_group_index`` (None where default)."""
        return self.__dict__.get("_edge_group_id_given"), self.__dict__.get(
            "_edge_group_index_given"
        )

    @property
    def size(self) -> int:
        """Number of edges E."""
        return len(self.edge_type_id)

    @classmethod
    def single_group(
        cls,
        name: str,
        source_population: str,
        target_population: str,
        source_node_id,
        target_node_id,
        edge_type_id,
        attributes: Mapping[str, np.ndarray] | None = None,
        dynamics_params: Mapping[str, np.ndarray] | None = None,
    ) -> EdgePopulationData:
        """A population whose edges all live in group ``0`` in order.

        Examples
        --------
        >>> EdgePopulationData.single_group("a_to_a", "a", "a", [0, 1], [1, 0], [1, 1]).size
        2
        """
        group = GroupData(dict(attributes or {}), dict(dynamics_params or {}))
        return cls(
            name,
            source_population,
            target_population,
            np.asarray(source_node_id),
            np.asarray(target_node_id),
            np.asarray(edge_type_id),
            {0: group},
        )


def _n_nodes(arg, pop: EdgePopulationData, node_pop: str, ids: np.ndarray, what: str, path) -> int:
    if isinstance(arg, Mapping):
        arg = arg.get(pop.name, arg.get(node_pop))
    top = int(ids.max()) + 1 if ids.size else 0
    if arg is None:
        return top
    n = int(arg)
    if top > n:
        raise NodeIdError(
            f"population {pop.name!r}: id {top - 1} is outside the {n} nodes of {node_pop!r}",
            path=path,
            field=f"/edges/{pop.name}/{what}",
        )
    return n


def _write_index(
    grp: h5py.Group, direction: str, ids, n_edges: int, n_nodes: int, chunk: int, storage: Storage
) -> None:
    """Write one direction of the index from key ids read piecewise (``ids(lo, hi)``)."""
    sub = grp.require_group(INDEX_GROUP_NAMES[0]).create_group(direction)
    stream = IndexStream(ids, n_edges, n_nodes, chunk_rows=chunk)
    table = stream.node_to_range
    opts = storage.dataset_options(len(table), table.shape[1:], table.dtype)
    sub.create_dataset(NODE_TABLE_NAMES[0], data=table, **opts)
    sub[NODE_TABLE_NAMES[1]] = sub[NODE_TABLE_NAMES[0]]  # hard link: BMTK's spelling
    write_pieces(
        sub,
        RANGE_TABLE,
        stream.n_ranges,
        np.uint64,
        stream.range_rows,
        tail=(2,),
        chunk_rows=chunk,
        storage=storage,
    )


def _as_u64(values: np.ndarray) -> np.ndarray:
    """Non-negative int64 ids as uint64 without a copy."""
    if values.dtype == np.int64:
        return values.view(np.uint64)
    return values.astype(np.uint64)


def _slicer(values: np.ndarray) -> Callable[[int, int], np.ndarray]:
    return lambda lo, hi: values[lo:hi]


def _write_ids(grp, key: str, n: int, piece, node_pop: str, chunk: int, storage: Storage) -> None:
    ds = write_pieces(
        grp,
        key,
        n,
        np.uint64,
        lambda lo, hi: _as_u64(piece(lo, hi)),
        chunk_rows=chunk,
        storage=storage,
    )
    ds.attrs.create("node_population", node_pop, dtype=STR_DTYPE)


def _write_in_order(
    grp: h5py.Group, pop: EdgePopulationData, order, chunk: int, storage: Storage
) -> None:
    """One group holding every edge, rows in edge order: datasets written piecewise.

    No group id/index arrays and no permuted copy of a column are made; with an ``order``
    every piece is gathered (or decoded from the sort keys) as it is written.
    """
    n = pop.size
    src, trg, type_id = pop.source_node_id, pop.target_node_id, pop.edge_type_id
    gid, _ = pop._group_columns()
    group_value = int(gid[0]) if gid is not None else 0
    rows: RowSource | None = None
    if order is None:
        source, target = _slicer(src), _slicer(trg)
        edge_type = _slicer(type_id)
    else:
        source, target = order.source, order.target
        edge_type = lambda lo, hi: type_id[order.rows(lo, hi)]  # noqa: E731
        rows = RowSource(n, order.rows)
    _write_ids(grp, "source_node_id", n, source, pop.source_population, chunk, storage)
    _write_ids(grp, "target_node_id", n, target, pop.target_population, chunk, storage)
    write_pieces(grp, "edge_type_id", n, np.int64, edge_type, chunk_rows=chunk, storage=storage)
    fill = lambda lo, hi: np.full(hi - lo, group_value, np.uint32)  # noqa: E731
    write_pieces(grp, "edge_group_id", n, np.uint32, fill, chunk_rows=chunk, storage=storage)
    arange = lambda lo, hi: np.arange(lo, hi, dtype=np.uint64)  # noqa: E731
    write_pieces(grp, "edge_group_index", n, np.uint64, arange, chunk_rows=chunk, storage=storage)
    ((key, data),) = pop.groups.items()
    write_group(grp, str(key), data, rows, chunk_rows=chunk, storage=storage)


def _write_grouped(
    grp: h5py.Group, pop: EdgePopulationData, sort: bool, order, chunk: int, storage: Storage
):
    """Several groups, or group rows out of edge order: whole arrays, permuted once.

    Returns the (sorted) source and target ids for the index.
    """
    src, trg, type_id = pop.source_node_id, pop.target_node_id, pop.edge_type_id
    gid, gidx = pop.edge_group_id, pop.edge_group_index
    assert gid is not None and gidx is not None  # read back, the columns are never None
    if order is not None:
        perm = order.all_rows()
        src, trg, type_id = src[perm], trg[perm], type_id[perm]
        gid, gidx = gid[perm], gidx[perm]
        del perm
    for name, ids, node_pop in (
        ("source_node_id", src, pop.source_population),
        ("target_node_id", trg, pop.target_population),
    ):
        _write_ids(grp, name, pop.size, _slicer(ids), node_pop, chunk, storage)

    def create(name: str, data: np.ndarray) -> None:
        grp.create_dataset(name, data=data, **storage.dataset_options(len(data), (), data.dtype))

    create("edge_type_id", type_id)
    create("edge_group_id", gid.astype(np.uint32))
    # sorted files store every group's rows in edge order (group index = arange per group)
    create("edge_group_index", _as_u64(default_group_index(gid) if sort else gidx))
    for key, data in pop.groups.items():
        rows = gidx[gid == key] if sort else None
        if rows is not None and len(rows) == data.size and _is_arange(rows, chunk):
            rows = None
        write_group(grp, str(key), data, rows, chunk_rows=chunk, storage=storage)
    return src, trg


def _write_population(
    root: h5py.Group, pop: EdgePopulationData, sort: bool, n_src, n_trg, path, storage: Storage
):
    chunk = max(int(CHUNK_ROWS), 1)
    n = pop.size
    src, trg = pop.source_node_id, pop.target_node_id
    n_source = _n_nodes(n_src, pop, pop.source_population, src, "source_node_id", path)
    n_target = _n_nodes(n_trg, pop, pop.target_population, trg, "target_node_id", path)
    order = EdgeOrder.of(src, trg, chunk) if sort and n > 1 else None
    gid, gidx = pop._group_columns()
    single = bool(len(pop.groups) == 1 and n and (gid is None or _constant(gid, chunk)))
    grp = root.create_group(pop.name)
    if single and (gidx is None or _is_arange(gidx, chunk)):
        _write_in_order(grp, pop, order, chunk, storage)
        if order is not None:
            # the sorted ids as pieces (no sorted copy of the arrays is made)
            src, trg = order.source, order.target  # type: ignore[assignment]
    else:
        src, trg = _write_grouped(grp, pop, sort, order, chunk, storage)
        del order
    for direction, ids, n_nodes in (
        ("source_to_target", src, n_source),
        ("target_to_source", trg, n_target),
    ):
        piece = ids if callable(ids) else _slicer(ids)
        _write_index(grp, direction, piece, n, n_nodes, chunk, storage)


def write_edges(
    path: str | os.PathLike[str],
    populations: Sequence[EdgePopulationData],
    *,
    sort: bool = True,
    n_source_nodes: int | Mapping[str, int] | None = None,
    n_target_nodes: int | Mapping[str, int] | None = None,
    node_fingerprints: Mapping[str, str] | None = None,
    compression: str | int | Storage | None = "scaleoffset",
) -> None:
    """Write edge populations with their index to one SONATA edges file (atomically).

    Parameters
    ----------
    path : path-like
        Destination.
    populations : sequence of EdgePopulationData
    sort : bool
        Sort edges by (target, source), stable (group rows follow, so that every group's
        rows stay in edge order).
    n_source_nodes, n_target_nodes : int or mapping, optional
        Sizes of the source/target node populations (rows of the index node tables);
        default ``max id + 1``. A mapping is looked up by edge population name, then by
        node population name.
    node_fingerprints : mapping, optional
        ``{node population: fingerprint}`` of the nodes the edges were built on
        (:mod:`bmtoolkit.sonata.builds`), stamped on each edge population.
    compression : "scaleoffset", "gzip", a gzip level 0-9, None or "none"
        How large datasets are stored (:mod:`bmtoolkit.sonata.storage`): by default integer
        datasets are packed losslessly with HDF5's built-in scale-offset filter, which every
        SONATA reader reads; "gzip" gives smaller files that HDF5 builds without zlib cannot
        read; None writes contiguous uncompressed datasets.

    Raises
    ------
    NodeIdError
        An id is not below the given node population size.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "e.h5")
    >>> write_edges(p, [EdgePopulationData.single_group("a_to_a", "a", "a", [0], [0], [1])])
    """
    populations = population_list(populations, EdgePopulationData, path, "edges")
    storage = Storage.parse(compression)
    with atomic_write(path) as h5:
        root = h5.create_group("edges")
        for pop in populations:
            _write_population(root, pop, sort, n_source_nodes, n_target_nodes, path, storage)
            stamp_edges(root[pop.name], node_fingerprints, pop)
