"""pointnet features on a hand-written network: Allen GLIF cells, receptor ports, plastic
synapses with per-edge parameters, per-node overrides, recordables, thread settings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.models.allen_glif import allen_to_nest_glif
from bmtoolkit.simulator import PointNet
from bmtoolkit.sonata import (
    EdgePopulationData,
    NodePopulationData,
    read_frame_report,
    read_spikes,
    write_circuit_config,
    write_edges,
    write_nodes,
    write_simulation_config,
    write_spikes,
    write_types_csv,
)
from tests.conftest import require_module

ALLEN_GLIF3 = {
    "El_reference": -0.072,
    "El": 0.0,
    "C": 8.0e-11,
    "R_input": 2.5e8,
    "th_inf": 0.022,
    "spike_cut_length": 30,
    "dt": 5e-05,
    "asc_tau_array": [0.2, 0.02],
    "asc_amp_array": [-1.0e-11, -3.0e-11],
    "init_AScurrents": [0.0, 0.0],
    "coeffs": {"C": 1.0, "G": 1.0, "th_inf": 1.0, "asc_amp_array": [1.0, 1.0]},
    "threshold_dynamics_method": {"name": "inf", "params": {}},
    "voltage_reset_method": {"name": "zero", "params": {}},
    "AScurrent_dynamics_method": {"name": "exp", "params": {}},
    "AScurrent_reset_method": {"name": "sum", "params": {"r": [1.0, 1.0]}},
    "tau_syn": [2.0, 8.0],
}


@pytest.fixture
def feature_config(tmp_path):
    """glif (3 Allen GLIF3 cells, 2 receptor ports) and lif (2 iaf_psc_alpha, one with an
    H5 override of V_th), driven by 4 virtual nodes through static and tsodyks2 synapses."""
    net = tmp_path / "net"
    cells = tmp_path / "cells"
    syns = tmp_path / "syns"
    for d in (net, cells, syns):
        d.mkdir()
    (cells / "glif3_neuron_config.json").write_text(json.dumps(ALLEN_GLIF3))
    (cells / "lif.json").write_text(json.dumps({"V_th": -55.0, "tau_m": 15.0}))
    (syns / "port1.json").write_text(json.dumps({"receptor_type": 1}))
    (syns / "port2.json").write_text(json.dumps({"receptor_type": 2}))
    (syns / "depressing.json").write_text(json.dumps({"tau_rec": 400.0, "tau_fac": 0.0}))
    write_nodes(
        net / "cells_nodes.h5",
        [
            NodePopulationData.single_group(
                "cells",
                np.array([1, 1, 1, 2, 2]),
                dynamics_params={"V_th": np.array([np.nan] * 4 + [-60.0])},
            )
        ],
    )
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": [1, 2],
                "model_type": ["point_process", "point_process"],
                "model_template": ["nest:glif_psc", "nest:iaf_psc_alpha"],
                "dynamics_params": ["glif3_neuron_config.json", "lif.json"],
            }
        ),
        net / "cells_node_types.csv",
    )
    write_nodes(net / "inp_nodes.h5", [NodePopulationData.single_group("inp", np.full(4, 9))])
    write_types_csv(
        pd.DataFrame({"node_type_id": [9], "model_type": ["virtual"]}), net / "inp_node_types.csv"
    )
    # inp 0 -> glif 0, 1, 2 on port 1; inp 1 -> glif 0, 1, 2 on port 2;
    # inp 2, 3 -> lif 3, 4 through tsodyks2 with per-edge U
    src = np.array([0, 0, 0, 1, 1, 1, 2, 3])
    trg = np.array([0, 1, 2, 0, 1, 2, 3, 4])
    etype = np.array([10, 10, 10, 11, 11, 11, 12, 12])
    write_edges(
        net / "inp_cells_edges.h5",
        [
            EdgePopulationData.single_group(
                "inp_to_cells",
                "inp",
                "cells",
                src,
                trg,
                etype,
                attributes={
                    "nsyns": np.array([1, 2, 3, 1, 1, 1, 4, 4]),
                    "U": np.array([np.nan] * 6 + [0.2, 0.7]),
                },
            )
        ],
        n_source_nodes=4,
        n_target_nodes=5,
    )
    write_types_csv(
        pd.DataFrame(
            {
                "edge_type_id": [10, 11, 12],
                "syn_weight": [40.0, 15.0, 100.0],
                "delay": [1.0, 2.0, 1.5],
                "model_template": ["static_synapse", "static_synapse", "nest:tsodyks2_synapse"],
                "dynamics_params": ["port1.json", "port2.json", "depressing.json"],
            }
        ),
        net / "inp_cells_edge_types.csv",
    )
    t = np.arange(20.0, 400.0, 25.0)
    write_spikes(
        tmp_path / "inp_spikes.h5",
        {"inp": (np.repeat(np.arange(4), len(t)), np.tile(t, 4))},
    )
    write_circuit_config(
        tmp_path / "circuit_config.json",
        nodes=[
            {"nodes_file": net / f"{p}_nodes.h5", "node_types_file": net / f"{p}_node_types.csv"}
            for p in ("cells", "inp")
        ],
        edges=[
            {
                "edges_file": net / "inp_cells_edges.h5",
                "edge_types_file": net / "inp_cells_edge_types.csv",
            }
        ],
        components={"point_neuron_models_dir": cells, "synaptic_models_dir": syns},
    )
    cfg = tmp_path / "simulation_config.json"
    write_simulation_config(
        cfg,
        network=tmp_path / "circuit_config.json",
        run={"tstop": 400.0, "dt": 0.1, "random_seed": 1},
        output={"output_dir": tmp_path / "output", "spikes_sort_order": "by_id"},
        inputs={
            "inp": {
                "input_type": "spikes",
                "module": "sonata",
                "input_file": str(tmp_path / "inp_spikes.h5"),
                "node_set": "inp",
            },
            "drive": {
                "input_type": "current_clamp",
                "module": "IClamp",
                "node_set": {"population": "cells", "node_id": [0, 1, 2]},
                "amp": 150.0,
                "delay": 100.0,
                "duration": 200.0,
            },
        },
        reports={
            "glif_state": {
                "module": "multimeter_report",
                "cells": {"population": "cells", "node_id": [0, 2]},
                "variable_name": "V_m, ASCurrents_sum",
                "dt": 0.5,
                "start_time": 0.0,
                "end_time": 400.0,
                "file_name": "glif_state.h5",
            }
        },
    )
    return cfg


def test_glif_ports_plastic_synapses_and_reports(feature_config):
    nest = require_module("nest")
    backend = PointNet.from_config(feature_config, progress=False, threads=2)
    result = backend.run()
    assert nest.local_num_threads == 2
    cells = backend.populations["cells"]
    glif = nest.NodeCollection(cells.nest_ids[:3].tolist())
    expected = allen_to_nest_glif(ALLEN_GLIF3)
    status = glif.get(["C_m", "g", "V_th", "E_L", "t_ref", "tau_syn", "asc_amps", "asc_decay"])
    np.testing.assert_allclose(status["C_m"], [expected["C_m"]] * 3)
    np.testing.assert_allclose(status["V_th"], [expected["V_th"]] * 3)
    np.testing.assert_allclose(status["g"], [4.0] * 3)  # 1 / 2.5e8 ohm = 4 nS
    np.testing.assert_allclose(np.stack(status["tau_syn"]), [[2.0, 8.0]] * 3)
    np.testing.assert_allclose(np.stack(status["asc_amps"]), [[-10.0, -30.0]] * 3)
    lif = nest.NodeCollection(cells.nest_ids[3:].tolist()).get("V_th")
    assert list(lif) == [-55.0, -60.0]  # node-type JSON, then the per-node H5 override

    conns = nest.GetConnections(target=glif)
    c = pd.DataFrame(conns.get(["source", "target", "weight", "receptor", "delay"]))
    relayed = backend.populations["inp"]
    assert relayed.relay_ids is not None  # tsodyks2 cannot be driven by a spike_generator
    inp = relayed.source_ids
    port1 = c[c["source"] == inp[0]].sort_values("target")
    assert port1["receptor"].tolist() == [1, 1, 1]
    assert port1["weight"].tolist() == [40.0, 80.0, 120.0]  # syn_weight x nsyns
    port2 = c[c["source"] == inp[1]]
    assert port2["receptor"].tolist() == [2, 2, 2] and (port2["delay"] == 2.0).all()
    tso = pd.DataFrame(
        nest.GetConnections(synapse_model="tsodyks2_synapse").get(
            ["source", "U", "tau_rec", "weight"]
        )
    ).sort_values("source")
    assert tso["U"].tolist() == [0.2, 0.7]  # per-edge H5 column
    assert tso["tau_rec"].tolist() == [400.0, 400.0]  # edge-type JSON
    assert tso["weight"].tolist() == [400.0, 400.0]

    spikes = read_spikes(result.outputs["spikes"])
    assert spikes["node_id"].is_monotonic_increasing  # by_id
    assert {0, 1, 2} <= set(spikes["node_id"])
    v = read_frame_report(result.outputs["glif_state:V_m"])["cells"]
    asc = read_frame_report(result.outputs["glif_state:ASCurrents_sum"])["cells"]
    assert v.node_ids.tolist() == [0, 2] and v.data().shape == (800, 2)
    assert asc.units == "pA" and asc.data().min() < -5.0  # after-spike currents recorded
    assert asc.data()[:100].max() == 0.0  # none before the first spike


def test_unrecordable_variable_is_rejected(feature_config):
    require_module("nest")
    raw = json.loads(feature_config.read_text())
    raw["reports"]["glif_state"]["variable_name"] = "g_ex"
    feature_config.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="cannot record.*g_ex"):
        PointNet.from_config(feature_config, progress=False).run()


def test_weight_snapshots_of_plastic_synapses(feature_config):
    from bmtoolkit.sonata import read_types_csv

    nest = require_module("nest")
    root = feature_config.parent
    csv = root / "net" / "inp_cells_edge_types.csv"
    types = read_types_csv(csv)
    types.loc[types["edge_type_id"] == 12, "model_template"] = "stdp_synapse"
    types.loc[types["edge_type_id"] == 12, "dynamics_params"] = "stdp.json"
    write_types_csv(types, csv)
    (root / "syns" / "stdp.json").write_text(json.dumps({"Wmax": 1000.0, "lambda": 0.05}))
    raw = json.loads(feature_config.read_text())
    raw["inputs"]["drive"]["node_set"] = "cells"
    raw["inputs"]["drive"]["amp"] = 600.0
    raw["reports"] = {
        "weights": {"module": "weight_recorder", "cells": {"population": "cells",
                    "node_id": [3, 4]}, "dt": 50.0, "start_time": 0.0, "end_time": 400.0,
                    "file_name": "weights.h5", "synapse_model": "stdp_synapse"}
    }  # fmt: skip
    feature_config.write_text(json.dumps(raw))
    backend = PointNet.from_config(feature_config, progress=False)
    result = backend.run()
    rep = read_frame_report(result.outputs["weights"])["cells"]
    assert rep.node_ids.tolist() == [3, 4] and rep.element_ids.tolist() == [2, 3]
    w = rep.data()
    assert w.shape == (8, 2)  # one row every 50 ms
    np.testing.assert_allclose(w[0], [400.0, 400.0], rtol=0.05)  # before much plasticity
    final = nest.GetConnections(synapse_model="stdp_synapse").get("weight")
    np.testing.assert_allclose(w[-1], final, rtol=1e-6)  # the last row is the final state
    assert np.abs(np.diff(w, axis=0)).max() > 1.0  # the weights changed during the run
