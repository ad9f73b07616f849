"""Weight functions as BMTK calls them: built-in names, edge-type columns, both conventions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.simulator.core.registries import (
    WEIGHT_FUNCTIONS,
    add_weight_function,
    get_weight_function,
    synaptic_weight,
)
from tests.conftest import conformance_root, require_module


def _example(name: str):
    root = conformance_root() / "bmtk_examples" / name
    if not root.is_dir():
        pytest.skip(f"BMTK example {name} not found at {root}; set BMTOOLKIT_CONFORMANCE")
    return root


def _v1_table(config):
    from bmtoolkit.simulator.core.models import edge_table
    from bmtoolkit.simulator.core.plan import RunPlan

    plan = RunPlan.from_config(config)
    edges = plan.circuit.edges["v1_to_v1"]
    return plan, edges, edge_table(plan, edges, extra=("nsyns",))


def test_gaussianLL_on_the_released_14_cell_network_matches_bmtk_per_edge():
    """bio_14cells' v1_v1 edge types name gaussianLL with a weight_sigma column: every edge's
    weight is BMTK's own gaussianLL (called per edge, one synapse) times nsyns."""
    require_module("bmtk")
    from bmtk.simulator.bionet.default_setters.synaptic_weights import gaussianLL

    root = _example("bio_14cells")
    plan, edges, table = _v1_table(root / "config.simulation.json")
    nodes = plan.circuit.nodes["v1"]
    types = edges.types
    etypes = np.asarray(edges.edge_type_ids())
    angle = np.asarray(nodes.column("tuning_angle"), dtype=float)
    src, trg = np.asarray(edges.source_node_ids()), np.asarray(edges.target_node_ids())
    nsyns = np.asarray(table.properties["nsyns"], dtype=float)
    n_gauss = 0
    for i, et in enumerate(etypes):
        row = types.loc[int(et)]
        if row["weight_function"] != "gaussianLL":
            continue
        n_gauss += 1
        edge = {"syn_weight": row["syn_weight"], "weight_sigma": row["weight_sigma"]}
        peer = gaussianLL(edge, {"tuning_angle": angle[src[i]]}, {"tuning_angle": angle[trg[i]]})
        assert table.weights[i] == pytest.approx(peer * nsyns[i], rel=1e-12)
    assert n_gauss > 50  # the file really exercises the function
    assert len(np.unique(np.round(table.weights, 12))) > 20  # weights vary with tuning


def _v1_direction_ee(e, s, t):
    """The V1 model's DirectionRule_EE for one edge, written out with math (the reference)."""
    d = abs(abs((abs(t["tuning_angle"] - s["tuning_angle"]) % 360.0) - 180.0) - 180.0)
    mult = math.exp(-((d / e["weight_sigma"]) ** 2))
    dx, dz = (t["x"] - s["x"]) * 0.07, (t["z"] - s["z"]) * 0.04
    th = t["tuning_angle"] * math.pi / 180.0
    xz = dx * math.cos(th) + dz * math.sin(th)
    tilt = abs(abs(abs(180.0 - (abs(t["tuning_angle"]) % 360.0)) - 90.0) - 90.0)
    phase = math.exp(-(xz**2) / 2.0) * (5.5 / 4.0 - 11.0 / 1680.0 * tilt)
    return e["syn_weight"] * mult * phase * e["nsyns"]


def _frames(rng, n):
    edges = pd.DataFrame(
        {"syn_weight": rng.uniform(0.1, 2, n), "nsyns": rng.integers(1, 5, n),
         "weight_sigma": rng.uniform(20, 60, n)}
    )  # fmt: skip
    src = pd.DataFrame({k: rng.uniform(-200, 400, n) for k in ("tuning_angle", "x", "z")})
    trg = pd.DataFrame({k: rng.uniform(-200, 400, n) for k in ("tuning_angle", "x", "z")})
    return edges, src, trg


def test_v1_direction_rules_are_built_in():
    rng = np.random.default_rng(4)
    edges, src, trg = _frames(rng, 50)
    ours = get_weight_function("DirectionRule_EE")(edges, src, trg)
    ref = [_v1_direction_ee(edges.iloc[i], src.iloc[i], trg.iloc[i]) for i in range(50)]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    others = get_weight_function("DirectionRule_others")(edges, src, trg)
    d = np.abs(np.abs(np.mod(np.abs(trg.tuning_angle - src.tuning_angle), 360) - 180) - 180)
    expect = edges.syn_weight * np.exp(-((d / edges.weight_sigma) ** 2)) * edges.nsyns
    np.testing.assert_allclose(others, expect, rtol=1e-12)
    assert {"wmax", "gaussianLL", "ConstantMultiplier_LGN"} <= set(WEIGHT_FUNCTIONS.names())


def _rotated_network(tmp_path):
    """A point network whose recurrent edge type names ``rotated`` and carries a CSV-only
    ``weight_sigma``; nodes have ``tuning_angle``."""
    from bmtoolkit.builder import NetworkBuilder

    net = NetworkBuilder("v1")
    net.add_nodes(N=6, model_type="point_process", model_template="nest:iaf_psc_alpha",
                  tuning_angle=np.linspace(0.0, 150.0, 6), dynamics_params="p.json")  # fmt: skip
    net.add_edges(source={"node_id": [0, 1, 2]}, target={"node_id": [3, 4, 5]},
                  connection_rule=2, syn_weight=1.5, weight_sigma=30.0, delay=1.0,
                  weight_function="rotated", model_template="static_synapse",
                  dynamics_params="s.json")  # fmt: skip
    net.build()
    net.save(output_dir=str(tmp_path))
    return tmp_path


def _plan(tmp_path):
    import json

    cfg = {
        "manifest": {"$NET": str(tmp_path)},
        "run": {"tstop": 10.0, "dt": 0.1},
        "output": {"output_dir": str(tmp_path / "out")},
        "components": {},
        "networks": {
            "nodes": [{"nodes_file": "$NET/v1_nodes.h5", "node_types_file": "$NET/v1_node_types.csv"}],
            "edges": [{"edges_file": "$NET/v1_v1_edges.h5", "edge_types_file": "$NET/v1_v1_edge_types.csv"}],
        },
    }  # fmt: skip
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    from bmtoolkit.simulator.core.plan import RunPlan

    return RunPlan.from_config(path)


@pytest.mark.parametrize("style", ["vectorized_values", "per_edge"])
def test_user_functions_get_series_and_edge_type_columns(tmp_path, style):
    """A BMTK-style vectorized function calling ``.values`` and a bionet-style per-edge
    function see the same columns (``weight_sigma`` from the CSV, node ``tuning_angle``)."""
    from bmtoolkit.simulator.core.models import edge_table

    plan = _plan(_rotated_network(tmp_path))
    seen = {}
    if style == "vectorized_values":

        @synaptic_weight(name="rotated")
        def rotated(edges, src_nodes, trg_nodes):
            d = trg_nodes["tuning_angle"].values - src_nodes["tuning_angle"].values
            seen["cols"] = set(edges.columns)
            return (
                edges["syn_weight"].values
                * edges["nsyns"].values
                * np.cos(np.deg2rad(d) / edges["weight_sigma"].values)
            )
    else:

        def rotated(edge_props, src_node, trg_node):  # one synapse's weight
            seen["cols"] = set(edge_props)
            assert isinstance(src_node["tuning_angle"], float) and trg_node.node_id >= 3
            d = trg_node["tuning_angle"] - src_node["tuning_angle"]
            return edge_props["syn_weight"] * math.cos(math.radians(d) / edge_props["weight_sigma"])

        add_weight_function(rotated)
        assert WEIGHT_FUNCTIONS.get("rotated").per_edge
    try:
        table = edge_table(plan, plan.circuit.edges["v1_to_v1"], default_delay=1.0)
    finally:
        WEIGHT_FUNCTIONS.unregister("rotated")
    assert {"weight_sigma", "syn_weight", "nsyns", "source_node_id", "target_node_id",
            "edge_type_id", "delay"} <= seen["cols"]  # fmt: skip
    angle = np.linspace(0.0, 150.0, 6)
    d = angle[table.target_ids] - angle[table.source_ids]
    expect = 1.5 * 2 * np.cos(np.deg2rad(d) / 30.0)
    np.testing.assert_allclose(table.weights, expect, rtol=1e-12)


def test_overwrite_false_keeps_the_first_registration():
    add_weight_function(lambda edges, s, t: np.ones(len(edges)), "kept_fn")
    first = WEIGHT_FUNCTIONS.get("kept_fn")
    try:
        add_weight_function(lambda edges, s, t: np.zeros(len(edges)), "kept_fn", overwrite=False)
        assert WEIGHT_FUNCTIONS.get("kept_fn") is first
        add_weight_function(lambda edge, s, t: 2.0, "kept_fn", per_edge=True)
        assert WEIGHT_FUNCTIONS.get("kept_fn").per_edge
    finally:
        WEIGHT_FUNCTIONS.unregister("kept_fn")


@pytest.mark.parametrize(("backend", "per_edge"), [("bionet", True), ("pointnet", False)])
def test_backend_pyfunction_cache_modules_register_for_their_backend(backend, per_edge):
    """BMTK's ``<backend>.pyfunction_cache`` names: the same on the package, bound to the
    backend, with its convention for weight functions whose parameters say nothing."""
    import importlib

    from bmtoolkit.simulator.core.pyfunctions import NAMES, find_synapse_model, unregister

    cache = importlib.import_module(f"bmtoolkit.simulator.{backend}.pyfunction_cache")
    package = importlib.import_module(f"bmtoolkit.simulator.{backend}")
    assert cache.__all__ == list(NAMES) and set(NAMES) <= set(dir(package))
    for name in NAMES:
        assert getattr(package, name) == getattr(cache, name)
    try:

        @cache.synaptic_weight
        def cache_test_weight(a, b, c):
            return 1.0

        @package.synapse_model(name="cache_test_syn")
        def syn(syn_params, sec_x, section):
            return None

        assert getattr(WEIGHT_FUNCTIONS.get("cache_test_weight"), "per_edge", False) is per_edge
        assert find_synapse_model(backend, "cache_test_syn") is syn.__wrapped__
        other = "pointnet" if backend == "bionet" else "bionet"
        assert find_synapse_model(other, "cache_test_syn") is None
    finally:
        unregister("cache_test_weight")
        unregister("cache_test_syn")
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        cache.nothing  # noqa: B018
