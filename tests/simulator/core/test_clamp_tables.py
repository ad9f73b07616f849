"""BMTK's CSV current clamp (``timestamps amps``) and list-valued clamps in a config."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError


def _inputs(tmp_path, clamp):
    from bmtoolkit.simulator.core.plan import RunPlan

    cfg = {
        "run": {"tstop": 3000.0, "dt": 0.1},
        "output": {"output_dir": str(tmp_path / "out")},
        "networks": {"nodes": [], "edges": []},
        "inputs": {"c": clamp},
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return RunPlan.from_config(path).inputs()


@pytest.mark.parametrize("input_type", ["csv", "current_clamp"])
def test_csv_timestamps_table_holds_each_amplitude_until_the_next(tmp_path, input_type):
    """BMTK's table, named by ``input_type: csv`` or found by its ``timestamps`` column."""
    (tmp_path / "amps.csv").write_text("timestamps amps\n800.0 0.15\n1300.0 0.0\n1800.0 0.175\n")
    (clamp,) = _inputs(tmp_path, {"input_type": input_type, "module": "IClamp",
                                  "node_set": "all", "file": str(tmp_path / "amps.csv")})  # fmt: skip
    # non-zero steps only; a last non-zero row lasts one interval (docs/config_reference.md)
    assert clamp.steps() == [(800.0, 1300.0, 0.15), (1800.0, 2300.0, 0.175)]
    t, a = clamp.waveform()
    at_1000 = a[np.searchsorted(t, 1000.0, side="right") - 1]
    assert at_1000 == pytest.approx(0.15) and a.max() == pytest.approx(0.175)


def test_csv_columns_can_be_renamed_and_must_exist(tmp_path):
    (tmp_path / "amps.csv").write_text("t i\n10.0 1.0\n20.0 0.0\n")
    clamp = {"input_type": "csv", "module": "IClamp", "node_set": "all",
             "file": str(tmp_path / "amps.csv"), "timestamps_column": "t"}  # fmt: skip
    with pytest.raises(ConfigError, match="no column 'amps'"):
        _inputs(tmp_path, clamp)
    (step,) = _inputs(tmp_path, {**clamp, "amplitudes_column": "i"})
    assert step.steps()[0] == (10.0, 20.0, 1.0)


def test_lists_of_amplitudes_delays_and_durations_pass_the_schema(tmp_path):
    (clamp,) = _inputs(tmp_path, {"input_type": "current_clamp", "module": "IClamp",
                                  "node_set": "all", "amp": [0.15, 0.2],
                                  "delay": [500.0, 1500.0], "duration": [500.0, 500.0]})  # fmt: skip
    assert clamp.steps() == [(500.0, 1000.0, 0.15), (1500.0, 2000.0, 0.2)]
