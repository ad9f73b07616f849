"""``xstim`` (extracellular stimulation by an electrode) on bionet against BMTK 1.2.0.

The 5_cells_iclamp example (five Allen perisomatic cells with current clamps) gets an
extracellular electrode with a sinusoidal waveform, in BMTK's own config format; BMTK's BioNet
and ``bmtoolkit run`` give the same spikes, and the stimulus changes them.
"""

from __future__ import annotations

import json

import pytest

from tests.bmtk_parity.conftest import read_spikes_file, run_bmtk, run_bmtoolkit
from tests.bmtk_parity.test_bionet_parity import example_configs
from tests.bmtk_parity.test_pointnet_parity import assert_same_spikes
from tests.conftest import require_module

TSTOP = 1200.0
WAVEFORM = {"shape": "sin", "del": 300.0, "amp": 0.002, "dur": 800.0, "freq": 8.0}


def _with_xstim(config, tmp_path):
    (tmp_path / "mesh.csv").write_text("x_pos y_pos z_pos\n0.0 0.0 0.0\n0.0 5.0 0.0\n")
    (tmp_path / "electrodes.csv").write_text(
        "ip electrode_mesh_file pos_x pos_y pos_z rotation_x rotation_y rotation_z\n"
        "0 mesh.csv 60.0 40.0 120.0 0.0 0.3 0.0\n"
    )
    doc = json.loads(config.read_text())
    doc["inputs"]["Extracellular_Stim"] = {
        "input_type": "lfp", "node_set": "all", "module": "xstim",
        "positions_file": str(tmp_path / "electrodes.csv"), "mesh_files_dir": str(tmp_path),
        "resistance": 300.0, "waveform": WAVEFORM,
    }  # fmt: skip
    config.write_text(json.dumps(doc))
    return config


@pytest.mark.slow  # compiles the NMODL library on an empty cache
def test_xstim_gives_bmtk_spikes(sonata_examples, tmp_path):
    require_module("neuron")
    require_module("bmtk")
    plain = tmp_path / "plain"
    plain.mkdir()
    _, ours_plain = example_configs(sonata_examples / "5_cells_iclamp", plain, TSTOP)
    bmtk_cfg, ours_cfg = example_configs(sonata_examples / "5_cells_iclamp", tmp_path, TSTOP)
    bmtk_cfg, ours_cfg = _with_xstim(bmtk_cfg, tmp_path), _with_xstim(ours_cfg, tmp_path)
    ours = assert_same_spikes(
        run_bmtk(bmtk_cfg, simulator="bionet"), run_bmtoolkit(ours_cfg), min_spikes=20
    )
    without = read_spikes_file(run_bmtoolkit(ours_plain) / "spikes.h5")
    assert not without.equals(ours)  # the stimulus matters
