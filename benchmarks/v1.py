"""Build, load and simulate times and peak memory of the V1 model at a chosen fraction.

Stages, each in its own child process so that each one's peak resident memory is its own:

1. **build**: :func:`bmtoolkit.recipes.v1.build_v1` (nodes, edges, compressed SONATA files;
   ``--workers`` forked processes, 2 by default for the 2 cores);
2. **lgn**: filternet turns a 1 s drifting grating into LGN spikes;
3. **pointnet**: NEST loads the network (configs, cells, edges, inputs, recorders) and
   simulates ``--tstop`` ms with ``--threads`` threads; with ``--mpi K`` under
   ``mpiexec -n K`` (NEST built with MPI, ``--threads / K`` threads per rank, so the same
   number of virtual processes), printing each rank's edges read, load and simulate times
   and peak memory, and whether the spikes equal those of the last run without ``--mpi``.

Targets at full size (``--fraction 1``) on 2 cores and 24 GiB: build <= 5 min, load <= 10 min,
1 s simulated <= 15 min, peak memory of every stage <= 20 GiB. The script prints, for every
stage, the wall time, the peak RSS and where the time went (the run's own step timings).

Usage::

    python benchmarks/v1.py [--fraction 1.0] [--threads 2] [--workers 2] [--tstop 1000]
        [--compression scaleoffset|gzip|none] [--output DIR] [--keep] [--stages build,lgn]
        [--mpi K] [--nest-mpi PREFIX]

For example, build once and run the pointnet stage with 2 threads, then with 2 ranks::

    python benchmarks/v1.py --fraction 0.1 --output /tmp/v1 --keep
    python benchmarks/v1.py --fraction 0.1 --output /tmp/v1 --keep --stages pointnet --mpi 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_rss_gib() -> float:
    """Peak resident memory of this stage's process or of any process it forked (build
    workers), whichever is larger."""
    peaks = (resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF,
                                                            resource.RUSAGE_CHILDREN))  # fmt: skip
    return max(peaks) / 1024**2  # Linux: KiB


def stage_build(args: argparse.Namespace) -> dict:
    """Build and save the model."""
    from bmtoolkit.recipes.v1 import build_v1

    t0 = time.perf_counter()
    comp = None if args.compression == "none" else args.compression
    b = build_v1(args.output, fraction=args.fraction, seed=1, compression=comp, progress=False,
                 workers=args.workers)  # fmt: skip
    wall = time.perf_counter() - t0
    files = sorted((Path(args.output) / "network").glob("*.h5"))
    return {"wall_s": wall, "steps": b.timings, "nodes": b.nodes, "edges": b.edges,
            "file_mib": {f.name: f.stat().st_size / 2**20 for f in files}}  # fmt: skip


def stage_lgn(args: argparse.Namespace) -> dict:
    """LGN spikes of a 1 s grating."""
    from bmtoolkit.models.v1.inputs import lgn_field
    from bmtoolkit.recipes.v1.pipeline import lgn_spikes, stimulus_input

    out = Path(args.output)
    t0 = time.perf_counter()
    movie = stimulus_input("grating", lgn_field(args.fraction)[0], orientation=0.0)
    path = lgn_spikes(out, out / "network" / "circuit_config.json", movie, tstop=args.tstop,
                      seed=1, tag="bench", progress=False)  # fmt: skip
    return {"wall_s": time.perf_counter() - t0, "spikes_file": str(path)}


def stage_pointnet(args: argparse.Namespace) -> dict:
    """Load into NEST and simulate (on every rank under ``mpiexec``)."""
    from bmtoolkit.recipes.v1.pipeline import pointnet_config
    from bmtoolkit.simulator import run

    out = Path(args.output)
    tag = "bench_mpi" if args.mpi else "bench"
    cfg = pointnet_config(out, out / "network" / "circuit_config.json",
                          out / "lgn_bench" / "spikes.h5", tstop=args.tstop, seed=1,
                          tag=tag)  # fmt: skip
    t0 = time.perf_counter()
    res = run(cfg, backend="pointnet", threads=args.threads, progress=False)
    wall = time.perf_counter() - t0
    result = {"wall_s": wall, "steps": dict(res.timings),
              "memory_gib": res.extra.get("memory_gib", {}),
              "connections": res.extra.get("n_connections", 0),
              "edges_read": res.extra.get("edges_read", {}),
              "rank": 0, "processes": res.extra.get("mpi_processes", 1)}  # fmt: skip
    if result["processes"] > 1:
        import nest

        result["rank"] = int(nest.Rank())
        if result["rank"] != 0:  # rank 0 writes (and reads back) the spikes
            return result
    result.update(same_spikes(Path(res.outputs["spikes"]), out / "v1_bench" / "spikes.h5"))
    return result


def same_spikes(spikes_file: Path, reference: Path) -> dict:
    """Spike count, and whether every (node, time) equals the reference file's."""
    import numpy as np

    from bmtoolkit.sonata import read_spikes

    a = read_spikes(spikes_file).sort_values(["timestamp", "node_id"])
    out: dict = {"spikes": len(a)}
    if reference.exists() and reference.resolve() != spikes_file.resolve():
        b = read_spikes(reference).sort_values(["timestamp", "node_id"])
        out["reference_spikes"] = len(b)
        out["identical"] = bool(
            len(a) == len(b)
            and np.array_equal(a["node_id"].to_numpy(), b["node_id"].to_numpy())
            and np.array_equal(a["timestamp"].to_numpy(), b["timestamp"].to_numpy())
        )
    return out


def stage_torchnet(args: argparse.Namespace) -> dict:
    """torchnet (CPU) on the pointnet config: spikes compared with pointnet's, one training
    step (surrogate gradient, all weights, 100 ms truncation) timed."""
    from bmtoolkit.recipes.v1.pipeline import pointnet_config
    from bmtoolkit.simulator import run

    out = Path(args.output)
    cfg = pointnet_config(out, out / "network" / "circuit_config.json",
                          out / "lgn_bench" / "spikes.h5", tstop=args.tstop, seed=1,
                          tag="bench")  # fmt: skip
    t0 = time.perf_counter()
    res = run(cfg, backend="torchnet", output_dir=out / "v1_torch", progress=False)
    wall = time.perf_counter() - t0
    result = {"wall_s": wall, "steps": dict(res.timings)}
    result.update(compare_spikes(res.outputs["spikes"], out / "v1_bench" / "spikes.h5"))
    if args.train_ms > 0:
        result["train_step_s"], result["train_steps_ms"] = time_training_step(cfg, args.train_ms)
    return result


def compare_spikes(torch_file: Path, nest_file: Path) -> dict:
    """Spike counts of both runs and how many (node, time) pairs agree to 1e-6 ms."""
    import numpy as np

    from bmtoolkit.sonata import read_spikes

    a = read_spikes(torch_file)
    if not Path(nest_file).exists():
        return {"spikes": len(a)}
    b = read_spikes(nest_file)
    key = lambda df: set(zip(df["node_id"].to_numpy().tolist(),  # noqa: E731
                             np.round(df["timestamp"].to_numpy(), 6).tolist(), strict=True))  # fmt: skip
    return {"spikes": len(a), "nest_spikes": len(b), "common": len(key(a) & key(b))}


def time_training_step(cfg: Path, ms: float) -> tuple[float, float]:
    """Seconds of one optimizer step over the first ``ms`` of the run."""
    import torch

    from bmtoolkit.simulator.torchnet.inputs import inputs_from_plan
    from bmtoolkit.simulator.torchnet.io import as_plan, build_network
    from bmtoolkit.simulator.torchnet.surrogate import SurrogateSpike
    from bmtoolkit.simulator.torchnet.training import Trainer

    plan = as_plan(cfg)
    net = build_network(plan, surrogate=SurrogateSpike())
    spikes, current = inputs_from_plan(plan, net.info)
    steps = int(round(ms / float(plan.dt)))
    spikes = None if spikes is None else spikes[:steps]

    def loss_fn(out, target, readout):
        return ((out["spikes"].mean((0, 1)) - target) ** 2).mean()

    trainer = Trainer(net, loss_fn, groups=("weights",), lr=1e-3, truncation=1000)
    t0 = time.perf_counter()
    trainer.step(spikes, torch.full((net.n,), 0.0005), steps=steps)
    return time.perf_counter() - t0, ms


STAGES = {"build": stage_build, "lgn": stage_lgn, "pointnet": stage_pointnet,
          "torchnet": stage_torchnet}  # fmt: skip


def _child(args: argparse.Namespace) -> None:
    result = STAGES[args.stage](args)
    result["peak_rss_gib"] = _peak_rss_gib()
    print("RESULT " + json.dumps(result, default=float), flush=True)


def nest_mpi_env(prefix: str | None) -> dict[str, str]:
    """The environment of NEST built with MPI: ``prefix`` (``--nest-mpi``), else
    ``$BMTOOLKIT_NEST_MPI_PREFIX``, else where ``scripts/bootstrap.sh`` (the user cache) or
    ``scripts/install-nest-mpi.sh`` (``.nest-mpi`` in the checkout) installs it."""
    import importlib.metadata

    try:
        version = importlib.metadata.version("nest-simulator")
    except importlib.metadata.PackageNotFoundError:
        version = "3.10.0"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    candidates = [prefix, os.environ.get("BMTOOLKIT_NEST_MPI_PREFIX"),
                  cache / "bmtoolkit" / f"nest-mpi-{version}",
                  Path(__file__).resolve().parents[1] / ".nest-mpi"]  # fmt: skip
    found = next((Path(c) for c in candidates if c and (Path(c) / "bin" / "nest_vars.sh").exists()),
                 None)  # fmt: skip
    if found is None:
        raise SystemExit("--mpi needs NEST built with MPI (scripts/install-nest-mpi.sh); none "
                         f"found at {[str(c) for c in candidates if c]}")  # fmt: skip
    if shutil.which("mpiexec") is None:
        raise SystemExit("--mpi needs mpiexec (apt-get install openmpi-bin)")
    vars_sh = found / "bin" / "nest_vars.sh"
    raw = subprocess.run(["bash", "-c", f"source {vars_sh} && env -0"], capture_output=True,
                         check=True).stdout  # fmt: skip
    env = dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
    env = {k: v for k, v in env.items() if not k.startswith(("OMPI_", "PMIX_", "OPAL_"))}
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def _run_stage(stage: str, args: argparse.Namespace) -> dict:
    mpi = args.mpi if stage == "pointnet" else 0
    threads = max(1, args.threads // mpi) if mpi else args.threads
    cmd = [sys.executable, __file__, "--stage", stage, "--fraction", str(args.fraction),
           "--threads", str(threads), "--tstop", str(args.tstop), "--output", args.output,
           "--compression", args.compression, "--train-ms", str(args.train_ms),
           "--workers", str(args.workers), "--mpi", str(mpi)]  # fmt: skip
    env = dict(os.environ)
    if mpi:
        env = nest_mpi_env(args.nest_mpi)
        cmd = ["mpiexec", "--oversubscribe", "-n", str(mpi), *cmd]
    env["PYNEST_QUIET"] = "1"
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    found = [json.loads(line[7:]) for line in proc.stdout.splitlines()
             if line.startswith("RESULT ")]  # fmt: skip
    if proc.returncode == 0 and len(found) == max(mpi, 1):
        found.sort(key=lambda r: r.get("rank", 0))
        result = found[0]
        if mpi:
            result["ranks"] = found
            result["peak_rss_gib"] = max(r["peak_rss_gib"] for r in found)
        return result
    sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
    raise SystemExit(f"stage {stage} failed (exit {proc.returncode})")


def _load_s(steps: dict) -> float:
    return sum(v for k, v in steps.items() if k not in ("simulate", "write_outputs"))


def _ranks_report(pn: dict) -> None:
    """Per rank: edges read of the total, edge arrays held, load and simulate times, peak
    RSS; then whether the spikes equal those of the run without ``--mpi``."""
    ranks = pn.get("ranks")
    if not ranks:
        return
    print(f"  {'rank':<6}{'edges read':>24}{'edge arrays (GiB)':>19}{'load (s)':>10}"
          f"{'simulate (s)':>14}{'peak RSS (GiB)':>16}")  # fmt: skip
    for r in ranks:
        reads = r.get("edges_read", {}).values()
        read, total = sum(x["read"] for x in reads), sum(x["total"] for x in reads)
        mem = r.get("memory_gib", {})
        arrays = mem.get("edge arrays read", float("nan")) - mem.get("nodes created", float("nan"))
        share = f"{read} of {total} ({read / max(total, 1):.0%})"
        print(f"  {r['rank']:<6}{share:>24}{arrays:>19.2f}{_load_s(r['steps']):>10.1f}"
              f"{r['steps'].get('simulate', float('nan')):>14.1f}{r['peak_rss_gib']:>16.2f}")  # fmt: skip


def _same_report(pn: dict) -> None:
    if "identical" in pn:
        print(f"  spikes {pn['spikes']}, run without --mpi {pn['reference_spikes']}: "
              f"{'identical (every node id and time)' if pn['identical'] else 'DIFFERENT'}")  # fmt: skip
    elif pn.get("ranks"):
        print("  no spikes of a run without --mpi to compare with (run --stages pointnet first)")


def _memory_report(pn: dict) -> None:
    """Where pointnet's memory goes: resident memory after each load step, NEST's bytes per
    connection (growth of the resident memory inside ``nest.Connect``, over the connections
    made) and bmtoolkit's bytes per edge (the edge arrays read before connecting)."""
    mem = pn.get("memory_gib", {})
    if not mem:
        return
    print("  resident memory during the load (GiB): "
          + ", ".join(f"{k} {v:.2f}" for k, v in mem.items()))  # fmt: skip
    n = pn.get("connections", 0)
    if n and "in nest.Connect" in mem:
        nest_b = mem["in nest.Connect"] * 2**30 / n
        ours_b = (mem["edge arrays read"] - mem["nodes created"]) * 2**30 / n
        print(f"  NEST: {nest_b:.0f} bytes per connection ({n} connections); bmtoolkit's edge "
              f"arrays before connecting: {ours_b:.0f} bytes per edge (freed once connected); "
              f"peak {pn['peak_rss_gib']:.2f} GiB")  # fmt: skip


def _report(results: dict, args: argparse.Namespace) -> None:
    """Print the table of the stages that ran, and the full-size targets."""
    how = (f"{args.mpi} MPI rank(s) x {max(1, args.threads // args.mpi)} NEST thread(s)"
           if args.mpi else f"{args.threads} NEST thread(s)")  # fmt: skip
    print(f"V1 model at fraction {args.fraction:g}; {how}, {args.tstop:g} ms, "
          f"compression {args.compression}")  # fmt: skip
    print(f"{'stage':<22}{'wall (s)':>10}{'peak RSS (GiB)':>16}")
    measured = {}
    if "build" in results:
        b = results["build"]
        print(f"  nodes {b['nodes']}, edges {b['edges']}")
        print(f"{'build + save':<22}{b['wall_s']:>10.1f}{b['peak_rss_gib']:>16.2f}   "
              + ", ".join(f"{k} {v:.1f} s" for k, v in b["steps"].items()))  # fmt: skip
        print("  files (MiB): " + ", ".join(f"{k} {v:.1f}" for k, v in b["file_mib"].items()))
        measured["build"] = b["wall_s"]
    if "lgn" in results:
        lg = results["lgn"]
        print(f"{'filternet (LGN)':<22}{lg['wall_s']:>10.1f}{lg['peak_rss_gib']:>16.2f}")
    if "pointnet" in results:
        pn = results["pointnet"]
        steps = pn["steps"]
        load = _load_s(steps)
        if pn.get("ranks"):
            print("pointnet: rank 0 below, the largest peak RSS of the ranks")
        print(f"{'pointnet load':<22}{load:>10.1f}{pn['peak_rss_gib']:>16.2f}   "
              + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()
                          if k not in ("simulate", "write_outputs")))  # fmt: skip
        sim = steps.get("simulate", float("nan"))
        print(f"{'pointnet simulate':<22}{sim:>10.1f}{'':>16}   {pn['spikes']} spikes, "
              f"writing {steps.get('write_outputs', float('nan')):.1f} s")  # fmt: skip
        measured["load"], measured["simulate"] = load, sim
        _memory_report(pn)
        _ranks_report(pn)
        _same_report(pn)
    if "torchnet" in results:
        tn = results["torchnet"]
        sim = tn["steps"].get("simulate", float("nan"))
        print(f"{'torchnet (CPU)':<22}{tn['wall_s']:>10.1f}{tn['peak_rss_gib']:>16.2f}   "
              f"simulate {sim:.1f} s, {tn['spikes']} spikes")  # fmt: skip
        if "nest_spikes" in tn:
            print(f"  pointnet {tn['nest_spikes']} spikes; the same (node, time to 1e-6 ms): "
                  f"{tn['common']}")  # fmt: skip
        if "train_step_s" in tn:
            print(f"  one training step over {tn['train_steps_ms']:g} ms (weights, surrogate "
                  f"gradient): {tn['train_step_s']:.1f} s")  # fmt: skip
    if args.fraction == 1.0:
        limits = {"build": 300.0, "load": 600.0, "simulate": 900.0}
        for name, value in measured.items():
            print(f"target {name}: {value:.0f} s of {limits[name]:.0f} s "
                  f"{'met' if value <= limits[name] else 'NOT met'}")  # fmt: skip
        for name, r in results.items():
            ok = r["peak_rss_gib"] <= 20.0
            print(f"target memory {name}: {r['peak_rss_gib']:.1f} GiB of 20 GiB "
                  f"{'met' if ok else 'NOT met'}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Run every stage and print the figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fraction", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tstop", type=float, default=1000.0)
    p.add_argument("--workers", type=int, default=2,
                   help="forked processes of the build stage (the files do not depend on it)")  # fmt: skip
    p.add_argument("--compression", default="scaleoffset")
    p.add_argument("--train-ms", type=float, default=100.0,
                   help="biological time of the timed torchnet training step (ms; 0: none)")  # fmt: skip
    p.add_argument("--output", default=None, help="working folder (default: a temporary one)")
    p.add_argument("--keep", action="store_true", help="keep the working folder")
    p.add_argument("--stages", default="build,lgn,pointnet",
                   help="comma-separated stages to run, in order (default: all three)")  # fmt: skip
    p.add_argument("--mpi", type=int, default=0, metavar="K",
                   help="run the pointnet stage under mpiexec -n K (NEST built with MPI)")  # fmt: skip
    p.add_argument("--nest-mpi", default=None, metavar="PREFIX",
                   help="install prefix of NEST built with MPI (default: see nest_mpi_env)")  # fmt: skip
    p.add_argument("--stage", choices=sorted(STAGES), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.stage:
        _child(args)
        return 0
    tmp = args.output is None
    args.output = args.output or tempfile.mkdtemp(prefix="v1_bench_")
    try:
        wanted = [s.strip() for s in args.stages.split(",") if s.strip()]
        unknown = sorted(set(wanted) - set(STAGES))
        if unknown:
            p.error(f"unknown stage(s) {unknown}; choose from {sorted(STAGES)}")
        results = {s: _run_stage(s, args) for s in wanted}
    finally:
        if tmp and not args.keep:
            shutil.rmtree(args.output, ignore_errors=True)
    _report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
