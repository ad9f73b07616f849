"""Circuit and simulation configs: sniffing, wrapper merge, paths, defaults, schemas, writers."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError, MissingFileError, ValidationError
from bmtoolkit.sonata.config import (
    CircuitConfig,
    InputConfig,
    ReportConfig,
    RunConfig,
    SimulationConfig,
    load_circuit_config,
    load_config,
    load_simulation_config,
    write_circuit_config,
    write_simulation_config,
)
from bmtoolkit.sonata.edges import EdgePopulationData, write_edges
from bmtoolkit.sonata.nodes import NodePopulationData, write_nodes
from bmtoolkit.sonata.schemas import schema_problems
from bmtoolkit.sonata.types_table import write_types_csv
from tests.conftest import require_module


def _write(path: Path, doc) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


CIRCUIT = {
    "manifest": {"$NETWORK_DIR": "./network", "$COMPONENT_DIR": "../components"},
    "components": {"point_neuron_models_dir": "$COMPONENT_DIR/point"},
    "networks": {
        "nodes": [
            {"nodes_file": "$NETWORK_DIR/v1_nodes.h5", "node_types_file": "v1_types.csv"},
            {"nodes_file": "/abs/lgn.h5", "enabled": False},
        ],
        "edges": [{"edges_file": "${NETWORK_DIR}/v1_v1_edges.h5"}],
    },
}
SIMULATION = {
    "manifest": {"$BASE_DIR": ".", "$OUTPUT_DIR": "$BASE_DIR/output"},
    "run": {"tstop": 500.0, "dt": 0.1, "overwrite_output_dir": False, "nsteps_block": 100},
    "target_simulator": "NEST",
    "network": "$BASE_DIR/circuit_config.json",
    "conditions": {"celsius": 34.0},
    "node_sets_file": "$BASE_DIR/node_sets.json",
    "inputs": {
        "lgn": {
            "input_type": "spikes",
            "module": "h5",
            "input_file": "inputs/lgn.h5",
            "node_set": "lgn",
        }
    },
    "output": {
        "output_dir": "$OUTPUT_DIR",
        "log_file": "log.txt",
        "spikes_file": "spikes.h5",
        "spikes_sort_order": "time",
    },
    "reports": {
        "v": {"cells": "v1", "variable_name": "V_m", "module": "multimeter_report"},
        "ca": {
            "cells": {"population": "v1"},
            "variable_name": "cai",
            "dt": 0.5,
            "start_time": 100.0,
            "file_name": "calcium",
        },
    },
}


@pytest.fixture
def sim_dir(tmp_path):
    _write(tmp_path / "sim" / "circuit_config.json", CIRCUIT)
    _write(tmp_path / "sim" / "simulation_config.json", SIMULATION)
    _write(
        tmp_path / "sim" / "config.json",
        {"network": "./circuit_config.json", "simulation": "./simulation_config.json"},
    )
    return tmp_path / "sim"


def test_circuit_config_paths_are_resolved_against_the_config_folder(sim_dir, monkeypatch):
    monkeypatch.chdir(sim_dir.parent)  # the working directory must not matter
    cfg = load_circuit_config(sim_dir / "circuit_config.json")
    assert isinstance(cfg, CircuitConfig)
    assert cfg.path == sim_dir / "circuit_config.json"
    assert len(cfg.nodes) == 1  # the disabled entry is skipped
    assert cfg.nodes[0].nodes_file == sim_dir / "network" / "v1_nodes.h5"
    assert cfg.nodes[0].node_types_file == sim_dir / "v1_types.csv"
    assert cfg.edges[0].edges_file == sim_dir / "network" / "v1_v1_edges.h5"
    assert cfg.edges[0].edge_types_file is None
    assert cfg.components["point_neuron_models_dir"] == str(sim_dir.parent / "components" / "point")


def test_cwd_relative_follows_bmtk(sim_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_circuit_config(sim_dir / "circuit_config.json", cwd_relative=True)
    assert cfg.nodes[0].nodes_file == tmp_path / "network" / "v1_nodes.h5"
    # as in BMTK, the configs a config names stay relative to its folder
    sim = load_config(sim_dir / "config.json", cwd_relative=True)
    assert sim.circuit.path == sim_dir / "circuit_config.json"
    assert sim.node_sets_file == tmp_path / "node_sets.json"


def test_simulation_config_fields(sim_dir):
    sim = load_simulation_config(sim_dir / "simulation_config.json")
    assert isinstance(sim, SimulationConfig)
    assert sim.run == RunConfig(
        tstop=500.0, dt=0.1, nsteps_block=100, extra={"overwrite_output_dir": False}
    )
    assert sim.run.n_steps == 5000
    out = sim.output
    assert out.output_dir == sim_dir / "output"
    assert out.spikes_file == sim_dir / "output" / "spikes.h5"
    assert out.log_file == sim_dir / "output" / "log.txt"
    assert out.spikes_sort_order == "by_time"
    assert out.overwrite_output_dir is False  # BMTK puts it under run
    assert sim.inputs["lgn"] == InputConfig(
        "lgn", "spikes", "h5", "lgn", {"input_file": str(sim_dir / "inputs" / "lgn.h5")}
    )
    v, ca = sim.reports["v"], sim.reports["ca"]
    assert isinstance(v, ReportConfig)
    assert (v.dt, v.start_time, v.end_time, v.sections) == (0.1, 0.0, 500.0, "soma")
    assert v.file_name == sim_dir / "output" / "v.h5"
    assert (ca.dt, ca.start_time, ca.end_time) == (0.5, 100.0, 500.0)
    assert ca.file_name == sim_dir / "output" / "calcium.h5"
    assert ca.node_set == {"population": "v1"}
    assert sim.node_sets_file == sim_dir / "node_sets.json"
    assert sim.target_simulator == "NEST"
    assert sim.circuit.nodes[0].nodes_file == sim_dir / "network" / "v1_nodes.h5"
    assert sim.components["point_neuron_models_dir"].endswith("components/point")
    assert sim.conditions == {"celsius": 34.0}


def test_dataclasses_are_frozen(sim_dir):
    sim = load_simulation_config(sim_dir / "simulation_config.json")
    with pytest.raises(dataclasses.FrozenInstanceError):
        sim.run.tstop = 1.0  # type: ignore[misc]


def test_wrapper_merges_both_children(sim_dir):
    sim = load_config(sim_dir / "config.json")
    assert isinstance(sim, SimulationConfig)
    assert sim.path == sim_dir / "config.json"
    assert sim.run.tstop == 500.0
    assert [s.nodes_file.name for s in sim.circuit.nodes] == ["v1_nodes.h5"]
    assert "networks" in sim.raw and "run" in sim.raw
    # a wrapper naming only the network is a circuit config
    _write(sim_dir / "net_only.json", {"network": "./circuit_config.json"})
    assert isinstance(load_config(sim_dir / "net_only.json"), CircuitConfig)
    assert load_circuit_config(sim_dir / "config.json").nodes[0].nodes_file.name == "v1_nodes.h5"


def test_sniffing_and_kind_errors(sim_dir):
    assert isinstance(load_config(sim_dir / "circuit_config.json"), CircuitConfig)
    assert isinstance(load_config(sim_dir / "simulation_config.json"), SimulationConfig)
    with pytest.raises(ConfigError, match="circuit config"):
        load_simulation_config(sim_dir / "circuit_config.json")
    odd = _write(sim_dir / "odd.json", {"something": 1})
    with pytest.raises(ConfigError, match="cannot tell") as err:
        load_config(odd)
    assert err.value.path == str(odd)


def test_default_network_is_circuit_config_beside_the_file(tmp_path):
    _write(tmp_path / "circuit_config.json", CIRCUIT)
    sim = load_simulation_config(_write(tmp_path / "s.json", {"run": {"tstop": 1.0, "dt": 0.1}}))
    assert sim.circuit.nodes[0].nodes_file == tmp_path / "network" / "v1_nodes.h5"
    assert sim.output.spikes_file == tmp_path / "output" / "spikes.h5"
    assert sim.output.spikes_sort_order == "by_time"


def test_single_file_with_run_and_networks(tmp_path):
    doc = {**CIRCUIT, "run": {"tstop": 10.0, "dt": 0.1}, "node_sets": {"all_v1": ["v1"]}}
    sim = load_config(_write(tmp_path / "config.json", doc))
    assert sim.circuit.nodes[0].nodes_file == tmp_path / "network" / "v1_nodes.h5"
    assert sim.node_sets == {"all_v1": ["v1"]}


@pytest.mark.parametrize(
    ("bmtk", "sonata"), [("time", "by_time"), ("gid", "by_id"), ("id", "by_id"), ("none", "none")]
)
def test_spikes_sort_order_translation(tmp_path, bmtk, sonata):
    doc = {"run": {"tstop": 1.0, "dt": 0.1}, "output": {"spikes_sort_order": bmtk}}
    assert load_config(_write(tmp_path / "s.json", doc)).output.spikes_sort_order == sonata


def test_absolute_spikes_file_is_kept(tmp_path):
    doc = {
        "run": {"tstop": 1.0, "dt": 0.1},
        "output": {"output_dir": "out", "spikes_file": "/elsewhere/s.h5"},
    }
    out = load_config(_write(tmp_path / "s.json", doc)).output
    assert out.output_dir == tmp_path / "out"
    assert out.spikes_file == Path("/elsewhere/s.h5")


# ------------------------------------------------------------------ bad input
def test_malformed_json_names_file_line_and_column(tmp_path):
    path = _write(tmp_path / "simulation_config.json", '{\n  "run": {"tstop": 1,}\n}')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.path == str(path)
    assert err.value.field == "line 2, column 22"
    assert "invalid JSON" in str(err.value)


def test_tstop_as_string_is_a_schema_error_with_its_json_path(tmp_path):
    path = _write(tmp_path / "s.json", {"run": {"tstop": "1000", "dt": 0.1}})
    with pytest.raises(ValidationError) as err:
        load_config(path)
    assert err.value.path == str(path)
    assert err.value.problems == [("run.tstop", "'1000' is not of type 'number'")]
    # without the schema the typed parse still refuses it, naming the field
    with pytest.raises(ConfigError) as err2:
        load_config(path, validate=False)
    assert err2.value.field == "run.tstop"


def test_every_schema_problem_is_reported_at_once(tmp_path):
    doc = {
        "run": {"tstop": 10.0, "dt": -1},
        "output": {"spikes_sort_order": "sideways"},
        "networks": {"nodes": [{"node_types_file": "x.csv"}]},
    }
    with pytest.raises(ValidationError) as err:
        load_config(_write(tmp_path / "s.json", doc))
    locations = [loc for loc, _ in err.value.problems]
    assert locations == ["networks.nodes[0]", "output.spikes_sort_order", "run.dt"]


def test_missing_config_file(tmp_path):
    with pytest.raises(MissingFileError) as err:
        load_config(tmp_path / "nope.json")
    assert isinstance(err.value, FileNotFoundError)
    assert err.value.path == str(tmp_path / "nope.json")


def test_wrapper_naming_a_missing_child(tmp_path):
    path = _write(tmp_path / "config.json", {"simulation": "./simulation_config.json"})
    with pytest.raises(MissingFileError, match="simulation_config.json"):
        load_config(path)


def test_schemas_accept_both_dialects():
    bbp = {
        "manifest": {"$CIRCUIT_DIR": "./c"},
        "network": "$CIRCUIT_DIR/circuit_config.json",
        "run": {"tstop": 100.0, "dt": 0.025, "random_seed": 12, "integration_method": "euler"},
        "output": {"output_dir": "out", "spikes_file": "out.h5", "spikes_sort_order": "by_id"},
        "node_set": "Mosaic",
        "inputs": {
            "ramp": {
                "input_type": "current_clamp",
                "module": "linear",
                "amp_start": 0.1,
                "delay": 0,
                "duration": 10,
                "node_set": "L5",
            }
        },
        "reports": {
            "soma": {
                "cells": "L5",
                "type": "compartment",
                "variable_name": "v",
                "sections": "soma",
                "dt": 0.1,
                "start_time": 0,
                "end_time": 100,
                "enabled": True,
            }
        },
    }
    assert schema_problems(bbp, "simulation") == []
    assert schema_problems(SIMULATION, "simulation") == []
    bbp_circuit = {
        "components": {"morphologies_dir": "m", "alternate_morphologies": {"h5v1": "h"}},
        "networks": {
            "nodes": [{"nodes_file": "n.h5", "populations": {"v1": {"type": "biophysical"}}}],
            "edges": [],
        },
        "metadata": {"status": "partial"},
    }
    assert schema_problems(bbp_circuit, "circuit") == []
    assert schema_problems(CIRCUIT, "circuit") == []


# ------------------------------------------------------------------ writers
@pytest.fixture
def network(tmp_path):
    net = tmp_path / "network"
    net.mkdir()
    write_nodes(
        net / "v1_nodes.h5",
        [NodePopulationData.single_group("v1", np.array([1, 1, 2]), {"x": np.zeros(3)})],
    )
    import pandas as pd

    types = pd.DataFrame({"node_type_id": [1, 2], "model_type": ["point_process"] * 2})
    write_types_csv(types, net / "v1_node_types.csv")
    write_edges(
        net / "v1_v1_edges.h5",
        [EdgePopulationData.single_group("v1_to_v1", "v1", "v1", [0, 1], [2, 2], [5, 5])],
    )
    circuit = tmp_path / "circuit_config.json"
    write_circuit_config(
        circuit,
        nodes=[{"nodes_file": net / "v1_nodes.h5", "node_types_file": net / "v1_node_types.csv"}],
        edges=[net / "v1_v1_edges.h5"],
        components={"point_neuron_models_dir": tmp_path / "models"},
    )
    sim = tmp_path / "simulation_config.json"
    write_simulation_config(
        sim,
        network=circuit,
        run=RunConfig(tstop=100.0, dt=0.1, random_seed=7),
        output={"output_dir": tmp_path / "output", "spikes_sort_order": "time"},
        reports={"v": {"cells": "v1", "variable_name": "V_m", "module": "multimeter_report"}},
    )
    return tmp_path


def test_written_circuit_config_follows_the_profile(network):
    doc = json.loads((network / "circuit_config.json").read_text())
    assert doc["manifest"] == {"$BASE_DIR": "."}
    assert doc["networks"]["nodes"] == [
        {
            "nodes_file": "$BASE_DIR/network/v1_nodes.h5",
            "node_types_file": "$BASE_DIR/network/v1_node_types.csv",
            "populations": {"v1": {"type": "point_neuron"}},
        }
    ]
    assert doc["networks"]["edges"] == [
        {
            "edges_file": "$BASE_DIR/network/v1_v1_edges.h5",
            "populations": {"v1_to_v1": {"type": "chemical"}},
        }
    ]
    cfg = load_circuit_config(network / "circuit_config.json")
    assert cfg.nodes[0].nodes_file == network / "network" / "v1_nodes.h5"
    assert cfg.nodes[0].populations == {"v1": {"type": "point_neuron"}}


def test_written_circuit_config_always_has_edges(tmp_path):
    write_circuit_config(
        tmp_path / "c.json", nodes=[{"nodes_file": "/x.h5", "populations": {"x": {}}}]
    )
    assert json.loads((tmp_path / "c.json").read_text())["networks"]["edges"] == []


def test_written_simulation_config_follows_the_profile(network):
    doc = json.loads((network / "simulation_config.json").read_text())
    assert doc["network"] == "$BASE_DIR/circuit_config.json"
    assert doc["run"]["random_seed"] == 7
    assert doc["output"] == {
        "output_dir": "$BASE_DIR/output",
        "spikes_sort_order": "by_time",
        "spikes_file": "spikes.h5",
    }
    report = doc["reports"]["v"]
    assert (report["type"], report["dt"], report["start_time"], report["end_time"]) == (
        "compartment",
        0.1,
        0.0,
        100.0,
    )
    sim = load_simulation_config(network / "simulation_config.json")
    assert sim.run.random_seed == 7
    assert sim.output.spikes_file == network / "output" / "spikes.h5"
    assert sim.circuit.edges[0].edges_file == network / "network" / "v1_v1_edges.h5"


def test_writing_from_loaded_dataclasses_round_trips(network, tmp_path):
    sim = load_simulation_config(network / "simulation_config.json")
    copy = network / "copy.json"
    write_simulation_config(
        copy,
        network=network / "circuit_config.json",
        run=sim.run,
        output=sim.output,
        inputs={"c": InputConfig("c", "current_clamp", "IClamp", "v1", {"amp": 0.1})},
        reports=sim.reports,
    )
    again = load_simulation_config(copy)
    assert again.run == sim.run
    assert again.output == sim.output
    assert again.reports == sim.reports
    assert again.inputs["c"].params == {"amp": 0.1}


def test_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(ConfigError, match="run.dt"):
        write_simulation_config(tmp_path / "s.json", network="c.json", run={"tstop": 1.0})
    assert os.listdir(tmp_path) == []


@pytest.mark.interop
def test_libsonata_and_bmtk_parse_written_configs(network, monkeypatch):
    libsonata = require_module("libsonata")
    circuit = libsonata.CircuitConfig.from_file(str(network / "circuit_config.json"))
    assert circuit.node_populations == {"v1"}
    assert circuit.edge_populations == {"v1_to_v1"}
    assert circuit.node_population("v1").size == 3
    sim = libsonata.SimulationConfig.from_file(str(network / "simulation_config.json"))
    assert sim.run.random_seed == 7
    assert sim.output.spikes_sort_order == libsonata.SimulationConfig.Output.SpikesSortOrder.by_time
    assert sim.report("v").end_time == 100.0
    require_module("bmtk")
    from bmtk.simulator.core.simulation_config import SimulationConfig as BmtkConfig

    monkeypatch.chdir(network)  # BMTK resolves relative paths against the working directory
    bmtk_cfg = BmtkConfig.from_json(str(network / "simulation_config.json"))
    assert bmtk_cfg.run["tstop"] == 100.0
    assert Path(bmtk_cfg.nodes[0]["nodes_file"]).resolve() == network / "network" / "v1_nodes.h5"


@pytest.mark.parametrize("kind", ["circuit", "simulation"])
def test_shipped_schemas_are_valid_json_schemas(kind):
    import jsonschema

    from bmtoolkit.sonata.schemas import load_schema

    schema = load_schema(kind)
    jsonschema.validators.validator_for(schema).check_schema(schema)


def test_report_variable_name_may_be_a_list(sim_dir):
    doc = json.loads((sim_dir / "simulation_config.json").read_text())
    doc["reports"]["v"]["variable_name"] = ["V_m", "ASCurrents_sum"]
    _write(sim_dir / "simulation_config.json", doc)
    cfg = load_simulation_config(sim_dir / "simulation_config.json")
    assert cfg.reports["v"].variable_name == ("V_m", "ASCurrents_sum")
    assert cfg.reports["ca"].variable_name == "cai"
    assert schema_problems(doc, "simulation") == []
    doc["reports"]["v"]["variable_name"] = ["V_m", 3]
    assert schema_problems(doc, "simulation") == [
        ("reports.v.variable_name[1]", "3 is not of type 'string'")
    ]
