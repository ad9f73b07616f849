"""Write the tutorial notebooks (``python tutorials/_make_notebooks.py``).

The notebooks are generated from the cells below so they stay reviewable as plain Python;
edit here and re-run. ``torchnet_heterogeneity.ipynb`` is written separately. Each notebook
writes its files under ``tutorial_outputs/`` of the folder it runs in.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}

COMMON = """\
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("PYNEST_QUIET", "1")
%matplotlib inline
"""


def _workdir(name: str) -> str:
    return f'WORK = (Path("tutorial_outputs") / "{name}").resolve()\nWORK.mkdir(parents=True, exist_ok=True)'


SINGLE_CELL = [
    (
        "md",
        """\
# A biophysical cell under current clamps (bionet / NEURON)

We build one multi-compartment cell (a ball-and-stick morphology with Allen-style
perisomatic channels shipped with bmtoolkit), inject three current steps, record the soma
membrane potential and measure the firing rate of each step (an f-I curve).""",
    ),
    ("code", COMMON + _workdir("single_cell")),
    (
        "md",
        """\
`create-environment` writes a morphology, a fit file and a synapse model for the bionet
backend; we reuse its `components/` folder and build our own one-cell network.""",
    ),
    (
        "code",
        """\
from bmtoolkit.commands.create_environment import create_environment
from bmtoolkit.builder import NetworkBuilder, write_circuit

create_environment("bionet", WORK / "env", build=False, overwrite=True)
components = WORK / "env" / "components"
sorted(str(p.relative_to(components)) for p in components.rglob("*.*"))""",
    ),
    (
        "code",
        """\
cell = NetworkBuilder("cell")
cell.add_nodes(N=1, pop_name="ball_and_stick", model_type="biophysical",
               model_template="ctdb:Biophys1.hoc", model_processing="aibs_perisomatic",
               dynamics_params="ball_and_stick_fit.json", morphology="ball_and_stick.swc")
cell.build(seed=1)
circuit = write_circuit([cell], WORK / "network", components={
    "biophysical_neuron_models_dir": components / "biophysical_neuron_models",
    "morphologies_dir": components / "morphologies",
})
circuit""",
    ),
    ("md", "Three 100 ms current steps of increasing amplitude (nA), then a soma voltage report."),
    (
        "code",
        """\
from bmtoolkit.sonata import write_simulation_config

AMPS = [0.05, 0.1, 0.2]
inputs = {f"step{i}": {"input_type": "current_clamp", "module": "IClamp",
                       "node_set": "all", "amp": amp, "delay": 50.0 + 150.0 * i,
                       "duration": 100.0}
          for i, amp in enumerate(AMPS)}
write_simulation_config(
    WORK / "simulation_config.json", network=circuit,
    run={"tstop": 500.0, "dt": 0.1, "dL": 20.0, "spike_threshold": -15.0},
    output={"output_dir": WORK / "output", "spikes_file": "spikes.h5"},
    inputs=inputs,
    reports={"soma_v": {"cells": "all", "variable_name": "v", "module": "membrane_report",
                        "sections": "soma"}},
    conditions={"celsius": 34.0, "v_init": -72.0},
)""",
    ),
    (
        "code",
        """\
from bmtoolkit.simulator import run

result = run(WORK / "simulation_config.json", backend="bionet")
result.outputs""",
    ),
    (
        "code",
        """\
from bmtoolkit.analyzer import load_spikes, load_traces, plot_traces
from bmtoolkit.sonata import load_config

report_file = load_config(WORK / "simulation_config.json").reports["soma_v"].file_name
traces = load_traces(report_file)
fig, ax = plot_traces(traces, title="soma membrane potential")
for i in range(len(AMPS)):
    ax.axvspan(50.0 + 150.0 * i, 150.0 + 150.0 * i, color="k", alpha=0.08)""",
    ),
    (
        "code",
        """\
spikes = load_spikes(result.outputs["spikes"])
rates = [((spikes.timestamp >= 50 + 150 * i) & (spikes.timestamp < 150 + 150 * i)).sum() / 0.1
         for i in range(len(AMPS))]
print({amp: round(r, 1) for amp, r in zip(AMPS, rates)})
assert rates[-1] > rates[0], "a larger current must give a higher rate"
assert traces.data[:400].max() < -50, "the cell rests before the first step\"""",
    ),
]

GLIF_NETWORK = [
    (
        "md",
        """\
# A point network of GLIF cells with Poisson input (pointnet / NEST)

Allen GLIF models are given as Cell Types Database `neuron_config` files (SI units);
bmtoolkit translates them to NEST's `glif_psc`. We build 80 excitatory GLIF3 cells (with
after-spike currents) and 20 inhibitory GLIF1 cells, drive them with Poisson spike trains
and look at rasters and rates.""",
    ),
    ("code", COMMON + _workdir("glif")),
    (
        "code",
        """\
import json

def neuron_config(C, R, th_inf, asc_amps=(), asc_taus=()):
    \"\"\"An Allen-style GLIF neuron_config (V, A, F, ohm, s).\"\"\"
    return {
        "El_reference": -0.07, "El": 0.0, "C": C, "R_input": R, "th_inf": th_inf,
        "init_voltage": 0.0, "init_threshold": th_inf, "spike_cut_length": 40, "dt": 5e-05,
        "asc_amp_array": list(asc_amps), "asc_tau_array": list(asc_taus),
        "init_AScurrents": [0.0] * len(asc_amps),
        "coeffs": {"C": 1.0, "G": 1.0, "th_inf": 1.0, "asc_amp_array": [1.0] * len(asc_amps)},
        "threshold_dynamics_method": {"name": "inf", "params": {}},
        "voltage_reset_method": {"name": "zero", "params": {}},
        "AScurrent_dynamics_method": {"name": "exp" if asc_amps else "none", "params": {}},
        "AScurrent_reset_method": {"name": "sum", "params": {"r": [1.0] * len(asc_amps)}},
        "threshold_reset_method": {"name": "inf", "params": {}},
        "type": "GLIF",
        "tau_syn": [5.5, 8.5],  # ms, one per receptor port (1 excitatory, 2 inhibitory)
    }

models = WORK / "components" / "cell_models"
synapses = WORK / "components" / "synaptic_models"
models.mkdir(parents=True, exist_ok=True)
synapses.mkdir(parents=True, exist_ok=True)
(models / "exc_glif3.json").write_text(json.dumps(
    neuron_config(1.5e-10, 2.0e8, 0.02, asc_amps=(-3e-11, -1e-11), asc_taus=(0.03, 0.3))))
(models / "inh_glif1.json").write_text(json.dumps(neuron_config(0.6e-10, 2.5e8, 0.015)))
(synapses / "exc.json").write_text(json.dumps({"receptor_type": 1}))
(synapses / "inh.json").write_text(json.dumps({"receptor_type": 2}))""",
    ),
    (
        "code",
        """\
from bmtoolkit.builder import NetworkBuilder, write_circuit

rng = np.random.default_rng(0)
v1 = NetworkBuilder("v1")
v1.add_nodes(N=80, pop_name="exc", ei="e", model_type="point_neuron",
             model_template="nest:glif_psc", dynamics_params="exc_glif3.json",
             x=rng.uniform(-100, 100, 80), y=rng.uniform(-100, 100, 80))
v1.add_nodes(N=20, pop_name="inh", ei="i", model_type="point_neuron",
             model_template="nest:glif_psc", dynamics_params="inh_glif1.json",
             x=rng.uniform(-100, 100, 20), y=rng.uniform(-100, 100, 20))
bkg = NetworkBuilder("bkg")
bkg.add_nodes(N=50, pop_name="poisson", model_type="virtual")
v1.add_edges(source={"ei": "e"}, target=v1.nodes(), connection_rule="fixed_probability",
             connection_params={"p": 0.1}, syn_weight=20.0, delay=1.5,
             model_template="static_synapse", dynamics_params="exc.json")
v1.add_edges(source={"ei": "i"}, target=v1.nodes(), connection_rule="fixed_probability",
             connection_params={"p": 0.3}, syn_weight=-40.0, delay=1.0,
             model_template="static_synapse", dynamics_params="inh.json")
bkg.add_edges(source=bkg.nodes(), target=v1.nodes(), connection_rule="fixed_probability",
              connection_params={"p": 0.3}, syn_weight=45.0, delay=1.0,
              model_template="static_synapse", dynamics_params="exc.json")
bkg.build(seed=1)
v1.build(seed=2)
circuit = write_circuit([v1, bkg], WORK / "network", components={
    "point_neuron_models_dir": models, "synaptic_models_dir": synapses})""",
    ),
    ("md", "Poisson spike trains for the 50 background cells, 15 Hz for one second:"),
    (
        "code",
        """\
from bmtoolkit.simulator import PoissonSpikeGenerator
from bmtoolkit.sonata import write_simulation_config

gen = PoissonSpikeGenerator(seed=3, population="bkg")
gen.add(range(50), 15.0, times=(0.0, 1.0))
gen.to_sonata(WORK / "bkg_spikes.h5")
write_simulation_config(
    WORK / "simulation_config.json", network=circuit,
    run={"tstop": 1000.0, "dt": 0.1, "random_seed": 1},
    output={"output_dir": WORK / "output", "spikes_file": "spikes.h5"},
    inputs={"bkg": {"input_type": "spikes", "module": "sonata",
                    "input_file": str(WORK / "bkg_spikes.h5"), "node_set": "bkg"}},
    target_simulator="NEST",
)""",
    ),
    (
        "code",
        """\
from bmtoolkit.simulator import run

result = run(WORK / "simulation_config.json")
print(result.backend, {k: round(v, 2) for k, v in result.timings.items()})""",
    ),
    (
        "code",
        """\
from bmtoolkit.analyzer import firing_rates, load_spikes, plot_raster, plot_rates
from bmtoolkit.sonata import Circuit

net = Circuit(WORK / "simulation_config.json")
spikes = load_spikes(result.outputs["spikes"], nodes=net.nodes, properties=["pop_name"])
fig, ax = plot_raster(spikes, group_by="pop_name", title="GLIF network")""",
    ),
    (
        "code",
        """\
rates = firing_rates(spikes, t_start=0, t_stop=1000, node_ids={"v1": net.nodes["v1"].ids()})
rates["pop_name"] = net.nodes["v1"].column("pop_name", rates["node_id"].to_numpy())
fig, ax = plot_rates(rates, group_by="pop_name", kind="box")
summary = rates.groupby("pop_name")["rate"].mean()
print(summary.round(2).to_dict())
assert (summary > 0).all()""",
    ),
]

LGN_L4 = [
    (
        "md",
        """\
# Building LGN -> L4 with retinotopic and like-to-like rules (builder + analyzer)

A small V1-like circuit: LGN filter units tiled over the visual field, and L4 cells with a
preferred orientation (`tuning_angle`) and a receptive-field centre (`vx`, `vy`). LGN -> L4
follows the retinotopic rule (ON and OFF subfields side by side along each cell's preferred
orientation); L4 -> L4 is like-to-like: cells with similar preferences connect more often,
and nearby cells more often than distant ones. Then we look at the statistics.""",
    ),
    ("code", COMMON + _workdir("lgn_l4")),
    (
        "code",
        """\
from bmtoolkit.builder import NetworkBuilder, write_circuit
from bmtoolkit.builder.lgn import LGNTypeSpec, lgn_node_groups
from bmtoolkit.builder.rules.like_to_like import LikeToLike
from bmtoolkit.builder.rules.retinotopic import RetinotopicLGN

lgn = NetworkBuilder("lgn")
types = (LGNTypeSpec("sON_TF4", 40, (2.0, 4.0)), LGNTypeSpec("sOFF_TF4", 40, (2.0, 4.0)))
for props in lgn_node_groups(field_size=(60.0, 60.0), tiles=(3, 3), types=types, seed=5):
    lgn.add_nodes(**props)

N = 200
rng = np.random.default_rng(1)
l4 = NetworkBuilder("l4")
for ei, n in (("e", 160), ("i", 40)):
    l4.add_nodes(
        N=n, ei=ei, pop_name=f"l4_{ei}", model_type="point_neuron",
        model_template="nest:iaf_psc_alpha", dynamics_params=f"{ei}.json",
        tuning_angle=rng.uniform(0.0, 180.0, n),
        x=rng.uniform(-150, 150, n), y=rng.uniform(-50, 50, n), z=rng.uniform(-150, 150, n),
        vx=rng.uniform(15.0, 45.0, n), vy=rng.uniform(15.0, 45.0, n),
    )
retinotopic = RetinotopicLGN(n_on=10, n_off=10, length=15.0, width=5.0, separation=5.0,
                             subtype_column="model_name", visual_columns=("vx", "vy"))
l4.add_edges(source=lgn.nodes(), target=l4.nodes(), connection_rule=retinotopic,
             syn_weight=5.0, delay=1.5, model_template="static_synapse",
             dynamics_params="exc.json")
like = LikeToLike(p0=0.4, tuning="linear", tuning_params={"floor": 0.2}, sigma=150.0,
                  axes="xz")
l4.add_edges(source={"ei": "e"}, target=l4.nodes(), connection_rule=like, syn_weight=2.0,
             delay=1.5, model_template="static_synapse", dynamics_params="exc.json")
lgn.build(seed=2)
l4.build(seed=3)
circuit = write_circuit([lgn, l4], WORK / "network")
print(lgn.nnodes, "LGN units,", l4.nnodes, "L4 cells")""",
    ),
    ("md", "Everything below reads the saved SONATA files back through `bmtoolkit.sonata`."),
    (
        "code",
        """\
from bmtoolkit.sonata import Circuit
from bmtoolkit.analyzer import plot_positions

net = Circuit(circuit)
nodes, edges = net.nodes, net.edges
{name: e.size for name, e in edges.items()}""",
    ),
    ("code", 'fig, ax = plot_positions(nodes["l4"], color_by="pop_name", title="L4 cells")'),
    (
        "code",
        """\
from bmtoolkit.analyzer import degrees, plot_degree_histogram

rec = edges["l4_to_l4"]
fig, ax = plot_degree_histogram(degrees(rec, direction="in", n_nodes=N),
                                degrees(rec, direction="out", n_nodes=N),
                                title="L4 -> L4")
lgn_in = degrees(edges["lgn_to_l4"], direction="in", n_nodes=N)
print("LGN inputs per L4 cell:", lgn_in.min(), "-", lgn_in.max())""",
    ),
    (
        "code",
        """\
from bmtoolkit.analyzer import connection_probability, plot_connection_probability

centers, prob, pairs = connection_probability(rec, nodes["l4"], nodes["l4"], bins=8, dims=(0, 2))
fig, ax = plot_connection_probability(centers, prob, label="L4 -> L4 (horizontal distance)")
assert prob[0] > prob[-1], "nearby cells connect more often\"""",
    ),
    ("md", "Like-to-like: the probability falls with the difference in preferred orientation."),
    (
        "code",
        """\
import matplotlib.pyplot as plt

angle = nodes["l4"].column("tuning_angle")
s, t = rec.source_node_ids(), rec.target_node_ids()
d_conn = np.abs((angle[s] - angle[t] + 90.0) % 180.0 - 90.0)
exc = np.flatnonzero(nodes["l4"].column("ei") == "e")
a, b = np.meshgrid(exc, np.arange(N), indexing="ij")
d_all = np.abs((angle[a] - angle[b] + 90.0) % 180.0 - 90.0)[a != b]
bins = np.linspace(0, 90, 7)
p = np.histogram(d_conn, bins)[0] / np.histogram(d_all, bins)[0]
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(0.5 * (bins[1:] + bins[:-1]), p, marker="o")
ax.set_xlabel("orientation difference (deg)")
ax.set_ylabel("connection probability")
assert p[0] > 2 * p[-1]""",
    ),
]

POPNET = [
    (
        "md",
        """\
# Population statistics with popnet

popnet follows the *density* of membrane potentials of a population of identical leaky
integrate-and-fire neurons instead of simulating each cell. Here we take the example folder
of `create-environment`, run it, then sweep the external input rate and read the
steady-state population rates.""",
    ),
    ("code", COMMON + _workdir("popnet")),
    (
        "code",
        """\
from bmtoolkit.commands.create_environment import create_environment
from bmtoolkit.simulator import run
from bmtoolkit.sonata import read_rates

config = create_environment("popnet", WORK / "sim", tstop=300.0, overwrite=True)
result = run(config)
rates = read_rates(result.outputs["rates"])
series = rates["cortex"]
series.data.shape, series.node_ids""",
    ),
    (
        "code",
        """\
from bmtoolkit.analyzer import plot_population_rate

names = ["exc", "inh"]
fig, ax = plot_population_rate([(names[i], series.times, series.data[:, i])
                                for i in range(series.data.shape[1])])""",
    ),
    ("md", "Sweep the background rate (the `external_rates.csv` input) and keep the last value:"),
    (
        "code",
        """\
steady = []
inputs = [2.0, 5.0, 10.0, 20.0]
for rate in inputs:
    (WORK / "sim" / "inputs" / "external_rates.csv").write_text(f"gid firing_rate\\n0 {rate}\\n")
    out = run(config, output_dir=WORK / "sim" / f"output_{int(rate)}")
    steady.append(read_rates(out.outputs["rates"])["cortex"].data[-1])
steady = np.array(steady)
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(5, 3.5))
for i, name in enumerate(names):
    ax.plot(inputs, steady[:, i], marker="o", label=name)
ax.set_xlabel("background rate (Hz)")
ax.set_ylabel("steady-state rate (Hz)")
ax.legend()
assert (np.diff(steady[:, 0]) > 0).all(), "more input, more output\"""",
    ),
]

GRATINGS = [
    (
        "md",
        """\
# Gratings through filternet into V1, and tuning curves

filternet turns a movie into LGN spike trains with spatio-temporal filters. We show drifting
gratings in four directions to a small LGN, feed its spikes to L4 point neurons wired with
the retinotopic rule (pointnet), and compute tuning curves and selectivity indices.""",
    ),
    ("code", COMMON + _workdir("gratings")),
    (
        "code",
        """\
import json

from bmtoolkit.builder import NetworkBuilder, write_circuit
from bmtoolkit.builder.lgn import LGNTypeSpec, lgn_node_groups
from bmtoolkit.builder.rules.retinotopic import RetinotopicLGN

lgn = NetworkBuilder("lgn")
types = (LGNTypeSpec("sON_TF4", 60, (2.0, 4.0)), LGNTypeSpec("sOFF_TF4", 60, (2.0, 4.0)))
for props in lgn_node_groups(field_size=(60.0, 60.0), tiles=(3, 3), types=types, seed=5):
    lgn.add_nodes(**props)
N_L4 = 24
rng = np.random.default_rng(0)
l4 = NetworkBuilder("l4")
l4.add_nodes(N=N_L4, model_type="point_neuron", model_template="nest:iaf_psc_exp",
             dynamics_params="l4.json", tuning_angle=np.linspace(0, 180, N_L4, endpoint=False),
             vx=30.0 + rng.uniform(-5, 5, N_L4), vy=30.0 + rng.uniform(-5, 5, N_L4))
rule = RetinotopicLGN(n_on=15, n_off=15, length=15.0, width=5.0, separation=5.0,
                      subtype_column="model_name", visual_columns=("vx", "vy"))
l4.add_edges(source=lgn.nodes(), target=l4.nodes(), connection_rule=rule, syn_weight=800.0,
             delay=1.5, model_template="static_synapse", dynamics_params="exc.json")
comp = WORK / "components"
comp.mkdir(exist_ok=True)
(comp / "l4.json").write_text(json.dumps({"C_m": 250.0, "tau_m": 10.0, "E_L": -70.0,
    "V_th": -55.0, "V_reset": -70.0, "t_ref": 2.0, "tau_syn_ex": 2.0, "I_e": -300.0}))
(comp / "exc.json").write_text("{}")
lgn.build(seed=1)
l4.build(seed=2)
circuit = write_circuit([lgn, l4], WORK / "network", components={
    "point_neuron_models_dir": comp, "synaptic_models_dir": comp})""",
    ),
    (
        "code",
        """\
from bmtoolkit.simulator import run
from bmtoolkit.sonata import write_simulation_config

def simulate(name, inputs, dt, backend):
    cfg = WORK / f"{name}.json"
    write_simulation_config(cfg, network=circuit, run={"tstop": 1000.0, "dt": dt,
                            "random_seed": 7}, inputs=inputs,
                            output={"output_dir": WORK / name, "spikes_file": "spikes.h5"})
    return run(cfg, backend=backend).outputs["spikes"]

DIRECTIONS = [0.0, 45.0, 90.0, 135.0]
l4_spikes = {}
for ori in DIRECTIONS:
    grating = {"input_type": "movie", "module": "grating", "row_size": 60, "col_size": 60,
               "sf": 0.1, "tf": 2.0, "orientation": ori, "contrast": 1.0}
    lgn_file = simulate(f"lgn_{int(ori)}", {"movie": grating}, 1.0, "filternet")
    feed = {"lgn": {"input_type": "spikes", "module": "sonata", "input_file": str(lgn_file),
                    "node_set": {"population": "lgn"}}}
    l4_spikes[ori] = simulate(f"l4_{int(ori)}", feed, 0.1, "pointnet")""",
    ),
    (
        "code",
        """\
from bmtoolkit.analyzer import load_spikes, plot_raster

fig, ax = plot_raster(load_spikes(WORK / "lgn_0" / "spikes.h5"), title="LGN, 0 deg grating")""",
    ),
    (
        "code",
        """\
from bmtoolkit.analyzer import grating_responses, plot_tuning, selectivity, tuning_curves

responses = grating_responses(l4_spikes, t_start=0.0, t_stop=1000.0, population="l4",
                              node_ids={"l4": np.arange(N_L4)})
curves = tuning_curves(responses)
fig, ax = plot_tuning(curves, max_nodes=4)
sel = selectivity(curves)
sel.head()""",
    ),
    ("md", "Is each cell's preferred grating close to the orientation its LGN inputs encode?"),
    (
        "code",
        """\
import matplotlib.pyplot as plt

angles = np.linspace(0, 180, N_L4, endpoint=False)
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.hist(sel["gosi"].dropna(), bins=10)
ax.set_xlabel("gOSI")
ax.set_ylabel("cells")
print("mean gOSI", round(float(sel["gosi"].mean()), 2))
assert sel["gosi"].mean() > 0.05""",
    ),
]

MPI = [
    (
        "md",
        """\
# Running on several cores with MPI

Builds and simulations split over MPI ranks with `mpiexec`. The results do not depend on the
number of ranks: a network built on two ranks is byte-for-byte the one built on one, and a
NEURON simulation on two ranks gives the same spikes. (Install OpenMPI, e.g.
`apt-get install openmpi-bin`, and `pip install mpi4py`.)""",
    ),
    (
        "code",
        COMMON
        + _workdir("mpi")
        + """
import shutil
import subprocess
import sys

MPIEXEC = shutil.which("mpiexec")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")
print(MPIEXEC)""",
    ),
    (
        "md",
        """\
## Building on two ranks

`bmtoolkit build` runs a build script on every rank; the ranks share the work of drawing
connections and rank 0 writes the files. We build the pointnet example once serially and
once on two ranks and compare the files byte by byte.""",
    ),
    (
        "code",
        """\
import filecmp

from bmtoolkit.commands.create_environment import create_environment

serial = create_environment("pointnet", WORK / "build_one", overwrite=True).parent
parallel = create_environment("pointnet", WORK / "build_two", build=False, overwrite=True).parent""",
    ),
    (
        "code",
        """\
def bmtoolkit(*args, ranks=1):
    cmd = [sys.executable, "-m", "bmtoolkit.cli", *map(str, args)]
    if ranks > 1:
        cmd = [MPIEXEC, "-n", str(ranks), *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    print(proc.stdout[-800:], proc.stderr[-800:])
    assert proc.returncode == 0
    return proc

bmtoolkit("build", parallel / "build_network.py", ranks=2)
names = sorted(p.name for p in (serial / "network").iterdir())
same = [filecmp.cmp(serial / "network" / n, parallel / "network" / n, shallow=False)
        for n in names]
print(dict(zip(names, same)))
assert all(same)""",
    ),
    (
        "md",
        """\
## Simulating on two ranks

A bionet example folder (NEURON distributes the cells over the ranks):""",
    ),
    (
        "code",
        """\
config = create_environment("bionet", WORK / "sim", tstop=300.0, overwrite=True)
print(config.read_text())""",
    ),
    (
        "code",
        """\
bmtoolkit("run", config, "--output-dir", WORK / "one_rank")
two = bmtoolkit("run", config, "--output-dir", WORK / "two_ranks", ranks=2)
assert "numprocs=2" in two.stdout + two.stderr, "NEURON ran on two ranks\"""",
    ),
    (
        "code",
        """\
from bmtoolkit.analyzer import load_spikes

def table(folder):
    df = load_spikes(folder / "spikes.h5")
    return df.sort_values(["population", "node_id", "timestamp"]).reset_index(drop=True)

one, two = table(WORK / "one_rank"), table(WORK / "two_ranks")
print(len(one), "spikes on one rank,", len(two), "on two")
assert one.equals(two)""",
    ),
    (
        "code",
        """\
import matplotlib.pyplot as plt
from bmtoolkit.analyzer import plot_raster

fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
plot_raster(one, ax=axes[0], title="1 rank")
plot_raster(two, ax=axes[1], title="2 ranks");""",
    ),
]

FIT_GLIF = [
    (
        "md",
        """\
# Fitting a GLIF model to current-clamp recordings

`bmtoolkit.glif` fits the five GLIF levels (LIF; reset rules; after-spike currents; both;
plus a voltage-dependent threshold) to sweeps of stimulus current and membrane voltage, one
documented step at a time: spike detection and spike cut, linear regressions for R, C, El,
after-spike currents and the voltage reset, and the threshold by maximum likelihood based
on internal noise (MLIN). Quality is the explained variance of the PSTH on a held-out sweep.

Here the "recordings" come from NEST's `glif_psc` running a known GLIF5 cell, so we can see
the parameters come back.""",
    ),
    ("code", COMMON + _workdir("fit_glif")),
    (
        "code",
        """\
import nest
from bmtoolkit.glif import GlifParameters, Sweep, make_stimulus

nest.set_verbosity("M_ERROR")
truth = GlifParameters(level=5, El=-0.0714, R=3.4e8, C=8.6e-11, th_inf=0.018,
                       spike_cut_length=134, dt=5e-5, reset_a=0.4, reset_b=0.004,
                       a_spike=0.0019, b_spike=103.0, a_voltage=9.2, b_voltage=34.3,
                       asc_amp=(-7.4e-11, -4.5e-10))

def record(stimulus, dt=5e-5, name=""):
    # NEST glif_psc under a current (A per sample) -> a Sweep in SI units
    nest.ResetKernel()
    nest.resolution = dt * 1e3
    cell = nest.Create("glif_psc", params=truth.to_nest())
    gen = nest.Create("step_current_generator", params={
        "amplitude_times": np.arange(1, stimulus.size + 1) * dt * 1e3,
        "amplitude_values": stimulus * 1e12})
    meter = nest.Create("multimeter", params={"record_from": ["V_m", "I"], "interval": dt * 1e3})
    nest.Connect(gen, cell)
    nest.Connect(meter, cell)
    nest.Simulate((stimulus.size + 2) * dt * 1e3)
    ev = meter.events
    n = stimulus.size
    return Sweep(ev["I"][:n] * 1e-12, ev["V_m"][:n] * 1e-3, dt, kind="noise", name=name)

def noise(duration, sigma, offset, seed):
    return make_stimulus("noise", duration=duration, dt=5e-5, amplitude=sigma,
                         offset=offset, seed=seed)

sweeps = [record(noise(1.0, 3e-11, 0.0, 1), name="subthreshold"),
          record(noise(1.5, 1e-10, 1.2e-10, 2), name="noise_1"),
          record(noise(1.5, 1e-10, 1.3e-10, 9), name="held_out")]""",
    ),
    (
        "md",
        """\
Sweeps are saved as `.npz` (CSV and NWB files are read too) and fitted on the command line:
the last noise sweep is held out for scoring.""",
    ),
    (
        "code",
        """\
from bmtoolkit.cli import main
from bmtoolkit.glif.io import write_npz

write_npz(WORK / "cell.npz", sweeps)
main(["fit-glif", str(WORK / "cell.npz"), "--level", "1", "3", "5",
      "-o", str(WORK / "cell.json")])""",
    ),
    ("md", "The report figure: voltage of data and GLIF5, spikes of each level, explained variance."),
    (
        "code",
        """\
from IPython.display import Image

Image(filename=str(WORK / "cell.png"))""",
    ),
    ("md", "The fitted GLIF5 parameters next to the true ones (Allen `neuron_config` form)."),
    (
        "code",
        """\
import json

fitted = GlifParameters.from_neuron_config(json.loads((WORK / "cell_lif_r_asc_a.json").read_text()))
for name in ("R", "C", "El", "th_inf", "reset_a", "a_spike", "a_voltage", "b_voltage"):
    print(f"{name:10s} true {getattr(truth, name):.4g}   fitted {getattr(fitted, name):.4g}")""",
    ),
]


NOTEBOOKS = {
    "single_cell_current_clamp": SINGLE_CELL,
    "glif_point_network": GLIF_NETWORK,
    "lgn_l4_network": LGN_L4,
    "popnet_statistics": POPNET,
    "gratings_tuning": GRATINGS,
    "mpi_parallel": MPI,
    "fit_glif_cell": FIT_GLIF,
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """One notebook from ``(kind, source)`` cells."""
    nb = new_notebook(metadata={"kernelspec": KERNEL, "language_info": {"name": "python"}})
    for i, (kind, src) in enumerate(cells):
        cell = new_markdown_cell(src) if kind == "md" else new_code_cell(src)
        cell["id"] = f"{name[:20]}-{i}"
        nb.cells.append(cell)
    return nb


def main() -> None:
    """Write every notebook next to this script."""
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(name, cells), HERE / f"{name}.ipynb")


if __name__ == "__main__":
    main()
