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

    (rep,) = read_frame_report(result.outputs["v_all:v"]).values()
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
    (ina,) = read_frame_report(result.outputs["ina_soma:ina"]).values()
    assert ina.data().shape == (200, 5) and np.all(ina.data()[150:] < 0)  # inward sodium

    (window,) = read_frame_report(result.outputs["v_window:v"]).values()
    assert window.data().shape == (20, 5)
    # row i of the window is t = 5 + (i + 1) * 0.5, row k of the full report t = (k + 1) * 0.1
    rows = np.rint((5.0 + 0.5 * np.arange(1, 21)) / 0.1).astype(int) - 1
    np.testing.assert_array_equal(window.data(), data[rows][:, ptr[:-1]])
