"""Rotations, segment geometry, rule-based synapse placement and hoc templates."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron]

angles = st.floats(-np.pi, np.pi)


@settings(max_examples=50, deadline=None)
@given(rx=angles, ry=angles, rz=angles)
def test_rotation_is_z_then_y_then_x_and_orthonormal(rx, ry, rz):
    from bmtoolkit.simulator.bionet.morphology import rotation_matrix

    r = rotation_matrix(rx, ry, rz)
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    step = rotation_matrix(rx=rx) @ rotation_matrix(ry=ry) @ rotation_matrix(rz=rz)
    np.testing.assert_allclose(r, step, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(axis=st.tuples(*[st.floats(-1, 1)] * 3), angle=angles)
def test_quaternion_matches_axis_angle(axis, angle):
    from bmtoolkit.simulator.bionet.morphology import quaternion_matrix

    a = np.asarray(axis)
    if np.linalg.norm(a) < 1e-3:
        return
    a = a / np.linalg.norm(a)
    q = [np.cos(angle / 2), *(np.sin(angle / 2) * a)]
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    rodrigues = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
    np.testing.assert_allclose(quaternion_matrix(*q), rodrigues, atol=1e-12)


@pytest.fixture(scope="module")
def pv_cell(sonata_examples):
    require_module("neuron")
    from bmtoolkit.simulator.bionet.cells import CellSpec, build_cell
    from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms

    load_mechanisms()
    comp = sonata_examples / "shared_components"
    spec = CellSpec(
        "cortex", 7, 100, "biophysical", "nml:Cell_473862421.cell.nml",
        comp / "morphologies" / "Pvalb_469628681_m.swc", None, "aibs_perisomatic",
        comp / "biophysical_neuron_templates" / "nml",
        position=np.array([100.0, -50.0, 20.0]), rotation=np.array([0.0, 0.0, np.pi / 2]),
        dL=20.0,
    )  # fmt: skip
    return build_cell(spec)


def test_geometry_is_rotated_about_the_soma_and_moved(pv_cell):
    from bmtoolkit.simulator.bionet.morphology import segment_geometry

    geo = pv_cell.geometry()
    local = segment_geometry(pv_cell.hobj)
    assert len(geo.diam) == sum(sec.nseg for sec in pv_cell.sections)
    expected = local.mid @ np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]]).T + [100.0, -50.0, 20.0]
    np.testing.assert_allclose(geo.mid, expected, atol=1e-9)
    lengths = np.linalg.norm(geo.p1 - geo.p0, axis=1)
    total = sum(sec.L for sec in pv_cell.sections)
    # straight chords between segment ends: never longer than the path, close to it
    assert 0.6 * total < lengths.sum() <= total * (1 + 1e-6)


def test_rule_placement_respects_sections_and_distance(pv_cell):
    from neuron import h

    from bmtoolkit.simulator.bionet.morphology import section_type
    from bmtoolkit.simulator.bionet.synapses import place_synapses

    params = {"target_sections": ["dend"], "distance_range": [20.0, 150.0]}
    sites = place_synapses(pv_cell, 200, np.random.default_rng(5), params)
    again = place_synapses(pv_cell, 200, np.random.default_rng(5), params)
    assert [(s.name(), x) for s, x in sites] == [(s.name(), x) for s, x in again]
    h.distance(0, 0.5, sec=pv_cell.soma)
    for sec, x in sites:
        assert section_type(sec) == "dend"
        assert 20.0 <= h.distance(x, sec=sec) <= 150.0
    assert len({(s.name(), x) for s, x in sites}) > 20


def test_rule_placement_without_candidates_is_an_error(pv_cell):
    from bmtoolkit.exceptions import SonataFormatError
    from bmtoolkit.simulator.bionet.synapses import place_synapses

    with pytest.raises(SonataFormatError, match="no segment of node 7"):
        place_synapses(pv_cell, 1, np.random.default_rng(0), {"target_sections": ["apic"]})


def test_hoc_template_cell(tmp_path, sonata_examples):
    require_module("neuron")
    from bmtoolkit.simulator.bionet.cells import BioCell, CellSpec, build_cell

    (tmp_path / "BallCell.hoc").write_text(
        "begintemplate BallCell\n"
        "public soma, all\n"
        "objref all\n"
        "create soma[1]\n"
        "proc init() {\n"
        "  all = new SectionList()\n"
        "  soma[0] { L = 20 diam = 20 insert hh all.append() }\n"
        "}\n"
        "endtemplate BallCell\n"
    )
    spec = CellSpec("p", 0, 5, "biophysical", "hoc:BallCell", templates_dir=tmp_path)
    cell = build_cell(spec)
    assert isinstance(cell, BioCell) and cell.soma.L == 20
    assert cell.section(0) is not None
