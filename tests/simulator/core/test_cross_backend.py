"""The same config on numpynet and pointnet (NEST iaf_psc_delta): same spikes within a step.

Both integrate a current-based LIF with delta synapses exactly on the grid, so a disagreement
points at the common code (inputs, clamps, delays, weights, outputs) of one of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.simulator import run
from bmtoolkit.sonata import read_spikes, write_spikes
from tests.conftest import require_module


@pytest.mark.parametrize("amp", [250.0, 400.0])
def test_numpynet_and_pointnet_agree(tiny_config, tmp_path, amp):
    require_module("nest")
    spikes = tmp_path / "inp.h5"
    write_spikes(spikes, {"inp": (np.array([0, 1, 0, 1]), np.array([12.0, 20.0, 33.0, 61.0]))})
    cfg = tiny_config(
        inputs={
            "clamp": {"input_type": "current_clamp", "module": "IClamp", "node_set": "v1",
                      "amp": amp, "delay": 30.0, "duration": 50.0},
            "spikes": {"input_type": "spikes", "module": "sonata", "node_set": "inp",
                       "input_file": str(spikes)},
        }
    )  # fmt: skip
    out = {}
    for backend in ("numpynet", "pointnet"):
        result = run(cfg, backend=backend, output_dir=tmp_path / backend, progress=False)
        df = read_spikes(result.outputs["spikes"])
        out[backend] = df.sort_values(["node_id", "timestamp"]).reset_index(drop=True)
    ours, nest = out["numpynet"], out["pointnet"]
    assert len(nest) > 5
    assert ours["node_id"].tolist() == nest["node_id"].tolist()
    np.testing.assert_allclose(ours["timestamp"], nest["timestamp"], atol=1e-6)
