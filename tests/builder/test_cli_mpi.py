"""``bmtoolkit build`` and MPI builds equal to serial ones byte for byte."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bmtoolkit.cli import main

SCRIPT = Path(__file__).with_name("build_script.py")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_cli_build_runs_script_with_seed(tmp_path):
    assert main(["build", "--seed", "5", str(SCRIPT), str(tmp_path / "a")]) == 0
    assert main(["build", "--seed", "5", str(SCRIPT), str(tmp_path / "b")]) == 0
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert sorted(a) == [
        "v1_node_types.csv",
        "v1_nodes.h5",
        "v1_v1_edge_types.csv",
        "v1_v1_edges.h5",
    ]
    assert a == b
    # forked workers (one_to_all callables blocked by sources, per-pair ones by targets)
    assert main(["build", "--seed", "5", "--workers", "3", str(SCRIPT), str(tmp_path / "c")]) == 0
    assert _files(tmp_path / "c") == a
    assert main(["build", str(tmp_path / "missing.py")]) == 1


@pytest.mark.mpi
def test_mpiexec_build_equals_serial_build(tmp_path):
    pytest.importorskip("mpi4py", reason="mpi4py is not installed")
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("mpiexec not found (install OpenMPI) - cannot run the MPI build")
    env = {**os.environ, "BMTOOLKIT_BUILD_SEED": "11", "PYTHONPATH": os.getcwd()}
    serial = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "serial")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert serial.returncode == 0, serial.stderr
    cmd = [mpiexec, "-n", "2"]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    cmd += ["--oversubscribe", sys.executable, str(SCRIPT), str(tmp_path / "mpi")]
    par = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert par.returncode == 0, par.stdout + par.stderr
    a, b = _files(tmp_path / "serial"), _files(tmp_path / "mpi")
    assert sorted(a) == sorted(b) and len(a) == 4
    for name in a:
        assert a[name] == b[name], name
