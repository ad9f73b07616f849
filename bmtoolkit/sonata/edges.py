"""SONATA edge files: write populations (sorted, indexed) and read them back.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from bmtoolkit.sonata.edges import EdgePopulationData, write_edges, read_edges
>>> path = os.path.join(tempfile.mkdtemp(), "v1_v1_edges.h5")
>>> data = EdgePopulationData.single_group(
...     "v1_to_v1", "v1", "v1", source_node_id=[0, 2, 1], target_node_id=[1, 0, 1],
...     edge_type_id=[100, 100, 100], attributes={"syn_weight": np.array([0.1, 0.2, 0.3])})
>>> write_edges(path, [data], n_source_nodes=3, n_target_nodes=3)
>>> pop = read_edges(path)["v1_to_v1"]
>>> pop.target_node_ids().tolist(), pop.column("syn_weight").tolist()
([0, 1, 1], [0.2, 0.1, 0.3])
>>> pop.afferent_edges([1]).tolist()
[1, 2]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from bmtoolkit.exceptions import NodeIdError, SonataFormatError
from bmtoolkit.sonata._h5 import STR_DTYPE, atomic_write, decode_str, open_h5
from bmtoolkit.sonata._population import PopulationBase, check_integer_dataset, to_int64
from bmtoolkit.sonata.groups import GroupData, default_group_index, write_group
from bmtoolkit.sonata.index import (
    DIRECTIONS,
    INDEX_GROUP_NAMES,
    NODE_TABLE_NAMES,
    RANGE_TABLE,
    build_index,
    lookup,
    stable_argsort,
)
from bmtoolkit.sonata.nodes import as_int_ids, check_groups, freeze_groups

__all__ = ["EdgePopulation", "EdgePopulationData", "read_edges", "write_edges"]


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
    groups : mapping of int to GroupData
        Usually ``{0: GroupData({"syn_weight": ..., "nsyns": ...})}``.
    edge_group_id, edge_group_index : array of int, optional
        Default: all in group 0, ``arange`` within each group.

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
    edge_group_id: np.ndarray | None = None
    edge_group_index: np.ndarray | None = None

    def __post_init__(self) -> None:
        for key in ("name", "source_population", "target_population"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value or "/" in value:
                raise SonataFormatError(f"invalid population name {value!r}", field=key)
        arrays = {
            key: as_int_ids(getattr(self, key), field=key, name=self.name)
            for key in ("source_node_id", "target_node_id", "edge_type_id")
        }
        n = len(arrays["edge_type_id"])
        if self.edge_group_id is not None:
            arrays["edge_group_id"] = as_int_ids(
                self.edge_group_id, field="edge_group_id", name=self.name
            )
        else:
            arrays["edge_group_id"] = np.zeros(n, dtype=np.int64)
        if self.edge_group_index is not None:
            arrays["edge_group_index"] = as_int_ids(
                self.edge_group_index, field="edge_group_index", name=self.name
            )
        else:
            arrays["edge_group_index"] = default_group_index(arrays["edge_group_id"])
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
        check_groups(
            groups,
            arrays["edge_group_id"],
            arrays["edge_group_index"],
            name=self.name,
            prefix="edge",
        )
        for key, arr in arrays.items():
            object.__setattr__(self, key, arr)
        object.__setattr__(self, "groups", groups)

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


def _sort_order(source: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    """Stable order by (target, source); None when already sorted."""
    if source.size < 2:
        return None
    dt = np.diff(target)
    if np.all((dt > 0) | ((dt == 0) & (np.diff(source) >= 0))):
        return None
    return stable_argsort(source, target)


def _write_index(grp: h5py.Group, direction: str, ids: np.ndarray, n_nodes: int) -> None:
    sub = grp.require_group(INDEX_GROUP_NAMES[0]).create_group(direction)
    n2r, r2e = build_index(ids, n_nodes)
    sub.create_dataset(NODE_TABLE_NAMES[0], data=n2r)
    sub[NODE_TABLE_NAMES[1]] = sub[NODE_TABLE_NAMES[0]]  # hard link: BMTK's spelling
    sub.create_dataset(RANGE_TABLE, data=r2e)


def _as_u64(values: np.ndarray) -> np.ndarray:
    """Non-negative int64 ids as uint64 without a copy."""
    if values.dtype == np.int64:
        return values.view(np.uint64)
    return values.astype(np.uint64)


def _write_population(root: h5py.Group, pop: EdgePopulationData, sort: bool, n_src, n_trg, path):
    src, trg = pop.source_node_id, pop.target_node_id
    n_source = _n_nodes(n_src, pop, pop.source_population, src, "source_node_id", path)
    n_target = _n_nodes(n_trg, pop, pop.target_population, trg, "target_node_id", path)
    order = _sort_order(src, trg) if sort else None
    gid, gidx = pop.edge_group_id, pop.edge_group_index
    type_id = pop.edge_type_id
    # one group holding every edge, rows in edge order: the common case, kept cheap
    single = bool(len(pop.groups) == 1 and pop.size and np.all(gid == gid[0]))
    identity = single and bool(np.array_equal(gidx, np.arange(pop.size)))
    if order is not None:
        src, type_id = src[order], type_id[order]
        # sorted targets are runs of equal ids: rebuild them instead of a random gather
        trg = np.repeat(np.arange(n_target, dtype=np.int64), np.bincount(trg, minlength=n_target))
        gidx = order if identity else gidx[order]
        if not single:
            gid = gid[order]
    # sorted files store every group's rows in edge order (group index = arange per group)
    regroup = sort and not (identity and order is None)
    grp = root.create_group(pop.name)
    for key, ids, node_pop in (
        ("source_node_id", src, pop.source_population),
        ("target_node_id", trg, pop.target_population),
    ):
        ds = grp.create_dataset(key, data=_as_u64(ids))
        ds.attrs.create("node_population", node_pop, dtype=STR_DTYPE)
    grp.create_dataset("edge_type_id", data=type_id)
    grp.create_dataset("edge_group_id", data=gid.astype(np.uint32))
    if regroup:
        new_gidx = np.arange(pop.size, dtype=np.int64) if single else default_group_index(gid)
    else:
        new_gidx = gidx
    grp.create_dataset("edge_group_index", data=_as_u64(new_gidx))
    for key, data in pop.groups.items():
        rows = None
        if regroup:
            rows = gidx if single else gidx[gid == key]
            if len(rows) == data.size and np.array_equal(rows, np.arange(len(rows))):
                rows = None
        write_group(grp, str(key), data, rows)
    _write_index(grp, "source_to_target", src, n_source)
    _write_index(grp, "target_to_source", trg, n_target)


def write_edges(
    path: str | os.PathLike[str],
    populations: Sequence[EdgePopulationData],
    *,
    sort: bool = True,
    n_source_nodes: int | Mapping[str, int] | None = None,
    n_target_nodes: int | Mapping[str, int] | None = None,
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
    populations = (
        [populations] if isinstance(populations, EdgePopulationData) else list(populations)
    )
    names = [p.name for p in populations]
    if len(set(names)) != len(names):
        raise SonataFormatError(f"duplicate population names {names}", path=path, field="edges")
    with atomic_write(path) as h5:
        root = h5.create_group("edges")
        for pop in populations:
            _write_population(root, pop, sort, n_source_nodes, n_target_nodes, path)


class EdgePopulation(PopulationBase):
    """An edge population read from a file (lazy; the index is cached after first use).

    Attributes
    ----------
    name : str
    size : int
    source_population, target_population : str or None
        From the ``node_population`` attributes.
    h5_path : Path
    types_path : Path or None
    types : pandas.DataFrame
        Edge types table rows indexed by ``edge_type_id``.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "e.h5")
    >>> write_edges(p, [EdgePopulationData.single_group("a_to_a", "a", "a", [1, 0], [0, 0], [7, 7])])
    >>> read_edges(p)["a_to_a"].efferent_edges(1).tolist()
    [1]
    """

    kind = "edges"
    type_column = "edge_type_id"
    id_name = "edge_id"
    group_id_name = "edge_group_id"
    group_index_name = "edge_group_index"

    def __init__(self, name: str, h5_path: Path, pop: h5py.Group, types_path=None) -> None:
        super().__init__(name, h5_path, pop, types_path)
        pops: dict[str, str | None] = {}
        lengths = {}
        for key in ("source_node_id", "target_node_id"):
            if key not in self._has:
                raise SonataFormatError(
                    "required dataset is missing", path=self.h5_path, field=self._field(key)
                )
            ds = pop[key]
            check_integer_dataset(ds, self.h5_path)
            lengths[key] = ds.shape[0]
            attr = ds.attrs.get("node_population")
            pops[key] = decode_str(attr) if attr is not None else None
        if self.type_column in self._has:
            lengths[self.type_column] = pop[self.type_column].shape[0]
        if len(set(lengths.values())) > 1:
            raise SonataFormatError(
                f"edge datasets differ in length: {lengths}", path=self.h5_path, field=pop.name
            )
        self.size = int(lengths["source_node_id"])
        self.source_population = pops["source_node_id"]
        self.target_population = pops["target_node_id"]
        self._index_group = next((g for g in INDEX_GROUP_NAMES if g in pop), None)

    @property
    def index_group_name(self) -> str | None:
        """Spelling of the stored index group (``indices``, ``indicies``, ...), or None."""
        return self._index_group

    # ------------------------------------------------------------------ ids
    def _ids(self, key: str, edge_ids) -> np.ndarray:
        rows = self._check_ids(edge_ids, self._field("edge_id"))
        values = self._cache.get(key)
        if values is None:
            values = to_int64(self._read(key), self.h5_path, self._field(key))
        return values.copy() if rows is None else values[rows]

    def source_node_ids(self, edge_ids=None) -> np.ndarray:
        """Source node id of every edge (or of ``edge_ids``) as int64."""
        return self._ids("source_node_id", edge_ids)

    def target_node_ids(self, edge_ids=None) -> np.ndarray:
        """Target node id of every edge (or of ``edge_ids``) as int64."""
        return self._ids("target_node_id", edge_ids)

    def edge_type_ids(self, edge_ids=None) -> np.ndarray:
        """``edge_type_id`` of every edge (or of ``edge_ids``) as int64."""
        rows = self._check_ids(edge_ids, self._field("edge_id"))
        t = self._type_ids()
        return t.copy() if rows is None else t[rows]

    def _reserved(self, name: str, rows):
        if name in ("source_node_id", "target_node_id"):
            return self._ids(name, rows)
        return super()._reserved(name, rows)

    def _default_columns(self) -> list[str]:
        cols = ["source_node_id", "target_node_id"]
        if self.type_column in self._has:
            cols.append(self.type_column)
        return [*cols, *self.property_names]

    # ---------------------------------------------------------------- index
    def stored_index(self, direction: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The index tables stored in the file for ``direction`` (any spelling), or None."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
        if self._index_group is None:
            return None
        base = f"{self._pop_path}/{self._index_group}/{direction}"
        with open_h5(self.h5_path) as h5:
            grp = h5.get(base)
            if not isinstance(grp, h5py.Group):
                return None
            node_key = next((k for k in NODE_TABLE_NAMES if k in grp), None)
            if node_key is None or RANGE_TABLE not in grp:
                return None
            tables = []
            for key in (node_key, RANGE_TABLE):
                ds = grp[key]
                if ds.ndim != 2 or ds.shape[1] != 2 or ds.dtype.kind not in "iu":
                    raise SonataFormatError(
                        f"expected an integer (k, 2) table, found {ds.dtype} {ds.shape}",
                        path=self.h5_path,
                        field=ds.name,
                    )
                tables.append(ds[()].astype(np.int64))
        return tables[0], tables[1]

    def _index(self, direction: str) -> tuple[np.ndarray, np.ndarray]:
        key = f"_index_{direction}"
        if key not in self._cache:
            stored = self.stored_index(direction)
            if stored is None:
                ids = (
                    self.source_node_ids() if direction == DIRECTIONS[0] else self.target_node_ids()
                )
                stored = build_index(ids)
            self._cache[key] = stored
        return self._cache[key]

    def afferent_edges(self, node_ids) -> np.ndarray:
        """Sorted ids of the edges whose target is in ``node_ids``."""
        n2r, r2e = self._index("target_to_source")
        return lookup(n2r, r2e, node_ids)

    def efferent_edges(self, node_ids) -> np.ndarray:
        """Sorted ids of the edges whose source is in ``node_ids``."""
        n2r, r2e = self._index("source_to_target")
        return lookup(n2r, r2e, node_ids)

    def get(self, properties=None, edge_ids=None) -> pd.DataFrame:
        return super().get(properties, edge_ids)

    get.__doc__ = PopulationBase.get.__doc__

    def column(self, name: str, edge_ids=None) -> np.ndarray:
        return super().column(name, edge_ids)

    column.__doc__ = PopulationBase.column.__doc__


def read_edges(
    edges_file: str | os.PathLike[str], edge_types_file: str | os.PathLike[str] | None = None
) -> dict[str, EdgePopulation]:
    """Open every population of an edges file.

    Parameters
    ----------
    edges_file : path-like
        SONATA edges HDF5 file.
    edge_types_file : path-like, optional
        Edge types table merged into the properties (HDF5 values override it).

    Returns
    -------
    dict of str to EdgePopulation

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "e.h5")
    >>> write_edges(p, [EdgePopulationData.single_group("x", "a", "b", [0, 0], [0, 1], [1, 1])])
    >>> pop = read_edges(p)["x"]
    >>> pop.size, pop.source_population, pop.target_population
    (2, 'a', 'b')
    """
    path = Path(edges_file)
    with open_h5(path) as h5:
        root = h5.get("edges")
        if not isinstance(root, h5py.Group):
            raise SonataFormatError("not a SONATA edges file", path=path, field="/edges")
        out = {}
        for name, pop in root.items():
            if isinstance(pop, h5py.Group):
                out[name] = EdgePopulation(name, path, pop, edge_types_file)
        return out
