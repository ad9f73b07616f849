"""Misspelled and unsupported config keys, and node sets that select nothing, are reported."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmtoolkit.builder import NetworkBuilder
from bmtoolkit.exceptions import BmtkWarning
from bmtoolkit.sonata import load_config, validate_config
from bmtoolkit.sonata.config_keys import key_problems


def _write(path, doc):
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def tiny_network(tmp_path):
    """A virtual population ``LGN`` driving 3 point cells of population ``V1``; a config."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "lif.json").write_text(json.dumps({"tau_m": 10.0, "V_th": -55.0, "E_L": -70.0}))
    (models / "static.json").write_text("{}")
    v1 = NetworkBuilder("V1")
    v1.add_nodes(N=3, model_type="point_neuron", model_template="nest:iaf_psc_delta",
                 dynamics_params="lif.json")  # fmt: skip
    v1.build()
    v1.save(output_dir=str(tmp_path / "network"))
    lgn = NetworkBuilder("LGN")
    lgn.add_nodes(N=2, model_type="virtual")
    lgn.add_edges(source=lgn.nodes(), target=v1.nodes(), connection_rule=1, syn_weight=20.0,
                  delay=1.0, model_template="static_synapse", dynamics_params="static.json")  # fmt: skip
    lgn.build()
    lgn.save(output_dir=str(tmp_path / "network"))
    from bmtoolkit.sonata import write_spikes

    write_spikes(tmp_path / "lgn.h5", {"LGN": (np.array([0, 1]), np.array([5.0, 6.0]))})
    net = tmp_path / "network"

    def config(**changes):
        doc = {
            "run": {"tstop": 20.0, "dt": 0.1},
            "target_simulator": "NEST",
            "components": {"point_neuron_models_dir": str(models),
                           "synaptic_models_dir": str(models)},
            "networks": {
                "nodes": [{"nodes_file": str(net / f"{p}_nodes.h5"),
                           "node_types_file": str(net / f"{p}_node_types.csv")}
                          for p in ("V1", "LGN")],
                "edges": [{"edges_file": str(net / "LGN_V1_edges.h5"),
                           "edge_types_file": str(net / "LGN_V1_edge_types.csv")}],
            },
            "inputs": {"lgn": {"input_type": "spikes", "module": "sonata",
                               "input_file": str(tmp_path / "lgn.h5"), "node_set": "LGN"}},
            "output": {"output_dir": str(tmp_path / "output"), "spikes_file": "spikes.h5"},
        }  # fmt: skip
        for section, values in changes.items():
            doc[section] = {**doc.get(section, {}), **values}
        return _write(tmp_path / "config.json", doc)

    return config


def test_misspelled_key_warns_with_the_file_and_a_suggestion(tiny_network):
    path = tiny_network(run={"spike_treshold": -15.0})
    with pytest.warns(BmtkWarning) as record:
        load_config(path)
    (message,) = [str(w.message) for w in record]
    assert str(path) in message and "run.spike_treshold" in message
    assert "did you mean 'spike_threshold'?" in message


def test_unsupported_bmtk_keys_say_so(tiny_network):
    # run.n_thread is BMTK's thread count and is honoured; the NWB spikes output is not
    path = tiny_network(output={"spikes_file_nwb": "spikes.nwb"}, run={"n_thread": 2})
    with pytest.warns(BmtkWarning) as record:
        load_config(path)
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 1
    assert "output.spikes_file_nwb" in messages[0] and "not supported" in messages[0]
    problems = validate_config(path, include_warnings=True)
    found = {(p.location, p.severity, p.kind) for p in problems}
    assert ("output.spikes_file_nwb", "warning", "config_key") in found
    assert not any(loc == "run.n_thread" for loc, _, _ in found)
    assert validate_config(path) == []  # warnings never fail validation


def test_known_keys_are_quiet():
    doc = {
        "manifest": {"$BASE": "."},
        "run": {"tstop": 1.0, "dt": 0.1, "dL": 20.0, "spike_threshold": -15.0,
                "nsteps_block": 5000, "block_run": False, "block_size": 1000.0},
        "output": {"output_dir": "out", "spikes_file": "s.h5", "spikes_file_csv": "s.csv",
                   "quiet_simulator": True, "overwrite_output_dir": True, "log_file": "log.txt"},
        "conditions": {"celsius": 34.0, "v_init": -80.0},
        "inputs": {"c": {"input_type": "current_clamp", "module": "IClamp", "node_set": "all",
                         "amp": 0.1, "delay": 1.0, "duration": 1.0}},
        "reports": {"v": {"cells": "all", "variable_name": "v", "module": "membrane_report",
                          "sections": "soma", "enabled": True}},
        "components": {"my_own_models_dir": "models"},
    }  # fmt: skip
    assert key_problems(doc) == []
    doc["inputs"]["c"]["node_sett"] = "all"
    ((location, message),) = key_problems(doc)
    assert location == "inputs.c.node_sett" and "did you mean 'node_set'?" in message


def test_input_node_set_with_the_wrong_case_warns_at_validate_and_run(tiny_network):
    pytest.importorskip("nest", reason="nest is not installed")
    from bmtoolkit.simulator import run
    from bmtoolkit.sonata import read_spikes

    good = tiny_network()
    result = run(good, progress=False)
    assert len(read_spikes(result.outputs["spikes"])) > 0
    path = tiny_network(inputs={"lgn": {"input_type": "spikes", "module": "sonata",
                                        "input_file": str(good.parent / "lgn.h5"),
                                        "node_set": {"population": "lgn"}}})  # fmt: skip
    (problem,) = validate_config(path, include_warnings=True)
    assert (problem.location, problem.severity) == ("inputs.lgn.node_set", "warning")
    assert "no population 'lgn'; did you mean 'LGN'?" in problem.message
    with pytest.warns(BmtkWarning, match="did you mean 'LGN'"):
        run(path, progress=False)


def test_spikes_file_csv_is_written(tiny_network):
    pytest.importorskip("nest", reason="nest is not installed")
    from bmtoolkit.simulator import run
    from bmtoolkit.sonata import read_spikes

    result = run(tiny_network(output={"spikes_file_csv": "spikes.csv"}), progress=False)
    h5 = read_spikes(result.outputs["spikes"])
    csv = read_spikes(result.outputs["spikes_csv"])
    assert result.outputs["spikes_csv"].endswith("output/spikes.csv") and len(h5) > 0
    assert csv["node_id"].tolist() == h5["node_id"].tolist()
    assert np.allclose(csv["timestamp"], h5["timestamp"])
