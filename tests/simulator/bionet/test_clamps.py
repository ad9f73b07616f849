"""Current clamps as BMTK defines them: lists of steps, CSV ``timestamps amps`` tables (the
current is injected, stepwise), Allen NWB sweeps, and the section a clamp goes to."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from tests.conftest import conformance_root, require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

E = conformance_root() / "bmtk_examples"


def _cfg(params, input_type="current_clamp"):
    from bmtoolkit.sonata.config import InputConfig

    return InputConfig("clamp", input_type, "IClamp", "all", params)


def test_schema_accepts_lists_of_amplitudes_delays_durations(tmp_path):
    """BMTK's docs allow lists; the schema used to reject a list of delays."""
    from bmtoolkit.sonata.schemas import schema_problems

    doc = {
        "run": {"tstop": 100.0},
        "inputs": {
            "c": {"input_type": "current_clamp", "module": "IClamp", "node_set": "all",
                  "amp": [0.15, 0.175], "delay": [10.0, 50.0], "duration": [20.0, 20.0]},
        },
    }  # fmt: skip
    assert schema_problems(doc, "simulation") == []


def test_list_clamp_gives_one_step_each():
    from bmtoolkit.simulator.core.inputs import load_current_clamp

    clamp = load_current_clamp(
        _cfg({"amp": [0.15, 0.2], "delay": [500.0, 1500.0], "duration": [500.0, 250.0]}), None
    )
    assert clamp.steps() == [(500.0, 1000.0, 0.15), (1500.0, 1750.0, 0.2)]


def test_csv_clamp_is_stepwise_from_each_timestamp(tmp_path):
    """BMTK's ``input_type: csv``: amps[i] from timestamps[i] to the next timestamp."""
    from bmtoolkit.simulator.core.inputs import load_current_clamp

    path = tmp_path / "amps.csv"
    path.write_text("timestamps amps\n800.0 0.15\n1300.0 0.0\n1800.0 0.175\n2300.0 0.0\n")
    clamp = load_current_clamp(_cfg({"file": str(path)}, "csv"), None)
    assert clamp.steps() == [(800.0, 1300.0, 0.15), (1800.0, 2300.0, 0.175)]
    assert clamp.played is not None and clamp.played.dt == pytest.approx(100.0)
    times, amps = clamp.waveform()
    assert amps[np.searchsorted(times, 800.0)] == 0.15


def test_csv_clamp_missing_column_is_named(tmp_path):
    from bmtoolkit.exceptions import ConfigError
    from bmtoolkit.simulator.core.inputs import load_current_clamp

    path = tmp_path / "amps.csv"
    path.write_text("time amps\n0 0.1\n10 0\n")
    with pytest.raises(ConfigError, match="no column 'timestamps'.*timestamps_column"):
        load_current_clamp(_cfg({"file": str(path)}, "csv"), None)


def _neuron_current(clamp, tstop, where="soma"):
    """Record the current a clamp injects into a one-compartment cell every 0.1 ms."""
    require_module("neuron")
    from neuron import h

    from bmtoolkit.simulator.bionet.inputs import attach_current_clamp

    h.load_file("stdrun.hoc")
    sec = h.Section(name=where)
    sec.L = sec.diam = 10.0
    sec.insert("pas")
    keep = attach_current_clamp(h, sec(0.5), clamp)
    total = h.Vector()
    recs = [h.Vector().record(ic._ref_i) for ic in keep if ic.hname().startswith("IClamp")]
    h.dt = 0.1
    h.finitialize(-65.0)
    h.continuerun(tstop)
    total = np.sum([np.asarray(r) for r in recs], axis=0)
    return np.arange(len(total)) * 0.1, total


def test_csv_clamp_injects_its_current_in_neuron(tmp_path):
    from bmtoolkit.simulator.core.inputs import load_current_clamp

    path = tmp_path / "amps.csv"
    path.write_text("timestamps amps\n20.0 0.1\n30.0 0.0\n40.0 0.3\n50.0 0.0\n")
    clamp = load_current_clamp(_cfg({"file": str(path)}, "csv"), None)
    t, i = _neuron_current(clamp, 60.0)
    expected = np.where((t > 20.2) & (t < 29.8), 0.1, 0.0) + np.where(
        (t > 40.2) & (t < 49.8), 0.3, 0.0
    )
    inside = ~np.any([np.abs(t - e) < 0.25 for e in (20, 30, 40, 50)], axis=0)
    np.testing.assert_allclose(i[inside], expected[inside], atol=1e-12)
    assert i.max() == pytest.approx(0.3)


def test_nwb_sweep_clamp_plays_the_sweep(tmp_path):
    """An Allen NWB sweep (amperes at 10 kHz), downsampled to 0.5 ms, starting at 5 ms."""
    from bmtoolkit.simulator.core.inputs import load_current_clamp
    from bmtoolkit.sonata import write_nwb_sweep

    path = tmp_path / "cell_ephys.nwb"
    samples = np.zeros(200)  # 20 ms at 0.1 ms
    samples[50:150] = 2e-10  # 0.2 nA from 5 to 15 ms of the sweep
    write_nwb_sweep(path, 55, samples, rate=10000.0)
    params = {"file": str(path), "sweep_id": 55, "downsample": 0.5, "delay": 5.0}
    clamp = load_current_clamp(_cfg(params, "nwb"), None)
    assert clamp.steps() == [(10.0, 20.0, pytest.approx(0.2))]
    t, i = _neuron_current(clamp, 30.0)
    assert np.all(i[(t > 10.3) & (t < 19.7)] == pytest.approx(0.2))
    assert np.all(i[(t < 9.7) | (t > 20.3)] == 0.0)


def test_nwb_missing_sweep_lists_the_sweeps(tmp_path):
    from bmtoolkit.exceptions import SonataFormatError
    from bmtoolkit.simulator.core.inputs import load_current_clamp
    from bmtoolkit.sonata import write_nwb_sweep

    path = tmp_path / "cell.nwb"
    write_nwb_sweep(path, 3, np.zeros(10), rate=1000.0)
    with pytest.raises(SonataFormatError, match="no sweep 'Sweep_4'.*Sweep_3"):
        load_current_clamp(_cfg({"file": str(path), "sweep_id": 4}, "nwb"), None)


@pytest.fixture(scope="module")
def cell(sonata_examples):
    require_module("neuron")
    from bmtoolkit.simulator.bionet.cells import CellSpec, build_cell
    from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms

    load_mechanisms()
    comp = sonata_examples / "shared_components"
    spec = CellSpec(
        "v1", 0, 100, "biophysical", "nml:Cell_472363762.cell.nml",
        comp / "morphologies" / "Scnn1a_473845048_m.swc", None, "aibs_perisomatic",
        comp / "biophysical_neuron_templates" / "nml", dL=20.0,
    )  # fmt: skip
    return build_cell(spec)


def test_clamp_section_choice_as_bmtk(cell):
    from neuron import h

    from bmtoolkit.exceptions import ConfigError
    from bmtoolkit.simulator.bionet.inputs import clamp_site

    assert clamp_site(cell, {}, 0).sec == cell.soma
    seg = clamp_site(cell, {"section_name": "dend", "section_index": 2, "section_dist": 0.3}, 0)
    assert seg.sec == cell.hobj.dend[2] and seg.x == pytest.approx(0.3 * 0 + seg.sec(0.3).x)
    ranged = {"section_name": ["apical"], "section_index": [100.0, 200.0]}
    a, b = clamp_site(cell, ranged, 7), clamp_site(cell, ranged, 7)
    assert a.sec == b.sec and a.x == b.x  # reproducible
    assert "apic" in a.sec.name()
    h.distance(0, cell.soma(0))
    assert 100.0 - 20.0 <= h.distance(a) <= 200.0 + 20.0
    with pytest.raises(ConfigError, match=r"no section dend\[999\]"):
        clamp_site(cell, {"section_name": "dend", "section_index": 999}, 0)


def test_pointnet_schedule_of_a_csv_clamp(tmp_path):
    """Where PointNet injects clamps, a CSV clamp gives the same steps."""
    from bmtoolkit.simulator.core.inputs import load_current_clamp
    from bmtoolkit.simulator.pointnet.inputs import clamp_schedule

    path = tmp_path / "amps.csv"
    path.write_text("timestamps amps\n100.0 150.0\n200.0 0.0\n300.0 250.0\n400.0 0.0\n")
    clamp = load_current_clamp(_cfg({"file": str(path)}, "csv"), None)
    times, amps = clamp_schedule(clamp, dt=0.1, delay=0.1)
    assert times == [99.9, 199.9, 299.9, 399.9]
    assert np.allclose(np.asarray(amps) / amps[0], [1.0, 0.0, 250 / 150, 0.0])


def test_bio_advanced_stimuli_csv_config_injects_current(tmp_path):
    """BMTK's own CSV clamp example runs unchanged and its cells fire during the steps."""
    require_module("neuron")
    from pathlib import Path

    from bmtoolkit.simulator.core.runner import run
    from bmtoolkit.sonata import read_spikes

    example = Path(E) / "bio_advanced_stimuli"
    if not example.is_dir():
        pytest.skip(f"BMTK examples not found at {E}")
    work = tmp_path / "bio_advanced_stimuli"
    work.mkdir()
    (tmp_path / "bio_components").symlink_to(Path(E) / "bio_components")
    for item in example.iterdir():
        if item.suffix == ".json":
            (work / item.name).write_text(item.read_text())
        else:
            (work / item.name).symlink_to(item)
    doc = json.loads((work / "config.simulation_iclamp.csv.json").read_text())
    doc["run"]["tstop"] = 1400.0  # the first step (800-1300 ms) is enough
    (work / "short.json").write_text(json.dumps(doc))
    cwd = os.getcwd()
    os.chdir(work)
    try:
        result = run(work / "short.json", backend="bionet")
    finally:
        os.chdir(cwd)
    spikes = read_spikes(result.outputs["spikes"])
    assert len(spikes) > 20
    assert spikes["timestamp"].min() > 800.0 and spikes["timestamp"].max() < 1310.0


def test_clamp_report_records_each_clamp_current(tmp_path):
    """BMTK's ``clamp_report`` (``ic``): one column per IClamp, the injected current."""
    require_module("neuron")
    import h5py

    from bmtoolkit.simulator.core.runner import run

    example = E / "bio_1cell"
    if not example.is_dir():
        pytest.skip(f"BMTK examples not found at {E}")
    doc = json.loads((example / "config.simulation_iclamp.json").read_text())
    doc["manifest"]["$BASE_DIR"] = str(example)
    doc["manifest"]["$OUTPUT_DIR"] = str(tmp_path / "out")
    doc["run"]["tstop"] = 700.0
    for key in ("morphologies_dir", "biophysical_neuron_models_dir"):
        doc["components"][key] = str(example / doc["components"][key])
    doc["inputs"]["current_clamp_1"].update(
        {"amp": [0.1, 0.3], "delay": [100.0, 400.0], "duration": [200.0, 100.0]}
    )
    doc["reports"] = {"clamps": {"module": "clamp_report", "variable_name": "ic"}}
    (tmp_path / "config.json").write_text(json.dumps(doc))
    result = run(tmp_path / "config.json", backend="bionet")
    with h5py.File(result.outputs["clamps"]) as h5:
        data = h5["data"][()]
    assert data.shape == (7000, 2)
    t = (np.arange(7000) + 1) * 0.1
    on = (t > 100.5) & (t < 299.5)
    assert np.allclose(data[on, 0], 0.1) and np.allclose(data[(t < 99.5) | (t > 300.5), 0], 0)
    assert np.allclose(data[(t > 400.5) & (t < 499.5), 1], 0.3)
