"""Fixtures for pointnet: small point networks built by bmtoolkit's and BMTK's builders, and a
plain PyNEST script that simulates the same files without bmtoolkit."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import require_module

os.environ.setdefault("PYNEST_QUIET", "1")
# threads that spin while waiting stall a loaded machine; NEST reads this when first imported
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

EXC = {"C_m": 250.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": -70.0, "V_th": -55.0, "V_reset": -70.0}
INH = {"C_m": 200.0, "tau_m": 10.0, "t_ref": 1.0, "E_L": -70.0, "V_th": -52.0, "V_reset": -68.0}
TSTOP = 400.0
DT = 0.1


def write_components(root: Path) -> dict[str, Path]:
    """Cell and synapse parameter files of the test networks."""
    cells = root / "components" / "cell_models"
    syns = root / "components" / "synaptic_models"
    cells.mkdir(parents=True)
    syns.mkdir(parents=True)
    (cells / "exc.json").write_text(json.dumps(EXC))
    (cells / "inh.json").write_text(json.dumps(INH))
    (syns / "static.json").write_text("{}")
    return {"point_neuron_models_dir": cells, "synaptic_models_dir": syns}


def build_with_bmtoolkit(net_dir: Path) -> None:
    """v1 (80 exc + 20 inh iaf_psc_alpha), lgn (40 virtual), lgn->v1 and v1->v1 edges."""
    from bmtoolkit.builder import NetworkBuilder

    v1 = NetworkBuilder("v1", seed=11)
    common = {"model_type": "point_process", "model_template": "nest:iaf_psc_alpha"}
    v1.add_nodes(N=80, ei="e", dynamics_params="exc.json", **common)
    v1.add_nodes(N=20, ei="i", dynamics_params="inh.json", **common)
    lgn = NetworkBuilder("lgn", seed=12)
    lgn.add_nodes(N=40, model_type="virtual", ei="e")
    lgn.build()
    edge = {"model_template": "static_synapse", "dynamics_params": "static.json"}
    v1.add_edges(source=lgn.nodes(), target=v1.nodes(), connection_rule="fixed_probability",
                 connection_params={"p": 0.3, "nsyns": (1, 3)}, syn_weight=90.0, delay=1.5,
                 **edge)  # fmt: skip
    v1.add_edges(source={"ei": "e"}, target=v1.nodes(), connection_rule="fixed_probability",
                 connection_params={"p": 0.1, "nsyns": 2}, syn_weight=25.0, delay=2.0,
                 **edge)  # fmt: skip
    v1.add_edges(source={"ei": "i"}, target=v1.nodes(), connection_rule="fixed_probability",
                 connection_params={"p": 0.2}, syn_weight=-60.0, delay=1.0, **edge)  # fmt: skip
    v1.build()
    v1.save(output_dir=net_dir)
    lgn.save(output_dir=net_dir)


def build_with_bmtk(net_dir: Path) -> None:
    """The same specification built by BMTK 1.2.0's NetworkBuilder."""
    from bmtk.builder import NetworkBuilder

    rng = np.random.default_rng(5)

    def prob(p, nsyns):
        def rule(source, target):
            return int(rng.integers(nsyns[0], nsyns[1] + 1)) if rng.random() < p else None

        return rule

    v1 = NetworkBuilder("v1")
    common = {"model_type": "point_process", "model_template": "nest:iaf_psc_alpha"}
    v1.add_nodes(N=80, ei="e", dynamics_params="exc.json", **common)
    v1.add_nodes(N=20, ei="i", dynamics_params="inh.json", **common)
    lgn = NetworkBuilder("lgn")
    lgn.add_nodes(N=40, model_type="virtual", ei="e")
    edge = {"model_template": "static_synapse", "dynamics_params": "static.json"}
    v1.add_edges(source=lgn.nodes(), target=v1.nodes(), connection_rule=prob(0.3, (1, 3)),
                 syn_weight=90.0, delay=1.5, **edge)  # fmt: skip
    v1.add_edges(source={"ei": "e"}, target=v1.nodes(), connection_rule=prob(0.1, (2, 2)),
                 syn_weight=25.0, delay=2.0, **edge)  # fmt: skip
    v1.add_edges(source={"ei": "i"}, target=v1.nodes(), connection_rule=prob(0.2, (1, 1)),
                 syn_weight=-60.0, delay=1.0, **edge)  # fmt: skip
    lgn.build()
    v1.build()
    v1.save(output_dir=str(net_dir))
    lgn.save(output_dir=str(net_dir))


def write_configs(root: Path, net_dir: Path, components: dict[str, Path], seed: int) -> Path:
    """Poisson input for lgn, circuit and simulation configs; return the simulation config."""
    from bmtoolkit.simulator import PoissonSpikeGenerator
    from bmtoolkit.sonata import write_circuit_config, write_simulation_config

    gen = PoissonSpikeGenerator(seed=seed, population="lgn")
    gen.add(range(40), 15.0, times=(0.0, TSTOP / 1000.0))
    gen.to_sonata(root / "lgn_spikes.h5")
    nodes = [
        {
            "nodes_file": net_dir / f"{p}_nodes.h5",
            "node_types_file": net_dir / f"{p}_node_types.csv",
        }
        for p in ("v1", "lgn")
    ]
    edges = [
        {"edges_file": net_dir / f"{s}_v1_edges.h5", "edge_types_file": net_dir / f"{s}_v1_edge_types.csv"}
        for s in ("lgn", "v1")
    ]  # fmt: skip
    write_circuit_config(root / "circuit_config.json", nodes=nodes, edges=edges,
                         components=components)  # fmt: skip
    cfg = root / "simulation_config.json"
    write_simulation_config(
        cfg,
        network=root / "circuit_config.json",
        run={"tstop": TSTOP, "dt": DT, "random_seed": seed},
        output={"output_dir": root / "output", "spikes_file": "spikes.h5"},
        inputs={
            "lgn_spikes": {
                "input_type": "spikes",
                "module": "sonata",
                "input_file": str(root / "lgn_spikes.h5"),
                "node_set": "lgn",
            }
        },
        target_simulator="NEST",
    )
    return cfg


@pytest.fixture(scope="module")
def point_network(tmp_path_factory) -> Callable[[str], Path]:
    """``make(builder)`` -> simulation config of the test network built by that builder."""
    made: dict[str, Path] = {}

    def make(builder: str) -> Path:
        if builder not in made:
            root = tmp_path_factory.mktemp(f"net_{builder}")
            net_dir = root / "network"
            net_dir.mkdir()
            components = write_components(root)
            if builder == "bmtk":
                require_module("bmtk")
                build_with_bmtk(net_dir)
            else:
                build_with_bmtoolkit(net_dir)
            made[builder] = write_configs(root, net_dir, components, seed=7)
        return made[builder]

    return make


def plain_pynest(config_dir: Path, threads: int, seed: int) -> pd.DataFrame:
    """Simulate the test network with PyNEST and h5py only; spikes as a DataFrame.

    Nodes are created population by population and node type by node type (ascending), edges
    connected edge type by edge type with weight = syn_weight * nsyns, as a user would write it.
    """
    import h5py

    nest = require_module("nest")
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.set(resolution=DT, local_num_threads=threads, rng_seed=seed)
    net = config_dir / "network"
    comps = config_dir / "components"
    gids: dict[str, np.ndarray] = {}
    for pop in ("v1", "lgn"):
        with h5py.File(net / f"{pop}_nodes.h5", "r") as f:
            ntype = f[f"nodes/{pop}/node_type_id"][()]
        types = pd.read_csv(net / f"{pop}_node_types.csv", sep=" ").set_index("node_type_id")
        ids = np.zeros(len(ntype), dtype=np.int64)
        if (types["model_type"] == "virtual").all():
            # BMTK's generators: precise_times (an off-grid time goes to the end of its step)
            gens = nest.Create("spike_generator", len(ntype), {"precise_times": True})
            ids[:] = gens.tolist()
        else:
            for nt in np.unique(ntype):
                row = types.loc[nt]
                params = json.loads((comps / "cell_models" / row["dynamics_params"]).read_text())
                model = row["model_template"].split(":", 1)[1]
                sel = np.flatnonzero(ntype == nt)
                ids[sel] = nest.Create(model, len(sel), params=params).tolist()
        gids[pop] = ids
    with h5py.File(config_dir / "lgn_spikes.h5", "r") as f:
        node_ids = f["spikes/lgn/node_ids"][()]
        times = f["spikes/lgn/timestamps"][()]
    gens = nest.NodeCollection(gids["lgn"].tolist())
    gens.set([{"spike_times": np.sort(times[node_ids == i]).tolist()} for i in range(len(gens))])
    for src in ("lgn", "v1"):
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
    rec = nest.Create("spike_recorder")
    nest.Connect(nest.NodeCollection(gids["v1"].tolist()), rec)
    nest.Simulate(TSTOP)
    ev = rec.get("events")
    order = np.argsort(gids["v1"])
    sonata = order[np.searchsorted(gids["v1"], ev["senders"], sorter=order)]
    # NEST's k * dt as its decimal value, as BMTK writes spike times
    times = np.round(np.asarray(ev["times"], float), 9)
    df = pd.DataFrame({"node_id": sonata, "timestamp": times})
    return df.sort_values(["timestamp", "node_id"]).reset_index(drop=True)


@pytest.fixture
def plain_nest() -> Callable[[Path, int, int], pd.DataFrame]:
    """The plain PyNEST reference simulation (see :func:`plain_pynest`)."""
    return plain_pynest
