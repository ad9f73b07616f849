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
