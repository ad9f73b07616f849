"""Replay inputs on NEURON: recorded spikes driving synapses of edges the network lacks.

For a :class:`~bmtoolkit.simulator.core.replay.ReplayInput`, every edge of its edges file
with source in the source node set and target in the target node set (and on this rank) is
made by the same :class:`~bmtoolkit.simulator.bionet.synapses.Connector` as the network's own
edges (same synapse models, placement, weights and delays), but its presynaptic source is a
spike replayer holding the recorded spikes of the source node. Replayers get gids after every
network gid (one block per input), so they work under MPI like any other cell.

Examples
--------
>>> ReplayLayout(GidLayout({"v1": 10}), base=10).gids("v1", [0, 3]).tolist()  # doctest: +SKIP
[10, 13]
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

__all__ = ["ReplayLayout", "attach_replay"]


class ReplayLayout:
    """Gid layout whose *source* gids are those of the replayers, target gids unchanged."""

    def __init__(self, layout: Any, base: int) -> None:
        self.layout = layout
        self.base = int(base)

    def gids(self, population: str, node_ids: Any) -> np.ndarray:
        """Replayer gids of source nodes."""
        return self.base + self.layout.gids(population, node_ids)

    def gid(self, population: str, node_id: int) -> int:
        """Gid of a target cell (seeds its synapse placement as for the network's edges)."""
        return self.layout.gid(population, node_id)


def _selected(table: Any, keep: np.ndarray) -> Any:
    props = {key: np.asarray(table.properties[key])[keep] for key in table.properties}
    return replace(
        table,
        source_ids=np.asarray(table.source_ids)[keep],
        target_ids=np.asarray(table.target_ids)[keep],
        edge_type_ids=np.asarray(table.edge_type_ids)[keep],
        weights=np.asarray(table.weights)[keep],
        delays=np.asarray(table.delays)[keep],
        properties=props,
        type_masks={},
    )


def attach_replay(backend: Any, item: Any, block: int) -> int:
    """Make the replayed synapses of ``item`` on this rank; return how many were made.

    ``block`` numbers the replay inputs of the run (0, 1, ...): input ``k`` uses gids from
    ``(k + 2) * layout.total`` on (gid ``layout.total`` is the spontaneous-synapse source).
    """
    from bmtoolkit.simulator.bionet.cells import VirtualCell
    from bmtoolkit.simulator.bionet.synapses import EDGE_COLUMNS, point_sign_mask
    from bmtoolkit.simulator.core.models import edge_table

    plan, h, pc, layout = backend.plan, backend.h, backend.pc, backend.layout
    sources = plan.resolve_node_set(item.source_node_set)
    targets = plan.resolve_node_set(item.target_node_set)
    replay_layout = ReplayLayout(layout, (block + 2) * layout.total)
    # the network's connector: synapses are placed from each target cell's own stream,
    # continuing after the network's edges, as BMTK places replayed synapses
    connector = backend.connector
    extra = EDGE_COLUMNS
    made = 0
    replayers: list[Any] = []
    for edges in item.edges().values():
        src_pop, tgt_pop = str(edges.source_population), str(edges.target_population)
        if src_pop not in sources or tgt_pop not in targets:
            continue
        table = edge_table(plan, edges, default_delay=backend.default_delay, extra=extra)
        keep = np.isin(table.source_ids, sources[src_pop]) & np.isin(
            table.target_ids, targets[tgt_pop]
        )
        if not keep.any():
            continue
        table = _selected(table, keep)
        trains = item.trains(src_pop)
        for nid in np.unique(table.source_ids).tolist():
            gid = int(replay_layout.gids(src_pop, [nid])[0])
            if pc.gid_exists(gid) or layout.owner(gid, backend.nhost) != backend.rank:
                continue
            cell = VirtualCell(backend.check_run().specs[src_pop][int(nid)])
            cell.set_times(trains.get(int(nid), np.zeros(0)))
            pc.set_gid2node(gid, backend.rank)
            nc = cell.spike_source(backend.threshold)
            pc.cell(gid, nc)
            replayers.append(cell)
            backend._keep.extend((cell, nc))
        signed = point_sign_mask(edges)[keep]
        where = str(edges.types_path or edges.h5_path)
        network_layout, connector.layout = connector.layout, replay_layout
        try:
            made += connector.connect(table, plan.components, where, signed=signed)
        finally:
            connector.layout = network_layout
    if replayers:
        backend._fih.append(h.FInitializeHandler(lambda: [c.queue() for c in replayers]))
    return made
