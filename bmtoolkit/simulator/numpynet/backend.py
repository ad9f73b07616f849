"""``numpynet``: a tiny leaky integrate-and-fire backend in pure numpy.

It exists to test the code every backend shares (run plan, inputs, reports, writers, output
folder) without any simulator installed, and as the smallest worked example of the
:class:`~bmtoolkit.simulator.core.base.Backend` contract. It is not meant for real work.

Model: each non-virtual node is a current-based LIF with delta synapses, integrated with
exact exponential decay on a fixed grid::

    V <- E_L + (V - E_L) exp(-dt/tau_m) + R (1 - exp(-dt/tau_m)) I_ext,  R = tau_m / C_m
    V <- V + sum of arriving weights (mV);  V >= V_th -> spike, V = V_reset, refractory t_ref

Parameters (ms, mV, pF, pA) come from the node type's ``dynamics_params`` JSON merged with
per-node HDF5 overrides; missing ones take NEST's ``iaf_psc_delta`` defaults. Virtual nodes
emit the spikes of the run's spike inputs, each in the step NEST would emit it
(:func:`~bmtoolkit.simulator.core.inputs.emission_step`). Row ``j`` of a membrane report holds
V at ``start_time + (j + 1) dt``. Edge weights are ``syn_weight x nsyns`` (or the
registered ``weight_function``), delays rounded to the grid as NEST rounds them, and a delay
under half a step refused (:func:`~bmtoolkit.simulator.core.capabilities.delay_steps`).

Examples
--------
>>> from bmtoolkit.simulator import run
>>> run("config.json", backend="numpynet")  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.base import Backend
from bmtoolkit.simulator.core.capabilities import delay_steps
from bmtoolkit.simulator.core.inputs import (
    CurrentClampInput,
    SpikeTrainsInput,
    emission_step,
)
from bmtoolkit.simulator.core.models import edge_table, node_dynamics
from bmtoolkit.simulator.core.progress import run_in_blocks
from bmtoolkit.simulator.core.reports import (
    MembraneReport,
)
from bmtoolkit.simulator.numpynet.spec import SPEC

#: defaults (NEST iaf_psc_delta)
LIF_DEFAULTS: dict[str, float] = {
    "E_L": -70.0,
    "C_m": 250.0,
    "tau_m": 10.0,
    "t_ref": 2.0,
    "V_th": -55.0,
    "V_reset": -70.0,
    "I_e": 0.0,
}


@dataclass
class _Pop:
    name: str
    ids: np.ndarray
    virtual: bool
    params: dict[str, np.ndarray] = field(default_factory=dict)
    #: membrane potential and refractory steps left (empty for virtual populations)
    v: np.ndarray = field(default_factory=lambda: np.empty(0))
    refractory: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    selected: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))


@dataclass
class _Recorder:
    report: MembraneReport
    targets: dict[str, np.ndarray]  # population -> node ids
    buffers: dict[str, np.ndarray]  # population -> (n_rows, n_nodes)
    rows: dict[int, int]  # step index -> report row recorded after it


class NumpyNetBackend(Backend):
    """Pure-numpy LIF backend used to test the simulation core (see the module docstring)."""

    name: ClassVar[str] = SPEC.name
    requires: ClassVar[tuple[str, ...]] = SPEC.requires

    def setup(self) -> None:
        """Seed the generator and compute the grid."""
        self.rng = np.random.default_rng(self.plan.seed)
        self.n_steps = self.plan.n_steps
        self.pops: dict[str, _Pop] = {}
        self.edges: list[Any] = []
        self.spikes: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.clamps: list[tuple[str, np.ndarray, CurrentClampInput]] = []
        self.virtual_events: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.recorders: list[_Recorder] = []

    def build_network(self) -> None:
        """Create LIF state vectors and edge arrays from the plan's circuit."""
        plan = self.plan
        selected = plan.resolve_node_set(None)
        for name, pop in plan.circuit.nodes.items():
            ids = np.asarray(selected.get(name, np.empty(0, np.int64)), dtype=np.int64)
            models = plan.catalogue.node_types(pop)
            virtual = plan.catalogue.is_virtual(pop)
            p = _Pop(name, np.arange(pop.size), virtual, selected=ids)
            if not virtual:
                ntype = pop.node_type_ids()
                overrides = node_dynamics(pop, np.arange(pop.size))
                for key, default in LIF_DEFAULTS.items():
                    col = np.full(pop.size, default)
                    for nt, model in models.items():
                        if key in model.params:
                            col[ntype == nt] = float(model.params[key])
                    if key in overrides.columns:
                        vals = overrides[key].to_numpy(float)
                        col = np.where(np.isnan(vals), col, vals)
                    p.params[key] = col
                p.v = p.params["E_L"].copy()
                v_init = plan.conditions.get("v_init")
                if v_init is not None:
                    p.v[:] = float(v_init)
                p.refractory = np.zeros(pop.size, dtype=np.int64)
            self.pops[name] = p
            self.spikes[name] = []
        for name, edges in plan.circuit.edges.items():
            table = edge_table(plan, edges, default_delay=self.default_delay)
            where = edges.types_path or edges.h5_path
            steps = delay_steps(table.delays, plan.dt, edges=name, path=where)
            self.edges.append((table, steps))

    def add_inputs(self) -> None:
        """Spike trains drive virtual nodes; current clamps add step currents."""
        plan = self.plan
        for item in plan.inputs():
            if isinstance(item, SpikeTrainsInput):
                for pop_name in item.spikes["population"].unique():
                    df = item.spikes[item.spikes["population"] == pop_name]
                    # emitted in the step ending at T (NEST's rule for off-grid times), so it
                    # acts T + delay, as in NEST
                    step = emission_step(
                        df["timestamp"].to_numpy(),
                        plan.dt,
                        plan.tstart,
                        precise=self.options.precise_times,
                    )
                    ids = df["node_id"].to_numpy(np.int64)
                    old_ids, old_steps = self.virtual_events.get(
                        pop_name, (np.empty(0, np.int64), np.empty(0, np.int64))
                    )
                    self.virtual_events[pop_name] = (
                        np.concatenate([old_ids, ids]),
                        np.concatenate([old_steps, step.astype(np.int64)]),
                    )
            elif isinstance(item, CurrentClampInput):
                for pop_name, ids in plan.resolve_node_set(item.node_set).items():
                    self.clamps.append((pop_name, np.asarray(ids), item))

    def add_reports(self) -> None:
        """Prepare the rows of each ``V_m`` report: row ``j`` holds V at ``start + (j+1) dt``
        (the state after the step ending then), as pointnet writes it."""
        plan = self.plan
        for rep in plan.reports():  # membrane reports only (its spec refuses others)
            stride = rep.dt / plan.dt
            if abs(stride - round(stride)) > 1e-6 or round(stride) < 1:
                raise ConfigError(
                    f"report dt {rep.dt} ms must be a multiple of the time step {plan.dt} ms",
                    path=plan.config_path,
                    field=f"reports.{rep.name}.dt",
                )
            n_rows = int(round((rep.end_time - rep.start_time) / rep.dt))
            ends = rep.start_time + (np.arange(n_rows) + 1) * rep.dt
            steps = np.rint((ends - plan.tstart) / plan.dt).astype(np.int64) - 1
            rows = {int(k): j for j, k in enumerate(steps) if 0 <= k < self.n_steps}
            targets = plan.resolve_node_set(rep.node_set)
            targets = {p: np.asarray(ids) for p, ids in targets.items() if not self.pops[p].virtual}
            buffers = {p: np.zeros((n_rows, len(ids))) for p, ids in targets.items()}
            self.recorders.append(_Recorder(rep, targets, buffers, rows))

    def _clamp_current(self, pop: str, t: float) -> np.ndarray | float:
        total: np.ndarray | float = 0.0
        for name, ids, clamp in self.clamps:
            if name != pop:
                continue
            amp = sum(a for start, stop, a in clamp.steps() if start <= t < stop)
            if amp:
                cur = np.zeros(self.pops[pop].ids.size)
                cur[ids] = amp
                total = total + cur
        return total

    def simulate(self) -> None:
        """Integrate the network on the grid, in blocks with a progress bar."""
        plan = self.plan
        max_delay = max((int(s.max()) for _, s in self.edges if len(s)), default=1)
        ring = {n: np.zeros((max_delay + 1, p.ids.size)) for n, p in self.pops.items()}
        self._step = 0

        def advance(t0: float, t1: float) -> None:
            n = int(round((t1 - plan.tstart) / plan.dt)) - self._step
            for _ in range(n):
                self._one_step(ring, max_delay)

        run_in_blocks(plan.tstart, plan.tstop, advance, progress=plan.progress, desc=self.name)

    def _one_step(self, ring: dict[str, np.ndarray], max_delay: int) -> None:
        plan = self.plan
        k = self._step
        t = plan.tstart + k * plan.dt
        slot = k % (max_delay + 1)
        fired: dict[str, np.ndarray] = {}
        for name, p in self.pops.items():
            if p.virtual:
                ev = self.virtual_events.get(name)
                fired[name] = (
                    np.unique(ev[0][ev[1] == k]) if ev is not None else np.empty(0, np.int64)
                )
                continue
            prm = p.params
            decay = np.exp(-plan.dt / prm["tau_m"])
            current = prm["I_e"] + self._clamp_current(name, t)
            v = prm["E_L"] + (p.v - prm["E_L"]) * decay
            v = v + prm["tau_m"] / prm["C_m"] * (1.0 - decay) * current + ring[name][slot]
            active = p.refractory <= 0
            p.v = np.where(active, v, p.v)
            p.refractory -= 1
            spk = np.flatnonzero(active & (p.v >= prm["V_th"]))
            p.v[spk] = prm["V_reset"][spk]
            p.refractory[spk] = np.rint(prm["t_ref"][spk] / plan.dt).astype(np.int64)
            fired[name] = spk
        for name in ring:
            ring[name][slot] = 0.0
        for table, steps in self.edges:
            src_spikes = fired.get(table.source_population)
            if src_spikes is None or len(src_spikes) == 0:
                continue
            hit = np.isin(table.source_ids, src_spikes)
            dest = (slot + steps[hit]) % (max_delay + 1)
            np.add.at(
                ring[table.target_population], (dest, table.target_ids[hit]), table.weights[hit]
            )
        t_spike = t + plan.dt
        for name, spk in fired.items():
            sel = spk[np.isin(spk, self.pops[name].selected)]
            if len(sel) and not self.pops[name].virtual:
                self.spikes[name].append((sel, np.full(len(sel), t_spike)))
        for rec in self.recorders:
            row = rec.rows.get(k)
            if row is not None:
                for pop, ids in rec.targets.items():
                    rec.buffers[pop][row] = self.pops[pop].v[ids]
        self._step += 1

    def write_outputs(self) -> None:
        """Hand back spikes and ``V_m`` traces; core names and writes the files."""
        spikes = {}
        for name, chunks in self.spikes.items():
            if self.pops[name].virtual:
                continue
            ids = np.concatenate([c[0] for c in chunks]) if chunks else np.empty(0, np.int64)
            ts = np.concatenate([c[1] for c in chunks]) if chunks else np.empty(0)
            spikes[name] = (ids, ts)
        self.hand_back_spikes(spikes)
        for rec in self.recorders:
            data = {pop: (ids, rec.buffers[pop]) for pop, ids in rec.targets.items()}
            self.hand_back_trace(rec.report, "V_m", data)
