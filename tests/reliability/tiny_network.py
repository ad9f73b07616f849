"""A tiny pointnet network written on the fly for the reliability tests.

Five NEST ``iaf_psc_alpha`` cells (population ``internal``) driven by a virtual population of
three cells (``inputs``) through a spike file, with a membrane-voltage report; the whole run
takes well under a second on the pointnet backend.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

N_INTERNAL = 5
N_VIRTUAL = 3


def make_network(root: Path) -> Path:
    """Write the network, the components, an input spike file and the config; return it."""
    from bmtoolkit.builder import NetworkBuilder
    from bmtoolkit.sonata.spikes import write_spikes

    root = Path(root)
    (root / "components" / "point").mkdir(parents=True)
    (root / "components" / "synapses").mkdir(parents=True)
    (root / "components" / "point" / "cell.json").write_text(
        json.dumps({"C_m": 250.0, "tau_m": 10.0, "V_th": -55.0, "I_e": 0.0})
    )
    (root / "components" / "synapses" / "exc.json").write_text(json.dumps({}))

    net = NetworkBuilder("internal", seed=1)
    net.add_nodes(
        N=N_INTERNAL,
        model_type="point_neuron",
        model_template="nest:iaf_psc_alpha",
        dynamics_params="cell.json",
        pop_name="exc",
    )
    net.add_edges(
        source={"pop_name": "exc"},
        target={"pop_name": "exc"},
        connection_rule=1,
        syn_weight=2.0,
        delay=1.5,
        dynamics_params="exc.json",
        model_template="static_synapse",
    )
    net.build()
    net.save(root / "network")

    virt = NetworkBuilder("inputs", seed=2)
    virt.add_nodes(N=N_VIRTUAL, model_type="virtual", pop_name="in")
    virt.add_edges(
        source=virt.nodes(),
        target=net.nodes(pop_name="exc"),
        connection_rule=1,
        syn_weight=400.0,
        delay=1.0,
        dynamics_params="exc.json",
        model_template="static_synapse",
    )
    virt.build()
    virt.save(root / "network")

    (root / "inputs").mkdir()
    times = np.array([1.0, 2.0, 3.0, 5.0, 8.0])
    ids = np.array([0, 1, 2, 0, 1])
    write_spikes(root / "inputs" / "spikes.h5", (ids, times), population="inputs")

    net_dir = root / "network"
    config = {
        "manifest": {"$BASE_DIR": str(root)},
        "target_simulator": "NEST",
        "run": {"tstart": 0.0, "tstop": 10.0, "dt": 0.1},
        "inputs": {
            "spikes_in": {
                "input_type": "spikes",
                "module": "sonata",
                "input_file": "$BASE_DIR/inputs/spikes.h5",
                "node_set": "inputs",
            }
        },
        "output": {"output_dir": "$BASE_DIR/output", "spikes_file": "spikes.h5"},
        "reports": {
            "v": {
                "cells": "internal",
                "variable_name": "V_m",
                "module": "membrane_report",
                "sections": "soma",
            }
        },
        "components": {
            "point_neuron_models_dir": "$BASE_DIR/components/point",
            "synaptic_models_dir": "$BASE_DIR/components/synapses",
        },
        "networks": {
            "nodes": [
                {
                    "nodes_file": str(net_dir / f"{p}_nodes.h5"),
                    "node_types_file": str(net_dir / f"{p}_node_types.csv"),
                }
                for p in ("internal", "inputs")
            ],
            "edges": [
                {
                    "edges_file": str(net_dir / f"{p}_edges.h5"),
                    "edge_types_file": str(net_dir / f"{p}_edge_types.csv"),
                }
                for p in ("internal_internal", "inputs_internal")
            ],
        },
    }
    path = root / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def checksums(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (relative path -> digest)."""
    root = Path(root)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
