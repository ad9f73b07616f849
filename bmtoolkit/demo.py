"""The end-to-end demo: a small V1-like model from construction to plots.

:func:`run_demo` walks the whole pipeline with public API only:

1. **build** an LGN population laid out over the visual field with the V1 model's cell-type
   mix, and a layer-4 column of excitatory and inhibitory point neurons with preferred
   orientations; LGN -> L4 edges follow the retinotopic rule (ON and OFF subfields side by
   side along each cell's preferred orientation), L4 -> L4 edges the like-to-like rule for
   excitatory sources and a distance rule for inhibitory ones; everything is saved as SONATA;
2. **filter** a drifting grating through the LGN filter model (``filternet``) into LGN spikes;
3. **simulate** the L4 network on NEST (``pointnet``) driven by those spikes;
4. **plot** a raster grouped by cell type (``raster.png``) and mean rates per type
   (``rates.png``).

Examples
--------
>>> from bmtoolkit.demo import run_demo
>>> summary = run_demo("demo_output")  # doctest: +SKIP
>>> sorted(summary["plots"])  # doctest: +SKIP
['raster', 'rates']
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError

log = logging.getLogger("bmtoolkit.demo")

#: NEST parameters of the two L4 cell classes (iaf_psc_exp; pA, mV, ms, pF)
L4_MODELS = {
    "l4_exc.json": {
        "C_m": 250.0, "tau_m": 15.0, "E_L": -70.0, "V_th": -55.0, "V_reset": -70.0,
        "t_ref": 2.0, "tau_syn_ex": 2.0, "tau_syn_in": 5.0, "I_e": -40.0,
    },
    "l4_inh.json": {
        "C_m": 150.0, "tau_m": 8.0, "E_L": -70.0, "V_th": -53.0, "V_reset": -70.0,
        "t_ref": 1.0, "tau_syn_ex": 1.5, "tau_syn_in": 4.0, "I_e": 0.0,
    },
}  # fmt: skip

#: visual field covered by the LGN model (degrees) and the L4 column it maps onto
FIELD = (60.0, 40.0)
DEG_PER_UM = 0.08


def build_network(out: Path, *, n_l4: int, seed: int) -> Path:
    """Build LGN + L4 and save them under ``out/network``; return the circuit config."""
    from bmtoolkit.builder import NetworkBuilder, write_circuit
    from bmtoolkit.builder.lgn import lgn_node_groups
    from bmtoolkit.builder.positions import cylinder, uniform_orientations
    from bmtoolkit.builder.rules import DistanceProbability, LikeToLike, RetinotopicLGN

    lgn = NetworkBuilder("lgn", seed=seed)
    for props in lgn_node_groups(field_size=FIELD, tiles=(3, 2), density=1.0, seed=seed):
        lgn.add_nodes(**props)

    rng = np.random.default_rng(seed)
    n_exc = int(round(0.8 * n_l4))
    l4 = NetworkBuilder("l4", seed=seed + 1)
    radius = 0.35 * min(FIELD) / DEG_PER_UM
    for n, ei, name, params in (
        (n_exc, "e", "L4_exc", "l4_exc.json"),
        (n_l4 - n_exc, "i", "L4_PV", "l4_inh.json"),
    ):
        l4.add_nodes(
            N=n,
            ei=ei,
            pop_name=name,
            model_type="point_neuron",
            model_template="nest:iaf_psc_exp",
            dynamics_params=params,
            positions=cylinder(n, radius, 100.0, seed=rng),
            tuning_angle=uniform_orientations(n, seed=rng),
        )
    static = {"model_template": "static_synapse", "dynamics_params": "static.json"}
    retinotopy = RetinotopicLGN(
        n_on=15, n_off=15, length=14.0, width=4.0, separation=4.0,
        subtype_column="model_name", axes="xz", deg_per_um=DEG_PER_UM,
        visual_center=(FIELD[0] / 2, FIELD[1] / 2),
    )  # fmt: skip
    l4.add_edges(source=lgn.nodes(), target=l4.nodes(ei="e"), connection_rule=retinotopy,
                 syn_weight=700.0, delay=1.5, **static)  # fmt: skip
    l4.add_edges(source=lgn.nodes(), target=l4.nodes(ei="i"), connection_rule=retinotopy,
                 syn_weight=650.0, delay=1.5, **static)  # fmt: skip
    l4.add_edges(
        source={"ei": "e"}, target={"ei": "e"},
        connection_rule=LikeToLike(p0=0.25, tuning="cosine", sigma=150.0, axes="xz", nsyns=(1, 3)),
        syn_weight=12.0, delay=1.5, **static,
    )  # fmt: skip
    l4.add_edges(
        source={"ei": "e"}, target={"ei": "i"},
        connection_rule=DistanceProbability(p0=0.3, sigma=150.0, axes="xz", nsyns=(1, 3)),
        syn_weight=40.0, delay=1.0, **static,
    )  # fmt: skip
    l4.add_edges(
        source={"ei": "i"}, target=l4.nodes(),
        connection_rule=DistanceProbability(p0=0.35, sigma=150.0, axes="xz", nsyns=(1, 3)),
        syn_weight=-45.0, delay=1.0, **static,
    )  # fmt: skip
    comp = out / "components"
    comp.mkdir(parents=True, exist_ok=True)
    for name, params in L4_MODELS.items():
        (comp / name).write_text(json.dumps(params, indent=1))
    (comp / "static.json").write_text("{}")
    lgn.build()
    l4.build()
    components = {"point_neuron_models_dir": comp, "synaptic_models_dir": comp}
    return write_circuit([lgn, l4], out / "network", components=components)


def _write_config(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc, indent=2, default=str))
    return path


def lgn_spikes(out: Path, circuit: Path, *, tstop: float, seed: int, theta: float) -> Path:
    """Filter a drifting grating through the LGN model; return the LGN spikes file."""
    from bmtoolkit.simulator import run

    grating = {
        "input_type": "movie", "module": "grating", "row_size": int(FIELD[1]),
        "col_size": int(FIELD[0]), "cpd": 0.04, "temporal_f": 2.0, "theta": theta,
        "contrast": 0.8, "frame_rate": 1000.0,
    }  # fmt: skip
    cfg = _write_config(
        out / "config.filternet.json",
        {
            "network": str(circuit),
            "target_simulator": "LGNModel",
            "run": {"tstart": 0.0, "tstop": tstop, "dt": 1.0, "random_seed": seed},
            "node_sets": {"lgn": {"population": "lgn"}},
            "node_set": "lgn",
            "inputs": {"grating": grating},
            "output": {"output_dir": str(out / "lgn_output"), "spikes_file": "lgn_spikes.h5"},
        },
    )
    result = run(cfg, backend="filternet", progress=False)
    return Path(result.outputs["spikes"])


def simulate_l4(out: Path, circuit: Path, spikes: Path, *, tstop: float, seed: int) -> Path:
    """Run L4 on NEST driven by the LGN spikes; return the L4 spikes file."""
    from bmtoolkit.simulator import run

    cfg = _write_config(
        out / "config.pointnet.json",
        {
            "network": str(circuit),
            "target_simulator": "NEST",
            "run": {"tstop": tstop, "dt": 0.1, "random_seed": seed},
            "node_sets": {"lgn": {"population": "lgn"}, "l4": {"population": "l4"}},
            "inputs": {
                "lgn_spikes": {
                    "input_type": "spikes", "module": "sonata",
                    "input_file": str(spikes), "node_set": "lgn",
                }
            },
            "output": {"output_dir": str(out / "output"), "spikes_file": "spikes.h5",
                       "overwrite_output_dir": True},
        },
    )  # fmt: skip
    result = run(cfg, backend="pointnet", progress=False)
    return Path(result.outputs["spikes"])


def make_plots(out: Path, circuit: Path, spikes_file: Path, *, tstop: float) -> dict[str, Path]:
    """Write ``raster.png`` and ``rates.png`` of the L4 spikes."""
    from bmtoolkit.analyzer import firing_rates, load_spikes, plot_raster, plot_rates
    from bmtoolkit.sonata import Circuit

    circ = Circuit(circuit)
    l4 = circ.nodes["l4"]
    spikes = load_spikes(spikes_file, nodes=circ.nodes, properties=["pop_name", "tuning_angle"],
                         populations=["l4"])  # fmt: skip
    fig, _ = plot_raster(spikes, group_by="pop_name", sort_by="tuning_angle",
                         title="L4 response to a drifting grating")  # fmt: skip
    paths = {"raster": out / "raster.png", "rates": out / "rates.png"}
    fig.savefig(paths["raster"], dpi=120)
    rates = firing_rates(spikes, t_start=0.0, t_stop=tstop, node_ids={"l4": l4.ids()})
    rates["pop_name"] = l4.column("pop_name", rates["node_id"].to_numpy())
    fig, _ = plot_rates(rates, group_by="pop_name", title="mean L4 firing rates")
    fig.savefig(paths["rates"], dpi=120)
    return paths


def run_demo(
    output_dir: str | os.PathLike[str] = "demo_output",
    *,
    n_l4: int = 300,
    tstop: float = 1000.0,
    seed: int = 1,
    theta: float = 45.0,
) -> dict[str, Any]:
    """Build, filter, simulate and plot; return a summary with the paths and counts."""
    if n_l4 < 10:
        raise ConfigError(f"n_l4 must be at least 10, got {n_l4}", field="n_l4")
    if tstop <= 0:
        raise ConfigError(f"tstop must be > 0 ms, got {tstop}", field="tstop")
    out = Path(output_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    circuit = build_network(out, n_l4=n_l4, seed=seed)
    timings["build"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lgn_file = lgn_spikes(out, circuit, tstop=tstop, seed=seed, theta=theta)
    timings["filternet"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    l4_file = simulate_l4(out, circuit, lgn_file, tstop=tstop, seed=seed)
    timings["pointnet"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    plots = make_plots(out, circuit, l4_file, tstop=tstop)
    timings["plots"] = time.perf_counter() - t0
    from bmtoolkit.sonata import Circuit, read_spikes

    circ = Circuit(circuit)
    l4_spikes = read_spikes(l4_file)
    return {
        "output_dir": out,
        "circuit": circuit,
        "nodes": {name: pop.size for name, pop in circ.nodes.items()},
        "edges": {name: pop.size for name, pop in circ.edges.items()},
        "lgn_spikes": len(read_spikes(lgn_file)),
        "l4_spikes": len(l4_spikes),
        "l4_rate_hz": len(l4_spikes) / (circ.nodes["l4"].size * tstop / 1000.0),
        "plots": plots,
        "timings": timings,
    }
