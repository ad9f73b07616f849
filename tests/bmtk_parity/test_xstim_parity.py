"""``xstim`` (extracellular stimulation by an electrode) on bionet against BMTK 1.2.0.

The 5_cells_iclamp example (five Allen perisomatic cells with current clamps) gets an
extracellular electrode with a sinusoidal waveform, in BMTK's own config format; BMTK's BioNet
and ``bmtoolkit run`` give the same spikes, and the stimulus changes them.
"""

from __future__ import annotations

import json

import pytest

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
def test_xstim_gives_bmtk_spikes(stimulus_parity):
    stimulus_parity(_with_xstim, tstop=TSTOP)
