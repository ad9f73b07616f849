"""``comsol`` (extracellular potentials exported from COMSOL) on bionet against BMTK 1.2.0.

A stationary field (a point source above the cells, sampled on a regular mesh and written in
COMSOL's text format) with a waveform table drives the 5_cells_iclamp example in both tools:
the same spikes, and the field changes them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

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
def test_comsol_field_gives_bmtk_spikes(stimulus_parity):
    stimulus_parity(_with_comsol, requires=("scipy",), tstop=TSTOP)
