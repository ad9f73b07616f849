"""Model parameters and connection tables every backend derives from a circuit.

- :func:`node_type_models`: for each node type of a population, its ``model_type``,
  ``model_template`` and the ``dynamics_params`` JSON loaded from the right components folder
  (errors name the node type and the file), as resolved once by the run's
  :class:`~bmtoolkit.simulator.core.catalogue.ModelCatalogue`;
- :func:`node_dynamics`: per-node parameter columns (node-type JSON merged with the per-node
  HDF5 ``dynamics_params`` overrides);
- :func:`edge_table`: sources, targets, weights (``syn_weight x nsyns`` or the edge type's
  registered ``weight_function``), delays and edge types of one edge population, as arrays.

Examples
--------
>>> split_template("nest:iaf_psc_alpha")
('nest', 'iaf_psc_alpha')
>>> split_template(None)
(None, None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, SonataFormatError
from bmtoolkit.simulator.core.catalogue import (
    NodeTypeModel,
    is_empty,
    load_json_params,
    split_template,
    weight_function_of,
)
from bmtoolkit.simulator.core.edge_values import (
    ABSENT_DEFAULTS,
    absent_rows,
    check_shapes,
    check_values,
    check_weights,
)
from bmtoolkit.simulator.core.registries import (
    DEFAULT_WEIGHT_NAMES,
    NodeColumns,
    get_weight_function,
)

if TYPE_CHECKING:  # pandas is imported where a DataFrame is needed
    import pandas as pd

    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.sonata.edges import EdgePopulation
    from bmtoolkit.sonata.nodes import NodePopulation

__all__ = [
    "EdgeTable",
    "LazyColumns",
    "NodeTypeModel",
    "edge_table",
    "load_json_params",
    "node_dynamics",
    "node_type_models",
    "present_types",
    "split_template",
    "type_masks",
]


def node_type_models(plan: RunPlan, population: NodePopulation) -> Mapping[int, NodeTypeModel]:
    """``{node_type_id: NodeTypeModel}`` for the node types used by ``population``.

    The run's :class:`~bmtoolkit.simulator.core.catalogue.ModelCatalogue` resolves each
    population once; this is ``plan.catalogue.node_types(population)``.

    Examples
    --------
    >>> models = node_type_models(plan, plan.circuit.nodes["v1"])  # doctest: +SKIP
    >>> models[100].model_template, models[100].params_file.name  # doctest: +SKIP
    ('nest:iaf_psc_alpha', 'exc.json')
    """
    return plan.catalogue.node_types(population)


def node_dynamics(population: NodePopulation, ids: np.ndarray) -> pd.DataFrame:
    """Per-node HDF5 ``dynamics_params`` overrides for ``ids`` (empty frame if none)."""
    import pandas as pd

    df = population.dynamics_params(ids)
    if df is None:
        return pd.DataFrame(index=pd.Index(ids, name="node_id"))
    return df


class LazyColumns(Mapping):
    """``{column: per-edge array}`` whose columns can be given as a function that builds the
    array when it is first read (types-table columns one backend needs and another does not).

    Examples
    --------
    >>> cols = LazyColumns({"nsyns": np.ones(2)})
    >>> cols.defer("syn_weight", np.full, 2, 0.5)
    >>> cols.is_deferred("syn_weight"), cols["syn_weight"].tolist(), cols.is_deferred("syn_weight")
    (True, [0.5, 0.5], False)
    """

    def __init__(self, data: Mapping[str, np.ndarray] | None = None) -> None:
        self._data: dict[str, np.ndarray] = dict(data or {})
        self._deferred: dict[str, tuple[Any, tuple[Any, ...]]] = {}
        self._names: dict[str, None] = dict.fromkeys(self._data)

    def defer(self, name: str, build: Any, *args: Any) -> None:
        """Compute column ``name`` as ``build(*args)`` on first access."""
        self._data.pop(name, None)
        self._deferred[name] = (build, args)
        self._names[name] = None

    def is_deferred(self, name: str) -> bool:
        """Whether ``name`` is known but not built yet."""
        return name in self._deferred

    def __setitem__(self, name: str, values: np.ndarray) -> None:
        self._deferred.pop(name, None)
        self._data[name] = values
        self._names[name] = None

    def __getitem__(self, name: str) -> np.ndarray:
        if name in self._deferred:
            build, args = self._deferred.pop(name)
            self._data[name] = build(*args)
        return self._data[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __iter__(self):
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)


@dataclass(frozen=True)
class EdgeTable:
    """Arrays describing all edges of one edge population (one row per edge)."""

    population: str
    #: node populations of the sources and targets (None where the file names none)
    source_population: str | None
    target_population: str | None
    source_ids: np.ndarray
    target_ids: np.ndarray
    edge_type_ids: np.ndarray
    weights: np.ndarray
    delays: np.ndarray
    #: per-edge arrays of the other columns asked for (``nsyns`` always present)
    properties: Mapping[str, np.ndarray]
    #: ``{edge_type_id: boolean mask of its edges}`` (computed once, reused by backends)
    type_masks: Mapping[int, np.ndarray] = field(default_factory=dict)

    def masks(self) -> Mapping[int, np.ndarray]:
        """``{edge_type_id: boolean mask}`` for every edge type present, in increasing id order.

        Examples
        --------
        >>> for et, mask in table.masks().items():  # doctest: +SKIP
        ...     print(et, mask.sum())
        """
        if self.type_masks or len(self.edge_type_ids) == 0:
            return self.type_masks
        return type_masks(self.edge_type_ids)


def present_types(type_ids: np.ndarray) -> np.ndarray:
    """Sorted distinct values of ``type_ids`` (a counting pass when ids are small, as edge and
    node type ids are, instead of a sort or hash of every element).

    Examples
    --------
    >>> present_types(np.array([101, 100, 101])).tolist()
    [100, 101]
    """
    ids = np.asarray(type_ids)
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(ids.min()), int(ids.max())
    if ids.dtype.kind in "iu" and lo >= 0 and hi <= 4 * ids.size + 1_000_000:
        return np.flatnonzero(np.bincount(ids.astype(np.intp, copy=False)))
    return np.unique(ids)


class TypeMasks(Mapping[int, np.ndarray]):
    """``{type id: boolean mask}`` for each distinct value of ``type_ids``, made on access.

    A model with hundreds of edge types (one per pair of cell classes) would otherwise hold
    one byte per edge per type; here each mask is a fresh array, computed when asked for and
    owned by the caller (free to change it in place), so at most the masks in use exist.

    Examples
    --------
    >>> masks = TypeMasks(np.array([7, 5, 7]))
    >>> list(masks), masks[7].tolist(), masks.counts()
    ([5, 7], [True, False, True], {5: 1, 7: 2})
    """

    def __init__(self, type_ids: np.ndarray) -> None:
        self.ids = np.asarray(type_ids)
        self._present = [int(t) for t in present_types(self.ids)]

    def __getitem__(self, key: int) -> np.ndarray:
        if int(key) not in self._present:
            raise KeyError(key)
        if len(self._present) == 1:
            return np.ones(self.ids.size, dtype=bool)
        return self.ids == key

    def __iter__(self) -> Any:
        return iter(self._present)

    def __len__(self) -> int:
        return len(self._present)

    def counts(self, keep: np.ndarray | None = None) -> dict[int, int]:
        """Number of edges of each type (only those where ``keep`` is True, if given)."""
        ids = self.ids if keep is None else self.ids[keep]
        if ids.size == 0:
            return dict.fromkeys(self._present, 0)
        hi = self._present[-1]
        if ids.dtype.kind in "iu" and self._present[0] >= 0 and hi <= 4 * ids.size + 10**6:
            per = np.bincount(ids.astype(np.intp, copy=False), minlength=hi + 1)
            return {t: int(per[t]) for t in self._present}
        vals, n = np.unique(ids, return_counts=True)
        found = dict(zip(vals.tolist(), n.tolist(), strict=True))
        return {t: int(found.get(t, 0)) for t in self._present}


def type_masks(type_ids: np.ndarray) -> TypeMasks:
    """``{type id: boolean mask}`` for each distinct value of ``type_ids`` (see
    :class:`TypeMasks`: each mask is computed when asked for).

    Examples
    --------
    >>> {k: v.tolist() for k, v in type_masks(np.array([7, 5, 7])).items()}
    {5: [False, True, False], 7: [True, False, True]}
    """
    return TypeMasks(type_ids)


def _per_type_values(
    types: pd.DataFrame, col: str, type_ids: np.ndarray, masks: Mapping[int, np.ndarray], n: int
) -> np.ndarray:
    values = types[col]
    kind = values.dtype.kind
    out = np.full(n, np.nan) if kind in "biuf" else np.empty(n, dtype=object)
    for et in type_ids:
        out[masks[int(et)]] = values.get(int(et), np.nan)  # one mask at a time
    return out


def _weight_frame(
    edges: EdgePopulation,
    props: Mapping[str, np.ndarray],
    et: int,
    mask: np.ndarray,
    src: np.ndarray,
    tgt: np.ndarray,
    in_h5: set[str],
) -> pd.DataFrame:
    """Every column of the edges of type ``et``, as BMTK hands them to a weight function:
    ids, H5 group columns and the edge type's CSV columns (``weight_sigma`` ...)."""
    import pandas as pd

    types = edges.types
    n = int(np.count_nonzero(mask))
    data: dict[str, Any] = {
        "edge_type_id": np.full(n, et, dtype=np.int64),
        "source_node_id": src[mask],
        "target_node_id": tgt[mask],
    }
    for col in edges.property_names:
        if col in data:
            continue
        if col in props:
            data[col] = np.asarray(props[col])[mask]
        elif col in in_h5:
            data[col] = np.asarray(edges.column(col))[mask]
        elif col in types.columns:
            value = types[col].get(et, np.nan)
            data[col] = np.full(n, value, dtype=object if isinstance(value, str) else None)
    for col in ("syn_weight", "nsyns", "delay"):
        if col in props and col not in data:
            data[col] = np.asarray(props[col])[mask]
    return pd.DataFrame(data)


def _delays(
    edges: EdgePopulation,
    props: Mapping[str, np.ndarray],
    absent: np.ndarray | None,
    default_delay: float | None,
    n: int,
) -> np.ndarray:
    """Per-edge delays: the column where present (NULL or non-finite values refused), else
    ``default_delay`` (edges of groups without a delay, or no delay column at all)."""
    where = getattr(edges, "types_path", None) or edges.h5_path
    if "delay" not in props:
        if default_delay is None:
            raise SonataFormatError("edges have no 'delay'", path=where, field="delay")
        return np.full(n, float(default_delay))
    delays = np.asarray(props["delay"], dtype=float)
    check_values(edges, "delay", delays, absent)
    if absent is not None:
        if default_delay is None:
            raise SonataFormatError(
                f"{int(absent.sum())} edges have no delay (their group has no 'delay' and the "
                "types table none either)",
                path=where,
                field="delay",
            )
        delays = np.where(absent, float(default_delay), delays)
    return delays


def edge_table(
    plan: RunPlan,
    edges: EdgePopulation,
    *,
    default_delay: float | None = None,
    extra: tuple[str, ...] = (),
) -> EdgeTable:
    """Weights, delays and endpoints of every edge of ``edges`` (an ``EdgePopulation``).

    Weights follow BMTK: ``syn_weight * nsyns`` unless the edge type names a
    ``weight_function``, which then gets all edges of that type at once (see
    :func:`~bmtoolkit.simulator.core.registries.synaptic_weight`). Each column is read group
    by group as BMTK reads it: the group's dataset, else the types table, else a default
    (``nsyns`` 1, also for a ``NULL`` in the types table; ``delay`` ``default_delay``; see
    :mod:`~bmtoolkit.simulator.core.edge_values`).

    Raises
    ------
    ConfigError
        A present numeric value is NaN or infinite (``NULL`` in the types table), a column has
        more than one value per edge, or a weight function returned non-finite weights; names
        the file, the group or edge type, and the column. Raised before anything is connected.
    SonataFormatError
        An edge type has no ``syn_weight`` and no weight function.
    UnknownModelError
        A ``weight_function`` is not registered (names the edge type and the types file).

    Examples
    --------
    >>> table = edge_table(plan, plan.circuit.edges["v1_to_v1"], default_delay=1.0)  # doctest: +SKIP
    >>> table.weights[:3], table.delays[:3]  # doctest: +SKIP
    """
    src = np.asarray(edges.source_node_ids(), dtype=np.int64)
    tgt = np.asarray(edges.target_node_ids(), dtype=np.int64)
    etypes = np.asarray(edges.edge_type_ids(), dtype=np.int64)
    masks = type_masks(etypes)  # masks made one at a time when used: no byte per edge per type
    props, absent, in_h5 = _edge_columns(edges, masks, len(src), extra)
    # weights start as nsyns and are scaled in place type by type (no per-type temporaries)
    weights = np.array(props["nsyns"], dtype=float)
    per_edge_weight = None
    for et, mask in masks.items():
        name = _weight_function_name(edges, et, mask)
        fn = get_weight_function(name, edge_type=et, path=edges.types_path)
        if name is None or name in DEFAULT_WEIGHT_NAMES:
            if per_edge_weight is None and "syn_weight" in props:
                if not props.is_deferred("syn_weight"):
                    per_edge_weight = np.asarray(props["syn_weight"], float)
            syn_weight = _syn_weight(edges, et, mask, props, per_edge_weight)
            np.multiply(syn_weight, weights, out=weights, where=mask)
        else:
            sub = _weight_frame(edges, props, et, mask, src, tgt, in_h5)
            source = NodeColumns(plan.circuit.nodes[edges.source_population], src[mask])
            target = NodeColumns(plan.circuit.nodes[edges.target_population], tgt[mask])
            weights[mask] = np.asarray(fn(sub, source, target), dtype=float)
            check_weights(edges, weights[mask], et, name)
    delays = _delays(edges, props, absent.get("delay"), default_delay, len(src))
    return EdgeTable(
        edges.name,
        edges.source_population,
        edges.target_population,
        src,
        tgt,
        etypes,
        weights,
        delays,
        props,
        masks,
    )


def _edge_columns(
    edges: EdgePopulation, masks: Mapping[int, np.ndarray], n: int, extra: tuple[str, ...]
) -> tuple[LazyColumns, dict[str, np.ndarray | None], set[str]]:
    """The per-edge columns ``syn_weight``, ``nsyns``, ``delay`` and ``extra`` (those that
    exist), the rows of each column whose group has no value, and the HDF5 column names."""
    names = set(edges.property_names)
    types = edges.types
    type_ids = np.fromiter(masks, dtype=np.int64, count=len(masks))
    in_h5 = {c for grp in edges.groups.values() for c in grp.attribute_names}
    props = LazyColumns()
    absent: dict[str, np.ndarray | None] = {}
    for col in dict.fromkeys(c for c in ("syn_weight", "nsyns", "delay", *extra) if c in names):
        if col in in_h5 or col not in types.columns:
            check_shapes(edges, col)
            values = np.asarray(edges.column(col))
            absent[col] = missing = absent_rows(edges, col, values)
            check_values(edges, col, values, missing)
            if col in ABSENT_DEFAULTS and missing is not None:  # BMTK: no nsyns = 1
                values = np.where(missing, ABSENT_DEFAULTS[col], values)
            props[col] = values
        elif col == "delay":  # needed per edge below anyway
            props[col] = _per_type_values(types, col, type_ids, masks, n)
        else:  # a types-table column: one value per edge type, expanded only if read
            props.defer(col, _per_type_values, types, col, type_ids, masks, n)
    if "nsyns" not in props:
        props["nsyns"] = np.ones(n)
    elif props.is_deferred("nsyns") or "nsyns" not in in_h5:
        # from the types table only: a NULL there is no value, which BMTK counts as 1
        props["nsyns"] = np.nan_to_num(np.asarray(props["nsyns"], float), nan=1.0)
    return props, absent, in_h5


def _weight_function_name(edges: EdgePopulation, et: int, mask: np.ndarray) -> str | None:
    """The ``weight_function`` of edge type ``et``: its types-table cell, else the first value
    of a per-edge column among its edges (``None`` where there is none)."""
    import pandas as pd

    types = edges.types
    if "weight_function" in types.columns and et in types.index:
        return weight_function_of(edges, et)
    if "weight_function" not in edges.property_names:
        return None
    vals = pd.unique(np.asarray(edges.column("weight_function"))[mask])
    name = vals[0] if len(vals) else None
    return None if is_empty(name) else str(name)


def _syn_weight(
    edges: EdgePopulation,
    et: int,
    mask: np.ndarray,
    props: LazyColumns,
    per_edge: np.ndarray | None,
) -> np.ndarray | np.float64:
    """``syn_weight`` of edge type ``et``: one value from the types table, or ``per_edge``.

    Raises
    ------
    SonataFormatError
        No ``syn_weight`` for some edge of the type.
    ConfigError
        The types table's value is infinite.
    """
    where = edges.types_path or edges.h5_path
    syn_weight: np.ndarray | np.float64 | None
    if "syn_weight" not in props:
        syn_weight = None
    elif props.is_deferred("syn_weight"):  # one value per type from the CSV
        syn_weight = np.float64(edges.types["syn_weight"].get(et, np.nan))
    else:
        syn_weight = per_edge
    if (
        syn_weight is None
        or np.isnan(syn_weight if syn_weight.ndim == 0 else np.asarray(syn_weight)[mask]).any()
    ):
        raise SonataFormatError(
            f"edge type {et} has no syn_weight (in the H5 group or the types CSV) "
            "and no weight_function",
            path=where,
            field="syn_weight",
        )
    if syn_weight.ndim == 0 and not np.isfinite(syn_weight):
        raise ConfigError(
            f"edge type {et} has syn_weight = {float(syn_weight)!r}; expected a finite number",
            path=where,
            field="syn_weight",
        )
    return syn_weight
