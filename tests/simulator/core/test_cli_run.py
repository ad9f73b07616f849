"""``bmtoolkit run``: options reach the run, errors are one line with exit code 1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from bmtoolkit.cli import main


def test_run_command_with_backend_threads_and_output_dir(tiny_config, tmp_path, capsys):
    cfg = tiny_config()
    out = tmp_path / "cli_out"
    code = main(["run", str(cfg), "--backend", "numpynet", "--threads", "2", "--seed", "5",
                 "--output-dir", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "numpynet: setup" in printed and "spikes:" in printed
    doc = json.loads((out / "run_config.json").read_text())
    assert doc["run"]["threads"] == 2 and doc["run"]["random_seed"] == 5
    assert (out / "spikes.h5").exists()


def test_run_command_reports_errors_in_one_line(tiny_config, tmp_path, capsys):
    code = main(["run", str(tiny_config()), "--backend", "nosuchnet", "--quiet"])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nosuchnet" in err and "pointnet" in err


def test_run_command_prints_the_summary_on_rank_0_only(tiny_config, tmp_path, capsys, monkeypatch):
    """A rank other than 0 (as mpiexec sets it in the environment) prints nothing."""
    monkeypatch.setenv("OMPI_COMM_WORLD_RANK", "1")
    out = tmp_path / "rank1"
    out.mkdir()  # rank 0 creates the folder; this process plays rank 1 alone
    assert main(["run", str(tiny_config()), "--backend", "numpynet", "--output-dir", str(out)]) == 0
    assert capsys.readouterr().out == ""
    # only rank 0 writes into the output folder; another rank's own staging folder is gone
    assert list(out.iterdir()) == []
    assert not [p for p in tmp_path.iterdir() if "bmtoolkit-staging" in p.name]


@pytest.mark.mpi
def test_run_command_under_mpiexec_prints_one_summary(tiny_config, tmp_path):
    """``mpiexec -n 2 bmtoolkit run``: one timing line, not one per rank."""
    mpiexec = shutil.which("mpiexec")
    if mpiexec is None:
        pytest.skip("mpiexec not found (apt-get install openmpi-bin)")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [mpiexec, "--oversubscribe", "-n", "2", sys.executable, "-m", "bmtoolkit.cli", "run",
           str(tiny_config()), "--backend", "numpynet", "--output-dir", str(tmp_path / "mpi")]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.count("numpynet: setup") == 1, proc.stdout
    assert proc.stdout.count("spikes:") == 1, proc.stdout
