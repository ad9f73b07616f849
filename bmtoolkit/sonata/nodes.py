"""SONATA node files: write populations and read them back with the types table merged.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from bmtoolkit.sonata.nodes import NodePopulationData, write_nodes, read_nodes
>>> path = os.path.join(tempfile.mkdtemp(), "v1_nodes.h5")
>>> pop = NodePopulationData.single_group("v1", np.array([100, 100, 101]),
...                                       attributes={"x": np.array([0.0, 1.0, 2.0])})
>>> write_nodes(path, [pop])
>>> v1 = read_nodes(path)["v1"]
>>> v1.size, v1.column("x").tolist()
(3, [0.0, 1.0, 2.0])
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import h5py
import numpy as np

from bmtoolkit.exceptions import SonataFormatError
from bmtoolkit.sonata._h5 import atomic_write, open_h5
from bmtoolkit.sonata._population import PopulationBase
from bmtoolkit.sonata.builds import NODES_ATTR, population_fingerprint
from bmtoolkit.sonata.groups import GroupData, default_group_index, group_ids, write_group
from bmtoolkit.sonata.storage import Storage

__all__ = ["NodePopulation", "NodePopulationData", "read_nodes", "write_nodes"]


def as_int_ids(values, *, field: str, name: str) -> np.ndarray:
    """Check that ``values`` is a 1-D integer array and return it as int64."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise SonataFormatError(f"expected a 1-D array, got shape {arr.shape}", field=field)
    if arr.size and arr.dtype.kind not in "iu":
        raise SonataFormatError(
            f"expected integers for population {name!r}, got dtype {arr.dtype}", field=field
        )
    return arr.astype(np.int64)


def check_groups(
    groups: Mapping[int, GroupData],
    group_id: np.ndarray,
    group_index: np.ndarray,
    *,
    name: str,
    prefix: str,
) -> None:
    """Check that every (group id, group index) pair points at an existing group row."""
    present = group_ids(group_id)
    for g in present:
        grp = groups.get(int(g))
        if grp is None:
            raise SonataFormatError(
                f"population {name!r} refers to group {int(g)} but only {sorted(groups)} are given",
                field=f"{prefix}_group_id",
            )
        idx = group_index if len(present) == 1 else group_index[group_id == g]
        has_columns = bool(grp.attributes) or bool(grp.dynamics_params)
        if idx.size and (idx.min() < 0 or (has_columns and idx.max() >= grp.size)):
            raise SonataFormatError(
                f"population {name!r}: group index outside group {int(g)} of size {grp.size}",
                field=f"{prefix}_group_index",
            )


def freeze_groups(groups: Mapping[int, GroupData], *, name: str) -> Mapping[int, GroupData]:
    """Validate group keys/values and return a read-only mapping."""
    out = {}
    for key, value in groups.items():
        if not isinstance(value, GroupData):
            raise SonataFormatError(
                f"population {name!r}: group {key!r} must be a GroupData", field="groups"
            )
        if int(key) < 0 or int(key) != key:
            raise SonataFormatError(
                f"population {name!r}: group keys must be integers >= 0, got {key!r}",
                field="groups",
            )
        out[int(key)] = value
    return MappingProxyType(dict(sorted(out.items())))


@dataclass(frozen=True)
class NodePopulationData:
    """One node population to write.

    Parameters
    ----------
    name : str
        Population name (``/nodes/<name>``).
    node_type_id : array of int, shape (N,)
        Key of each node into the node types table.
    groups : mapping of int to GroupData
        Attribute groups; usually ``{0: GroupData(...)}``.
    node_group_id : array of int, optional
        Group of each node (default: all 0).
    node_group_index : array of int, optional
        Row of each node inside its group (default: ``arange`` within each group).

    Examples
    --------
    >>> import numpy as np
    >>> p = NodePopulationData("lgn", np.zeros(2, int), {0: GroupData({"x": np.zeros(2)})})
    >>> p.size
    2
    """

    name: str
    node_type_id: np.ndarray
    groups: Mapping[int, GroupData]
    node_group_id: np.ndarray | None = None
    node_group_index: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or "/" in self.name:
            raise SonataFormatError(f"invalid population name {self.name!r}", field="name")
        tids = as_int_ids(self.node_type_id, field="node_type_id", name=self.name)
        n = len(tids)
        groups = freeze_groups(self.groups, name=self.name)
        if self.node_group_id is None:
            gid = np.zeros(n, dtype=np.int64)
        else:
            gid = as_int_ids(self.node_group_id, field="node_group_id", name=self.name)
        if self.node_group_index is None:
            gidx = default_group_index(gid)
        else:
            gidx = as_int_ids(self.node_group_index, field="node_group_index", name=self.name)
        for field_name, arr in (("node_group_id", gid), ("node_group_index", gidx)):
            if len(arr) != n:
                raise SonataFormatError(
                    f"population {self.name!r}: length {len(arr)} differs from "
                    f"node_type_id length {n}",
                    field=field_name,
                )
        if n and not groups:
            groups = MappingProxyType({0: GroupData({})})
        check_groups(groups, gid, gidx, name=self.name, prefix="node")
        object.__setattr__(self, "node_type_id", tids)
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "node_group_id", gid)
        object.__setattr__(self, "node_group_index", gidx)

    @property
    def size(self) -> int:
        """Number of nodes N."""
        return len(self.node_type_id)

    @classmethod
    def single_group(
        cls,
        name: str,
        node_type_id,
        attributes: Mapping[str, np.ndarray] | None = None,
        dynamics_params: Mapping[str, np.ndarray] | None = None,
    ) -> NodePopulationData:
        """A population whose nodes all live in group ``0`` in order.

        Examples
        --------
        >>> import numpy as np
        >>> NodePopulationData.single_group("v1", [0, 0, 1], {"x": np.arange(3.0)}).size
        3
        """
        group = GroupData(dict(attributes or {}), dict(dynamics_params or {}))
        return cls(name, np.asarray(node_type_id), {0: group})


def population_list(populations: Any, kind: type, path: Any, field: str) -> list[Any]:
    """``populations`` (one of type ``kind`` or several) as a list with unique names."""
    out: list[Any] = [populations] if isinstance(populations, kind) else list(populations)
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise SonataFormatError(f"duplicate population names {names}", path=path, field=field)
    return out


def write_nodes(
    path: str | os.PathLike[str],
    populations: Sequence[NodePopulationData],
    *,
    compression: str | int | Storage | None = "scaleoffset",
) -> None:
    """Write node populations to one SONATA nodes file (atomically).

    Datasets follow the portable profile: ``node_id`` uint64 ``arange``, ``node_type_id``
    int64, ``node_group_id`` uint32, ``node_group_index`` uint64, groups ``0``, ``1``, ...
    ``compression`` chooses how large datasets are stored (:mod:`bmtoolkit.sonata.storage`;
    default: integers packed by HDF5's scale-offset filter); small populations stay contiguous.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "nodes.h5")
    >>> write_nodes(p, [NodePopulationData.single_group("a", np.zeros(4, int))])
    """
    populations = population_list(populations, NodePopulationData, path, "nodes")
    storage = Storage.parse(compression)
    with atomic_write(path) as h5:
        root = h5.create_group("nodes")
        for pop in populations:
            grp = root.create_group(pop.name)
            grp.attrs[NODES_ATTR] = population_fingerprint(pop)
            n = pop.size
            for name, values in (
                ("node_id", np.arange(n, dtype=np.uint64)),
                ("node_type_id", pop.node_type_id.astype(np.int64)),
                ("node_group_id", pop.node_group_id.astype(np.uint32)),
                ("node_group_index", pop.node_group_index.astype(np.uint64)),
            ):
                opts = storage.dataset_options(n, (), values.dtype)
                grp.create_dataset(name, data=values, **opts)
            for key, data in pop.groups.items():
                write_group(grp, str(key), data, storage=storage)


class NodePopulation(PopulationBase):
    """A node population read from a file (lazy: datasets are read on demand).

    Attributes
    ----------
    name : str
    size : int
    h5_path : Path
    types_path : Path or None
    types : pandas.DataFrame
        Node types table rows indexed by ``node_type_id`` (built on first use).
    types_table : TypesTable
        The same table as numpy columns.
    groups : dict of int to H5Group
        Raw access to the attribute groups.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "nodes.h5")
    >>> write_nodes(p, [NodePopulationData.single_group("a", [1, 2], {"y": np.ones(2)})])
    >>> df = read_nodes(p)["a"].get()
    >>> list(df.columns), df.index.name
    (['node_type_id', 'y'], 'node_id')
    """

    kind = "nodes"
    type_column = "node_type_id"
    id_name = "node_id"
    group_id_name = "node_group_id"
    group_index_name = "node_group_index"

    def __init__(self, name: str, h5_path: Path, pop: h5py.Group, types_path=None) -> None:
        super().__init__(name, h5_path, pop, types_path)
        if "node_type_id" not in self._has:
            raise SonataFormatError(
                "required dataset is missing", path=self.h5_path, field=self._field("node_type_id")
            )
        self.size = int(pop["node_type_id"].shape[0])

    def ids(self) -> np.ndarray:
        """Node ids: ``arange(size)`` as int64."""
        return np.arange(self.size, dtype=np.int64)

    def node_type_ids(self, ids=None) -> np.ndarray:
        """``node_type_id`` of every node (or of ``ids``) as int64."""
        rows = self._check_ids(ids)
        t = self._type_ids()
        return t.copy() if rows is None else t[rows]

    def positions(self, ids=None) -> np.ndarray | None:
        """(n, 3) float positions from ``x``/``y``/``z`` or a 2-D ``positions``; None if absent.

        Groups may differ: each node takes ``positions`` from its group if present, else
        ``x``/``y``/``z`` (HDF5 or types table).
        """
        names = self.property_names
        has_xyz = all(c in names for c in ("x", "y", "z"))
        has_pos = "positions" in names
        if not has_xyz and not has_pos:
            return None
        rows = self._check_ids(ids)
        n = self.size if rows is None else len(rows)
        out = np.full((n, 3), np.nan)
        if has_xyz:
            for k, c in enumerate(("x", "y", "z")):
                out[:, k] = self.column(c, rows).astype(np.float64)
        if has_pos:
            pos = self.column("positions", rows)
            if pos.ndim == 2 and pos.shape[1] >= 3:
                filled = ~np.isnan(pos[:, :3].astype(np.float64)).any(axis=1)
                out[filled] = pos[filled, :3].astype(np.float64)
        return out

    def rotation_angles(self, ids=None) -> np.ndarray | None:
        """(n, 3) rotation angles in radians about the x, y and z axes; None if absent.

        Taken from ``rotation_angle_[xyz]axis`` (HDF5 or types table); a missing axis is 0.
        SONATA applies them Z first, then Y, then X, about the world axes.
        """
        names = self.property_names
        axes = [f"rotation_angle_{a}axis" for a in "xyz"]
        if not any(a in names for a in axes):
            return None
        rows = self._check_ids(ids)
        n = self.size if rows is None else len(rows)
        out = np.zeros((n, 3))
        for k, name in enumerate(axes):
            if name in names:
                values = self.column(name, rows).astype(np.float64)
                out[:, k] = np.nan_to_num(values, nan=0.0)
        return out

    def orientations(self, ids=None) -> np.ndarray | None:
        """(n, 4) unit quaternions (w, x, y, z) from ``orientation_[wxyz]``; None if absent."""
        names = self.property_names
        keys = [f"orientation_{c}" for c in "wxyz"]
        if not all(k in names for k in keys):
            return None
        rows = self._check_ids(ids)
        quat = np.stack([self.column(k, rows).astype(np.float64) for k in keys], axis=1)
        norm = np.linalg.norm(quat, axis=1, keepdims=True)
        return np.divide(quat, norm, out=np.zeros_like(quat), where=norm > 0)


def read_nodes(
    nodes_file: str | os.PathLike[str], node_types_file: str | os.PathLike[str] | None = None
) -> dict[str, NodePopulation]:
    """Open every population of a nodes file.

    Parameters
    ----------
    nodes_file : path-like
        SONATA nodes HDF5 file.
    node_types_file : path-like, optional
        Node types table merged into the properties (HDF5 values override it).

    Returns
    -------
    dict of str to NodePopulation

    Raises
    ------
    MissingFileError, SonataFormatError
        Missing file, not HDF5, no ``/nodes`` group, missing or non-integer ``node_type_id``.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "nodes.h5")
    >>> write_nodes(p, [NodePopulationData.single_group("a", [0]),
    ...                 NodePopulationData.single_group("b", [0, 0])])
    >>> {k: v.size for k, v in read_nodes(p).items()}
    {'a': 1, 'b': 2}
    """
    path = Path(nodes_file)
    with open_h5(path) as h5:
        root = h5.get("nodes")
        if not isinstance(root, h5py.Group):
            raise SonataFormatError("not a SONATA nodes file", path=path, field="/nodes")
        out = {}
        for name, pop in root.items():
            if isinstance(pop, h5py.Group):
                out[name] = NodePopulation(name, path, pop, node_types_file)
        return out
