"""Voltage clamps and multi-compartment reports on the bionet backend."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron, pytest.mark.conformance]


def test_voltage_clamp_and_all_section_report(sonata_examples, tmp_path):
    require_module("neuron")
    from bmtoolkit.simulator.core.runner import run
    from bmtoolkit.sonata import read_frame_report

    case = sonata_examples / "5_cells_iclamp"
    doc = json.loads((case / "simulation_config.json").read_text())
    doc["manifest"]["$BASE_DIR"] = str(case)
    doc["run"]["tstop"] = 20.0
    doc["inputs"] = {
        "vclamp": {
            "input_type": "voltage_clamp",
            "module": "SEClamp",
            "node_set": "biophys_cells",
            "amps": [-70.0, -50.0],
            "durations": [10.0, 10.0],
            "rs": 0.001,
        }
    }
    doc["reports"] = {
        "v_all": {
            "cells": "biophys_cells",
            "variable_name": "v",
            "module": "membrane_report",
            "sections": "all",
        },
        "v_window": {
            "cells": "biophys_cells",
            "variable_name": "v",
            "module": "membrane_report",
            "sections": "soma",
            "start_time": 5.0,
            "end_time": 15.0,
            "dt": 0.5,
        },
        "ina_soma": {
            "cells": "biophys_cells",
            "variable_name": "ina",
            "module": "membrane_report",
            "sections": "soma",
        },
    }
    config = tmp_path / "simulation_config.json"
    config.write_text(json.dumps(doc))
    result = run(config, backend="bionet", output_dir=tmp_path / "out")

    (rep,) = read_frame_report(result.outputs["v_all"]).values()
    assert rep.population == "biophysical"
    assert list(rep.node_ids) == [0, 1, 2, 3, 4]
    ptr = np.asarray(rep.index_pointers)
    assert len(ptr) == 6 and np.all(np.diff(ptr) > 10)  # every segment of every cell
    data = rep.data()
    assert data.shape == (200, ptr[-1])
    for i in range(5):
        elements = np.asarray(rep.element_ids)[ptr[i] : ptr[i + 1]]
        assert elements[0] == 0 and np.all(np.diff(elements) >= 0)  # soma first, sections in order
        soma = data[:, ptr[i]]
        # row i is t = (i + 1) dt: clamped to -70 mV, then -50 mV after 10 ms
        assert abs(soma[89] + 70.0) < 0.5 and abs(soma[189] + 50.0) < 0.5
    (ina,) = read_frame_report(result.outputs["ina_soma"]).values()
    assert ina.data().shape == (200, 5) and np.all(ina.data()[150:] < 0)  # inward sodium

    (window,) = read_frame_report(result.outputs["v_window"]).values()
    assert window.data().shape == (20, 5)
    # row i of the window is t = 5 + (i + 1) * 0.5, row k of the full report t = (k + 1) * 0.1
    rows = np.rint((5.0 + 0.5 * np.arange(1, 21)) / 0.1).astype(int) - 1
    np.testing.assert_array_equal(window.data(), data[rows][:, ptr[:-1]])


@pytest.mark.parametrize("tstop", [1000.0, 2000.0])
@pytest.mark.parametrize("dt", [0.1, 0.025])
def test_recordings_have_every_frame_up_to_tstop(tmp_path, tstop, dt):
    """Frame counts come from round(), whatever the rounding of t after many steps."""
    require_module("neuron")
    from types import SimpleNamespace

    from neuron import h

    from bmtoolkit.simulator.bionet import recording
    from bmtoolkit.simulator.bionet.parallel import parallel_context
    from bmtoolkit.simulator.core.reports import MembraneReport
    from bmtoolkit.sonata import read_frame_report

    sec = h.Section(name="probe")
    sec.insert("pas")
    sec.g_pas = 1e-5  # 100 ms membrane time constant: v keeps rising during the run
    clamp = h.IClamp(sec(0.5))
    clamp.delay, clamp.dur, clamp.amp = 0.0, 1e9, 0.1
    cell = SimpleNamespace(soma=sec, sections=[sec])
    h.dt = dt
    reports = []
    for name, rep_dt, start in (("fine", dt, 0.0), ("coarse", 0.5, 100.0)):
        steps = recording.steps_per_sample(rep_dt, dt, name)
        rep = MembraneReport(name, "all", ("v",), rep_dt, start, tstop, tmp_path / f"{name}.h5")
        reports.append((rep, recording.record_elements(h, cell, "v", "soma", steps, dt)))
    t_rec = h.Vector().record(h._ref_t)
    pc = parallel_context()
    pc.set_maxstep(10)
    h.finitialize(-70.0)
    pc.psolve(tstop)
    assert len(t_rec) == round(tstop / dt) + 1
    data = {}
    for rep, traces in reports:
        recording.complete(traces, recording.n_samples(tstop, rep.dt))
        per_pop = {"p": [(0, recording.as_arrays(traces))]}
        (frames,) = read_frame_report(
            recording.write_report(rep.file_name, "v", rep, per_pop)
        ).values()
        data[rep.name] = frames.data()[:, 0]
    assert data["fine"].shape == (round(tstop / dt),)
    assert data["coarse"].shape == (round((tstop - 100.0) / 0.5),)
    # the last frame is the value at tstop; coarse frames are fine frames at 100 + (i+1) 0.5
    assert data["fine"][-1] == pytest.approx(sec(0.5).v, abs=1e-4)
    rows = np.rint((100.0 + 0.5 * np.arange(1, len(data["coarse"]) + 1)) / dt).astype(int) - 1
    np.testing.assert_array_equal(data["coarse"], data["fine"][rows])
    assert np.all(np.diff(data["fine"][:100]) > 0)  # charging: a distinct value per frame


@pytest.mark.parametrize(("tstop", "dt"), [(1000.0, 0.1), (2000.0, 0.025)])
def test_soma_report_frames_through_runner(sonata_examples, tmp_path, tstop, dt):
    require_module("neuron")
    from bmtoolkit.simulator.core.runner import run
    from bmtoolkit.sonata import read_frame_report

    case = sonata_examples / "5_cells_iclamp"
    doc = json.loads((case / "simulation_config.json").read_text())
    doc["manifest"]["$BASE_DIR"] = str(case)
    doc["run"].update(tstop=tstop, dt=dt)
    doc["reports"] = {
        "v_soma": {"cells": "biophys_cells", "variable_name": "v", "module": "membrane_report"},
        "v_coarse": {
            "cells": "biophys_cells",
            "variable_name": "v",
            "module": "membrane_report",
            "dt": 1.0,
        },
    }
    config = tmp_path / "simulation_config.json"
    config.write_text(json.dumps(doc))
    result = run(config, backend="bionet", output_dir=tmp_path / "out")
    (fine,) = read_frame_report(result.outputs["v_soma"]).values()
    (coarse,) = read_frame_report(result.outputs["v_coarse"]).values()
    assert fine.data().shape == (round(tstop / dt), 5)
    assert coarse.data().shape == (round(tstop), 5)
    step = round(1.0 / dt)
    np.testing.assert_array_equal(coarse.data(), fine.data()[step - 1 :: step])
