"""BMTK's own BioNet examples run unchanged through ``bmtoolkit run`` and give BMTK's results.

Each example (shared conformance data ``bmtk_examples/``, read in place) is staged in a
temporary folder: its configs copied byte for byte, everything else (network, inputs, the
sibling ``bio_components``) linked, so that outputs land in the temporary folder and the
configs' relative paths resolve as in the example. BMTK 1.2.0 runs the same configs in its
own subprocess (``tests/bmtk_parity/drivers.py``, with bmtoolkit's NMODL library compiled for
it and BMTK's ``vecevent.mod`` for its virtual cells), ``bmtoolkit run`` in another.

Compared: >= 95 % of BMTK's spikes have one of ours within 1 ms on the same node (and the
counts agree to 5 %), every soma report trace within 1 mV RMS, and for ``bio_14cells`` the
``netcon_report`` lists the synapses on the same sections at the same positions (BMTK's
rule-based placement, random stream included).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.bmtk_parity.conftest import DRIVER, _call
from tests.conftest import conformance_root, require_module

pytestmark = [pytest.mark.neuron, pytest.mark.conformance]

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

#: spike times within this many ms of BMTK's count as the same spike
SPIKE_TOLERANCE = 1.0
#: at least this share of BMTK's spikes must be matched
MIN_MATCHED = 0.95
#: soma traces must follow BMTK's within this RMS (mV)
MAX_RMS_MV = 1.0


@pytest.fixture(scope="module")
def examples() -> Path:
    root = conformance_root() / "bmtk_examples"
    if not root.is_dir():
        pytest.skip(f"BMTK examples not found at {root}; set BMTOOLKIT_CONFORMANCE")
    require_module("neuron")
    require_module("bmtk")
    return root


def stage(examples: Path, name: str, root: Path) -> Path:
    """``root/<name>``: the example's JSON files copied, all else linked (with
    ``bio_components`` beside it, as the configs expect)."""
    (root / name).mkdir(parents=True)
    components = root / "bio_components"
    if not components.exists():
        components.symlink_to(examples / "bio_components")
    for item in (examples / name).iterdir():
        if item.suffix == ".json":
            shutil.copyfile(item, root / name / item.name)
        else:
            (root / name / item.name).symlink_to(item)
    return root / name


def output_dir(folder: Path, config: str) -> Path:
    """The output folder a config names (``$OUTPUT_DIR`` resolved)."""
    from bmtoolkit.sonata import load_config

    cwd = os.getcwd()
    os.chdir(folder)
    try:
        return Path(load_config(folder / config).output.output_dir).resolve()
    finally:
        os.chdir(cwd)


def run_both(examples: Path, name: str, config: str, tmp: Path, **edit) -> tuple[Path, Path]:
    """Run ``config`` of example ``name`` with BMTK and with bmtoolkit; output folders.

    ``edit`` overrides ``run`` values (``tstop``) in both tools' copies alike.
    """
    outs = []
    for tool in ("bmtk", "bmtoolkit"):
        folder = stage(examples, name, tmp / tool)
        if edit:
            doc = json.loads((folder / config).read_text())
            doc["run"].update(edit)
            (folder / config).write_text(json.dumps(doc, indent=2))
        if tool == "bmtk":
            _call([str(DRIVER), "bmtk", "bionet", config, "--vecstim"], folder)
        else:
            _call(["-m", "bmtoolkit.cli", "run", "--quiet", config], folder)
        outs.append(output_dir(folder, config))
    return outs[0], outs[1]


def matched_share(theirs, ours, tolerance: float = SPIKE_TOLERANCE) -> float:
    """Share of BMTK's spikes with a spike of ours on the same node within ``tolerance``
    (each of ours used once)."""
    total = matched = 0
    for key, times in theirs.groupby(["population", "node_id"])["timestamp"]:
        mine = np.sort(ours.loc[(ours.population == key[0]) & (ours.node_id == key[1]),
                                "timestamp"].to_numpy())  # fmt: skip
        used = np.zeros(len(mine), dtype=bool)
        for t in np.sort(times.to_numpy()):
            total += 1
            free = np.flatnonzero(~used & (np.abs(mine - t) <= tolerance))
            if len(free):
                used[free[np.argmin(np.abs(mine[free] - t))]] = True
                matched += 1
    return matched / max(total, 1)


def compare_spikes(theirs_dir: Path, ours_dir: Path, min_spikes: int) -> float:
    from bmtoolkit.sonata import read_spikes

    theirs, ours = read_spikes(theirs_dir / "spikes.h5"), read_spikes(ours_dir / "spikes.h5")
    assert len(theirs) >= min_spikes, "the example must be active"
    assert abs(len(ours) - len(theirs)) <= 0.05 * len(theirs), (len(theirs), len(ours))
    share = matched_share(theirs, ours)
    assert share >= MIN_MATCHED, f"{share:.1%} of BMTK's spikes matched within 1 ms"
    return share


def compare_trace_report(theirs: Path, ours: Path) -> None:
    from bmtoolkit.sonata import read_frame_report

    (a,) = read_frame_report(theirs).values()
    (b,) = read_frame_report(ours).values()
    assert list(np.asarray(a.node_ids)) == list(np.asarray(b.node_ids))
    da, db = np.asarray(a.data()), np.asarray(b.data())
    assert da.shape == db.shape
    rms = np.sqrt(np.mean((da - db) ** 2, axis=0))
    assert rms.max() < MAX_RMS_MV, rms


@pytest.mark.slow
def test_bio_1cell_iclamp(examples, tmp_path):
    """One Allen cell under a 2 s step: every spike and the soma trace as BMTK's."""
    theirs, ours = run_both(examples, "bio_1cell", "config.simulation_iclamp.json", tmp_path)
    assert compare_spikes(theirs, ours, min_spikes=20) == 1.0
    compare_trace_report(theirs / "membrane_potential.h5", ours / "membrane_potential.h5")
    from bmtoolkit.sonata import read_spikes

    a = np.sort(read_spikes(theirs / "spikes.h5")["timestamp"].to_numpy())
    b = np.sort(read_spikes(ours / "spikes.h5")["timestamp"].to_numpy())
    assert np.max(np.abs(a - b)) <= 0.1  # it drifted to 0.6 ms with six-digit 3D points


@pytest.mark.slow
def test_bio_1cell_synaptic_input(examples, tmp_path):
    """The same cell driven by virtual cells through rule-placed synapses."""
    theirs, ours = run_both(examples, "bio_1cell", "config.simulation_syns.json", tmp_path)
    compare_spikes(theirs, ours, min_spikes=10)
    compare_trace_report(theirs / "membrane_potential.h5", ours / "membrane_potential.h5")


@pytest.mark.slow
def test_bio_14cells(examples, tmp_path):
    """Biophysical and point cells, two virtual populations, gaussianLL weights, lowercase
    exp2syn, target_sections/distance_range placement and a netcon_report, for 1 s."""
    theirs, ours = run_both(examples, "bio_14cells", "config.simulation.json", tmp_path,
                            tstop=1000.0)  # fmt: skip
    compare_spikes(theirs, ours, min_spikes=20)
    for name in ("membrane_potential.h5", "calcium_concentration.h5"):
        assert (ours / name).is_file()
    compare_trace_report(theirs / "membrane_potential.h5", ours / "membrane_potential.h5")
    from bmtoolkit.sonata import read_frame_report

    (a,) = read_frame_report(theirs / "syn_report.h5").values()
    (b,) = read_frame_report(ours / "syn_report.h5").values()
    assert list(np.asarray(a.node_ids)) == list(np.asarray(b.node_ids)) == [0, 1, 2, 3]
    # the same synapses (section and position) in the same order: BMTK's placement
    np.testing.assert_array_equal(np.asarray(a.element_ids), np.asarray(b.element_ids))
    np.testing.assert_allclose(np.asarray(a.element_pos), np.asarray(b.element_pos))
    np.testing.assert_allclose(np.asarray(a.data()), np.asarray(b.data()))


@pytest.mark.slow
def test_bio_450cells_compact(examples, tmp_path):
    """450 cells (biophysical and point) with external input, for 700 ms (231 spikes)."""
    theirs, ours = run_both(examples, "bio_450cells_compact", "config.simulation.json",
                            tmp_path, tstop=700.0)  # fmt: skip
    compare_spikes(theirs, ours, min_spikes=150)


def test_bionet_syn_report_is_a_clear_error(examples, tmp_path):
    """``syn_report`` (PointNet's weight recorder) is refused by bionet before the run,
    naming the report and what bionet records instead, never silently ignored."""
    import subprocess
    import sys

    folder = stage(examples, "bio_1cell", tmp_path)
    doc = json.loads((folder / "config.simulation_syns.json").read_text())
    doc["reports"]["weights"] = {"module": "syn_report", "cells": [0], "variable_name": "w"}
    (folder / "syn_report.json").write_text(json.dumps(doc))
    proc = subprocess.run(
        [sys.executable, "-m", "bmtoolkit.cli", "run", "--quiet", "syn_report.json"],
        cwd=folder, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "weights" in proc.stderr and "not a report bionet records" in proc.stderr
    assert "netcon_report" in proc.stderr
    assert not (folder / "output_syns").exists()
