"""The README's first command: build -> filternet -> pointnet -> plots, end to end."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bmtoolkit.sonata import read_spikes, validate_config
from tests.conftest import require_module


@pytest.mark.nest
def test_demo_builds_simulates_and_plots(tmp_path):
    require_module("nest")
    require_module("matplotlib")
    from bmtoolkit.demo import run_demo

    s = run_demo(tmp_path / "demo", n_l4=80, tstop=400.0, seed=3)
    assert s["nodes"]["l4"] == 80 and s["nodes"]["lgn"] > 100
    assert s["edges"]["lgn_to_l4"] > 0 and s["edges"]["l4_to_l4"] > 0
    assert validate_config(s["circuit"]) == []
    assert s["lgn_spikes"] > 0 and s["l4_spikes"] > 0
    l4 = read_spikes(s["output_dir"] / "output" / "spikes.h5")
    assert set(l4["population"]) == {"l4"} and l4["timestamp"].max() < 400.0
    for name in ("raster", "rates"):
        png = s["plots"][name]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    # the same seed gives the same spikes
    again = run_demo(tmp_path / "again", n_l4=80, tstop=400.0, seed=3)
    assert again["l4_spikes"] == s["l4_spikes"]


def test_demo_rejects_bad_arguments(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bmtoolkit.cli", "demo", "-o", str(tmp_path), "--n-l4", "3"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "bmtoolkit demo: error: n_l4: n_l4 must be at least 10, got 3"
    ]
