"""Reading and writing SONATA: the only package of bmtoolkit that touches HDF5.

Names are imported lazily from their modules, so ``import bmtoolkit.sonata`` stays cheap.
The public surface (see ``docs/design/sonata_api.md``):

- node types / edge types CSV: :func:`read_types_table` (numpy columns),
  :func:`read_types_csv` (DataFrame), :func:`write_types_csv`, :func:`write_types_rows`
  (column names and rows, no pandas);
- nodes: :class:`NodePopulationData` (+ :class:`GroupData`) to write, :func:`write_nodes`,
  :func:`read_nodes` -> ``{name: NodePopulation}``;
- edges: :class:`EdgePopulationData`, :func:`write_edges`, :func:`read_edges` ->
  ``{name: EdgePopulation}``; :func:`build_index` for the ``indices`` group;
- configs: :func:`load_circuit_config`, :func:`load_simulation_config`, :func:`load_config`,
  :func:`write_circuit_config`, :func:`write_simulation_config`; :class:`Circuit`;
  :class:`NodeSets`;
- outputs: :func:`read_spikes`, :func:`write_spikes`; :class:`FrameReportData`,
  :func:`write_frame_report`, :func:`read_frame_report`; :func:`write_ecp_report`,
  :func:`read_ecp_report`; :func:`write_rates`, :func:`read_rates` (rate time series of
  populations or cells, written by popnet and filternet);
- :func:`validate_config` for ``bmtoolkit validate``.

Examples
--------
>>> import bmtoolkit.sonata as sonata
>>> callable(sonata.read_types_csv)
True
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    # types tables
    "read_types_csv": "types_table",
    "read_types_table": "types_table",
    "TypesTable": "types_table",
    "write_types_csv": "types_table",
    "write_types_rows": "types_table",
    # nodes
    "GroupData": "groups",
    "NodePopulationData": "nodes",
    "NodePopulation": "nodes",
    "write_nodes": "nodes",
    "read_nodes": "nodes",
    # edges
    "EdgePopulationData": "edges",
    "EdgePopulation": "edges",
    "write_edges": "edges",
    "read_edges": "edges",
    "build_index": "index",
    # saving several files as one set; which nodes edges were built on
    "file_set": "_h5",
    "population_fingerprint": "builds",
    # configs
    "CircuitConfig": "config",
    "SimulationConfig": "config",
    "load_circuit_config": "config",
    "load_simulation_config": "config",
    "load_config": "config",
    "write_circuit_config": "config",
    "write_simulation_config": "config",
    "resolve_manifest": "manifest",
    "Circuit": "circuit",
    "NodeSets": "node_sets",
    "validate_config": "validation",
    # outputs
    "read_spikes": "spikes",
    "write_spikes": "spikes",
    "FrameReportData": "reports",
    "FrameReport": "reports",
    "write_frame_report": "reports",
    "read_frame_report": "reports",
    "write_ecp_report": "reports",
    "read_ecp_report": "reports",
    "write_weight_events": "reports",
    "write_gap_junction_ids": "gap_junctions",
    "read_gap_junction_ids": "gap_junctions",
    "write_rates": "rates",
    "read_rates": "rates",
    "read_nwb_sweep": "stimulus",
    "write_nwb_sweep": "stimulus",
    "write_clamp_report": "stimulus",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bmtoolkit.sonata' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"bmtoolkit.sonata.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
