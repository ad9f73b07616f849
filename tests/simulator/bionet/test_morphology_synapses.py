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
    """Candidate segments are dendrite segments overlapping 20-150 um of path distance from
    the soma's 0 end (as BMTK measures it); draws are reproducible per stream."""
    from neuron import h

    from bmtoolkit.simulator.bionet.morphology import section_type
    from bmtoolkit.simulator.bionet.placement import segment_props

    props = segment_props(pv_cell.sections, pv_cell.soma)
    ix, prob = props.find(("dend",), (20.0, 150.0))
    picks = np.random.RandomState(5).choice(ix, 200, p=prob)
    again = np.random.RandomState(5).choice(ix, 200, p=prob)
    np.testing.assert_array_equal(picks, again)
    h.distance(0, pv_cell.soma(0))
    for k in picks:
        sec = pv_cell.sections[props.sec_id[k]]
        assert section_type(sec) == "dend"
        half = sec.L / sec.nseg / 2
        d = h.distance(sec(props.x[k]))
        assert d + half > 20.0 and d - half < 150.0
    assert len(set(picks.tolist())) > 20


def test_rule_placement_without_candidates_finds_none(pv_cell):
    """This Pvalb cell has no apical dendrite: no candidate (the connector then warns and
    leaves those synapses out, as BMTK does)."""
    from bmtoolkit.simulator.bionet.placement import segment_props

    ix, prob = segment_props(pv_cell.sections, pv_cell.soma).find(("apical",), (0.0, 1e20))
    assert len(ix) == 0 and len(prob) == 0


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
