"""Line-source extracellular potential."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron]


@settings(max_examples=50, deadline=None)
@given(
    r=st.floats(50.0, 500.0),
    length=st.floats(0.01, 0.5),
    angle=st.floats(0.0, np.pi),
)
def test_short_segment_is_a_point_source(r, length, angle):
    from bmtoolkit.simulator.bionet.ecp import line_source_matrix

    direction = np.array([np.cos(angle), np.sin(angle), 0.0])
    p0 = -0.5 * length * direction[None, :]
    p1 = 0.5 * length * direction[None, :]
    el = np.array([[0.0, 0.0, r]])
    t = line_source_matrix(p0, p1, el, sigma=0.3)
    assert t[0, 0] == pytest.approx(1.0 / (4 * np.pi * 0.3 * r), rel=1e-4)


def test_line_source_matches_numerical_integral():
    from bmtoolkit.simulator.bionet.ecp import line_source_matrix

    p0, p1 = np.array([[0.0, 0.0, 0.0]]), np.array([[30.0, 10.0, -5.0]])
    el = np.array([[5.0, 20.0, 3.0], [60.0, -10.0, 0.0]])
    s = np.linspace(0, 1, 200001)
    pts = p0 + s[:, None] * (p1 - p0)
    expected = [
        np.trapezoid(1.0 / np.linalg.norm(pts - e, axis=1), s) / (4 * np.pi * 0.3) for e in el
    ]
    np.testing.assert_allclose(line_source_matrix(p0, p1, el)[:, 0], expected, rtol=1e-6)


def test_recorder_equals_transfer_matrix_times_recorded_currents(sonata_examples, tmp_path):
    require_module("neuron")
    import pandas as pd
    from neuron import h

    from bmtoolkit.simulator.bionet.cells import CellSpec, build_cell
    from bmtoolkit.simulator.bionet.ecp import EcpRecorder, line_source_matrix, read_electrodes
    from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms

    load_mechanisms()
    comp = sonata_examples / "shared_components"
    row = pd.read_csv(
        sonata_examples / "5_cells_iclamp" / "network" / "biophysical_node_types.csv", sep=" "
    ).iloc[1]
    spec = CellSpec(
        "p", 0, int(row.node_type_id), "biophysical", row.model_template,
        comp / "morphologies" / f"{row.morphology}.swc", None, row.model_processing,
        comp / "biophysical_neuron_templates" / "nml",
        position=np.array([10.0, -20.0, 5.0]), rotation=np.array([0.1, 0.2, 0.3]), dL=20.0,
    )  # fmt: skip
    cell = build_cell(spec)
    clamp = h.IClamp(cell.soma(0.5))
    clamp.amp, clamp.delay, clamp.dur = 0.3, 5.0, 20.0
    channels, positions = read_electrodes(comp / "recXelectrodes" / "linear_electrode.csv")
    n_steps = 300
    rec = EcpRecorder(h, [cell], positions, n_steps)
    currents = [h.Vector().record(seg._ref_i_membrane_) for seg in cell.segments()]
    h.dt, h.steps_per_ms = 0.1, 10.0
    h.finitialize(-80.0)
    rec.start()
    h.continuerun(30.0)
    rec.stop()
    current = np.array([np.asarray(v)[1 : n_steps + 1] for v in currents])  # (n_seg, T)
    geo = cell.geometry()
    expected = (line_source_matrix(geo.p0, geo.p1, positions) @ current).T
    assert len(channels) == 86 and rec.data.shape == (n_steps, 86)
    assert np.max(np.abs(expected)) > 1e-4  # the clamp makes the cell fire
    np.testing.assert_allclose(rec.data, expected, rtol=1e-9, atol=1e-12)
    # geometry: soma centred on the node position
    assert np.allclose(geo.mid[0], spec.position, atol=15.0)


def test_contributions_dir_holds_each_cells_share_of_the_ecp(sonata_examples, tmp_path):
    """BMTK's ``contributions_dir``: one ``<gid>.h5`` per recorded cell (relative to the
    output folder); the cells' contributions add up to the ECP report."""
    require_module("neuron")
    import json

    from bmtoolkit.simulator import run
    from bmtoolkit.sonata import read_ecp_report

    example = sonata_examples / "5_cells_iclamp"
    comp = sonata_examples / "shared_components"
    doc = json.loads((example / "simulation_config.json").read_text())
    doc["manifest"]["$BASE_DIR"] = str(example)
    doc["manifest"]["$OUTPUT_DIR"] = str(tmp_path / "out")
    doc["run"]["tstop"] = 700.0
    doc["reports"] = {
        "ecp": {
            "cells": "biophys_cells", "variable_name": "v", "module": "extracellular",
            "electrode_positions": str(comp / "recXelectrodes" / "linear_electrode.csv"),
            "file_name": "ecp.h5", "electrode_channels": "soma",
            "contributions_dir": "ecp_contributions",
        }
    }  # fmt: skip
    config = tmp_path / "config.json"
    config.write_text(json.dumps(doc))
    result = run(config, backend="bionet", progress=False)
    total = read_ecp_report(result.outputs["ecp"]).data
    folder = tmp_path / "out" / "ecp_contributions"
    files = sorted(folder.glob("*.h5"))
    assert len(files) == 5 and np.max(np.abs(total)) > 1e-4
    parts = [read_ecp_report(f).data for f in files]
    assert all(p.shape == total.shape for p in parts)
    np.testing.assert_allclose(np.sum(parts, axis=0), total, rtol=1e-5, atol=1e-7)
    assert not np.allclose(parts[0], total)
