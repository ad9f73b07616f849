"""bmtoolkit's bionet backend vs a plain NEURON script on the 5_cells_iclamp example.

Both sides build the same five Allen perisomatic cells (SWC via Import3d, 2-section axon
stub, dL = 20 um), inject the same three current steps and run 4000 ms at dt = 0.1 ms with
the same compiled mechanism library. The plain script takes its parameters from the
``verification/model_gid*.json`` files and records spikes only; bmtoolkit runs the full
config without its ECP report (so it also writes spikes and two soma reports) and also rounds
every 3D point to six digits as the Import3d of the reference runs did (the plain script uses
today's Import3d as a user would; it builds PV1 slightly differently and drifts by a step). Each side runs in a fresh process;
the best of ``--repeat`` times is compared, for the whole process (interpreter start,
imports, config loading and validation included) and for building and simulating alone.

Usage::

    python benchmarks/bionet_vs_neuron.py [--repeat 3] [--tstop 4000] [--coreneuron]
    python benchmarks/bionet_vs_neuron.py --network [--case bio_450cells] [--tstop 3000]

Prints the two times and the ratio bmtoolkit / plain NEURON (target <= 1.1). With
``--coreneuron`` bmtoolkit is also timed simulating on CoreNEURON
(``BMTOOLKIT_CORENEURON=1``; its mechanism library is compiled before timing).

``--network`` is the network-build case: one of BMTK's own example networks of Allen
perisomatic cells (``bmtk_examples/bio_450cells`` by default: 300 detailed cells of five
models from ``bio_components``, 150 IntFire1 cells, 47,567 synapses at given locations, spike
trains replayed into it) run by bmtoolkit and by BMTK 1.2.0's BioNet, each once in a fresh
process on the same files (the examples ship no .mod files: BMTK's BioNet loads the
library compiled from ``bmtoolkit/simulator/bionet/nmodl`` plus the ``vecevent.mod`` that
BMTK installs for its users, for its ``VecStim`` spike sources). It prints, per side,
the time to build the network (cells, synapses and inputs: BMTK's
``BioSimulator.from_config``; bmtoolkit's ``build_network`` + ``add_inputs`` +
``add_reports``) per detailed cell, the simulate time and the ratios (targets: build >= 10x
faster, simulate unchanged), then how many of BMTK's spikes bmtoolkit reproduces within
0.1 ms (target >= 99.9%). ``--tstop`` shortens the simulated time of both sides.
On ``bio_450cells`` (3000 ms) bmtoolkit reproduces all 1258 of BMTK's spikes and makes no
other; the comparison is sensitive to the rule for the synapse ``sign`` on edges onto
point-process cells (see ``docs/differences_from_bmtk.md``), not to the six-digit rounding of
SWC points (rounding to 6 digits or keeping Import3d's 8 gives the same spikes on this network).
``--case bio_450cells_compact`` (synapses placed by the edge types' rules, drawn as BMTK draws
them) on 6 Dec 2026, 1500 ms, idle machine: build 1.88 s vs BMTK's 37.4 s (19.8x), simulate
0.98x, 1160 of 1160 spikes within 0.1 ms; ``bio_450cells`` the same day: 2.00 s vs 40.1 s
(20.1x), 483 of 483.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFORMANCE = Path(os.environ.get("BMTOOLKIT_CONFORMANCE", ROOT.parent / "shared" / "conformance"))
EXAMPLES = CONFORMANCE / "sonata_examples"
BMTK_EXAMPLES = CONFORMANCE / "bmtk_examples"

PLAIN = r"""
import json, sys, time
from pathlib import Path
from neuron import h
t0 = time.perf_counter()
lib, case, tstop = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
h.nrn_load_dll(lib)
h.load_file("stdrun.hoc")
h.load_file("import3d.hoc")
h('''
begintemplate Cell
public soma, dend, apic, axon, all, somatic, basal, apical, axonal
objref all, somatic, basal, apical, axonal, this
create soma[1], dend[1], apic[1], axon[1]
proc init() { localobj r, g
    all = new SectionList()
    somatic = new SectionList()
    basal = new SectionList()
    apical = new SectionList()
    axonal = new SectionList()
    forall delete_section()
    r = new Import3d_SWC_read()
    r.quiet = 1
    r.input($s1)
    g = new Import3d_GUI(r, 0)
    g.instantiate(this)
}
endtemplate Cell
''')
morph = {0: "Scnn1a_473845048_m", 1: "Rorb_325404214_m", 2: "Nr5a1_471087815_m",
         3: "Pvalb_470522102_m", 4: "Pvalb_469628681_m"}
cells, keep = [], []
for gid in range(5):
    model = json.loads(next((case / "verification").glob(f"model_gid{gid}_*.json")).read_text())
    cell = h.Cell(str(case.parent / "shared_components" / "morphologies" / f"{morph[gid]}.swc"))
    for sec in list(cell.axon):
        h.delete_section(sec=sec)
    h.execute("create axon[2]", cell)
    for sec in cell.axon:
        sec.L, sec.diam = 30, 1
        cell.all.append(sec=sec)
    cell.axon[0].connect(cell.soma[0](0.5), 0)
    cell.axon[1].connect(cell.axon[0](1), 0)
    h.define_shape()
    for sec in cell.all:
        stype = sec.name().rsplit(".", 1)[-1].split("[")[0]
        sec.insert("pas")
        for seg in sec:
            seg.pas.e = model["e_pas"][stype]
        for entry in model.get(stype, []):
            if entry.get("mechanism"):
                sec.insert(entry["mechanism"])
        for entry in model.get(stype, []):
            setattr(sec, entry["name"], entry["value"])
        sec.nseg = 1 + 2 * int(sec.L / 40.0)
    for amp, delay in ((0.15, 500.0), (0.175, 1500.0), (0.2, 2500.0)):
        clamp = h.IClamp(cell.soma[0](0.5))
        clamp.amp, clamp.delay, clamp.dur = amp, delay, 500.0
        keep.append(clamp)
    nc = h.NetCon(cell.soma[0](0.5)._ref_v, None, sec=cell.soma[0])
    nc.threshold = -15
    vec = h.Vector()
    nc.record(vec)
    keep += [nc, vec]
    cells.append(cell)
h.dt, h.steps_per_ms, h.celsius = 0.1, 10, 34.0
h.finitialize(-80)
h.continuerun(tstop)
print("ELAPSED", time.perf_counter() - t0)
"""

OURS = r"""
import sys, time
import neuron  # noqa: F401 - imports are timed separately (whole-process figure)
import bmtoolkit.simulator.bionet.backend  # noqa: F401
import bmtoolkit.sonata.circuit  # noqa: F401
from bmtoolkit.simulator.core.runner import run
t0 = time.perf_counter()
result = run(sys.argv[1], backend="bionet", output_dir=sys.argv[2])
print("ELAPSED", time.perf_counter() - t0)
"""


NETWORK_WORKER = r"""
import json, sys, time
tool, config, lib = sys.argv[1], sys.argv[2], sys.argv[3]
if tool == "bmtk":
    from neuron import h
    from bmtk.simulator import bionet
    h.nrn_load_dll(lib)
    t0 = time.perf_counter()
    conf = bionet.Config.from_json(config, validate=True)
    conf.build_env()
    net = bionet.BioNetwork.from_config(conf)
    t1 = time.perf_counter()
    sim = bionet.BioSimulator.from_config(conf, network=net)
    t2 = time.perf_counter()
    sim.run()
    t3 = time.perf_counter()
else:
    from bmtoolkit.simulator.bionet.backend import BioNetBackend
    from bmtoolkit.simulator.core.plan import RunPlan
    t0 = time.perf_counter()
    backend = BioNetBackend(RunPlan.from_config(config))
    backend.setup()
    t1 = time.perf_counter()
    backend.build_network()
    backend.add_inputs()
    backend.add_reports()
    t2 = time.perf_counter()
    backend.simulate()
    t3 = time.perf_counter()
    backend.write_outputs()
print(json.dumps({"setup_s": t1 - t0, "build_s": t2 - t1, "simulate_s": t3 - t2}))
"""


def _network_configs(case: Path, tmp: Path, tstop: float | None) -> dict[str, Path]:
    """Per tool, a copy of the example's configs with absolute paths, its own output folder
    and no ``mechanisms_dir`` (the example ships no .mod files; the library is loaded)."""
    circuit = json.loads((case / "config.circuit.json").read_text())
    circuit["manifest"]["$BASE_DIR"] = str(case)
    circuit["components"].pop("mechanisms_dir", None)
    (tmp / "circuit.json").write_text(json.dumps(circuit))
    out = {}
    for tool in ("bmtk", "bmtoolkit"):
        sim = json.loads((case / "config.simulation.json").read_text())
        sim["manifest"]["$BASE_DIR"] = str(case)
        sim["manifest"]["$OUTPUT_DIR"] = str(tmp / f"out_{tool}")
        sim["network"] = str(tmp / "circuit.json")
        sim["output"].pop("log_file", None)
        if tstop is not None:
            sim["run"]["tstop"] = tstop
        if "node_sets" in sim:  # inline node sets (bio_450cells_compact) as a node sets file
            (tmp / "node_sets.json").write_text(json.dumps(sim.pop("node_sets")))
            sim["node_sets_file"] = str(tmp / "node_sets.json")
        out[tool] = tmp / f"simulation_{tool}.json"
        out[tool].write_text(json.dumps(sim))
    return out


def _matched(ours, theirs, tol: float = 0.1) -> tuple[int, int]:
    """(BMTK spikes with a bmtoolkit spike of the same node within ``tol`` ms, BMTK spikes)."""
    import numpy as np

    hits = 0
    for node, group in theirs.groupby("node_id"):
        mine = np.sort(ours.loc[ours["node_id"] == node, "timestamp"].to_numpy())
        if not len(mine):
            continue
        times = group["timestamp"].to_numpy()
        k = np.clip(np.searchsorted(mine, times), 1, len(mine) - 1) if len(mine) > 1 else 0
        near = np.minimum(np.abs(mine[k] - times), np.abs(mine[k - 1] - times))
        hits += int(np.sum(near <= tol + 1e-9))
    return hits, len(theirs)


def _internal_spikes(path: Path):
    """Spikes of the example's ``internal`` population (an empty table when it has none)."""
    import pandas as pd

    from bmtoolkit.exceptions import SonataFormatError
    from bmtoolkit.sonata import read_spikes

    try:
        return read_spikes(path, population="internal")
    except SonataFormatError:
        return pd.DataFrame({"node_id": pd.Series(dtype="int64"), "timestamp": []})


def _bmtk_library() -> Path:
    """Our channel library plus the ``VecStim`` that BMTK's BioNet replays spikes with (the
    NEURON example file BMTK installs for its users), compiled for the BMTK side."""
    import bmtk

    from bmtoolkit.simulator.bionet.mechanisms import builtin_mod_files, compile_mechanisms

    vecstim = Path(bmtk.__file__).parent / "utils/scripts/bionet/mechanisms/modfiles/vecevent.mod"
    return compile_mechanisms([*builtin_mod_files(), vecstim])


def network_case(case: Path, tstop: float | None, env: dict[str, str], lib: Path) -> int:
    """Build and run one of BMTK's example networks with both tools; print the comparison."""
    from bmtoolkit.sonata import Circuit
    from bmtoolkit.sonata.config import load_circuit_config

    if not case.is_dir():
        print(f"BMTK example not found at {case}")
        return 1
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        configs = _network_configs(case, tmp, tstop)
        circuit = Circuit(load_circuit_config(tmp / "circuit.json"))
        n_bio = sum(
            int((pop.column("model_type") == "biophysical").sum()) for pop in circuit.nodes.values()
        )
        worker = tmp / "worker.py"
        worker.write_text(NETWORK_WORKER)
        times = {}
        for tool in ("bmtoolkit", "bmtk"):
            cmd = [sys.executable, str(worker), tool, str(configs[tool]), str(lib)]
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"{tool} failed:\n{proc.stderr[-3000:]}")
                return 1
            times[tool] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"  ({tool}: {times[tool]})", flush=True)
        spikes = {tool: _internal_spikes(tmp / f"out_{tool}" / "spikes.h5") for tool in times}
    ours, theirs = times["bmtoolkit"], times["bmtk"]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{case.name}: {n_bio} detailed cells, tstop {tstop or 'as configured'} ms")
    print(f"  machine load average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} CPUs")
    for tool, t in times.items():
        print(
            f"  {tool:10s} build {t['build_s']:7.2f} s ({1000 * t['build_s'] / n_bio:6.1f} ms "
            f"per detailed cell), simulate {t['simulate_s']:7.2f} s"
        )
    print(f"  build: bmtoolkit {theirs['build_s'] / ours['build_s']:.1f}x faster (target >= 10x)")
    print(f"  simulate: bmtoolkit / BMTK = {ours['simulate_s'] / theirs['simulate_s']:.2f}")
    hits, total = _matched(spikes["bmtoolkit"], spikes["bmtk"])
    print(
        f"  spikes: {hits} of BMTK's {total} within 0.1 ms ({100 * hits / max(total, 1):.2f}%,"
        f" target >= 99.9%); bmtoolkit {len(spikes['bmtoolkit'])} spikes"
    )
    return 0


def _config_without_ecp(case: Path, tmp: Path) -> Path:
    """The example's simulation config minus its extracellular report (the plain script
    computes no ECP), with ``$BASE_DIR`` pointing at the example folder."""
    doc = json.loads((case / "simulation_config.json").read_text())
    doc["manifest"]["$BASE_DIR"] = str(case)
    doc["reports"] = {
        k: v for k, v in doc.get("reports", {}).items() if v.get("module") != "extracellular"
    }
    path = tmp / "simulation_config.json"
    path.write_text(json.dumps(doc))
    return path


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(process wall time, in-process build + run time reported by the script)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    inner = float(proc.stdout.split("ELAPSED")[-1].split()[0])
    return wall, inner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tstop", type=float, default=4000.0)
    parser.add_argument("--coreneuron", action="store_true", help="also time CoreNEURON")
    parser.add_argument("--network", action="store_true", help="BMTK example network case")
    parser.add_argument("--case", default="bio_450cells", help="BMTK example (with --network)")
    args = parser.parse_args(argv)
    if args.network:
        tstop = args.tstop if "--tstop" in (argv if argv is not None else sys.argv) else None
        env = dict(os.environ, NEURON_MODULE_OPTIONS="-nogui")
        return network_case(BMTK_EXAMPLES / args.case, tstop, env, _bmtk_library())
    case = EXAMPLES / "5_cells_iclamp"
    if not case.is_dir():
        print(f"conformance data not found at {case}")
        return 1
    env = dict(os.environ, NEURON_MODULE_OPTIONS="-nogui")
    from bmtoolkit.simulator.bionet.mechanisms import builtin_mod_files, compile_mechanisms

    lib = compile_mechanisms(builtin_mod_files())
    if args.coreneuron:
        compile_mechanisms(builtin_mod_files(), coreneuron=True)
    core_env = dict(env, BMTOOLKIT_CORENEURON="1")
    with tempfile.TemporaryDirectory() as tmp:
        plain_py = Path(tmp) / "plain.py"
        plain_py.write_text(PLAIN)
        ours_py = Path(tmp) / "ours.py"
        ours_py.write_text(OURS)
        config = _config_without_ecp(case, Path(tmp))
        if args.tstop != 4000.0:
            print("note: --tstop only shortens the plain script; bmtoolkit runs the config")
        plain_t, ours_t, core_t = [], [], []
        for _ in range(args.repeat):
            plain_t.append(
                _time([sys.executable, str(plain_py), str(lib), str(case), str(args.tstop)], env)
            )
            ours_t.append(_time([sys.executable, str(ours_py), str(config), tmp + "/out"], env))
            if args.coreneuron:
                core_cmd = [sys.executable, str(ours_py), str(config), tmp + "/core"]
                core_t.append(_time(core_cmd, core_env))
    labels = ("whole process", "config + build + simulate + outputs (after imports)")
    for label, k in zip(labels, (0, 1), strict=True):
        best_plain = min(t[k] for t in plain_t)
        best_ours = min(t[k] for t in ours_t)
        print(f"{label}:")
        print(f"  plain NEURON script : {best_plain:.2f} s (best of {args.repeat})")
        print(f"  bmtoolkit bionet    : {best_ours:.2f} s (best of {args.repeat})")
        print(f"  ratio bmtoolkit / NEURON: {best_ours / best_plain:.2f}x (target <= 1.1x)")
        if core_t:
            best_core = min(t[k] for t in core_t)
            print(f"  bmtoolkit on CoreNEURON: {best_core:.2f} s, {best_core / best_plain:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
