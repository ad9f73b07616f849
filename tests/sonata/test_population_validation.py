"""Validation of population-level (popnet) networks, output paths and file permissions."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd

from bmtoolkit.sonata import (
    NodePopulationData,
    load_simulation_config,
    validate_config,
    write_circuit_config,
    write_nodes,
    write_simulation_config,
    write_spikes,
    write_types_csv,
)


def _popnet_circuit(tmp_path, components):
    write_nodes(
        tmp_path / "pops_nodes.h5", [NodePopulationData.single_group("pops", np.array([1, 2]))]
    )
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": [1, 2],
                "model_type": ["population", "population"],
                "dynamics_params": ["exc.json", "inh.json"],
            }
        ),
        tmp_path / "pops_node_types.csv",
    )
    circuit = tmp_path / "circuit_config.json"
    write_circuit_config(
        circuit,
        nodes=[
            {
                "nodes_file": tmp_path / "pops_nodes.h5",
                "node_types_file": tmp_path / "pops_node_types.csv",
            }
        ],
        components=components,
    )
    return circuit


def test_population_dynamics_are_looked_up_in_population_models_dir(tmp_path):
    models = tmp_path / "population_models"
    models.mkdir()
    for name in ("exc.json", "inh.json"):
        (models / name).write_text(json.dumps({"tau_m": 0.02}))
    circuit = _popnet_circuit(tmp_path, {"population_models_dir": models})
    assert validate_config(circuit) == []
    (models / "inh.json").unlink()
    problems = validate_config(circuit)
    assert len(problems) == 1
    assert "population_models_dir" in problems[0].message and "inh.json" in problems[0].message


def test_rates_files_are_relative_to_output_dir(tmp_path):
    circuit = _popnet_circuit(tmp_path, {})
    cfg = tmp_path / "simulation_config.json"
    write_simulation_config(
        cfg,
        network=circuit,
        run={"tstop": 10.0, "dt": 0.1},
        output={"output_dir": tmp_path / "out", "rates_file": "rates.h5", "spikes_file": "s.h5"},
    )
    out = load_simulation_config(cfg, validate=False).output
    assert out.output_dir == tmp_path / "out"
    assert str(out.extra["rates_file"]) == str(tmp_path / "out" / "rates.h5")


def test_written_files_follow_the_umask(tmp_path):
    path = tmp_path / "spikes.h5"
    write_spikes(path, {"v1": (np.array([0]), np.array([1.0]))})
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
