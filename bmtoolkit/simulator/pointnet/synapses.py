"""NEST connections from SONATA edge populations, one vectorized ``nest.Connect`` per type.

For each edge type: the synapse model is the edge type's ``model_template`` (any NEST synapse
model, ``nest:`` prefix optional; default ``static_synapse``); its parameters come from the
type's ``dynamics_params`` JSON (under ``synaptic_models_dir``), then from per-edge columns of
the HDF5 group that the model accepts (``U``, ``tau_rec``, ``Wmax`` ..., and
``receptor_type`` for multi-port models such as ``glif_psc``/``glif_cond``). Weights are
``syn_weight x nsyns`` or the registered ``weight_function``; delays are in ms. Sources and
targets are passed to ``nest.Connect`` as arrays with ``one_to_one``: there is no Python loop
over edges.

Examples
--------
>>> synapse_model_name("nest:tsodyks2_synapse"), synapse_model_name(None)
('tsodyks2_synapse', 'static_synapse')
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, UnknownModelError
from bmtoolkit.simulator.core.catalogue import split_template
from bmtoolkit.simulator.core.models import EdgeTable
from bmtoolkit.simulator.core.progress import resident_gib
from bmtoolkit.simulator.pointnet.cells import known_models

if TYPE_CHECKING:
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.sonata.edges import EdgePopulation

log = logging.getLogger("bmtoolkit.simulator.pointnet")

#: synapse parameters handled by bmtoolkit itself, never passed from JSON as is
_RESERVED = ("weight", "delay", "synapse_model", "model", "level_of_detail")
#: per-edge columns that are never synapse parameters
_NOT_PARAMS = ("syn_weight", "nsyns", "weight_function", "delay", "dynamics_params")


def synapse_model_name(template: Any) -> str:
    """NEST synapse model of an edge type's ``model_template`` (default ``static_synapse``)."""
    _, name = split_template(template)
    return name or "static_synapse"


def _check_synapse(model: str, params: Mapping[str, Any], et: int, where: Any) -> set[str]:
    import nest

    models = known_models("synapse", model)
    if model not in models:
        close = difflib.get_close_matches(model, sorted(models), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"edge type {et}: NEST has no synapse model {model!r}{hint}",
            path=where,
            field="model_template",
        )
    accepted = set(nest.GetDefaults(model))
    bad = sorted(set(params) - accepted)
    if bad:
        raise ConfigError(
            f"edge type {et}: NEST synapse model {model!r} does not accept {', '.join(bad)}",
            path=where,
            field="dynamics_params",
        )
    return accepted


class ConnectBuffers:
    """Scratch arrays for the per-edge-type arrays handed to ``nest.Connect``.

    NEST copies sources, targets, weights and delays into its own connection tables, so one
    set of arrays, as long as the largest edge type, serves every type and every edge
    population: the selections are written into them (``out=``) instead of allocating (and
    page-faulting) fresh arrays of millions of elements per type.

    Examples
    --------
    >>> buf = ConnectBuffers()
    >>> buf.select("weight", np.array([1.0, 2.0, 3.0]), np.array([True, False, True]), 2, float)
    array([1., 3.])
    >>> buf.lookup("pre", np.array([10, 11, 12]), np.array([2, 0, 1]), None, 3)
    array([12, 10, 11])
    """

    def __init__(self) -> None:
        self._arrays: dict[tuple[str, str], np.ndarray] = {}
        self._size = 0

    def reserve(self, n: int) -> None:
        """Make later requests of up to ``n`` elements reuse one allocation."""
        self._size = max(self._size, int(n))

    def _get(self, name: str, n: int, dtype: Any) -> np.ndarray:
        dtype = np.dtype(dtype)
        key = (name, dtype.str)
        buf = self._arrays.get(key)
        if buf is None or len(buf) < n:
            buf = np.empty(max(n, self._size), dtype=dtype)
            self._arrays[key] = buf
        return buf[:n]

    def select(
        self, name: str, values: np.ndarray, mask: np.ndarray | None, n: int, dtype: Any
    ) -> np.ndarray:
        """``values[mask]`` (all of ``values`` when ``mask`` is None) as ``dtype``, ``n`` long."""
        values = np.asarray(values, dtype=dtype)
        if mask is None:
            return np.ascontiguousarray(values)
        return np.compress(mask, values, out=self._get(name, n, dtype))

    def lookup(
        self, name: str, table: np.ndarray, index: np.ndarray, mask: np.ndarray | None, n: int
    ) -> np.ndarray:
        """``table[index[mask]]`` as int64 (``table[index]`` when ``mask`` is None)."""
        index = np.asarray(index, dtype=np.int64)
        idx = index if mask is None else np.compress(mask, index, out=self._get("idx", n, np.int64))
        if len(idx) and (idx.min() < 0 or idx.max() >= len(table)):
            raise IndexError(
                f"node ids must be in [0, {len(table)}), found {idx.min()}..{idx.max()}"
            )
        # bounds checked above; mode="raise" would copy into a hidden buffer first
        return np.take(
            np.asarray(table, np.int64), idx, out=self._get(name, n, np.int64), mode="clip"
        )


def _type_counts(masks: Any, keep: np.ndarray | None, n: int) -> dict[int, int]:
    """Edges of each type to connect, without making every type's mask at once."""
    if hasattr(masks, "counts"):
        return {int(et): c for et, c in masks.counts(keep).items()}
    if keep is None and len(masks) == 1:
        return {int(et): n for et in masks}
    return {
        int(et): int(np.count_nonzero(m if keep is None else m & keep)) for et, m in masks.items()
    }


def connect_edges(
    plan: RunPlan,
    edges: EdgePopulation,
    table: EdgeTable,
    source_ids: np.ndarray,
    target_ids: np.ndarray,
    *,
    dt: float,
    keep: np.ndarray | None = None,
    buffers: ConnectBuffers | None = None,
    memory: dict[str, float] | None = None,
) -> int:
    """Create the NEST connections of one edge population; return how many were made.

    Parameters
    ----------
    table : EdgeTable
        Weights, delays and endpoints from :func:`bmtoolkit.simulator.core.models.edge_table`.
    source_ids, target_ids : np.ndarray
        NEST id of every SONATA node of the source / target population.
    dt : float
        The simulation step (ms); delays must not be shorter.
    keep : np.ndarray of bool, optional
        Edges to create (default all), e.g. only those onto simulated nodes.
    buffers : ConnectBuffers, optional
        Scratch arrays to reuse across calls (e.g. one for all edge populations).
    memory : dict, optional
        Adds to ``memory["nest_gib"]`` the growth of the resident memory during the
        ``nest.Connect`` calls (NEST's own connection tables).

    Examples
    --------
    >>> n = connect_edges(plan, edges, table, src.source_ids, trg.nest_ids, dt=0.1)  # doctest: +SKIP
    """
    import nest

    n_made = 0
    extra_cols = [c for c in table.properties if c not in _NOT_PARAMS]
    masks = table.masks()
    whole = keep is None and len(masks) == 1  # all edges, one type: no selection at all
    counts = _type_counts(masks, keep, len(table.edge_type_ids))
    buffers = buffers if buffers is not None else ConnectBuffers()
    buffers.reserve(max(counts.values(), default=0))
    src_nodes = np.asarray(source_ids, dtype=np.int64)
    trg_nodes = np.asarray(target_ids, dtype=np.int64)
    for et, n_type in counts.items():
        if n_type == 0:
            continue
        # one mask at a time: hundreds of edge types never hold a byte per edge each
        mask = None if whole else masks[et] if keep is None else masks[et] & keep
        synapse = plan.catalogue.edge_type(edges, et)
        model = synapse_model_name(synapse.model_template)
        params_file = synapse.params_file
        params = {k: v for k, v in synapse.params.items() if k not in _RESERVED}
        accepted = _check_synapse(model, params, et, params_file or edges.types_path)
        delays = buffers.select("delay", table.delays, None if whole else mask, n_type, float)
        if delays.min() < dt - 1e-12:
            raise ConfigError(
                f"edge type {et}: delays must be >= the time step {dt} ms "
                f"(smallest is {delays.min()})",
                path=edges.types_path or edges.h5_path,
                field="delay",
            )
        syn_spec: dict[str, Any] = {
            "synapse_model": model,
            "weight": buffers.select(
                "weight", table.weights, None if whole else mask, n_type, float
            ),
            "delay": delays,
        }
        for key, value in params.items():
            syn_spec[key] = value
        for col in extra_cols:
            if col in accepted and col not in _RESERVED:
                vals = np.asarray(table.properties[col])
                vals = vals if whole else vals[mask]
                if vals.dtype.kind == "f" and np.isnan(vals).all():
                    continue
                if vals.dtype.kind == "f" and np.isnan(vals).any():
                    raise ConfigError(
                        f"edge type {et}: {int(np.isnan(vals).sum())} of {vals.size} edges have "
                        f"no {col!r} (NaN or no value in their group); NEST needs a value for "
                        "every edge of a type or for none",
                        path=edges.h5_path,
                        field=col,
                    )
                syn_spec[col] = np.ascontiguousarray(vals, dtype=float)
        if "receptor_type" in syn_spec:
            rt = syn_spec["receptor_type"]
            syn_spec["receptor_type"] = (
                np.ascontiguousarray(rt, dtype=np.int64) if np.ndim(rt) else int(rt)
            )
        pre = buffers.lookup("pre", src_nodes, table.source_ids, None if whole else mask, n_type)
        post = buffers.lookup("post", trg_nodes, table.target_ids, None if whole else mask, n_type)
        before = resident_gib() if memory is not None else 0.0
        try:
            nest.Connect(pre, post, conn_spec="one_to_one", syn_spec=syn_spec)
        except nest.NESTError as err:
            raise ConfigError(
                f"edge type {et}: NEST could not connect with {model!r}: {err}",
                path=params_file or edges.types_path or edges.h5_path,
            ) from err
        if memory is not None:
            memory["nest_gib"] = memory.get("nest_gib", 0.0) + resident_gib() - before
        n_made += n_type
    log.info("%s: %d connections", edges.name, n_made)
    return n_made
