"""BMTK-style callables: node views, result checks, parallel builds and their statistics."""

from __future__ import annotations

import random

import numpy as np
import pytest

from bmtoolkit.builder import NetworkBuilder
from bmtoolkit.builder.node_table import NodeSetSpec, NodeTable, NodeView
from bmtoolkit.builder.rules.callables import _count, counts_array
from bmtoolkit.exceptions import ConfigError

# -- per-node results -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        [0, 2, 1],
        (0, 2, 1),
        np.array([0, 2, 1], dtype=np.uint8),
        np.array([0.0, 2.0, 1.0]),
        np.array([False, True, True]) * np.array([1, 2, 1]),
        np.array([0, 2, True], dtype=object),
        [0, 2.0, True],
    ],
)
def test_counts_array_accepts_counts_in_any_numeric_form(values):
    out = counts_array(values, 3, "one_to_all", "targets")
    assert out.dtype == np.int64
    assert out.tolist() == [0, 2, 1]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (np.ones(2, int), "returned 2 values (shape (2,)) for 3 targets"),
        (np.ones((3, 1), int), "shape (3, 1)"),
        (np.array([1, -1, 0]), "negative count -1 for targets[1]"),
        (np.array([1.0, 0.7, 0.0]), "non-integer count 0.7 for targets[1]"),
        (np.array([1.0, -2.0, 0.0]), "negative count -2.0 for targets[1]"),
        (np.array([1.0, 0.0, np.nan]), "NaN for targets[2]"),
        ([1, None, 0], "None for targets[1]; return 0 for no connection"),
        (np.array([1, None, 0], dtype=object), "None for targets[1]"),
        ((n for n in [1, 2, 3]), "returned a generator"),
        (iter([1, 2, 3]), "list_iterator"),
        ("abc", "the string 'abc'"),
        (np.array(["a", "b", "c"]), "strings (e.g. 'a')"),
        (["a", 1, 2], "strings (e.g. 'a')"),
        (None, "returned None"),
        (3, "returned 3; expected a list or array of 3 counts"),
        (np.int64(3), "returned np.int64(3); expected a list or array of 3 counts"),
    ],
)
def test_counts_array_rejects_with_one_clear_error(values, message):
    with pytest.raises(ConfigError, match="^one_to_all rule returned") as err:
        counts_array(values, 3, "one_to_all", "targets")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_count_of_one_pair():
    assert [_count(v) for v in (None, False, 0, 3, True, 2.0, np.int32(4), np.float32(1))] == [
        0,
        0,
        0,
        3,
        1,
        2,
        4,
        1,
    ]
    for bad, message in [
        (0.7, "non-integer synapse count 0.7"),
        (-1, "negative synapse count -1"),
        (float("nan"), "NaN"),
        ("1", "the string '1'"),
        (np.array([1, 2]), "ndarray where a synapse count"),
        ([1], "list where a synapse count"),
    ]:
        with pytest.raises(ConfigError, match=message):
            _count(bad)


def test_per_pair_results_are_checked_together_with_the_errors_of_one_pair():
    from bmtoolkit.builder.rules.callables import pair_counts

    mixed = [0, None, 2, True, False, 3.0, np.int8(1), np.float32(2), np.array(4)]
    assert pair_counts(mixed).tolist() == [0, 0, 2, 1, 0, 3, 1, 2, 4]
    assert pair_counts([None, None]).tolist() == [0, 0]
    assert pair_counts([2**40, 1]).tolist() == [2**40, 1]
    for bad, message in [
        ([1, 0.7, 2], "non-integer synapse count 0.7"),
        ([1, None, -1], "negative synapse count -1"),
        ([0, -2.0], "negative synapse count -2.0"),
        ([0, float("nan")], "NaN"),
        ([0, float("inf")], "infinite synapse count"),
        ([0, "1"], "the string '1'"),
        ([0, np.array([1, 2])], "ndarray where a synapse count"),
        ([[1], [2]], "list where a synapse count"),
        ([0, (n for n in [1])], "generator where a synapse count"),
    ]:
        with pytest.raises(ConfigError, match=message):
            pair_counts(bad)


def test_small_integer_results_take_the_byte_path_with_the_same_counts():
    from bmtoolkit.builder.rules.callables import _checked_counts, _small_counts, nonzero_pairs

    small = [0, 255, True, False, np.uint8(3), np.int64(7), np.array(4), 0]
    assert _small_counts(small) is not None
    assert pair_counts_of(small) == _checked_counts(small).tolist() == [0, 255, 1, 0, 3, 7, 4, 0]
    pos, counts = nonzero_pairs(small)
    assert (pos.tolist(), counts.tolist(), counts.dtype) == (
        [1, 2, 4, 5, 6],
        [255, 1, 3, 7, 4],
        np.int64,
    )
    # anything else leaves the byte path and is checked as before
    for other in ([0, 256], [0, None, 2], [0, 2.0], [np.True_, 1]):
        assert _small_counts(other) is None
    assert [a.tolist() for a in nonzero_pairs([0, 256, None, 2.0])] == [[1, 3], [256, 2]]
    for bad in ([0, -1], [0, 0.5], [0, "1"], [0, [1]]):
        with pytest.raises(ConfigError):
            nonzero_pairs(bad)


def pair_counts_of(values):
    from bmtoolkit.builder.rules.callables import pair_counts

    return pair_counts(values).tolist()


@pytest.mark.parametrize(
    ("result", "message"),
    [(-1, "negative synapse count -1"), (0.5, "non-integer synapse count 0.5"), ([1], "list")],
)
def test_a_bad_per_pair_result_stops_the_build_with_one_error(result, message):
    net = NetworkBuilder("n")
    net.add_nodes(N=4)
    net.add_edges(
        connection_rule=lambda s, t: result if (s.node_id, t.node_id) == (2, 3) else 1,
        iterator="one_to_one",
    )
    with pytest.raises(ConfigError, match=message):
        net.build(seed=1)


def test_per_pair_calls_pass_parameters_and_keep_bmtk_order(monkeypatch):
    from bmtoolkit.builder.rules import callables

    monkeypatch.setattr(callables, "PAIR_CHUNK", 5)  # several chunks per block
    calls = []

    def rule(source, target, a, b, c, d):
        calls.append((source.node_id, target.node_id))
        return (a + b + c + d) if source.node_id != target.node_id else None

    net = NetworkBuilder("n")
    net.add_nodes(N=4)
    net.add_edges(
        connection_rule=rule,
        connection_params={"d": 0, "c": 1, "b": 0, "a": 1},
        iterator="one_to_one",
    )
    net.build(seed=1)
    assert calls == [(s, t) for t in range(4) for s in range(4)]
    edges = net.edges()
    pairs = [(e.source_node_id, e.target_node_id, e["nsyns"]) for e in edges]
    assert pairs == [(s, t, 2) for t in range(4) for s in range(4) if s != t]


def test_parameters_are_bound_once_and_checked_against_the_signature():
    from bmtoolkit.builder.rules.callables import bind_params

    def rule(source, target, p, q=2, *rest):
        return (source, target, p, q, rest)

    assert bind_params(rule, {"q": 3, "p": 1})("s", "t") == ("s", "t", 1, 3, ())
    with pytest.raises(ConfigError, match="missing a required argument: 'p'"):
        bind_params(rule, {"q": 3})

    def flexible(source, target, **kw):
        return kw

    assert bind_params(flexible, {"a": 1})("s", "t") == {"a": 1}  # through a partial
    assert bind_params(rule, {}) is rule
    with pytest.raises(ConfigError, match=r"\['p', 'z'\] do not fit rule\(source, target, p"):
        bind_params(rule, {"p": 1, "z": 0})
    net = NetworkBuilder("n")
    net.add_nodes(N=3)
    net.add_edges(connection_rule=lambda s, t, p: 1, connection_params={"prob": 0.1})
    with pytest.raises(ConfigError, match="do not fit"):
        net.build(seed=1)


# -- node views ---------------------------------------------------------------------------


def _table():
    e = NodeSetSpec.from_properties(
        3, 100, {"ei": "e", "positions": np.arange(9.0).reshape(3, 3), "tau": [1.0, 2.0, 3.0]}
    )
    i = NodeSetSpec.from_properties(
        2, 101, {"ei": "i", "positions": np.ones((2, 3)), "tau": [4.0, 5.0], "model": "x"}
    )
    return NodeTable.from_specs("v1", [e, i])


def test_node_views_are_dicts_made_once():
    table = _table()
    views = table.node_views()
    assert views is table.node_views()
    v = views[4]
    assert isinstance(v, dict) and isinstance(v, NodeView)
    assert v.node_id == 4 and v["node_id"] == 4 and v.node_type_id == 101
    assert v["ei"] == "i" and v["model"] == "x" and v["tau"] == 5.0 and v["x"] == 1.0
    assert v.get("missing", 7) == 7 and "model" not in views[0]
    assert views[1]["positions"].tolist() == [3.0, 4.0, 5.0]
    assert NodeView(table, 4) == v and hash(NodeView(table, 4)) == hash(v)
    assert table.views([4, 1]) == [views[4], views[1]]
    with pytest.raises(TypeError, match="read-only"):
        v["tau"] = 1.0
    with pytest.raises(KeyError):
        v["nothing"]


def test_every_call_of_an_edge_set_sees_the_same_target_list():
    seen = set()

    def rule(source, targets):
        seen.add(id(targets))
        assert all(isinstance(t, NodeView) for t in targets)
        return np.zeros(len(targets), dtype=int)

    net = NetworkBuilder("n")
    net.add_nodes(N=300, ei="e")
    net.add_edges(connection_rule=rule, iterator="one_to_all")
    net.build(seed=0)
    assert len(seen) == 1


# -- parallel builds ----------------------------------------------------------------------


def _mixed_network() -> NetworkBuilder:
    rng = np.random.default_rng(2)
    net = NetworkBuilder("v1")
    net.add_nodes(N=300, positions=rng.uniform(0, 200, (300, 3)), ei="e", model_type="point_neuron")
    net.add_nodes(N=60, positions=rng.uniform(0, 200, (60, 3)), ei="i", model_type="point_neuron")

    def pair(source, target, p):
        if source.node_id == target.node_id:
            return None
        return np.random.binomial(1, p) + (random.random() < p)

    def one_to_all(source, targets, p):
        pos = np.array([t["positions"] for t in targets])
        d = np.linalg.norm(pos - source["positions"], axis=1)
        return (np.random.random(len(targets)) < p * np.exp(-d / 100.0)) * np.random.randint(
            1, 4, len(targets)
        )

    def all_to_one(sources, target):
        return [int(random.random() < 0.05) for _ in sources]

    def weight(source, target):
        return np.random.normal(1.0, 0.1) * (2.0 if target["ei"] == "i" else 1.0)

    net.add_edges(
        source={"ei": "e"}, target={"ei": "i"}, connection_rule=pair, connection_params={"p": 0.2}
    )
    cm = net.add_edges(
        source={"ei": "e"},
        target={"ei": "e"},
        connection_rule=one_to_all,
        connection_params={"p": 0.3},
        iterator="one_to_all",
    )
    cm.add_properties("syn_weight", rule=weight, dtypes=float)
    net.add_edges(
        source={"ei": "i"}, target=None, connection_rule=all_to_one, iterator="all_to_one"
    )
    return net


def _files(out, workers, seed):
    net = _mixed_network()
    net.build(seed=seed, workers=workers)
    net.save(out)
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_same_seed_gives_identical_files_whatever_the_number_of_workers(tmp_path):
    one = _files(tmp_path / "w1", 1, 11)
    for k in (2, 3):
        assert _files(tmp_path / f"w{k}", k, 11) == one, k
    assert _files(tmp_path / "other", 2, 12)["v1_v1_edges.h5"] != one["v1_v1_edges.h5"]


def test_workers_from_the_environment_and_bad_values(monkeypatch):
    from bmtoolkit.builder.parallel import WORKERS_ENV, resolve_workers

    monkeypatch.setenv(WORKERS_ENV, "3")
    assert resolve_workers() == 3 and resolve_workers(1) == 1
    for bad in (0, -1, 1.5, "two", True):
        with pytest.raises(ConfigError, match="int >= 1"):
            resolve_workers(bad)
    monkeypatch.setenv(WORKERS_ENV, "x")
    with pytest.raises(ConfigError, match=WORKERS_ENV):
        NetworkBuilder("n").build(seed=1)


def test_an_error_in_a_worker_is_raised_in_the_parent():
    def rule(source, targets):
        if source.node_id == 250:
            return np.full(len(targets), np.nan)
        return np.zeros(len(targets), dtype=int)

    net = NetworkBuilder("n")
    net.add_nodes(N=300, ei="e")
    net.add_edges(connection_rule=rule, iterator="one_to_all")
    with pytest.raises(ConfigError, match=r"NaN for targets\[0\]"):
        net.build(seed=0, workers=2)


# -- statistics -----------------------------------------------------------------------------


def test_one_to_all_and_pair_callables_give_the_expected_statistics():
    n, p = 400, 0.05
    net = NetworkBuilder("n")
    net.add_nodes(N=n, ei="e")

    def one_to_all(source, targets):
        return np.random.random(len(targets)) < p

    def pair(source, target):
        return np.random.randint(1, 4) if np.random.random() < p else 0

    net.add_edges(connection_rule=one_to_all, iterator="one_to_all")
    net.add_edges(connection_rule=pair)
    net.build(seed=4, workers=2)
    df = net.edges_table()
    expected, sd = n * n * p, np.sqrt(n * n * p * (1 - p))
    for type_id in (100, 101):
        part = df[df.edge_type_id == type_id]
        assert abs(len(part) - expected) <= 4 * sd
    pairs = df[df.edge_type_id == 101]
    assert set(pairs.nsyns) == {1, 2, 3}
    assert abs(pairs.nsyns.mean() - 2.0) <= 4 * pairs.nsyns.std() / np.sqrt(len(pairs))
    # out-degrees of the one_to_all rule are binomial(n, p)
    out_deg = np.bincount(df[df.edge_type_id == 100].source_node_id, minlength=n)
    assert abs(out_deg.var() - n * p * (1 - p)) <= 0.35 * n * p * (1 - p)
    # saved rows come out sorted by (target, source)
    key = df.target_node_id.to_numpy() * n + df.source_node_id.to_numpy()
    for type_id in (100, 101):
        k = key[(df.edge_type_id == type_id).to_numpy()]
        assert np.all(np.diff(k) > 0)


@pytest.mark.parametrize("iterator", ["one_to_all", "all_to_one"])
def test_per_node_arrays_are_checked_per_buffer_with_the_same_errors(monkeypatch, iterator):
    from bmtoolkit.builder.rules import callables

    monkeypatch.setattr(callables, "PAIR_CHUNK", 10)  # two nodes per buffer
    noun = "targets" if iterator == "one_to_all" else "sources"

    def rule(a, b):
        node = a if iterator == "one_to_all" else b
        others = b if iterator == "one_to_all" else a
        out = np.arange(len(others)) % 3
        if node.node_id == 3:
            out[2] = -4
        return out.astype(np.int32) if node.node_id % 2 else out

    net = NetworkBuilder("n")
    net.add_nodes(N=6)
    net.add_edges(connection_rule=rule, iterator=iterator)
    with pytest.raises(
        ConfigError, match=rf"^{iterator} rule returned a negative count -4 for {noun}\[2\]$"
    ):
        net.build(seed=1)

    def good(a, b):
        node = a if iterator == "one_to_all" else b
        others = b if iterator == "one_to_all" else a
        counts = (np.arange(len(others)) + node.node_id) % 3
        return counts.astype(np.uint8) if node.node_id % 2 else counts.tolist()

    net = NetworkBuilder("n")
    net.add_nodes(N=6)
    net.add_edges(connection_rule=good, iterator=iterator)
    net.build(seed=1)
    got = sorted((e.source_node_id, e.target_node_id, e["nsyns"]) for e in net.edges())
    node_of = (lambda s, t: s) if iterator == "one_to_all" else (lambda s, t: t)
    other_of = (lambda s, t: t) if iterator == "one_to_all" else (lambda s, t: s)
    want = sorted(
        (s, t, (other_of(s, t) + node_of(s, t)) % 3)
        for s in range(6)
        for t in range(6)
        if (other_of(s, t) + node_of(s, t)) % 3
    )
    assert got == want


def test_source_blocks_are_merged_into_target_order_as_a_stable_sort_would():
    from bmtoolkit.builder.rules.base import merge_order

    rng = np.random.default_rng(0)
    for _ in range(100):
        src, trg, lengths, first = [], [], [], 0
        for _ in range(int(rng.integers(1, 8))):
            m = int(rng.integers(0, 30))
            s, t = rng.integers(first, first + 5, m), rng.integers(0, 12, m)
            order = np.lexsort((s, t))  # a block: sorted by (target, source)
            src.append(s[order])
            trg.append(t[order])
            lengths.append(m)
            first += 5  # the next block holds larger sources
        s, t = np.concatenate(src), np.concatenate(trg)
        if len(t):
            expected = np.argsort(t * 1000 + s, kind="stable")
            assert merge_order(t, lengths).tolist() == expected.tolist()


def test_seeding_numpy_makes_an_unseeded_build_reproducible_as_in_bmtk(tmp_path):
    def build(out, numpy_seed):
        np.random.seed(numpy_seed)
        net = NetworkBuilder("v1")
        net.add_nodes(N=40)
        net.add_edges(connection_rule=lambda s, t: np.random.randint(0, 2), iterator="one_to_one")
        net.build()
        net.save(out)
        return (out / "v1_v1_edges.h5").read_bytes()

    first = build(tmp_path / "a", 3)
    assert build(tmp_path / "b", 3) == first
    assert build(tmp_path / "c", 4) != first
