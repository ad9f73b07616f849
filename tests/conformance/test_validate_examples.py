"""`bmtoolkit validate` on every example config of the SONATA repository.

The stored snapshot lacks a few files (SONATA_PROFILE.md section 0.5) and the shared
``mechanisms`` folder; those, and only those, may be reported, as missing files. Component
folders a network does not use are at most warnings.
"""

from __future__ import annotations

import pytest

from bmtoolkit.cli import main
from bmtoolkit.sonata.circuit import Circuit
from bmtoolkit.sonata.config import CircuitConfig, SimulationConfig, load_config
from bmtoolkit.sonata.validation import validate_config

pytestmark = pytest.mark.conformance

EXAMPLES = (
    "5_cells_iclamp",
    "9_cells",
    "300_cells",
    "300_intfire",
    "300_pointneurons",
    "layer4_sample",
)
SIM_TESTS = (
    "one_cell_iclamp_nest",
    "ten_cells_iclamp_nest",
    "ten_cells_spikes_nest",
    "ten_cells_spikes_nrn",
)
CONFIGS = [
    *(
        f"{ex}/{name}"
        for ex in EXAMPLES
        for name in ("config.json", "circuit_config.json", "simulation_config.json")
    ),
    *(f"sim_tests/intfire/{t}/input/config.json" for t in SIM_TESTS),
]

_MECHANISMS = ("components.mechanisms_dir", "shared_components/mechanisms")
_300_EDGES = [
    ("networks.edges[0].edges_file", "300_cells/network/internal_internal_edges.h5"),
    ("networks.edges[1].edges_file", "300_cells/network/external_internal_edges.h5"),
]
_L4_EDGES = [("networks.edges[1].edges_file", "layer4_sample/network/lgn_l4_edges.h5")]
_L4_INPUT = [
    ("inputs.external_spike_trains.input_file", "layer4_sample/inputs/lgn_spike_trains.h5")
]
# example -> (location, path suffix) of every file that may (and must) be reported missing
EXPECTED_MISSING = {
    "5_cells_iclamp": [_MECHANISMS],
    "9_cells": [_MECHANISMS],
    "300_cells": [*_300_EDGES, _MECHANISMS],
    "layer4_sample": [*_L4_EDGES, _MECHANISMS],
}


def _expected(config: str) -> set[tuple[str, str]]:
    example, name = config.split("/")[0], config.rsplit("/", 1)[-1]
    expected = set(EXPECTED_MISSING.get(example, []))
    if example == "layer4_sample" and name != "circuit_config.json":
        expected |= set(_L4_INPUT)  # the simulation's input spike file
    return expected


@pytest.mark.parametrize("config", CONFIGS)
def test_only_the_absent_files_are_reported(sonata_examples, config):
    problems = validate_config(sonata_examples / config)
    assert all(p.kind == "missing_file" and p.severity == "error" for p in problems), [
        str(p) for p in problems
    ]
    found = {(p.location, p.message.split(": ", 1)[1].split(" (")[0]) for p in problems}
    found = {(loc, path[len(str(sonata_examples)) + 1 :]) for loc, path in found}
    assert found == _expected(config)


@pytest.mark.parametrize("config", CONFIGS)
def test_configs_load_with_schema_validation(sonata_examples, config):
    cfg = load_config(sonata_examples / config)
    kind = CircuitConfig if config.endswith("circuit_config.json") else SimulationConfig
    assert isinstance(cfg, kind)
    circuit = cfg if isinstance(cfg, CircuitConfig) else cfg.circuit
    assert circuit.nodes, "every example names node files"
    if isinstance(cfg, SimulationConfig):
        assert cfg.output.spikes_sort_order == "by_time"  # BMTK's "time"
        assert cfg.output.spikes_file == cfg.output.output_dir / "spikes.h5"


def test_node_sets_of_the_examples(sonata_examples):
    sizes = {
        "9_cells": {
            "biophys_cells": {"cortex": 9},
            "virtual_cells": {"excvirt": 10, "inhvirt": 10},
        },
        "300_intfire": {"LGN": {"lgn": 90}, "TW": {"tw": 30}, "lgn": {"lgn": 90}},
        "300_pointneurons": {"recorded_cells": {"internal": 5}, "external": {"external": 100}},
        "5_cells_iclamp": {"biophys_cells": {"biophysical": 5}},
    }
    for example, sets in sizes.items():
        circuit = Circuit(sonata_examples / example / "config.json")
        for name, expected in sets.items():
            got = {pop: len(ids) for pop, ids in circuit.node_ids(name).items()}
            assert got == expected, (example, name)
    recorded = Circuit(sonata_examples / "300_pointneurons" / "config.json").node_ids(
        "recorded_cells"
    )
    assert recorded["internal"].tolist() == [0, 80, 160, 240, 270]


def test_cli_exit_codes_on_examples(sonata_examples, capsys):
    assert main(["validate", str(sonata_examples / "300_pointneurons" / "config.json")]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["validate", str(sonata_examples / "300_cells" / "config.json")]) == 1
    out = capsys.readouterr().out
    assert "networks.edges[0].edges_file: file does not exist" in out
    assert "3 problem(s)" in out
