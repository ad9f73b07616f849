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

import copy
import os
from pathlib import Path
from typing import TYPE_CHECKING

import h5py
import numpy as np

from bmtoolkit.exceptions import SonataFormatError
from bmtoolkit.sonata._edges_write import EdgePopulationData, write_edges
from bmtoolkit.sonata._h5 import decode_str, open_h5
from bmtoolkit.sonata._population import PopulationBase, check_integer_dataset, to_int64
from bmtoolkit.sonata.index import (
    DIRECTIONS,
    INDEX_GROUP_NAMES,
    NODE_TABLE_NAMES,
    RANGE_TABLE,
    build_index,
    lookup,
)

if TYPE_CHECKING:  # pandas is imported only where a DataFrame is asked for
    import pandas as pd

__all__ = ["EdgePopulation", "EdgePopulationData", "read_edges", "write_edges"]


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
        Edge types table rows indexed by ``edge_type_id`` (built on first use).
    types_table : TypesTable
        The same table as numpy columns.

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
        if values is None:  # a fresh array: hand it over without another copy
            fresh = to_int64(self._read(key), self.h5_path, self._field(key))
            return fresh if rows is None else fresh[rows]
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

    # ------------------------------------------------------------- selections
    def select(self, edge_ids) -> EdgePopulation:
        """The population reduced to the edges ``edge_ids`` (sorted, as from
        :meth:`edges_onto`): every column, id and group lookup of the result reads those
        rows only, slab by slab, so its arrays are as long as the selection, never the file.

        Row ``i`` of the result is edge ``edge_ids[i]`` of the file (its ``edge_id`` column
        gives the file's ids); it has no stored index.

        Raises
        ------
        NodeIdError
            An id is outside the population.
        ValueError
            The ids are not strictly increasing.

        Examples
        --------
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "e.h5")
        >>> write_edges(p, [EdgePopulationData.single_group(
        ...     "x", "a", "a", [0, 1, 2], [0, 1, 1], [7, 7, 7], {"w": np.array([1.0, 2.0, 3.0])})])
        >>> part = read_edges(p)["x"].select([1, 2])
        >>> part.size, part.column("w").tolist(), part.column("edge_id").tolist()
        (2, [2.0, 3.0], [1, 2])
        """
        rows = self._check_ids(edge_ids, self._field("edge_id"))
        rows = np.zeros(0, dtype=np.int64) if rows is None else rows
        if rows.size > 1 and np.any(rows[1:] <= rows[:-1]):
            raise ValueError("select needs strictly increasing edge ids (file order)")
        view = copy.copy(self)
        view._cache = {}
        view._rows = rows if self._rows is None else self._rows[rows]
        view.size = int(rows.size)
        view._index_group = None
        return view

    @property
    def selected(self) -> np.ndarray | None:
        """The file's edge ids this population stands for (None: all of them)."""
        return None if self._rows is None else self._rows.copy()

    def edges_onto(self, node_ids, *, method: str = "auto", slab: int | None = None) -> np.ndarray:
        """Sorted ids of the edges whose target is in ``node_ids``, without reading the whole
        ``target_node_id`` column at once.

        Parameters
        ----------
        node_ids : array-like of int
            Target node ids.
        method : {"auto", "index", "scan"}
            ``index``: the ``target_to_source`` index (only its tables are read; built from
            ``target_node_id`` when the file has none);
            ``scan``: ``target_node_id`` read ``slab`` rows at a time and tested against a
            boolean mask of the targets; ``auto``: the index when the file stores one with
            fewer ranges than a quarter of the edges (a file sorted by target), else the scan.

        Examples
        --------
        >>> import os, tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "e.h5")
        >>> write_edges(p, [EdgePopulationData.single_group("x", "a", "a", [0, 1, 2, 0],
        ...                                                 [2, 1, 0, 1], [7, 7, 7, 7])])
        >>> pop = read_edges(p)["x"]
        >>> pop.edges_onto([1], method="index").tolist(), pop.edges_onto([1], method="scan").tolist()
        ([1, 2], [1, 2])
        """
        if method not in ("auto", "index", "scan"):
            raise ValueError(f"method must be 'auto', 'index' or 'scan', got {method!r}")
        ids = np.unique(np.asarray(node_ids, dtype=np.int64))
        if ids.size and ids[0] < 0:
            raise ValueError(f"node ids must be >= 0, got {int(ids[0])}")
        if ids.size == 0 or self.size == 0:
            return np.zeros(0, dtype=np.int64)
        if method != "scan":
            ranges = self._stored_ranges("target_to_source")
            if method == "index" or (ranges is not None and 4 * ranges <= self.size):
                n2r, r2e = self._index("target_to_source")
                return lookup(n2r, r2e, ids)
        keep = np.zeros(int(ids[-1]) + 1, dtype=bool)
        keep[ids] = True
        found = []
        for lo, targets in self.slabs("target_node_id", slab):
            inside = targets < keep.size
            hit = np.zeros(targets.size, dtype=bool)
            hit[inside] = keep[targets[inside]]
            found.append(np.flatnonzero(hit) + lo)
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    # ---------------------------------------------------------------- index
    def _stored_ranges(self, direction: str) -> int | None:
        """Rows of the stored ``range_to_edge_id`` table of ``direction`` (None: none)."""
        if self._index_group is None:
            return None
        with open_h5(self.h5_path) as h5:
            ds = h5.get(f"{self._pop_path}/{self._index_group}/{direction}/{RANGE_TABLE}")
            return int(ds.shape[0]) if isinstance(ds, h5py.Dataset) and ds.ndim == 2 else None

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
