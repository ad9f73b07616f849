"""``bmtoolkit run --emit-slurm N CONFIG``: the SLURM script, and that it runs as written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from bmtoolkit.cli import main
from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.slurm import SlurmJob, slurm_script


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "my run" / "config.json"
    path.parent.mkdir()
    path.write_text("{}")
    return path


def _header(script: str) -> dict[str, str]:
    out = {}
    for line in script.splitlines():
        if line.startswith("#SBATCH --"):
            key, _, value = line[len("#SBATCH --") :].partition("=")
            out[key] = value
    return out


def test_cli_prints_srun_script(config, capsys):
    code = main(["run", "--emit-slurm", "4", "--tasks-per-node", "8", "--threads", "4",
                 "--time", "2:30:00", "--partition", "cpu", "--account", "lab", "--mem", "120G",
                 "--backend", "pointnet", str(config)])  # fmt: skip
    assert code == 0
    script = capsys.readouterr().out
    assert script.startswith("#!/bin/bash\n")
    assert _header(script) == {
        "job-name": "bmtoolkit-my_run", "nodes": "4", "ntasks-per-node": "8",
        "cpus-per-task": "4", "time": "2:30:00", "output": "bmtoolkit-%j.out",
        "partition": "cpu", "account": "lab", "mem": "120G",
    }  # fmt: skip
    assert "= 32 MPI ranks, 128 CPUs" in script
    assert "export OMP_NUM_THREADS=4\n" in script
    last = script.splitlines()[-1]
    assert last == (f"srun --cpu-bind=cores {sys.executable} -m bmtoolkit.cli run "
                    f"'{config.resolve()}' --threads 4 --quiet --backend pointnet")  # fmt: skip


def test_mpiexec_launcher_maps_ranks_and_threads(config):
    script = slurm_script(SlurmJob(str(config), nodes=3, tasks_per_node=2, threads=5,
                                   launcher="mpiexec", output_dir="out"))  # fmt: skip
    last = script.splitlines()[-1]
    assert last.startswith("mpiexec -n 6 --map-by ppr:2:node:PE=5 --bind-to core ")
    assert f"--threads 5 --quiet --output-dir {os.path.abspath('out')}" in last
    assert "partition" not in _header(script)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"nodes": 0}, "nodes: expected a whole number >= 1, got 0"),
        ({"nodes": 1, "threads": -2}, "threads"),
        ({"nodes": 1, "launcher": "qsub"}, "launcher 'qsub' unknown"),
        ({"nodes": 1, "time": "one hour"}, "not a SLURM time"),
    ],
)
def test_bad_values_are_refused(config, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        SlurmJob(str(config), **kwargs)


def test_missing_config_is_named(tmp_path):
    with pytest.raises(MissingFileError, match="nope.json"):
        slurm_script(SlurmJob(str(tmp_path / "nope.json"), nodes=1))


def test_script_is_valid_bash_and_runs_with_mpiexec(sonata_examples, tmp_path):
    """The mpiexec script, run by bash on this machine (1 node, 1 rank), simulates the config."""
    if shutil.which("mpiexec") is None:
        pytest.skip("mpiexec not found (apt-get install openmpi-bin)")
    pytest.importorskip("nest")
    config = sonata_examples / "300_pointneurons" / "config.json"
    script = slurm_script(SlurmJob(str(config), nodes=1, threads=1, launcher="mpiexec",
                                   output_dir=str(tmp_path / "out")))  # fmt: skip
    path = tmp_path / "job.sh"
    path.write_text(script)
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "OPAL_"))}
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    # one node here: the ppr mapping asks for 1 rank of 1 core
    proc = subprocess.run(["bash", str(path)], env=env, capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    from bmtoolkit.sonata import read_spikes

    assert len(read_spikes(tmp_path / "out" / "spikes.h5")) > 1000
