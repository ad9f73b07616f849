"""BMTK's example build scripts give BMTK's networks with ``bmtk`` -> ``bmtoolkit`` in their imports.

Every ``build_network.py`` of the ``bio_*``, ``point_*``, ``filter_*`` and ``pop_2pops``
examples runs twice, each in a temporary folder of its own (see :func:`stage_build`): as
written, with BMTK 1.2.0, and with its import lines rewritten to bmtoolkit. Both runs start
from the same state of Python's ``random`` and ``numpy.random`` (:mod:`build_runner` seeds them,
then runs the unchanged script), so the scripts' own random draws (positions, rotation angles,
connection functions) are the same numbers in both tools when bmtoolkit calls the script's
functions in BMTK's order (:mod:`bmtoolkit.builder.script_order`).

Both tools must then save the same files with the same populations; every node population
must have the same node types and the same per-node numbers (positions, angles ...), and
every edge population the same edges: the same (edge type, source, target, ``nsyns``) rows.
Only the values of per-edge properties drawn from generators the scripts do not seed (BMTK's
``SWCReader`` draws synapse sites from an unseeded generator of its own) are not compared.

Scripts that cannot run in either tool (they use names NumPy 2 removed, or read files the
examples do not ship) must fail in both, with the same error line, after saving the same
networks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.bmtk_examples.conftest import examples_root
from tests.bmtk_parity.conftest import _env
from tests.bmtk_scripts.test_tutorial_scripts import to_bmtoolkit
from tests.conftest import conformance_root, require_module

RUNNER = Path(__file__).with_name("build_runner.py")
#: the seed both tools' global generators start from
SEED = 2024
#: folders a build script writes into: fresh empty folders, never links to the shared data
WRITTEN = ("network", "inputs")
#: examples whose scripts fail in both tools, with the error both must give (the same line);
#: what they saved before failing must be the same
BOTH_FAIL = {
    # ``np.int`` was removed in NumPy 1.24
    "bio_advanced_stimuli": "AttributeError: module 'numpy' has no attribute 'int'.",
    # ``from bio_components.hdf5 import HDF5``: a module the examples do not ship
    "bio_comsol": "ModuleNotFoundError: No module named 'bio_components.hdf5'",
    # Neuropixels unit tables the examples do not ship (read after two networks are saved)
    "bio_neuropixels": "No such file or directory: 'unit_ids.VISl.valid_units.csv'",
    "point_neuropixels": "No such file or directory: 'units_maps/unit_ids.VISl.valid_units.csv'",
    # Python 2 pickles of filter parameters, which Python 3 reads only with encoding="latin1"
    "filter_graitings_preset": "UnicodeDecodeError: 'ascii' codec can't decode byte 0xc1 in "
    "position 1: ordinal not in range(128)",
}
#: BMTK builds of more than a minute on a 2-core machine (bio_450cells: about 9 minutes, its
#: synapse rule loads each target's morphology into NEURON; bmtoolkit's build takes 17 s)
SLOW = {"bio_450cells"}


def _examples() -> list[str]:
    root = conformance_root() / "bmtk_examples"
    if not root.is_dir():  # collected without data: one test that skips with the reason
        return ["point_stdp"]
    names = sorted(
        p.parent.name
        for p in root.glob("*/build_network.py")
        if p.parent.name.startswith(("bio_", "point_", "filter_")) or p.parent.name == "pop_2pops"
    )
    return names


def stage_build(example: str, tool: str, root: Path) -> Path:
    """A folder ``root/example`` in which ``example``'s build script runs as in the example.

    Every file and folder of the example is linked, except the folders the script writes
    (:data:`WRITTEN`, made empty) and its outputs; the sibling folders (``bio_components`` ...)
    are linked next to it. ``build_network.py`` is a copy, with its import lines rewritten for
    bmtoolkit when ``tool`` is ``"bmtoolkit"``. Returns the folder.
    """
    src = examples_root() / example
    dest = root / example
    dest.mkdir(parents=True)
    for sibling in src.parent.iterdir():
        if sibling.is_dir() and sibling.name != example:
            os.symlink(sibling, root / sibling.name)
    for entry in src.iterdir():
        if entry.name in WRITTEN or entry.name.startswith("output"):
            continue
        if entry.name != "build_network.py":
            os.symlink(entry, dest / entry.name)
    for name in WRITTEN:
        (dest / name).mkdir()
    text = (src / "build_network.py").read_text()
    if tool == "bmtoolkit":
        text = to_bmtoolkit(text)
        assert "bmtk." not in text.replace("bmtoolkit", ""), "an import was not rewritten"
    (dest / "build_network.py").write_text(text)
    return dest


def run_build(folder: Path) -> subprocess.CompletedProcess:
    """Run ``folder/build_network.py`` through :mod:`build_runner` (seeded, unchanged)."""
    env = _env()
    env.update(MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
    env.pop("DISPLAY", None)
    return subprocess.run(
        [sys.executable, str(RUNNER), str(SEED), "build_network.py"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


#: the line of a traceback naming the exception (``ValueError: ...``)
ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)\b.*")


def _error_line(proc: subprocess.CompletedProcess) -> str:
    """The last line of ``proc``'s stderr that names an exception ("" without one)."""
    lines = [ln for ln in proc.stderr.splitlines() if ERROR_LINE.match(ln)]
    return lines[-1] if lines else ""


def _same_values(a: np.ndarray, b: np.ndarray, what: str) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, what
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        np.testing.assert_array_equal(a.astype(float), b.astype(float), err_msg=what)
    else:
        assert [str(v) for v in a.tolist()] == [str(v) for v in b.tolist()], what


def compare_nodes(ours: Path, peer: Path) -> int:
    """Node files of both runs hold the same populations, node types and per-node numbers;
    returns the number of nodes compared."""
    from bmtoolkit.sonata import read_nodes

    names = sorted(p.name for p in peer.glob("*_nodes.h5"))
    assert sorted(p.name for p in ours.glob("*_nodes.h5")) == names
    n = 0
    for name in names:
        types = name.replace("_nodes.h5", "_node_types.csv")
        a = read_nodes(ours / name, ours / types if (ours / types).exists() else None)
        b = read_nodes(peer / name, peer / types if (peer / types).exists() else None)
        assert sorted(a) == sorted(b), name
        for pop in b:
            pa, pb = a[pop], b[pop]
            assert pa.size == pb.size, (name, pop)
            _same_values(pa.ids(), pb.ids(), f"{pop} node ids")
            _same_values(pa.node_type_ids(), pb.node_type_ids(), f"{pop} node types")
            ca, cb = pa.columns(), pb.columns()
            for col, values in cb.items():
                values = np.asarray(values)
                if values.dtype.kind in "biuf" and col in ca:  # drawn or given per node
                    _same_values(ca[col], values, f"{pop} column {col}")
            n += pb.size
    return n


def _edge_rows(pop) -> np.ndarray:
    """(edge type, source, target, nsyns) of every edge, sorted."""
    nsyns = (
        np.asarray(pop.column("nsyns"))
        if "nsyns" in pop.property_names
        else np.ones(pop.size, dtype=np.int64)
    )
    rows = np.column_stack(
        [pop.edge_type_ids(), pop.source_node_ids(), pop.target_node_ids(), nsyns]
    ).astype(np.int64)
    return rows[np.lexsort(rows.T[::-1])]


def compare_edges(ours: Path, peer: Path) -> int:
    """Edge files of both runs hold the same populations and the same edges; returns the
    number of edges compared."""
    from bmtoolkit.sonata import read_edges

    names = sorted(p.name for p in peer.glob("*_edges.h5"))
    assert sorted(p.name for p in ours.glob("*_edges.h5")) == names
    n = 0
    for name in names:
        a, b = read_edges(ours / name), read_edges(peer / name)
        assert sorted(a) == sorted(b), name
        for pop in b:
            ra, rb = _edge_rows(a[pop]), _edge_rows(b[pop])
            assert len(ra) == len(rb), (name, pop, len(ra), len(rb))
            np.testing.assert_array_equal(ra, rb, err_msg=f"{name}/{pop}")
            n += len(rb)
    return n


def _params():
    return [
        pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name for name in _examples()
    ]


@pytest.mark.parametrize("example", _params())
def test_build_script_gives_bmtks_network(example, tmp_path):
    require_module("bmtk")
    ours = stage_build(example, "bmtoolkit", tmp_path / "ours")
    peer = stage_build(example, "bmtk", tmp_path / "bmtk")
    mine, theirs = run_build(ours), run_build(peer)
    if example in BOTH_FAIL:
        expected = BOTH_FAIL[example]
        assert theirs.returncode != 0 and expected in _error_line(theirs), theirs.stderr
        assert mine.returncode != 0 and _error_line(mine) == _error_line(theirs), mine.stderr
    else:
        assert theirs.returncode == 0, f"BMTK failed:\n{theirs.stderr[-3000:]}"
        assert mine.returncode == 0, f"bmtoolkit failed:\n{mine.stderr[-3000:]}"
    n_nodes = compare_nodes(ours / "network", peer / "network")
    n_edges = compare_edges(ours / "network", peer / "network")
    assert n_nodes > 0 or example in BOTH_FAIL
    print(f"{example}: {n_nodes} nodes and {n_edges} edges identical")
