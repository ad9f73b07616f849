"""Empirical connection statistics of every built-in rule against its formula."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.builder import NetworkBuilder, positions
from bmtoolkit.builder.rules import (
    AllToAll,
    DistanceProbability,
    FixedInDegree,
    FixedOutDegree,
    FixedProbability,
    LikeToLike,
    OneToOne,
    bernoulli_pairs,
    orientation_difference,
)


def _network(n=1200, seed=0, box=500.0, angles=False):
    rng = np.random.default_rng(seed)
    net = NetworkBuilder("net")
    props = {"positions": rng.uniform(0, box, (n, 3)), "ei": "e"}
    if angles:
        props["tuning_angle"] = rng.uniform(0, 180, n)
    net.add_nodes(N=n, **props)
    return net


def _pairs(net):
    """Every ordered pair (source, target) without self pairs, and the built adjacency."""
    n = net.nnodes
    src, trg = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    keep = src != trg
    src, trg = src[keep], trg[keep]
    df = net.edges_table()
    adj = np.zeros((n, n), dtype=bool)
    adj[df["source_node_id"].to_numpy(), df["target_node_id"].to_numpy()] = True
    return src, trg, adj[src, trg]


def _check_bins(bin_index, expected_p, connected, n_bins):
    """Observed connections per bin within 3 standard errors of the formula."""
    checked = 0
    for b in range(n_bins):
        sel = bin_index == b
        if sel.sum() < 200:
            continue
        p = expected_p[sel]
        expected = p.sum()
        sd = np.sqrt((p * (1 - p)).sum())
        observed = connected[sel].sum()
        assert abs(observed - expected) <= 3 * sd + 1e-9, (b, observed, expected, sd)
        checked += 1
    assert checked >= 3


def test_bernoulli_pairs_rate_and_uniformity():
    rows, cols = bernoulli_pairs(300, 400, 0.05, np.random.default_rng(3))
    n = 300 * 400
    assert abs(len(rows) - 0.05 * n) <= 3 * np.sqrt(n * 0.05 * 0.95)
    assert len(set(zip(rows.tolist(), cols.tolist()))) == len(rows)  # no duplicates
    # every row gets about the same number
    per_row = np.bincount(rows, minlength=300)
    assert abs(per_row.mean() - 20) < 1.0
    assert rows.max() < 300 and cols.max() < 400


def test_fixed_probability_rate_and_no_autapses():
    net = _network(600)
    net.add_edges(connection_rule=FixedProbability(0.1))
    net.build(seed=5)
    src, trg, conn = _pairs(net)
    p = np.full(len(src), 0.1)
    _check_bins(trg // 100, p, conn, 6)
    df = net.edges_table()
    assert (df["source_node_id"] != df["target_node_id"]).all()
    assert (df["nsyns"] == 1).all()


def test_fixed_indegree_is_exact():
    net = _network(400)
    net.add_edges(connection_rule=FixedInDegree(17, nsyns=(1, 3)))
    net.build(seed=1, block_size=64)
    df = net.edges_table()
    indeg = np.bincount(df["target_node_id"], minlength=400)
    assert (indeg == 17).all()
    assert not df.duplicated(["source_node_id", "target_node_id"]).any()
    assert (df["source_node_id"] != df["target_node_id"]).all()
    assert set(df["nsyns"].unique()) <= {1, 2, 3}
    # sources are uniform: out-degrees have mean 17 and binomial-like spread
    outdeg = np.bincount(df["source_node_id"], minlength=400)
    assert abs(outdeg.mean() - 17) < 1e-9 and outdeg.std() < 3 * np.sqrt(17)


def test_fixed_outdegree_is_exact():
    net = _network(300)
    net.add_edges(connection_rule=FixedOutDegree(9))
    net.build(seed=2)
    df = net.edges_table()
    assert (np.bincount(df["source_node_id"], minlength=300) == 9).all()
    assert not df.duplicated(["source_node_id", "target_node_id"]).any()


def test_all_to_all_and_one_to_one():
    net = NetworkBuilder("a")
    net.add_nodes(N=5, ei="e")
    net.add_nodes(N=5, ei="i")
    net.add_edges(source={"ei": "e"}, target={"ei": "i"}, connection_rule=AllToAll(nsyns=2))
    net.add_edges(source={"ei": "e"}, target={"ei": "i"}, connection_rule=OneToOne())
    net.build(seed=0)
    df = net.edges_table()
    first = df[df["edge_type_id"] == 100]
    second = df[df["edge_type_id"] == 101]
    assert len(first) == 25 and (first["nsyns"] == 2).all()
    assert second["source_node_id"].tolist() == [0, 1, 2, 3, 4]
    assert second["target_node_id"].tolist() == [5, 6, 7, 8, 9]


@pytest.mark.parametrize(
    "profile, sigma, cutoff, axes",
    [
        ("gaussian", 120.0, None, "xyz"),
        ("gaussian", 100.0, 250.0, "xyz"),
        ("exponential", 80.0, 300.0, "xyz"),
        ("gaussian", 120.0, 300.0, "xz"),
        # steep profile: most candidate cells are proposed at small 2**-k levels
        ("exponential", 30.0, 400.0, "xyz"),
        ("uniform", 1.0, 150.0, "xyz"),
    ],
)
def test_distance_rule_probability_per_bin(profile, sigma, cutoff, axes):
    net = _network(1200, seed=1)
    rule = DistanceProbability(p0=0.3, sigma=sigma, profile=profile, cutoff=cutoff, axes=axes)
    net.add_edges(connection_rule=rule)
    net.build(seed=11, block_size=300)
    src, trg, conn = _pairs(net)
    pos = net.node_table().positions()
    cols = [{"x": 0, "y": 1, "z": 2}[a] for a in axes]
    d = np.linalg.norm(pos[src][:, cols] - pos[trg][:, cols], axis=1)
    expected = rule.probability(d)
    if cutoff is not None:
        assert not conn[d > cutoff].any()
    _check_bins(np.floor(d / 40.0).astype(int), expected, conn, 20)


def test_like_to_like_probability_per_orientation_bin():
    net = _network(1200, seed=2, angles=True)
    rule = LikeToLike(p0=0.2, tuning="linear", tuning_params={"floor": 0.1})
    net.add_edges(connection_rule=rule)
    net.build(seed=4)
    src, trg, conn = _pairs(net)
    theta = net.node_table().column("tuning_angle")
    dtheta = orientation_difference(theta[src], theta[trg])
    expected = rule.probability(dtheta)
    _check_bins(np.floor(dtheta / 10.0).astype(int), expected, conn, 9)
    # like-to-like: similar pairs connect more than orthogonal ones
    assert conn[dtheta < 10].mean() > 3 * conn[dtheta > 80].mean()


def test_like_to_like_with_distance():
    net = _network(1000, seed=3, angles=True)
    rule = LikeToLike(p0=0.4, tuning="cosine", tuning_params={"a": 0.8}, sigma=150.0, cutoff=350.0)
    net.add_edges(connection_rule=rule)
    net.build(seed=6)
    src, trg, conn = _pairs(net)
    tab = net.node_table()
    theta, pos = tab.column("tuning_angle"), tab.positions()
    dtheta = orientation_difference(theta[src], theta[trg])
    d = np.linalg.norm(pos[src] - pos[trg], axis=1)
    expected = rule.probability(dtheta, d)
    assert not conn[d > 350].any()
    _check_bins(np.floor(dtheta / 15.0).astype(int), expected, conn, 6)
    _check_bins(np.floor(d / 50.0).astype(int), expected, conn, 8)


def test_distance_rule_on_cylinder_positions():
    pos = positions.cylinder(800, 300.0, 400.0, seed=9)
    net = NetworkBuilder("c")
    net.add_nodes(N=800, positions=pos)
    net.add_edges(connection_rule="distance", connection_params={"p0": 0.2, "sigma": 100.0})
    net.build(seed=1)
    assert net.nedges > 0


def test_property_rules_weights_and_delays():
    from bmtoolkit.builder.properties import (
        DistanceDelay,
        GaussianProperty,
        OrientationWeight,
        UniformProperty,
    )

    net = _network(500, seed=4, angles=True)
    cm = net.add_edges(connection_rule=FixedProbability(0.1, nsyns=(1, 4)))
    cm.add_properties("w_ori", rule=OrientationWeight(3.0, "gaussian", {"width": 20.0}))
    cm.add_properties("w_jit", rule=GaussianProperty(2.0, 0.5, lower=0.0), dtypes=np.float32)
    cm.add_properties("u", rule="uniform", rule_params={"low": 1.0, "high": 2.0})
    cm.add_properties("delay", rule=DistanceDelay(base=0.5, velocity=0.25))
    net.build(seed=9)
    df = net.edges_table()
    assert "nsyns" not in df  # one row per synapse once properties are added
    tab = net.node_table()
    s, t = df["source_node_id"].to_numpy(), df["target_node_id"].to_numpy()
    dtheta = orientation_difference(tab.column("tuning_angle")[s], tab.column("tuning_angle")[t])
    assert np.allclose(df["w_ori"], 3.0 * np.exp(-(dtheta**2) / (2 * 20.0**2)))
    w = df["w_jit"].to_numpy()
    assert w.dtype == np.float32 and (w >= 0).all()
    assert abs(w.mean() - 2.0) <= 3 * 0.5 / np.sqrt(len(w))
    assert abs(w.std() - 0.5) < 0.02
    u = df["u"].to_numpy()
    assert u.min() >= 1.0 and u.max() < 2.0 and abs(u.mean() - 1.5) <= 3 * np.sqrt(1 / 12 / len(u))
    d = np.linalg.norm(tab.positions()[s] - tab.positions()[t], axis=1)
    assert np.allclose(df["delay"], 0.5 + d / 250.0)
    assert isinstance(UniformProperty(0, 1), UniformProperty)
