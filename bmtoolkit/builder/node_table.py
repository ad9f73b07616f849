"""Columnar, in-memory node tables: what ``add_nodes`` declares, ready for vectorized rules.

A :class:`NodeTable` holds one node population as numpy columns. Each ``add_nodes`` call is a
:class:`NodeSetSpec`: scalar properties belong to its node type (and go to the node types CSV),
arrays of length ``N`` are per-node properties (and go to the HDF5 group). Rules never loop over
nodes; per-pair Python callables get :class:`NodeView` objects, dict-like views of one row.

Per-node columns must exist for every node of a single-group population. When one node set
gives a property per node and another does not, the missing rows take that node set's type value
when it has one, else ``NaN`` (numbers) or ``""`` (strings).

Examples
--------
>>> import numpy as np
>>> spec_e = NodeSetSpec.from_properties(3, 100, {"ei": "e", "x": np.array([0.0, 1.0, 2.0])})
>>> spec_i = NodeSetSpec.from_properties(1, 101, {"ei": "i", "x": [5.0]})
>>> table = NodeTable.from_specs("v1", [spec_e, spec_i])
>>> table.column("ei").tolist(), table.column("x").tolist()
(['e', 'e', 'e', 'i'], [0.0, 1.0, 2.0, 5.0])
>>> NodeView(table, 3)["ei"]
'i'
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bmtoolkit.builder.fast_lookup import direct_dict_lookups
from bmtoolkit.exceptions import ConfigError, SonataFormatError

#: properties holding 3-D positions; ``positions`` is (N, 3), ``x``/``y``/``z`` are (N,)
POSITION_COLUMNS = ("x", "y", "z")


def _is_per_node(value: Any) -> bool:
    """Lists, arrays, ranges and generators give one value per node; anything else (a tuple
    too, as in BMTK: ``sigma_on=(2.0, 2.0)``) is one node-type value."""
    return isinstance(value, (list, np.ndarray, range, types.GeneratorType))


@dataclass(frozen=True)
class NodeSetSpec:
    """One ``add_nodes`` call.

    Attributes
    ----------
    n : int
        Number of nodes.
    node_type_id : int
        The node type all of them share.
    type_properties : Mapping
        Scalar properties (node types CSV columns).
    arrays : Mapping
        Per-node properties, each of length ``n`` (``positions`` is ``(n, 3)``).
    """

    n: int
    node_type_id: int
    type_properties: Mapping[str, Any]
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def from_properties(
        cls, n: int, node_type_id: int, properties: Mapping[str, Any]
    ) -> NodeSetSpec:
        """Split ``properties`` into type-level scalars and per-node arrays of length ``n``.

        Raises
        ------
        ConfigError
            If an array does not have ``n`` rows.
        """
        n = int(n)
        if n < 0:
            raise ConfigError(f"N must be >= 0, got {n}", field="N")
        scalars: dict[str, Any] = {}
        arrays: dict[str, np.ndarray] = {}
        for name, value in properties.items():
            if name in ("node_type_id", "node_id"):
                raise ConfigError(
                    f"{name} is assigned by the builder and cannot be given to add_nodes",
                    field=name,
                )
            if _is_per_node(value):
                arr = np.asarray(list(value) if not isinstance(value, np.ndarray) else value)
                if arr.dtype.kind == "U":
                    arr = arr.astype(object)
                if len(arr) != n:
                    raise ConfigError(
                        f"property {name!r} has {len(arr)} values for N={n} nodes",
                        field=name,
                    )
                if name == "positions" and (arr.ndim != 2 or arr.shape[1] != 3):
                    raise ConfigError(
                        f"positions must have shape (N, 3), got {arr.shape}", field="positions"
                    )
                arrays[name] = arr
            else:
                scalars[name] = value
        return cls(n, int(node_type_id), scalars, arrays)


def _fill_value(dtype: np.dtype) -> Any:
    return np.nan if dtype.kind in "fiub" else ""


def _common(arrays: Sequence[np.ndarray]) -> np.dtype:
    kinds = {a.dtype.kind for a in arrays}
    if kinds & {"O", "U", "S"}:
        return np.dtype(object)
    return np.result_type(*arrays)


class NodeTable:
    """One node population as numpy columns.

    Parameters
    ----------
    name : str
        Population name.
    node_type_ids : np.ndarray
        ``(N,)`` node type of each node.
    types : Mapping[int, Mapping]
        Node type id -> its scalar properties.
    arrays : Mapping[str, np.ndarray]
        Per-node columns of length ``N``.
    source_file : str, optional
        The SONATA file the table was read from, if any (imported populations).
    absent : Mapping[str, np.ndarray], optional
        For a per-node column that some nodes were not given (nor have as a node-type
        property), ``True`` at those nodes: their views leave the property out, as BMTK's
        nodes do (``"tuning_angle" in node`` is False there; the column holds a fill value).
    """

    def __init__(
        self,
        name: str,
        node_type_ids: np.ndarray,
        types: Mapping[int, Mapping[str, Any]],
        arrays: Mapping[str, np.ndarray],
        *,
        source_file: str | None = None,
        absent: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        self.name = name
        self.node_type_ids = np.asarray(node_type_ids, dtype=np.int64)
        self.types = {int(k): dict(v) for k, v in types.items()}
        self.arrays = dict(arrays)
        self.source_file = source_file
        self.absent = {k: np.asarray(v, dtype=bool) for k, v in (absent or {}).items()}
        self._cache: dict[str, np.ndarray] = {}
        self._positions: np.ndarray | None = None
        self._views: list[NodeView] | None = None

    # construction ----------------------------------------------------------------------
    @classmethod
    def from_specs(cls, name: str, specs: Sequence[NodeSetSpec]) -> NodeTable:
        """Concatenate node sets in declaration order (node ids follow that order)."""
        type_ids = np.concatenate(
            [np.full(s.n, s.node_type_id, dtype=np.int64) for s in specs] or [np.zeros(0, int)]
        )
        types = {s.node_type_id: dict(s.type_properties) for s in specs}
        names: list[str] = []
        for spec in specs:
            names.extend(k for k in spec.arrays if k not in names)
        arrays: dict[str, np.ndarray] = {}
        absent: dict[str, np.ndarray] = {}
        for col in names:
            present = [s.arrays[col] for s in specs if col in s.arrays]
            dtype = _common(present)
            if len(present) < len(specs) and dtype.kind in "iub":
                dtype = np.dtype(np.float64)
            parts = []
            missing = []
            for spec in specs:
                missing.append(
                    np.full(spec.n, col not in spec.arrays and col not in spec.type_properties)
                )
                if col in spec.arrays:
                    parts.append(np.asarray(spec.arrays[col], dtype=dtype))
                    continue
                shape = (spec.n, *present[0].shape[1:])
                fill = spec.type_properties.get(col, _fill_value(dtype))
                part = np.empty(shape, dtype=dtype)
                part[...] = fill
                parts.append(part)
            arrays[col] = np.concatenate(parts) if parts else np.zeros(0, dtype)
            mask = np.concatenate(missing) if missing else np.zeros(0, dtype=bool)
            if mask.any():
                absent[col] = mask
        return cls(name, type_ids, types, arrays, absent=absent)

    @classmethod
    def from_population(cls, population: Any) -> NodeTable:
        """Wrap a :class:`bmtoolkit.sonata.NodePopulation` (e.g. a saved LGN) as a table."""
        types_df = population.types
        types: dict[int, dict[str, Any]] = {}
        if types_df is not None and len(types_df):
            for type_id, row in types_df.iterrows():
                types[int(type_id)] = {
                    k: v for k, v in row.items() if k != "node_type_id" and not _isnan(v)
                }
        csv_names = set(types_df.columns) if types_df is not None else set()
        arrays = {}
        for name in population.property_names:
            if name in csv_names or name == "node_type_id":
                continue
            arrays[name] = np.asarray(population.column(name))
        node_type_ids = np.asarray(population.node_type_ids(), dtype=np.int64)
        for type_id in np.unique(node_type_ids):
            types.setdefault(int(type_id), {})
        return cls(
            population.name, node_type_ids, types, arrays, source_file=str(population.h5_path)
        )

    # queries ---------------------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of nodes."""
        return len(self.node_type_ids)

    def __len__(self) -> int:
        return self.size

    @property
    def node_ids(self) -> np.ndarray:
        """``arange(N)``: node ids are row numbers."""
        return np.arange(self.size, dtype=np.int64)

    @property
    def type_columns(self) -> list[str]:
        """Names of node-type (CSV) properties, in first-seen order."""
        out: list[str] = []
        for props in self.types.values():
            out.extend(k for k in props if k not in out)
        return out

    @property
    def property_names(self) -> list[str]:
        """Every property a node can be queried by (per-node and node-type)."""
        names = ["node_id", "node_type_id", *self.arrays]
        names.extend(k for k in self.type_columns if k not in names)
        if "positions" in self.arrays:
            names.extend(c for c in POSITION_COLUMNS if c not in names)
        return names

    def has(self, name: str) -> bool:
        """Whether ``name`` is a property of at least one node."""
        return name in self.property_names

    def column(self, name: str) -> np.ndarray:
        """Full-length column ``name`` (per-node values override node-type values).

        Raises
        ------
        SonataFormatError
            If no node has the property (the message lists the known ones).
        """
        if name in self._cache:
            return self._cache[name]
        if name == "node_id":
            col = self.node_ids
        elif name == "node_type_id":
            col = self.node_type_ids
        elif name in self.arrays:
            col = self.arrays[name]
        elif name in POSITION_COLUMNS and "positions" in self.arrays:
            col = np.asarray(self.arrays["positions"][:, POSITION_COLUMNS.index(name)])
        elif name in self.type_columns:
            uniq, inverse = np.unique(self.node_type_ids, return_inverse=True)
            values = [self.types[int(t)].get(name) for t in uniq]
            table = np.empty(len(values), dtype=object)
            table[:] = values
            if all(
                isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values
            ):
                table = table.astype(
                    np.float64 if any(isinstance(v, float) for v in values) else np.int64
                )
            col = table[inverse]
        else:
            raise SonataFormatError(
                f"no node has property {name!r}; known: {', '.join(self.property_names)}",
                path=self.source_file,
                field=f"nodes/{self.name}",
            )
        self._cache[name] = col
        return col

    def positions(self) -> np.ndarray | None:
        """``(N, 3)`` float64 positions from ``positions`` or ``x``/``y``/``z``; None if absent."""
        if self._positions is None:
            if "positions" in self.arrays:
                self._positions = np.asarray(self.arrays["positions"], dtype=np.float64)
            elif all(c in self.arrays for c in POSITION_COLUMNS):
                self._positions = np.column_stack(
                    [np.asarray(self.arrays[c], dtype=np.float64) for c in POSITION_COLUMNS]
                )
        return self._positions

    def require_positions(self, rule: str) -> np.ndarray:
        """Positions, or a ConfigError naming the rule that needs them."""
        pos = self.positions()
        if pos is None:
            raise ConfigError(
                f"{rule} needs node positions: give add_nodes 'positions' (N, 3) or x, y, z",
                field=f"nodes/{self.name}",
            )
        return pos

    def value(self, name: str, index: int) -> Any:
        """Property ``name`` of the node at row ``index``."""
        if name == "positions" and name not in self.arrays:
            pos = self.positions()
            if pos is not None:
                return pos[index]
        if name in self.arrays:
            return self.arrays[name][index]
        return self.column(name)[index]

    def _view_columns(self) -> tuple[list[str], list[Sequence[Any]]]:
        """Per-node columns as Python sequences, for building views."""
        names: list[str] = []
        cols: list[Sequence[Any]] = []
        for name, arr in self.arrays.items():
            names.append(name)
            cols.append(arr.tolist() if arr.ndim == 1 else list(arr))
        pos = self.positions()
        if pos is not None:
            if "positions" not in self.arrays:
                names.append("positions")
                cols.append(list(pos))
            for axis, name in enumerate(POSITION_COLUMNS):
                if name not in self.arrays:
                    names.append(name)
                    cols.append(pos[:, axis].tolist())
        return names, cols

    def _absent_view_columns(self, names: list[str]) -> dict[str, np.ndarray]:
        """Masks of the nodes whose views leave out each of ``names``."""
        out = {k: v for k, v in self.absent.items() if k in names}
        pos_mask = self.absent.get("positions")
        if pos_mask is not None:  # x, y, z derived from positions
            out.update({c: pos_mask for c in POSITION_COLUMNS if c in names and c not in out})
        xyz = [self.absent[c] for c in POSITION_COLUMNS if c in self.absent]
        if xyz and "positions" in names and "positions" not in self.arrays:
            out["positions"] = np.logical_or.reduce(xyz)  # positions derived from x, y, z
        return out

    def _type_values(self) -> dict[int, dict[str, Any]]:
        return {
            tid: {"node_type_id": tid, **{k: v for k, v in props.items() if v is not None}}
            for tid, props in self.types.items()
        }

    def node_views(self) -> list[NodeView]:
        """A :class:`NodeView` of every node, made once per table and then shared."""
        if self._views is None:
            names, cols = self._view_columns()
            base = self._type_values()
            tids = self.node_type_ids.tolist()
            rows = zip(*cols) if cols else itertools.repeat(())
            # properties some nodes were not given: left out of their views
            drop: dict[int, list[str]] = {}
            for name, mask in self._absent_view_columns(names).items():
                for i in np.flatnonzero(mask).tolist():
                    drop.setdefault(i, []).append(name)
            views = []
            for i, (tid, values) in enumerate(zip(tids, rows)):
                d = {"node_id": i, **base.get(tid, {"node_type_id": tid})}
                d.update(zip(names, values))
                for name in drop.get(i, ()):
                    del d[name]
                views.append(NodeView(self, i, d))
            self._views = views
        return self._views

    def views(self, index: np.ndarray | None = None) -> list[NodeView]:
        """Dict-like views of the given rows (all rows by default)."""
        every = self.node_views()
        if index is None:
            return list(every)
        return [every[i] for i in np.asarray(index, dtype=np.int64).tolist()]


def _isnan(value: Any) -> bool:
    return isinstance(value, float) and value != value


class NodeView(dict):
    """One node's properties as a plain dict, as per-pair rule callables expect.

    ``view["prop"]``, ``view.get("prop", default)``, ``view.node_id``, ``view.node_type_id``,
    ``"prop" in view`` and iteration over property names all work. Node-type properties come
    first, per-node values override them; ``positions`` (when present) is a length-3 array and
    ``x``/``y``/``z`` are given too. ``view[key]`` and ``key in view`` run ``dict``'s own C
    lookup, as fast as in a plain ``dict`` (:mod:`bmtoolkit.builder.fast_lookup`); the views of
    a table are made once (:meth:`NodeTable.node_views`) and shared by every rule. Views are
    read-only.
    """

    __slots__ = ("_table", "node_id")

    def __init__(self, table: NodeTable, index: int, values: Mapping[str, Any] | None = None):
        super().__init__(table.node_views()[int(index)] if values is None else values)
        self._table = table
        self.node_id = int(index)

    @property
    def node_type_id(self) -> int:
        """Its node type."""
        return int(self._table.node_type_ids[self.node_id])

    @property
    def population(self) -> str:
        """Name of the population."""
        return self._table.name

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("node views are read-only; set properties with add_nodes")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = _read_only  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash((self._table.name, self.node_id))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NodeView):
            return self._table is other._table and self.node_id == other.node_id
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __reduce__(self) -> tuple:
        return (NodeView, (self._table, self.node_id, dict(self)))

    def __repr__(self) -> str:
        return f"NodeView({self._table.name!r}, node_id={self.node_id})"


#: whether ``view[key]`` and ``key in view`` run at plain-dict speed in this interpreter
FAST_VIEWS = direct_dict_lookups(NodeView)
