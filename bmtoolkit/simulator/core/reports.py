"""Reports of a run: typed report requests and the writers every backend shares.

Each ``reports`` entry is loaded by the function registered in
:data:`~bmtoolkit.simulator.core.registries.REPORT_MODULES` under its ``module`` (or
``type``): membrane/multimeter reports become :class:`MembraneReport`, synaptic-weight
snapshots become :class:`WeightReport`. Backends record what they are asked and hand arrays to
:func:`write_membrane_report` and :func:`write_spike_output`, which go through
:mod:`bmtoolkit.sonata`.

Examples
--------
>>> rep = MembraneReport("v", "all", variables=("V_m",), dt=0.1, start_time=0.0,
...                      end_time=100.0, file_name=Path("v.h5"))
>>> rep.file_for("V_m")
PosixPath('v.h5')
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.registries import REPORT_MODULES, unsupported_module

if TYPE_CHECKING:  # pandas is imported where a DataFrame is needed
    import pandas as pd

    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.sonata.config import ReportConfig

#: units written for well-known recordables (anything else: "")
UNITS: Mapping[str, str] = {
    "V_m": "mV",
    "v": "mV",
    "ASCurrents_sum": "pA",
    "I_syn": "pA",
    "I_syn_ex": "pA",
    "I_syn_in": "pA",
    "g_ex": "nS",
    "g_in": "nS",
    "weight": "",
}


@dataclass(frozen=True)
class MembraneReport:
    """Record ``variables`` of the nodes in ``node_set`` every ``dt`` ms in
    ``[start_time, end_time)``; one file per variable (``file_for``)."""

    name: str
    node_set: Any
    variables: tuple[str, ...]
    dt: float
    start_time: float
    end_time: float
    file_name: Path
    sections: str = "soma"
    params: Mapping[str, Any] = field(default_factory=dict)

    def file_for(self, variable: str) -> Path:
        """Output file of one variable (:func:`variable_file`)."""
        return variable_file(self.file_name, self.variables, variable)


def variable_file(file_name: Path, variables: tuple[str, ...], variable: str) -> Path:
    """Output file of one of a report's ``variables``: ``file_name`` when it records one,
    else ``<stem>_<variable><suffix>``.

    Examples
    --------
    >>> variable_file(Path("v.h5"), ("v",), "v"), variable_file(Path("r.h5"), ("v", "cai"), "cai")
    (PosixPath('v.h5'), PosixPath('r_cai.h5'))
    """
    if len(variables) == 1:
        return file_name
    return file_name.with_name(f"{file_name.stem}_{variable}{file_name.suffix}")


@dataclass(frozen=True)
class WeightReport:
    """Synaptic weights of plastic synapses onto ``node_set``.

    Two forms: snapshots of every synapse's weight every ``dt`` ms (``events`` false, a
    SONATA frame report), or BMTK's ``weight_recorder``: one row per spike a synapse of
    ``synapse_model`` transmits, with the weight after it (``events`` true, a CSV table). For
    the latter, ``nest_model`` is the NEST model that ``synapse_model`` (the edge types'
    ``model_template``) is copied from with the recorder attached, as BMTK does.
    """

    name: str
    node_set: Any
    dt: float
    start_time: float
    end_time: float
    file_name: Path
    synapse_model: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    nest_model: str | None = None
    events: bool = False


def load_report(cfg: ReportConfig, plan: RunPlan) -> MembraneReport | WeightReport:
    """Load one report config with the loader registered for its ``module`` (or ``type``)."""
    module = getattr(cfg, "module", None) or getattr(cfg, "type", None)
    params = getattr(cfg, "params", {}) or {}
    if module is None:
        module = params.get("module", params.get("type", "membrane_report"))
    error = unsupported_module(
        "report",
        module,
        path=getattr(plan, "config_path", None),
        field=f"reports.{cfg.name}.module",
    )
    if error is not None:
        raise error
    return REPORT_MODULES.get(str(module))(cfg, plan)


def _times(cfg: ReportConfig, plan: RunPlan) -> tuple[float, float, float]:
    dt = getattr(cfg, "dt", None)
    start = getattr(cfg, "start_time", None)
    end = getattr(cfg, "end_time", None)
    dt = float(dt) if dt is not None else float(plan.dt)
    start = float(start) if start is not None else float(plan.tstart)
    end = float(end) if end is not None else float(plan.tstop)
    if dt <= 0 or end <= start:
        raise ConfigError(
            f"report needs dt > 0 and end_time > start_time (dt={dt}, {start}..{end})",
            path=plan.config_path,
            field=f"reports.{cfg.name}",
        )
    return dt, start, end


def report_file(cfg: Any, plan: RunPlan) -> Path:
    """Where a report config's file goes: its ``file_name`` (default ``<name>.h5``) in the
    output folder unless absolute."""
    name = getattr(cfg, "file_name", None) or f"{cfg.name}.h5"
    return plan.output_path(name)


def _node_set(cfg: ReportConfig) -> Any:
    ns = getattr(cfg, "cells", None)
    if ns is None:
        ns = getattr(cfg, "node_set", None)
    return ns


@REPORT_MODULES.register(
    "membrane_report", aliases=("multimeter_report", "multimeter", "compartment", "soma_report")
)
def load_membrane_report(cfg: ReportConfig, plan: RunPlan) -> MembraneReport:
    """Membrane report of one or more variables.

    ``variable_name`` is one name, several separated by commas, or a list.
    """
    var = getattr(cfg, "variable_name", None)
    if var is None:
        raise ConfigError(
            "report needs 'variable_name'", path=plan.config_path, field=f"reports.{cfg.name}"
        )
    if isinstance(var, str):  # "V_m" or "V_m, ASCurrents_sum"
        variables = tuple(v for v in re.split(r"[,\s]+", var) if v)
    else:
        variables = tuple(str(v) for v in var)
    dt, start, end = _times(cfg, plan)
    return MembraneReport(
        cfg.name,
        _node_set(cfg),
        variables,
        dt,
        start,
        end,
        report_file(cfg, plan),
        sections=str(getattr(cfg, "sections", None) or "soma"),
        params=dict(getattr(cfg, "params", {}) or {}),
    )


@REPORT_MODULES.register("weight_recorder", aliases=("syn_report", "weight_report"))
def load_weight_report(cfg: ReportConfig, plan: RunPlan) -> WeightReport:
    """Synaptic weights: sampled every ``dt`` when the report gives ``dt``; for BMTK's
    ``weight_recorder`` module without ``dt``, recorded at each transmitted spike as BMTK
    records them (``nest_model``, ``model_template``, ``file_name`` a CSV table).

    Raises
    ------
    ConfigError
        An event-recording report whose ``file_name`` is not a ``.csv``/``.txt`` table.
    """
    params = getattr(cfg, "params", {}) or {}
    dt, start, end = _times(cfg, plan)
    module = getattr(cfg, "module", None) or params.get("module")
    given = getattr(cfg, "given", frozenset({"dt", "file_name"}))
    events = module == "weight_recorder" and "dt" not in given
    path = report_file(cfg, plan)
    if events:
        if "file_name" not in given:
            path = plan.output_path(f"{cfg.name}.csv")
        elif path.suffix.lower() not in (".csv", ".txt"):
            raise ConfigError(
                f"weight_recorder without 'dt' writes one row per transmitted spike as a CSV "
                f"table (BMTK's format); file_name {path.name!r} must end with .csv, or give "
                "'dt' for sampled SONATA snapshots",
                path=plan.config_path,
                field=f"reports.{cfg.name}.file_name",
            )
    return WeightReport(
        cfg.name,
        _node_set(cfg),
        dt,
        start,
        end,
        path,
        synapse_model=params.get("synapse_model", params.get("model_template")),
        params=dict(params),
        nest_model=params.get("nest_model"),
        events=events,
    )


def write_spike_output(
    plan: RunPlan, spikes: Mapping[str, tuple[np.ndarray, np.ndarray]] | pd.DataFrame
) -> Path | None:
    """Write the run's spikes to ``plan.spikes_file`` with ``plan.spikes_sort_order``.

    Parameters
    ----------
    spikes : {population: (node_ids, timestamps)} or DataFrame
        Node ids are SONATA ids within each population; times in ms.

    Examples
    --------
    >>> write_spike_output(plan, {"v1": (node_ids, times)})  # doctest: +SKIP
    PosixPath('output/spikes.h5')
    """
    if plan.spikes_file is None:
        return None
    from bmtoolkit.sonata import write_spikes

    path = plan.output_path(plan.spikes_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_spikes(path, spikes, sort_order=plan.spikes_sort_order)
    return path


def write_membrane_report(
    path: Path,
    variable: str,
    populations: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    tstart: float,
    tstop: float,
    dt: float,
    units: str | None = None,
) -> Path:
    """Write a soma report: ``{population: (node_ids, data (T, n))}`` to one SONATA file.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> path = Path(tempfile.mkdtemp()) / "v.h5"
    >>> write_membrane_report(path, "V_m", {"v1": (np.array([0, 3]), np.zeros((10, 2)))},
    ...                       tstart=0.0, tstop=1.0, dt=0.1).name
    'v.h5'
    """
    from bmtoolkit.sonata import FrameReportData, write_frame_report

    frames = [
        FrameReportData.soma(
            pop,
            np.asarray(node_ids, dtype=np.int64),
            np.asarray(data, dtype=np.float32).reshape(-1, len(node_ids)),
            tstart,
            tstop,
            dt,
            units=units if units is not None else UNITS.get(variable, ""),
            variable=variable,
        )
        for pop, (node_ids, data) in populations.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_frame_report(path, frames)
    return path
