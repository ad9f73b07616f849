"""Scenarios of the cross-backend conformance suite: small SONATA networks written in a folder.

Every scenario is a function ``write_*(folder, ...) -> Path`` that builds a network with
:mod:`bmtoolkit.builder`, writes its components and a simulation config with
:mod:`bmtoolkit.sonata` writers, and returns the simulation config. Which backend runs which
cell model, and what each backend needs installed, is data (:data:`BACKEND_REQUIRES`,
:data:`MODELS`), so adding a backend to the suite means adding rows, not tests.
See ``docs/design/conformance.md``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: backend -> Python module it needs (``None``: numpy only); skips name this module
BACKEND_REQUIRES: dict[str, str | None] = {
    "pointnet": "nest",
    "numpynet": None,
    "torchnet": "torch",
    "bionet": "neuron",
    "popnet": None,
    "filternet": None,
}

#: the reference backend of point-neuron scenarios
REFERENCE = "pointnet"

#: backends whose results must not depend on the number of threads
THREADED = ("pointnet", "torchnet")

DT = 0.1


@dataclass(frozen=True)
class PointModel:
    """One point-neuron model as the scenarios use it.

    ``params`` are NEST names and units (mV, ms, pF, nS, pA). ``backends`` lists the
    backends that simulate exactly this model (the reference first). ``w_exc``/``w_inh``
    are synaptic weights in the model's unit (mV jump for delta synapses, pA otherwise) and
    ``synapse`` the synaptic ``dynamics_params`` (receptor ports for ``glif_psc``).
    """

    name: str
    template: str
    params: Mapping[str, Any]
    backends: tuple[str, ...]
    w_in: float = 0.0
    w_exc: float = 0.0
    w_inh: float = 0.0
    synapse_exc: Mapping[str, Any] = field(default_factory=dict)
    synapse_inh: Mapping[str, Any] = field(default_factory=dict)

    @property
    def adapting(self) -> bool:
        """After-spike currents or threshold dynamics (no closed-form spike train)."""
        flags = ("after_spike_currents", "spike_dependent_threshold", "adapting_threshold")
        return any(bool(self.params.get(f)) for f in flags)

    @property
    def tau_m(self) -> float:
        """Membrane time constant, ms."""
        p = self.params
        return p["tau_m"] if "tau_m" in p else p["C_m"] / p["g"]

    @property
    def resistance(self) -> float:
        """Input resistance, mV/pA (GOhm)."""
        p = self.params
        return p["tau_m"] / p["C_m"] if "tau_m" in p else 1.0 / p["g"]

    def analytic_first_spike(self, amp: float, onset: float) -> float:
        """First threshold crossing (ms) of the cell at rest under a step of ``amp`` pA.

        ``V(t) = E_L + R I (1 - exp(-(t - onset) / tau_m))`` reaches ``V_th`` at
        ``onset + tau_m ln(R I / (R I - (V_th - E_L)))``; ``inf`` when it never does.
        """
        drive = self.resistance * amp
        gap = self.params["V_th"] - self.params["E_L"]
        if drive <= gap:
            return math.inf
        return onset + self.tau_m * math.log(drive / (drive - gap))

    def analytic_train(self, amp: float, onset: float, stop: float, dt: float) -> np.ndarray:
        """Spike times on a ``dt`` grid of the cell under a step of ``amp`` pA until ``stop``.

        Each crossing is stamped at the end of the step it falls in; after a spike the cell is
        held at ``V_reset`` for ``t_ref`` and then charges again, so the next crossing is
        ``t_ref + tau_m ln((R I - (V_reset - E_L)) / (R I - (V_th - E_L)))`` later. Valid for
        models without after-spike currents or threshold dynamics.
        """
        p = self.params
        drive = self.resistance * amp
        gap, reset = p["V_th"] - p["E_L"], p["V_reset"] - p["E_L"]
        t = self.analytic_first_spike(amp, onset)
        out = []
        while t < stop:
            t = math.ceil(t / dt - 1e-9) * dt
            out.append(t)
            t += p["t_ref"] + self.tau_m * math.log((drive - reset) / (drive - gap))
        return np.round(np.asarray(out), 9)

    def analytic_v(self, amp: float, onset: float, t: np.ndarray) -> np.ndarray:
        """Sub-threshold membrane potential (mV) at times ``t`` under the same step."""
        rise = 1.0 - np.exp(-np.clip(t - onset, 0.0, None) / self.tau_m)
        return self.params["E_L"] + self.resistance * amp * rise


_LIF = {"C_m": 250.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": -70.0, "V_m": -70.0, "V_th": -55.0,
        "V_reset": -70.0}  # fmt: skip
_GLIF1 = {"C_m": 80.0, "g": 8.0, "t_ref": 2.0, "E_L": -70.0, "V_m": -70.0, "V_th": -52.0,
          "V_reset": -70.0, "tau_syn": [2.0, 5.0]}  # fmt: skip
_GLIF3 = {**_GLIF1, "after_spike_currents": True, "asc_init": [0.0, 0.0],
          "asc_decay": [0.03, 0.3], "asc_amps": [-15.0, -60.0], "asc_r": [1.0, 1.0]}  # fmt: skip

#: the point-neuron models of the suite
MODELS: dict[str, PointModel] = {
    m.name: m
    for m in (
        PointModel("iaf_psc_delta", "nest:iaf_psc_delta", _LIF, ("pointnet", "numpynet"),
                   w_in=3.0, w_exc=0.6, w_inh=-2.5),
        PointModel("iaf_psc_alpha", "nest:iaf_psc_alpha", {**_LIF, "tau_syn_ex": 2.0,
                   "tau_syn_in": 5.0}, ("pointnet", "torchnet"),
                   w_in=110.0, w_exc=25.0, w_inh=-60.0),
        PointModel("glif1", "nest:glif_psc", _GLIF1, ("pointnet", "torchnet"),
                   w_in=70.0, w_exc=15.0, w_inh=-40.0,
                   synapse_exc={"receptor_type": 1}, synapse_inh={"receptor_type": 2}),
        PointModel("glif3", "nest:glif_psc", _GLIF3, ("pointnet", "torchnet"),
                   w_in=70.0, w_exc=15.0, w_inh=-40.0,
                   synapse_exc={"receptor_type": 1}, synapse_inh={"receptor_type": 2}),
    )
}  # fmt: skip


def model_backend_pairs(*, include_reference: bool) -> list[tuple[str, str]]:
    """``(model, backend)`` for every backend that simulates the model."""
    return [
        (name, backend)
        for name, model in MODELS.items()
        for backend in model.backends
        if include_reference or backend != REFERENCE
    ]


def _simulation_config(
    folder: Path,
    circuit: Path,
    *,
    tstop: float,
    inputs: Mapping[str, Any],
    reports: Mapping[str, Any] | None = None,
    sort_order: str = "by_time",
    seed: int = 1,
) -> Path:
    from bmtoolkit.sonata import write_simulation_config

    path = folder / "simulation_config.json"
    write_simulation_config(
        path,
        network=circuit,
        run={"tstop": tstop, "dt": DT, "random_seed": seed},
        output={
            "output_dir": folder / "output",
            "spikes_file": "spikes.h5",
            "spikes_sort_order": sort_order,
        },
        inputs=inputs,
        reports=reports,
    )
    return path


# ------------------------------------------------------------------------------- scenario (a)
#: clamp amplitudes (pA) of the three cells of the single-cell scenario, per unit resistance:
#: ``R I`` is 21, 28 and 40 mV above rest
CLAMP_DRIVE_MV = (21.0, 28.0, 40.0)
CLAMP_ONSET = 20.0
CLAMP_DURATION = 150.0
CLAMP_TSTOP = 200.0


def clamp_amps(model: PointModel) -> list[float]:
    """Amplitude (pA) of each cell's step current."""
    return [d / model.resistance for d in CLAMP_DRIVE_MV]


def write_clamp_cells(
    folder: Path, model: PointModel, *, sort_order: str = "by_time", report: bool = True
) -> Path:
    """Three unconnected cells, each with its own step current clamp; V_m reported.

    Node ``i`` gets ``clamp_amps(model)[i]`` pA from ``CLAMP_ONSET`` for ``CLAMP_DURATION``.
    """
    from bmtoolkit.builder import NetworkBuilder, write_circuit

    cells = folder / "cells"
    cells.mkdir(parents=True, exist_ok=True)
    (cells / "cell.json").write_text(json.dumps(dict(model.params)))
    net = NetworkBuilder("cells", seed=1)
    net.add_nodes(N=len(CLAMP_DRIVE_MV), model_type="point_process",
                  model_template=model.template, dynamics_params="cell.json")  # fmt: skip
    net.build()
    circuit = write_circuit([net], folder / "network",
                            components={"point_neuron_models_dir": cells})  # fmt: skip
    inputs = {
        f"clamp{i}": {
            "input_type": "current_clamp",
            "module": "IClamp",
            "node_set": {"population": "cells", "node_id": [i]},
            "amp": amp,
            "delay": CLAMP_ONSET,
            "duration": CLAMP_DURATION,
        }
        for i, amp in enumerate(clamp_amps(model))
    }
    reports = None
    if report:
        reports = {
            "membrane_potential": {
                "cells": {"population": "cells"},
                "variable_name": "V_m",
                "module": "membrane_report",
                "sections": "soma",
                "start_time": 10.0,
                "end_time": 150.0,
                "dt": 0.5,
                "file_name": "v_report.h5",
            }
        }
    return _simulation_config(folder, circuit, tstop=CLAMP_TSTOP, inputs=inputs,
                              reports=reports, sort_order=sort_order)  # fmt: skip


# ------------------------------------------------------------------------------- scenario (b)
N_EXC, N_INH, N_EXT = 40, 10, 20
NET_TSTOP = 300.0
#: cells whose V_m is reported, and the report window (ms); a window that starts later is
#: checked by the step-current scenario against the analytic V
REPORT_CELLS = [0, 7, 21, 44]
REPORT_WINDOW = {"start_time": 0.0, "end_time": 250.0, "dt": 0.5}


def write_ei_network(folder: Path, model: PointModel, *, seed: int = 3) -> Path:
    """50-cell recurrent E/I network (40 E + 10 I) driven by 20 virtual ``ext`` nodes.

    Built with :class:`~bmtoolkit.builder.NetworkBuilder` (fixed-probability rules, grid
    delays), Poisson input written as a SONATA spike file, V_m of :data:`REPORT_CELLS`
    reported over :data:`REPORT_WINDOW`.
    """
    from bmtoolkit.builder import NetworkBuilder, write_circuit
    from bmtoolkit.simulator import PoissonSpikeGenerator

    cells, syns = folder / "cells", folder / "synapses"
    cells.mkdir(parents=True, exist_ok=True)
    syns.mkdir(exist_ok=True)
    (cells / "cell.json").write_text(json.dumps(dict(model.params)))
    (syns / "exc.json").write_text(json.dumps(dict(model.synapse_exc)))
    (syns / "inh.json").write_text(json.dumps(dict(model.synapse_inh)))
    v1 = NetworkBuilder("v1", seed=seed)
    common = {"model_type": "point_process", "model_template": model.template,
              "dynamics_params": "cell.json"}  # fmt: skip
    v1.add_nodes(N=N_EXC, ei="e", **common)
    v1.add_nodes(N=N_INH, ei="i", **common)
    ext = NetworkBuilder("ext", seed=seed + 1)
    ext.add_nodes(N=N_EXT, model_type="virtual", ei="e")
    ext.build()
    exc = {"model_template": "static_synapse", "dynamics_params": "exc.json"}
    inh = {"model_template": "static_synapse", "dynamics_params": "inh.json"}
    v1.add_edges(source=ext.nodes(), target=v1.nodes(), connection_rule="fixed_probability",
                 connection_params={"p": 0.3}, syn_weight=model.w_in, delay=1.5,
                 **exc)  # fmt: skip
    v1.add_edges(source={"ei": "e"}, target=v1.nodes(), connection_rule="fixed_probability",
                 connection_params={"p": 0.1}, syn_weight=model.w_exc, delay=2.0,
                 **exc)  # fmt: skip
    v1.add_edges(source={"ei": "i"}, target=v1.nodes(), connection_rule="fixed_probability",
                 connection_params={"p": 0.2}, syn_weight=model.w_inh, delay=1.0,
                 **inh)  # fmt: skip
    v1.build()
    circuit = write_circuit(
        [v1, ext],
        folder / "network",
        components={"point_neuron_models_dir": cells, "synaptic_models_dir": syns},
    )
    gen = PoissonSpikeGenerator(seed=seed, population="ext")
    gen.add(range(N_EXT), 40.0, times=(0.0, NET_TSTOP / 1000.0))
    gen.to_sonata(folder / "ext_spikes.h5")
    inputs = {"ext_spikes": {"input_type": "spikes", "module": "sonata", "node_set": "ext",
                             "input_file": str(folder / "ext_spikes.h5")}}  # fmt: skip
    reports = {
        "membrane_potential": {
            "cells": {"population": "v1", "node_id": REPORT_CELLS},
            "variable_name": "V_m",
            "module": "membrane_report",
            "sections": "soma",
            "file_name": "v_report.h5",
            **REPORT_WINDOW,
        }
    }
    return _simulation_config(folder, circuit, tstop=NET_TSTOP, inputs=inputs,
                              reports=reports, seed=seed)  # fmt: skip


#: input spike times around grid points: 0.4 us after one (NEST: that grid point), 0.6 us
#: after one (the next), mid-step and on the grid
INPUT_TIMES = (20.0004, 40.0006, 60.05, 80.0)
INPUT_TSTOP = 100.0


def write_input_timing(
    folder: Path, model: PointModel, *, tstop: float = INPUT_TSTOP, end_time: float = 90.0
) -> Path:
    """One cell driven by one virtual node spiking at :data:`INPUT_TIMES` (1.5 ms delay);
    V_m every step from 0 to ``end_time``."""
    from bmtoolkit.builder import NetworkBuilder, write_circuit
    from bmtoolkit.sonata import write_spikes

    cells, syns = folder / "cells", folder / "synapses"
    cells.mkdir(parents=True, exist_ok=True)
    syns.mkdir(exist_ok=True)
    (cells / "cell.json").write_text(json.dumps(dict(model.params)))
    (syns / "exc.json").write_text(json.dumps(dict(model.synapse_exc)))
    v1 = NetworkBuilder("v1", seed=1)
    v1.add_nodes(N=1, model_type="point_process", model_template=model.template,
                 dynamics_params="cell.json")  # fmt: skip
    ext = NetworkBuilder("ext", seed=2)
    ext.add_nodes(N=1, model_type="virtual")
    ext.build()
    v1.add_edges(source=ext.nodes(), target=v1.nodes(), connection_rule=1,
                 syn_weight=model.w_in, delay=1.5, model_template="static_synapse",
                 dynamics_params="exc.json")  # fmt: skip
    v1.build()
    circuit = write_circuit(
        [v1, ext],
        folder / "network",
        components={"point_neuron_models_dir": cells, "synaptic_models_dir": syns},
    )
    write_spikes(folder / "ext_spikes.h5",
                 {"ext": (np.zeros(len(INPUT_TIMES), np.int64), np.asarray(INPUT_TIMES))})  # fmt: skip
    inputs = {"ext_spikes": {"input_type": "spikes", "module": "sonata", "node_set": "ext",
                             "input_file": str(folder / "ext_spikes.h5")}}  # fmt: skip
    reports = {"membrane_potential": {"cells": "v1", "variable_name": "V_m",
                                      "module": "membrane_report", "sections": "soma",
                                      "end_time": end_time, "file_name": "v_report.h5"}}  # fmt: skip
    return _simulation_config(folder, circuit, tstop=tstop, inputs=inputs,
                              reports=reports)  # fmt: skip


# ------------------------------------------------------------------------------- scenario (d)
#: IntFire1 parameters as BMTK's JSON gives them (seconds), and the input trains (ms)
INTFIRE1 = {"tau": 0.024, "refrac": 0.003, "type": "NEURON_IntFire1"}
INTFIRE_TSTOP = 300.0
INTFIRE_DELAY = 1.5
#: (virtual node, first spike, interval) of the input trains, ms
INTFIRE_TRAINS = ((0, 5.05, 7.3), (1, 11.0, 4.1), (2, 3.3, 2.7))
#: weight of each (source, target) edge; target 3 gets no input and must stay silent
INTFIRE_EDGES = {(0, 0): 0.45, (1, 0): 0.3, (1, 1): 0.6, (2, 1): -0.2, (2, 2): 0.35}


def intfire_input_times() -> dict[int, np.ndarray]:
    """Spike times (ms) of each virtual node."""
    return {
        i: np.round(np.arange(first, INTFIRE_TSTOP - 10.0, step), 6)
        for i, first, step in INTFIRE_TRAINS
    }


def intfire1_analytic(n_cells: int = 4) -> dict[int, np.ndarray]:
    """Spike times of each IntFire1 cell, from NEURON's event rule written out.

    ``m`` decays as ``exp(-dt / tau)`` between events; an input adds its weight; ``m > 1``
    fires at the arrival time and makes the cell refractory for ``refrac`` (inputs ignored),
    after which ``m = 0``.
    """
    tau, refrac = INTFIRE1["tau"] * 1e3, INTFIRE1["refrac"] * 1e3
    trains = intfire_input_times()
    out = {}
    for cell in range(n_cells):
        events = sorted(
            (t + INTFIRE_DELAY, w)
            for (src, tgt), w in INTFIRE_EDGES.items()
            if tgt == cell
            for t in trains[src]
        )
        m, t0, ready, spikes = 0.0, 0.0, 0.0, []
        for t, w in events:
            if t < ready:
                continue
            if spikes and t0 < ready <= t:
                m, t0 = 0.0, ready
            m = m * math.exp(-(t - t0) / tau) + w
            t0 = t
            if m > 1.0:
                spikes.append(t)
                ready = t + refrac
        out[cell] = np.asarray(spikes)
    return out


def write_intfire_network(folder: Path, *, sort_order: str = "by_time") -> Path:
    """Four ``nrn:IntFire1`` cells fed by three virtual nodes with regular spike trains."""
    from bmtoolkit.builder import NetworkBuilder, write_circuit
    from bmtoolkit.sonata import write_spikes

    cells, syns = folder / "cells", folder / "synapses"
    cells.mkdir(parents=True, exist_ok=True)
    syns.mkdir(exist_ok=True)
    (cells / "IntFire1.json").write_text(json.dumps(INTFIRE1))
    (syns / "instantaneous.json").write_text(json.dumps({"level_of_detail": "instanteneous"}))
    v1 = NetworkBuilder("v1", seed=1)
    v1.add_nodes(N=4, model_type="point_process", model_template="nrn:IntFire1",
                 dynamics_params="IntFire1.json")  # fmt: skip
    ext = NetworkBuilder("ext", seed=2)
    ext.add_nodes(N=3, model_type="virtual")
    ext.build()
    for (src, tgt), w in INTFIRE_EDGES.items():
        v1.add_edges(source=ext.nodes(node_id=src), target=v1.nodes(node_id=tgt),
                     connection_rule=1, syn_weight=w, delay=INTFIRE_DELAY,
                     model_template="exp2syn", dynamics_params="instantaneous.json")  # fmt: skip
    v1.build()
    circuit = write_circuit(
        [v1, ext],
        folder / "network",
        components={"point_neuron_models_dir": cells, "synaptic_models_dir": syns},
    )
    trains = intfire_input_times()
    ids = np.concatenate([np.full(t.size, i) for i, t in trains.items()])
    write_spikes(folder / "ext_spikes.h5", {"ext": (ids, np.concatenate(list(trains.values())))})
    inputs = {"ext_spikes": {"input_type": "spikes", "module": "sonata", "node_set": "ext",
                             "input_file": str(folder / "ext_spikes.h5")}}  # fmt: skip
    return _simulation_config(folder, circuit, tstop=INTFIRE_TSTOP, inputs=inputs,
                              sort_order=sort_order)  # fmt: skip


# ------------------------------------------------------------------------------ known bugs
#: (scenario, backend) -> reason; the suite runs these as strict xfails so a fix shows up
KNOWN_BUGS: dict[tuple[str, str], str] = {}
