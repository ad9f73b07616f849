"""BMTK's point examples run unchanged by ``bmtoolkit run`` and by BMTK 1.2.0: same spikes.

Every config of ``point_120cells``, ``point_450cells``, ``point_450glifs``, ``point_iclamp``
and ``point_stdp`` is listed below. Each runs on the example's own files (linked into a
temporary folder, see :func:`~tests.bmtk_examples.conftest.stage`); the only change to a
config is a shorter ``tstop`` where noted, to keep the suite quick. BMTK runs the same
config in its own subprocess (``tests/bmtk_parity/drivers.py``) and the spikes must be
identical: same populations, node ids and times.

Two configs name input files that the examples do not ship (``config.simulation_iclamp.nwb``
an NWB file, ``config.simulation_perturbations`` a ``thalamus_spikes.csv``): both tools must
refuse them, bmtoolkit with a one-line error naming the missing file.

The build scripts (``build_network.py``) are run by ``test_build_scripts.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.bmtk_examples.conftest import stage
from tests.bmtk_parity.conftest import DRIVER, _call, _env, read_spikes_file
from tests.conftest import require_module

#: (example, config, tstop or None to keep the config's)
RUNS = [
    ("point_120cells", "config.simulation.json", 200.0),
    ("point_120cells", "config.simulation_iclamp.json", 1000.0),
    ("point_120cells", "config.simulation_iclamp.aslist.json", 1600.0),
    ("point_120cells", "config.simulation_iclamp.csv.json", 1000.0),
    ("point_450cells", "config.simulation.json", 150.0),
    ("point_450glifs", "config.simulation.json", 150.0),
    ("point_iclamp", "config.simulation_iclamp.json", 1000.0),
    ("point_iclamp", "config.simulation_iclamp.aslist.json", 1600.0),
    ("point_iclamp", "config.simulation_iclamp.csv.json", 1000.0),
    ("point_stdp", "config.simulation_virtual.json", 1000.0),
    ("point_stdp", "config.simulation_iclamp.json", 1000.0),
]
#: configs naming files the examples do not ship: (example, config, the missing file)
MISSING_INPUTS = [
    ("point_120cells", "config.simulation_iclamp.nwb.json", "483111427_ephys.nwb"),
    ("point_iclamp", "config.simulation_iclamp.nwb.json", "483111427_ephys.nwb"),
    ("point_120cells", "config.simulation_perturbations.json", "thalamus_spikes.csv"),
]


def _output_dir(config: Path) -> Path:
    from bmtoolkit.sonata import load_simulation_config

    return Path(load_simulation_config(config).output.output_dir)


def _run_both(example: str, config: str, tstop: float | None, tmp_path: Path):
    require_module("nest")
    require_module("bmtk")
    ours = stage(example, config, tmp_path / "ours", tstop)
    peer = stage(example, config, tmp_path / "bmtk", tstop)
    _call(["-m", "bmtoolkit.cli", "run", "--quiet", str(ours)], ours.parent)
    _call([str(DRIVER), "bmtk", "pointnet", str(peer)], peer.parent)
    return _output_dir(ours), _output_dir(peer)


def _clamp_driven(config: Path) -> float | None:
    """``dt`` when every input of ``config`` is a current clamp, else ``None``."""
    from bmtoolkit.sonata import load_simulation_config

    sim = load_simulation_config(config)
    kinds = {str(i.input_type or i.module).lower() for i in sim.inputs.values()}
    clamps = {"current_clamp", "csv", "iclamp"}
    return float(sim.run.dt) if kinds and kinds <= clamps else None


def _compare_traces(ours: Path, peer: Path, shift: int) -> int:
    """Membrane reports of both runs agree to 1e-3 mV, ours row ``i`` against BMTK's row
    ``i + shift``; returns how many reports were compared."""
    from bmtoolkit.sonata import read_frame_report

    n = 0
    for path in sorted(ours.glob("*.h5")):
        if path.name.startswith("spikes"):
            continue
        mine, theirs = read_frame_report(path), read_frame_report(peer / path.name)
        for pop, rep in mine.items():
            a, b = rep.data(), theirs[pop].data()
            assert rep.node_ids.tolist() == theirs[pop].node_ids.tolist()
            m = min(len(a), len(b) - shift)
            assert m > 0.9 * len(a)
            np.testing.assert_allclose(a[:m], b[shift : shift + m], rtol=0, atol=1e-3)
            n += 1
    return n


@pytest.mark.parametrize(("example", "config", "tstop"), RUNS,
                         ids=[f"{e}/{c}" for e, c, _ in RUNS])  # fmt: skip
def test_point_example_spikes_identical_to_bmtk(example, config, tstop, tmp_path):
    """Identical spikes; where current clamps drive the network, BMTK's are one time step
    later: its clamps reach the cells one step after the configured ``delay`` (the
    generator's connection delay; see docs/differences_from_bmtk.md), ours on time."""
    ours, peer = _run_both(example, config, tstop, tmp_path)
    a = read_spikes_file(ours / "spikes.h5")
    b = read_spikes_file(peer / "spikes.h5")
    step = _clamp_driven(tmp_path / "ours" / example / config)
    if step is not None:
        a["timestamp"] += step
    assert len(a) == len(b)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=0, atol=1e-6)
    n_traces = _compare_traces(ours, peer, shift=0 if step is None else 1)
    # a run without spikes (clamps of a few pA) is checked on its membrane traces
    assert len(b) > 0 or n_traces > 0
    if example == "point_stdp":  # BMTK's weight_recorder table: one row per transmitted spike
        wa = pd.read_csv(ours / "stdp_weights.csv", sep=" ")
        wb = pd.read_csv(peer / "stdp_weights.csv", sep=" ")
        assert list(wa.columns) == list(wb.columns) and len(wb) > 10
        keys = ["time_ms", "source_population", "source_node_id", "target_node_id"]
        wa, wb = (w.sort_values(keys, kind="stable").reset_index(drop=True) for w in (wa, wb))
        if step is not None:
            wa["time_ms"] += step
        # BMTK's table passes through NEST's text output, which keeps 3 decimals; ours
        # keeps the full double
        pd.testing.assert_frame_equal(wa.drop(columns="ports"), wb.drop(columns="ports"),
                                      check_exact=False, rtol=0, atol=5.001e-4)  # fmt: skip
        assert (wa["weights"] != wa["weights"].round(3)).any()


def test_point_stdp_full_second_is_quick(tmp_path):
    """1 s of point_stdp at dt 0.01 ms with the weight recorder: under 30 s, and the weight
    table holds transmitted spikes only (BMTK's recorder), not one row per time step."""
    import time

    require_module("nest")
    cfg = stage("point_stdp", "config.simulation_virtual.json", tmp_path, 1000.0)
    t0 = time.perf_counter()
    _call(["-m", "bmtoolkit.cli", "run", "--quiet", str(cfg)], cfg.parent)
    assert time.perf_counter() - t0 < 30.0
    w = pd.read_csv(_output_dir(cfg) / "stdp_weights.csv", sep=" ")
    n_steps = int(1000.0 / 0.01)
    assert 0 < len(w) < n_steps / 100
    assert w["time_ms"].is_monotonic_increasing and set(w["source_population"]) == {"sources"}


@pytest.mark.parametrize(("example", "config", "missing"), MISSING_INPUTS,
                         ids=[f"{e}/{c}" for e, c, _ in MISSING_INPUTS])  # fmt: skip
def test_configs_with_unshipped_inputs_are_refused_by_both(example, config, missing, tmp_path):
    require_module("bmtk")
    ours = stage(example, config, tmp_path / "ours")
    peer = stage(example, config, tmp_path / "bmtk")
    proc = subprocess.run([sys.executable, "-m", "bmtoolkit.cli", "run", "--quiet", str(ours)],
                          cwd=ours.parent, env=_env(), capture_output=True, text=True,
                          timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 1
    error_lines = [ln for ln in proc.stderr.splitlines() if "error" in ln]
    assert len(error_lines) == 1 and missing in error_lines[0], proc.stderr[-2000:]
    assert not (ours.parent / "output" / "spikes.h5").exists()
    with pytest.raises(AssertionError):  # BMTK fails on the same config
        _call([str(DRIVER), "bmtk", "pointnet", str(peer)], peer.parent, timeout=300)
