"""Build+save time and peak memory of bmtoolkit's builder against BMTK 1.2.0's.

Network (the same for both tools): N point neurons uniform in a cylinder of radius 400 um and
height 800 um, 80% excitatory / 20% inhibitory; recurrent E/I -> E/I edges with
``p = 0.1 * exp(-d^2 / (2 * 150^2))`` and 1-4 synapses per pair; an LGN population of N/10
virtual nodes connected to every cortical cell with ``p = 0.05`` (1-4 synapses).

BMTK calls a Python function per pair, so it runs at a smaller ``--bmtk-n``; the per-edge cost
ratio compares the two at their own sizes, and bmtoolkit is also run at ``--bmtk-n`` for a
same-size ratio. Each build runs in a child process; peak memory is that child's max RSS
(``resource.getrusage``), imports included.

``--scale v1``: 230,000 cells in a cylinder of radius 845 um and height 860 um with a 300 um
cutoff on the recurrent rule, and LGN p scaled to 0.05 * 20,000 / N (about 100 M edges in all).

``--idiom``: the BMTK-idiom mode. ``benchmarks/bmtk_idiom_build.py`` (a BMTK script with Python
callables, see its docstring) runs as it is with BMTK and, with only its import line changed,
as ``python script.py`` (one process, as a user runs it) and through ``bmtoolkit build
--workers K`` for each K > 1 of ``--workers``: per-pair (``one_to_one``)
functions at ``--pair-n`` cells and a numpy ``one_to_all`` function at ``--all-n`` cells. Each run
is its own process; printed: whole-process wall time, build and save phases, peak RSS (workers
included), edge and node file sizes, and the BMTK / bmtoolkit ratios. ``--repeat R`` runs R
rounds (default 3; BMTK, then bmtoolkit for each K) and prints, per K, the ratio of the fastest runs
(BMTK's shortest wall time over bmtoolkit's: on a machine whose speed drifts between rounds, the
least disturbed run of each tool), the best within-round ratio and the spread. Each round also
times the script's connection functions by themselves (``--floor``: the same calls from a bare
loop over nodes that are a plain Python ``dict`` subclass with a ``node_id`` slot, no builder):
what the functions cost with the node objects a pure-Python tool would give them. bmtoolkit's
node views look keys up at plain-dict speed (:mod:`bmtoolkit.builder.fast_lookup`), so its whole
process can take less than that. Both tools run from byte-compiled modules, as ``pip install``
leaves them.

Usage::

    python benchmarks/builder_vs_bmtk.py --n 20000 [--with-bmtk --bmtk-n 2000] [--scale v1]
    python benchmarks/builder_vs_bmtk.py --idiom [--pair-n 3000] [--all-n 12000] [--workers 1,2]
        [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RADIUS, HEIGHT, P0, SIGMA = 400.0, 800.0, 0.1, 150.0


def _geometry(n: int, scale: str):
    if scale == "v1":
        return 845.0, 860.0, 300.0, 0.05 * 20000 / n
    return RADIUS, HEIGHT, None, 0.05


def build_bmtoolkit(n: int, out: str, scale: str) -> dict:
    """Build and save with bmtoolkit; returns counts and timings."""
    from bmtoolkit.builder import NetworkBuilder, positions
    from bmtoolkit.builder.rules import DistanceProbability, FixedProbability

    radius, height, cutoff, p_lgn = _geometry(n, scale)
    t0 = time.perf_counter()
    pos = positions.cylinder(n, radius, height, seed=1)
    ne = int(0.8 * n)
    v1 = NetworkBuilder("v1")
    v1.add_nodes(
        N=ne,
        positions=pos[:ne],
        ei="e",
        model_type="point_neuron",
        model_template="nest:iaf_psc_alpha",
        dynamics_params="e.json",
    )
    v1.add_nodes(
        N=n - ne,
        positions=pos[ne:],
        ei="i",
        model_type="point_neuron",
        model_template="nest:iaf_psc_alpha",
        dynamics_params="i.json",
    )
    for s in "ei":
        for t in "ei":
            v1.add_edges(
                source={"ei": s},
                target={"ei": t},
                connection_rule=DistanceProbability(P0, SIGMA, cutoff=cutoff, nsyns=(1, 4)),
                syn_weight=1.0 if s == "e" else -1.0,
                delay=1.0,
                model_template="static_synapse",
                dynamics_params=f"{s}2{t}.json",
            )
    lgn = NetworkBuilder("lgn")
    lgn.add_nodes(N=n // 10, model_type="virtual", pop_name="lgn")
    lgn.add_edges(
        source=lgn.nodes(),
        target=v1.nodes(),
        connection_rule=FixedProbability(p_lgn, nsyns=(1, 4)),
        syn_weight=1.0,
        delay=1.0,
        model_template="static_synapse",
        dynamics_params="lgn.json",
    )
    v1.build(seed=1, progress=False)
    lgn.build(seed=1, progress=False)
    t1 = time.perf_counter()
    build_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    v1.save(out)
    lgn.save(out)
    t2 = time.perf_counter()
    edges = sum(len(a) for net in (v1, lgn) for a in (net._edges or {}).values())
    return {
        "edges": edges,
        "synapses": v1.nedges + lgn.nedges,
        "build_s": t1 - t0,
        "save_s": t2 - t1,
        "build_peak_mib": build_peak,
    }


def build_bmtk(n: int, out: str, scale: str) -> dict:
    """The same network with BMTK's builder and a per-pair rule."""
    import numpy as np
    from bmtk.builder import NetworkBuilder

    from bmtoolkit.builder import positions

    radius, height, cutoff, p_lgn = _geometry(n, scale)
    t0 = time.perf_counter()
    np.random.seed(1)
    pos = positions.cylinder(n, radius, height, seed=1)
    ne = int(0.8 * n)
    v1 = NetworkBuilder("v1")
    v1.add_nodes(
        N=ne,
        positions=pos[:ne],
        ei="e",
        model_type="point_neuron",
        model_template="nest:iaf_psc_alpha",
        dynamics_params="e.json",
    )
    v1.add_nodes(
        N=n - ne,
        positions=pos[ne:],
        ei="i",
        model_type="point_neuron",
        model_template="nest:iaf_psc_alpha",
        dynamics_params="i.json",
    )

    def dist_rule(source, target):
        if source.node_id == target.node_id:
            return 0
        d = np.linalg.norm(source["positions"] - target["positions"])
        if cutoff is not None and d > cutoff:
            return 0
        if np.random.random() < P0 * np.exp(-(d * d) / (2 * SIGMA * SIGMA)):
            return np.random.randint(1, 5)
        return 0

    def lgn_rule(source, target):
        return np.random.randint(1, 5) if np.random.random() < p_lgn else 0

    for s in "ei":
        for t in "ei":
            v1.add_edges(
                source={"ei": s},
                target={"ei": t},
                connection_rule=dist_rule,
                syn_weight=1.0,
                delay=1.0,
                model_template="static_synapse",
                dynamics_params=f"{s}2{t}.json",
            )
    lgn = NetworkBuilder("lgn")
    lgn.add_nodes(N=n // 10, model_type="virtual", pop_name="lgn")
    lgn.add_edges(
        source=lgn.nodes(),
        target=v1.nodes(),
        connection_rule=lgn_rule,
        syn_weight=1.0,
        delay=1.0,
        model_template="static_synapse",
        dynamics_params="lgn.json",
    )
    v1.build()
    lgn.build()
    t1 = time.perf_counter()
    v1.save(output_dir=out)
    lgn.save(output_dir=out)
    t2 = time.perf_counter()
    return {"synapses": v1.nedges + lgn.nedges, "build_s": t1 - t0, "save_s": t2 - t1}


def _child(tool: str, n: int, scale: str) -> dict:
    """Run one build in a child process; add its wall time and max RSS."""
    cmd = [sys.executable, __file__, "--worker", tool, "--n", str(n), "--scale", scale]
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"{tool} build failed (exit {proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - start
    return result


def _worker(tool: str, n: int, scale: str) -> None:
    # load the writers before a long build, not in the middle of it
    from bmtoolkit.sonata import write_edges, write_nodes  # noqa: F401

    with tempfile.TemporaryDirectory() as out:
        fn = build_bmtoolkit if tool == "bmtoolkit" else build_bmtk
        result = fn(n, out, scale)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_mib"] = usage.ru_maxrss / 1024
    # CPU seconds of the whole child (imports included): on a shared machine the wall time
    # also counts waiting for a core
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(result))


def _line(name: str, n: int, r: dict) -> str:
    per = r["build_s"] + r["save_s"]
    return (
        f"{name:>10} N={n:>7,}: {r['synapses']:>12,} synapses, build {r['build_s']:7.2f} s, "
        f"save {r['save_s']:6.2f} s, total {per:7.2f} s (process CPU {r['cpu_s']:7.1f} s), "
        f"peak {r['peak_mib']:8.0f} MiB, {1e9 * per / max(r['synapses'], 1):8.0f} ns/synapse"
    )


IDIOM_SCRIPT = Path(__file__).with_name("bmtk_idiom_build.py")
BMTK_IMPORT = "from bmtk.builder import NetworkBuilder"
OUR_IMPORT = "from bmtoolkit.builder import NetworkBuilder"
#: least BMTK / bmtoolkit whole-process ratio asked for on 2 cores, by (iterator, cells, workers)
IDIOM_TARGETS = {
    ("one_to_one", 3000, 1): 3.0,
    ("one_to_all", 12000, 1): 5.0,
    ("one_to_all", 12000, 2): 8.0,
}


def _idiom_run(tool: str, script: Path, n: int, iterator: str, workers: int) -> dict:
    """One whole-process run of the idiom script; its JSON line plus wall time and file sizes."""
    with tempfile.TemporaryDirectory() as out:
        args = [str(n), iterator, out]
        if tool == "bmtk" or workers == 1:  # as users run it: python script.py
            cmd = [sys.executable, str(script), *args]
        else:
            cmd = [sys.executable, "-m", "bmtoolkit.cli", "build", "--workers", str(workers)]
            cmd += [str(script), *args]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            raise SystemExit(f"{tool} idiom build failed (exit {proc.returncode})")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        files = {p.name: p.stat().st_size for p in Path(out).iterdir() if p.suffix == ".h5"}
        from bmtoolkit.sonata import read_edges

        result["edges"] = sum(
            pop.size
            for name in files
            if name.endswith("_edges.h5")
            for pop in read_edges(Path(out) / name).values()
        )
    result["wall_s"] = wall
    # CPU seconds of the process and of its workers: steadier than wall time on a busy machine
    result["cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    result["edge_bytes"] = sum(v for k, v in files.items() if k.endswith("_edges.h5"))
    result["node_bytes"] = sum(v for k, v in files.items() if k.endswith("_nodes.h5"))
    return result


def _floor_run(script: Path, n: int, iterator: str) -> tuple[float, float]:
    """Wall and CPU seconds the script's connection functions take by themselves, called
    from a bare loop (the script's ``--floor`` mode)."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, str(script), str(n), iterator, out, "--floor"]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"idiom floor run failed (exit {proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return float(result["floor_s"]), float(result["floor_cpu_s"])


def _idiom_line(name: str, r: dict) -> str:
    return (
        f"  {name:>20}: wall {r['wall_s']:7.2f} s, cpu {r['cpu_s']:7.2f} s (build {r['build_s']:7.2f} s, save "
        f"{r['save_s']:6.2f} s), peak {r['peak_mib']:6.0f} MiB, {r['edges']:>10,} edges, "
        f"edge files {r['edge_bytes'] / 2**20:7.2f} MiB "
        f"({r['edge_bytes'] / max(r['edges'], 1):5.1f} B/edge), nodes {r['node_bytes'] / 2**20:5.2f} MiB"
    )


def _load() -> str:
    """The 1, 5 and 15 minute load averages (other processes share the cores)."""
    try:
        return "load " + ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - platforms without getloadavg
        return "load unknown"


def _byte_compile() -> None:
    """Byte-compile both tools' modules as ``pip install`` does, so that neither recompiles
    its sources in every measured process (an editable checkout run with
    ``PYTHONDONTWRITEBYTECODE`` would, about 0.06 s per process for the builder's modules,
    while BMTK's installed modules come compiled)."""
    import compileall
    import importlib.util

    for name in ("bmtoolkit", "bmtk"):
        spec = importlib.util.find_spec(name)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            compileall.compile_dir(folder, quiet=1, workers=1)
    print("both tools' modules byte-compiled (as pip installs them)")


def idiom(pair_n: int, all_n: int, workers: list[int], repeat: int = 1) -> None:
    """Run the BMTK-idiom cases with both tools and print the comparison.

    Each of ``repeat`` rounds runs BMTK, then bmtoolkit for each worker count, so that every
    ratio compares runs made under about the same machine load; the summary gives the best
    whole-process ratio of each worker count and the spread over the rounds.
    """
    text = IDIOM_SCRIPT.read_text()
    assert text.count(BMTK_IMPORT) == 1
    _byte_compile()
    with tempfile.TemporaryDirectory() as tmp:
        ours = Path(tmp) / "bmtoolkit_idiom_build.py"
        ours.write_text(text.replace(BMTK_IMPORT, OUR_IMPORT))
        for iterator, n in (("one_to_one", pair_n), ("one_to_all", all_n)):
            if n <= 0:
                continue
            print(f"{iterator} callables, N={n:,} cortical cells ({os.cpu_count()} cores)")
            walls: dict[int | str, list[float]] = {"bmtk": [], **{k: [] for k in workers}}
            ceilings: list[float] = []
            for round_ in range(repeat):
                if repeat > 1:
                    print(f"  round {round_ + 1}/{repeat}, {_load()}")
                floor, floor_cpu = _floor_run(ours, n, iterator)
                theirs = _idiom_run("bmtk", IDIOM_SCRIPT, n, iterator, 1)
                print(_idiom_line("BMTK 1.2.0", theirs))
                walls["bmtk"].append(theirs["wall_s"])
                ceilings.append(theirs["wall_s"] / floor)
                print(
                    f"  {'functions alone':>20}: wall {floor:7.2f} s, cpu {floor_cpu:7.2f} s "
                    f"(the script's connection functions from a bare loop over dict-subclass nodes; BMTK whole process / "
                    f"this: wall {ceilings[-1]:.1f}x, cpu {theirs['cpu_s'] / floor_cpu:.1f}x)"
                )
                for k in workers:
                    mine = _idiom_run("bmtoolkit", ours, n, iterator, k)
                    print(_idiom_line(f"bmtoolkit workers={k}", mine))
                    walls[k].append(mine["wall_s"])
                    print(
                        f"  {'':>20}  whole process {mine['wall_s'] / floor:.2f}x the functions "
                        f"alone ({mine['wall_s'] - floor:+.2f} s), cpu {mine['cpu_s'] / floor_cpu:.2f}x "
                        f"({mine['cpu_s'] - floor_cpu:+.2f} s)"
                    )
                    print(
                        f"  {'BMTK / bmtoolkit':>20}: wall {theirs['wall_s'] / mine['wall_s']:6.1f}x, "
                        f"cpu {theirs['cpu_s'] / mine['cpu_s']:6.1f}x, "
                        f"build {theirs['build_s'] / mine['build_s']:6.1f}x, "
                        f"save {theirs['save_s'] / max(mine['save_s'], 1e-9):6.1f}x, "
                        f"peak memory {theirs['peak_mib'] / mine['peak_mib']:5.1f}x, "
                        f"edge file bytes per edge {theirs['edge_bytes'] / max(theirs['edges'], 1) / (mine['edge_bytes'] / max(mine['edges'], 1)):5.2f}x, "
                        f"edge files {theirs['edge_bytes'] / mine['edge_bytes']:5.2f}x"
                    )
                sys.stdout.flush()
            if repeat > 1:
                print(
                    f"  BMTK / functions alone over dict-subclass nodes: best {max(ceilings):.2f}x, "
                    f"spread {min(ceilings):.2f}x-{max(ceilings):.2f}x"
                )
            for k in workers:
                r = [b / m for b, m in zip(walls["bmtk"], walls[k], strict=True)]
                fastest = min(walls["bmtk"]) / min(walls[k])
                target = IDIOM_TARGETS.get((iterator, n, k))
                verdict = (
                    f"; target >= {target:g}x: {'met' if fastest >= target else 'NOT met'}"
                    if target
                    else ""
                )
                print(
                    f"  workers={k}: fastest runs {min(walls['bmtk']):.2f} s / "
                    f"{min(walls[k]):.2f} s = {fastest:.2f}x{verdict}; within a round best "
                    f"{max(r):.2f}x, spread {min(r):.2f}x-{max(r):.2f}x over {len(r)} rounds "
                    f"({_load()})"
                )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the builds, print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="cortical cells for bmtoolkit")
    parser.add_argument("--scale", choices=["spec", "v1"], default="spec")
    parser.add_argument("--with-bmtk", action="store_true", help="also build with BMTK")
    parser.add_argument("--bmtk-n", type=int, default=2000, help="cortical cells for BMTK")
    parser.add_argument("--worker", choices=["bmtoolkit", "bmtk"], help=argparse.SUPPRESS)
    parser.add_argument("--idiom", action="store_true", help="BMTK-idiom scripts, both tools")
    parser.add_argument("--pair-n", type=int, default=3000, help="cells, one_to_one (0: skip)")
    parser.add_argument("--all-n", type=int, default=12000, help="cells, one_to_all (0: skip)")
    parser.add_argument("--workers", default="1,2", help="bmtoolkit worker counts, e.g. 1,2")
    parser.add_argument("--repeat", type=int, default=3, help="idiom rounds (fastest runs, spread)")
    args = parser.parse_args(argv)
    if args.idiom:
        idiom(args.pair_n, args.all_n, [int(k) for k in args.workers.split(",")], args.repeat)
        return 0
    if args.scale == "v1" and args.n == 20000:
        args.n = 230000
    if args.worker:
        _worker(args.worker, args.n, args.scale)
        return 0
    ours = _child("bmtoolkit", args.n, args.scale)
    print(_line("bmtoolkit", args.n, ours))
    if args.scale == "spec" and args.n == 20000:
        total = ours["build_s"] + ours["save_s"]
        print(
            f"  target N=20,000: <= 10 s and <= 1536 MiB -> {total:.1f} s, "
            f"{ours['peak_mib']:.0f} MiB: {'met' if total <= 10 and ours['peak_mib'] <= 1536 else 'NOT met'}"
        )
    if args.scale == "v1":
        total = ours["build_s"] + ours["save_s"]
        met = total <= 600 and ours["peak_mib"] <= 16 * 1024
        print(
            f"  target V1: <= 600 s and <= 16384 MiB -> {total:.1f} s, "
            f"{ours['peak_mib']:.0f} MiB: {'met' if met else 'NOT met'}"
        )
        print(
            f"  {ours['edges']:,} edge rows; peak by the end of the build "
            f"{ours['build_peak_mib']:.0f} MiB, overall (saving included) {ours['peak_mib']:.0f} MiB"
        )
    if args.with_bmtk:
        try:
            import bmtk  # noqa: F401
        except ImportError:
            print("BMTK is not installed; skipping the comparison")
            return 0
        small = _child("bmtoolkit", args.bmtk_n, args.scale)
        theirs = _child("bmtk", args.bmtk_n, args.scale)
        print(_line("bmtoolkit", args.bmtk_n, small))
        print(_line("bmtk", args.bmtk_n, theirs))
        t_small = small["build_s"] + small["save_s"]
        t_bmtk = theirs["build_s"] + theirs["save_s"]
        per_ours = (ours["build_s"] + ours["save_s"]) / ours["synapses"]
        per_bmtk = t_bmtk / max(theirs["synapses"], 1)
        print(
            f"  same size (N={args.bmtk_n:,}): BMTK / bmtoolkit time {t_bmtk / t_small:8.1f}x, "
            f"peak memory {theirs['peak_mib'] / small['peak_mib']:5.1f}x"
        )
        print(
            f"  per-synapse cost, BMTK at N={args.bmtk_n:,} / bmtoolkit at N={args.n:,}: "
            f"{per_bmtk / per_ours:8.1f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
