"""The NEST conformance examples run from their own configs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmtoolkit.exceptions import MissingFileError
from bmtoolkit.simulator import run
from bmtoolkit.sonata import read_frame_report, read_spikes
from tests.conftest import require_module

pytestmark = pytest.mark.conformance


def _run(path, tmp_path, **kw):
    require_module("nest")
    return run(path, output_dir=tmp_path / "out", progress=False, **kw)


def test_one_cell_iclamp(sonata_examples, tmp_path):
    res = _run(
        sonata_examples / "sim_tests/intfire/one_cell_iclamp_nest/input/config.json", tmp_path
    )
    spikes = read_spikes(res.outputs["spikes"])
    # 190 pA from 100 ms to 900 ms: regular firing inside the step only
    assert len(spikes) > 20
    assert spikes["timestamp"].between(100.0, 900.0).all()
    isi = np.diff(spikes["timestamp"].to_numpy())
    assert isi.std() < 0.05 * isi.mean()
    rep = read_frame_report(res.outputs["membrane_potential"])["one_cell_iclamp"]
    v = rep.data()
    assert v.shape == (100000, 1)  # 1000 ms at dt 0.01
    assert v[:9900].max() < -60 and v.max() < -30  # at rest before the clamp, reset after spikes


def test_ten_cells_iclamp_drives_only_the_clamped_node_set(sonata_examples, tmp_path):
    res = _run(
        sonata_examples / "sim_tests/intfire/ten_cells_iclamp_nest/input/config.json", tmp_path
    )
    spikes = read_spikes(res.outputs["spikes"])
    assert res.extra["n_connections"] == 20
    assert len(spikes) > 20
    assert spikes["timestamp"].between(100.0, 903.0).all()


@pytest.mark.slow
def test_ten_cells_spike_input_depolarizes_targets(sonata_examples, tmp_path):
    cfg = sonata_examples / "sim_tests/intfire/ten_cells_spikes_nest/input/config.json"
    res = _run(cfg, tmp_path)  # 400,000 steps of 1 us
    rep = read_frame_report(res.outputs["membrane_potential"])["post"]
    assert rep.node_ids.tolist() == [0, 1, 2, 3, 4]
    v = rep.data()
    assert v.shape == (400000, 5)
    first = 26.034822 + 0.1  # first input spike plus the edge delay
    idx = int(first / 0.001)
    # relaxing from V_m = -70 towards E_L = -78 until the first input arrives, then EPSPs
    assert np.all(np.diff(v[: idx - 10, 0]) <= 1e-6)
    assert np.diff(v[idx:, 0]).max() > 1e-4
    assert read_spikes(res.outputs["spikes"]).empty  # 25 pA synapses stay subthreshold


def test_300_pointneurons(sonata_examples, tmp_path):
    res = _run(sonata_examples / "300_pointneurons/config.json", tmp_path)
    assert res.extra["n_connections"] == 27588 + 20844
    spikes = read_spikes(res.outputs["spikes"])
    assert set(spikes["population"]) == {"internal"}
    assert spikes["node_id"].between(0, 299).all()
    assert spikes["node_id"].nunique() > 250
    assert np.all(np.diff(spikes["timestamp"].to_numpy()) >= 0)  # sorted by time
    rep = read_frame_report(res.outputs["membrane_potential"])["internal"]
    assert rep.node_ids.tolist() == [0, 80, 160, 240, 270]


def test_missing_input_file_is_reported_with_its_name(sonata_examples, tmp_path):
    src = sonata_examples / "sim_tests/intfire/ten_cells_spikes_nest/input"
    raw = json.loads((src / "simulation_config.json").read_text())
    raw["manifest"]["$INPUT_DIR"] = str(src)
    raw["network"] = str(src / "circuit_config.json")
    raw["inputs"]["external_spike_trains"]["input_file"] = "$INPUT_DIR/no_such_spikes.h5"
    raw["output"]["output_dir"] = str(tmp_path / "out")
    cfg = tmp_path / "simulation_config.json"
    cfg.write_text(json.dumps(raw))
    require_module("nest")
    with pytest.raises(MissingFileError) as info:
        run(cfg, progress=False)
    msg = str(info.value)
    assert "no_such_spikes.h5" in msg and "external_spike_trains" in msg
