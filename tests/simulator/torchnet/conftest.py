"""Random heterogeneous GLIF networks that run identically in torchnet and NEST."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import require_module

os.environ.setdefault("PYNEST_QUIET", "1")


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
            StpParams(0.1, 50.0, 300.0),
            StpParams(0.3, 400.0, 20.0),
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
                {"U": p.U, "u": p.U, "tau_rec": p.tau_rec, "tau_fac": p.tau_fac},
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
    )
