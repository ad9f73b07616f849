"""The V1 recipe at a small fraction: counts, layout, rules, inputs, and a short simulation.

The network checks use one build at fraction 0.008 (1,847 cells). The larger sanity check
(fraction 0.05, orientation tuning) is ``scripts/v1_sanity.py``; its numbers are in
``docs/v1_model.md``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.builder.rules.like_to_like import orientation_difference
from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.models.v1 import cells as cat
from bmtoolkit.models.v1 import connections as conn
from bmtoolkit.models.v1 import inputs as inp
from tests.conftest import require_module

FRACTION = 0.008
SEED_TABLE = {  # the Allen slide's table, by type
    "i1Htr3a": 978, "e23Cux2": 12689, "i23Pvalb": 640, "i23Sst": 459, "i23Htr3a": 1107,
    "e4Scnn1a": 3072, "e4Rorb": 2620, "e4Nr5a1": 1248, "e4other": 3194, "i4Pvalb": 1025,
    "i4Sst": 553, "i4Htr3a": 270, "e5Rbp4": 6010, "e5noRbp4": 1448, "i5Pvalb": 673,
    "i5Sst": 594, "i5Htr3a": 98, "e6Ntsr1": 12893, "i6Pvalb": 1052, "i6Sst": 1056,
    "i6Htr3a": 192,
}  # fmt: skip


def _glif_dir():
    import os
    from pathlib import Path

    from bmtoolkit.recipes.v1.build import DATA_ENV

    # the shared data beside this checkout (as the other suites find theirs), not beside the
    # installed package, so the core-only install finds it too
    data = os.environ.get(DATA_ENV) or Path(__file__).resolve().parents[3] / "shared" / "data"
    folder = Path(data) / "bmtk_point_components" / "cell_models"
    if not all((folder / f).is_file() for f in cat.GLIF_FITS.values()):
        pytest.skip(f"GLIF parameter files not found in {folder}; set BMTOOLKIT_SHARED_DATA to "
                    "the folder holding bmtk_point_components/")  # fmt: skip
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The model at FRACTION, with its nodes and edges as tables."""
    from bmtoolkit.recipes.v1 import build_v1
    from bmtoolkit.sonata import Circuit

    folder = _glif_dir()
    out = tmp_path_factory.mktemp("v1")
    b = build_v1(out, fraction=FRACTION, seed=3, cell_models_dir=folder, progress=False)
    circ = Circuit(b.circuit)
    v1 = circ.nodes["v1"]
    ids = v1.ids()
    cols = ["cell_class", "pop_name", "layer", "ei", "tuning_angle", "core", "vis_x", "vis_y",
            "x", "y", "z", "dynamics_params", "model_template"]  # fmt: skip
    nodes = pd.DataFrame({c: v1.column(c, ids) for c in cols}, index=ids)
    edges = {}
    for name, pop in circ.edges.items():
        df = pd.DataFrame({"source": pop.source_node_ids(), "target": pop.target_node_ids(),
                           "syn_weight": pop.column("syn_weight"),
                           "dynamics_params": pop.column("dynamics_params")})  # fmt: skip
        edges[name] = df
    lgn = circ.nodes["lgn"]
    lgn_ids = lgn.ids()
    lgn_df = pd.DataFrame({c: lgn.column(c, lgn_ids) for c in ("x", "y", "model_name")})
    return {"build": b, "nodes": nodes, "edges": edges, "lgn": lgn_df, "out": out}


def test_counts_follow_the_seed_table():
    assert {t.name: t.core for t in cat.CELL_TYPES} == SEED_TABLE
    assert len(cat.CLASSES) == 17 and len(cat.CELL_TYPES) == 21
    full = cat.type_counts(1.0)
    assert sum(full.values()) == cat.FULL_SIZE == 230_924
    assert cat.type_counts(1.0, region="core") == SEED_TABLE
    scale = cat.FULL_SIZE / sum(SEED_TABLE.values())
    for name, n in full.items():
        assert abs(n - SEED_TABLE[name] * scale) < 1.0
    small = cat.type_counts(FRACTION)
    assert sum(small.values()) == round(cat.FULL_SIZE * FRACTION) <= 2000
    for name, n in small.items():
        assert abs(n - full[name] * FRACTION) < 2.0 and n >= 1


def test_bad_fraction_is_refused(tmp_path):
    from bmtoolkit.recipes.v1 import build_v1

    for bad in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(ConfigError, match="fraction"):
            cat.type_counts(bad)
    with pytest.raises(MissingFileError, match="GLIF parameters 593618144"):
        build_v1(tmp_path, fraction=0.01, cell_models_dir=tmp_path)


def test_nodes_have_layers_geometry_and_glif_models(built):
    nodes = built["nodes"]
    counts = nodes["pop_name"].value_counts().to_dict()
    assert counts == cat.type_counts(FRACTION)
    r_core, r_full = cat.radii(FRACTION)
    radius = np.hypot(nodes["x"], nodes["z"])
    assert radius.max() <= r_full
    core = nodes["core"].to_numpy().astype(bool)
    assert np.array_equal(core, radius.to_numpy() < r_core)
    assert core.sum() == sum(cat.type_counts(FRACTION, region="core").values())
    for layer, (top, bottom) in cat.LAYER_DEPTHS.items():
        depth = -nodes.loc[nodes["layer"] == layer, "y"]
        assert depth.min() >= top and depth.max() <= bottom
    assert nodes["tuning_angle"].between(0, 180).all()
    by_type = {t.name: t for t in cat.CELL_TYPES}
    for name, group in nodes.groupby("pop_name"):
        assert set(group["dynamics_params"]) == {by_type[name].dynamics_params}
        assert set(group["model_template"]) == {"nest:glif_psc"}
    comp = built["out"] / "components"
    for fname in cat.GLIF_FITS.values():
        params = json.loads((comp / fname).read_text())
        assert params["asc_amps"] and params["tau_syn"] == [5.5, 8.5, 2.8, 5.8]
    assert json.loads((comp / "i2e.json").read_text()) == {"receptor_type": 2}


def _expected_in_degree(nodes, src_cls, trg_cls):
    """Per target of ``trg_cls``: sum over sources of the rule's probability, and its variance."""
    rule = conn.pair_rule(src_cls, trg_cls)
    s = nodes[nodes["cell_class"] == src_cls]
    t = nodes[nodes["cell_class"] == trg_cls]
    dx = t["x"].to_numpy()[:, None] - s["x"].to_numpy()[None, :]
    dz = t["z"].to_numpy()[:, None] - s["z"].to_numpy()[None, :]
    d = np.hypot(dx, dz)
    p = rule.p0 * np.exp(-(d**2) / (2 * rule.sigma**2)) * (d <= conn.CUTOFF_SIGMAS * rule.sigma)
    if rule.like_to_like:
        a = conn.LIKE_TO_LIKE
        dth = orientation_difference(t["tuning_angle"].to_numpy()[:, None],
                                     s["tuning_angle"].to_numpy()[None, :])  # fmt: skip
        p = p * (1 + a * np.cos(np.deg2rad(2 * dth))) / (1 + a)
    if src_cls == trg_cls:  # no autapses
        p[np.equal.outer(t.index.to_numpy(), s.index.to_numpy())] = 0.0
    return t.index.to_numpy(), p.sum(axis=1), (p * (1 - p)).sum(axis=1)


@pytest.mark.parametrize(
    ("src", "trg"),
    [("e4", "e4"), ("e4", "e23"), ("e23", "e5"), ("i4Pvalb", "e4"), ("i23Sst", "e23"),
     ("e6", "i6Pvalb"), ("i23Htr3a", "i23Sst")],
)  # fmt: skip
def test_in_degree_per_class_pair_within_3_se_of_the_rule(built, src, trg):
    nodes, rec = built["nodes"], built["edges"]["v1_to_v1"]
    targets, mean, var = _expected_in_degree(nodes, src, trg)
    sel = rec[rec["source"].isin(nodes.index[nodes["cell_class"] == src])
              & rec["target"].isin(targets)]  # fmt: skip
    observed = len(sel)
    expected, se = mean.sum(), math.sqrt(var.sum())
    assert expected > 30, "pick pairs with enough edges to test"
    assert abs(observed - expected) <= 3 * se, (observed, expected, se)
    # weights: the class pair's PSC amplitude times the in-degree compensation
    rule = conn.pair_rule(src, trg)
    w = rule.weight * conn.in_degree_compensation(rule.sigma, FRACTION)
    if rule.like_to_like:
        # the mean over all pairs is w; over edges, like-to-like pairs weigh more: with
        # g = 1 + a cos(2 dtheta) for both, E[g^2] / E[g] = 1 + a b / 2
        a, b = conn.LIKE_TO_LIKE, conn.LIKE_TO_LIKE_WEIGHT
        assert abs(sel["syn_weight"].mean() / (w * (1 + a * b / 2)) - 1) < 0.05
        assert sel["syn_weight"].max() <= w * (1 + conn.LIKE_TO_LIKE_WEIGHT) + 1e-9
    else:
        assert np.allclose(sel["syn_weight"], w)
    assert set(sel["dynamics_params"]) == {rule.synapse}


def test_like_to_like_prefers_similar_orientations(built):
    nodes, rec = built["nodes"], built["edges"]["v1_to_v1"]
    e = nodes.index[nodes["ei"] == "e"]
    ee = rec[rec["source"].isin(e) & rec["target"].isin(e)]
    ang = nodes["tuning_angle"]
    dth = orientation_difference(ang.loc[ee["source"]].to_numpy(), ang.loc[ee["target"]].to_numpy())
    # uniform angles would put half the pairs below 45 degrees
    assert (dth < 45).mean() > 0.6
    assert np.corrcoef(dth, ee["syn_weight"])[0, 1] < -0.5


def test_lgn_is_retinotopic_and_scaled(built):
    (w, h), tiles = inp.lgn_field(FRACTION)
    lgn, nodes = built["lgn"], built["nodes"]
    assert len(lgn) == 116 * tiles[0] * tiles[1]
    assert inp.lgn_field(1.0) == ((240.0, 120.0), (15, 10))
    assert lgn["x"].between(0, w).all() and lgn["y"].between(0, h).all()
    ff = built["edges"]["lgn_to_v1"]
    target_class = nodes.loc[ff["target"], "cell_class"].to_numpy()
    assert set(target_class) == set(inp.LGN_INPUTS)
    e4 = ff[target_class == "e4"]
    per_cell = e4.groupby("target")
    assert per_cell.size().median() >= inp.LGN_INPUTS["e4"][0]
    # every L4 cell's LGN inputs lie around its receptive-field centre
    lx = lgn["x"].to_numpy()[e4["source"]]
    ly = lgn["y"].to_numpy()[e4["source"]]
    cx = nodes.loc[e4["target"], "vis_x"].to_numpy()
    cy = nodes.loc[e4["target"], "vis_y"].to_numpy()
    reach = 0.5 * math.hypot(inp.SUBFIELD["length"], inp.SUBFIELD["width"]
                             + inp.SUBFIELD["separation"]) + inp.SUBFIELD["width"]  # fmt: skip
    assert np.hypot(lx - cx, ly - cy).max() <= reach
    centroid = pd.DataFrame({"t": e4["target"].to_numpy(), "x": lx}).groupby("t")["x"].mean()
    assert np.corrcoef(centroid, nodes.loc[centroid.index, "vis_x"])[0, 1] > 0.95
    assert set(built["edges"]["bkg_to_v1"]["target"]) == set(nodes.index)


@pytest.mark.nest
def test_demo_v1_simulates_200_ms_with_finite_nonzero_rates(tmp_path, capsys):
    require_module("nest")
    require_module("matplotlib")
    _glif_dir()
    from bmtoolkit.cli import main

    code = main(["demo", "v1", "--fraction", str(FRACTION), "--tstop", "200", "--seed", "2",
                 "--orientations", "0,90", "-o", str(tmp_path)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "median OSI" in printed and "raster.png" in printed
    rates = pd.read_csv(tmp_path / "rates.csv", index_col=0)
    assert list(rates.index) == list(cat.CLASSES)
    assert np.isfinite(rates["mean_hz"]).all() and (rates["mean_hz"] < 100).all()
    big = rates[rates["cells"] >= 20]
    assert (big["mean_hz"] > 0).all(), big
    for name in ("raster", "rates", "tuning"):
        png = tmp_path / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    tuning = pd.read_csv(tmp_path / "tuning.csv")
    assert set(tuning["cell_class"]) == {"e23", "e4"}


def test_stimulus_inputs(tmp_path):
    from bmtoolkit.recipes.v1.pipeline import recipe_preference, stimulus_input

    grating = stimulus_input("grating", (80.0, 48.0), orientation=45.0)
    assert grating["module"] == "grating" and grating["theta"] == 45.0
    assert (grating["col_size"], grating["row_size"]) == (80.0, 48.0)
    assert stimulus_input("flash", (80.0, 48.0))["module"] == "full_field_flash"
    movie = tmp_path / "movie.npy"
    np.save(movie, np.zeros((50, 12, 20), dtype=np.float32))
    m = stimulus_input(str(movie), (80.0, 48.0))
    assert m["col_range"][-1] == 80.0 and len(m["row_range"]) == 12
    np.save(tmp_path / "flat.npy", np.zeros((50, 12)))
    with pytest.raises(ConfigError, match="frames, rows, cols"):
        stimulus_input(str(tmp_path / "flat.npy"), (80.0, 48.0))
    with pytest.raises(MissingFileError):
        stimulus_input(str(tmp_path / "absent.npy"), (80.0, 48.0))
    with pytest.raises(ConfigError, match="grating"):
        stimulus_input("checkerboard", (80.0, 48.0))
    assert recipe_preference(np.array([0.0, 30.0, 120.0])).tolist() == [90.0, 60.0, 150.0]


@pytest.mark.nest
def test_torchnet_reproduces_pointnet_spikes(built):
    """Every GLIF3 cell and static synapse of the model is one torchnet implements: its run
    gives pointnet's spikes, ids and times."""
    require_module("nest")
    require_module("torch")
    from bmtoolkit.models.v1.inputs import lgn_field
    from bmtoolkit.recipes.v1.pipeline import lgn_spikes, pointnet_config, stimulus_input
    from bmtoolkit.simulator import run
    from bmtoolkit.sonata import read_spikes

    out, circuit = built["out"], built["build"].circuit
    movie = stimulus_input("grating", lgn_field(FRACTION)[0], orientation=90.0)
    lgn = lgn_spikes(out, circuit, movie, tstop=200.0, seed=4, tag="torch", progress=False)
    cfg = pointnet_config(out, circuit, lgn, tstop=200.0, seed=4, tag="torch")
    runs = {
        b: read_spikes(run(cfg, backend=b, output_dir=out / b, progress=False).outputs["spikes"])
        .sort_values(["timestamp", "node_id"])
        .reset_index(drop=True)
        for b in ("pointnet", "torchnet")
    }
    nest, torch = runs["pointnet"], runs["torchnet"]
    assert len(torch) == len(nest) > 500
    np.testing.assert_array_equal(torch["node_id"].to_numpy(), nest["node_id"].to_numpy())
    np.testing.assert_allclose(torch["timestamp"], nest["timestamp"], atol=1e-6, rtol=0)


def test_torchnet_training_step_on_the_model(built):
    """A training step of every weight of the model over 20 ms: only the edges of sources
    that spiked get a gradient (the event-driven weight gradient), some do, and the step
    moves the weights without changing any sign (Dale's law)."""
    torch = require_module("torch")
    from bmtoolkit.models.v1.inputs import lgn_field
    from bmtoolkit.recipes.v1.pipeline import lgn_spikes, pointnet_config, stimulus_input
    from bmtoolkit.simulator.torchnet.inputs import inputs_from_plan
    from bmtoolkit.simulator.torchnet.io import build_network
    from bmtoolkit.simulator.torchnet.surrogate import SurrogateSpike
    from bmtoolkit.simulator.torchnet.training import Trainer

    out, circuit = built["out"], built["build"].circuit
    movie = stimulus_input("grating", lgn_field(FRACTION)[0], orientation=0.0)
    lgn = lgn_spikes(out, circuit, movie, tstop=20.0, seed=5, tag="train", progress=False)
    cfg = pointnet_config(out, circuit, lgn, tstop=20.0, seed=5, tag="train")
    net = build_network(cfg, surrogate=SurrogateSpike(), dtype=torch.float32)
    inputs, _ = inputs_from_plan(net.info.extra["plan"], net.info, dtype=torch.float32)
    (weight,) = net.set_trainable(["weights"])
    spikes = net(inputs)["spikes"]
    spikes.mean().backward()
    spiked = torch.cat([spikes.detach().sum((0, 1)), inputs.sum((0, 1))]) > 0
    from_silent = ~spiked[net.synapses.src.long()]
    assert from_silent.any() and (weight.grad[from_silent] == 0).all()
    assert (weight.grad[~from_silent] != 0).sum() > 1000

    def loss_fn(o, target, readout):
        return ((o["spikes"].mean((0, 1)) - target) ** 2).mean()

    before = weight.detach().clone()
    trainer = Trainer(net, loss_fn, groups=("weights",), lr=1.0)
    assert math.isfinite(trainer.step(inputs, torch.full((net.n,), 5e-4)))
    after = weight.detach()
    assert (after != before).sum() > 1000
    assert ((after * before) >= 0).all()
