"""toynet: NEST's ``iaf_psc_delta`` on a fixed grid in plain numpy.

Each step: V decays exactly towards E_L, the clamp current charges it, arriving weights (mV)
jump it; V >= V_th is a spike, then V_reset for t_ref. Everything else comes from the core:
the run plan, typed inputs and reports, edge tables, the NEST spike-emission rule and the
SONATA writers.
"""

from __future__ import annotations

import numpy as np

from bmtoolkit.simulator.core.base import Backend
from bmtoolkit.simulator.core.inputs import CurrentClampInput, SpikeTrainsInput, emission_step
from bmtoolkit.simulator.core.models import edge_table, node_type_models

#: NEST's iaf_psc_delta defaults (mV, ms, pF, pA)
DEFAULTS = {"E_L": -70.0, "C_m": 250.0, "tau_m": 10.0, "t_ref": 2.0, "V_th": -55.0,
            "V_reset": -70.0, "I_e": 0.0}  # fmt: skip


class ToyNet(Backend):
    """The steps of :class:`~bmtoolkit.simulator.core.base.Backend`, in order."""

    name = "toynet"
    requires = ("numpy",)

    def setup(self) -> None:
        self.cells: dict[str, dict[str, np.ndarray]] = {}  # population -> parameters and V
        self.sizes: dict[str, int] = {}
        self.edges: list[tuple] = []  # (edge table, delay in steps)
        self.events: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}  # virtual spikes
        self.clamps: list[tuple[str, np.ndarray, CurrentClampInput]] = []
        self.recorders: list[tuple] = []  # (report, rows by step, buffers)
        self.spikes: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}

    def build_network(self) -> None:
        plan = self.plan
        for name, pop in plan.circuit.nodes.items():
            self.sizes[name] = pop.size
            models = node_type_models(plan, pop)
            if all(m.is_virtual for m in models.values()):
                self.events[name] = []
                continue
            types = pop.node_type_ids()
            cells = {k: np.full(pop.size, v) for k, v in DEFAULTS.items()}
            for type_id, model in models.items():
                for key in DEFAULTS:
                    if key in model.params:
                        cells[key][types == type_id] = float(model.params[key])
            cells["V"] = cells["E_L"].copy()
            cells["refractory"] = np.zeros(pop.size, dtype=np.int64)
            self.cells[name] = cells
            self.spikes[name] = []
        for edges in plan.circuit.edges.values():
            table = edge_table(plan, edges, default_delay=self.default_delay)
            self.edges.append((table, np.rint(table.delays / plan.dt).astype(np.int64)))

    def add_inputs(self) -> None:
        plan = self.plan
        for item in plan.inputs():
            if isinstance(item, SpikeTrainsInput):
                for pop, df in item.spikes.groupby("population"):
                    step = emission_step(df["timestamp"].to_numpy(), plan.dt, plan.tstart)
                    self.events[pop].append((df["node_id"].to_numpy(np.int64), step))
            elif isinstance(item, CurrentClampInput):
                for pop, ids in plan.resolve_node_set(item.node_set).items():
                    self.clamps.append((pop, np.asarray(ids), item))

    def add_reports(self) -> None:
        plan = self.plan
        for rep in plan.reports():
            n_rows = int(round((rep.end_time - rep.start_time) / rep.dt))
            ends = rep.start_time + (np.arange(n_rows) + 1) * rep.dt  # row j: V at start + (j+1) dt
            steps = np.rint((ends - plan.tstart) / plan.dt).astype(np.int64) - 1
            targets = {p: np.asarray(i) for p, i in plan.resolve_node_set(rep.node_set).items()
                       if p in self.cells}  # fmt: skip
            buffers = {p: np.zeros((n_rows, len(ids))) for p, ids in targets.items()}
            self.recorders.append((rep, dict(zip(steps.tolist(), range(n_rows))), targets, buffers))

    def simulate(self) -> None:
        plan = self.plan
        ring_size = max([int(s.max()) for _, s in self.edges if len(s)] + [1]) + 1
        ring = {p: np.zeros((ring_size, n)) for p, n in self.sizes.items()}
        for k in range(plan.n_steps):
            t, slot = plan.tstart + k * plan.dt, k % ring_size
            fired = {p: self._virtual_spikes(p, k) for p in self.events}
            for pop, c in self.cells.items():
                current = c["I_e"] + self._clamp(pop, t)
                decay = np.exp(-plan.dt / c["tau_m"])
                v = c["E_L"] + (c["V"] - c["E_L"]) * decay
                v = v + c["tau_m"] / c["C_m"] * (1.0 - decay) * current + ring[pop][slot]
                active = c["refractory"] <= 0
                c["V"] = np.where(active, v, c["V"])
                c["refractory"] -= 1
                spiking = np.flatnonzero(active & (c["V"] >= c["V_th"]))
                c["V"][spiking] = c["V_reset"][spiking]
                c["refractory"][spiking] = np.rint(c["t_ref"][spiking] / plan.dt).astype(np.int64)
                fired[pop] = spiking
                if len(spiking):
                    self.spikes[pop].append((spiking, np.full(len(spiking), t + plan.dt)))
            for arrays in ring.values():
                arrays[slot] = 0.0
            for table, steps in self.edges:
                hit = np.isin(table.source_ids, fired[table.source_population])
                dest = (slot + steps[hit]) % ring_size
                np.add.at(ring[table.target_population], (dest, table.target_ids[hit]),
                          table.weights[hit])  # fmt: skip
            for _, rows, targets, buffers in self.recorders:
                if k in rows:
                    for pop, ids in targets.items():
                        buffers[pop][rows[k]] = self.cells[pop]["V"][ids]

    def _virtual_spikes(self, pop: str, step: int) -> np.ndarray:
        ids = [i[s == step] for i, s in self.events[pop]]
        return np.unique(np.concatenate(ids)) if ids else np.empty(0, np.int64)

    def _clamp(self, pop: str, t: float) -> np.ndarray:
        current = np.zeros(self.sizes[pop])
        for name, ids, clamp in self.clamps:
            if name == pop:
                current[ids] += sum(a for start, stop, a in clamp.steps() if start <= t < stop)
        return current

    def write_outputs(self) -> None:
        spikes = {}
        for pop, chunks in self.spikes.items():
            ids = np.concatenate([c[0] for c in chunks]) if chunks else np.empty(0, np.int64)
            times = np.concatenate([c[1] for c in chunks]) if chunks else np.empty(0)
            spikes[pop] = (ids, times)
        self.hand_back_spikes(spikes)  # core names and writes the files
        for rep, _, targets, buffers in self.recorders:
            self.hand_back_trace(
                rep, "V_m", {pop: (ids, buffers[pop]) for pop, ids in targets.items()}
            )
