"""Membrane reports up to ``tstop`` when ``tstop`` is not a multiple of NEST's ``min_delay``.

NEST hands a multimeter the samples of a ``min_delay`` slice only when the next slice starts,
so the run must go a little past ``tstop``; spikes must not change because of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bmtoolkit.simulator import run
from bmtoolkit.sonata import read_frame_report, read_spikes
from tests.conftest import require_module

#: not a multiple of the network's smallest delay (1.0 ms) nor of the reports' dt
TSTOP = 123.7


def _config(src: Path, dest: Path, tstop: float, reports: bool) -> Path:
    raw = json.loads(src.read_text())
    raw["run"]["tstop"] = tstop
    raw["reports"] = {}
    if reports:
        raw["reports"] = {
            "v_all": {"cells": "v1", "variable_name": "V_m", "module": "membrane_report",
                      "dt": 0.1, "end_time": TSTOP, "file_name": "v_all.h5"},
            "v_window": {"cells": {"population": "v1", "node_id": [0, 7, 85]},
                         "variable_name": "V_m", "module": "membrane_report", "dt": 0.5,
                         "start_time": 20.0, "end_time": 120.5, "file_name": "v_win.h5"},
        }  # fmt: skip
    dest.write_text(json.dumps(raw))
    return dest


def _spikes(result) -> np.ndarray:
    df = read_spikes(result.outputs["spikes"], population="v1")
    return df.sort_values(["timestamp", "node_id"])[["node_id", "timestamp"]].to_numpy()


@pytest.mark.parametrize("threads", [1, 2])
def test_report_rows_up_to_tstop_and_spikes_unchanged(point_network, tmp_path, threads):
    require_module("nest")
    src = point_network("bmtoolkit")
    runs = {}
    for key, tstop, reports in (("short", TSTOP, True), ("long", TSTOP + 10.0, True),
                                ("plain", TSTOP, False)):  # fmt: skip
        cfg = _config(src, src.with_name(f"report_end_{key}_{threads}.json"), tstop, reports)
        runs[key] = run(cfg, backend="pointnet", threads=threads, output_dir=tmp_path / key,
                        progress=False)  # fmt: skip
    for name, rows, cols in (("v_all", 1237, 100), ("v_window", 201, 3)):
        short = read_frame_report(runs["short"].outputs[name])["v1"].data()
        long = read_frame_report(runs["long"].outputs[name])["v1"].data()
        assert short.shape == long.shape == (rows, cols)
        assert np.all(short < -40.0), "no row may be left unrecorded (0.0)"
        np.testing.assert_allclose(short, long, atol=1e-4)
    plain = _spikes(runs["plain"])
    assert len(plain) > 100 and plain[:, 1].max() <= TSTOP
    np.testing.assert_array_equal(_spikes(runs["short"]), plain)
    longer = _spikes(runs["long"])
    np.testing.assert_array_equal(longer[longer[:, 1] <= TSTOP + 1e-9], plain)
