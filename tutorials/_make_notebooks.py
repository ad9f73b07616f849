"""Write the tutorial notebooks (``python tutorials/_make_notebooks.py``).

The notebooks are generated from the cells below so they stay reviewable as plain Python;
edit here and re-run. ``torchnet_heterogeneity.ipynb`` is written separately. Each notebook
writes its files under ``tutorial_outputs/`` of the folder it runs in.

The notebooks written here have no outputs; ``python scripts/refresh_tutorials.py`` then
executes them and stores their outputs (what readers and the documentation see). Checks of
the results live in ``tests/test_tutorials.py`` (``CHECKS``), not in the notebooks.
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
membrane potential and measure the firing rate of each step (an f-I curve).

Why start here? A current clamp is the simplest experiment that tells you whether a cell
model behaves like the neuron it stands for: it rests near its resting potential, stays
silent for small currents, and fires faster as the current grows. Every network you build
later inherits these properties, so it pays to look at them one cell at a time. The same
steps (a network written as SONATA files, a simulation config, `run`, then reading the
outputs back) are the ones every other tutorial follows; only the backend changes.

**What you need.** NEURON (`pip install neuron`) and a C compiler. The channel mechanisms
(`.mod` files) shipped with bmtoolkit are compiled the first time a bionet run needs them;
the run says so, names the cache folder, and later runs reuse the compiled library, so
expect the first run to take a minute longer than the next ones.""",
    ),
    ("code", COMMON + _workdir("single_cell")),
    (
        "md",
        """\
`create-environment` writes a morphology, a fit file and a synapse model for the bionet
backend; we reuse its `components/` folder and build our own one-cell network.

The *morphology* (`.swc`) is the geometry: a spherical soma and one dendrite. The *fit file*
(`ball_and_stick_fit.json`) holds the passive properties (membrane capacitance, axial
resistance) and the density of each ion channel per section, in the format of the Allen Cell
Types Database; `model_processing="aibs_perisomatic"` tells bionet to read it that way.""",
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
    (
        "md",
        """\
Three 100 ms current steps of increasing amplitude (nA), then a soma voltage report.

Each input is an `IClamp` on the soma: `amp` in nA, `delay` and `duration` in ms. The steps
are 150 ms apart so the cell returns to rest between them. In the `run` block, `dt` is the
integration step (0.1 ms is enough for these channels; halve it and compare if in doubt),
`dL` the largest compartment length in um (smaller gives more compartments and more
accuracy on long dendrites), and `spike_threshold` the somatic voltage (mV) at which a spike
is counted. `conditions` set the temperature (channel kinetics depend on it) and the initial
membrane potential.""",
    ),
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
print({amp: round(r, 1) for amp, r in zip(AMPS, rates)})""",
    ),
    (
        "md",
        """\
The grey bands mark the steps. Before the first one the soma rests near its resting
potential; each step depolarizes it, and above the cell's threshold current (the *rheobase*)
it fires repetitively. The rate during a step rises with the current: that is the f-I
curve, the first thing to compare with recordings of the cell type you model.

**Cautions.** A rate from one 100 ms step is a count of a handful of spikes, so it moves in
steps of 10 Hz; use longer steps (500 ms or more) and more amplitudes before fitting
anything to it. The first spikes of a step come faster than the later ones (adaptation),
so the rate depends on the window you count in. Try a few changes: a smaller `dL`, a step of
0.3 nA, or `celsius` at 22 degrees, and see which of them change the curve.""",
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
and look at rasters and rates.

Why GLIF? The generalized leaky integrate-and-fire models of the Allen Institute are fitted
to recordings of identified cell types, at five levels of detail: GLIF1 is a plain leaky
integrate-and-fire cell; GLIF2 adds a reset rule and a threshold that jumps after each
spike; GLIF3 adds *after-spike currents*, slow currents triggered by each spike that make a
cell adapt; GLIF4 combines both, and GLIF5 adds a threshold that follows the voltage. They
run thousands of times faster than biophysical cells, so they are the usual choice for
networks of tens of thousands of cells.

**What you need.** NEST (`pip install nest-simulator`).""",
    ),
    ("code", COMMON + _workdir("glif")),
    (
        "md",
        """\
## The cell models

A `neuron_config` file stores values in SI units: `C` is the membrane capacitance in farads
(1.5e-10 F = 150 pF), `R_input` the input resistance in ohms (2e8 = 200 MOhm, so the membrane
time constant R*C is 30 ms), `th_inf` the threshold above rest in volts (0.02 = 20 mV above
`El_reference`, the resting potential of -70 mV). The after-spike currents have amplitudes
in amperes (`asc_amp_array`, -30 and -10 pA: negative, so they hyperpolarize and the cell
adapts) and time constants in seconds (`asc_tau_array`, 30 and 300 ms). The numbers below are
round values of the same order as fitted excitatory and fast-spiking cells, not fits of one
particular cell; download real ones from the Cell Types Database for a model of a given
cell type. `tau_syn` (ms) gives one synaptic time constant per receptor port: excitatory
synapses use port 1, inhibitory ones port 2, chosen by `receptor_type` in the synapse files.""",
    ),
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
    (
        "md",
        """\
## The network

Cells get random `x`, `y` positions in a 200 um square (used here only for plots). Three
edge sets: excitatory cells contact any cell with probability 0.1, inhibitory ones with 0.3
(inhibition in cortex is denser and stronger), and 50 *virtual* background cells, which
only emit the spikes we give them, contact each cell with probability 0.3. `syn_weight` is
the peak synaptic current in pA for `glif_psc` (negative for inhibition); `delay` is in ms.
Each `build` takes a `seed`: the same seed gives the same files, on one core or many.

## Input and run

Poisson spike trains for the 50 background cells, 15 Hz for one second. The generator's
own `seed` makes the input reproducible; change it to see trial-to-trial variability.""",
    ),
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
print(summary.round(2).to_dict())""",
    ),
    (
        "md",
        """\
## Reading the result

The raster shows one row per cell and one mark per spike, coloured by population; the box
plot shows the distribution of per-cell rates over the one-second run (cells that never
fired count as 0 Hz, they are part of the distribution). Inhibitory GLIF1 cells have no
adaptation and a lower threshold, so they fire faster than the adapting excitatory cells.

**Cautions.** One second of activity from 100 cells is a small sample: a cell at 3 Hz fired
about three spikes, and its rate could as well have been 1 or 6 Hz. Compare populations by
their distributions, simulate longer (or several input seeds) before quoting numbers, and
remember that the rates depend strongly on the background weight and rate. Try
`syn_weight=30.0` for the background, or remove the after-spike currents from the
excitatory cells, and watch the rates change.""",
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
and nearby cells more often than distant ones. Then we look at the statistics.

Why these rules? In mouse and cat V1, a layer 4 cell's orientation preference comes largely
from the arrangement of its thalamic inputs: ON-centre and OFF-centre LGN cells whose
receptive fields lie in elongated, side-by-side subfields (Hubel and Wiesel's model). Among
cortical cells, connections are more likely between cells that prefer similar orientations
and between cells that are close. A network built this way carries its function in its
wiring, and checking the wiring statistics *before* simulating anything catches most
mistakes in connection rules. Nothing is simulated in this tutorial, so it needs neither
NEST nor NEURON.""",
    ),
    ("code", COMMON + _workdir("lgn_l4")),
    (
        "md",
        """\
## Building

The LGN is tiled 3 x 3 over a 60 x 60 degree field; each tile holds ON and OFF sustained
units (`sON_TF4`, `sOFF_TF4`, temporal frequency tuning around 4 Hz) whose receptive-field
sizes are drawn from the given range in degrees. L4 cells get a random preferred
orientation (`tuning_angle`, degrees), a position in a 300 x 100 x 300 um slab, and a
receptive-field centre (`vx`, `vy`, degrees) in the middle of the field.

`RetinotopicLGN` picks, for each L4 cell, `n_on` ON and `n_off` OFF units whose receptive
fields fall in two subfields `length` x `width` degrees, `separation` degrees apart, rotated
to the cell's preferred orientation. `LikeToLike` connects excitatory L4 cells with
probability `p0` times a tuning term (falling linearly with the orientation difference to
`floor` at 90 degrees) times a Gaussian of horizontal distance (`sigma` in um, on the `x`
and `z` axes). Weights here only matter for simulations; the statistics below look only at
which pairs are connected.""",
    ),
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
    (
        "md",
        """\
## Checking the wiring

Everything below reads the saved SONATA files back through `bmtoolkit.sonata`, so what we
check is what a simulator will load, not the builder's memory. First the edge counts per
edge population, then where the cells are, then how many inputs and outputs each cell has
(in- and out-degree): a rule that silently connected nothing, or everything, shows up here.""",
    ),
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
fig, ax = plot_connection_probability(centers, prob, label="L4 -> L4 (horizontal distance)")""",
    ),
    (
        "md",
        """\
The connection probability falls with horizontal distance, as the Gaussian term asks.
**Caution:** the far bins hold few pairs (the slab is only 300 um wide), so their
probabilities are noisy; look at the pair counts returned in `pairs` before reading
anything into the tail of the curve.

Like-to-like: the probability should fall with the difference in preferred orientation.
We compute it directly: for connected pairs and for all possible excitatory-to-any pairs,
histogram the orientation difference (folded into 0-90 degrees, since orientation is
periodic in 180), and divide.""",
    ),
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
ax.set_ylabel("connection probability")""",
    ),
    (
        "md",
        """\
Cells with similar preferences connect several times more often than cells with
orthogonal ones; the ratio is set by `floor` (0.2 at 90 degrees) and diluted by the distance
term. Try `tuning_params={"floor": 1.0}` (no orientation dependence) and the curve goes
flat; try a smaller `sigma` and the distance curve falls faster. With 200 cells every
statistic here comes from a few thousand pairs: enough to see the rules, not enough to
compare with a measured connection probability to two decimals. Build a larger network
(`N = 2000` takes a few seconds) before doing that.""",
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
steady-state population rates.

Why population densities? When a population is large and its cells alike, what matters for
the network is often the population's firing rate, not which cell fired. popnet tracks the
probability density of membrane potentials across the population (the approach of DiPDE,
which BMTK uses) and its output rate, in one computation per population instead of one per
cell. It answers questions such as "how does the excitatory rate depend on the background
input?" in seconds, and it gives the mean-field picture to compare a spiking network with.
It needs only numpy.

The example network has two populations in one node population `cortex`: excitatory (node
0) and inhibitory (node 1), coupled to each other and driven by an external Poisson rate
read from `inputs/external_rates.csv`. Each population's parameters (membrane time
constant, threshold, reset, the voltage grid of the density) are in its
`components/population_models/*_population.json` file.""",
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
        "md",
        """\
`rates.h5` holds one rate time series per population. The rates start from zero (all
membrane potentials at rest), rise as the external input drives the populations, and settle
to a steady state once excitation and inhibition balance.""",
    ),
    (
        "code",
        """\
from bmtoolkit.analyzer import plot_population_rate

names = ["exc", "inh"]
fig, ax = plot_population_rate([(names[i], series.times, series.data[:, i])
                                for i in range(series.data.shape[1])])""",
    ),
    (
        "md",
        """\
## A sweep of the input rate

Sweep the background rate (the `external_rates.csv` input) and keep the last value of each
run as the steady-state rate. Each run writes into its own output folder
(`output_dir=`), so no run replaces another's results. **Caution:** the last sample is a
steady state only if the run is long enough for the transient to end; 300 ms is enough for
these time constants (compare with the plot above), but a network with slow synapses or
strong recurrent excitation may need longer, or may oscillate and have no steady state.""",
    ),
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
ax.legend()""",
    ),
    (
        "md",
        """\
More input gives more output, but not in proportion: the curve is the population's
input-output (gain) function, shaped by threshold, leak and the recurrent inhibition, which
grows with the excitatory rate and holds it back. Densities are exact for infinitely many
independent cells; a spiking network of a few hundred cells will scatter around these
curves, so use popnet for the shape and the operating point and a spiking backend when the
fluctuations matter. Try editing the inhibitory population's threshold or the
recurrent weights (`syn_weight` in `build_network.py`), rebuild and run the sweep again.""",
    ),
]

GRATINGS = [
    (
        "md",
        """\
# Gratings through filternet into V1, and tuning curves

filternet turns a movie into LGN spike trains with spatio-temporal filters. We show drifting
gratings in eight directions (0 to 315 degrees in steps of 45) to a small LGN, feed its
spikes to L4 point neurons wired with the retinotopic rule (pointnet), and compute tuning
curves and selectivity indices.

Why eight directions? A drifting grating has an *orientation* (of its bars, 0-180 degrees)
and a *direction* of motion (0-360 degrees). The orientation selectivity index (OSI)
compares the response at the preferred orientation with the orthogonal one; the direction
selectivity index (DSI) compares the preferred direction with the opposite one, 180 degrees
away. With only 0-135 degrees no opposite direction is ever shown and DSI is undefined; with
eight directions both indices are defined, and each orientation is seen twice (moving
both ways).

This is the classic experiment of visual physiology, run end to end: stimulus, thalamus,
cortex, analysis. It needs NEST.""",
    ),
    ("code", COMMON + _workdir("gratings")),
    (
        "md",
        """\
## The network

120 LGN units per tile (ON and OFF sustained cells) on a 3 x 3 grid over 60 x 60 degrees,
and 24 L4 cells whose preferred orientations are spread evenly over 0-180 degrees, all
looking at the middle of the field. Each L4 cell takes 15 ON and 15 OFF inputs arranged by
the retinotopic rule along its preferred orientation, so its preference is *built in*; the
question is whether the simulated responses recover it. The L4 cells are `iaf_psc_exp`
neurons with a negative bias current (`I_e = -300` pA) so that only well-aligned input drives
them; the LGN weight (800 pA) is large because only 30 inputs reach each cell.""",
    ),
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
        "md",
        """\
## One grating, two simulations

For each direction we first run filternet on the grating movie (`sf`: spatial frequency in
cycles per degree, `tf`: temporal frequency in Hz, `contrast` 0-1; `row_size`/`col_size`
the movie size in degrees) with `dt` 1 ms, which writes LGN spike trains, then run pointnet
on the L4 network with those spikes as input, with `dt` 0.1 ms. Each run has its own output
folder and the same `random_seed`, so the directions differ only in the stimulus.""",
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
    return run(cfg, backend=backend, progress=False).outputs["spikes"]

DIRECTIONS = [0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0]
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
counts = (responses.groupby("node_id")["rate"].sum() * 1.0).rename("spikes")  # 1 s per grating
sel = sel.join(counts, on="node_id")
sel.round(2).head(8)""",
    ),
    (
        "md",
        """\
## How far to trust the indices

`preferred` is the direction of the largest response, `osi`/`dsi` the classic indices
((pref - orth) / (pref + orth) and (pref - opposite) / (pref + opposite)), `gosi`/`gdsi`
the global ones computed from the whole curve (vector sums), which are less sensitive to
noise. `spikes` is the number of spikes each cell fired over all eight gratings.

**Caution: indices from few spikes are not selectivity.** A cell that fired 2 spikes, both to
one grating, has OSI = 1.0 and DSI = 1.0, perfectly "selective", yet two spikes could have
fallen on any grating by chance. Before reading an index, look at the spike count; as a rule
of thumb, ignore cells with fewer than about 10-20 spikes in total, present each grating
several times (trials) and report the spread across trials. Prefer `gosi` over `osi` for
weakly responding cells. Here we keep only cells with at least 10 spikes.""",
    ),
    (
        "code",
        """\
import matplotlib.pyplot as plt

reliable = sel[sel["spikes"] >= 10]
print(f"{len(reliable)} of {len(sel)} cells fired at least 10 spikes")
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.hist(reliable["gosi"].dropna(), bins=10)
ax.set_xlabel("gOSI (cells with >= 10 spikes)")
ax.set_ylabel("cells")
print("mean gOSI", round(float(reliable["gosi"].mean()), 2),
      "mean gDSI", round(float(reliable["gdsi"].mean()), 2))""",
    ),
    (
        "md",
        """\
Few cells pass the spike-count filter: with 24 cells, one second per grating and one trial,
this is a sketch of the analysis, not a measurement. Among those cells, orientation
selectivity (gOSI) exceeds direction selectivity (gDSI): the retinotopic wiring makes each
cell respond more to gratings aligned with its subfields. Direction selectivity stays lower:
the ON and OFF subfields here are sustained and symmetric, so nothing in the wiring
distinguishes the two directions of motion; building direction selectivity needs inputs with
different time courses (sustained and transient units offset in space). Try it: add
transient types (`tON_TF8`) to the LGN and see whether `gdsi` grows.""",
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
`apt-get install openmpi-bin`, and `pip install mpi4py`.)

Why does that matter? Parallel runs are only useful if you can trust them: a result that
changes with the number of cores cannot be reproduced by a colleague on another machine.
bmtoolkit draws every random number of a build from a generator seeded by the build seed,
the edge set and the block of target cells, never by the rank that happens to build the
block, so the files do not depend on how the work is split. NEURON simulations use
NEURON's own parallel context, which gives each cell the same random streams on any number
of ranks.

`mpiexec` starts separate Python processes, so this notebook runs the command line in
subprocesses rather than in the notebook's kernel. On a laptop two ranks are enough to see
it work; on a cluster, use your scheduler's launcher (`srun`, `mpirun`) the same way. The
environment variables set below let OpenMPI run as root and on more ranks than cores, which
container images often need; drop them on a normal workstation.""",
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
    if proc.returncode != 0:
        raise RuntimeError(f"bmtoolkit {args[0]} failed with exit status {proc.returncode}")
    return proc

bmtoolkit("build", parallel / "build_network.py", ranks=2)
names = sorted(p.name for p in (serial / "network").iterdir())
same = [filecmp.cmp(serial / "network" / n, parallel / "network" / n, shallow=False)
        for n in names]
print(dict(zip(names, same)))""",
    ),
    (
        "md",
        """\
## Simulating on two ranks

A bionet example folder (NEURON distributes the cells over the ranks). The first run
compiles the NEURON mechanisms if this machine has not done so yet. Both runs read the same
config; `--output-dir` keeps their outputs apart.""",
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
two_run = bmtoolkit("run", config, "--output-dir", WORK / "two_ranks", ranks=2)
print("NEURON on two ranks:", "numprocs=2" in two_run.stdout + two_run.stderr)""",
    ),
    (
        "code",
        """\
from bmtoolkit.analyzer import load_spikes

def table(folder):
    df = load_spikes(folder / "spikes.h5")
    return df.sort_values(["population", "node_id", "timestamp"]).reset_index(drop=True)

one, two = table(WORK / "one_rank"), table(WORK / "two_ranks")
print(len(one), "spikes on one rank,", len(two), "on two; identical:", one.equals(two))""",
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
    (
        "md",
        """\
The two rasters are the same spike for spike. Spikes are compared after sorting, because
each rank records its own cells and the output file is merged from them; the order within a
file is not part of the result. **When is MPI worth it?** Each rank loads the network and
starts its simulator, which costs a second or two; for networks this small, one process is
faster. Parallel runs pay off for biophysical networks of hundreds of cells and more, and for
builds with millions of edges. Threads (`run.nthreads`, `--threads`) are the other option
for NEST and need no MPI at all.""",
    ),
]

FIT_GLIF = [
    (
        "md",
        """\
# Fitting a GLIF model to current-clamp recordings

A generalized leaky integrate-and-fire (GLIF) model describes a neuron with a handful of
numbers: a membrane resistance R and capacitance C, a resting potential El, a threshold, and,
at the higher levels, what a spike leaves behind. The five levels add one mechanism each:

1. **LIF**: the membrane integrates current; at threshold the voltage is reset.
2. **reset rules**: the voltage after a spike depends on the voltage before it (a slope
   `reset_a` and an offset `reset_b`), and the threshold jumps after each spike and decays.
3. **after-spike currents**: each spike starts currents that decay with fixed time constants,
   which is how adaptation and rebound appear in a point model.
4. levels 2 and 3 together.
5. **a voltage-dependent threshold**: the threshold follows the membrane voltage (`a_voltage`,
   `b_voltage`), so slow depolarisation raises it.

`bmtoolkit.glif` fits these levels to sweeps of stimulus current and membrane voltage, one
documented function per step: spike detection and the length of the spike cut; linear
regression of the subthreshold response for R, C and El; regression of the voltage after
each spike for the reset rule; regression of the suprathreshold response for the amplitudes of
the after-spike currents; and the threshold parameters by maximum likelihood based on internal
noise (MLIN), where the probability of a spike in each time step follows from how far the
voltage is from the threshold, scaled by a noise width. Each step can be called on its own,
which is useful when a recording only supports some of them.

Quality is measured as the explained variance of the spike-time histogram (PSTH) on a sweep
that the fit did not see. A value near 1 means the model fires when the cell fires; 0 means it
does no better than the mean rate. Published GLIF5 fits of real cells reach about 0.75
(excitatory) and 0.84 (inhibitory), so values near 1 are only expected when the data were
themselves made by a GLIF model.

That is what we do here: the "recordings" come from NEST's `glif_psc` running a known GLIF5
cell, so every fitted number can be compared with the true one. With real data, the same code
runs on sweeps read from `.npz`, CSV or NWB files.""",
    ),
    ("code", COMMON + _workdir("fit_glif")),
    (
        "code",
        """\
import nest
from bmtoolkit.glif import GlifParameters, Sweep, make_stimulus

nest.verbosity = nest.VerbosityLevel.ERROR
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
We made three noise sweeps: a weak one that keeps the cell below threshold (it pins down R,
C and El without spikes getting in the way), a suprathreshold one for the spike-related
parameters, and a third with a different random seed that the fit never sees. Noise is used
rather than steps because it visits many voltages and many inter-spike intervals in one
recording, which is what the regressions need.

The sweeps are saved as `.npz` (CSV and NWB files are read too) and fitted on the command line,
as one would for a folder of recordings. The last noise sweep is held out for scoring;
`--level 1 3 5` fits three levels so their quality can be compared. The command writes one
Allen `neuron_config` file per level, a summary, and a report figure.""",
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
    (
        "md",
        """\
The report figure shows, on the held-out sweep, the recorded voltage with the GLIF5 model's
voltage on top, the spike times of the data and of each fitted level as rasters, and the
explained variance per level. Look for two things: whether the model's spikes line up with
the data's (not only whether their number is right), and whether the higher levels improve on
GLIF1. On real cells the gain from levels 2 and 3 is often larger than from level 5; a short
or noisy recording can make a higher level look worse, because it has more parameters to get
wrong.""",
    ),
    (
        "code",
        """\
from IPython.display import Image

Image(filename=str(WORK / "cell.png"))""",
    ),
    (
        "md",
        """\
Finally, the fitted GLIF5 parameters next to the true ones. They are read back from the Allen
`neuron_config` file the command wrote, which is also what pointnet's `glif_psc` cells and
torchnet load, so a fitted cell can be used in a network at once. R, C and El should agree to
a fraction of a percent; the threshold adaptation parameters are estimated from far fewer
events (one per spike) and agree less well, which is worth remembering before reading much
into differences between cells.""",
    ),
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
