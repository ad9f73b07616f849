"""The ``bionet`` backend: SONATA networks of detailed and point cells on NEURON.

Examples
--------
>>> from bmtoolkit.simulator.core.registries import get_backend  # doctest: +SKIP
>>> backend = get_backend("bionet")(RunPlan.from_config(cfg))  # doctest: +SKIP
>>> backend.run().outputs["spikes"]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from bmtoolkit.exceptions import (
    BackendNotAvailableError,
    BmtkWarning,
    ConfigError,
    SimulationError,
)
from bmtoolkit.simulator.bionet import inputs as _inputs  # registers SEClamp
from bmtoolkit.simulator.bionet import recording as _recording  # registers report types
from bmtoolkit.simulator.bionet.cells import BioCell, CellSpec, PointCell, VirtualCell, build_cell
from bmtoolkit.simulator.core.base import Backend
from bmtoolkit.simulator.core.catalogue import cell_value, params_path

__all__ = ["BioNetBackend", "wants_coreneuron"]

log = logging.getLogger("bmtoolkit.simulator")


def _value(row: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = cell_value(row.get(key, default))
    return default if value is None else value


def wants_coreneuron(plan: Any) -> bool:
    """True when the run asks for CoreNEURON: ``target_simulator: "CORENEURON"`` in the
    config, or ``BMTOOLKIT_CORENEURON=1`` in the environment."""
    target = str(getattr(plan, "target_simulator", None) or "").upper()
    return target == "CORENEURON" or os.environ.get("BMTOOLKIT_CORENEURON", "") == "1"


def _warn_neuron(reason: str) -> None:
    warnings.warn(f"running on NEURON instead of CoreNEURON: {reason}", BmtkWarning, stacklevel=3)


def _prepare_coreneuron(extra: list[Any]) -> bool:
    """Build and load all mechanisms as one NEURON + CoreNEURON library; False (with a
    warning) when CoreNEURON cannot be used here."""
    from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms, loaded_coreneuron_library

    try:
        from neuron import config

        enabled = bool(config.arguments.get("NRN_ENABLE_CORENEURON"))
    except (ImportError, AttributeError):  # NEURON builds before 8.2 do not say
        enabled = False
    if not enabled:
        _warn_neuron("this NEURON build has no CoreNEURON")
        return False
    try:
        load_mechanisms(extra, coreneuron=True)
    except (SimulationError, BackendNotAvailableError) as err:
        _warn_neuron(str(err))
        return False
    os.environ["CORENEURONLIB"] = str(loaded_coreneuron_library())
    return True


class BioNetBackend(Backend):
    """Run a SONATA simulation on NEURON (fixed step ``dt``, spikes on the dt grid).

    Reports follow BMTK's convention: row ``i`` of a membrane report holds the value after
    step ``i + 1``. With ``target_simulator: "CORENEURON"`` (or ``BMTOOLKIT_CORENEURON=1``)
    the network is built in NEURON and simulated by CoreNEURON when this NEURON build has it
    (mechanisms compiled with ``nrnivmodl -coreneuron``, once per content); otherwise, and for
    extracellular reports, the run stays on NEURON with a warning.
    """

    name: ClassVar[str] = "bionet"
    requires: ClassVar[tuple[str, ...]] = ("neuron",)

    def __init__(self, plan: Any) -> None:
        super().__init__(plan)
        self.cells: dict[tuple[str, int], Any] = {}
        self._keep: list[Any] = []
        self._spike_t: Any = None
        self._spike_gid: Any = None
        self._reports: list[tuple[Any, str, dict[str, list[tuple[int, Any]]]]] = []
        self._intervals: list[float] = []  # recording interval (ms) of each report
        self._fih: list[Any] = []
        self._ecp: list[tuple[Any, np.ndarray, Any]] = []
        self.coreneuron = False
        self.checked: Any = None  # the Preflight of this run, once build_network starts

    # -- steps ---------------------------------------------------------------------------
    def setup(self) -> None:
        """Import NEURON, load the mechanism library, apply dt and conditions."""
        os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")
        try:
            from neuron import h
        except ImportError as err:
            raise BackendNotAvailableError(
                "the bionet backend needs NEURON: pip install neuron"
            ) from err
        from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms

        extra = [self.plan.components[k] for k in ("mechanisms_dir",) if k in self.plan.components]
        self.coreneuron = wants_coreneuron(self.plan) and _prepare_coreneuron(extra)
        if not self.coreneuron:
            load_mechanisms(extra)
        h.load_file("stdrun.hoc")
        from bmtoolkit.simulator.bionet.parallel import parallel_context

        self.h = h
        self.pc = parallel_context()
        self.rank, self.nhost = int(self.pc.id()), int(self.pc.nhost())
        self.pc.gid_clear()  # a previous run in this process may have registered gids
        cond = dict(self.plan.conditions or {})
        h.dt = self.plan.dt
        h.steps_per_ms = 1.0 / self.plan.dt
        h.celsius = float(cond.get("celsius", 34.0))
        self.v_init = float(cond.get("v_init", -80.0))
        threshold = self.plan.run.spike_threshold
        self.threshold = -15.0 if threshold is None else float(threshold)
        self.dL = self.plan.run.dL

    def _specs(self, pop: Any) -> list[CellSpec]:
        comps = self.plan.components
        cols = pop.columns()
        specs = []
        for node_id in range(pop.size):
            row = {name: values[node_id] for name, values in cols.items()}
            model_type = str(_value(row, "model_type", "biophysical"))
            morph = _value(row, "morphology")
            morph_path = None
            if morph is not None and "morphologies_dir" in comps:
                name = str(morph) if str(morph).endswith(".swc") else f"{morph}.swc"
                morph_path = Path(comps["morphologies_dir"]) / name
            dyn = _value(row, "dynamics_params")
            if isinstance(dyn, str) and model_type != "virtual":
                dyn = params_path(
                    dyn,
                    comps,
                    model_type,
                    who=f"node type {_value(row, 'node_type_id', -1)} ({model_type})",
                    where=self.plan.config_path or pop.types_path,
                )
            rot = [float(_value(row, f"rotation_angle_{a}axis", 0.0)) for a in "xyz"]
            pos = [float(_value(row, a, 0.0)) for a in "xyz"]
            quat = [_value(row, f"orientation_{a}") for a in "wxyz"]
            orientation = None if any(q is None for q in quat) else np.asarray(quat, float)
            specs.append(
                CellSpec(
                    population=pop.name,
                    node_id=int(node_id),
                    node_type_id=int(_value(row, "node_type_id", -1)),
                    model_type=model_type,
                    model_template=_value(row, "model_template"),
                    morphology=morph_path,
                    dynamics_params=dyn,
                    model_processing=_value(row, "model_processing"),
                    templates_dir=comps.get("biophysical_neuron_models_dir"),
                    position=np.asarray(pos),
                    rotation=np.asarray(rot),
                    orientation=orientation,
                    dL=float(_value(row, "dL", self.dL) or 0) or None,
                    types_file=str(pop.types_path or pop.h5_path),
                )
            )
        return specs

    @classmethod
    def preflight(cls, plan: Any) -> list[Any]:
        """What ``bmtoolkit validate`` and ``run`` learn before setup: inputs and reports that
        bionet does not support, or whose node sets or files are missing (no NEURON needed)."""
        from bmtoolkit.exceptions import BmtkError
        from bmtoolkit.simulator.bionet.preflight import check_plan
        from bmtoolkit.simulator.core.preflight import problem_from_error

        try:
            check_plan(plan)
        except BmtkError as err:
            return [problem_from_error(err, plan.config_path or "")]
        return []

    def check_run(self) -> Any:
        """Check the run before any cell is built (see :mod:`.preflight`): inputs and reports
        are supported and their node sets resolve, every node type's files, parameters and
        mechanisms, every edge type's synapse model. Returns the
        :class:`~bmtoolkit.simulator.bionet.preflight.Preflight` (also kept as ``checked``)."""
        from bmtoolkit.simulator.bionet.preflight import preflight

        if self.checked is None:
            self.checked = preflight(self)
        return self.checked

    def build_network(self) -> None:
        """Check the run (:meth:`check_run`), then build this rank's nodes, register their
        gids and connect every edge population."""
        from bmtoolkit.simulator.bionet.parallel import GidLayout
        from bmtoolkit.simulator.bionet.prototypes import CellFactory

        checked = self.check_run()
        h, pc = self.h, self.pc
        factory = CellFactory()  # each morphology read once, every cell made from arrays
        circuit = self.plan.circuit
        self.layout = GidLayout({name: pop.size for name, pop in circuit.nodes.items()})
        self._spike_t, self._spike_gid = h.Vector(), h.Vector()
        for name in circuit.nodes:
            for spec in checked.specs[name]:
                gid = self.layout.gid(spec.population, spec.node_id)
                if self.layout.owner(gid, self.nhost) != self.rank:
                    continue
                cell = build_cell(spec, factory)
                self.cells[(spec.population, spec.node_id)] = cell
                pc.set_gid2node(gid, self.rank)
                nc = cell.spike_source(self.threshold)
                pc.cell(gid, nc)
                self._keep.append(nc)
                if not isinstance(cell, VirtualCell):
                    pc.spike_record(gid, self._spike_t, self._spike_gid)
        factory.finish()
        if circuit.edges:
            self._connect(circuit)

    def _connect(self, circuit: Any) -> None:
        """Synapses and NetCons of every edge population (targets on this rank)."""
        from bmtoolkit.simulator.bionet.synapses import Connector, point_sign_mask
        from bmtoolkit.simulator.core.models import edge_table

        connector = Connector(self.h, self.pc, self.layout, self.cells)
        seed = self.plan.seed if self.plan.seed is not None else 0
        extra = (
            "sec_id",
            "sec_x",
            "afferent_section_id",
            "afferent_section_pos",
            "dynamics_params",
            "model_template",
        )
        for k, edges in enumerate(circuit.edges.values()):
            table = edge_table(self.plan, edges, extra=extra)
            where = str(edges.types_path or edges.h5_path)
            signed = point_sign_mask(edges)
            connector.connect(
                table, self.plan.components, where, seed=(int(seed), k), signed=signed
            )
        self._keep.append(connector)

    def add_inputs(self) -> None:
        """Current clamps into somata; spike trains replayed by virtual cells."""
        from bmtoolkit.simulator.core.inputs import CurrentClampInput, SpikeTrainsInput

        h = self.h
        for inp in self.check_run().inputs:
            targets = self.plan.resolve_node_set(inp.node_set)
            if isinstance(inp, CurrentClampInput):
                for pop, ids in targets.items():
                    for nid in ids:
                        cell = self.cells.get((pop, int(nid)))
                        if not isinstance(cell, BioCell):
                            continue
                        for start, stop, amp in inp.steps():
                            clamp = h.IClamp(cell.soma(0.5))
                            clamp.delay, clamp.dur, clamp.amp = start, stop - start, amp
                            self._keep.append(clamp)
            elif isinstance(inp, _inputs.VoltageClampInput):
                for pop, ids in targets.items():
                    for nid in ids:
                        cell = self.cells.get((pop, int(nid)))
                        if isinstance(cell, BioCell):
                            self._keep.append(_inputs.attach_voltage_clamp(h, cell, inp))
            elif isinstance(inp, SpikeTrainsInput):
                for pop in targets:
                    for nid, times in inp.trains(pop).items():
                        cell = self.cells.get((pop, nid))
                        if isinstance(cell, VirtualCell):
                            cell.set_times(times)
        virtual = [c for c in self.cells.values() if isinstance(c, VirtualCell)]
        if virtual:
            self._fih.append(h.FInitializeHandler(lambda: [c.queue() for c in virtual]))

    def add_reports(self) -> None:
        """Soma membrane reports of any range variable (``v``, ``cai``, ...)."""
        from bmtoolkit.simulator.core.reports import MembraneReport

        h = self.h
        for rep in self.check_run().reports:
            if isinstance(rep, _recording.ExtracellularReport):
                if self.coreneuron:
                    _warn_neuron(f"extracellular report {rep.name!r} needs per-step callbacks")
                    self.coreneuron = False
                self._add_ecp(rep)
                continue
            if not isinstance(rep, MembraneReport):
                continue
            targets = self.plan.resolve_node_set(rep.node_set)
            steps = _recording.steps_per_sample(rep.dt, self.plan.dt, rep.name)
            if self.coreneuron:  # CoreNEURON records every step only; frames picked on writing
                steps = 1
            for var in rep.variables:
                per_pop: dict[str, list[tuple[int, Any]]] = {}
                for pop, ids in targets.items():
                    for nid in ids:
                        cell = self.cells.get((pop, int(nid)))
                        if not isinstance(cell, BioCell):
                            continue
                        traces = _recording.record_elements(
                            h, cell, var, rep.sections, steps, self.plan.dt
                        )
                        per_pop.setdefault(pop, []).append((int(nid), traces))
                self._reports.append((rep, var, per_pop))
                self._intervals.append(steps * self.plan.dt)

    def _write_ecp(self, parts: list[list[np.ndarray]]) -> None:
        from bmtoolkit.sonata import write_ecp_report

        for (rep, channels, _), pieces in zip(self._ecp, parts, strict=True):
            data = np.sum(pieces, axis=0)
            target = Path(rep.file_name)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_ecp_report(
                target, data, channels, self.plan.tstart, self.plan.tstop, self.plan.dt
            )
            self.result.outputs[rep.name] = str(target)

    def _add_ecp(self, rep: Any) -> None:
        from bmtoolkit.simulator.bionet.ecp import EcpRecorder, read_electrodes

        if rep.electrode_positions is None:
            raise ConfigError(
                f"extracellular report {rep.name!r} needs 'electrode_positions'",
                path=self.plan.config_path,
                field=f"reports.{rep.name}.electrode_positions",
            )
        channels, positions = read_electrodes(rep.electrode_positions)
        targets = self.plan.resolve_node_set(rep.node_set)
        cells = [
            self.cells[(pop, int(nid))]
            for pop, ids in targets.items()
            for nid in ids
            if isinstance(self.cells.get((pop, int(nid))), BioCell)
        ]
        n_steps = self.plan.n_steps
        self._ecp.append((rep, channels, EcpRecorder(self.h, cells, positions, n_steps)))

    def simulate(self) -> None:
        """Initialise at ``v_init`` and advance to ``tstop`` with the fixed step."""
        h, pc = self.h, self.pc
        pc.set_maxstep(10)
        h.finitialize(self.v_init)
        for _, _, recorder in self._ecp:
            recorder.start()
        if self.coreneuron:
            missing = self._missing_in_coreneuron()
            if missing:
                _warn_neuron(f"CoreNEURON has no {', '.join(missing)}")
                self.coreneuron = False
        if self.coreneuron:
            from neuron import coreneuron

            h.CVode().cache_efficient(1)
            coreneuron.enable, coreneuron.verbose = True, 0
            try:
                pc.psolve(self.plan.tstop)
            finally:
                coreneuron.enable = False
        else:
            pc.psolve(self.plan.tstop)
        for _, _, recorder in self._ecp:
            recorder.stop()
        for (_, _, per_pop), interval in zip(self._reports, self._intervals, strict=True):
            expected = _recording.n_samples(self.plan.tstop, interval)
            for rows in per_pop.values():
                for _, traces in rows:
                    _recording.complete(traces, expected)

    def _missing_in_coreneuron(self) -> list[str]:
        """Point processes and artificial cells of this model CoreNEURON cannot simulate."""
        from bmtoolkit.simulator.bionet.mechanisms import coreneuron_mechanisms

        h = self.h
        known = coreneuron_mechanisms()
        used = {
            c.hobj.hname().split("[", 1)[0]
            for c in self.cells.values()
            if isinstance(c, PointCell | VirtualCell)
        }
        mt, name = h.MechanismType(1), h.ref("")
        has_sections = next(iter(h.allsec()), None) is not None  # pp_begin needs one
        for i in range(int(mt.count()) if has_sections else 0):
            mt.select(i)
            mt.selected(name)
            if mt.pp_begin() is not None:
                used.add(name[0])
        return sorted(used - known)

    def write_outputs(self) -> None:
        """Spikes and reports through :mod:`bmtoolkit.sonata`."""
        from bmtoolkit.simulator.core.reports import write_spike_output

        gathered = self.pc.py_gather(
            (np.asarray(self._spike_gid, dtype=np.int64), np.asarray(self._spike_t)), 0
        )
        report_parts = [
            self.pc.py_gather(
                {
                    pop: [(nid, _recording.as_arrays(el)) for nid, el in rows]
                    for pop, rows in per_pop.items()
                },
                0,
            )
            for _, _, per_pop in self._reports
        ]
        ecp_parts = [self.pc.py_gather(rec.data, 0) for _, _, rec in self._ecp]
        if self.rank != 0:
            return
        self._write_ecp(ecp_parts)
        gids = np.concatenate([g for g, _ in gathered]) if gathered else np.zeros(0, np.int64)
        times = np.concatenate([t for _, t in gathered]) if gathered else np.zeros(0)
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in self.layout.names:
            lo = self.layout.offsets[name]
            mask = (gids >= lo) & (gids < lo + self.layout.sizes[name])
            if mask.any():
                out[name] = (gids[mask] - lo, times[mask])
        path = write_spike_output(self.plan, out)
        if path is not None:
            self.result.outputs["spikes"] = str(path)
        for (rep, var, _), parts, interval in zip(
            self._reports, report_parts, self._intervals, strict=True
        ):
            merged: dict[str, list[tuple[int, Any]]] = {}
            for part in parts:
                for pop, rows in part.items():
                    merged.setdefault(pop, []).extend(rows)
            target = self.plan.output_path(rep.file_for(var))
            _recording.write_report(target, var, rep, merged, interval=interval)
            key = rep.name if len(rep.variables) == 1 else f"{rep.name}:{var}"
            self.result.outputs[key] = str(target)
