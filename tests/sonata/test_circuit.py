"""Circuit: populations of a config opened lazily, node sets of circuit and simulation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError, MissingFileError, SonataFormatError
from bmtoolkit.sonata.circuit import Circuit, file_kind
from bmtoolkit.sonata.config import load_config, write_circuit_config, write_simulation_config
from bmtoolkit.sonata.edges import EdgePopulationData, write_edges
from bmtoolkit.sonata.nodes import NodePopulationData, write_nodes
from bmtoolkit.sonata.spikes import write_spikes


@pytest.fixture
def network(tmp_path):
    write_nodes(
        tmp_path / "nodes.h5",
        [
            NodePopulationData.single_group(
                "v1", np.zeros(5, int), {"ei": np.array(list("eeiie"))}
            ),
            NodePopulationData.single_group("lgn", np.zeros(3, int)),
        ],
    )
    write_edges(
        tmp_path / "edges.h5",
        [
            EdgePopulationData.single_group(
                "lgn_to_v1", "lgn", "v1", [0, 2, 1], [4, 4, 0], [1, 1, 1]
            )
        ],
    )
    (tmp_path / "circuit_sets.json").write_text(json.dumps({"exc": {"ei": "e"}, "x": ["lgn"]}))
    (tmp_path / "sim_sets.json").write_text(json.dumps({"exc": {"ei": "i"}}))
    write_circuit_config(
        tmp_path / "circuit_config.json",
        nodes=[tmp_path / "nodes.h5"],
        edges=[tmp_path / "edges.h5"],
        node_sets_file=tmp_path / "circuit_sets.json",
    )
    write_simulation_config(
        tmp_path / "simulation_config.json",
        network=tmp_path / "circuit_config.json",
        run={"tstop": 10.0, "dt": 0.1},
        node_sets_file=tmp_path / "sim_sets.json",
    )
    return tmp_path


def test_circuit_from_a_path(network):
    circuit = Circuit(network / "circuit_config.json")
    assert circuit.population_sizes == {"v1": 5, "lgn": 3}
    assert list(circuit.edges) == ["lgn_to_v1"]
    edges = circuit.edges["lgn_to_v1"]
    brute = np.flatnonzero(edges.target_node_ids() == 4)
    assert edges.afferent_edges([4]).tolist() == brute.tolist() and brute.size == 2
    assert circuit.node_ids("exc") == {"v1": pytest.approx(np.array([0, 1, 4]))}
    assert circuit.simulation is None


def test_simulation_node_sets_override_the_circuit_ones(network):
    sim = load_config(network / "simulation_config.json")
    circuit = Circuit(sim)
    assert circuit.simulation is sim
    assert circuit.node_ids("exc")["v1"].tolist() == [2, 3]
    assert circuit.node_ids("x") == {"lgn": pytest.approx(np.arange(3))}
    assert sorted(circuit.node_ids("all")) == ["lgn", "v1"]


def test_files_are_opened_only_when_asked_for(network):
    (network / "edges.h5").unlink()
    circuit = Circuit(network / "circuit_config.json")  # no error yet
    assert circuit.population_sizes == {"v1": 5, "lgn": 3}
    with pytest.raises(MissingFileError, match="edges.h5"):
        _ = circuit.edges


def test_population_defined_twice_is_an_error(network):
    write_circuit_config(network / "twice.json", nodes=[network / "nodes.h5", network / "nodes.h5"])
    with pytest.raises(ConfigError, match="defined in two files"):
        _ = Circuit(network / "twice.json").nodes


def test_file_kind(network):
    write_spikes(network / "spikes.h5", {"v1": (np.array([0, 1]), np.array([1.0, 2.0]))})
    kinds = {
        name: file_kind(network / name)
        for name in ("nodes.h5", "edges.h5", "spikes.h5", "circuit_config.json")
    }
    assert kinds == {
        "nodes.h5": "nodes",
        "edges.h5": "edges",
        "spikes.h5": "spikes",
        "circuit_config.json": "config",
    }
    with pytest.raises(MissingFileError):
        file_kind(network / "absent.h5")
    (network / "junk.bin").write_bytes(b"\x00\x01")
    with pytest.raises(SonataFormatError):
        file_kind(network / "junk.bin")
