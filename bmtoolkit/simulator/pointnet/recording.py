"""Recording on NEST: spikes with a ``spike_recorder``, any recordable with a ``multimeter``.

Spikes of every simulated (non-virtual) node are recorded by one ``spike_recorder``; membrane
reports use one ``multimeter`` per report with ``record_from`` set to the requested
recordables (``V_m``, ``ASCurrents_sum``, ``g_ex`` ... anything the model lists in
``recordables``), ``interval`` = report ``dt``, ``start``/``stop`` from the report. Under MPI
each rank holds the events of its own nodes; :func:`gather_events` merges them on every rank.

Row ``i`` of a written report is the value at ``start_time + (i + 1) * dt`` (NEST records the
state at the end of each interval), as BMTK writes it.

Examples
--------
>>> import numpy as np
>>> dense_report(np.array([0.2, 0.1, 0.2, 0.1]), np.array([5, 5, 6, 6]),
...              np.array([1.0, 2.0, 3.0, 4.0]), np.array([5, 6]), 0.0, 0.2, 0.1)
array([[2., 4.],
       [1., 3.]], dtype=float32)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.exceptions import BmtkError, ConfigError
from bmtoolkit.simulator.core.reports import MembraneReport
from bmtoolkit.sonata.validation import Problem


@dataclass
class MultimeterRecording:
    """A membrane report attached to NEST: its multimeter and the recorded nodes."""

    report: MembraneReport
    device: Any
    targets: dict[str, np.ndarray]  # population -> SONATA ids
    nest_targets: dict[str, np.ndarray]  # population -> NEST ids


def gather_events(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Concatenate arrays across MPI ranks when NEST runs on several processes."""
    import nest

    if nest.NumProcesses() <= 1:
        return arrays
    try:
        from mpi4py import MPI
    except ImportError as err:  # pragma: no cover - only with an MPI build of NEST
        from bmtoolkit.exceptions import BackendNotAvailableError

        raise BackendNotAvailableError("NEST runs under MPI but mpi4py is missing") from err
    comm = MPI.COMM_WORLD
    return tuple(np.concatenate(comm.allgather(np.asarray(a))) for a in arrays)


def contiguous_runs(ids: np.ndarray) -> list[tuple[int, int]]:
    """``[(first, last), ...]`` of the runs of consecutive values in the sorted unique ids.

    Examples
    --------
    >>> contiguous_runs(np.array([5, 1, 2, 3, 7, 6]))
    [(1, 3), (5, 7)]
    """
    u = np.unique(np.asarray(ids, dtype=np.int64))
    if len(u) == 0:
        return []
    breaks = np.flatnonzero(np.diff(u) != 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(u) - 1]])
    return [(int(u[a]), int(u[b])) for a, b in zip(starts, ends, strict=True)]


#: synapse model of the neuron -> spike recorder connections (the smallest NEST has)
RECORDER_SYNAPSE = "static_synapse_hom_w"


def add_spike_recorder(
    nest_ids: np.ndarray, dt: float, start: float = 0.0, stop: float | None = None
) -> Any:
    """A ``spike_recorder`` on the NEST nodes ``nest_ids`` for spikes in ``(start, stop]``.

    Connected run by run of consecutive ids (``NodeCollection(range(...))``): a collection
    built from a list of ids, or summed from several ``Create`` results, is composite and
    connecting it to a device is orders of magnitude slower.

    NEST gives every neuron connected to a device its own block of 1,024 connection slots,
    so recording costs about 30 KiB per recorded neuron with ``static_synapse`` (7 GiB for
    the 230,924 cells of the full V1 model); ``static_synapse_hom_w``, whose connections
    carry no weight, takes about 22 KiB. The recorder uses it.
    """
    import nest

    params = {"start": float(start)}
    if stop is not None:
        params["stop"] = float(stop)
    rec = nest.Create("spike_recorder", params=params)
    # the synapse model is named as a string and its delay set as a default: a syn_spec
    # dictionary with values makes NEST build the connections one by one in Python
    old_delay = nest.GetDefaults(RECORDER_SYNAPSE, "delay")
    nest.SetDefaults(RECORDER_SYNAPSE, {"delay": float(dt)})
    try:
        for lo, hi in contiguous_runs(nest_ids):
            nest.Connect(nest.NodeCollection(range(lo, hi + 1)), rec, syn_spec=RECORDER_SYNAPSE)
    finally:
        nest.SetDefaults(RECORDER_SYNAPSE, {"delay": old_delay})
    return rec


def check_reports(plan: Any) -> list[Problem]:
    """Membrane report variables that a target cell's NEST model cannot record.

    What :func:`add_multimeter` checks, without creating anything; empty without NEST.

    Examples
    --------
    >>> check_reports(plan)  # doctest: +SKIP
    []
    """
    try:
        import nest
    except ImportError:
        return []
    from bmtoolkit.simulator.core.models import node_type_models
    from bmtoolkit.simulator.pointnet.cells import resolve_nest_model

    problems: list[Problem] = []
    for report in plan.reports():
        if not isinstance(report, MembraneReport):
            continue
        for pop_name, ids in plan.resolve_node_set(report.node_set).items():
            pop = plan.circuit.nodes[pop_name]
            models = node_type_models(plan, pop)
            for nt_id in np.unique(pop.node_type_ids()[np.asarray(ids, dtype=np.int64)]):
                nt = models.get(int(nt_id))
                if nt is None or nt.is_virtual:
                    continue
                try:
                    model = resolve_nest_model(str(nt.model_template), nt.params)[0]
                    recordables = nest.GetDefaults(model).get("recordables", [])
                except (BmtkError, nest.NESTError):
                    continue  # an unknown model is reported by the node type checks
                missing = [v for v in report.variables if v not in recordables]
                if missing:
                    problems.append(
                        Problem(
                            str(plan.config_path or ""),
                            f"reports.{report.name}.variable_name",
                            f"NEST model {model!r} (population {pop_name!r}) cannot record "
                            f"{missing}; it records {sorted(map(str, recordables))}",
                            "config",
                        )
                    )
                    return problems
    return problems


def add_multimeter(
    report: MembraneReport,
    populations: dict[str, Any],
    targets: dict[str, np.ndarray],
    delay: float = 1.0,
) -> MultimeterRecording:
    """Create a multimeter for ``report`` on ``targets`` (population -> SONATA ids).

    Examples
    --------
    >>> rec = add_multimeter(report, backend.populations, {"v1": np.array([0, 5])})  # doctest: +SKIP
    """
    import nest

    resolution = float(nest.resolution)
    steps = report.dt / resolution
    if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
        raise ConfigError(
            f"report dt {report.dt} ms must be a multiple of the time step {resolution} ms",
            field=f"reports.{report.name}.dt",
        )
    nest_targets = {}
    for pop, ids in targets.items():
        nest_pop = populations[pop]
        nest_targets[pop] = nest_pop.nest_ids[np.asarray(ids, dtype=np.int64)]
        if len(nest_targets[pop]) == 0:
            continue
        used = nest.NodeCollection(sorted(set(nest_targets[pop].tolist()))).get("model")
        for model in {used} if isinstance(used, str) else set(used):
            recordables = nest.GetDefaults(model).get("recordables", [])
            missing = [v for v in report.variables if v not in recordables]
            if missing:
                raise ConfigError(
                    f"report {report.name!r}: NEST model {model!r} (population {pop!r}) cannot "
                    f"record {missing}; it records {sorted(recordables)}",
                    field=f"reports.{report.name}.variable_name",
                )
    device = nest.Create(
        "multimeter",
        params={
            "record_from": list(report.variables),
            "interval": float(report.dt),
            "start": float(report.start_time),
            "stop": float(report.end_time),
        },
    )
    all_ids = np.concatenate(list(nest_targets.values())) if nest_targets else np.empty(0)
    if len(all_ids):
        nest.Connect(
            device, nest.NodeCollection(sorted(set(all_ids.tolist()))), syn_spec={"delay": delay}
        )
    return MultimeterRecording(report, device, dict(targets), nest_targets)


def dense_report(
    times: np.ndarray,
    senders: np.ndarray,
    values: np.ndarray,
    nest_ids: np.ndarray,
    tstart: float,
    tstop: float,
    dt: float,
) -> np.ndarray:
    """Multimeter events -> ``(T, n)`` float32 array; row ``i`` = time ``tstart + (i+1) dt``."""
    n_rows = int(round((tstop - tstart) / dt))
    out = np.zeros((n_rows, len(nest_ids)), dtype=np.float32)
    if len(times) == 0:
        return out
    row = np.rint((np.asarray(times) - tstart) / dt).astype(np.int64) - 1
    order = np.argsort(nest_ids, kind="stable")
    col = order[np.searchsorted(nest_ids, senders, sorter=order)]
    ok = (row >= 0) & (row < n_rows)
    out[row[ok], col[ok]] = values[ok]
    return out


class WeightSnapshots:
    """Weights of the plastic synapses onto a node set, sampled every ``report.dt`` ms.

    Written as a SONATA frame report of the target population: one column per synapse,
    grouped by target node (``index_pointers``), ``element_ids`` = presynaptic node id
    (``source_population`` attribute names its population when there is only one).

    Parameters
    ----------
    report : WeightReport
        Which synapse model (default: every non-static one), node set, times and file.
    targets : dict
        ``{population: SONATA ids}`` of the postsynaptic nodes.
    populations : dict
        ``{population: NestPopulation}`` of the run.
    """

    def __init__(self, report: Any, targets: dict[str, np.ndarray], populations: dict) -> None:
        import nest

        self.report = report
        self.populations = populations
        self.times: list[float] = []
        self.frames: list[np.ndarray] = []
        self.columns: dict[str, tuple[np.ndarray, np.ndarray, slice]] = {}
        static = {"static_synapse", "static_synapse_hom_w"}
        conns = []
        for pop, ids in targets.items():
            nest_ids = populations[pop].nest_ids[np.asarray(ids, dtype=np.int64)]
            if len(nest_ids) == 0:
                continue
            kwargs = {"target": nest.NodeCollection(sorted(set(nest_ids.tolist())))}
            if report.synapse_model:
                kwargs["synapse_model"] = report.synapse_model
            c = nest.GetConnections(**kwargs)
            if len(c) == 0:
                continue
            info = c.get(["source", "target", "synapse_model"])
            keep = np.array([m not in static for m in np.atleast_1d(info["synapse_model"])])
            conns.append((pop, c, info, keep))
        self._conns = conns
        self._order: list[np.ndarray] = []
        start = 0
        for pop, _, info, keep in conns:
            src = np.atleast_1d(np.asarray(info["source"], dtype=np.int64))[keep]
            trg = np.atleast_1d(np.asarray(info["target"], dtype=np.int64))[keep]
            tgt_sonata = populations[pop].sonata_ids(trg)
            order = np.lexsort((src, tgt_sonata))
            self._order.append(order)
            self.columns[pop] = (tgt_sonata[order], self._source_ids(src[order]),
                                 slice(start, start + len(order)))  # fmt: skip
            start += len(order)

    def _source_ids(self, nest_src: np.ndarray) -> np.ndarray:
        out = np.full(len(nest_src), -1, dtype=np.int64)
        for pop in self.populations.values():
            ids = pop.source_ids
            mask = np.isin(nest_src, ids)
            if mask.any():
                order = np.argsort(ids)
                out[mask] = order[np.searchsorted(ids, nest_src[mask], sorter=order)]
        return out

    def due(self, t: float, dt: float) -> bool:
        """Whether a snapshot belongs at time ``t``."""
        rep = self.report
        if t < rep.start_time + rep.dt - 1e-9 or t > rep.end_time + 1e-9:
            return False
        k = (t - rep.start_time) / rep.dt
        return abs(k - round(k)) < 1e-6 * max(1.0, k) or abs(k - round(k)) * rep.dt < dt / 2

    def take(self, t: float) -> None:
        """Record the current weights."""
        parts = []
        for (_, c, _, keep), order in zip(self._conns, self._order, strict=True):
            w = np.atleast_1d(np.asarray(c.get("weight"), dtype=float))[keep]
            parts.append(w[order])
        self.times.append(t)
        self.frames.append(np.concatenate(parts) if parts else np.empty(0))

    def write(self, path: Any) -> Any:
        """Write the snapshots through :func:`bmtoolkit.sonata.write_frame_report`."""
        from bmtoolkit.sonata import FrameReportData, write_frame_report

        rep = self.report
        data = np.asarray(self.frames, dtype=np.float32).reshape(len(self.frames), -1)
        n_rows = int(round((rep.end_time - rep.start_time) / rep.dt))
        data = data[:n_rows]
        if len(data) < n_rows:  # the run ended before end_time: hold the last weights
            pad = np.repeat(
                data[-1:] if len(data) else np.zeros((1, data.shape[1])), n_rows - len(data), axis=0
            )
            data = np.concatenate([data, pad])
        frames = []
        for pop, (tgt, src, cols) in self.columns.items():
            nodes, starts = np.unique(tgt, return_index=True)
            ptr = np.append(starts, len(tgt)).astype(np.uint64)
            frames.append(
                FrameReportData(
                    population=pop,
                    node_ids=nodes,
                    index_pointers=ptr,
                    element_ids=src.astype(np.uint32),
                    element_pos=np.zeros(len(src), dtype=np.float32),
                    data=data[:, cols],
                    tstart=rep.start_time,
                    tstop=rep.end_time,
                    dt=rep.dt,
                    units="",
                    variable="weight",
                )
            )
        write_frame_report(path, frames)
        return path
