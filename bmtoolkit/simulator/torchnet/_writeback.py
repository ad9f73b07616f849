"""Writing a trained torchnet network as SONATA files (used by :func:`.io.write_trained`).

Cells: scalar NEST parameters shared by every node of a population become per-node HDF5
``dynamics_params``; the rest (vectors such as ``asc_amps`` and ``tau_syn``, model flags,
scalars of mixed-model populations) goes into one JSON file per distinct cell, referenced by a
new node type that copies the original type's columns. Edges: ``syn_weight`` becomes the
trained weight divided by ``nsyns``; plastic edges get per-edge ``U``, ``tau_rec`` and
``tau_fac``. Virtual populations and untouched files are referenced in place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.torchnet.translations import CellParams, cell_params_to_nest

CELL_MODELS_DIR = "cell_models"
#: STP attributes written per edge (trainable ones and the initial state)
STP_NAMES = ("U", "tau_rec", "tau_fac", "u0", "x0")


def _group_attributes(pop: Any) -> dict[str, np.ndarray]:
    names: list[str] = []
    for grp in pop.groups.values():
        names.extend(n for n in grp.attribute_names if n not in names)
    return {n: np.asarray(pop.column(n)) for n in names}


def _nodes_population(
    pop: Any,
    cells: list[CellParams],
    offset: int,
    netdir: Path,
    next_type: int,
    new_types: list[dict],
) -> tuple[Any, int]:
    from bmtoolkit.sonata import NodePopulationData

    dicts = [cell_params_to_nest(cells[offset + i]) for i in range(pop.size)]
    shared = set.intersection(*(set(d) for _, d in dicts)) if dicts else set()
    scalar = sorted(k for k in shared if all(type(d[k]) is float for _, d in dicts))
    per_node = {k: np.array([d[k] for _, d in dicts], dtype=float) for k in scalar}
    old_types = np.asarray(pop.node_type_ids(), dtype=np.int64)
    signature: dict[tuple, int] = {}
    new_type_ids = np.empty(pop.size, dtype=np.int64)
    for i, (model, d) in enumerate(dicts):
        rest = {k: v for k, v in d.items() if k not in per_node}
        key = (int(old_types[i]), model, json.dumps(rest, sort_keys=True))
        if key not in signature:
            signature[key] = next_type
            fname = f"{pop.name}_{next_type}.json"
            (netdir / CELL_MODELS_DIR / fname).write_text(json.dumps(rest, indent=1) + "\n")
            row = (
                pop.types.loc[int(old_types[i])].to_dict()
                if int(old_types[i]) in pop.types.index
                else {}
            )
            row.update(
                node_type_id=next_type,
                model_template=f"nest:{model}",
                model_type=row.get("model_type", "point_process"),
                dynamics_params=fname,
            )
            row.setdefault("population", pop.name)
            new_types.append(row)
            next_type += 1
        new_type_ids[i] = signature[key]
    old_dyn = pop.dynamics_params()
    dyn = {c: old_dyn[c].to_numpy() for c in old_dyn.columns if c not in per_node}
    dyn = {c: v for c, v in dyn.items() if not (v.dtype.kind == "f" and np.isnan(v).all())}
    dyn.update(per_node)
    data = NodePopulationData.single_group(pop.name, new_type_ids, _group_attributes(pop), dyn)
    return data, next_type


def _write_nodes(net: Any, plan: Any, netdir: Path, cells: list[CellParams]) -> list[dict]:
    from bmtoolkit.sonata import read_nodes, write_nodes, write_types_csv

    circuit = plan.circuit
    specs = []
    next_type = 1 + max(
        (int(p.types.index.max()) for p in circuit.nodes.values() if len(p.types.index)),
        default=0,
    )
    (netdir / CELL_MODELS_DIR).mkdir(parents=True, exist_ok=True)
    for k, spec in enumerate(plan.config.circuit.nodes):
        names = list(spec.populations or read_nodes(spec.nodes_file, spec.node_types_file))
        if not any(n in net.info.populations for n in names):
            specs.append({"nodes_file": spec.nodes_file, "node_types_file": spec.node_types_file})
            continue
        datas, new_types = [], []
        for name in names:
            pop = circuit.nodes[name]
            if name in net.info.populations:
                data, next_type = _nodes_population(
                    pop, cells, net.info.populations[name][0], netdir, next_type, new_types
                )
            else:
                from bmtoolkit.sonata import NodePopulationData

                data = NodePopulationData.single_group(
                    name, pop.node_type_ids(), _group_attributes(pop)
                )
                for nt in np.unique(pop.node_type_ids()):
                    row = pop.types.loc[int(nt)].to_dict() if int(nt) in pop.types.index else {}
                    row.update(node_type_id=int(nt))
                    row.setdefault("population", name)
                    new_types.append(row)
            datas.append(data)
        h5 = netdir / f"nodes_{k}.h5"
        csv = netdir / f"node_types_{k}.csv"
        write_nodes(h5, datas)
        df = pd.DataFrame(new_types)
        if df["population"].nunique() == 1:
            df = df.drop(columns="population")
        write_types_csv(df, csv)
        specs.append({"nodes_file": h5, "node_types_file": csv})
    return specs


def _write_edges(net: Any, plan: Any, netdir: Path) -> list[dict]:
    from bmtoolkit.sonata import EdgePopulationData, read_edges, write_edges

    circuit = plan.circuit
    origins = {o.population: o for o in net.info.extra["edges"]}
    weights = net.synapses.weights_in_file_order().cpu().double().numpy()
    stp_type = net.info.extra["stp_type"]
    stp = net.synapses.stp
    stp_values = (
        None
        if stp is None
        else np.stack([getattr(stp, n).detach().cpu().double().numpy() for n in STP_NAMES], 1)
    )
    specs = []
    for k, spec in enumerate(plan.config.circuit.edges):
        names = list(spec.populations or read_edges(spec.edges_file, spec.edge_types_file))
        if not any(n in origins for n in names):
            specs.append({"edges_file": spec.edges_file, "edge_types_file": spec.edge_types_file})
            continue
        datas, n_src, n_tgt = [], {}, {}
        for name in names:
            edges = circuit.edges[name]
            attrs = _group_attributes(edges)
            o = origins.get(name)
            if o is not None:
                if not o.invertible:
                    raise ConfigError(
                        f"edges {name!r} use a custom weight_function; trained weights cannot "
                        "be written back as syn_weight",
                        path=edges.types_path,
                        field="weight_function",
                    )
                attrs["syn_weight"] = weights[o.start : o.stop] / o.nsyns
                types = stp_type[o.start : o.stop]
                if stp_values is not None and (types >= 0).any():
                    for j, col in enumerate(("U", "tau_rec", "tau_fac", "u", "x")):
                        vals = np.full(len(types), np.nan)
                        vals[types >= 0] = stp_values[types[types >= 0], j]
                        attrs[col] = vals
            datas.append(
                EdgePopulationData.single_group(
                    name,
                    edges.source_population,
                    edges.target_population,
                    edges.source_node_ids(),
                    edges.target_node_ids(),
                    edges.edge_type_ids(),
                    attrs,
                )
            )
            n_src[edges.source_population] = circuit.nodes[edges.source_population].size
            n_tgt[edges.target_population] = circuit.nodes[edges.target_population].size
        h5 = netdir / f"edges_{k}.h5"
        write_edges(h5, datas, n_source_nodes=n_src, n_target_nodes=n_tgt)
        specs.append({"edges_file": h5, "edge_types_file": spec.edge_types_file})
    return specs


def write_network_files(net: Any, out: Path, cells: list[CellParams]) -> Path:
    """Write nodes, edges and configs of ``net`` under ``out``; return the simulation config."""
    from bmtoolkit.sonata import write_circuit_config, write_simulation_config

    plan = net.info.extra["plan"]
    netdir = out / "network"
    netdir.mkdir(parents=True, exist_ok=True)
    nodes = _write_nodes(net, plan, netdir, cells)
    edges = _write_edges(net, plan, netdir)
    components = {k: v for k, v in plan.components.items() if k != "point_neuron_models_dir"}
    components["point_neuron_models_dir"] = netdir / CELL_MODELS_DIR
    circuit_path = out / "circuit_config.json"
    write_circuit_config(
        circuit_path,
        nodes=nodes,
        edges=edges,
        components=components,
        node_sets_file=plan.config.circuit.node_sets_file,
    )
    cfg = plan.config
    sim_path = out / "simulation_config.json"
    write_simulation_config(
        sim_path,
        network=circuit_path,
        run=cfg.run,
        output={"output_dir": out / "output", "spikes_file": "spikes.h5"},
        inputs=dict(cfg.inputs),
        conditions=dict(cfg.conditions or {}),
        node_sets_file=cfg.node_sets_file,
        node_set=cfg.node_set,
        components=components,
    )
    return sim_path
