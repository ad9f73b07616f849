"""Unseeded serial builds call Python rules in BMTK's order on NumPy's global generator.

BMTK itself is run on the same scripts by ``tests/bmtk_examples/test_build_scripts.py``; these
tests pin the order of the calls and what a build leaves in the global generators.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from bmtoolkit.builder import NetworkBuilder
from bmtoolkit.builder.network import SEED_ENV
from bmtoolkit.builder.script_order import state_seed


@pytest.fixture(autouse=True)
def _no_seed_from_env(monkeypatch):
    monkeypatch.delenv(SEED_ENV, raising=False)


def _net(n: int = 5) -> NetworkBuilder:
    net = NetworkBuilder("v1")
    net.add_nodes(N=n, ei="e")
    return net


def test_one_to_one_rules_are_called_source_by_source_then_properties_edge_by_edge():
    calls: list[tuple[str, int, int]] = []

    def nsyns(source, target):
        calls.append(("connect", source.node_id, target.node_id))
        return (source.node_id + target.node_id) % 3

    def weight(source, target):
        calls.append(("weight", source.node_id, target.node_id))
        return 1.0

    net = _net(4)
    cm = net.add_edges(connection_rule=nsyns, model_template="static_synapse")
    cm.add_properties("syn_weight", rule=weight, dtypes=float)
    net.build(block_size=1)
    pairs = [(s, t) for s in range(4) for t in range(4)]
    assert calls[:16] == [("connect", s, t) for s, t in pairs]
    # one call per synapse, sources by id, each source's targets by id
    expected = [("weight", s, t) for s, t in pairs for _ in range((s + t) % 3)]
    assert calls[16:] == expected
    table = net.edges_table()  # stored by target, as SONATA files want them
    assert table["target_node_id"].is_monotonic_increasing and len(table) == len(expected)


def test_all_to_one_is_called_per_target_and_one_to_all_per_source():
    seen: list[tuple[str, int]] = []

    def per_target(sources, target):
        seen.append(("target", target.node_id))
        return [1] * len(sources)

    def per_source(source, targets):
        seen.append(("source", source.node_id))
        return [1] * len(targets)

    net = _net(300)  # more nodes than a callable's block
    net.add_edges(connection_rule=per_target, iterator="all_to_one")
    net.add_edges(connection_rule=per_source, iterator="one_to_all")
    net.build()
    assert seen == [("target", i) for i in range(300)] + [("source", i) for i in range(300)]


def test_a_build_leaves_the_global_generators_where_the_rules_left_them():
    def rule(source, target):
        return np.random.randint(0, 3)

    np.random.seed(11)
    random.seed(11)
    net = _net(6)
    net.add_edges(connection_rule=rule)
    net.add_edges(connection_rule=2)  # no draw
    net.build()
    after_build = np.random.random()
    np.random.seed(11)
    for _ in range(36):  # the rule's draws, nothing else
        np.random.randint(0, 3)
    assert np.random.random() == after_build


def test_the_same_global_seed_gives_the_same_edges_and_another_other_edges():
    def build(seed):
        np.random.seed(seed)
        net = _net(30)
        net.add_edges(connection_rule=lambda s, t: np.random.randint(0, 2))
        net.build()
        return net.edges_table()[["source_node_id", "target_node_id", "nsyns"]]

    first = build(5)
    assert build(5).equals(first)
    assert not build(6).equals(first)


def test_the_vectorized_rules_seed_comes_from_the_global_state_without_drawing():
    np.random.seed(3)
    a = state_seed()
    assert state_seed() == a
    net = _net(50)
    net.add_edges(connection_rule="random", connection_params={"p": 0.3})
    net.build()
    assert net.seed_used == a
    assert state_seed() == a  # nothing drawn
    np.random.random()
    assert state_seed() != a


def test_seeded_and_parallel_builds_keep_the_per_block_seeding():
    def rule(source, target):
        return np.random.randint(0, 2)

    def build(**kw):
        np.random.seed(1)
        net = _net(40)
        net.add_edges(connection_rule=rule)
        net.build(**kw)
        return net.edges_table()[["source_node_id", "target_node_id", "nsyns"]]

    serial = build()
    seeded = build(seed=7)
    assert not seeded.equals(serial)  # seeded: per-block streams, not the global one
    assert build(seed=7, workers=2).equals(seeded)
