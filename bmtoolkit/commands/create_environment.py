"""``bmtoolkit create-environment --backend NAME DIR``: scaffold a runnable simulation folder.

The folder has the layout BMTK users know, with an example network already built::

    DIR/
      build_network.py        # the example network (bmtoolkit.builder); edit and re-run
      circuit_config.json     # nodes + edges files, components folders
      simulation_config.json  # run, inputs, outputs, reports
      config.json             # BMTK's combined form: {"network": ..., "simulation": ...}
      components/             # model parameter files of the chosen backend
      network/                # SONATA nodes/edges written by build_network.py
      inputs/                 # input spike trains written by build_network.py
      output/                 # filled by `bmtoolkit run DIR/config.json`

Examples
--------
>>> from bmtoolkit.cli import main
>>> main(["create-environment", "--backend", "pointnet", "sim"])  # doctest: +SKIP
0
>>> main(["run", "sim/config.json"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.registry import Registry

NAME = "create-environment"
HELP = "Create a simulation folder (configs, components, example network, inputs) to run."


@dataclass(frozen=True)
class Scaffold:
    """What one backend's folder holds.

    Attributes
    ----------
    components : mapping
        ``{path under components/: file content}`` (dicts are written as JSON).
    build_script : str
        Source of ``build_network.py``.
    nodes, edges : tuple of str
        Network file stems (``network/<stem>_nodes.h5`` / ``network/<stem>_edges.h5``).
    simulation : mapping
        Simulation config sections besides ``manifest``, ``network``, ``output``.
    component_dirs : mapping
        ``components`` keys of the circuit config -> folder under ``components/``.
    """

    components: Mapping[str, Any]
    build_script: str
    nodes: tuple[str, ...]
    edges: tuple[str, ...]
    simulation: Mapping[str, Any]
    component_dirs: Mapping[str, str] = field(default_factory=dict)


SCAFFOLDS: Registry = Registry("create-environment backend")

_HEADER = '''"""Build the example network of this folder and its input spikes.

Run again after editing: ``bmtoolkit build build_network.py`` (or ``python build_network.py``).
"""

from pathlib import Path

import numpy as np

from bmtoolkit.builder import NetworkBuilder
from bmtoolkit.simulator import PoissonSpikeGenerator

HERE = Path(__file__).resolve().parent
NETWORK_DIR = HERE / "network"
INPUTS_DIR = HERE / "inputs"
NETWORK_DIR.mkdir(exist_ok=True)
INPUTS_DIR.mkdir(exist_ok=True)
rng = np.random.default_rng(SEED)
'''


def _poisson_input(pop: str, n: int, rate: float, tstop_s: float, seed: int) -> str:
    return f"""
# Poisson spike trains of the virtual input population
spikes = PoissonSpikeGenerator(seed={seed}, population="{pop}")
spikes.add(range({n}), {rate}, times=(0.0, {tstop_s}))
spikes.to_sonata(INPUTS_DIR / "{pop}_spikes.h5")
"""


def _spikes_input(pop: str) -> dict[str, Any]:
    return {
        "input_type": "spikes",
        "module": "sonata",
        "input_file": f"$INPUT_DIR/{pop}_spikes.h5",
        "node_set": {"population": pop},
    }


@SCAFFOLDS.register("pointnet")
def _pointnet(tstop: float) -> Scaffold:
    exc = {"C_m": 250.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": -70.0, "V_th": -55.0,
           "V_reset": -70.0, "tau_syn_ex": 2.0, "tau_syn_in": 2.0}  # fmt: skip
    inh = {**exc, "C_m": 200.0, "tau_m": 10.0, "t_ref": 1.0, "V_th": -52.0}
    script = _HEADER.replace("SEED", "1") + '''
# 80 excitatory and 20 inhibitory NEST point neurons in a 100 um column
v1 = NetworkBuilder("v1")
for pop_name, ei, n, params in (("exc", "e", 80, "exc_iaf.json"), ("inh", "i", 20, "inh_iaf.json")):
    v1.add_nodes(
        N=n, pop_name=pop_name, ei=ei, model_type="point_neuron",
        model_template="nest:iaf_psc_alpha", dynamics_params=params,
        x=rng.uniform(-50, 50, n), y=rng.uniform(-50, 50, n), z=rng.uniform(0, 100, n),
    )
lgn = NetworkBuilder("lgn")
lgn.add_nodes(N=50, pop_name="lgn", ei="e", model_type="virtual")

syn = {"model_template": "static_synapse", "dynamics_params": "static.json"}
v1.add_edges(source={"ei": "e"}, target=v1.nodes(), connection_rule="fixed_probability",
             connection_params={"p": 0.1}, syn_weight=30.0, delay=1.5, **syn)
v1.add_edges(source={"ei": "i"}, target=v1.nodes(), connection_rule="fixed_probability",
             connection_params={"p": 0.2}, syn_weight=-80.0, delay=1.0, **syn)
v1.add_edges(source=lgn.nodes(), target=v1.nodes(), connection_rule="fixed_probability",
             connection_params={"p": 0.3, "nsyns": (1, 3)}, syn_weight=60.0, delay=2.0, **syn)
lgn.build(seed=2)
v1.build(seed=3)
lgn.save(output_dir=NETWORK_DIR)
v1.save(output_dir=NETWORK_DIR)
''' + _poisson_input("lgn", 50, 20.0, tstop / 1000.0, 4)  # fmt: skip
    return Scaffold(
        components={
            "point_neuron_models/exc_iaf.json": exc,
            "point_neuron_models/inh_iaf.json": inh,
            "synaptic_models/static.json": {},
        },
        build_script=script,
        nodes=("v1", "lgn"),
        edges=("v1_v1", "lgn_v1"),
        simulation={
            "target_simulator": "NEST",
            "run": {"tstop": tstop, "dt": 0.1, "random_seed": 1},
            "inputs": {"lgn_spikes": _spikes_input("lgn")},
        },
        component_dirs={
            "point_neuron_models_dir": "point_neuron_models",
            "synaptic_models_dir": "synaptic_models",
        },
    )


def _ball_and_stick_swc() -> str:
    """Soma (radius 10 um), two basal dendrites, one apical dendrite, an axon stub."""
    lines = ["# ball-and-stick cell: soma, 2 basal and 1 apical dendrite, axon",
             "1 1 0.0 0.0 0.0 10.0 -1"]  # fmt: skip
    n = 1

    def branch(kind: int, direction: tuple[float, float, float], length: float,
               radius: float, parent: int = 1, steps: int = 10) -> None:  # fmt: skip
        nonlocal n
        prev = parent
        for k in range(1, steps + 1):
            n += 1
            x, y, z = (c * (10.0 + length * k / steps) for c in direction)
            lines.append(f"{n} {kind} {x:.2f} {y:.2f} {z:.2f} {radius:.2f} {prev}")
            prev = n

    branch(3, (0.7, -0.7, 0.0), 150.0, 0.6)
    branch(3, (-0.7, -0.7, 0.0), 150.0, 0.6)
    branch(4, (0.0, 1.0, 0.0), 400.0, 1.0, steps=20)
    branch(2, (0.0, -1.0, 0.3), 60.0, 0.5, steps=3)
    return "\n".join(lines) + "\n"


def _ball_and_stick_fit() -> dict[str, Any]:
    """Allen perisomatic-style fit (passive, genome, conditions) for the ball-and-stick cell."""

    def gene(section: str, name: str, value: float, mech: str = "") -> dict[str, Any]:
        return {"section": section, "name": name, "value": value, "mechanism": mech}

    genome = []
    for sec in ("soma", "axon", "dend", "apic"):
        genome.append(gene(sec, "g_pas", 5e-5 if sec in ("dend", "apic") else 1e-4))
    genome += [
        gene("soma", "gbar_NaV", 0.06, "NaV"),
        gene("soma", "gbar_Kv3_1", 0.5, "Kv3_1"),
        gene("soma", "gbar_Kd", 0.005, "Kd"),
        gene("soma", "gbar_Ih", 5e-5, "Ih"),
        gene("axon", "gbar_NaV", 0.1, "NaV"),
        gene("axon", "gbar_Kv3_1", 0.8, "Kv3_1"),
        gene("apic", "gbar_Ih", 1e-4, "Ih"),
    ]
    return {
        "passive": [{"ra": 100.0, "e_pas": -72.0,
                     "cm": [{"section": s, "cm": 1.0} for s in ("soma", "axon", "dend", "apic")]}],
        "conditions": [{"celsius": 34.0, "v_init": -72.0,
                        "erev": [{"section": s, "ena": 53.0, "ek": -107.0}
                                 for s in ("soma", "axon")]}],
        "genome": genome,
    }  # fmt: skip


@SCAFFOLDS.register("bionet")
def _bionet(tstop: float) -> Scaffold:
    script = _HEADER.replace("SEED", "1") + '''
# two biophysical ball-and-stick cells (Allen perisomatic-style fit, channels shipped with
# bmtoolkit's NEURON backend) and 20 virtual input cells
bio = NetworkBuilder("bio")
bio.add_nodes(
    N=2, pop_name="ball_and_stick", ei="e", model_type="biophysical",
    model_template="ctdb:Biophys1.hoc", model_processing="aibs_perisomatic",
    dynamics_params="ball_and_stick_fit.json", morphology="ball_and_stick.swc",
    x=[0.0, 100.0], y=[0.0, 0.0], z=[0.0, 0.0],
)
virt = NetworkBuilder("virt")
virt.add_nodes(N=20, pop_name="input", ei="e", model_type="virtual")
virt.add_edges(source=virt.nodes(), target=bio.nodes(), connection_rule="fixed_probability",
               connection_params={"p": 0.8, "nsyns": (2, 4)}, syn_weight=0.0004, delay=2.0,
               target_sections=["dend", "apic"], distance_range=[0.0, 300.0],
               model_template="Exp2Syn", dynamics_params="AMPA_ExcToExc.json")
bio.build(seed=2)
virt.build(seed=3)
bio.save(output_dir=NETWORK_DIR)
virt.save(output_dir=NETWORK_DIR)
''' + _poisson_input("virt", 20, 10.0, tstop / 1000.0, 4)  # fmt: skip
    return Scaffold(
        components={
            "biophysical_neuron_models/ball_and_stick_fit.json": _ball_and_stick_fit(),
            "morphologies/ball_and_stick.swc": _ball_and_stick_swc(),
            "synaptic_models/AMPA_ExcToExc.json": {
                "level_of_detail": "exp2syn",
                "tau1": 1.0,
                "tau2": 3.0,
                "erev": 0.0,
            },
            "mechanisms/modfiles/README.txt": (
                "Put extra NMODL (.mod) files here; bmtoolkit compiles them together with the\n"
                "channels it ships (NaV, Kv3_1, Kd, Ih, ...) on the first run.\n"
            ),
        },  # fmt: skip
        build_script=script,
        nodes=("bio", "virt"),
        edges=("virt_bio",),
        simulation={
            "target_simulator": "NEURON",
            "run": {
                "tstop": tstop,
                "dt": 0.1,
                "dL": 20.0,
                "spike_threshold": -15.0,
                "random_seed": 1,
            },
            "conditions": {"celsius": 34.0, "v_init": -72.0},
            "inputs": {
                "virt_spikes": _spikes_input("virt"),
                "current_clamp": {
                    "input_type": "current_clamp",
                    "module": "IClamp",
                    "node_set": {"population": "bio"},
                    "amp": 0.15,
                    "delay": tstop * 0.25,
                    "duration": tstop * 0.5,
                },
            },
            "reports": {
                "membrane_potential": {
                    "cells": {"population": "bio"},
                    "variable_name": "v",
                    "module": "membrane_report",
                    "sections": "soma",
                },
            },
        },  # fmt: skip
        component_dirs={
            "biophysical_neuron_models_dir": "biophysical_neuron_models",
            "morphologies_dir": "morphologies",
            "synaptic_models_dir": "synaptic_models",
            "mechanisms_dir": "mechanisms",
        },
    )


@SCAFFOLDS.register("popnet")
def _popnet(tstop: float) -> Scaffold:
    script = _HEADER.replace("SEED", "1") + '''
# an excitatory and an inhibitory population density, driven by an external population
cortex = NetworkBuilder("cortex")
cortex.add_nodes(pop_name="exc", ei="e", model_type="population",
                 model_template="dipde:Internal", dynamics_params="exc_population.json")
cortex.add_nodes(pop_name="inh", ei="i", model_type="population",
                 model_template="dipde:Internal", dynamics_params="inh_population.json")
external = NetworkBuilder("external")
external.add_nodes(pop_name="bkg", ei="e", model_type="virtual")
syn = {"connection_rule": 1, "delay": 0.002, "dynamics_params": "population_synapse.json"}
cortex.add_edges(source={"ei": "e"}, target=cortex.nodes(), syn_weight=0.0005, nsyns=20, **syn)
cortex.add_edges(source={"ei": "i"}, target=cortex.nodes(), syn_weight=-0.001, nsyns=10, **syn)
external.add_edges(source=external.nodes(), target=cortex.nodes(), syn_weight=0.001,
                   nsyns=100, **syn)
cortex.build(seed=2)
external.build(seed=3)
cortex.save(output_dir=NETWORK_DIR)
external.save(output_dir=NETWORK_DIR)
'''  # fmt: skip
    pop = {"tau_m": 0.02, "v_min": -0.002, "v_max": 0.02, "dv": 0.0002, "tau_ref": 0.002,
           "update_method": "gmres", "approx_order": None, "tol": 1e-12}  # fmt: skip
    return Scaffold(
        components={
            "population_models/exc_population.json": pop,
            "population_models/inh_population.json": {**pop, "tau_m": 0.01},
            "synaptic_models/population_synapse.json": {},
        },
        build_script=script,
        nodes=("cortex", "external"),
        edges=("cortex_cortex", "external_cortex"),
        simulation={
            "target_simulator": "DiPDE",
            "run": {"tstop": tstop, "dt": 0.1, "random_seed": 1},
            "inputs": {
                "bkg_rate": {
                    "input_type": "csv",
                    "module": "pop_rates",
                    "rates": "$INPUT_DIR/external_rates.csv",
                    "node_set": {"population": "external"},
                },
            },
            "output": {"rates_file": "rates.csv"},
        },  # fmt: skip
        component_dirs={
            "population_models_dir": "population_models",
            # older readers (and `bmtoolkit validate`) look for population parameters here
            "point_neuron_models_dir": "population_models",
            "synaptic_models_dir": "synaptic_models",
        },
    )


def _popnet_rates(folder: Path) -> None:
    (folder / "inputs").mkdir(exist_ok=True)
    (folder / "inputs" / "external_rates.csv").write_text("gid firing_rate\n0 10.0\n")


@SCAFFOLDS.register("filternet")
def _filternet(tstop: float) -> Scaffold:
    script = _HEADER.replace("SEED", "1") + '''
# LGN filter units (ON and OFF sustained cells) over a 60 x 60 degree field
from bmtoolkit.builder.lgn import LGNTypeSpec, lgn_node_groups

lgn = NetworkBuilder("lgn")
types = (LGNTypeSpec("sON_TF4", 20, (2.0, 4.0)), LGNTypeSpec("sOFF_TF4", 20, (2.0, 4.0)))
for props in lgn_node_groups(field_size=(60.0, 60.0), tiles=(2, 2), types=types, seed=5):
    lgn.add_nodes(**props)
lgn.build(seed=2)
lgn.save(output_dir=NETWORK_DIR)
'''  # fmt: skip
    return Scaffold(
        components={
            "filter_models/README.txt": (
                "LGN spatio-temporal filters are built from each node's properties (model_template\n"
                "lgnmodel:<type>, spatial_size, kpeaks, weights, delays); no files are needed.\n"
            )
        },  # fmt: skip
        build_script=script,
        nodes=("lgn",),
        edges=(),
        simulation={
            "target_simulator": "LGNModel",
            "run": {"tstop": tstop, "dt": 1.0, "random_seed": 1},
            "inputs": {
                "movie": {
                    "input_type": "movie",
                    "module": "grating",
                    "row_size": 60,
                    "col_size": 60,
                    "sf": 0.05,
                    "tf": 4.0,
                    "orientation": 90.0,
                    "contrast": 0.8,
                    "gray_screen_dur": 0.5 * tstop / 1000.0,
                },
            },
            "output": {"rates_file": "rates.h5"},
        },  # fmt: skip
        component_dirs={"filter_models_dir": "filter_models"},
    )


#: simulated time (ms) of each backend's example when --tstop is not given
DEFAULT_TSTOP: dict[str, float] = {"bionet": 500.0, "popnet": 500.0}

#: extra files a backend needs besides its scaffold
_POST: dict[str, Callable[[Path], None]] = {"popnet": _popnet_rates}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend NAME DIR [--tstop MS] [--no-build] [--overwrite]``."""
    parser.add_argument(
        "--backend", required=True, choices=sorted(SCAFFOLDS.names()), help="simulator"
    )
    parser.add_argument("directory", metavar="DIR", help="folder to create")
    parser.add_argument(
        "--tstop",
        type=float,
        default=None,
        help="simulated time in ms (default 500 for bionet and popnet, 1000 otherwise)",
    )
    parser.add_argument(
        "--no-build", action="store_true", help="write build_network.py but do not run it"
    )
    parser.add_argument("--overwrite", action="store_true", help="reuse a non-empty DIR")


def _write_json(path: Path, doc: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def create_environment(
    backend: str,
    directory: str | os.PathLike[str],
    *,
    tstop: float | None = None,
    build: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write a simulation folder for ``backend`` and (by default) build its example network.

    Parameters
    ----------
    backend : {"pointnet", "bionet", "popnet", "filternet"}
    directory : path-like
        Folder to create (must be empty or absent unless ``overwrite``).
    tstop : float, optional
        Simulated time (ms) of the config and the input spike trains (default
        :data:`DEFAULT_TSTOP` of the backend).
    build : bool
        Run ``build_network.py`` now so the folder is ready to run.

    Returns
    -------
    Path
        The combined ``config.json`` to pass to ``bmtoolkit run``.

    Examples
    --------
    >>> import tempfile
    >>> cfg = create_environment("pointnet", tempfile.mkdtemp() + "/sim", build=False)
    >>> cfg.name, sorted(p.name for p in cfg.parent.iterdir())[:3]
    ('config.json', ['build_network.py', 'circuit_config.json', 'components'])
    """
    if tstop is None:
        tstop = DEFAULT_TSTOP.get(backend, 1000.0)
    try:
        scaffold: Scaffold = SCAFFOLDS.get(backend)(float(tstop))
    except KeyError as err:
        raise ConfigError(str(err), field="--backend") from None
    if tstop <= 0:
        raise ConfigError(f"tstop must be > 0 ms, got {tstop}", field="--tstop")
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise ConfigError("exists and is not a folder", path=root)
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise ConfigError("folder is not empty (use --overwrite to write into it)", path=root)
    for sub in ("components", "network", "inputs", "output"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for rel, content in scaffold.components.items():
        target = root / "components" / rel
        if isinstance(content, str):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        else:
            _write_json(target, content)
    (root / "build_network.py").write_text(scaffold.build_script)
    manifest = {"$BASE_DIR": ".", "$NETWORK_DIR": "$BASE_DIR/network",
                "$COMPONENTS_DIR": "$BASE_DIR/components"}  # fmt: skip
    _write_json(root / "circuit_config.json", {
        "manifest": manifest,
        "components": {k: f"$COMPONENTS_DIR/{v}" for k, v in scaffold.component_dirs.items()},
        "networks": {
            "nodes": [{"nodes_file": f"$NETWORK_DIR/{n}_nodes.h5",
                       "node_types_file": f"$NETWORK_DIR/{n}_node_types.csv"}
                      for n in scaffold.nodes],
            "edges": [{"edges_file": f"$NETWORK_DIR/{e}_edges.h5",
                       "edge_types_file": f"$NETWORK_DIR/{e}_edge_types.csv"}
                      for e in scaffold.edges],
        },
    })  # fmt: skip
    sim = {k: v for k, v in scaffold.simulation.items() if k != "output"}
    output = {"output_dir": "$OUTPUT_DIR", "log_file": "log.txt", "spikes_file": "spikes.h5",
              "spikes_sort_order": "time", "overwrite_output_dir": True,
              **scaffold.simulation.get("output", {})}  # fmt: skip
    _write_json(root / "simulation_config.json", {
        "manifest": {"$BASE_DIR": ".", "$OUTPUT_DIR": "$BASE_DIR/output",
                     "$INPUT_DIR": "$BASE_DIR/inputs"},
        "network": "$BASE_DIR/circuit_config.json",
        **sim,
        "output": output,
    })  # fmt: skip
    _write_json(
        root / "config.json",
        {"network": "circuit_config.json", "simulation": "simulation_config.json"},
    )
    if backend in _POST:
        _POST[backend](root)
    if build:
        _run_build(root / "build_network.py")
    return root / "config.json"


def _run_build(script: Path) -> None:
    old_path = sys.path[:]
    sys.path.insert(0, str(script.parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.path[:] = old_path


def run(args: argparse.Namespace) -> int:
    """Create the folder and print how to run it."""
    cfg = create_environment(
        args.backend,
        args.directory,
        tstop=args.tstop,
        build=not args.no_build,
        overwrite=args.overwrite,
    )
    print(f"created {cfg.parent} ({args.backend})")
    if args.no_build:
        print(f"  build the network: bmtoolkit build {cfg.parent / 'build_network.py'}")
    print(f"  run it:            bmtoolkit run {cfg}")
    return 0
