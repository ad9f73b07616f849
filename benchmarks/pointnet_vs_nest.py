"""Load, simulate and write times of bmtoolkit's pointnet against a plain PyNEST script.

Network: the builder benchmark's (``benchmarks/builder_vs_bmtk.py``): N ``iaf_psc_alpha``
cells (80% E / 20% I) with distance-dependent recurrent edges and an LGN population of N/10
virtual nodes, built once with bmtoolkit's builder. The LGN nodes fire 15 Hz Poisson trains
(fixed seed); 1 s of biological time, 1 thread, dt = 0.1 ms. The synaptic weights
(:data:`WEIGHTS`, pA per synapse, times ``nsyns``) make the network inhibition-dominated and
driven by the LGN: it fires ~32 Hz (~640k spikes in 1 s) in one stable asynchronous state,
whatever the Poisson seed (seeds 1-3: 633k-645k spikes).

Each tool runs in its own child process on the same files:

- ``bmtoolkit``: ``PointNet.from_config(...).run()``; load = reading and validating the
  configs + setup (importing NEST) + build + inputs + recorders;
- ``plain``: PyNEST driven directly with h5py and pandas (create per node type, connect per edge
  type with arrays, spike generators, spike recorder), writing spikes with h5py; load = importing
  NEST + reading the files + creating and connecting;
- ``bmtk`` (``--with-bmtk``): BMTK 1.2.0's PointNet on the same config;
- ``sonata`` (``--with-sonata-network``): ``nest.SonataNetwork`` (needs NEST built with HDF5).

Targets: load <= 1.1x plain PyNEST, spike writing <= 0.5 s for ~640k spikes, simulate equal
within noise.

Usage::

    python benchmarks/pointnet_vs_nest.py [--n 20000] [--tstop 1000] [--repeat 3]
        [--hugepages {default,off}] [--with-bmtk] [--with-sonata-network] [--network-dir DIR]

Transparent huge pages: numpy asks the kernel for them for arrays of 4 MB or more. On some
machines faulting them in is much slower from one process to the next, which makes the load
times of every tool bimodal (0.5 s apart at N=20,000); ``--hugepages off`` sets
``NUMPY_MADVISE_HUGEPAGE=0`` for every tool alike, which removes that spread.

Every run of every tool is a fresh Python process (so each pays NEST's import and first-use
costs alike); with ``--repeat`` the tools run several times, alternating, and the best time of
each step is kept (the machine's load varies).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DT = 0.1
RATE_HZ = 15.0
SEED = 1
#: syn_weight (pA per synapse) by presynaptic class, written into the edge-types CSVs
WEIGHTS = {"e": 1.0, "i": -4.0, "lgn": 8.0}
#: cell parameters (small C_m: pA-scale synaptic currents move V by about a mV)
EXC = {"C_m": 14.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 12.0, "t_ref": 2.0,
       "E_L": -70.0, "V_reset": -70.0, "V_th": -55.0, "I_e": 4.0}  # fmt: skip
INH = {**EXC, "C_m": 10.0, "t_ref": 1.0}


def build_network(n: int, root: Path) -> None:
    """Build the builder benchmark's network into ``root/network`` with bmtoolkit."""
    spec = importlib.util.spec_from_file_location("builder_bench", HERE / "builder_vs_bmtk.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    (root / "network").mkdir(parents=True, exist_ok=True)
    module.build_bmtoolkit(n, str(root / "network"), "spec")


def set_weights(net: Path) -> None:
    """Write :data:`WEIGHTS` into the edge types (by the ``e2i.json``-style parameter files
    the builder benchmark names after the presynaptic class)."""
    from bmtoolkit.sonata import read_types_csv, write_types_csv

    for csv in (net / "v1_v1_edge_types.csv", net / "lgn_v1_edge_types.csv"):
        types = read_types_csv(csv)
        source = [
            "lgn" if str(p).startswith("lgn") else str(p)[0] for p in types["dynamics_params"]
        ]
        types["syn_weight"] = [WEIGHTS[s] for s in source]
        write_types_csv(types, csv)


def write_inputs_and_configs(n: int, root: Path, tstop: float) -> Path:
    """Weights, cell/synapse parameter files, LGN Poisson spikes and SONATA configs."""
    from bmtoolkit.simulator import PoissonSpikeGenerator
    from bmtoolkit.sonata import write_circuit_config, write_simulation_config

    set_weights(root / "network")

    cells = root / "components" / "cells"
    syns = root / "components" / "synapses"
    cells.mkdir(parents=True, exist_ok=True)
    syns.mkdir(parents=True, exist_ok=True)
    (cells / "e.json").write_text(json.dumps(EXC))
    (cells / "i.json").write_text(json.dumps(INH))
    for name in ("e2e", "e2i", "i2e", "i2i", "lgn"):
        (syns / f"{name}.json").write_text("{}")
    gen = PoissonSpikeGenerator(seed=SEED, population="lgn")
    gen.add(range(n // 10), RATE_HZ, times=(0.0, tstop / 1000.0))
    gen.to_sonata(root / "lgn_spikes.h5")
    net = root / "network"
    write_circuit_config(
        root / "circuit_config.json",
        nodes=[
            {"nodes_file": net / f"{p}_nodes.h5", "node_types_file": net / f"{p}_node_types.csv"}
            for p in ("v1", "lgn")
        ],
        edges=[
            {"edges_file": net / f"{s}_v1_edges.h5", "edge_types_file": net / f"{s}_v1_edge_types.csv"}
            for s in ("v1", "lgn")
        ],
        components={"point_neuron_models_dir": cells, "synaptic_models_dir": syns},
        target_simulator="NEST",
    )  # fmt: skip
    cfg = root / "simulation_config.json"
    write_simulation_config(
        cfg,
        network=root / "circuit_config.json",
        run={"tstop": tstop, "dt": DT, "random_seed": SEED},
        output={"output_dir": root / "output", "spikes_file": "spikes.h5"},
        inputs={
            "lgn": {
                "input_type": "spikes",
                "module": "sonata",
                "input_file": str(root / "lgn_spikes.h5"),
                "node_set": "lgn",
            }
        },
        target_simulator="NEST",
    )
    return cfg


# ------------------------------------------------------------------------------ workers
def run_bmtoolkit(root: Path) -> dict:
    import h5py  # noqa: F401 - the same libraries as the plain worker, imported before the clock
    import numpy  # noqa: F401
    import pandas  # noqa: F401

    from bmtoolkit.simulator import PointNet

    t0 = time.perf_counter()
    backend = PointNet.from_config(root / "simulation_config.json", progress=False, threads=1)
    plan_s = time.perf_counter() - t0
    res = backend.run()
    t = res.timings
    return {
        "load_s": plan_s + t["setup"] + t["build_network"] + t["add_inputs"] + t["add_reports"],
        "simulate_s": t["simulate"],
        "write_s": t["write_outputs"],
        "spikes": res.extra["n_spikes"],
    }


def run_plain(root: Path) -> dict:
    """PyNEST driven directly from the files, as a user would write it."""
    import h5py
    import numpy as np
    import pandas as pd

    t0 = time.perf_counter()
    import nest

    nest.ResetKernel()
    nest.set(resolution=DT, local_num_threads=1, rng_seed=SEED)
    net = root / "network"
    cells = root / "components" / "cells"
    sim = json.loads((root / "simulation_config.json").read_text())
    tstop = float(sim["run"]["tstop"])
    gids = {}
    created = []
    for pop in ("v1", "lgn"):
        with h5py.File(net / f"{pop}_nodes.h5", "r") as f:
            ntype = f[f"nodes/{pop}/node_type_id"][()]
        types = pd.read_csv(net / f"{pop}_node_types.csv", sep=" ").set_index("node_type_id")
        ids = np.zeros(len(ntype), dtype=np.int64)
        if (types["model_type"] == "virtual").all():
            ids[:] = nest.Create(
                "spike_generator", len(ntype), {"precise_times": True}
            ).tolist()  # BMTK's generator option, as pointnet
        else:
            for nt in np.unique(ntype):
                row = types.loc[nt]
                params = json.loads((cells / row["dynamics_params"]).read_text())
                sel = np.flatnonzero(ntype == nt)
                model = row["model_template"].split(":", 1)[1]
                nodes = nest.Create(model, len(sel), params=params)
                created.append(nodes)
                ids[sel] = nodes.tolist()
        gids[pop] = ids
    for src in ("v1", "lgn"):
        types = pd.read_csv(net / f"{src}_v1_edge_types.csv", sep=" ").set_index("edge_type_id")
        with h5py.File(net / f"{src}_v1_edges.h5", "r") as f:
            grp = f[f"edges/{src}_to_v1"]
            s, t = grp["source_node_id"][()], grp["target_node_id"][()]
            et = grp["edge_type_id"][()]
            nsyns = grp["0/nsyns"][()] if "nsyns" in grp["0"] else np.ones(len(s))
        for e in np.unique(et):
            m = et == e
            row = types.loc[e]
            nest.Connect(
                gids[src][s[m]],
                gids["v1"][t[m]],
                "one_to_one",
                {
                    "synapse_model": row["model_template"],
                    "weight": float(row["syn_weight"]) * nsyns[m].astype(float),
                    "delay": np.full(int(m.sum()), float(row["delay"])),
                },
            )
    with h5py.File(root / "lgn_spikes.h5", "r") as f:
        node_ids = f["spikes/lgn/node_ids"][()]
        times = f["spikes/lgn/timestamps"][()]
    order = np.argsort(node_ids, kind="stable")
    node_ids, times = node_ids[order], times[order]
    bounds = np.searchsorted(node_ids, np.arange(len(gids["lgn"]) + 1))
    gens = nest.NodeCollection(gids["lgn"].tolist())
    gens.set(
        [{"spike_times": np.sort(times[a:b]).tolist()} for a, b in zip(bounds[:-1], bounds[1:])]
    )
    rec = nest.Create("spike_recorder")
    for nodes in created:
        nest.Connect(nodes, rec)
    t1 = time.perf_counter()
    nest.Simulate(tstop)
    t2 = time.perf_counter()
    ev = rec.get("events")
    senders = np.asarray(ev["senders"]) - gids["v1"][0]
    with h5py.File(root / "plain_spikes.h5", "w") as f:
        g = f.create_group("spikes/v1")
        g.create_dataset("node_ids", data=senders.astype(np.uint64))
        g.create_dataset("timestamps", data=np.asarray(ev["times"], float))
    t3 = time.perf_counter()
    return {"load_s": t1 - t0, "simulate_s": t2 - t1, "write_s": t3 - t2, "spikes": len(senders)}


def run_bmtk(root: Path) -> dict:
    """BMTK builds lazily inside its run, so only the total is comparable."""
    t0 = time.perf_counter()
    from bmtk.simulator import pointnet

    cfg = pointnet.Config.from_json(str(root / "simulation_config.json"))
    cfg.build_env()
    net = pointnet.PointNetwork.from_config(cfg)
    sim = pointnet.PointSimulator.from_config(cfg, net)
    sim.run()
    return {"total_s": time.perf_counter() - t0}


def run_sonata_network(root: Path) -> dict:
    import nest

    t0 = time.perf_counter()
    nest.ResetKernel()
    net = nest.SonataNetwork(root / "circuit_config.json", root / "simulation_config.json")
    nodes = net.BuildNetwork()
    rec = nest.Create("spike_recorder")
    nest.Connect(nodes["v1"], rec)
    t1 = time.perf_counter()
    net.Simulate()
    t2 = time.perf_counter()
    return {"load_s": t1 - t0, "simulate_s": t2 - t1, "spikes": rec.n_events}


WORKERS = {
    "bmtoolkit": run_bmtoolkit,
    "plain": run_plain,
    "bmtk": run_bmtk,
    "sonata": run_sonata_network,
}


def _child(tool: str, root: Path, hugepages: str = "default") -> dict | None:
    env = {**os.environ, "PYNEST_QUIET": "1"}
    if hugepages == "off":  # same setting for every tool
        env["NUMPY_MADVISE_HUGEPAGE"] = "0"
    cmd = [sys.executable, __file__, "--worker", tool, "--network-dir", str(root)]
    # BMTK resolves the configs' relative paths against the working directory
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root)
    if proc.returncode:
        print(f"{tool}: failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Build (or reuse) the network, run each tool in a child process, print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="cortical cells")
    parser.add_argument("--tstop", type=float, default=1000.0, help="simulated ms")
    parser.add_argument("--network-dir", type=Path, help="reuse/keep the network here")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool (best kept)")
    parser.add_argument("--hugepages", choices=("default", "off"), default="default",
                        help="'off': numpy does not ask for transparent huge pages in any tool")  # fmt: skip
    parser.add_argument("--with-bmtk", action="store_true", help="also run BMTK's PointNet")
    parser.add_argument("--with-sonata-network", action="store_true",
                        help="also run nest.SonataNetwork")  # fmt: skip
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.network_dir)))
        return 0
    tmp = None
    root = args.network_dir.resolve() if args.network_dir else None
    if root is None:
        tmp = tempfile.TemporaryDirectory()
        root = Path(tmp.name)
    try:
        if not (root / "network" / "v1_v1_edges.h5").exists():
            t0 = time.perf_counter()
            build_network(args.n, root)
            print(f"built N={args.n:,} in {time.perf_counter() - t0:.1f} s")
        write_inputs_and_configs(args.n, root, args.tstop)
        tools = ["bmtoolkit", "plain"]
        tools += ["bmtk"] if args.with_bmtk else []
        tools += ["sonata"] if args.with_sonata_network else []
        for f in (root / "network").iterdir():  # warm the page cache: no tool pays cold reads
            f.read_bytes()
        runs: dict[str, list[dict]] = {tool: [] for tool in tools}
        for _ in range(args.repeat):  # alternate the tools so load changes hit both alike
            for tool in tools:
                r = _child(tool, root, args.hugepages)
                if r is not None:
                    runs[tool].append(r)
        results = {
            tool: {k: min(r[k] for r in rs) for k in rs[0]} if rs else None
            for tool, rs in runs.items()
        }
        for tool, r in results.items():
            if r is not None:
                print(f"{tool:>10}: " + ", ".join(
                    f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v:,}" for k, v in r.items()
                ))  # fmt: skip
        ours, plain = results["bmtoolkit"], results["plain"]
        if ours and plain:
            load = ours["load_s"] / plain["load_s"]
            sim = ours["simulate_s"] / plain["simulate_s"]
            print(
                f"load bmtoolkit / plain PyNEST: {load:.2f}x (target <= 1.1x; best of "
                f"{args.repeat}, fresh processes, numpy huge pages {args.hugepages})"
            )
            print(f"simulate bmtoolkit / plain PyNEST: {sim:.2f}x (target ~1.0x)")
            print(
                f"spike writing: {ours['write_s']:.3f} s for {ours['spikes']:,} spikes "
                f"(target <= 0.5 s for ~640k); plain h5py {plain['write_s']:.3f} s"
            )
            same = "same" if ours["spikes"] == plain["spikes"] else "DIFFERENT"
            print(f"spike counts: {same} ({ours['spikes']:,} vs {plain['spikes']:,})")
        if results.get("bmtk") and plain:
            total = sum(plain.get(k, 0.0) for k in ("load_s", "simulate_s", "write_s"))
            ratio = results["bmtk"]["total_s"] / total
            print(f"total BMTK / plain PyNEST: {ratio:.2f}x (import, load, simulate, write)")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
