"""Spontaneously firing synapses (BMTK's ``syn_activity`` input module).

Config entry (BMTK's keys)::

    "syn_activity": {
        "input_type": "syn_activity", "module": "syn_activity",
        "precell_filter": {"model_name": "Scnn1a"},
        "postcell_filter": {"population": "bio"},
        "timestamps": [500.0, 1000.0, 1500.0]
    }

As in BMTK, this changes how the network's recurrent edges (those whose source population
is not virtual) are made: an edge whose source node matches ``precell_filter`` and whose target
matches ``postcell_filter`` (optional) fires at ``timestamps`` (ms), independently of its source
cell's spikes; every other recurrent edge is made with weight 0, so no recurrent spike reaches
a target. Edges from virtual nodes (spike-train inputs) work as usual. A filter maps a node
property (or ``population``) to a value or a list of accepted values. Synapses are placed as
they would be without the input.

Examples
--------
>>> import numpy as np
>>> columns = {"model_name": np.array(["Scnn1a", "PV", "Scnn1a"])}
>>> node_mask(columns, "v1", {"model_name": "Scnn1a"}).tolist()
[True, False, True]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.registries import INPUT_MODULES

__all__ = ["SpontaneousSynapsesInput", "node_mask", "spontaneous_table"]


@dataclass(frozen=True)
class SpontaneousSynapsesInput:
    """Recurrent synapses from ``precell_filter`` nodes onto ``postcell_filter`` nodes fire at
    ``timestamps``; the other recurrent synapses are silent."""

    name: str
    node_set: Any
    precell_filter: Mapping[str, Any]
    postcell_filter: Mapping[str, Any]
    timestamps: tuple[float, ...]


def node_mask(columns: Mapping[str, np.ndarray], population: str, filt: Mapping[str, Any]):
    """Which nodes of a population (``columns``: property -> array) pass ``filt``.

    Raises
    ------
    KeyError
        A filtered property is not a column of the population.
    """
    size = len(next(iter(columns.values()))) if columns else 0
    mask = np.ones(size, dtype=bool)
    for key, value in filt.items():
        values = np.full(size, population, dtype=object) if key == "population" else columns[key]
        accepted = list(value) if isinstance(value, list | tuple) else [value]
        mask &= np.isin(np.asarray(values, dtype=object), np.asarray(accepted, dtype=object))
    return mask


def _load(cfg: Any, plan: Any) -> SpontaneousSynapsesInput:
    params = dict(getattr(cfg, "params", None) or {})
    where = {"path": getattr(plan, "config_path", None), "field": f"inputs.{cfg.name}"}
    pre = params.get("precell_filter")
    post = params.get("postcell_filter", {}) or {}
    if not isinstance(pre, Mapping) or not isinstance(post, Mapping):
        raise ConfigError(
            "syn_activity needs 'precell_filter' (and optionally 'postcell_filter') as "
            "{property: value or list}",
            **where,
        )
    stamps = params.get("timestamps")
    try:
        times = tuple(float(t) for t in np.atleast_1d(np.asarray(stamps, dtype=float)))
    except (TypeError, ValueError) as err:
        raise ConfigError("'timestamps' must be a number or a list of ms", **where) from err
    return SpontaneousSynapsesInput(
        cfg.name, getattr(cfg, "node_set", None), dict(pre), dict(post), tuple(sorted(times))
    )


def _mask(plan: Any, population: str, filt: Mapping[str, Any], ids: np.ndarray) -> np.ndarray:
    if not filt:
        return np.ones(len(ids), dtype=bool)
    columns = plan.circuit.nodes[population].columns()
    try:
        return node_mask(columns, population, filt)[ids]
    except KeyError:  # the property is not in this population: no node of it matches
        return np.zeros(len(ids), dtype=bool)


class _SpontLayout:
    """Source gids of the spontaneous replayer for every edge; targets as in ``layout``."""

    def __init__(self, layout: Any, gid: int) -> None:
        self.layout, self.source_gid = layout, int(gid)

    def gids(self, population: str, node_ids: Any) -> np.ndarray:
        return np.full(len(np.asarray(node_ids)), self.source_gid, dtype=np.int64)

    def gid(self, population: str, node_id: int) -> int:
        return self.layout.gid(population, node_id)


def spontaneous_table(plan: Any, spont: SpontaneousSynapsesInput, table: Any) -> Any:
    """``table`` with weight 0 on every edge that does not fire spontaneously."""
    src = np.asarray(table.source_ids)
    tgt = np.asarray(table.target_ids)
    fires = _mask(plan, str(table.source_population), spont.precell_filter, src) & _mask(
        plan, str(table.target_population), spont.postcell_filter, tgt
    )
    return replace(table, weights=np.where(fires, np.asarray(table.weights, float), 0.0))


def spontaneous_layout(backend: Any, spont: SpontaneousSynapsesInput) -> _SpontLayout:
    """Register the replayer of ``timestamps`` (once, on its owner rank) and return the layout
    that makes every recurrent edge take it as source."""
    from bmtoolkit.simulator.bionet.cells import VirtualCell

    layout, pc = backend.layout, backend.pc
    gid = layout.total  # the first gid after the network's (replay inputs start above it)
    if getattr(backend, "_spont_source", None) is None:
        backend._spont_source = gid
        if layout.owner(gid, backend.nhost) == backend.rank:
            first = next(iter(backend.check_run().specs.values()))[0]
            cell = VirtualCell(first)
            cell.set_times(np.asarray(spont.timestamps))
            pc.set_gid2node(gid, backend.rank)
            nc = cell.spike_source(backend.threshold)
            pc.cell(gid, nc)
            backend._keep.extend((cell, nc))
            backend._fih.append(backend.h.FInitializeHandler(cell.queue))
    return _SpontLayout(layout, gid)


if "syn_activity" not in INPUT_MODULES:
    INPUT_MODULES.register("syn_activity", _load, aliases=("spontaneous_synapses",))
