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

Prints the two times and the ratio bmtoolkit / plain NEURON (target <= 1.1). With
``--coreneuron`` bmtoolkit is also timed simulating on CoreNEURON
(``BMTOOLKIT_CORENEURON=1``; its mechanism library is compiled before timing).
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
EXAMPLES = (
    Path(os.environ.get("BMTOOLKIT_CONFORMANCE", ROOT.parent / "shared" / "conformance"))
    / "sonata_examples"
)

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
    args = parser.parse_args(argv)
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
