"""``weight_recorder`` reports: BMTK's event recorder unless the config asks for snapshots."""

from __future__ import annotations

import json

import pytest

from bmtoolkit.exceptions import ConfigError


def _plan(tmp_path, report):
    from bmtoolkit.simulator.core.plan import RunPlan

    cfg = {
        "run": {"tstop": 100.0, "dt": 0.01},
        "output": {"output_dir": str(tmp_path / "out")},
        "networks": {"nodes": [], "edges": []},
        "reports": {"w": report},
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return RunPlan.from_config(path)


def _report(tmp_path, report):
    from bmtoolkit.simulator.core.reports import load_report
    from bmtoolkit.sonata import load_simulation_config

    plan = _plan(tmp_path, report)
    cfg = load_simulation_config(tmp_path / "config.json").reports["w"]
    return load_report(cfg, plan)


def test_bmtk_weight_recorder_records_events_not_steps(tmp_path):
    rep = _report(tmp_path, {"module": "weight_recorder", "nest_model": "stdp_synapse",
                             "model_template": "stdp_synapse_recorder",
                             "file_name": "stdp_weights.csv"})  # fmt: skip
    assert rep.events and rep.nest_model == "stdp_synapse"
    assert rep.synapse_model == "stdp_synapse_recorder" and rep.file_name.name == "stdp_weights.csv"


def test_no_file_name_defaults_to_a_csv_table(tmp_path):
    rep = _report(tmp_path, {"module": "weight_recorder", "synapse_model": "stdp_synapse"})
    assert rep.events and rep.file_name.name == "w.csv"


def test_dt_asks_for_sampled_snapshots(tmp_path):
    rep = _report(tmp_path, {"module": "weight_recorder", "synapse_model": "stdp_synapse",
                             "dt": 5.0, "file_name": "w.h5"})  # fmt: skip
    assert not rep.events and rep.dt == 5.0


def test_events_into_an_h5_name_is_refused_with_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"reports\.w\.file_name.*must end with \.csv"):
        _report(tmp_path, {"module": "weight_recorder", "synapse_model": "stdp_synapse",
                           "file_name": "w.h5"})  # fmt: skip
