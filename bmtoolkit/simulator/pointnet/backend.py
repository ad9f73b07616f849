"""``pointnet``: SONATA point-neuron networks on NEST 3.

:class:`PointNet` implements the :class:`~bmtoolkit.simulator.core.base.Backend` contract:

- ``setup``: imports NEST (lazily), resets the kernel, sets ``resolution`` = ``dt``,
  ``local_num_threads`` (config ``run.nthreads`` or ``--threads``) and ``rng_seed``;
- ``build_network``: one ``nest.Create`` per node type (:mod:`.cells`), spike generators for
  virtual nodes, one vectorized ``nest.Connect`` per edge type (:mod:`.synapses`); under
  MPI each rank reads and connects only the edges onto its own cells (:mod:`.ranks`);
- ``add_inputs``: spike trains (h5, CSV, Poisson) into the generators, current clamps
  (:mod:`.inputs`);
- ``add_reports``: a spike recorder on the simulated nodes and a multimeter per membrane report
  (:mod:`.recording`);
- ``simulate``: ``nest.Run`` in blocks with a progress bar;
- ``write_outputs``: spikes sorted as asked and reports, through :mod:`bmtoolkit.sonata`.
  Under ``mpiexec`` (NEST built with MPI) events are gathered and rank 0 writes the files.

Examples
--------
>>> from bmtoolkit.simulator import PointNet
>>> result = PointNet.from_config("config.json", threads=2).run()  # doctest: +SKIP
>>> result.outputs["spikes"]  # doctest: +SKIP
'output/spikes.h5'
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar

import numpy as np

from bmtoolkit.exceptions import BackendNotAvailableError, ConfigError
from bmtoolkit.simulator.core.base import Backend, RunResult
from bmtoolkit.simulator.core.inputs import CurrentClampInput, SpikeTrainsInput
from bmtoolkit.simulator.core.models import edge_table
from bmtoolkit.simulator.core.plan import RunPlan
from bmtoolkit.simulator.core.progress import release_freed_memory, resident_gib, run_in_blocks
from bmtoolkit.simulator.core.reports import (
    MembraneReport,
    WeightReport,
)
from bmtoolkit.simulator.pointnet.cells import NestPopulation, create_population, known_models
from bmtoolkit.simulator.pointnet.inputs import add_current_clamp, set_spike_trains
from bmtoolkit.simulator.pointnet.ranks import rank_edges, smallest_over_ranks
from bmtoolkit.simulator.pointnet.recording import (
    MultimeterRecording,
    WeightSnapshots,
    add_multimeter,
    add_spike_recorder,
    dense_report,
    gather_events,
)
from bmtoolkit.simulator.pointnet.spec import SPEC
from bmtoolkit.simulator.pointnet.synapses import (
    _RESERVED,
    ConnectBuffers,
    connect_edges,
    synapse_model_name,
)
from bmtoolkit.simulator.pointnet.weight_events import WeightEvents

log = logging.getLogger("bmtoolkit.simulator.pointnet")

#: synapse models NEST devices (spike generators) can drive directly
STATIC_SYNAPSES = frozenset({"static_synapse", "static_synapse_hom_w"})
#: NEST's own default delay: the device delay of a network without edges (edges whose files
#: give no delay get the one :mod:`.spec` declares)
DEFAULT_DELAY_MS = 1.0
#: decimals of the spike times written (NEST's float grid times rounded to their decimal value)
SPIKE_TIME_DECIMALS = 9


def import_nest() -> Any:
    """Import NEST quietly, or raise :class:`BackendNotAvailableError` saying how to get it."""
    os.environ.setdefault("PYNEST_QUIET", "1")
    try:
        import nest
    except ImportError as err:
        raise BackendNotAvailableError(
            "the pointnet backend needs NEST: pip install nest-simulator "
            f"(or scripts/install-nest-mpi.sh for MPI); import failed: {err}"
        ) from err
    return nest


class PointNet(Backend):
    """Run a SONATA network of point neurons on NEST (see the module docstring).

    Examples
    --------
    >>> backend = PointNet.from_config("config.json", threads=2)  # doctest: +SKIP
    >>> result = backend.run()  # doctest: +SKIP
    >>> result.extra["n_spikes"]  # doctest: +SKIP
    18828
    """

    name: ClassVar[str] = SPEC.name
    requires: ClassVar[tuple[str, ...]] = SPEC.requires

    @classmethod
    def preflight(cls, plan: RunPlan) -> list[Any]:
        """NEST models, parameter names and types, and report variables (needs NEST)."""
        from bmtoolkit.simulator.pointnet.cells import check_node_types
        from bmtoolkit.simulator.pointnet.recording import check_reports

        problems = check_node_types(plan)
        return problems or check_reports(plan)

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> PointNet:
        """A backend ready to :meth:`run` for a config path or ``SimulationConfig``.

        ``overrides`` go to :meth:`RunPlan.from_config` (``threads``, ``seed``,
        ``output_dir`` ...). Unlike :func:`bmtoolkit.simulator.run`, the output folder is only
        created, never emptied.
        """
        return cls(RunPlan.from_config(config, backend=cls.name, **overrides))

    def run(self) -> RunResult:
        """Run every step (see :meth:`Backend.run`)."""
        self.plan.output_dir.mkdir(parents=True, exist_ok=True)
        return super().run()

    # ------------------------------------------------------------------ steps
    def setup(self) -> None:
        """Reset NEST and apply dt, threads and seed."""
        nest = import_nest()
        self.nest = nest
        nest.ResetKernel()
        if hasattr(nest, "VerbosityLevel"):
            nest.verbosity = nest.VerbosityLevel.ERROR
        else:  # NEST < 3.9
            nest.set_verbosity("M_ERROR")
        kernel: dict[str, Any] = {
            "resolution": float(self.plan.dt),
            "local_num_threads": int(self.plan.threads),
            "print_time": False,
        }
        if self.plan.seed is not None:
            kernel["rng_seed"] = int(self.plan.seed) % (2**31 - 1) or 1
        nest.set(**kernel)
        self.populations: dict[str, NestPopulation] = {}
        self.spike_recorder: Any = None
        self.multimeters: list[MultimeterRecording] = []
        self.weight_reports: list[WeightSnapshots] = []
        self.weight_events: dict[str, WeightEvents] = {}
        self.min_delay = DEFAULT_DELAY_MS
        self.result.extra["nest_version"] = getattr(nest, "__version__", "")
        self.result.extra["mpi_processes"] = int(nest.NumProcesses())
        log.info(
            "NEST: %d thread(s) x %d process(es), seed %s; models that draw random numbers "
            "give other (equally valid) spikes with another thread or process count",
            self.plan.threads,
            self.result.extra["mpi_processes"],
            self.plan.seed,
        )

    def build_network(self) -> None:
        """Create every node population and connect every edge population.

        Records ``extra["edges_read"]`` (per edge population: ``read``, ``total`` and
        ``select_s``, the seconds spent finding this rank's rows) and
        ``extra["n_connections"]``, the connections this process made (under MPI, those
        onto its own cells).
        """
        plan = self.plan
        circuit = plan.circuit
        memory = self.result.extra.setdefault("memory_gib", {})
        memory["start"] = resident_gib()
        for rep in plan.reports():  # recorded synapse models exist before any connection
            if isinstance(rep, WeightReport) and rep.events:
                self.weight_events[rep.name] = WeightEvents(rep, plan.config_path)
                self.weight_events[rep.name].attach()
        for name, pop in circuit.nodes.items():
            self.populations[name] = create_population(
                pop,
                plan.catalogue.node_types(pop),
                virtual=plan.catalogue.is_virtual(pop),
                generator_params=self.options.generator_params(),
            )
        memory["nodes created"] = resident_gib()
        tables = []
        reads = self.result.extra.setdefault("edges_read", {})
        for name, whole in circuit.edges.items():
            src = self.populations.get(whole.source_population)
            trg = self.populations.get(whole.target_population)
            if src is None or trg is None:
                log.warning("edges %s: a node population is not in the circuit; skipped", name)
                continue
            if trg.virtual:
                raise ConfigError(
                    f"edge population {name!r} targets virtual nodes",
                    path=whole.h5_path,
                )
            mine = rank_edges(whole, trg, self.nest)  # all of them with one process
            reads[name] = {"read": mine.read, "total": mine.total, "select_s": mine.seconds}
            edges = mine.edges
            table = edge_table(
                plan,
                edges,
                default_delay=self.default_delay,
                extra=self._synapse_columns(edges),
            )
            # the table holds what the connections need: the cached per-edge type and group
            # ids (24 bytes per edge) and the target index go now, not after connecting
            whole.clear_cache()
            edges.clear_cache()
            tables.append((edges, table, src, trg))
        self.min_delay = self._device_delay(t.delays for _, t, _, _ in tables)
        release_freed_memory()
        memory["edge arrays read"] = resident_gib()
        n_edges = 0
        nest_memory: dict[str, float] = {}
        buffers = ConnectBuffers()  # NEST copies what it gets: one scratch set for all
        parrots = self._parrot_populations()
        for name in parrots:  # BMTK's use_parrot_neurons: relays with a dt delay
            if name in self.populations and self.populations[name].virtual:
                self.populations[name].add_relays(float(plan.dt), keep_times=False)
        while tables:  # each table is freed once NEST holds its connections
            edges, table, src, trg = tables.pop(0)
            if src.virtual and self._needs_relay(edges):
                src.add_relays(self.min_delay)
            n_edges += connect_edges(
                plan,
                edges,
                table,
                src.source_ids,
                trg.nest_ids,
                dt=float(plan.dt),
                buffers=buffers,
                memory=nest_memory,
            )
            del table
            edges.clear_cache()  # anything read again while connecting
            release_freed_memory()
            memory[f"connected {edges.name}"] = resident_gib()
        del buffers
        memory["connected"] = resident_gib()
        memory["in nest.Connect"] = nest_memory.get("nest_gib", 0.0)
        self.result.extra["n_connections"] = n_edges

    def _parrot_populations(self) -> set[str]:
        """Virtual populations fed by a spike input with BMTK's ``use_parrot_neurons``: their
        spikes pass through ``parrot_neuron`` nodes connected with a ``dt`` delay, so they
        reach their targets one step later, exactly as in BMTK's PointNet."""
        out: set[str] = set()
        for cfg in self.plan.input_configs.values():
            params = getattr(cfg, "params", {}) or {}
            if getattr(cfg, "input_type", None) == "spikes" and params.get("use_parrot_neurons"):
                out |= set(self.plan.resolve_node_set(getattr(cfg, "node_set", None)))
        return out

    def _device_delay(self, delays: Any) -> float:
        """Delay for connections bmtoolkit adds (recorders, clamps, relays): the network's
        smallest delay on the time grid. NEST exchanges spikes every ``min_delay``, so a
        shorter device delay would slow the whole simulation down."""
        dt = float(self.plan.dt)
        smallest = min((float(np.min(d)) for d in delays if len(d)), default=np.inf)
        smallest = smallest_over_ranks(smallest)  # each rank holds only its own edges
        smallest = DEFAULT_DELAY_MS if np.isinf(smallest) else smallest
        return float(max(dt, np.floor(smallest / dt + 1e-9) * dt))

    @staticmethod
    def _synapse_models(edges: Any) -> set[str]:
        types = edges.types
        if "model_template" not in types.columns:
            return {"static_synapse"}
        return {synapse_model_name(types.loc[et, "model_template"]) for et in types.index}

    def _needs_relay(self, edges: Any) -> bool:
        """Whether edges from virtual nodes use a synapse model devices cannot drive."""
        return bool(self._synapse_models(edges) - STATIC_SYNAPSES)

    def _synapse_columns(self, edges: Any) -> tuple[str, ...]:
        """Per-edge columns that are parameters of the edge types' synapse models."""
        nest = self.nest
        models = self._synapse_models(edges)
        accepted: set[str] = set()
        for model in models:
            if model in known_models("synapse", model):
                accepted |= set(nest.GetDefaults(model))
        accepted -= set(_RESERVED)
        return tuple(sorted(c for c in edges.property_names if c in accepted))

    def add_inputs(self) -> None:
        """Spike trains into the virtual nodes' generators; current clamps."""
        plan = self.plan
        for item in plan.inputs():
            if isinstance(item, SpikeTrainsInput):
                n = set_spike_trains(item, self.populations, plan.tstop)
                log.info("input %s: %d spikes", item.name, n)
            elif isinstance(item, CurrentClampInput):
                for pop, ids in plan.resolve_node_set(item.node_set).items():
                    target = self.populations[pop]
                    if target.virtual or len(ids) == 0:
                        continue
                    add_current_clamp(item, target.collection(ids), float(plan.dt), self.min_delay)
            else:  # pragma: no cover - a loader registered by a third party
                raise ConfigError(f"pointnet cannot use input of type {type(item).__name__}")
        self.result.extra.setdefault("memory_gib", {})["inputs added"] = resident_gib()

    def add_reports(self) -> None:
        """Spike recorder on the simulated nodes; a multimeter per membrane report."""
        plan = self.plan
        selected = plan.resolve_node_set(None)
        ids = []
        for pop, sel in selected.items():
            p = self.populations.get(pop)
            if p is not None and not p.virtual and len(sel):
                ids.append(p.nest_ids[np.asarray(sel, dtype=np.int64)])
        if ids:
            nest_ids = np.unique(np.concatenate(ids))
            self.spike_recorder = add_spike_recorder(
                nest_ids, self.min_delay, start=plan.tstart, stop=plan.tstop
            )
        self.result.extra.setdefault("memory_gib", {})["spike recorder"] = resident_gib()
        for rep in plan.reports():
            if isinstance(rep, WeightReport):
                targets = {
                    pop: ids
                    for pop, ids in plan.resolve_node_set(rep.node_set).items()
                    if not self.populations[pop].virtual and len(ids)
                }
                if rep.name in self.weight_events:
                    self.weight_events[rep.name].select(targets)
                else:
                    self.weight_reports.append(WeightSnapshots(rep, targets, self.populations))
                continue
            if not isinstance(rep, MembraneReport):  # pragma: no cover - its spec refuses
                raise ConfigError(f"pointnet cannot record report of type {type(rep).__name__}")
            targets = {
                pop: ids
                for pop, ids in plan.resolve_node_set(rep.node_set).items()
                if not self.populations[pop].virtual and len(ids)
            }
            self.multimeters.append(add_multimeter(rep, self.populations, targets, self.min_delay))

    def simulate(self) -> None:
        """Advance NEST to ``tstop`` in blocks, with a progress bar."""
        nest = self.nest
        plan = self.plan
        tend = self._end_time()
        block = self._block_length()
        if self.weight_reports:  # stop at every snapshot time
            block = min(rep.report.dt for rep in self.weight_reports)

        def advance(t0: float, t1: float) -> None:
            nest.Run(round(t1 - t0, 9))
            for snap in self.weight_reports:
                if snap.due(t1, plan.dt):
                    snap.take(t1)

        memory = self.result.extra.setdefault("memory_gib", {})
        memory["before simulate"] = resident_gib()
        nest.Prepare()
        memory["nest.Prepare"] = resident_gib()
        try:
            run_in_blocks(
                0.0,
                tend,
                advance,
                block=block,
                progress=plan.progress,
                desc=self.name,
            )
        finally:
            memory["simulated"] = resident_gib()
            nest.Cleanup()

    def _end_time(self) -> float:
        """How far NEST runs: ``tstop``, or further when multimeters must get their samples.

        NEST samples a multimeter at ``t`` while advancing past ``t``, and hands the samples
        of a ``min_delay`` slice to the multimeter only once the next slice has started. With
        membrane reports the run therefore goes on to the first step of the slice after the one
        holding the last sample (at most one ``min_delay`` more). Nothing after ``tstop`` is
        written: the spike recorder and the multimeters stop at ``tstop`` / ``end_time``.

        Examples
        --------
        >>> backend._end_time()  # tstop 100 ms, dt 0.1 ms, min_delay 1.5 ms  # doctest: +SKIP
        100.6
        """
        plan = self.plan
        dt = float(plan.dt)
        stop_step = int(round(plan.tstop / dt))
        if not self.multimeters:
            return plan.tstop
        slice_steps = max(int(round(float(self.nest.GetKernelStatus("min_delay")) / dt)), 1)
        last = max(min(rec.report.end_time, plan.tstop) for rec in self.multimeters)
        last_step = int(round(last / dt))
        end_step = -(-last_step // slice_steps) * slice_steps + 1
        return round(max(end_step, stop_step) * dt, 9)

    def _block_length(self) -> float:
        dt = self.plan.dt
        n_blocks = 50
        steps = max(int(round(self.plan.tstop / dt / n_blocks)), 1)
        return steps * dt

    def write_outputs(self) -> None:
        """Write spikes, membrane and weight reports (rank 0 under MPI)."""
        nest = self.nest
        rank = int(nest.Rank())
        self._write_weight_reports()
        if self.spike_recorder is not None:
            ev = self.spike_recorder.get("events")
            senders, times = gather_events(
                np.asarray(ev["senders"], dtype=np.int64), np.asarray(ev["times"], dtype=float)
            )
            # NEST's k * dt (10.200000000000001) written as the decimal time (10.2), as BMTK's
            # text round trip writes it; 9 decimals keep precise-model times to the ps
            times = np.round(times, SPIKE_TIME_DECIMALS)
            spikes = self._by_population(senders, times)
            self.result.extra["n_spikes"] = int(len(times))
            if rank == 0:
                self.hand_back_spikes(spikes)
        for rec in self.multimeters:
            ev = rec.device.get("events")
            rep = rec.report
            for var in rep.variables:
                times, senders, values = gather_events(
                    np.asarray(ev["times"], dtype=float),
                    np.asarray(ev["senders"], dtype=np.int64),
                    np.asarray(ev[var], dtype=float),
                )
                data = {
                    pop: (
                        rec.targets[pop],
                        dense_report(
                            times,
                            senders,
                            values,
                            nest_ids,
                            rep.start_time,
                            rep.end_time,
                            rep.dt,
                        ),
                    )
                    for pop, nest_ids in rec.nest_targets.items()
                    if np.isin(senders, nest_ids).any() or len(times) == 0
                }
                if rank == 0:
                    self.hand_back_trace(rep, var, data)

    def _write_weight_reports(self) -> None:
        if int(self.nest.NumProcesses()) > 1 and (self.weight_reports or self.weight_events):
            log.warning("weight reports are not gathered across MPI ranks; rank 0 writes its own")
        if int(self.nest.Rank()) != 0:
            return
        for name, events in self.weight_events.items():
            self.result.outputs[name] = str(events.write(self.populations))
        for snap in self.weight_reports:
            path = self.plan.output_path(snap.report.file_name)
            path.parent.mkdir(parents=True, exist_ok=True)
            self.result.outputs[snap.report.name] = str(snap.write(path))

    def _by_population(
        self, senders: np.ndarray, times: np.ndarray
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Split NEST spike events into ``{population: (SONATA ids, times)}`` with lookup
        tables indexed by NEST id (one vectorized pass, no search per population)."""
        simulated = [(n, p) for n, p in self.populations.items() if not p.virtual and p.size]
        if not simulated:
            return {}
        top = max(int(p.nest_ids.max()) for _, p in simulated) + 1
        owner = np.full(top, -1, dtype=np.int32)
        local = np.zeros(top, dtype=np.int64)
        for k, (_, pop) in enumerate(simulated):
            owner[pop.nest_ids] = k
            local[pop.nest_ids] = np.arange(pop.size, dtype=np.int64)
        senders = np.asarray(senders, dtype=np.int64)
        inside = senders < top
        who = np.full(len(senders), -1, dtype=np.int32)
        who[inside] = owner[senders[inside]]
        out = {}
        for k, (name, _) in enumerate(simulated):
            mask = who == k
            out[name] = (local[senders[mask]], times[mask])
        return out
