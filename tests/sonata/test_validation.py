"""validate_config on real networks: clean, then broken one way at a time."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest

from bmtoolkit.sonata.config import write_circuit_config, write_simulation_config
from bmtoolkit.sonata.edges import EdgePopulationData, write_edges
from bmtoolkit.sonata.index import build_index
from bmtoolkit.sonata.nodes import NodePopulationData, write_nodes
from bmtoolkit.sonata.types_table import write_types_csv
from bmtoolkit.sonata.validation import Problem, index_disagreement, validate_config


def build(d, *, v1_types=(1, 2), edge_source=(0, 1, 2), edge_pops=("lgn", "v1")):
    """lgn (3 virtual) -> v1 (4 point neurons, dynamics in models/), with CSVs and inputs."""
    d.mkdir(parents=True, exist_ok=True)
    (d / "models").mkdir(exist_ok=True)
    (d / "models" / "exc.json").write_text("{}")
    (d / "synapses").mkdir(exist_ok=True)
    (d / "synapses" / "e2e.json").write_text("{}")
    write_nodes(d / "v1.h5", [NodePopulationData.single_group("v1", np.array([1, 1, 2, 2]))])
    write_nodes(d / "lgn.h5", [NodePopulationData.single_group("lgn", np.array([9, 9, 9]))])
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": list(v1_types),
                "model_type": ["point_process"] * len(v1_types),
                "dynamics_params": ["exc.json"] * len(v1_types),
            }
        ),
        d / "v1_types.csv",
    )
    write_types_csv(
        pd.DataFrame({"node_type_id": [9], "model_type": ["virtual"]}), d / "lgn_types.csv"
    )
    write_edges(
        d / "edges.h5",
        [
            EdgePopulationData.single_group(
                "lgn_to_v1", *edge_pops, list(edge_source), [0, 3, 3], [5, 5, 5]
            )
        ],
        n_source_nodes=max(max(edge_source) + 1, 3),
        n_target_nodes=4,
    )
    write_types_csv(
        pd.DataFrame({"edge_type_id": [5], "dynamics_params": ["e2e.json"]}),
        d / "edge_types.csv",
    )
    (d / "node_sets.json").write_text(json.dumps({"exc": {"model_type": "point_process"}}))
    (d / "spikes.h5").write_bytes(b"")  # existence is all the validator checks
    write_circuit_config(
        d / "circuit_config.json",
        nodes=[
            {"nodes_file": d / "v1.h5", "node_types_file": d / "v1_types.csv"},
            {"nodes_file": d / "lgn.h5", "node_types_file": d / "lgn_types.csv"},
        ],
        edges=[
            {
                "edges_file": d / "edges.h5",
                "edge_types_file": d / "edge_types.csv",
                "populations": {"lgn_to_v1": {}},
            }
        ],
        components={"point_neuron_models_dir": d / "models", "synaptic_models_dir": d / "synapses"},
        node_sets_file=d / "node_sets.json",
    )
    write_simulation_config(
        d / "simulation_config.json",
        network=d / "circuit_config.json",
        run={"tstop": 100.0, "dt": 0.1},
        inputs={
            "lgn": {
                "input_type": "spikes",
                "module": "h5",
                "node_set": "lgn",
                "input_file": d / "spikes.h5",
            }
        },
        reports={"v": {"cells": "exc", "variable_name": "V_m"}},
    )
    return d / "simulation_config.json"


def only(problems, kind):
    assert [p.kind for p in problems] == [kind], [str(p) for p in problems]
    return problems[0]


def test_clean_network_has_no_problem(tmp_path):
    assert validate_config(build(tmp_path)) == []
    assert validate_config(tmp_path / "circuit_config.json") == []


def test_schema_problems_carry_json_paths(tmp_path):
    sim = build(tmp_path)
    doc = json.loads(sim.read_text())
    doc["run"]["tstop"] = "100"
    doc["output"]["spikes_sort_order"] = "random"
    sim.write_text(json.dumps(doc))
    problems = validate_config(sim)
    assert [(p.location, p.kind) for p in problems] == [
        ("output.spikes_sort_order", "schema"),
        ("run.tstop", "schema"),
    ]
    assert all(p.file == str(sim) for p in problems)
    assert "'100' is not of type 'number'" in problems[1].message


def test_malformed_json(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"networks": {"nodes": []]}')
    problem = only(validate_config(path), "json")
    assert problem.file == str(path)
    assert problem.location == "line 1, column 26"


def test_unknown_manifest_variable(tmp_path):
    sim = build(tmp_path)
    doc = json.loads(sim.read_text())
    doc["network"] = "$NETDIR/circuit_config.json"
    sim.write_text(json.dumps(doc))
    problem = only(validate_config(sim), "config")
    assert problem.location == "network" and "$NETDIR" in problem.message


def test_missing_files_are_each_reported(tmp_path):
    build(tmp_path)
    (tmp_path / "lgn.h5").unlink()
    (tmp_path / "v1_types.csv").unlink()
    (tmp_path / "spikes.h5").unlink()
    (tmp_path / "models" / "exc.json").unlink()
    problems = validate_config(tmp_path / "simulation_config.json")
    assert {(p.kind, p.location) for p in problems} == {
        ("missing_file", "networks.nodes[0].node_types_file"),
        ("missing_file", "networks.nodes[1].nodes_file"),
        ("missing_file", "inputs.lgn.input_file"),
    }  # exc.json is not looked for once v1's CSV is gone
    (tmp_path / "v1_types.csv").write_text(
        "node_type_id model_type dynamics_params\n1 point_process exc.json\n2 point_process exc.json\n"
    )
    problems = validate_config(tmp_path / "simulation_config.json")
    assert ("missing_file", "dynamics_params of population 'v1'") in {
        (p.kind, p.location) for p in problems
    }


def test_unused_missing_component_folder_is_only_a_warning(tmp_path):
    sim = build(tmp_path)
    doc = json.loads((tmp_path / "circuit_config.json").read_text())
    doc["components"]["morphologies_dir"] = "$BASE_DIR/morphologies"
    (tmp_path / "circuit_config.json").write_text(json.dumps(doc))
    assert validate_config(sim) == []
    (warning,) = validate_config(sim, include_warnings=True)
    assert (warning.severity, warning.location) == ("warning", "components.morphologies_dir")


def test_type_ids_missing_from_the_csv(tmp_path):
    sim = build(tmp_path, v1_types=(1,))
    problem = only(validate_config(sim), "types")
    assert problem.file == str(tmp_path / "v1.h5")
    assert problem.location == "/nodes/v1/node_type_id"
    assert "[2]" in problem.message and "2 rows" in problem.message


def test_ids_out_of_range(tmp_path):
    problem = only(validate_config(build(tmp_path, edge_source=(0, 7, 2))), "ids")
    assert problem.location == "/edges/lgn_to_v1/source_node_id"
    assert "population 'lgn' of size 3" in problem.message and "[7]" in problem.message


def test_node_population_attribute_naming_an_unknown_population(tmp_path):
    problem = only(validate_config(build(tmp_path, edge_pops=("lgm", "v1"))), "population")
    assert problem.location == "/edges/lgn_to_v1/source_node_id@node_population"
    assert "'lgm'" in problem.message


def test_populations_key_naming_a_missing_population(tmp_path):
    sim = build(tmp_path)
    doc = json.loads((tmp_path / "circuit_config.json").read_text())
    doc["networks"]["nodes"][0]["populations"] = {"v2": {"type": "point_neuron"}}
    (tmp_path / "circuit_config.json").write_text(json.dumps(doc))
    problem = only(validate_config(sim), "population")
    assert problem.file == str(tmp_path / "circuit_config.json")
    assert problem.location == "networks.nodes[0].populations.v2"


def test_index_that_disagrees_with_the_edges(tmp_path):
    sim = build(tmp_path)
    with h5py.File(tmp_path / "edges.h5", "r+") as h5:
        ds = h5["/edges/lgn_to_v1/indices/target_to_source/range_to_edge_id"]
        table = ds[()]
        table[0] = table[0] + 1  # shift one block by an edge
        ds[...] = table
    problem = only(validate_config(sim), "index")
    assert problem.location == "/edges/lgn_to_v1/indices/target_to_source"


def test_undefined_node_set(tmp_path):
    sim = build(tmp_path)
    doc = json.loads(sim.read_text())
    doc["reports"]["v"]["cells"] = "inh"
    sim.write_text(json.dumps(doc))
    problem = only(validate_config(sim), "node_set")
    assert problem.location == "reports.v.cells" and "'inh'" in problem.message


def test_bmtk_misspelt_index_group_is_read(tmp_path):
    sim = build(tmp_path)
    with h5py.File(tmp_path / "edges.h5", "r+") as h5:
        h5.move("/edges/lgn_to_v1/indices", "/edges/lgn_to_v1/indicies")
    assert validate_config(sim) == []


def test_missing_config_and_missing_network(tmp_path):
    only(validate_config(tmp_path / "none.json"), "missing_file")
    sim = build(tmp_path / "a")
    shutil.move(tmp_path / "a" / "circuit_config.json", tmp_path / "moved.json")
    problem = only(validate_config(sim), "missing_file")
    assert problem.file == str(sim) and problem.location == "network"


@pytest.mark.parametrize("n_nodes", [1, 7, 50])
def test_index_disagreement_agrees_with_build_index(n_nodes):
    rng = np.random.default_rng(n_nodes)
    keys = rng.integers(0, n_nodes, size=200)
    n2r, r2e = build_index(keys, n_nodes)
    assert index_disagreement(n2r, r2e, keys) is None
    assert index_disagreement(n2r, r2e, np.sort(keys)) is not None or np.all(keys == np.sort(keys))
    doubled = np.vstack([r2e, r2e[:1]])
    n2r_bad = n2r.copy()
    n2r_bad[-1, 1] += 1
    n2r_bad[-1, 0] = min(n2r_bad[-1, 0], n2r_bad[-1, 1] - 1)
    assert index_disagreement(n2r_bad, doubled, keys) is not None


def test_problem_renders_file_location_message():
    assert str(Problem("a.h5", "/nodes/x", "bad")) == "a.h5: /nodes/x: bad"
    assert str(Problem("a.json", "", "gone", "missing_file")) == "a.json: gone"
