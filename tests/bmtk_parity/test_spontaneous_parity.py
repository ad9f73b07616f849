"""``syn_activity`` (spontaneously firing synapses) on bionet against BMTK 1.2.0.

BMTK's bio_advanced_stimuli example ``config.simulation_spont_activity.json``, read unchanged
except for the run length, the output folder and the reports (left out to keep it fast): an
"activator" cell's synapses onto five biophysical cells fire at given times. The cells stay
below threshold in both tools; their somatic voltage traces agree.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.bmtk_parity.conftest import read_spikes_file, run_bmtk, run_bmtoolkit
from tests.conftest import conformance_root, require_module

TSTOP = 1600.0


def _config(example, tmp_path, tool):
    doc = json.loads((example / "config.simulation_spont_activity.json").read_text())
    doc["manifest"]["$BASE_DIR"] = str(example)
    doc["manifest"]["$OUTPUT_DIR"] = str(tmp_path / f"out_{tool}")
    doc["output"]["output_dir"] = str(tmp_path / f"out_{tool}")
    doc["components"].pop("mechanisms_dir")  # the drivers load bmtoolkit's NMODL library
    doc["run"]["tstop"] = TSTOP
    doc["reports"].pop("intracell_ca")
    # BMTK resolves {"model_type": "biophysical"} to no cell (docs/differences_from_bmtk.md)
    doc["reports"]["membrane_potential"]["cells"] = "bio"
    path = tmp_path / f"{tool}.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.slow
def test_spontaneous_synapses_give_bmtk_spikes(tmp_path):
    require_module("neuron")
    require_module("bmtk")
    example = conformance_root() / "bmtk_examples" / "bio_advanced_stimuli"
    if not example.is_dir():
        pytest.skip(f"BMTK examples not found at {example}")
    theirs = run_bmtk(_config(example, tmp_path, "bmtk"), simulator="bionet", vecstim=True)
    ours = run_bmtoolkit(_config(example, tmp_path, "ours"))
    assert len(read_spikes_file(ours / "spikes.h5")) == len(read_spikes_file(theirs / "spikes.h5"))
    v_theirs = _trace(theirs / "v_report.h5")
    v_ours = _trace(ours / "v_report.h5")
    assert v_ours.shape == v_theirs.shape
    rms = np.sqrt(np.mean((v_ours - v_theirs) ** 2, axis=0))
    assert rms.max() < 0.01, rms  # mV
    # each timestamp (500, 1000, 1500 ms) depolarises the cells the activator reaches
    t = np.arange(v_ours.shape[0]) * 0.1
    before, after = v_ours[(t > 490) & (t < 500)].mean(0), v_ours[(t > 500) & (t < 530)].max(0)
    assert (after - before).max() > 0.5


def _trace(path):
    from bmtoolkit.sonata import read_frame_report

    (frames,) = read_frame_report(path).values()
    data = np.asarray(frames.data(), dtype=float)
    return data[:, np.argsort(frames.node_ids)]
