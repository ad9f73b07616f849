"""The common run path (plan, inputs, reports, outputs) exercised with the numpy backend."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError, MissingFileError, UnknownModelError
from bmtoolkit.simulator import RunPlan, run
from bmtoolkit.simulator.core.runner import choose_backend
from bmtoolkit.sonata import read_frame_report, read_spikes, write_spikes

from .conftest import LIF


def _first_spike(amp_pa: float) -> float:
    """Analytic first threshold crossing of the LIF under a constant current (ms)."""
    r = LIF["tau_m"] / LIF["C_m"]  # GOhm -> mV per pA
    return -LIF["tau_m"] * np.log(1.0 - (LIF["V_th"] - LIF["E_L"]) / (r * amp_pa))


def test_plan_from_config_and_overrides(tiny_config, tmp_path):
    cfg = tiny_config()
    plan = RunPlan.from_config(cfg, threads=3, seed=11, output_dir=tmp_path / "elsewhere")
    assert (plan.tstart, plan.tstop, plan.dt, plan.n_steps) == (0.0, 100.0, 0.1, 1000)
    assert plan.threads == 3 and plan.seed == 11
    assert plan.spikes_file.parent == tmp_path / "elsewhere"
    assert plan.output_path("v.h5") == tmp_path / "elsewhere" / "v.h5"
    assert sorted(plan.resolve_node_set("v1")) == ["v1"]
    assert plan.resolve_node_set(None)["v1"].tolist() == [0, 1, 2, 3]
    assert plan.component_dir("point_neuron_models_dir").name == "models"
    with pytest.raises(ConfigError, match="synaptic_models_dir"):
        plan.component_dir("synaptic_models_dir")
    with pytest.raises(ConfigError, match="tstop"):
        plan.with_overrides(tstop=-1.0).check()


def test_clamps_spike_inputs_reports_and_outputs(tiny_config, tmp_path):
    table = tmp_path / "amps.csv"
    table.write_text("amp\n300.0\n0.0\n")  # one step after the other, each `duration` long
    spikes_csv = tmp_path / "inp_spikes.csv"
    write_spikes(spikes_csv, {"inp": (np.array([0, 1, 1]), np.array([10.0, 20.0, 30.0]))})
    cfg = tiny_config(
        inputs={
            "steps": {"input_type": "current_clamp", "module": "IClamp", "node_set": "v1",
                      "input_file": str(table), "delay": 5.0, "duration": 40.0},
            "spikes": {"input_type": "spikes", "module": "csv", "node_set": "inp",
                       "input_file": str(spikes_csv)},
        },
        reports={"v": {"module": "membrane_report", "cells": "v1", "variable_name": ["V_m"],
                       "dt": 0.5, "start_time": 0.0, "end_time": 100.0, "file_name": "v.h5"}},
    )  # fmt: skip
    result = run(cfg, backend="numpynet", progress=False)
    spikes = read_spikes(result.outputs["spikes"])
    v1 = spikes[spikes["population"] == "v1"]
    first = v1.groupby("node_id")["timestamp"].min()
    expected = 5.0 + _first_spike(300.0)
    assert abs(first[0] - expected) <= 0.1 + 1e-9  # within one step of the analytic time
    assert first[3] < first[0]  # the per-node H5 override lowers node 3's threshold
    assert v1["timestamp"].max() < 45.0 + LIF["t_ref"]  # the second step has amplitude 0
    assert (spikes["population"] == "v1").all()  # virtual nodes are not reported
    rep = read_frame_report(result.outputs["v"])["v1"]
    assert rep.data().shape == (200, 4)
    out = tmp_path / "output"
    assert {"log.txt", "run_config.json", "spikes.h5", "v.h5"} <= {p.name for p in out.iterdir()}
    log = (out / "log.txt").read_text()
    assert "simulate took" in log and "numpynet" in log
    doc = json.loads((out / "run_config.json").read_text())
    assert doc["backend"] == "numpynet" and doc["run"]["random_seed"] == 3
    assert set(doc["timings_s"]) >= {"setup", "simulate", "write_outputs", "total"}


def test_repeated_steps_and_poisson_with_seed(tiny_config):
    cfg = tiny_config(
        inputs={
            "pulses": {"input_type": "current_clamp", "module": "IClamp", "node_set": "v1",
                       "amp": 400.0, "delay": 10.0, "duration": 5.0, "repeat": 4,
                       "period": 20.0},
            "noise": {"input_type": "spikes", "module": "poisson", "node_set": "inp",
                      "rate": 200.0, "seed": 9},
        },
    )  # fmt: skip
    plan = RunPlan.from_config(cfg)
    clamp, noise = plan.inputs()
    assert [s[:2] for s in clamp.steps()] == [(10.0, 15.0), (30.0, 35.0), (50.0, 55.0),
                                              (70.0, 75.0)]  # fmt: skip
    again = plan.inputs()[1]
    assert noise.spikes.equals(again.spikes)  # explicit seed: same trains
    assert set(noise.spikes["population"]) == {"inp"} and len(noise.spikes) > 20
    result = run(plan.with_overrides(backend="numpynet", progress=False))
    spikes = read_spikes(result.outputs["spikes"])
    clamped_only = spikes[spikes["node_id"].isin([0, 3])]["timestamp"].to_numpy()
    in_pulse = np.zeros(len(clamped_only), dtype=bool)
    for start, stop, _ in clamp.steps():
        in_pulse |= (clamped_only > start) & (clamped_only <= stop + 0.1)
    assert len(clamped_only) >= 4 and in_pulse.all()
    driven = spikes[spikes["node_id"].isin([1, 2])]["timestamp"].to_numpy()
    assert (driven < 10.0).any()  # nodes 1 and 2 also fire from the Poisson input


def test_backend_choice(tiny_config):
    assert choose_backend(RunPlan.from_config(tiny_config(target_simulator="NEST"))) == "pointnet"


def test_backend_choice_from_templates(tiny_config):
    # no target_simulator: the nest: templates decide
    assert choose_backend(RunPlan.from_config(tiny_config())) == "pointnet"


def test_output_dir_not_overwritten_when_asked(tiny_config, tmp_path):
    out = tmp_path / "kept"
    out.mkdir()
    (out / "old.txt").write_text("x")
    cfg = tiny_config(output={"output_dir": out, "overwrite_output_dir": False})
    with pytest.raises(ConfigError, match="not empty"):
        run(cfg, backend="numpynet", progress=False)
    assert (out / "old.txt").exists()


def test_bad_inputs_are_clear(tiny_config, tmp_path):
    cfg = tiny_config(
        inputs={"gone": {"input_type": "spikes", "module": "sonata", "node_set": "inp",
                         "input_file": str(tmp_path / "gone.h5")}}
    )  # fmt: skip
    with pytest.raises(MissingFileError, match="gone.h5"):
        run(cfg, backend="numpynet", progress=False)


def test_unknown_input_module_lists_known(tmp_path):
    from tests.simulator.core.conftest import write_tiny_config

    cfg = write_tiny_config(
        tmp_path,
        inputs={"x": {"input_type": "telepathy", "module": "mind", "node_set": "v1"}},
    )
    with pytest.raises(UnknownModelError, match="known: .*IClamp.*poisson"):
        RunPlan.from_config(cfg).inputs()


def test_inhomogeneous_poisson_from_a_rates_file(tiny_config, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("time rate\n0 0\n50 0\n50.1 400\n100 400\n")
    cfg = tiny_config(
        inputs={"ramp": {"input_type": "spikes", "module": "inhomogeneous_poisson",
                         "node_set": "inp", "rates_file": str(rates), "seed": 4}}
    )  # fmt: skip
    (item,) = RunPlan.from_config(cfg).inputs()
    t = item.spikes["timestamp"].to_numpy()
    assert len(t) > 20 and t.min() >= 50.0  # no spikes while the rate is 0


def test_pointnet_without_nest_says_how_to_get_it(tiny_config, monkeypatch):
    import sys

    from bmtoolkit.exceptions import BackendNotAvailableError
    from bmtoolkit.simulator.pointnet.backend import PointNet

    monkeypatch.setitem(sys.modules, "nest", None)  # makes `import nest` fail
    backend = PointNet.from_config(tiny_config(), progress=False)
    with pytest.raises(BackendNotAvailableError, match="pip install nest-simulator"):
        backend.setup()


def test_threads_from_the_config_and_cli_override(tiny_config):
    cfg = tiny_config(run={"tstop": 10.0, "dt": 0.1, "nthreads": 3})
    assert RunPlan.from_config(cfg).threads == 3
    assert RunPlan.from_config(cfg, threads=1).threads == 1
