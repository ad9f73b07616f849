"""Node sets resolved against real node files (H5 attributes and the types CSV)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.exceptions import ConfigError, MissingFileError, UnknownModelError
from bmtoolkit.sonata.node_sets import NodeSets
from bmtoolkit.sonata.nodes import NodePopulationData, read_nodes, write_nodes
from bmtoolkit.sonata.types_table import write_types_csv
from tests.conftest import require_module


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """v1: 6 nodes (H5: layer, rate, ei overriding the CSV for node 5); lgn: 4 virtual."""
    d = tmp_path_factory.mktemp("net")
    v1 = NodePopulationData.single_group(
        "v1",
        np.array([100, 100, 101, 101, 102, 102]),
        attributes={
            "layer": np.array(["L2/3", "L4", "L4", "L5", "L5", "L6"]),
            "rate": np.array([1.0, 2.5, 4.0, 8.0, 16.0, 32.0]),
            "depth": np.array([3, 1, 4, 1, 5, 9], dtype=np.int64),
            "ei": np.array(["e", "e", "i", "i", "e", "i"]),
        },
    )
    lgn = NodePopulationData.single_group("lgn", np.array([7, 7, 7, 7]))
    write_nodes(d / "v1.h5", [v1])
    write_nodes(d / "lgn.h5", [lgn])
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": [100, 101, 102],
                "model_type": ["point_process"] * 3,
                "pop_name": ["Scnn1a", "PV", "Rorb"],
                "ei": ["x", "x", "x"],  # overridden by H5
            }
        ),
        d / "v1_types.csv",
    )
    write_types_csv(
        pd.DataFrame({"node_type_id": [7], "model_type": ["virtual"], "ei": ["e"]}),
        d / "lgn_types.csv",
    )
    return {
        **read_nodes(d / "v1.h5", d / "v1_types.csv"),
        **read_nodes(d / "lgn.h5", d / "lgn_types.csv"),
    }


def ids(result):
    return {k: v.tolist() for k, v in result.items()}


SETS = NodeSets(
    {
        "exc": {"ei": "e"},
        "pv": {"pop_name": "PV"},
        "deep": {"layer": ["L5", "L6"]},
        "exc_or_pv": ["exc", "pv"],
        "nested": ["exc_or_pv", "deep"],
        "bmtk_ids": [5, 0, 3],
        "v1_points": {"population": "v1", "model_type": "point_process"},
        "listed": {"populations": ["lgn"], "node_id": [3, 1]},
        "legacy": {"gids": [2]},
        "bright": {"rate": {"$gte": 4.0, "$lt": 32.0}},
        "upper": {"layer": {"$regex": "L[45]"}},
        "numbers": {"depth": [1, 9]},
    }
)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("exc", {"v1": [0, 1, 4], "lgn": [0, 1, 2, 3]}),  # H5 overrides CSV; CSV-only in lgn
        ("pv", {"v1": [2, 3]}),  # CSV-only attribute
        ("deep", {"v1": [3, 4, 5]}),  # a list means any of them
        ("exc_or_pv", {"v1": [0, 1, 2, 3, 4], "lgn": [0, 1, 2, 3]}),
        ("nested", {"v1": [0, 1, 2, 3, 4, 5], "lgn": [0, 1, 2, 3]}),
        ("bmtk_ids", {"v1": [0, 3, 5], "lgn": [0, 3]}),
        ("v1_points", {"v1": [0, 1, 2, 3, 4, 5]}),
        ("listed", {"lgn": [1, 3]}),
        ("legacy", {"v1": [2], "lgn": [2]}),
        ("bright", {"v1": [2, 3, 4]}),
        ("upper", {"v1": [1, 2, 3, 4]}),
        ("numbers", {"v1": [1, 3, 5]}),
        ("all", {"v1": [0, 1, 2, 3, 4, 5], "lgn": [0, 1, 2, 3]}),
        ("lgn", {"lgn": [0, 1, 2, 3]}),  # implicit set per population
        ({"ei": "i", "layer": "L5"}, {"v1": [3]}),  # keys are ANDed
        ({"population": "v1", "node_id": [4, 2]}, {"v1": [2, 4]}),
        (["pv", "lgn"], {"v1": [2, 3], "lgn": [0, 1, 2, 3]}),
        ({"rate": {"$gt": 100}}, {}),
    ],
)
def test_resolve(net, spec, expected):
    result = SETS.resolve(spec, net)
    assert ids(result) == expected
    assert all(v.dtype == np.int64 for v in result.values())


def test_a_population_without_the_attribute_contributes_nothing(net):
    assert ids(SETS.resolve({"layer": "L4"}, net)) == {"v1": [1, 2]}


def test_unknown_name_lists_the_known_ones(net):
    with pytest.raises(UnknownModelError, match="unknown node set 'nope'") as err:
        SETS.resolve("nope", net)
    assert "exc" in str(err.value) and "all" in str(err.value) and "lgn" in str(err.value)
    assert isinstance(err.value, KeyError)


def test_attribute_of_no_population_is_an_error(net):
    with pytest.raises(ConfigError, match="layr"):
        SETS.resolve({"layr": "L4"}, net)


@pytest.mark.parametrize(
    "rule", [{"population": "lgn", "node_id": [1, 99]}, {"populations": ["lgn"], "gids": [-1]}]
)
def test_ids_outside_the_named_population_are_an_error(net, rule):
    with pytest.raises(ConfigError, match="outside population 'lgn'"):
        SETS.resolve(rule, net)


def test_cycles_are_reported(net):
    sets = NodeSets({"a": ["b"], "b": ["c", "a"], "c": {"ei": "e"}})
    with pytest.raises(ConfigError, match="cycle: a -> b -> a"):
        sets.resolve("a", net)


@pytest.mark.parametrize(
    "rule",
    [{"rate": {"$between": [1, 2]}}, {"ei": None}, [1, "exc"], 3.5],
    ids=["operator", "null", "mixed-list", "number"],
)
def test_malformed_rules(net, rule):
    with pytest.raises(ConfigError):
        NodeSets({"bad": rule}).resolve("bad", net)


def test_from_file_and_merge(tmp_path, net):
    path = tmp_path / "node_sets.json"
    path.write_text(json.dumps({"exc": {"ei": "i"}, "v1_only": {"population": "v1"}}))
    sets = SETS.merged(NodeSets.from_file(path))
    assert ids(sets.resolve("exc", net)) == {"v1": [2, 3, 5]}  # the file overrides
    assert "pv" in sets and "v1_only" in sets
    assert sets.is_defined("v1_only") and sets.is_defined("v1", ["v1"])
    assert not sets.is_defined("ghost", ["v1"])


def test_from_file_errors(tmp_path):
    with pytest.raises(MissingFileError):
        NodeSets.from_file(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": {"ei": "e"},}')
    with pytest.raises(ConfigError, match="line 1"):
        NodeSets.from_file(bad)


@pytest.mark.interop
def test_same_answer_as_libsonata_for_h5_attributes(net):
    libsonata = require_module("libsonata")
    rules = {
        "a": {"layer": ["L5", "L6"]},
        "b": {"rate": {"$gte": 4.0}},
        "b2": {"rate": {"$lt": 32.0}, "depth": {"$lte": 4}},
        "c": {"layer": {"$regex": "L[45]"}, "ei": "e"},
        "d": ["a", "c"],
        "e": {"node_id": [4, 2], "population": "v1"},
    }
    theirs = libsonata.NodeSets(json.dumps(rules))
    storage = libsonata.NodeStorage(str(net["v1"].h5_path))
    pop = storage.open_population("v1")
    ours = NodeSets(rules)
    for name in rules:
        expected = theirs.materialize(name, pop).flatten().tolist()
        assert ours.resolve(name, {"v1": net["v1"]}).get("v1", np.zeros(0)).tolist() == expected
