"""BMTK's ``clamp_report``: the current each clamp injects, every step.

``variable_name`` picks the clamps: ``ic`` every ``IClamp`` of the run's current-clamp
inputs (step clamps and clamps played from CSV or NWB files, in the order they were
attached), ``f_ic`` only those played from files, ``se`` the ``SEClamp`` voltage clamps.
The file has BMTK's layout: one ``data`` dataset of shape ``(n_steps, n_clamps)`` (nA), row
``i`` the current after step ``i + 1``. (BMTK 1.2.0 fills no column for ``ic`` and
``f_ic``: its clamp modules do not hand their clamps to the report.)

Examples
--------
>>> from bmtoolkit.simulator.core.registries import REPORT_MODULES
>>> "clamp_report" in REPORT_MODULES
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.bionet.recording import BionetReport
from bmtoolkit.simulator.core.registries import REPORT_MODULES
from bmtoolkit.simulator.core.reports import report_file

__all__ = ["CLAMP_KINDS", "ClampReport", "ClampRecorder"]

#: ``variable_name`` of a clamp report -> what it records
CLAMP_KINDS = {
    "ic": "every IClamp of the current clamps",
    "f_ic": "IClamps played from CSV or NWB files",
    "se": "SEClamp voltage clamps",
}


@dataclass(frozen=True, kw_only=True)
class ClampReport(BionetReport):
    """The current of the clamps of one kind (``ic``, ``f_ic``, ``se``); its ``node_set``
    stays ``"all"``: every clamp, whatever cell it is on (as BMTK's)."""

    variable: str


def _load_clamp_report(cfg: Any, plan: Any) -> ClampReport:
    variable = str(getattr(cfg, "variable_name", None) or "ic")
    if variable not in CLAMP_KINDS:
        raise ConfigError(
            f"clamp report variable_name {variable!r} unknown; known: "
            + "; ".join(f"{k} ({v})" for k, v in CLAMP_KINDS.items()),
            path=getattr(plan, "config_path", None),
            field=f"reports.{cfg.name}.variable_name",
        )
    params = dict(getattr(cfg, "params", None) or {})
    return ClampReport(
        name=cfg.name, variable=variable, file_name=report_file(cfg, plan), params=params
    )


if "clamp_report" not in REPORT_MODULES:
    REPORT_MODULES.register("clamp_report", _load_clamp_report)


class ClampRecorder:
    """Vectors recording the current ``i`` of each clamp from ``t = 0``."""

    def __init__(self, h: Any, report: ClampReport, clamps: list[Any]) -> None:
        self.report = report
        self.vectors = [h.Vector().record(c._ref_i) for c in clamps]

    def data(self, n_steps: int) -> np.ndarray:
        """``(n_steps, n_clamps)``: row ``i`` the current after step ``i + 1``."""
        if not self.vectors:
            return np.zeros((n_steps, 0))
        return np.column_stack([np.asarray(v)[1 : n_steps + 1] for v in self.vectors])
