"""BMTK's ``replay`` input: recorded spikes of the network's own cells replayed onto edges.

A replay input names a spikes file (usually the output of an earlier run) and an edges file
(``edges.edges_file`` / ``edges.edge_types_file``), typically edges the simulated network does
*not* have (they were split off when the network was built). Each edge of that file whose
source is in ``source_node_set`` and whose target is in ``target_node_set`` (both default to
``all``) is made as a synapse on its target cell, driven by the recorded spikes of its source
node instead of the live cell, so the target sees exactly the activity of the earlier run
through those connections::

    "replay_lgn_to_v1": {
        "input_type": "replay", "module": "replay",
        "spikes_file": "output_full/spikes.h5",
        "edges": {"edges_file": "network/v1_v1_edges_split.h5",
                  "edge_types_file": "network/v1_v1_edge_types_split.csv"},
        "source_node_set": "exc", "target_node_set": "all"
    }

As in BMTK, only the backend of detailed cells declares it (see its ``spec.py``).

Examples
--------
>>> ReplayInput.__dataclass_fields__.keys()  # doctest: +ELLIPSIS
dict_keys(['name', 'spikes', 'edges_file', 'edge_types_file', 'source_node_set', ...])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.inputs import _params, _require_file, _where
from bmtoolkit.simulator.core.registries import INPUT_MODULES

if TYPE_CHECKING:
    import pandas as pd

    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.sonata.config import InputConfig

__all__ = ["ReplayInput"]


@dataclass(frozen=True)
class ReplayInput:
    """Recorded spikes replayed through the edges of ``edges_file``.

    Attributes
    ----------
    spikes : pandas.DataFrame
        ``population``, ``node_id``, ``timestamp`` (ms) of the source nodes.
    edges_file, edge_types_file : Path, Path or None
        The edges to make.
    source_node_set, target_node_set : str or Mapping
        Which edges: source and target both in these node sets.
    """

    name: str
    spikes: pd.DataFrame
    edges_file: Path
    edge_types_file: Path | None
    source_node_set: Any = "all"
    target_node_set: Any = "all"
    spikes_file: Path | None = None

    @property
    def node_set(self) -> Any:
        """The cells that receive the replayed synapses."""
        return self.target_node_set

    def trains(self, population: str) -> dict[int, np.ndarray]:
        """``{node_id: sorted spike times}`` of one source population."""
        df = self.spikes[self.spikes["population"] == population]
        out: dict[int, np.ndarray] = {}
        for nid, grp in df.groupby("node_id", sort=True):
            out[int(nid)] = np.sort(grp["timestamp"].to_numpy(float))
        return out

    def edges(self) -> dict[str, Any]:
        """The edge populations of :attr:`edges_file` (``{name: EdgePopulation}``)."""
        from bmtoolkit.sonata.edges import read_edges

        return read_edges(self.edges_file, self.edge_types_file)


@INPUT_MODULES.register("replay")
def load_replay(cfg: InputConfig, plan: RunPlan) -> ReplayInput:
    """A replay input: ``spikes_file`` plus ``edges: {edges_file, edge_types_file}``."""
    from bmtoolkit.sonata import read_spikes

    params = _params(cfg)
    spikes_path = _require_file(params.get("spikes_file"), "spikes_file", cfg, plan)
    edges = params.get("edges")
    if not isinstance(edges, dict) or "edges_file" not in edges:
        raise ConfigError(
            "replay needs 'edges': {'edges_file': ..., 'edge_types_file': ...}",
            **_where(cfg, plan),
        )
    edges_file = _require_file(edges.get("edges_file"), "edges.edges_file", cfg, plan)
    types = edges.get("edge_types_file")
    types_file = None if types is None else _require_file(types, "edges.edge_types_file", cfg, plan)
    source = params.get("source_node_set", "all")
    target = params.get("target_node_set", "all")
    if plan is not None:  # an unknown node set fails before any cell is built
        plan.resolve_node_set(source)
        plan.resolve_node_set(target)
    return ReplayInput(
        cfg.name,
        read_spikes(spikes_path),
        edges_file,
        types_file,
        source,
        target,
        spikes_path,
    )
