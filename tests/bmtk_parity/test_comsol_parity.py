"""``comsol`` (extracellular potentials exported from COMSOL) on bionet against BMTK 1.2.0.

A stationary field (a point source above the cells, sampled on a regular mesh and written in
COMSOL's text format) with a waveform table drives the 5_cells_iclamp example in both tools:
the same spikes, and the field changes them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.bmtk_parity.conftest import read_spikes_file, run_bmtk, run_bmtoolkit
from tests.bmtk_parity.test_bionet_parity import example_configs
from tests.bmtk_parity.test_pointnet_parity import assert_same_spikes
from tests.conftest import require_module

TSTOP = 1200.0


def write_comsol_export(path, source=(40.0, 30.0, 150.0), step=60.0, extent=900.0):
    """A COMSOL-style text export of ``V = 2e3 / r`` mV (r in um, at least 20) on a grid."""
    axis = np.arange(-extent, extent + step / 2, step)
    x, y, z = (a.ravel() for a in np.meshgrid(axis, axis, axis, indexing="ij"))
    r = np.maximum(np.sqrt((x - source[0]) ** 2 + (y - source[1]) ** 2 + (z - source[2]) ** 2), 20)
    header = [
        "% Model:              test.mph", "% Version:            COMSOL 6.0",
        "% Date:               Jan 1 2024", "% Dimension:          3",
        f"% Nodes:              {len(x)}", "% Expressions:        1",
        "% Description:        Electric potential", "% Length unit:        um",
        "% x                       y                        z                        V (mV)",
    ]  # fmt: skip
    rows = np.column_stack([x, y, z, 2e3 / r])
    with open(path, "w") as fh:
        fh.write("\n".join(header) + "\n")
        np.savetxt(fh, rows, fmt="%.10g", delimiter="        ")
    return path


def _with_comsol(config, tmp_path):
    comsol = write_comsol_export(tmp_path / "field.txt")
    (tmp_path / "waveform.csv").write_text(
        "time amplitude\n0 0\n300 0\n300.1 1\n700 1\n700.1 -0.5\n900 -0.5\n900.1 0\n1200 0\n"
    )
    doc = json.loads(config.read_text())
    doc["inputs"]["Extracellular_Stim"] = {
        "input_type": "lfp", "node_set": "all", "module": "comsol",
        "comsol_files": [str(comsol)], "waveforms": [str(tmp_path / "waveform.csv")],
        "amplitudes": [1.0],
    }  # fmt: skip
    config.write_text(json.dumps(doc))
    return config


@pytest.mark.slow  # compiles the NMODL library on an empty cache
def test_comsol_field_gives_bmtk_spikes(sonata_examples, tmp_path):
    require_module("neuron")
    require_module("bmtk")
    require_module("scipy")
    plain = tmp_path / "plain"
    plain.mkdir()
    _, ours_plain = example_configs(sonata_examples / "5_cells_iclamp", plain, TSTOP)
    bmtk_cfg, ours_cfg = example_configs(sonata_examples / "5_cells_iclamp", tmp_path, TSTOP)
    bmtk_cfg, ours_cfg = _with_comsol(bmtk_cfg, tmp_path), _with_comsol(ours_cfg, tmp_path)
    ours = assert_same_spikes(
        run_bmtk(bmtk_cfg, simulator="bionet"), run_bmtoolkit(ours_cfg), min_spikes=20
    )
    without = read_spikes_file(run_bmtoolkit(ours_plain) / "spikes.h5")
    assert not without.equals(ours)  # the field matters
