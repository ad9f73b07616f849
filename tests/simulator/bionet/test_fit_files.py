"""Allen fit files (``ctdb:`` templates), all-active processing and user mechanism folders."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron, pytest.mark.conformance]


@pytest.fixture(scope="module")
def nrn():
    require_module("neuron")
    from neuron import h

    from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms

    load_mechanisms()
    return h


def _spikes(h, cells_amps, tstop):
    keep, vecs = [], []
    for cell, amp in cells_amps:
        clamp = h.IClamp(cell.soma(0.5))
        clamp.amp, clamp.delay, clamp.dur = amp, 500.0, 500.0
        nc = cell.spike_source(-15.0)
        vec = h.Vector()
        nc.record(vec)
        keep += [clamp, nc]
        vecs.append(vec)
    h.dt, h.steps_per_ms, h.celsius = 0.1, 10.0, 34.0
    h.finitialize(-80.0)
    h.continuerun(tstop)
    return [np.asarray(v) for v in vecs]


def test_fit_file_and_nml_give_the_reference_spikes(nrn, sonata_examples):
    from bmtoolkit.simulator.bionet.cells import CellSpec, build_cell
    from bmtoolkit.sonata import read_spikes

    comp = sonata_examples / "shared_components"
    spec = CellSpec(
        "p", 0, 100, "biophysical", "ctdb:Biophys1.hoc",
        comp / "morphologies" / "Scnn1a_473845048_m.swc",
        comp / "biophysical_neuron_templates" / "json" / "472363762_fit.json",
        "aibs_perisomatic", dL=20.0, point_digits=6,  # the reference's older Import3d
    )  # fmt: skip
    cell = build_cell(spec)
    assert [s.name().rsplit(".", 1)[-1] for s in cell.hobj.axon] == ["axon[0]", "axon[1]"]
    assert cell.hobj.axon[0].parentseg().x == 0.5 and cell.hobj.axon[0].diam == 1.0
    (ours,) = _spikes(nrn, [(cell, 0.15)], 1000.0)
    ref = read_spikes(sonata_examples / "5_cells_iclamp" / "output" / "spikes.h5")
    theirs = np.sort(ref.loc[(ref.node_id == 0) & (ref.timestamp < 1000), "timestamp"])
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_allactive_fit_inserts_channels_everywhere(nrn, sonata_examples):
    from bmtoolkit.simulator.bionet.cells import CellSpec, build_cell

    comp = sonata_examples / "shared_components"
    swc = comp / "morphologies" / "Pvalb_469628681_m.swc"
    spec = CellSpec(
        "p", 0, 1, "biophysical", "ctdb:Biophys1.hoc", swc,
        comp / "biophysical_neuron_templates" / "json" / "318331342_fit.json",
        "aibs_allactive", dL=20.0,
    )  # fmt: skip
    cell = build_cell(spec)
    dend = cell.hobj.dend[0].psection()["density_mechs"]
    assert {"NaV", "Kv3_1", "Ih", "Im_v2"} <= set(dend)
    axon = list(cell.hobj.axon)
    assert len(axon) == 2 and axon[0].parentseg().x == 1.0 and axon[0].diam != 1.0
    # genome values (strings in this file) override the passive block
    assert cell.soma.Ra == pytest.approx(73.8606) and cell.soma.cm == pytest.approx(0.503461)
    assert cell.soma(0.5).pas.e == pytest.approx(-66.3518) and cell.hobj.dend[0].ek == -107.0
    (ours,) = _spikes(nrn, [(cell, 1.0)], 600.0)
    assert len(ours) >= 1 and 500.0 < ours[0] < 510.0


def test_user_mechanisms_dir_is_compiled_and_loaded(nrn, tmp_path):
    from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms

    folder = tmp_path / "mechanisms" / "modfiles"
    folder.mkdir(parents=True)
    (folder / "bmtk_test_leak.mod").write_text(
        "NEURON { SUFFIX bmtk_test_leak NONSPECIFIC_CURRENT i RANGE g, e }\n"
        "PARAMETER { g = 0.001 (S/cm2) e = -70 (mV) }\n"
        "ASSIGNED { v (mV) i (mA/cm2) }\n"
        "BREAKPOINT { i = g*(v - e) }\n"
    )
    libs = load_mechanisms([tmp_path / "mechanisms"])
    assert len(libs) == 1 and "mechanisms" in str(libs[0].parent.parent.parent)
    sec = nrn.Section(name="leaky")
    sec.insert("bmtk_test_leak")
    assert sec(0.5).bmtk_test_leak.g == 0.001
    assert load_mechanisms([tmp_path / "mechanisms"]) == []  # already loaded: nothing to do


def _perisomatic_with(tmp_path, sonata_examples, edit):
    """Build node 0 of 5_cells_iclamp from a copy of its fit file changed by ``edit``."""
    import json

    from bmtoolkit.simulator.bionet.cells import CellSpec, build_cell

    comp = sonata_examples / "shared_components"
    fit = json.loads((comp / "biophysical_neuron_templates/json/472363762_fit.json").read_text())
    edit(fit)
    path = tmp_path / "edited_fit.json"
    path.write_text(json.dumps(fit))
    spec = CellSpec(
        "p", 0, 100, "biophysical", "ctdb:Biophys1.hoc",
        comp / "morphologies" / "Scnn1a_473845048_m.swc", path, "aibs_perisomatic",
        dL=20.0, types_file="biophysical_node_types.csv",
    )  # fmt: skip
    return build_cell(spec)


def test_perisomatic_erev_only_where_the_ion_exists(nrn, sonata_examples, tmp_path):
    def edit(fit):
        fit["conditions"][0]["erev"] += [
            {"section": s, "ena": 50.0, "ek": -90.0} for s in ("dend", "apic", "axon")
        ]

    cell = _perisomatic_with(tmp_path, sonata_examples, edit)
    soma, dend = cell.soma, cell.hobj.dend[0]
    assert soma.ena == 53.0 and soma.ek == -107.0  # the soma entry still applies
    assert not nrn.ismembrane("k_ion", sec=dend) and not nrn.ismembrane("na_ion", sec=dend)
    # same spikes as the unchanged fit: the extra entries touch no existing ion
    from bmtoolkit.sonata import read_spikes

    (ours,) = _spikes(nrn, [(cell, 0.15)], 700.0)
    ref = read_spikes(sonata_examples / "5_cells_iclamp" / "output" / "spikes.h5")
    theirs = np.sort(ref.loc[(ref.node_id == 0) & (ref.timestamp < 700), "timestamp"])
    assert len(theirs) > 0
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f["conditions"][0]["erev"].append({"section": "soma", "foo": 1.0}), "'foo'"),
        (lambda f: f["conditions"][0]["erev"].append({"ek": -90.0}), "'section'"),
        (lambda f: f["conditions"][0]["erev"][0].update(ek="low"), "conditions.erev.ek"),
        (lambda f: f["genome"][0].pop("value"), "'value'"),
        (lambda f: f["passive"][0].pop("ra"), "'ra'"),
    ],
)
def test_bad_fit_entries_name_file_and_node_type(nrn, sonata_examples, tmp_path, edit, message):
    from bmtoolkit.exceptions import SonataFormatError

    with pytest.raises(SonataFormatError) as err:
        _perisomatic_with(tmp_path, sonata_examples, edit)
    msg = str(err.value)
    assert message in msg and "edited_fit.json" in msg and "node_type_id 100" in msg
