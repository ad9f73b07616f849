"""Node selection: which nodes of a population take part in an edge set or a query.

A selector is one of

- ``None`` or ``{}``: every node;
- a dict of property values: ``{"ei": "e"}``, a list means any of ``{"pop_name": ["a", "b"]}``,
  a callable tests values ``{"depth": lambda d: d > 100}`` (called on the whole column when it
  returns a boolean array, else value by value), ``node_id``/``node_ids`` select ids and
  ``population`` must name the table (SONATA node-set style);
- a callable taking the :class:`~bmtoolkit.builder.node_table.NodeTable` and returning a boolean
  mask or node ids;
- a :class:`NodeSelection` (what ``NetworkBuilder.nodes(...)`` returns), a sequence of node
  views, or an array of node ids.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.builder.node_table import NodeSetSpec, NodeTable
>>> t = NodeTable.from_specs("v1", [NodeSetSpec.from_properties(4, 1, {"ei": "e", "d": np.arange(4)})])
>>> resolve(t, {"d": lambda d: d >= 2}).tolist()
[2, 3]
>>> resolve(t, {"d": [0, 3]}).tolist()
[0, 3]
>>> filter_string({"ei": "e", "d": [0, 3]})
"ei=='e'&d=='[0, 3]'"
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.builder.node_table import NodeTable, NodeView
from bmtoolkit.exceptions import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from bmtoolkit.builder.network import NetworkBuilder

Selector = Mapping[str, Any] | Callable[[NodeTable], Any] | Sequence[Any] | np.ndarray | None


def _match_value(column: np.ndarray, wanted: Any, name: str) -> np.ndarray:
    if callable(wanted):
        try:
            mask = wanted(column)
        except (TypeError, ValueError):
            mask = None
        if isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == column.shape:
            return mask
        return np.fromiter((bool(wanted(v)) for v in column), dtype=bool, count=len(column))
    if isinstance(wanted, (list, tuple, set, np.ndarray)):
        values = list(wanted)
        if column.dtype == object:
            mask = np.zeros(len(column), dtype=bool)
            for value in values:
                mask |= _object_equal(column, value)
            return mask
        return np.isin(column, np.asarray(values))
    if column.dtype == object:
        return _object_equal(column, wanted)
    return np.asarray(column == wanted, dtype=bool)


def _object_equal(column: np.ndarray, wanted: Any) -> np.ndarray:
    """``column[i] == wanted`` for every row of an object column, in one NumPy loop when the
    comparison gives one bool per row (strings, numbers), else row by row."""
    if not isinstance(wanted, (list, tuple, set, dict, np.ndarray)):
        try:
            mask = np.equal(column, wanted, dtype=object)
        except (TypeError, ValueError):
            mask = None
        if isinstance(mask, np.ndarray) and mask.shape == column.shape:
            try:  # an element that compares to an array raises here
                return mask.astype(bool)
            except (TypeError, ValueError):
                pass
    return np.fromiter((v == wanted for v in column), dtype=bool, count=len(column))


def _from_mapping(table: NodeTable, selector: Mapping[str, Any]) -> np.ndarray:
    mask = np.ones(table.size, dtype=bool)
    for name, wanted in selector.items():
        if name == "population":
            pops = [wanted] if isinstance(wanted, str) else list(wanted)
            if table.name not in pops:
                mask[:] = False
            continue
        if name in ("node_id", "node_ids"):
            ids = np.atleast_1d(np.asarray(wanted, dtype=np.int64))
            mask &= np.isin(table.node_ids, ids)
            continue
        if not table.has(name):
            known = ", ".join(sorted(table.property_names)) or "none"
            raise ConfigError(
                f"no node of network {table.name!r} has the property {name!r}; "
                f"known properties: {known}",
                field=name,
            )
        mask &= _match_value(table.column(name), wanted, name)
    return np.flatnonzero(mask)


def resolve(table: NodeTable, selector: Selector) -> np.ndarray:
    """Row indices (sorted int64 node ids) of the nodes of ``table`` that ``selector`` picks.

    Raises
    ------
    ConfigError
        If the selector is of an unknown kind or picks ids outside the population.
    """
    if selector is None:
        return table.node_ids
    if isinstance(selector, NodeSelection):
        if selector.table() is not table:
            raise ConfigError(
                f"selection of population {selector.network_name!r} used for {table.name!r}"
            )
        return selector.indices()
    if isinstance(selector, Mapping):
        return _from_mapping(table, selector)
    if callable(selector):
        result = np.asarray(selector(table))
        if result.dtype == bool:
            if result.shape != (table.size,):
                raise ConfigError(
                    f"selector callable returned a mask of shape {result.shape}, "
                    f"expected ({table.size},)"
                )
            return np.flatnonzero(result)
        return _checked_ids(table, result)
    if isinstance(selector, (Sequence, np.ndarray)) and not isinstance(selector, str):
        items = list(selector)
        if items and isinstance(items[0], NodeView):
            return _checked_ids(table, np.array([v.node_id for v in items], dtype=np.int64))
        return _checked_ids(table, np.asarray(items, dtype=np.int64))
    raise ConfigError(
        f"cannot select nodes with {type(selector).__name__}; use a dict of property values, "
        "a callable, a node selection, or node ids"
    )


def _checked_ids(table: NodeTable, ids: np.ndarray) -> np.ndarray:
    ids = np.unique(ids.astype(np.int64, copy=False))
    if len(ids) and (ids[0] < 0 or ids[-1] >= table.size):
        raise ConfigError(
            f"node ids {ids[0]}..{ids[-1]} outside population {table.name!r} of {table.size} nodes"
        )
    return ids


def filter_string(selector: Selector) -> str:
    """BMTK-style provenance string for the edge types CSV (``*`` for all nodes)."""
    if isinstance(selector, NodeSelection):
        selector = selector.filters
    if not selector:
        return "*"
    if isinstance(selector, Mapping):
        parts = []
        for key, value in selector.items():
            text = getattr(value, "__name__", None) if callable(value) else None
            parts.append(f"{key}=='{text or value}'")
        return "&".join(parts)
    if callable(selector):
        return getattr(selector, "__name__", "callable")
    return "node_ids"


class NodeSelection:
    """A lazily evaluated set of nodes of one network (``NetworkBuilder.nodes(**filters)``).

    Iterating yields :class:`~bmtoolkit.builder.node_table.NodeView` objects; ``len`` counts
    them. It can be passed as ``source``/``target`` of ``add_edges`` on any network.
    """

    def __init__(self, network: NetworkBuilder, filters: Selector = None) -> None:
        self.network = network
        self.filters = filters if filters is not None else {}

    @property
    def network_name(self) -> str:
        """Name of the population the nodes belong to."""
        return self.network.name

    @property
    def filter_str(self) -> str:
        """BMTK-style filter string."""
        return filter_string(self.filters)

    def table(self) -> NodeTable:
        """The node table of the network (built on demand)."""
        return self.network.node_table()

    def indices(self) -> np.ndarray:
        """Sorted node ids of the selection."""
        if isinstance(self.filters, NodeSelection):
            return self.filters.indices()
        return resolve(self.table(), self.filters)

    def __iter__(self) -> Iterator[NodeView]:
        table = self.table()
        return (NodeView(table, int(i)) for i in self.indices())

    def __len__(self) -> int:
        return len(self.indices())

    def __repr__(self) -> str:
        return f"NodeSelection({self.network_name!r}, {self.filter_str})"
