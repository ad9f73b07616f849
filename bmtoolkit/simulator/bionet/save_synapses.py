"""BMTK's ``save_synapses`` report: the synapses a bionet run made, as SONATA edges files.

Config entry (BMTK's keys)::

    "reports": {"syn_locations": {"module": "save_synapses", "network_dir": "synapses"}}

For every (source population, target population) pair of the network's edges, the folder
``network_dir`` (relative paths lie inside the output folder) gets ``<src>_<trg>_edges.h5``
with one edge population ``<src>_<trg>`` and one edge **per synapse made** (a rule-placed edge
with ``nsyns`` 3 gives three): ``edge_type_id``, ``source_node_id``, ``target_node_id``; group 0
(synapses on detailed cells) holds ``syn_weight`` (the NetCon weight), ``sec_id`` and ``sec_x``
(section index in the cell's ``all`` list and position on it); group 1 (point-process targets)
holds ``syn_weight``. BMTK writes the same layout, so the files can serve as the edges of a
later run with the synapses where this run put them.

Examples
--------
>>> rep = SaveSynapsesReport("syns", Path("out/synapses"))
>>> rep.network_dir.name
'synapses'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.bionet.synapses import Connector
from bmtoolkit.simulator.core.registries import REPORT_MODULES

__all__ = ["RecordingConnector", "SaveSynapsesReport", "write_synapses"]


@dataclass(frozen=True)
class SaveSynapsesReport:
    """Write the run's synapses to ``network_dir`` (see the module)."""

    name: str
    network_dir: Path
    node_set: Any = "all"
    params: Mapping[str, Any] = field(default_factory=dict)


def _load(cfg: Any, plan: Any) -> SaveSynapsesReport:
    params = dict(getattr(cfg, "params", None) or {})
    folder = params.get("network_dir")
    if not folder:
        raise ConfigError(
            "save_synapses needs 'network_dir' (folder for the edges files)",
            path=getattr(plan, "config_path", None),
            field=f"reports.{cfg.name}.network_dir",
        )
    target = Path(folder)
    base = plan.config_path.parent if plan.config_path else None
    if base is not None and target.is_relative_to(base):  # written relative in the config
        target = plan.output_dir / target.relative_to(base)
    return SaveSynapsesReport(cfg.name, plan.output_path(target), params=params)


class _RecordingPC:
    """ParallelContext stand-in that remembers every NetCon ``gid_connect`` makes."""

    def __init__(self, pc: Any, made: list[Any]) -> None:
        self._pc, self._made = pc, made

    def gid_connect(self, gid: int, target: Any) -> Any:
        nc = self._pc.gid_connect(gid, target)
        self._made.append(nc)
        return nc

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pc, name)


class RecordingConnector(Connector):
    """A :class:`Connector` that also keeps, per edge population, the synapses it made:
    ``rows`` of ``(edge_type_id, source id, target id, weight, sec_id, sec_x)`` (``sec_id``
    -1 for point-process targets)."""

    def __init__(
        self,
        h: Any,
        pc: Any,
        layout: Any,
        cells: Mapping[tuple[str, int], Any],
        seed_offsets: Mapping[str, int] | None = None,
    ):
        self._made: list[Any] = []
        super().__init__(h, _RecordingPC(pc, self._made), layout, cells, seed_offsets)
        self._sites_of: dict[int, int] = {}
        #: ``{(source population, target population): [row arrays]}``
        self.records: dict[tuple[str, str], list[np.ndarray]] = {}

    def _sites(self, cell, props, i, syn_json, dyn, where):  # noqa: D102 - records the count
        sites, preselected = super()._sites(cell, props, i, syn_json, dyn, where)
        self._sites_of[i] = len(sites)
        return sites, preselected

    def connect(self, table: Any, components: Any, where: str, **kwargs: Any) -> int:  # noqa: D102
        from bmtoolkit.simulator.bionet.cells import BioCell

        self._made.clear()
        self._sites_of.clear()
        n = super().connect(table, components, where, **kwargs)
        made = iter(list(self._made))
        pop = str(table.target_population)
        rows = []
        types = np.asarray(table.edge_type_ids)
        for i, (src, tgt) in enumerate(
            zip(np.asarray(table.source_ids).tolist(), np.asarray(table.target_ids).tolist())
        ):
            cell = self.cells.get((pop, int(tgt)))
            if cell is None:
                continue
            detailed = isinstance(cell, BioCell)
            for _ in range(self._sites_of.get(i, 1) if detailed else 1):
                nc = next(made)
                sec_id, sec_x = -1, np.nan
                if detailed:
                    seg = nc.syn().get_segment()
                    sec_id = cell.sections.index(seg.sec)
                    sec_x = float(seg.x)
                rows.append((int(types[i]), int(src), int(tgt), float(nc.weight[0]), sec_id, sec_x))
        key = (str(table.source_population), pop)
        if rows:
            self.records.setdefault(key, []).append(np.array(rows, dtype=float))
        return n


def write_synapses(folder: Path, records: Mapping[tuple[str, str], list[np.ndarray]]) -> list[Path]:
    """Write ``records`` (see :class:`RecordingConnector`) as one edges file per population
    pair; return the files written."""
    from bmtoolkit.sonata import EdgePopulationData, GroupData, write_edges

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for (src, trg), parts in sorted(records.items()):
        rows = np.concatenate(parts)
        point = rows[:, 4] < 0
        group_id = point.astype(np.int64)
        group_index = np.zeros(len(rows), dtype=np.int64)
        group_index[~point] = np.arange(int((~point).sum()))
        group_index[point] = np.arange(int(point.sum()))
        groups = {}
        if (~point).any():
            groups[0] = GroupData(
                {
                    "syn_weight": rows[~point, 3],
                    "sec_id": rows[~point, 4].astype(np.int64),
                    "sec_x": rows[~point, 5],
                }
            )
        if point.any():
            groups[1] = GroupData({"syn_weight": rows[point, 3]})
        data = EdgePopulationData(
            f"{src}_{trg}",
            src,
            trg,
            rows[:, 1].astype(np.int64),
            rows[:, 2].astype(np.int64),
            rows[:, 0].astype(np.int64),
            groups,
            edge_group_id=group_id,
            edge_group_index=group_index,
        )
        path = folder / f"{src}_{trg}_edges.h5"
        write_edges(path, [data], compression=None)
        written.append(path)
    return written


if "save_synapses" not in REPORT_MODULES:
    REPORT_MODULES.register("save_synapses", _load, aliases=("SaveSynapses",))
