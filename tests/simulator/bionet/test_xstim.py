"""xstim pieces that need no simulator: waveforms, electrode meshes, transfer potentials."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.bionet.xstim import Electrodes, Waveform


def test_waveforms_dc_sin_and_table(tmp_path):
    dc = Waveform.from_config({"shape": "DC", "amp": 2.0, "del": 10.0, "dur": 5.0})
    assert [dc(t) for t in (9.9, 10.0, 10.1, 14.9, 15.0)] == [0.0, 0.0, 2.0, 2.0, 0.0]
    sin = Waveform.from_config({"shape": "sin", "amp": 1.0, "del": 0.0, "dur": 1e3, "freq": 8.0})
    assert sin(31.25) == pytest.approx(math.sin(2 * math.pi * 8e-3 * 31.25 + math.pi))
    (tmp_path / "w.csv").write_text("time amplitude\n0 0\n10 1\n")
    assert Waveform.from_config(str(tmp_path / "w.csv"))(2.5) == pytest.approx(0.25)
    with pytest.raises(ConfigError, match="shape 'ramp'"):
        Waveform.from_config({"shape": "ramp", "amp": 1, "del": 0, "dur": 1})


def test_mesh_is_rotated_then_centred_and_shares_the_current(tmp_path):
    (tmp_path / "mesh.csv").write_text("x_pos y_pos z_pos\n0 0 0\n10 0 0\n")
    (tmp_path / "pos.csv").write_text(
        "electrode_mesh_file pos_x pos_y pos_z rotation_x rotation_y rotation_z\n"
        f"mesh.csv 100 0 0 0 0 {math.pi / 2}\n"
    )
    el = Electrodes.read(tmp_path / "pos.csv")
    np.testing.assert_allclose(el.points[0], [[100, -5, 0], [100, 5, 0]], atol=1e-9)
    centre = np.array([[0.0, 0.0, 0.0]])
    r = math.hypot(100, 5)
    expected = (2 / r) / 2 * 300 / (4 * math.pi) * 0.01 * 1e6
    np.testing.assert_allclose(el.transfer(centre, 300.0), [expected])
    with pytest.raises(ConfigError, match="at least 10.0 um"):
        el.transfer(np.array([[100.0, 1.0, 0.0]]), 300.0, "node 0")
