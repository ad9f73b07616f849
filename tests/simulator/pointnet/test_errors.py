"""Bad input gives errors that name the node type / edge type and the file."""

from __future__ import annotations

import json
import shutil

import pytest

from bmtoolkit.exceptions import ConfigError, MissingFileError, UnknownModelError
from bmtoolkit.simulator import run, synaptic_weight
from bmtoolkit.simulator.core.registries import WEIGHT_FUNCTIONS
from bmtoolkit.sonata import read_types_csv, write_types_csv
from tests.conftest import require_module


@pytest.fixture
def network_copy(point_network, tmp_path):
    require_module("nest")
    src = point_network("bmtoolkit").parent
    dst = tmp_path / "net"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("output"))
    return dst


def _edit_csv(path, column, value, row=0):
    df = read_types_csv(path)
    df.loc[df.index[row], column] = value
    write_types_csv(df, path)
    return df.iloc[row]


def _run(root):
    return run(root / "simulation_config.json", output_dir=root / "out", progress=False)


def test_unknown_nest_model(network_copy):
    csv = network_copy / "network" / "v1_node_types.csv"
    row = _edit_csv(csv, "model_template", "nest:iaf_psc_alfa")
    with pytest.raises(UnknownModelError) as info:
        _run(network_copy)
    msg = str(info.value)
    assert f"node type {row['node_type_id']}" in msg and "iaf_psc_alfa" in msg
    assert "v1_node_types.csv" in msg and "iaf_psc_alpha" in msg  # suggestion


def test_parameter_not_accepted_by_model(network_copy):
    params = network_copy / "components" / "cell_models" / "inh.json"
    params.write_text(json.dumps({"tau_mem": 10.0, "V_th": -50.0}))
    with pytest.raises(ConfigError) as info:
        _run(network_copy)
    msg = str(info.value)
    assert "tau_mem" in msg and "inh.json" in msg and "node type" in msg and "tau_m" in msg


def test_missing_dynamics_file(network_copy):
    (network_copy / "components" / "cell_models" / "exc.json").unlink()
    with pytest.raises(MissingFileError) as info:
        _run(network_copy)
    msg = str(info.value)
    assert "exc.json" in msg and "node type" in msg and "v1_node_types.csv" in msg


def test_unregistered_weight_function_then_registered(network_copy):
    csv = network_copy / "network" / "lgn_v1_edge_types.csv"
    row = _edit_csv(csv, "weight_function", "half_weight")
    with pytest.raises(UnknownModelError) as info:
        _run(network_copy)
    msg = str(info.value)
    assert f"edge type {row['edge_type_id']}" in msg and "half_weight" in msg
    assert "lgn_v1_edge_types.csv" in msg

    calls = []

    @synaptic_weight
    def half_weight(edges, source, target):
        calls.append(len(edges))
        return 0.5 * edges["syn_weight"].to_numpy() * edges["nsyns"].to_numpy()

    try:
        result = _run(network_copy)
    finally:
        WEIGHT_FUNCTIONS.unregister("half_weight")
    assert len(calls) == 1 and calls[0] > 100  # called once per edge type, vectorized
    assert result.extra["n_connections"] > 0


def test_unknown_synapse_model(network_copy):
    csv = network_copy / "network" / "v1_v1_edge_types.csv"
    row = _edit_csv(csv, "model_template", "static_synaps")
    with pytest.raises(UnknownModelError) as info:
        _run(network_copy)
    msg = str(info.value)
    assert f"edge type {row['edge_type_id']}" in msg and "static_synapse" in msg
