"""Recording range variables and the report types the NEURON backend adds.

Membrane reports record any range variable (``v``, ``cai``, ``ina``, ``m_NaTs`` ...) at the
soma centre (``sections: "soma"``) or at every segment of the chosen sections (``"all"``,
``"dend"``, ``"apic"``, ``"axon"``, ``"basal"``, ``"apical"``). Frames follow BMTK's
one-step convention: row ``i`` holds the value after step ``i + 1`` (``t0 + (i+1) dt``).

``extracellular`` (BMTK's ECP report) is registered here; the line-source computation
lives in :mod:`.ecp`. :class:`BionetReport` is what every bionet report record shares
(``extracellular`` here, ``netcon_report`` and ``clamp_report`` in their modules).

Examples
--------
>>> from bmtoolkit.simulator.core.registries import REPORT_MODULES
>>> import bmtoolkit.simulator.bionet.recording  # noqa: F401
>>> "extracellular" in REPORT_MODULES
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple, Self

import numpy as np

from bmtoolkit.exceptions import ConfigError, SimulationError, UnknownModelError
from bmtoolkit.simulator.bionet.morphology import section_type
from bmtoolkit.simulator.core.registries import REPORT_MODULES

__all__ = [
    "SECTION_GROUPS",
    "BionetReport",
    "ExtracellularReport",
    "Trace",
    "as_arrays",
    "complete",
    "frame_samples",
    "n_samples",
    "record_elements",
    "steps_per_sample",
    "write_report",
]

#: report ``sections`` value -> section array names
SECTION_GROUPS: dict[str, tuple[str, ...] | None] = {
    "all": None,
    "soma": ("soma",),
    "somatic": ("soma",),
    "dend": ("dend",),
    "basal": ("dend",),
    "apic": ("apic",),
    "apical": ("apic",),
    "axon": ("axon",),
    "axonal": ("axon",),
}


def _pointer(seg: Any, variable: str, where: str) -> Any:
    try:
        return getattr(seg, f"_ref_{variable}")
    except (AttributeError, NameError) as err:
        raise UnknownModelError(
            f"{where} has no range variable {variable!r} (is its mechanism inserted there?)"
        ) from err


class Trace(NamedTuple):
    """One recorded element: ``section_id`` (index in ``all``), ``x``, NEURON vector, pointer."""

    section_id: int
    x: float
    vector: Any
    pointer: Any


def steps_per_sample(report_dt: float, sim_dt: float, name: str = "report") -> int:
    """Simulation steps between two report frames (``report_dt`` must be a multiple of ``dt``).

    Examples
    --------
    >>> steps_per_sample(0.5, 0.1)
    5
    >>> steps_per_sample(0.1, 0.1)
    1
    """
    steps = round(report_dt / sim_dt)
    if steps < 1 or abs(steps * sim_dt - report_dt) > 1e-6 * sim_dt:
        raise ConfigError(
            f"report {name!r}: dt {report_dt} must be a whole multiple of the run dt {sim_dt}",
            field=f"reports.{name}.dt",
        )
    return steps


def n_samples(tstop: float, interval: float) -> int:
    """Samples a recording every ``interval`` ms holds after a run to ``tstop`` (with t = 0).

    Sample times are ``k * interval <= tstop``, compared with a tolerance so that rounding
    in ``t`` never drops or adds a frame.

    Examples
    --------
    >>> n_samples(1000.0, 0.1), n_samples(2000.0, 0.025), n_samples(10.05, 0.1)
    (10001, 80001, 101)
    """
    return math.floor(tstop / interval + 1e-6) + 1


def record_elements(
    h: Any, cell: Any, variable: str, sections: str, steps: int, sim_dt: float
) -> list[Trace]:
    """Start recording ``variable`` every ``steps`` simulation steps; return the traces.

    ``sections == "soma"`` records one element at ``soma(0.5)``; other values record every
    segment of the matching sections, ``section_id`` being the index in ``all``. With
    ``steps == 1`` NEURON stores the value after every step (the sample count is exact);
    coarser intervals use NEURON's interval recording, completed by :func:`complete`.
    """
    key = str(sections or "soma")
    if key not in SECTION_GROUPS:
        raise ConfigError(f"report sections {key!r} unknown; known: {sorted(SECTION_GROUPS)}")

    def trace(sec_id: int, seg: Any, where: str) -> Trace:
        ptr = _pointer(seg, variable, where)
        vec = h.Vector()
        if steps == 1:
            vec.record(ptr)
        else:
            vec.record(ptr, steps * sim_dt)
        return Trace(sec_id, float(seg.x), vec, ptr)

    if key in ("soma", "somatic"):
        return [trace(0, cell.soma(0.5), cell.soma.name())]
    wanted = SECTION_GROUPS[key]
    out = []
    for sec_id, sec in enumerate(cell.sections):
        if wanted is not None and section_type(sec) not in wanted:
            continue
        out.extend(trace(sec_id, seg, sec.name()) for seg in sec)
    return out


def complete(traces: list[Trace], expected: int) -> None:
    """Add the final sample where interval recording stopped one event short of ``tstop``.

    NEURON delivers the recording event of the last frame only if another step follows; when
    the run ends exactly on that frame the current value *is* that sample.
    """
    for tr in traces:
        if int(tr.vector.size()) == expected - 1:
            tr.vector.append(tr.pointer[0])


def as_arrays(traces: list[Trace]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(element_ids, element_pos, data (T+1, n_el))`` of recorded traces (picklable)."""
    ids = np.array([tr.section_id for tr in traces], dtype=np.uint32)
    pos = np.array([tr.x for tr in traces], dtype=float)
    data = np.column_stack([np.asarray(tr.vector) for tr in traces])
    return ids, pos, data


def frame_samples(report: Any, interval: float) -> np.ndarray:
    """Indices of a report's frames in a recording sampled every ``interval`` ms from t = 0.

    Frame ``i`` is the value at ``start_time + (i + 1) dt`` (BMTK's one-step convention);
    every index is rounded, never truncated.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> rep = SimpleNamespace(start_time=5.0, end_time=7.0, dt=0.5)
    >>> frame_samples(rep, 0.1).tolist(), frame_samples(rep, 0.5).tolist()
    ([55, 60, 65, 70], [11, 12, 13, 14])
    """
    n = round((report.end_time - report.start_time) / report.dt)
    times = report.start_time + report.dt * np.arange(1, n + 1)
    return np.rint(times / interval).astype(np.int64)


def write_report(
    path: Path,
    variable: str,
    report: Any,
    per_pop: dict[str, list[tuple[int, Any]]],
    *,
    interval: float | None = None,
) -> Path:
    """Write gathered recordings ``{pop: [(node_id, as_arrays(...)), ...]}`` as one file.

    Recordings hold the samples ``t = 0, interval, 2 interval ...`` (``interval`` defaults to
    the report's ``dt``); the file's frames are picked with :func:`frame_samples`.
    """
    from bmtoolkit.simulator.core.reports import UNITS
    from bmtoolkit.sonata import FrameReportData, write_frame_report

    rows_at = frame_samples(report, report.dt if interval is None else interval)
    frames = []
    for pop, rows in per_pop.items():
        rows = sorted(rows, key=lambda r: r[0])
        have = min(arr[2].shape[0] for _, arr in rows)
        if len(rows_at) and have <= rows_at[-1]:
            raise SimulationError(
                f"report {report.name!r} ({variable}): recorded {have} samples, the window "
                f"[{report.start_time}, {report.end_time}] every {report.dt} ms needs "
                f"{rows_at[-1] + 1} (is end_time beyond tstop?)",
                field=f"reports.{report.name}",
            )
        node_ids = np.array([nid for nid, _ in rows], dtype=np.int64)
        counts = [len(arr[0]) for _, arr in rows]
        pointers = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
        data = np.column_stack([arr[2][rows_at] for _, arr in rows])
        frames.append(
            FrameReportData(
                population=pop,
                node_ids=node_ids,
                index_pointers=pointers,
                element_ids=np.concatenate([arr[0] for _, arr in rows]),
                element_pos=np.concatenate([arr[1] for _, arr in rows]),
                data=data.astype(np.float32),
                tstart=report.start_time,
                tstop=report.end_time,
                dt=report.dt,
                units=UNITS.get(variable, ""),
                variable=variable,
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_frame_report(path, frames)
    return path


@dataclass(frozen=True, kw_only=True)
class BionetReport:
    """What every bionet report record has (its own fields follow, by keyword).

    Attributes
    ----------
    name : str
        The report's name in the config (``reports.<name>``); its output is recorded under it.
    file_name : Path
        Output file, inside the output folder unless given absolute.
    node_set : any
        The cells it covers (a node-set name or a selector; ``"all"``).
    params : mapping
        The report config's other keys, as given.

    Examples
    --------
    >>> from bmtoolkit.simulator.core.reports import MembraneReport
    >>> v = MembraneReport("v", "bio", ("v",), 0.1, 0.0, 10.0, Path("v.h5"))
    >>> BionetReport.from_report(v, params={"syn_type": "Exp2Syn"})
    BionetReport(name='v', file_name=PosixPath('v.h5'), node_set='bio', params={'syn_type': 'Exp2Syn'})
    """

    name: str
    file_name: Path
    node_set: Any = "all"
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_report(cls, report: Any, **values: Any) -> Self:
        """A record of this class holding the fields ``report`` (another record, e.g. the
        :class:`~bmtoolkit.simulator.core.reports.MembraneReport` of the same config) has
        too, and ``values`` for the others."""
        shared = {f.name: getattr(report, f.name) for f in fields(cls) if hasattr(report, f.name)}
        return cls(**{**shared, **values})


@dataclass(frozen=True, kw_only=True)
class ExtracellularReport(BionetReport):
    """Extracellular potential at electrode sites from the cells of ``node_set``."""

    electrode_positions: Path | None


def _load_extracellular(cfg: Any, plan: Any) -> ExtracellularReport:
    from bmtoolkit.simulator.core.reports import report_file

    params = dict(getattr(cfg, "params", None) or {})
    positions = params.get("electrode_positions")
    return ExtracellularReport(
        name=cfg.name,
        node_set=getattr(cfg, "node_set", None) or params.get("cells") or "all",
        electrode_positions=Path(positions) if positions else None,
        file_name=report_file(cfg, plan),
        params=params,
    )


if "extracellular" not in REPORT_MODULES:
    REPORT_MODULES.register("extracellular", _load_extracellular, aliases=("ecp",))
