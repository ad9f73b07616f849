"""Recording range variables and the report types the NEURON backend adds.

Membrane reports record any range variable (``v``, ``cai``, ``ina``, ``m_NaTs`` ...) at the
soma centre (``sections: "soma"``) or at every segment of the chosen sections (``"all"``,
``"dend"``, ``"apic"``, ``"axon"``, ``"basal"``, ``"apical"``). Frames follow BMTK's
one-step convention: row ``i`` holds the value after step ``i + 1`` (``t0 + (i+1) dt``).

``extracellular`` (BMTK's ECP report) is registered here; the line-source computation
lives in :mod:`.ecp`.

Examples
--------
>>> from bmtoolkit.simulator.core.registries import REPORT_MODULES
>>> import bmtoolkit.simulator.bionet.recording  # noqa: F401
>>> "extracellular" in REPORT_MODULES
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, UnknownModelError
from bmtoolkit.simulator.bionet.morphology import section_type
from bmtoolkit.simulator.core.registries import REPORT_MODULES

__all__ = ["SECTION_GROUPS", "ExtracellularReport", "as_arrays", "record_elements", "write_report"]

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


def record_elements(
    h: Any, cell: Any, variable: str, sections: str, dt: float
) -> list[tuple[int, float, Any]]:
    """Start recording ``variable``; return ``[(section_id, x, Vector), ...]``.

    ``sections == "soma"`` records one element at ``soma(0.5)``; other values record every
    segment of the matching sections, ``section_id`` being the index in ``all``.
    """
    key = str(sections or "soma")
    if key not in SECTION_GROUPS:
        raise ConfigError(f"report sections {key!r} unknown; known: {sorted(SECTION_GROUPS)}")
    if key in ("soma", "somatic"):
        vec = h.Vector()
        vec.record(_pointer(cell.soma(0.5), variable, cell.soma.name()), dt)
        return [(0, 0.5, vec)]
    wanted = SECTION_GROUPS[key]
    out = []
    for sec_id, sec in enumerate(cell.sections):
        if wanted is not None and section_type(sec) not in wanted:
            continue
        for seg in sec:
            vec = h.Vector()
            vec.record(_pointer(seg, variable, sec.name()), dt)
            out.append((sec_id, float(seg.x), vec))
    return out


def as_arrays(elements: list[tuple[int, float, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(element_ids, element_pos, data (T+1, n_el))`` of recorded elements (picklable)."""
    ids = np.array([e[0] for e in elements], dtype=np.uint32)
    pos = np.array([e[1] for e in elements], dtype=float)
    data = np.column_stack([np.asarray(e[2]) for e in elements])
    return ids, pos, data


def write_report(
    path: Path, variable: str, report: Any, per_pop: dict[str, list[tuple[int, Any]]]
) -> Path:
    """Write gathered recordings ``{pop: [(node_id, as_arrays(...)), ...]}`` as one file."""
    from bmtoolkit.simulator.core.reports import UNITS
    from bmtoolkit.sonata import FrameReportData, write_frame_report

    n = int(round((report.end_time - report.start_time) / report.dt))
    first = int(round(report.start_time / report.dt)) + 1  # vectors hold t = 0, dt, 2 dt ...
    frames = []
    for pop, rows in per_pop.items():
        rows = sorted(rows, key=lambda r: r[0])
        node_ids = np.array([nid for nid, _ in rows], dtype=np.int64)
        counts = [len(arr[0]) for _, arr in rows]
        pointers = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
        # one-step convention: row i is the value after step i + 1
        data = np.column_stack([arr[2][first : first + n] for _, arr in rows])
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


@dataclass(frozen=True)
class ExtracellularReport:
    """Extracellular potential at electrode sites from the cells of ``node_set``."""

    name: str
    node_set: Any
    electrode_positions: Path | None
    file_name: Path
    params: Mapping[str, Any] = field(default_factory=dict)


def _load_extracellular(cfg: Any, plan: Any) -> ExtracellularReport:
    params = dict(getattr(cfg, "params", None) or {})
    node_set = getattr(cfg, "node_set", None) or params.get("cells") or "all"
    positions = params.get("electrode_positions")
    name = getattr(cfg, "name", "ecp")
    file_name = getattr(cfg, "file_name", None) or Path(f"{name}.h5")
    return ExtracellularReport(
        name=name,
        node_set=node_set,
        electrode_positions=Path(positions) if positions else None,
        file_name=plan.output_path(file_name),
        params=params,
    )


if "extracellular" not in REPORT_MODULES:
    REPORT_MODULES.register("extracellular", _load_extracellular, aliases=("ecp",))
