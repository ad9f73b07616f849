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

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.reports import MembraneReport


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


def add_spike_recorder(
    nest_ids: np.ndarray, dt: float, start: float = 0.0, stop: float | None = None
) -> Any:
    """A ``spike_recorder`` on the NEST nodes ``nest_ids`` for spikes in ``(start, stop]``.

    Connected run by run of consecutive ids (``NodeCollection(range(...))``): a collection
    built from a list of ids, or summed from several ``Create`` results, is composite and
    connecting it to a device is orders of magnitude slower.
    """
    import nest

    params = {"start": float(start)}
    if stop is not None:
        params["stop"] = float(stop)
    rec = nest.Create("spike_recorder", params=params)
    # an explicit syn_spec makes NEST build the connections one by one in Python; the
    # model default is applied natively
    old_delay = nest.GetDefaults("static_synapse", "delay")
    nest.SetDefaults("static_synapse", {"delay": float(dt)})
    try:
        for lo, hi in contiguous_runs(nest_ids):
            nest.Connect(nest.NodeCollection(range(lo, hi + 1)), rec)
    finally:
        nest.SetDefaults("static_synapse", {"delay": old_delay})
    return rec


def add_multimeter(
    report: MembraneReport,
    populations: dict[str, Any],
    targets: dict[str, np.ndarray],
    delay: float = 1.0,
) -> MultimeterRecording:
    """Create a multimeter for ``report`` on ``targets`` (population -> SONATA ids)."""
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
