"""A tiny SONATA network written with bmtoolkit.sonata writers, for the core tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

#: ``toynet`` is a package the toy-backend test installs from outside; collecting it here
#: (``--doctest-modules``) would import it under its own name before that test runs
collect_ignore = ["toynet"]

LIF = {"C_m": 100.0, "tau_m": 10.0, "t_ref": 2.0, "E_L": -70.0, "V_th": -50.0, "V_reset": -70.0}


def write_tiny_network(root: Path) -> dict:
    """``v1``: 4 LIF nodes (node 3 overrides V_th in the H5); ``inp``: 2 virtual nodes."""
    from bmtoolkit.sonata import (
        EdgePopulationData,
        NodePopulationData,
        write_edges,
        write_nodes,
        write_types_csv,
    )

    net = root / "network"
    models = root / "models"
    net.mkdir(parents=True)
    models.mkdir()
    (models / "lif.json").write_text(json.dumps(LIF))
    v1 = NodePopulationData.single_group(
        "v1",
        np.array([100, 100, 100, 100]),
        dynamics_params={"V_th": np.array([np.nan, np.nan, np.nan, -60.0])},
    )
    write_nodes(net / "v1_nodes.h5", [v1])
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": [100],
                "model_type": ["point_process"],
                "model_template": ["nest:iaf_psc_delta"],
                "dynamics_params": ["lif.json"],
            }
        ),
        net / "v1_node_types.csv",
    )
    inp = NodePopulationData.single_group("inp", np.array([200, 200]))
    write_nodes(net / "inp_nodes.h5", [inp])
    write_types_csv(
        pd.DataFrame({"node_type_id": [200], "model_type": ["virtual"]}),
        net / "inp_node_types.csv",
    )
    edges = EdgePopulationData.single_group(
        "inp_to_v1",
        "inp",
        "v1",
        np.array([0, 1]),
        np.array([1, 2]),
        np.array([1, 1]),
        attributes={"nsyns": np.array([2, 3])},
    )
    write_edges(net / "inp_v1_edges.h5", [edges], n_source_nodes=2, n_target_nodes=4)
    write_types_csv(
        pd.DataFrame({"edge_type_id": [1], "syn_weight": [12.0], "delay": [1.0]}),
        net / "inp_v1_edge_types.csv",
    )
    return {"net": net, "models": models}


def write_tiny_config(root: Path, *, inputs=None, reports=None, output=None, run=None,
                      target_simulator=None) -> Path:  # fmt: skip
    from bmtoolkit.sonata import write_circuit_config, write_simulation_config

    paths = write_tiny_network(root)
    net = paths["net"]
    write_circuit_config(
        root / "circuit_config.json",
        nodes=[
            {"nodes_file": net / f"{p}_nodes.h5", "node_types_file": net / f"{p}_node_types.csv"}
            for p in ("v1", "inp")
        ],
        edges=[
            {"edges_file": net / "inp_v1_edges.h5", "edge_types_file": net / "inp_v1_edge_types.csv"}
        ],
        components={"point_neuron_models_dir": paths["models"]},
    )  # fmt: skip
    cfg = root / "simulation_config.json"
    write_simulation_config(
        cfg,
        network=root / "circuit_config.json",
        run=run or {"tstop": 100.0, "dt": 0.1, "random_seed": 3},
        output=output or {"output_dir": root / "output", "log_file": "log.txt"},
        inputs=inputs,
        reports=reports,
        target_simulator=target_simulator,
    )
    return cfg


@pytest.fixture
def tiny_config(tmp_path):
    """``make(**kw)`` writes the tiny network and a simulation config; returns its path."""

    def make(**kw) -> Path:
        return write_tiny_config(tmp_path, **kw)

    return make
