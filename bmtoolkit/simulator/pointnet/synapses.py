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
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, UnknownModelError
from bmtoolkit.simulator.core.models import EdgeTable, load_json_params, split_template
from bmtoolkit.simulator.pointnet.cells import known_models

log = logging.getLogger("bmtoolkit.simulator.pointnet")

#: synapse parameters handled by bmtoolkit itself, never passed from JSON as is
_RESERVED = ("weight", "delay", "synapse_model", "model", "level_of_detail")
#: per-edge columns that are never synapse parameters
_NOT_PARAMS = ("syn_weight", "nsyns", "weight_function", "delay", "dynamics_params")


def synapse_model_name(template: Any) -> str:
    """NEST synapse model of an edge type's ``model_template`` (default ``static_synapse``)."""
    _, name = split_template(template)
    return name or "static_synapse"


def _synapse_params(edges: Any, et: int, plan: Any) -> tuple[dict[str, Any], Path | None]:
    types = edges.types
    if "dynamics_params" not in types.columns or et not in types.index:
        return {}, None
    value = types.loc[et, "dynamics_params"]
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return {}, None
    path = Path(str(value))
    if not path.is_absolute():
        comps = plan.components
        if "synaptic_models_dir" not in comps:
            raise ConfigError(
                f"edge type {et} names dynamics_params {value!r} but components has no "
                "synaptic_models_dir",
                path=plan.config_path or edges.types_path,
                field="components.synaptic_models_dir",
            )
        path = Path(comps["synaptic_models_dir"]) / path
    if not path.exists():
        from bmtoolkit.exceptions import MissingFileError

        raise MissingFileError(
            f"edge type {et}: synapse dynamics_params file {str(path)!r} does not exist",
            path=edges.types_path,
            field="dynamics_params",
        )
    return load_json_params(path, node_type=None, types_file=edges.types_path), path


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


def connect_edges(
    plan: Any,
    edges: Any,
    table: EdgeTable,
    source_ids: np.ndarray,
    target_ids: np.ndarray,
    *,
    dt: float,
    keep: np.ndarray | None = None,
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

    Examples
    --------
    >>> n = connect_edges(plan, edges, table, src.source_ids, trg.nest_ids, dt=0.1)  # doctest: +SKIP
    """
    import nest

    types = edges.types
    n_made = 0
    extra_cols = [c for c in table.properties if c not in _NOT_PARAMS]
    n_edges = len(table.source_ids)
    for et, type_mask in table.masks().items():
        et = int(et)
        mask = type_mask if keep is None else type_mask & keep
        # every edge of this type kept: whole arrays, no gather copies
        take = slice(None) if keep is None and len(table.masks()) == 1 else mask
        n_type = n_edges if isinstance(take, slice) else int(np.count_nonzero(mask))
        if n_type == 0:
            continue
        template = types.loc[et, "model_template"] if "model_template" in types.columns else None
        if template is not None and not isinstance(template, str):
            template = None if np.isnan(template) else str(template)
        model = synapse_model_name(template)
        params, params_file = _synapse_params(edges, et, plan)
        params = {k: v for k, v in params.items() if k not in _RESERVED}
        accepted = _check_synapse(model, params, et, params_file or edges.types_path)
        delays = table.delays[take]
        if np.any(delays < dt - 1e-12):
            raise ConfigError(
                f"edge type {et}: delays must be >= the time step {dt} ms "
                f"(smallest is {delays.min()})",
                path=edges.types_path or edges.h5_path,
                field="delay",
            )
        syn_spec: dict[str, Any] = {
            "synapse_model": model,
            "weight": np.ascontiguousarray(table.weights[take], dtype=float),
            "delay": np.ascontiguousarray(delays, dtype=float),
        }
        for key, value in params.items():
            syn_spec[key] = value
        for col in extra_cols:
            if col in accepted and col not in _RESERVED:
                vals = np.asarray(table.properties[col])[take]
                if vals.dtype.kind == "f" and np.isnan(vals).all():
                    continue
                syn_spec[col] = np.ascontiguousarray(vals, dtype=float)
        if "receptor_type" in syn_spec:
            rt = syn_spec["receptor_type"]
            syn_spec["receptor_type"] = (
                np.ascontiguousarray(rt, dtype=np.int64) if np.ndim(rt) else int(rt)
            )
        pre = np.ascontiguousarray(source_ids[table.source_ids[take]], dtype=np.int64)
        post = np.ascontiguousarray(target_ids[table.target_ids[take]], dtype=np.int64)
        try:
            nest.Connect(pre, post, conn_spec="one_to_one", syn_spec=syn_spec)
        except nest.NESTError as err:
            raise ConfigError(
                f"edge type {et}: NEST could not connect with {model!r}: {err}",
                path=params_file or edges.types_path or edges.h5_path,
            ) from err
        n_made += n_type
    log.info("%s: %d connections", edges.name, n_made)
    return n_made
