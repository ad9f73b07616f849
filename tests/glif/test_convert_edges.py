"""Edges of a converted network: conductance weights -> currents at the fitted rest."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.convert import conductance_to_current_weight
from bmtoolkit.glif.convert_edges import check_edges, write_point_edges
from bmtoolkit.sonata import (
    EdgePopulationData,
    GroupData,
    load_circuit_config,
    read_edges,
    read_types_csv,
    write_circuit_config,
    write_edges,
)


def _circuit(tmp_path, weight_function=None):
    syn = tmp_path / "syn"
    syn.mkdir()
    (syn / "AMPA.json").write_text(json.dumps({"level_of_detail": "exp2syn", "erev": 0.0}))
    (syn / "GABA.json").write_text(json.dumps({"level_of_detail": "exp2syn", "erev": -75.0}))
    types = tmp_path / "edge_types.csv"
    rows = ["edge_type_id model_template dynamics_params delay" +
            (" weight_function" if weight_function else ""),
            "300 exp2syn AMPA.json 2.0" + (f" {weight_function}" if weight_function else ""),
            "301 exp2syn GABA.json 2.0" + (f" {weight_function}" if weight_function else "")]  # fmt: skip
    types.write_text("\n".join(rows) + "\n")
    h5 = tmp_path / "in_to_bio.h5"
    write_edges(h5, [EdgePopulationData(
        "in_to_bio", "input", "bio", np.array([0, 1, 2, 0]), np.array([0, 1, 1, 1]),
        np.array([300, 300, 301, 300]),
        {0: GroupData({"syn_weight": np.array([1e-3, 2e-3, 4e-3, 1e-3]),
                       "nsyns": np.array([2, 3, 1, 1]),
                       "delay": np.array([1.5, 2.0, 2.5, 3.0])})})])  # fmt: skip
    cfg = tmp_path / "circuit_config.json"
    write_circuit_config(cfg, nodes=(), edges=[{"edges_file": h5, "edge_types_file": types}],
                         components={"synaptic_models_dir": syn})  # fmt: skip
    return load_circuit_config(cfg, validate=False)


def test_weights_are_peak_currents_at_the_fitted_rest(tmp_path):
    circuit = _circuit(tmp_path)
    check_edges(circuit)
    el = {"bio": np.array([-70.0, -65.0])}
    net = tmp_path / "point"
    net.mkdir()
    specs = write_point_edges(circuit, net, tmp_path / "point_syn", el)
    (spec,) = specs
    pop = read_edges(spec["edges_file"], spec["edge_types_file"])["in_to_bio"]
    order = np.lexsort((pop.source_node_ids(), pop.target_node_ids()))
    src, tgt = pop.source_node_ids()[order], pop.target_node_ids()[order]
    w = np.asarray(pop.column("syn_weight"))[order] * np.asarray(pop.column("nsyns"))[order]
    expected = {(0, 0): conductance_to_current_weight(1e-3, nsyns=2, e_rev=0.0, el=-70.0),
                (1, 1): conductance_to_current_weight(2e-3, nsyns=3, e_rev=0.0, el=-65.0),
                (2, 1): conductance_to_current_weight(4e-3, nsyns=1, e_rev=-75.0, el=-65.0),
                (0, 1): conductance_to_current_weight(1e-3, nsyns=1, e_rev=0.0, el=-65.0)}  # fmt: skip
    got = {(int(s), int(t)): float(x) for s, t, x in zip(src, tgt, w, strict=True)}
    assert got == pytest.approx(expected)
    assert got[(2, 1)] == pytest.approx(-40.0)  # inhibitory: negative current
    delays = dict(zip(zip(src.tolist(), tgt.tolist()), np.asarray(pop.column("delay"))[order],
                      strict=True))  # fmt: skip
    assert delays == {(0, 0): 1.5, (1, 1): 2.0, (2, 1): 2.5, (0, 1): 3.0}
    table = read_types_csv(spec["edge_types_file"])
    assert set(table["model_template"]) == {"static_synapse"}
    (name,) = set(table["dynamics_params"])
    assert json.loads((tmp_path / "point_syn" / name).read_text()) == {"receptor_type": 1}


def test_edges_onto_cells_that_are_not_converted_are_refused(tmp_path):
    circuit = _circuit(tmp_path)
    with pytest.raises(ConfigError, match="not converted"):
        write_point_edges(circuit, tmp_path, tmp_path / "s", {"bio": np.array([-70.0, np.nan])})


def test_weight_functions_are_refused_before_writing(tmp_path):
    with pytest.raises(ConfigError, match="weight_function"):
        check_edges(_circuit(tmp_path, weight_function="wmax"))
