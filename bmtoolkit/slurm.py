"""SLURM job scripts that run a simulation config on several cluster nodes.

``bmtoolkit run --emit-slurm N CONFIG`` prints the script made here instead of running:
``N`` nodes, ``--tasks-per-node`` MPI ranks on each, ``--threads`` threads per rank (NEST's
local threads; one CPU each), launched with ``srun`` (default) or ``mpiexec``. pointnet
splits the cells over the ranks (NEST with MPI) and bionet over NEURON's ParallelContext;
spike files are merged by rank 0. Submit it with ``sbatch``.

Examples
--------
>>> job = SlurmJob(config="/data/v1/config.json", nodes=4, tasks_per_node=8, threads=4)
>>> job.ranks, job.cpus
(32, 128)
>>> print(slurm_script(job).splitlines()[2])  # doctest: +SKIP
#SBATCH --nodes=4
"""

from __future__ import annotations

import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from bmtoolkit.exceptions import ConfigError

#: how each launcher starts ``ranks`` processes of ``threads`` CPUs each
LAUNCHERS = {
    "srun": lambda job: ["srun", "--cpu-bind=cores"],
    "mpiexec": lambda job: [
        "mpiexec",
        "-n",
        str(job.ranks),
        "--map-by",
        f"ppr:{job.tasks_per_node}:node:PE={job.threads}",
        "--bind-to",
        "core",
    ],  # fmt: skip
}
_TIME = re.compile(r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$")


@dataclass(frozen=True)
class SlurmJob:
    """What one cluster run needs: the config, the layout of ranks and threads, the limits.

    Parameters
    ----------
    config : str
        The simulation config (made absolute in the script).
    nodes : int
        Cluster nodes (``#SBATCH --nodes``).
    tasks_per_node : int
        MPI ranks per node.
    threads : int
        Threads per rank (``--threads`` of ``bmtoolkit run``; ``--cpus-per-task``).
    time : str
        Wall-clock limit in a SLURM format (``HH:MM:SS``, ``D-HH:MM`` ...).
    launcher : str
        ``srun`` or ``mpiexec``.
    """

    config: str
    nodes: int
    tasks_per_node: int = 1
    threads: int = 1
    time: str = "01:00:00"
    launcher: str = "srun"
    backend: str | None = None
    output_dir: str | None = None
    partition: str | None = None
    account: str | None = None
    mem: str | None = None
    python: str = sys.executable
    job_name: str | None = None

    def __post_init__(self) -> None:
        for name in ("nodes", "tasks_per_node", "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"expected a whole number >= 1, got {value!r}", field=f"emit-slurm {name}"
                )
        if self.launcher not in LAUNCHERS:
            raise ConfigError(
                f"launcher {self.launcher!r} unknown; choose from {sorted(LAUNCHERS)}",
                field="emit-slurm launcher",
            )
        if not _TIME.match(self.time):
            raise ConfigError(
                f"time {self.time!r} is not a SLURM time (HH:MM:SS, MM, D-HH:MM ...)",
                field="emit-slurm time",
            )

    @property
    def ranks(self) -> int:
        """MPI ranks in all."""
        return self.nodes * self.tasks_per_node

    @property
    def cpus(self) -> int:
        """CPUs in all (ranks x threads)."""
        return self.ranks * self.threads


def slurm_script(job: SlurmJob) -> str:
    """The ``sbatch`` script of ``job``: SBATCH header, environment, one launcher line.

    Raises
    ------
    MissingFileError
        The config does not exist.

    Examples
    --------
    >>> script = slurm_script(SlurmJob(config="config.json", nodes=2))  # doctest: +SKIP
    """
    from bmtoolkit.exceptions import MissingFileError

    config = Path(job.config).expanduser().resolve()
    if not config.is_file():
        raise MissingFileError(f"config {str(config)!r} does not exist", path=config)
    name = job.job_name or f"bmtoolkit-{config.parent.name or config.stem}"
    header = {
        "job-name": re.sub(r"[^\w.-]", "_", name),
        "nodes": job.nodes,
        "ntasks-per-node": job.tasks_per_node,
        "cpus-per-task": job.threads,
        "time": job.time,
        "output": "bmtoolkit-%j.out",
        "partition": job.partition,
        "account": job.account,
        "mem": job.mem,
    }
    lines = ["#!/bin/bash"]
    lines += [f"#SBATCH --{k}={v}" for k, v in header.items() if v is not None]
    cmd = [*LAUNCHERS[job.launcher](job), job.python, "-m", "bmtoolkit.cli", "run", str(config),
           "--threads", str(job.threads), "--quiet"]  # fmt: skip
    if job.backend:
        cmd += ["--backend", job.backend]
    if job.output_dir:
        cmd += ["--output-dir", str(Path(job.output_dir).expanduser().resolve())]
    lines += [
        "# bmtoolkit: "
        f"{job.nodes} node(s) x {job.tasks_per_node} rank(s) x {job.threads} thread(s) "
        f"= {job.ranks} MPI ranks, {job.cpus} CPUs",
        "set -euo pipefail",
        f"export OMP_NUM_THREADS={job.threads}",
        "export PYNEST_QUIET=1",
        " ".join(shlex.quote(c) for c in cmd),
    ]
    return "\n".join(lines) + "\n"
