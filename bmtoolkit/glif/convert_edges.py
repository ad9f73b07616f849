"""Edges of a converted network: bionet conductance synapses -> NEST current synapses.

A bionet synapse of peak conductance ``syn_weight`` (uS) on each of ``nsyns`` contacts
becomes one ``static_synapse`` onto port 1 of ``glif_psc`` whose weight is the peak current
the contacts would inject at the target's rest,
``w (pA) = syn_weight (uS) * (E_rev - El) (mV) * 1e3`` per contact, ``nsyns`` kept (pointnet
multiplies them), with ``E_rev`` (``erev``) from the edge type's synaptic model JSON and
``El`` the fitted resting potential of each target cell. Delays are kept. Edge types whose
weight is computed by a ``weight_function`` are refused (the function works on conductances).

Examples
--------
>>> point_synapse_params({"level_of_detail": "exp2syn", "erev": 0.0, "tau1": 1.0})
{'receptor_type': 1}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError

#: the current-based port of NEST ``glif_psc`` the translated synapses use
RECEPTOR_PORT: int = 1


def point_synapse_params(bio_params: dict[str, Any]) -> dict[str, Any]:
    """``dynamics_params`` of the point synapse replacing a bionet synapse model."""
    return {"receptor_type": RECEPTOR_PORT}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value) in (
        "", "nan", "NULL", "None")  # fmt: skip


def _erev(types: Any, edges_path: Path, syn_dir: Path | None) -> dict[int, float]:
    out = {}
    for _, row in types.iterrows():
        et = int(row["edge_type_id"])
        wf = row.get("weight_function")
        if not _missing(wf):
            raise ConfigError(f"edge type {et} uses weight_function {wf!r}, which is not "
                              "translated to point-neuron weights", path=edges_path,
                              field="weight_function")  # fmt: skip
        name = row.get("dynamics_params")
        if _missing(name) or syn_dir is None:
            raise ConfigError(f"edge type {et} has no synaptic model JSON (dynamics_params and "
                              "components.synaptic_models_dir) to read erev from",
                              path=edges_path, field="dynamics_params")  # fmt: skip
        path = syn_dir / str(name)
        try:
            params = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot read synaptic model: {err}", path=path) from err
        if "erev" not in params:
            raise ConfigError("synaptic model has no 'erev' (mV)", path=path, field="erev")
        out[et] = float(params["erev"])
    return out


def check_edges(circuit: Any) -> None:
    """Refuse, before anything is written, edges :func:`write_point_edges` cannot translate."""
    from bmtoolkit.sonata import read_types_csv

    syn_dir = circuit.components.get("synaptic_models_dir")
    for spec in circuit.edges:
        if spec.edge_types_file is None:
            raise ConfigError("edge files without an edge types table are not supported",
                              path=spec.edges_file)  # fmt: skip
        _erev(read_types_csv(spec.edge_types_file), Path(spec.edges_file),
              Path(syn_dir) if syn_dir else None)  # fmt: skip


def write_point_edges(circuit: Any, net: Path, syn_out: Path,
                      el_of: dict[str, np.ndarray]) -> list[dict[str, Any]]:  # fmt: skip
    """Translate every edges file of ``circuit`` into ``net``; return the circuit entries.

    ``el_of[population]`` is the resting potential (mV) of each node of a converted node
    population (NaN for nodes that were not converted); edges onto other nodes are refused.
    """
    from bmtoolkit.sonata import (
        EdgePopulationData,
        GroupData,
        read_edges,
        read_types_csv,
        write_edges,
    )

    syn_dir = circuit.components.get("synaptic_models_dir")
    syn_dir = Path(syn_dir) if syn_dir else None
    syn_out.mkdir(parents=True, exist_ok=True)
    specs = []
    for spec in circuit.edges:
        if spec.edge_types_file is None:
            raise ConfigError("edge files without an edge types table are not supported",
                              path=spec.edges_file)  # fmt: skip
        types = read_types_csv(spec.edge_types_file)
        erev = _erev(types, Path(spec.edges_file), syn_dir)
        pops = []
        for name, pop in read_edges(spec.edges_file, spec.edge_types_file).items():
            tgt = np.asarray(pop.target_node_ids())
            els = el_of.get(pop.target_population or "")
            if els is None or np.isnan(els[tgt]).any():
                raise ConfigError(f"edge population {name!r} targets cells that are not "
                                  "converted", path=spec.edges_file)  # fmt: skip
            etype = np.asarray(pop.column("edge_type_id"), np.int64)
            g = np.asarray(pop.column("syn_weight"), float)
            e = np.array([erev[int(t)] for t in etype])
            cols = pop.property_names
            attrs = {"syn_weight": g * (e - els[tgt]) * 1e3}
            attrs["nsyns"] = (np.asarray(pop.column("nsyns"), np.int64) if "nsyns" in cols
                              else np.ones(tgt.size, np.int64))  # fmt: skip
            if "delay" in cols:
                attrs["delay"] = np.asarray(pop.column("delay"), float)
            pops.append(EdgePopulationData(
                name, pop.source_population, pop.target_population,
                np.asarray(pop.source_node_ids()), tgt, etype, {0: GroupData(attrs)}))  # fmt: skip
        h5 = net / Path(spec.edges_file).name
        write_edges(h5, pops)
        table = types[["edge_type_id"]].copy()
        table["model_template"] = "static_synapse"
        fname = f"glif_psc_port{RECEPTOR_PORT}.json"
        (syn_out / fname).write_text(json.dumps(point_synapse_params({})))
        table["dynamics_params"] = fname
        csv = net / Path(spec.edge_types_file).name
        tmp = csv.with_name(f".{csv.name}.tmp")
        table.to_csv(tmp, sep=" ", index=False)
        tmp.replace(csv)
        specs.append({"edges_file": h5, "edge_types_file": csv})
    return specs
