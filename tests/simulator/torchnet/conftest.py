"""Random heterogeneous GLIF networks that run identically in torchnet and NEST."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import require_module

os.environ.setdefault("PYNEST_QUIET", "1")

#: name of the fake accelerator of test_device_placement.py
FAKE_DEVICE = "fakegpu"


def register_fake_device() -> str | None:
    """Register PyTorch's extension device (``privateuse1``) as ``fakegpu``, with a no-op
    device guard; return why it cannot be, or None.

    Called when this folder is collected, before any test runs: autograd sizes its per-device
    queues once, at the first backward pass of the process, so a device registered after a
    backward on the CPU (any earlier training test) breaks every later backward on it.
    """
    try:
        import torch
    except ImportError:
        return "PyTorch is not installed"
    from torch.utils import backend_registration as reg

    if not hasattr(reg, "_setup_privateuseone_for_python_backend"):
        return f"PyTorch {torch.__version__} cannot register a device backend in Python"
    name = torch._C._get_privateuse1_backend_name()
    if name == FAKE_DEVICE:
        return None
    if name != "privateuseone":
        return f"PyTorch's extension device is already taken by {name!r}"

    class Unavailable(reg._DummyBackendModule):
        def is_available(self) -> bool:  # fake mode then never touches a real device
            return False

    reg._setup_privateuseone_for_python_backend(rename=FAKE_DEVICE, backend_module=Unavailable())
    return None


FAKE_DEVICE_PROBLEM = register_fake_device()


@dataclass
class NetSpec:
    """A network described once, built in both simulators."""

    cells: list  # CellParams per neuron
    src: np.ndarray  # source index; >= n means virtual node src - n
    tgt: np.ndarray
    receptor: np.ndarray
    weight: np.ndarray
    delay: np.ndarray  # ms
    n_virtual: int
    input_times: list  # per virtual node, spike times (ms, on the grid, > 0)
    dt: float
    tstop: float
    stp_type: np.ndarray | None = None
    stp_params: list = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.cells)


def glif_variants(level: int, rng: np.random.Generator, n: int):
    """``n`` GLIF cells of one level with heterogeneous parameters (NEST glif_psc names)."""
    from bmtoolkit.simulator.torchnet.translations import GLIF_MECHANISMS, cell_params_from_nest

    has_r, has_asc, has_a = GLIF_MECHANISMS[level]
    out = []
    for _ in range(n):
        p = {
            "E_L": rng.uniform(-80, -65),
            "g": rng.uniform(5, 15),
            "C_m": rng.uniform(50, 150),
            "t_ref": rng.choice([1.0, 2.0, 3.0]),
            "tau_syn": [rng.uniform(1, 3), rng.uniform(4, 8)],
            "spike_dependent_threshold": has_r,
            "after_spike_currents": has_asc,
            "adapting_threshold": has_a,
        }
        p["V_th"] = p["E_L"] + rng.uniform(15, 25)
        p["V_reset"] = p["E_L"] + rng.uniform(0, 5)
        if has_r:
            p.update(
                th_spike_add=rng.uniform(0.5, 3),
                th_spike_decay=rng.uniform(0.02, 0.2),
                voltage_reset_fraction=rng.uniform(0.1, 0.5),
                voltage_reset_add=rng.uniform(2, 8),
            )
        if has_asc:
            p.update(
                asc_init=[0.0, 0.0],
                asc_decay=[rng.uniform(0.01, 0.05), rng.uniform(0.1, 0.5)],
                asc_amps=[rng.uniform(-30, -5), rng.uniform(-80, 20)],
                asc_r=[1.0, 1.0],
            )
        if has_a:
            p.update(
                th_voltage_index=rng.uniform(0.001, 0.01), th_voltage_decay=rng.uniform(0.05, 0.2)
            )
        out.append(cell_params_from_nest("glif_psc", p))
    return out


def make_spec(
    levels=(1, 3),
    n_per_level=20,
    n_virtual=30,
    p_conn=0.15,
    rate=40.0,
    dt=0.1,
    tstop=300.0,
    seed=1,
    stp=False,
    w_in=(200.0, 500.0),
) -> NetSpec:
    rng = np.random.default_rng(seed)
    cells = [c for lvl in levels for c in glif_variants(lvl, rng, n_per_level)]
    n = len(cells)
    n_src = n + n_virtual
    mask = rng.random((n_src, n)) < p_conn
    src, tgt = np.nonzero(mask)
    e = src.size
    exc = (src >= n) | (src % 4 != 0)
    weight = np.where(src >= n, rng.uniform(*w_in, e), rng.uniform(20, 120, e))
    weight = np.where(exc, weight, -3 * weight)
    receptor = np.where(exc, 0, 1)
    delay = np.round(rng.uniform(dt, 3.0, e) / dt) * dt
    delay = np.maximum(delay, dt)
    steps = int(round(tstop / dt))
    input_times = []
    for _ in range(n_virtual):
        k = np.nonzero(rng.random(steps) < rate * dt / 1000.0)[0]
        k = k[k > 0]  # NEST generators cannot emit at t <= 0
        input_times.append(np.round((k + 1) * dt, 10))
    spec = NetSpec(cells, src, tgt, receptor, weight, delay, n_virtual, input_times, dt, tstop)
    if stp:
        from bmtoolkit.simulator.torchnet.translations import StpParams

        spec.stp_params = [
            StpParams(0.5, 200.0, 0.0),
            StpParams(0.1, 50.0, 300.0, u=0.1),
            StpParams(0.3, 400.0, 20.0, u=0.8),
        ]
        spec.stp_type = rng.integers(-1, 3, e)
    return spec


def build_torchnet(spec: NetSpec, dtype=None):
    import torch

    from bmtoolkit.simulator.torchnet.cells import GLIFCells
    from bmtoolkit.simulator.torchnet.model import TorchNet
    from bmtoolkit.simulator.torchnet.synapses import Synapses

    dtype = dtype or torch.float64
    cells = GLIFCells.from_params(spec.cells, dt=spec.dt, dtype=dtype)
    syn = Synapses(
        spec.src,
        spec.tgt,
        spec.receptor,
        spec.weight,
        np.round(spec.delay / spec.dt).astype(int),
        n_sources=spec.n + spec.n_virtual,
        n_targets=spec.n,
        n_receptors=cells.n_receptors,
        dt=spec.dt,
        stp_type=spec.stp_type,
        stp_params=spec.stp_params,
        dtype=dtype,
    )
    return TorchNet(cells, syn, n_virtual=spec.n_virtual)


def input_tensor(spec: NetSpec, dtype=None):
    from bmtoolkit.simulator.torchnet.inputs import spike_times_to_tensor

    return spike_times_to_tensor(spec.input_times, spec.dt, spec.tstop, dtype=dtype)


def run_nest(spec: NetSpec) -> tuple[np.ndarray, np.ndarray]:
    """Simulate ``spec`` in NEST; return (neuron index, spike time)."""
    nest = require_module("nest")
    from bmtoolkit.simulator.torchnet.translations import cell_params_to_nest

    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": spec.dt, "local_num_threads": 1})
    models = [cell_params_to_nest(c) for c in spec.cells]
    names = {m for m, _ in models}
    assert len(names) == 1, "one NEST model per test network"
    neurons = nest.Create(names.pop(), spec.n, params=[d for _, d in models])
    # generators feed parrots one step early so any synapse model can leave the parrots
    # at the original spike times
    gens = nest.Create(
        "spike_generator",
        spec.n_virtual,
        params=[{"spike_times": np.round(t - spec.dt, 10)} for t in spec.input_times],
    )
    parrots = nest.Create("parrot_neuron", spec.n_virtual)
    nest.Connect(gens, parrots, "one_to_one", syn_spec={"delay": spec.dt})
    rec = nest.Create("spike_recorder")
    nest.Connect(neurons, rec)
    ids = np.concatenate([np.asarray(neurons.tolist()), np.asarray(parrots.tolist())])
    kinds = np.full(spec.src.size, -1) if spec.stp_type is None else spec.stp_type
    for k in np.unique(kinds):
        sel = kinds == k
        model = "static_synapse"
        if k >= 0:
            p = spec.stp_params[k]
            model = f"tn_stp_{k}"
            nest.CopyModel(
                "tsodyks2_synapse",
                model,
                {"U": p.U, "u": p.u, "tau_rec": p.tau_rec, "tau_fac": p.tau_fac},
            )
        nest.Connect(
            ids[spec.src[sel]],
            ids[spec.tgt[sel]],
            "one_to_one",
            syn_spec={
                "synapse_model": model,
                "weight": spec.weight[sel],
                "delay": spec.delay[sel],
                "receptor_type": (spec.receptor[sel] + 1).astype(float),
            },
        )
    nest.Simulate(spec.tstop)
    ev = rec.get("events")
    first = neurons.tolist()[0]
    return np.asarray(ev["senders"]) - first, np.asarray(ev["times"])


def match_fraction(ref_ids, ref_t, ids, t, tol) -> float:
    """Fraction of reference spikes with a distinct spike of the same neuron within ``tol``."""
    if ref_ids.size == 0:
        return 1.0
    matched = 0
    for node in np.unique(ref_ids):
        a = np.sort(ref_t[ref_ids == node])
        b = np.sort(t[ids == node])
        used = np.zeros(b.size, bool)
        for x in a:
            j = np.searchsorted(b, x - tol - 1e-9)
            while j < b.size and b[j] <= x + tol + 1e-9:
                if not used[j]:
                    used[j] = True
                    matched += 1
                    break
                j += 1
    return matched / ref_ids.size


@pytest.fixture(scope="session")
def netkit():
    """The helpers above, for tests (test modules cannot import a conftest)."""
    require_module("torch")
    return SimpleNamespace(
        NetSpec=NetSpec,
        make_spec=make_spec,
        glif_variants=glif_variants,
        build_torchnet=build_torchnet,
        input_tensor=input_tensor,
        run_nest=run_nest,
        match_fraction=match_fraction,
        write_sonata_network=write_sonata_network,
    )


def write_sonata_network(folder, *, seed=0, n_exc=24, n_inh=8, n_lgn=20, tstop=300.0, dt=0.1):
    """A small heterogeneous GLIF network with STP, written as SONATA files.

    Returns the simulation config path. Node types: GLIF3 excitatory (two types), GLIF1
    inhibitory; per-node V_th overrides; v1->v1 exc static (receptor 1), inh tsodyks2
    (receptor 2); lgn (virtual) -> v1 static with spike trains from an h5 file.
    """
    import json
    from pathlib import Path

    import pandas as pd

    from bmtoolkit.sonata import (
        EdgePopulationData,
        NodePopulationData,
        write_circuit_config,
        write_edges,
        write_nodes,
        write_simulation_config,
        write_spikes,
        write_types_csv,
    )

    folder = Path(folder)
    (folder / "cells").mkdir(parents=True, exist_ok=True)
    (folder / "synapses").mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    glif3 = {
        "E_L": -75.0,
        "V_th": -52.0,
        "V_reset": -75.0,
        "V_m": -75.0,
        "g": 9.0,
        "C_m": 80.0,
        "t_ref": 2.0,
        "tau_syn": [2.0, 6.0],
        "after_spike_currents": True,
        "asc_init": [0.0, 0.0],
        "asc_decay": [0.03, 0.3],
        "asc_amps": [-15.0, -60.0],
        "asc_r": [1.0, 1.0],
    }
    glif3b = dict(glif3, g=6.0, C_m=120.0, asc_amps=[-5.0, -20.0], tau_syn=[1.5, 4.0])
    glif1 = {
        "E_L": -70.0,
        "V_th": -50.0,
        "V_reset": -68.0,
        "V_m": -70.0,
        "g": 12.0,
        "C_m": 60.0,
        "t_ref": 1.0,
        "tau_syn": [1.0, 3.0],
    }
    for name, p in (("exc_a.json", glif3), ("exc_b.json", glif3b), ("inh.json", glif1)):
        (folder / "cells" / name).write_text(json.dumps(p))
    (folder / "synapses" / "exc.json").write_text(json.dumps({"receptor_type": 1}))
    (folder / "synapses" / "inh.json").write_text(
        json.dumps({"receptor_type": 2, "U": 0.3, "tau_rec": 120.0, "tau_fac": 40.0})
    )
    (folder / "synapses" / "lgn.json").write_text(json.dumps({"receptor_type": 1}))
    n = n_exc + n_inh
    type_ids = np.array([100 + (i % 2) for i in range(n_exc)] + [102] * n_inh)
    v_th = np.concatenate([rng.uniform(-54.0, -50.0, n_exc), np.full(n_inh, np.nan)])
    v1 = NodePopulationData.single_group(
        "v1",
        type_ids,
        {"ei": np.array(["e"] * n_exc + ["i"] * n_inh, dtype=object)},
        {"V_th": np.where(np.isnan(v_th), -50.0, v_th)},
    )
    write_nodes(folder / "v1_nodes.h5", [v1])
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": [100, 101, 102],
                "model_type": ["point_process"] * 3,
                "model_template": ["nest:glif_psc"] * 3,
                "dynamics_params": ["exc_a.json", "exc_b.json", "inh.json"],
            }
        ),
        folder / "v1_node_types.csv",
    )
    lgn = NodePopulationData.single_group("lgn", np.full(n_lgn, 200))
    write_nodes(folder / "lgn_nodes.h5", [lgn])
    write_types_csv(
        pd.DataFrame({"node_type_id": [200], "model_type": ["virtual"]}),
        folder / "lgn_node_types.csv",
    )
    src, tgt = np.nonzero(rng.random((n, n)) < 0.2)
    exc = src < n_exc
    et = np.where(exc, 300, 301)
    w = np.where(exc, rng.uniform(20, 80, src.size), -rng.uniform(40, 150, src.size))
    delay = np.round(rng.uniform(0.5, 3.0, src.size), 1)
    e_v1 = EdgePopulationData.single_group(
        "v1_to_v1",
        "v1",
        "v1",
        src,
        tgt,
        et,
        {"syn_weight": w, "delay": delay, "nsyns": rng.integers(1, 3, src.size)},
    )
    write_edges(folder / "v1_v1_edges.h5", [e_v1], n_source_nodes=n, n_target_nodes=n)
    write_types_csv(
        pd.DataFrame(
            {
                "edge_type_id": [300, 301],
                "model_template": ["static_synapse", "tsodyks2_synapse"],
                "dynamics_params": ["exc.json", "inh.json"],
            }
        ),
        folder / "v1_v1_edge_types.csv",
    )
    ls, lt = np.nonzero(rng.random((n_lgn, n)) < 0.3)
    e_lgn = EdgePopulationData.single_group(
        "lgn_to_v1",
        "lgn",
        "v1",
        ls,
        lt,
        np.full(ls.size, 400),
        {"syn_weight": rng.uniform(150, 400, ls.size)},
    )
    write_edges(folder / "lgn_v1_edges.h5", [e_lgn], n_source_nodes=n_lgn, n_target_nodes=n)
    write_types_csv(
        pd.DataFrame(
            {
                "edge_type_id": [400],
                "model_template": ["static_synapse"],
                "dynamics_params": ["lgn.json"],
                "delay": [1.5],
            }
        ),
        folder / "lgn_v1_edge_types.csv",
    )
    times, ids = [], []
    for i in range(n_lgn):
        k = np.nonzero(rng.random(int(tstop / dt)) < 30.0 * dt / 1000.0)[0]
        k = k[k > 1]
        times.append(np.round((k + 1) * dt, 6))
        ids.append(np.full(k.size, i))
    write_spikes(folder / "lgn_spikes.h5", {"lgn": (np.concatenate(ids), np.concatenate(times))})
    write_circuit_config(
        folder / "circuit_config.json",
        nodes=[
            {"nodes_file": folder / "v1_nodes.h5", "node_types_file": folder / "v1_node_types.csv"},
            {
                "nodes_file": folder / "lgn_nodes.h5",
                "node_types_file": folder / "lgn_node_types.csv",
            },
        ],
        edges=[
            {
                "edges_file": folder / "v1_v1_edges.h5",
                "edge_types_file": folder / "v1_v1_edge_types.csv",
            },
            {
                "edges_file": folder / "lgn_v1_edges.h5",
                "edge_types_file": folder / "lgn_v1_edge_types.csv",
            },
        ],
        components={
            "point_neuron_models_dir": folder / "cells",
            "synaptic_models_dir": folder / "synapses",
        },
    )
    write_simulation_config(
        folder / "simulation_config.json",
        network=folder / "circuit_config.json",
        run={"tstop": tstop, "dt": dt, "random_seed": 1},
        output={"output_dir": folder / "output", "spikes_file": "spikes.h5"},
        inputs={
            "lgn_spikes": {
                "input_type": "spikes",
                "module": "h5",
                "input_file": str(folder / "lgn_spikes.h5"),
                "node_set": "lgn",
            }
        },
        reports={
            "membrane_potential": {
                "cells": {"population": "v1", "node_id": [0, 5, 30]},
                "variable_name": "V_m",
                "module": "membrane_report",
                "sections": "soma",
                "file_name": "v_report.h5",
            }
        },
    )
    return folder / "simulation_config.json"
