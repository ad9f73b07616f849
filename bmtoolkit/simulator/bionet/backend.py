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
from bmtoolkit.simulator.bionet import clamp_report as _clamp_report  # registers clamp_report
from bmtoolkit.simulator.bionet import comsol as _comsol  # registers comsol
from bmtoolkit.simulator.bionet import inputs as _inputs  # registers SEClamp
from bmtoolkit.simulator.bionet import netcon_report as _netcon  # registers netcon_report
from bmtoolkit.simulator.bionet import recording as _recording  # registers report types
from bmtoolkit.simulator.bionet import save_synapses as _save_syns  # registers save_synapses
from bmtoolkit.simulator.bionet import spontaneous as _spont  # registers syn_activity
from bmtoolkit.simulator.bionet import xstim as _xstim  # registers xstim
from bmtoolkit.simulator.bionet.cells import BioCell, CellSpec, PointCell, VirtualCell, build_cell
from bmtoolkit.simulator.bionet.spec import SPEC, wants_coreneuron
from bmtoolkit.simulator.core.base import Backend
from bmtoolkit.simulator.core.catalogue import cell_value, params_path

__all__ = ["BioNetBackend", "wants_coreneuron"]

log = logging.getLogger("bmtoolkit.simulator")


def _value(row: Mapping[str, Any], key: str, default: Any = None) -> Any:
    value = cell_value(row.get(key, default))
    return default if value is None else value


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

    name: ClassVar[str] = SPEC.name
    requires: ClassVar[tuple[str, ...]] = SPEC.requires

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
        #: clamps by clamp-report kind (``ic``, ``f_ic``, ``se``), in the order attached
        self._clamps: dict[str, list[Any]] = {kind: [] for kind in _clamp_report.CLAMP_KINDS}
        self._clamp_recorders: list[Any] = []
        self._xstim: list[Any] = []
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
        self.coreneuron = self.options.coreneuron and _prepare_coreneuron(extra)
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
        self.threshold = self.options.spike_threshold
        self.dL = self.options.dL

    def _point_digits(self) -> int | None:
        """``run.swc_point_digits``: significant digits of SWC 3D points (None: Import3d's)."""
        run = getattr(self.plan.config, "run", None)
        digits = (getattr(run, "extra", None) or {}).get("swc_point_digits")
        if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int)):
            raise ConfigError(
                f"expected an integer number of significant digits, got {digits!r}",
                path=self.plan.config_path,
                field="run.swc_point_digits",
            )
        return digits

    def _specs(self, pop: Any) -> list[CellSpec]:
        comps = self.plan.components
        digits = self._point_digits()
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
                    point_digits=digits,
                    properties=row,
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

    def _bmtk_offsets(self, circuit: Any) -> dict[str, int]:
        """BMTK's gid offset of each population: populations in circuit order, each as
        large as its largest node id plus one (the seeds of the placement streams)."""
        offsets, start = {}, 0
        for name, pop in circuit.nodes.items():
            offsets[name] = start
            start += int(pop.size)
        return offsets

    def _connection_order(self, circuit: Any) -> list[tuple[int, Any]]:
        """Edge populations in the order BMTK connects them: those from cells first
        (circuit order), then those from virtual-only populations, in the order of the
        spike inputs that drive them (each target cell's placement stream is shared)."""
        specs = self.check_run().specs
        virtual = {
            name
            for name in circuit.nodes
            if specs.get(name) and all(sp.model_type == "virtual" for sp in specs[name])
        }
        rank: dict[str, int] = {}
        for k, cfg in enumerate(self.plan.input_configs.values()):
            try:
                pops = self.plan.resolve_node_set(getattr(cfg, "node_set", None))
            except (KeyError, ValueError):
                continue
            for pop in pops:
                rank.setdefault(pop, k)
        items = list(enumerate(circuit.edges.values()))
        recurrent = [(k, e) for k, e in items if e.source_population not in virtual]
        driven = [(k, e) for k, e in items if e.source_population in virtual]
        driven.sort(key=lambda ke: (rank.get(ke[1].source_population, len(rank)), ke[0]))
        return recurrent + driven

    def _connect(self, circuit: Any) -> None:
        """Synapses and NetCons of every edge population (targets on this rank)."""
        from bmtoolkit.simulator.bionet.synapses import EDGE_COLUMNS, Connector, point_sign_mask
        from bmtoolkit.simulator.core.models import edge_table

        save = [r for r in self.check_run().reports if isinstance(r, _save_syns.SaveSynapsesReport)]
        make = _save_syns.RecordingConnector if save else Connector
        offsets = self._bmtk_offsets(circuit)
        connector = make(self.h, self.pc, self.layout, self.cells, seed_offsets=offsets)
        self._recorders = [connector] if save else []
        extra = EDGE_COLUMNS
        spont = next(
            (i for i in self.check_run().inputs if isinstance(i, _spont.SpontaneousSynapsesInput)),
            None,
        )
        spont_connector = None
        for _, edges in self._connection_order(circuit):
            table = edge_table(self.plan, edges, default_delay=self.default_delay, extra=extra)
            where = str(edges.types_path or edges.h5_path)
            signed = point_sign_mask(edges)
            use = connector
            if spont is not None and not self._virtual(str(edges.source_population)):
                # BMTK's syn_activity: recurrent edges fire at the timestamps or not at all
                table = _spont.spontaneous_table(self.plan, spont, table)
                if spont_connector is None:
                    layout = _spont.spontaneous_layout(self, spont)
                    spont_connector = make(
                        self.h, self.pc, layout, self.cells, seed_offsets=offsets
                    )
                    self._keep.append(spont_connector)
                    if save:
                        self._recorders.append(spont_connector)
                use = spont_connector
            use.connect(table, self.plan.components, where, signed=signed)
        self._keep.append(connector)
        self.connector = connector

    def _virtual(self, population: str) -> bool:
        """Whether every node of ``population`` is virtual."""
        specs = self.check_run().specs.get(population, [])
        return bool(specs) and all(s.model_type == "virtual" for s in specs)

    def add_inputs(self) -> None:
        """Current clamps into somata; spike trains replayed by virtual cells."""
        from bmtoolkit.simulator.bionet.replay import attach_replay
        from bmtoolkit.simulator.core.inputs import CurrentClampInput, SpikeTrainsInput
        from bmtoolkit.simulator.core.replay import ReplayInput

        h = self.h
        replays = 0
        for inp in self.check_run().inputs:
            if isinstance(inp, ReplayInput):
                attach_replay(self, inp, replays)
                replays += 1
                continue
            if isinstance(inp, _spont.SpontaneousSynapsesInput):
                continue  # made with the recurrent edges (build_network)
            if isinstance(inp, _xstim.ExtracellularStimInput | _comsol.ComsolInput):
                if self.coreneuron:
                    _warn_neuron(f"input {inp.name!r} sets potentials after every step")
                    self.coreneuron = False
                stimulated = [
                    cell
                    for pop, ids in self.plan.resolve_node_set(inp.node_set).items()
                    for nid in ids
                    if isinstance(cell := self.cells.get((pop, int(nid))), BioCell)
                ]
                field = (
                    _comsol.ComsolField(inp, self.plan.dt)
                    if isinstance(inp, _comsol.ComsolInput)
                    else _xstim.ElectrodeField(inp, self.plan.dt, self.plan.tstart)
                )
                self._xstim.append(_xstim.ExtracellularDriver(h, stimulated, field))
                continue
            targets = self.plan.resolve_node_set(inp.node_set)
            if isinstance(inp, CurrentClampInput):
                where = f"{self.plan.config_path} (inputs.{inp.name})"
                for pop, ids in targets.items():
                    for nid in ids:
                        cell = self.cells.get((pop, int(nid)))
                        if not isinstance(cell, BioCell):
                            continue
                        seed = self.layout.gid(pop, int(nid))
                        seg = _inputs.clamp_site(cell, inp.params, seed, where)
                        made = _inputs.attach_current_clamp(h, seg, inp)
                        self._keep.extend(made)
                        clamps = [c for c in made if c.hname().startswith("IClamp")]
                        self._clamps["ic"].extend(clamps)
                        if inp.played is not None:
                            self._clamps["f_ic"].extend(clamps)
            elif isinstance(inp, _inputs.VoltageClampInput):
                for pop, ids in targets.items():
                    for nid in ids:
                        cell = self.cells.get((pop, int(nid)))
                        if isinstance(cell, BioCell):
                            se = _inputs.attach_voltage_clamp(h, cell, inp)
                            self._keep.append(se)
                            self._clamps["se"].append(se)
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
            if isinstance(rep, _clamp_report.ClampReport):
                clamps = self._clamps[rep.variable]
                self._clamp_recorders.append(_clamp_report.ClampRecorder(h, rep, clamps))
                continue
            if isinstance(rep, _netcon.NetconReport):
                self._add_netcon_report(rep)
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

    def _add_netcon_report(self, rep: Any) -> None:
        """Record a variable of the synapses onto the report's cells (BMTK's netcon_report)."""
        targets = self.plan.resolve_node_set(rep.node_set)
        steps = _recording.steps_per_sample(rep.dt, self.plan.dt, rep.name)
        if self.coreneuron:
            steps = 1
        made = getattr(getattr(self, "connector", None), "synapses", {})
        for var in rep.variables:
            per_pop: dict[str, list[tuple[int, Any]]] = {}
            for pop, ids in targets.items():
                for nid in ids:
                    cell = self.cells.get((pop, int(nid)))
                    if not isinstance(cell, BioCell):
                        continue
                    traces = _netcon.record_synapses(
                        self.h, made.get((pop, int(nid)), []), var, rep.syn_type, steps,
                        self.plan.dt, rep.name, sections=cell.sections,
                    )  # fmt: skip
                    if traces:
                        per_pop.setdefault(pop, []).append((int(nid), traces))
            self._reports.append((rep, var, per_pop))
            self._intervals.append(steps * self.plan.dt)

    def _write_clamp_reports(self, parts: list[list[np.ndarray]]) -> None:
        from bmtoolkit.sonata import write_clamp_report

        for recorder, pieces in zip(self._clamp_recorders, parts, strict=True):
            data = np.concatenate(pieces, axis=1) if pieces else np.zeros((0, 0))
            target = write_clamp_report(
                recorder.report.file_name,
                data,
                tstart=self.plan.tstart,
                tstop=self.plan.tstop,
                dt=self.plan.dt,
            )
            self.result.outputs[recorder.report.name] = str(target)

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

    def _write_synapses(self, parts: list[list[dict[tuple[str, str], list[np.ndarray]]]]) -> None:
        """``save_synapses`` reports: the synapses of every rank, one edges file per pair."""
        merged: dict[tuple[str, str], list[np.ndarray]] = {}
        for rank_records in parts or []:
            for records in rank_records:
                for key, rows in records.items():
                    merged.setdefault(key, []).extend(rows)
        for rep in self.check_run().reports:
            if isinstance(rep, _save_syns.SaveSynapsesReport):
                _save_syns.write_synapses(rep.network_dir, merged)
                self.result.outputs[rep.name] = str(rep.network_dir)

    def _write_ecp_contributions(self, parts: list[list[dict[int, np.ndarray]]]) -> None:
        """BMTK's ``contributions_dir``: each cell's own ECP in ``<gid>.h5`` (``/ecp/data``,
        ``/ecp/channel_id``, ``/ecp/time``); gid = population offset + node id."""
        from bmtoolkit.sonata import write_ecp_report

        for (rep, channels, _), pieces in zip(self._ecp, parts, strict=True):
            folder = rep.params.get("contributions_dir")
            if not folder:
                continue
            target = Path(folder)
            base = self.plan.config_path.parent if self.plan.config_path else None
            if base is not None and target.is_relative_to(base):
                # written relative in the config: inside the output folder, as BMTK does
                target = self.plan.output_dir / target.relative_to(base)
            target = self.plan.output_path(target)
            target.mkdir(parents=True, exist_ok=True)
            for piece in pieces:
                for gid, data in piece.items():
                    write_ecp_report(
                        target / f"{int(gid)}.h5",
                        data,
                        channels,
                        self.plan.tstart,
                        self.plan.tstop,
                        self.plan.dt,
                    )
            self.result.outputs[f"{rep.name}:contributions"] = str(target)

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
        keys = [
            (pop, int(nid))
            for pop, ids in targets.items()
            for nid in ids
            if isinstance(self.cells.get((pop, int(nid))), BioCell)
        ]
        cells = [self.cells[key] for key in keys]
        n_steps = self.plan.n_steps
        contributions = bool(rep.params.get("contributions_dir"))
        recorder = EcpRecorder(self.h, cells, positions, n_steps, contributions=contributions)
        recorder.gids = [self.layout.gid(pop, nid) for pop, nid in keys]
        self._ecp.append((rep, channels, recorder))

    def simulate(self) -> None:
        """Initialise at ``v_init`` and advance to ``tstop`` with the fixed step."""
        h, pc = self.h, self.pc
        pc.set_maxstep(10)
        h.finitialize(self.v_init)
        for _, _, recorder in self._ecp:
            recorder.start()
        for stim in self._xstim:
            stim.start()
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
        for stim in self._xstim:
            stim.stop()
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
        synapse_parts = self.pc.py_gather([c.records for c in getattr(self, "_recorders", [])], 0)
        ecp_parts = [self.pc.py_gather(rec.data, 0) for _, _, rec in self._ecp]
        n_steps = int(round((self.plan.tstop - self.plan.tstart) / self.plan.dt))
        clamp_parts = [self.pc.py_gather(r.data(n_steps), 0) for r in self._clamp_recorders]
        cell_parts = [
            self.pc.py_gather(dict(zip(rec.gids, rec.cell_data, strict=False)), 0)
            for _, _, rec in self._ecp
        ]
        if self.rank != 0:
            return
        self._write_ecp(ecp_parts)
        self._write_clamp_reports(clamp_parts)
        self._write_synapses(synapse_parts)
        self._write_ecp_contributions(cell_parts)
        gids = np.concatenate([g for g, _ in gathered]) if gathered else np.zeros(0, np.int64)
        times = np.concatenate([t for _, t in gathered]) if gathered else np.zeros(0)
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in self.layout.names:
            lo = self.layout.offsets[name]
            mask = (gids >= lo) & (gids < lo + self.layout.sizes[name])
            if mask.any():
                out[name] = (gids[mask] - lo, times[mask])
        self.hand_back_spikes(out)
        for (rep, var, _), parts, interval in zip(
            self._reports, report_parts, self._intervals, strict=True
        ):
            merged: dict[str, list[tuple[int, Any]]] = {}
            for part in parts:
                for pop, rows in part.items():
                    merged.setdefault(pop, []).extend(rows)
            target = self.trace_path(rep, var)  # per-compartment frames: bionet's own writer
            _recording.write_report(target, var, rep, merged, interval=interval)
            self.record_output(rep, var, target)
