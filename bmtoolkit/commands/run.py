"""``bmtoolkit run CONFIG``: run a SONATA simulation config on a backend."""

from __future__ import annotations

import argparse
import logging

NAME = "run"
HELP = "Run a SONATA simulation config (NEST, NEURON, population, filter or PyTorch backend)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``CONFIG [--backend NAME] [--threads N] [--seed S] [--output-dir DIR] [--quiet]``."""
    parser.add_argument("config", help="simulation config (or BMTK's combined config.json)")
    from bmtoolkit.simulator.core.registries import backend_names

    parser.add_argument(
        "--backend",
        default=None,
        help=f"backend name ({', '.join(backend_names())}); default: "
        "from target_simulator or the node models",
    )
    parser.add_argument("--threads", type=int, default=None, help="local threads")
    parser.add_argument("--seed", type=int, default=None, help="random seed (overrides run)")
    parser.add_argument("--output-dir", default=None, help="output folder (overrides output)")
    parser.add_argument(
        "--no-validate", action="store_true", help="skip JSON-schema validation of the config"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no step timings")
    slurm = parser.add_argument_group(
        "cluster job script", "print a SLURM script that runs CONFIG, instead of running it"
    )
    slurm.add_argument("--emit-slurm", type=int, metavar="N", default=None,
                       help="print an sbatch script for N nodes and exit")  # fmt: skip
    slurm.add_argument("--tasks-per-node", type=int, default=1, help="MPI ranks per node")
    slurm.add_argument("--time", default="01:00:00", help="wall-clock limit (HH:MM:SS)")
    slurm.add_argument("--launcher", default="srun", help="srun (default) or mpiexec")
    slurm.add_argument("--partition", default=None, help="SLURM partition")
    slurm.add_argument("--account", default=None, help="SLURM account")
    slurm.add_argument("--mem", default=None, help="memory per node (e.g. 120G)")


def run(args: argparse.Namespace) -> int:
    """Run the config; print the step timings and output files (on MPI rank 0 only).

    With ``--emit-slurm N``, print the SLURM script that would run it on N nodes instead.
    """
    if args.emit_slurm is not None:
        from bmtoolkit.slurm import SlurmJob, slurm_script

        job = SlurmJob(
            config=args.config,
            nodes=args.emit_slurm,
            tasks_per_node=args.tasks_per_node,
            threads=args.threads or 1,
            time=args.time,
            launcher=args.launcher,
            backend=args.backend,
            output_dir=args.output_dir,
            partition=args.partition,
            account=args.account,
            mem=args.mem,
        )
        print(slurm_script(job), end="")
        return 0
    from bmtoolkit.simulator.core.output import mpi_rank
    from bmtoolkit.simulator.core.runner import run as run_simulation

    # warnings on the terminal; the full INFO log with timings goes to the run's log file
    console = logging.StreamHandler()
    console.setLevel(logging.ERROR if args.quiet else logging.WARNING)
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    # a failed run's error is printed once, by the command line, not also by the log
    console.addFilter(lambda record: record.levelno < logging.ERROR)
    logging.getLogger("bmtoolkit").addHandler(console)
    try:
        result = run_simulation(
            args.config,
            backend=args.backend,
            threads=args.threads,
            seed=args.seed,
            output_dir=args.output_dir,
            progress=False if args.quiet else None,
            validate=not args.no_validate,
        )
    finally:
        logging.getLogger("bmtoolkit").removeHandler(console)
    # under mpiexec every rank runs this; the summary is printed once
    if not args.quiet and mpi_rank() == 0:
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items())
        print(f"{result.backend}: {steps}")
        for name, path in result.outputs.items():
            print(f"  {name}: {path}")
    return 0
