"""Single-cell construction on NEURON checked against the 5_cells_iclamp reference runs."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
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


def _spec(ex, node_id, row, **kw):
    """A 5_cells_iclamp node; its 3D points as the older Import3d behind the reference kept."""
    from bmtoolkit.simulator.bionet.cells import CellSpec
    from bmtoolkit.simulator.bionet.morphology import POINT_DIGITS

    comp = ex / "shared_components"
    args = dict(
        population="biophysical",
        node_id=node_id,
        node_type_id=int(row.node_type_id),
        model_type="biophysical",
        model_template=row.model_template,
        morphology=comp / "morphologies" / f"{row.morphology}.swc",
        model_processing=row.model_processing,
        templates_dir=comp / "biophysical_neuron_templates" / "nml",
        dL=20.0,
        types_file="biophysical_node_types.csv",
        point_digits=POINT_DIGITS,
    )
    args.update(kw)
    return CellSpec(**args)


def test_mechanism_library_is_cached_by_content(nrn, tmp_path):
    from bmtoolkit.simulator.bionet.mechanisms import builtin_mod_files, mechanism_hash

    files = builtin_mod_files()
    names = {p.stem for p in files}
    assert {"NaTs", "NaTa", "Nap", "NaV", "K_P", "K_T", "Kv3_1", "Kd", "Kv2like", "Im"} <= names
    assert {"Im_v2", "Ih", "SK", "Ca_HVA", "Ca_LVA", "CaDynamics", "SpikeSource"} <= names
    assert mechanism_hash(files) == mechanism_hash(list(reversed(files)))
    changed = tmp_path / "NaTs.mod"
    changed.write_text(files[0].read_text() + "\n: changed\n")
    assert mechanism_hash([changed]) != mechanism_hash([files[0]])
    for name in ("NaTs", "CaDynamics", "NaV", "Kv2like", "SpikeSource"):
        assert hasattr(nrn, name) or name in _density_names(nrn)


def _density_names(h):
    from bmtoolkit.simulator.bionet.biophysics import known_mechanisms

    return known_mechanisms()


@pytest.mark.slow
def test_5_cells_iclamp_matches_reference(nrn, sonata_examples):
    from bmtoolkit.simulator.bionet.cells import build_cell
    from bmtoolkit.sonata import read_frame_report, read_spikes

    ex = sonata_examples
    case = ex / "5_cells_iclamp"
    types = pd.read_csv(case / "network" / "biophysical_node_types.csv", sep=" ")
    types = types.set_index("node_type_id", drop=False)
    cells = [build_cell(_spec(ex, i, types.loc[tid])) for i, tid in enumerate(range(100, 105))]
    h = nrn
    keep = []
    spikes = []
    for cell in cells:
        for amp, delay in ((0.15, 500.0), (0.175, 1500.0), (0.2, 2500.0)):
            clamp = h.IClamp(cell.soma(0.5))
            clamp.amp, clamp.delay, clamp.dur = amp, delay, 500.0
            keep.append(clamp)
        nc = cell.spike_source(-15.0)
        vec = h.Vector()
        nc.record(vec)
        keep.append(nc)
        spikes.append(vec)
    traces = [h.Vector().record(c.soma(0.5)._ref_v) for c in cells]
    h.dt, h.steps_per_ms, h.celsius = 0.1, 10.0, 34.0
    h.finitialize(-80.0)
    h.continuerun(4000.0)

    ref = read_spikes(case / "output" / "spikes.h5")
    for node_id, vec in enumerate(spikes):
        ours = np.asarray(vec)
        theirs = np.sort(ref.loc[ref.node_id == node_id, "timestamp"].to_numpy())
        assert len(ours) == len(theirs), node_id
        # same 0.1 ms time grid: exact
        assert np.max(np.abs(ours - theirs)) <= 1e-6, node_id

    # pure-NEURON traces: 40001 samples including t = 0
    for node_id, vec in enumerate(traces):
        name = next((case / "verification").glob(f"cellvar_gid{node_id}_*.h5"))
        ref_v = _legacy_trace(name)
        ours = np.asarray(vec)
        assert ours.shape == ref_v.shape
        assert np.sqrt(np.mean((ours - ref_v) ** 2)) < 1.0

    # the reference soma report starts one step later (t = 0 holds v after the first step);
    # with the reference's point precision every cell follows it to well under 0.05 mV
    (report,) = read_frame_report(case / "output" / "membrane_potential.h5").values()
    data = np.asarray(report.data())
    columns = list(np.asarray(report.node_ids))
    for node_id, vec in enumerate(traces):
        diff = np.asarray(vec)[1:] - data[:, columns.index(node_id)]
        assert np.sqrt(np.mean(diff**2)) < 0.05, node_id


def _legacy_trace(path):
    """Read the legacy verification layout (/v/data) through the sonata report reader."""
    from bmtoolkit.sonata import read_frame_report

    (report,) = read_frame_report(path).values()
    return np.asarray(report.data()).ravel()


def test_missing_morphology_names_node_type_and_file(nrn, sonata_examples, tmp_path):
    from bmtoolkit.exceptions import MissingFileError
    from bmtoolkit.simulator.bionet.cells import build_cell

    types = pd.read_csv(
        sonata_examples / "5_cells_iclamp" / "network" / "biophysical_node_types.csv", sep=" "
    )
    spec = _spec(sonata_examples, 0, types.iloc[0], morphology=tmp_path / "nope.swc")
    with pytest.raises(MissingFileError) as err:
        build_cell(spec)
    msg = str(err.value)
    assert "nope.swc" in msg and "node type" in msg and "biophysical_node_types.csv" in msg


def test_unknown_mechanism_in_fit_file(nrn, sonata_examples, tmp_path):
    from bmtoolkit.exceptions import UnknownModelError
    from bmtoolkit.simulator.bionet.cells import build_cell

    src = sonata_examples / "shared_components" / "biophysical_neuron_templates" / "json"
    fit = json.loads((src / "472363762_fit.json").read_text())
    fit["genome"].append(
        {"section": "soma", "name": "gbar_NoSuchChan", "value": 1e-3, "mechanism": "NoSuchChan"}
    )
    bad = tmp_path / "bad_fit.json"
    bad.write_text(json.dumps(fit))
    types = pd.read_csv(
        sonata_examples / "5_cells_iclamp" / "network" / "biophysical_node_types.csv", sep=" "
    )
    spec = _spec(
        sonata_examples, 0, types.iloc[1], model_template="ctdb:Biophys1.hoc", dynamics_params=bad
    )
    with pytest.raises(UnknownModelError) as err:
        build_cell(spec)
    msg = str(err.value)
    assert "NoSuchChan" in msg and "bad_fit.json" in msg and "node_type_id 100" in msg


def test_nav_initial_state_solves_the_published_initial_system(nrn):
    """NaV starts from the solution of the published model's linear initial system
    (including its bi3 term in the I3 balance), here solved independently with numpy."""
    h = nrn
    h.celsius = 34.0
    sec = h.Section(name="nav_probe")
    sec.insert("NaV")
    p = {k: getattr(h, f"{k}_NaV") for k in ("Con", "Coff", "Oon", "Ooff", "alpha", "beta")}
    p.update({k: getattr(h, f"{k}_NaV") for k in ("gamma", "delta", "alfac", "btfac", "x1", "x6")})
    names = ["C1", "C2", "C3", "C4", "C5", "O", "I1", "I2", "I3", "I4", "I5", "I6"]
    for v in (-95.5, -80.0, -65.0, -40.0):
        qt = 2.3 ** ((34.0 - 37.0) / 10.0)
        ea, eb = np.exp(v / p["x1"]), np.exp(v / p["x6"])
        a, b, af, bf = p["alpha"], p["beta"], p["alfac"], p["btfac"]
        f0 = [qt * k * a * ea for k in (4, 3, 2, 1)] + [qt * p["gamma"]]
        f1 = [qt * k * a * af * ea for k in (4, 3, 2, 1)] + [qt * p["gamma"]]
        fi = [qt * p["Con"] * af**k for k in range(5)] + [qt * p["Oon"]]
        b0 = [qt * k * b * eb for k in (1, 2, 3, 4)] + [qt * p["delta"]]
        b1 = [qt * k * b * eb / bf for k in (1, 2, 3, 4)] + [qt * p["delta"]]
        bi = [qt * p["Coff"] / bf**k for k in range(5)] + [qt * p["Ooff"]]
        C1, C2, C3, C4, C5, OPEN, I1, I2, I3, I4, I5, I6 = range(12)
        A = np.zeros((12, 12))
        rows = [  # (state, [(coefficient, state), ...]) of each balance in the published system
            (C1, [(bi[0], I1), (b0[0], C2), (-(fi[0] + f0[0]), C1)]),
            (C2, [(f0[0], C1), (bi[1], I2), (b0[1], C3), (-(b0[0] + fi[1] + f0[1]), C2)]),
            (C3, [(f0[1], C2), (bi[2], I3), (b0[2], C4), (-(b0[1] + fi[2] + f0[2]), C3)]),
            (C4, [(f0[2], C3), (bi[3], I4), (b0[3], C5), (-(b0[2] + fi[3] + f0[3]), C4)]),
            (C5, [(f0[3], C4), (bi[4], I5), (b0[4], OPEN), (-(b0[3] + fi[4] + f0[4]), C5)]),
            (OPEN, [(f0[4], C5), (bi[5], I6), (-(b0[4] + fi[5]), OPEN)]),
            (I1, [(fi[0], C1), (b1[0], I2), (-(bi[0] + f1[0]), I1)]),
            (I2, [(f1[0], I1), (fi[1], C2), (b1[1], I3), (-(b1[0] + bi[1] + f1[1]), I2)]),
            (I3, [(f1[1], I2), (fi[2], C3), (bi[2], I4), (-(b1[1] + bi[2] + f1[2]), I3)]),
            (I4, [(f1[2], I3), (fi[3], C4), (b1[3], I5), (-(b1[2] + bi[3] + f1[3]), I4)]),
            (I5, [(f1[3], I4), (fi[4], C5), (b1[4], I6), (-(b1[3] + bi[4] + f1[4]), I5)]),
        ]
        for r, terms in rows:
            for coef, col in terms:
                A[r, col] += coef
        A[I6, :] = 1.0  # conservation
        rhs = np.zeros(12)
        rhs[I6] = 1.0
        expected = np.linalg.solve(A, rhs)
        h.finitialize(v)
        got = np.array([getattr(sec(0.5), f"{n}_NaV") for n in names])
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-15)


def test_swc_points_keep_six_significant_digits(nrn, sonata_examples):
    from bmtoolkit.simulator.bionet.morphology import load_swc

    path = sonata_examples / "shared_components" / "morphologies" / "Pvalb_470522102_m.swc"
    h = nrn
    # soma "1 1 237.4944 233.8336 35.28 5.9212 -1": a 3-point cylinder along x
    legacy, full = load_swc(path, digits=6), load_swc(path)
    soma = [[h.x3d(i, sec=c.soma[0]) for i in range(3)] for c in (legacy, full)]
    np.testing.assert_allclose(soma[0], [231.573, 237.494, 243.416], rtol=0, atol=2e-5)
    np.testing.assert_allclose(soma[1], [231.5732, 237.4944, 243.4156], rtol=0, atol=2e-5)
    assert h.y3d(0, sec=legacy.soma[0]) == pytest.approx(233.834, abs=2e-5)
    # "2 3 232.5043 230.7745 ...": 232.504, then moved by define_shape so that the dendrite's
    # logical start (the rounded soma point 237.494) sits at soma(0.5), x = 237.4945
    h.define_shape()
    dend = legacy.dend[0]
    assert h.x3d(0, sec=dend) == pytest.approx(232.5045, abs=2e-5)
    assert h.x3d(0, sec=full.dend[0]) == pytest.approx(232.5043, abs=2e-5)
    assert h.diam3d(1, sec=dend) == pytest.approx(0.5592, abs=1e-6)
    assert h.n3d(sec=dend) == h.n3d(sec=full.dend[0])
    assert legacy.import3d is None  # the reader is released


_PROCESSING_SCRIPT = """
import json, sys
from pathlib import Path

import pandas as pd

from tests.simulator.bionet.test_cells import _spec
from bmtoolkit.exceptions import UnknownModelError
from bmtoolkit.simulator.bionet.cells import build_cell
from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms

load_mechanisms()
ex = Path(sys.argv[1])
fit = ex / "shared_components/biophysical_neuron_templates/json/472363762_fit.json"
types = pd.read_csv(ex / "5_cells_iclamp" / "network" / "biophysical_node_types.csv", sep=" ")


def cell(processing):
    return build_cell(_spec(ex, 0, types.iloc[1], dynamics_params=fit,
                            model_template="ctdb:Biophys1.hoc", model_processing=processing))


out = {}
for key, processing in (("plain", "aibs_perisomatic"), ("both", "aibs_perisomatic, extracellular")):
    made = cell(processing)
    out[key] = [[sec.nseg, sec.L, sec.cm, sec.Ra, sorted(sec.psection()["density_mechs"])]
                for sec in made.hobj.all]
try:
    cell("aibs_perisomatic,no_such_step")
except UnknownModelError as err:
    out["error"] = str(err)
print(json.dumps(out))
"""


def test_model_processing_list_applies_each_directive_in_order(nrn, sonata_examples):
    """BMTK reads ``model_processing`` as a comma-separated list: ``aibs_perisomatic,
    extracellular`` is the perisomatic model with NEURON's extracellular mechanism in every
    section, and nothing else changes. (Built in a child process: once a cell has had the
    extracellular mechanism, CoreNEURON runs later in the same process fail.)"""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.run([sys.executable, "-c", _PROCESSING_SCRIPT, str(sonata_examples)],
                          capture_output=True, text=True, env=env, timeout=600, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    plain, both = out["plain"], out["both"]
    assert len(plain) == len(both) > 10
    assert not any("extracellular" in sec[4] for sec in plain)
    for a, b in zip(plain, both, strict=True):
        assert a[:4] == b[:4]
        assert set(b[4]) == set(a[4]) | {"extracellular"}
    assert "no_such_step" in out["error"]
