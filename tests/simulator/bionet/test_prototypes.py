"""Cells made from prepared morphologies equal cells read from their SWC files, bit for bit."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron, pytest.mark.conformance]


@pytest.fixture(scope="module")
def specs(sonata_examples):
    """One spec per node type of 5_cells_iclamp (five Allen morphologies and NML models)."""
    require_module("neuron")
    from bmtoolkit.simulator.bionet.cells import CellSpec
    from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms

    load_mechanisms()
    comp = sonata_examples / "shared_components"
    types = pd.read_csv(
        sonata_examples / "5_cells_iclamp" / "network" / "biophysical_node_types.csv", sep=" "
    )
    return [
        CellSpec(
            population="cortex",
            node_id=i,
            node_type_id=int(row.node_type_id),
            model_type="biophysical",
            model_template=row.model_template,
            morphology=comp / "morphologies" / f"{row.morphology}.swc",
            model_processing=row.model_processing,
            templates_dir=comp / "biophysical_neuron_templates" / "nml",
            dL=20.0,
            types_file="biophysical_node_types.csv",
        )
        for i, row in enumerate(types.itertuples())
    ]


def _read_alone(spec):
    """The cell as built before prepared morphologies: its own Import3d read, axon stub with
    ``define_shape``, NML channels, then segment counts."""
    from bmtoolkit.simulator.bionet.biophysics import apply_nml
    from bmtoolkit.simulator.bionet.cells import _biophysical, _template_path
    from bmtoolkit.simulator.bionet.morphology import stub_axon
    from bmtoolkit.simulator.bionet.nml import read_nml_cell

    path = _template_path(spec, spec.model_template.split(":", 1)[1])

    def apply(hobj):
        stub_axon(hobj, style="perisomatic")
        apply_nml(hobj, read_nml_cell(path), str(path))

    return _biophysical(spec, apply)


def _anatomy(cell):
    """Everything the cable equations see, by section in ``all`` order."""
    index = {sec: i for i, sec in enumerate(cell.sections)}
    rows = []
    for sec in cell.sections:
        parent = sec.parentseg()
        rows.append(
            (
                sec.name().rsplit(".", 1)[-1],
                sec.nseg,
                sec.L,
                sec.Ra,
                None if parent is None else (index[parent.sec], parent.x, sec.orientation()),
                tuple(index[c] for c in sec.children()),  # NEURON's node order follows these
                tuple((seg.area(), seg.ri(), seg.diam, seg.cm) for seg in sec),
                tuple(sorted(sec.psection()["density_mechs"].items(), key=lambda kv: kv[0])),
            )
        )
    lists = tuple(
        tuple(index[s] for s in getattr(cell.hobj, name))
        for name in ("somatic", "basal", "apical", "axonal")
    )
    return rows, lists


def _points(cell):
    return [
        np.array([[s.x3d(i), s.y3d(i), s.z3d(i), s.diam3d(i)] for i in range(s.n3d())])
        for s in cell.sections
    ]


def test_made_cells_equal_cells_read_alone(specs):
    from neuron import h

    from bmtoolkit.simulator.bionet.cells import build_cell
    from bmtoolkit.simulator.bionet.prototypes import CellFactory

    factory = CellFactory()
    trios = [(_read_alone(s), build_cell(s, factory), build_cell(s, factory)) for s in specs]
    factory.finish()
    assert factory.prepared == len({s.morphology for s in specs})  # each file read once
    for alone, first, second in trios:
        assert _anatomy(first) == _anatomy(alone)
        assert _anatomy(second) == _anatomy(alone)
        for a, b, c in zip(_points(alone), _points(first), _points(second), strict=True):
            assert b.shape == a.shape and np.array_equal(b, c)
            # the axon stub is placed by define_shape after many cells instead of each
            # cell's own call: its 3D position may differ in the last float digit
            np.testing.assert_allclose(b, a, rtol=0, atol=1e-3)
    h.celsius, h.dt = 34.0, 0.1
    keep = []
    for trio in trios:
        for cell in trio:
            clamp = h.IClamp(cell.soma(0.5))
            clamp.delay, clamp.dur, clamp.amp = 20.0, 200.0, 0.4
            keep.append((clamp, h.Vector().record(cell.soma(0.5)._ref_v)))
    h.finitialize(-80.0)
    h.continuerun(250.0)
    traces = [np.array(v) for _, v in keep]
    assert sum(trace.max() > 0 for trace in traces[::3]) >= 3  # most cells fire
    for k in range(len(trios)):
        alone, first, second = traces[3 * k : 3 * k + 3]
        assert np.array_equal(first, alone) and np.array_equal(second, alone)


def test_rule_placed_synapses_use_one_segment_table_per_model(specs):
    """Two cells of one prepared morphology have the same segment table, so a table made
    once per model places synapses as each cell's own table would."""
    import numpy as np

    from bmtoolkit.simulator.bionet.cells import build_cell
    from bmtoolkit.simulator.bionet.placement import segment_props
    from bmtoolkit.simulator.bionet.prototypes import CellFactory

    factory = CellFactory()
    a, b = build_cell(specs[0], factory), build_cell(specs[0], factory)
    factory.finish()
    pa, pb = segment_props(a.sections, a.soma), segment_props(b.sections, b.soma)
    for name in ("type", "x", "length", "dist", "sec_id"):
        np.testing.assert_array_equal(getattr(pa, name), getattr(pb, name))
    ix, prob = pa.find(("dend", "apic"), (50.0, 400.0))
    assert len(ix) and np.isclose(prob.sum(), 1.0)
    ix_b, prob_b = pb.find(("dend", "apic"), (50.0, 400.0))
    np.testing.assert_array_equal(ix, ix_b)
    np.testing.assert_array_equal(prob, prob_b)


def test_prepared_morphology_keeps_all_order_and_lists(specs):
    from bmtoolkit.simulator.bionet.morphology import load_swc, stub_axon
    from bmtoolkit.simulator.bionet.prototypes import CellFactory, prepare_morphology

    spec = next(s for s in specs if s.morphology.stem == "Pvalb_470522102_m")  # no apical
    proto = load_swc(spec.morphology)
    stub_axon(proto, style="perisomatic", shape=False)
    prep = prepare_morphology(proto)
    assert prep is not None and "apic" not in dict(prep.arrays)
    names = [sec.name().rsplit(".", 1)[-1] for sec in proto.all]
    hobj, sections = CellFactory().instantiate(prep)
    assert [s.name().rsplit(".", 1)[-1] for s in hobj.all] == names
    assert [s.name() for s in sections] == [s.name() for s in hobj.all]
    assert len(list(hobj.axonal)) == 2 and len(list(hobj.somatic)) == 1
    np.testing.assert_array_equal(
        prep.n_segments(20.0), [1 + 2 * int(s.L / 40.0) for s in proto.all]
    )
