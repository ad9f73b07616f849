"""Build, load and simulate times and peak memory of the V1 model at a chosen fraction.

Stages, each in its own child process so that each one's peak resident memory is its own:

1. **build**: :func:`bmtoolkit.recipes.v1.build_v1` (nodes, edges, compressed SONATA files;
   ``--workers`` forked processes, 2 by default for the 2 cores);
2. **lgn**: filternet turns a 1 s drifting grating into LGN spikes;
3. **pointnet**: NEST loads the network (configs, cells, edges, inputs, recorders) and
   simulates ``--tstop`` ms with ``--threads`` threads; with ``--mpi K`` under
   ``mpiexec -n K`` (NEST built with MPI, ``--threads / K`` threads per rank, so the same
   number of virtual processes), printing each rank's edges read, load and simulate times
   and peak memory, and whether the spikes equal those of the last run without ``--mpi``;
4. **torchnet**: torchnet runs the same config on ``--device`` once per dtype of
   ``--torch-dtypes`` and its V1 spikes are compared with pointnet's (exact, within one
   step, first difference, per cell class); then one training step over ``--train-ms``
   (``torchtrain``, surrogate gradient on every weight) is timed.

Targets at full size (``--fraction 1``) on 2 cores and 24 GiB: build <= 5 min, load <= 10 min,
1 s simulated <= 15 min, peak memory of every stage <= 20 GiB. The script prints, for every
stage, the wall time, the peak RSS and where the time went (the run's own step timings).

Usage::

    python benchmarks/v1.py [--fraction 1.0] [--threads 2] [--workers 2] [--tstop 1000]
        [--compression scaleoffset|gzip|none] [--output DIR] [--keep] [--stages build,lgn]
        [--mpi K] [--nest-mpi PREFIX]
        [--device cpu|cuda] [--torch-dtypes float64,float32] [--train-ms 50]

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


def _torch_config(args: argparse.Namespace, dtype: str) -> Path:
    """The pointnet config of the benchmark with ``run.torchnet`` (device, dtype) added."""
    from bmtoolkit.recipes.v1.pipeline import pointnet_config

    out = Path(args.output)
    cfg = pointnet_config(out, out / "network" / "circuit_config.json",
                          out / "lgn_bench" / "spikes.h5", tstop=args.tstop, seed=1,
                          tag="bench")  # fmt: skip
    data = json.loads(cfg.read_text())
    data["run"]["torchnet"] = {"device": args.device, "dtype": dtype}
    data["output"]["output_dir"] = str(out / f"v1_torch_{dtype}")
    path = out / f"config.torchnet_{dtype}.json"
    path.write_text(json.dumps(data, indent=2))
    return path


def stage_torchnet(args: argparse.Namespace) -> dict:
    """torchnet on the pointnet config (``--device``, ``--torch-dtype``): run times, and the
    spikes compared with pointnet's (exact, within one step, first difference, per class)."""
    from bmtoolkit.simulator import run

    cfg = _torch_config(args, args.torch_dtype)
    t0 = time.perf_counter()
    res = run(cfg, backend="torchnet", progress=False)
    wall = time.perf_counter() - t0
    result = {"wall_s": wall, "steps": dict(res.timings), "dtype": args.torch_dtype,
              "device": res.extra.get("device"), "edges": res.extra.get("n_connections", 0)}  # fmt: skip
    out = Path(args.output)
    result.update(compare_spikes(res.outputs["spikes"], out / "v1_bench" / "spikes.h5",
                                 out / "network" / "circuit_config.json"))  # fmt: skip
    return result


def stage_torchtrain(args: argparse.Namespace) -> dict:
    """One training step (surrogate gradient on every weight, Adam) over ``--train-ms``."""
    seconds, info = time_training_step(_torch_config(args, args.train_dtype), args)
    return {"train_step_s": seconds, **info}


def compare_spikes(torch_file: Path, nest_file: Path, circuit: Path) -> dict:
    """torchnet's V1 spikes against pointnet's: exact pairs (node, time to 1e-6 ms), pairs
    within one step (0.1 ms), the first difference and the counts per cell class."""
    import pandas as pd

    from bmtoolkit.analyzer.agreement import spike_agreement
    from bmtoolkit.recipes.v1.pipeline import v1_cells
    from bmtoolkit.sonata import read_spikes

    a = read_spikes(torch_file, population="v1")
    if not Path(nest_file).exists():
        return {"spikes": len(a)}
    b = read_spikes(nest_file, population="v1")
    cells = v1_cells(circuit).sort_values(["class_order", "node_id"])
    classes = pd.Series(cells["cell_class"].to_numpy(), index=cells["node_id"].to_numpy())
    ag = spike_agreement(b, a, tolerance=0.1, groups=classes)
    return {"spikes": len(a), "nest_spikes": len(b), "common": ag.exact,
            "within_step": ag.within, "first_divergence_ms": ag.first_divergence,
            "per_class": ag.groups.reset_index(names="class").to_dict("records")}  # fmt: skip


def time_training_step(cfg: Path, args: argparse.Namespace) -> tuple[float, dict]:
    """Seconds of one optimizer step over the first ``args.train_ms`` of the run, with the
    loss, the share of weights that got a gradient and the peak memory of the step."""
    import torch

    from bmtoolkit.simulator.torchnet.inputs import inputs_from_plan
    from bmtoolkit.simulator.torchnet.io import as_plan, build_network
    from bmtoolkit.simulator.torchnet.surrogate import SurrogateSpike
    from bmtoolkit.simulator.torchnet.training import Trainer

    dtype = getattr(torch, args.train_dtype)
    plan = as_plan(cfg)
    torch.manual_seed(1)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    net = build_network(plan, surrogate=SurrogateSpike(), dtype=dtype, device=args.device)
    spikes, _ = inputs_from_plan(plan, net.info, dtype=dtype)
    steps = int(round(args.train_ms / float(plan.dt)))
    spikes = None if spikes is None else spikes[:steps].clone().to(args.device)
    load = time.perf_counter() - t0

    def loss_fn(out, target, readout):  # every cell towards 5 Hz
        return ((out["spikes"].mean((0, 1)) - target) ** 2).mean()

    trainer = Trainer(net, loss_fn, groups=("weights",), lr=1e-3, truncation=steps)
    before = _peak_rss_gib()
    t0 = time.perf_counter()
    loss = trainer.step(spikes, torch.full((net.n,), 5.0 * float(plan.dt) / 1000.0,
                                           dtype=dtype, device=args.device), steps=steps)  # fmt: skip
    seconds = time.perf_counter() - t0
    grad = net.synapses.weight.grad
    return seconds, {"train_ms": args.train_ms, "train_steps": steps, "load_s": load,
                     "loss": float(loss), "dtype": args.train_dtype, "device": args.device,
                     "weights_with_gradient": int((grad != 0).sum()) if grad is not None else 0,
                     "edges": net.synapses.n_edges, "rss_before_step_gib": before}  # fmt: skip


STAGES = {"build": stage_build, "lgn": stage_lgn, "pointnet": stage_pointnet,
          "torchnet": stage_torchnet, "torchtrain": stage_torchtrain}  # fmt: skip


def _child(args: argparse.Namespace) -> None:
    result = STAGES[args.stage](args)
    result["peak_rss_gib"] = _peak_rss_gib()
    print("RESULT " + json.dumps(result, default=float), flush=True)


def _run_torchnet(args: argparse.Namespace) -> dict:
    """The torchnet stage: one process per dtype of ``--torch-dtypes``, then one for the
    training step (``--train-ms`` > 0), so that each one's peak memory is its own."""
    runs = {}
    for dtype in [d.strip() for d in args.torch_dtypes.split(",") if d.strip()]:
        one = argparse.Namespace(**{**vars(args), "torch_dtype": dtype, "one_run": True})
        runs[dtype] = _run_stage("torchnet", one)
    result: dict = {"runs": runs}
    if args.train_ms > 0:
        result["train"] = _run_stage("torchtrain", args)
    peaks = [r["peak_rss_gib"] for r in [*runs.values(), result.get("train")] if r]
    result["peak_rss_gib"] = max(peaks, default=0.0)
    return result


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
    if stage == "torchnet" and not getattr(args, "one_run", False):
        return _run_torchnet(args)
    mpi = args.mpi if stage == "pointnet" else 0
    threads = max(1, args.threads // mpi) if mpi else args.threads
    cmd = [sys.executable, __file__, "--stage", stage, "--fraction", str(args.fraction),
           "--threads", str(threads), "--tstop", str(args.tstop), "--output", args.output,
           "--compression", args.compression, "--train-ms", str(args.train_ms),
           "--workers", str(args.workers), "--mpi", str(mpi),
           "--device", args.device, "--torch-dtype", getattr(args, "torch_dtype", "float64"),
           "--train-dtype", args.train_dtype]  # fmt: skip
    env = dict(os.environ)
    if mpi:
        env = nest_mpi_env(args.nest_mpi)
        cmd = ["mpiexec", "--oversubscribe", "-n", str(mpi), *cmd]
    env["PYNEST_QUIET"] = "1"
    if stage.startswith("torch"):  # idle OpenMP threads sleep: on shared cores spinning ones
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # made small torch ops 100x slower
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


def _torch_report(tn: dict) -> None:
    """torchnet's runs (per dtype: times, spikes against pointnet's, per class) and the
    training step."""
    for dtype, r in tn["runs"].items():
        steps = r["steps"]
        load = sum(v for k, v in steps.items() if k not in ("simulate", "write_outputs"))
        label = f"torchnet {r.get('device') or 'cpu'} {dtype}"
        print(f"{label:<22}{r['wall_s']:>10.1f}{r['peak_rss_gib']:>16.2f}   load {load:.1f} s "
              f"({r.get('edges', 0)} edges), simulate {steps.get('simulate', float('nan')):.1f} "
              f"s, {r['spikes']} spikes")  # fmt: skip
        if "nest_spikes" not in r:
            continue
        n = max(1, r["nest_spikes"])
        first = r["first_divergence_ms"]
        print(f"  pointnet {r['nest_spikes']} spikes; same (node, time to 1e-6 ms) "
              f"{r['common']} ({100 * r['common'] / n:.2f} %); within one step (0.1 ms) "
              f"{r['within_step']} ({100 * r['within_step'] / n:.2f} %); first difference "
              + ("none" if first is None else f"at {first:.1f} ms"))  # fmt: skip
        print("  per class (pointnet / torchnet spikes, difference %): " + "; ".join(
            f"{c['class']} {c['reference']}/{c['other']} ({c['difference_pct']:+.1f})"
            for c in r["per_class"]))  # fmt: skip
    tr = tn.get("train")
    if tr:
        print(f"{'torchnet training step':<22}{tr['train_step_s']:>10.1f}"
              f"{tr['peak_rss_gib']:>16.2f}   {tr['train_ms']:g} ms ({tr['train_steps']} steps),"
              f" {tr['dtype']} on {tr['device']}, all {tr['edges']} weights trainable, "
              f"{tr['weights_with_gradient']} got a gradient; loss {tr['loss']:.3g}; network "
              f"built in {tr['load_s']:.1f} s, {tr['rss_before_step_gib']:.2f} GiB before the "
              "step")  # fmt: skip


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
        _torch_report(results["torchnet"])
    if "torchtrain" in results:
        _torch_report({"runs": {}, "train": results["torchtrain"]})
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
    p.add_argument("--device", default="cpu",
                   help="torchnet's device: cpu, cuda, cuda:N (refused where absent)")  # fmt: skip
    p.add_argument("--torch-dtypes", default="float64,float32",
                   help="torchnet runs compared with pointnet, one per dtype")  # fmt: skip
    p.add_argument("--train-dtype", default="float32", choices=("float32", "float64"),
                   help="dtype of the timed training step")  # fmt: skip
    p.add_argument("--torch-dtype", default="float64", help=argparse.SUPPRESS)
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
        if {"torchnet", "torchtrain"} & set(wanted):  # before minutes of building
            from bmtoolkit.exceptions import BmtkError
            from bmtoolkit.simulator.torchnet._torch import check_device

            try:
                check_device(args.device, field="--device")
            except BmtkError as err:
                p.error(str(err))
        results = {s: _run_stage(s, args) for s in wanted}
    finally:
        if tmp and not args.keep:
            shutil.rmtree(args.output, ignore_errors=True)
    _report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
