"""BMTK's ``netcon_report``: a variable of every synapse onto the chosen cells, over time.

For each cell of the report's ``cells``/``node_set`` and each synapse made onto it (in the
order the synapses were connected, as BMTK lists a cell's NetCons) whose point process name
starts with ``syn_type`` (default ``Exp2Syn``), the report records ``variable_name``
(``tau1``, ``g``, ``i`` ... any attribute of the point process). With ``syn_type: "netcon"``
it records the NetCon's ``weight`` instead. The file is a SONATA frame report, one element
per synapse: ``element_ids`` the section id (index in ``all``) and ``element_pos`` the
synapse's ``x``; frames follow the membrane reports' one-step convention.

Examples
--------
>>> from bmtoolkit.simulator.core.registries import REPORT_MODULES
>>> "netcon_report" in REPORT_MODULES
True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmtoolkit.exceptions import ConfigError, UnknownModelError
from bmtoolkit.simulator.bionet.recording import BionetReport, Trace
from bmtoolkit.simulator.core.registries import REPORT_MODULES
from bmtoolkit.simulator.core.reports import variable_file

__all__ = ["NetconReport", "record_synapses"]


@dataclass(frozen=True, kw_only=True)
class NetconReport(BionetReport):
    """``variables`` of the synapses of type ``syn_type`` onto the cells of ``node_set``,
    sampled as the membrane report of the same config would be."""

    variables: tuple[str, ...]
    dt: float
    start_time: float
    end_time: float
    syn_type: str | None = "Exp2Syn"

    def file_for(self, variable: str) -> Path:
        """Output file of one variable (as a membrane report's)."""
        return variable_file(self.file_name, self.variables, variable)


def _load_netcon_report(cfg: Any, plan: Any) -> NetconReport:
    from bmtoolkit.simulator.core.reports import load_membrane_report

    params = dict(getattr(cfg, "params", None) or {})
    syn_type = params.get("syn_type", getattr(cfg, "syn_type", "Exp2Syn"))
    return NetconReport.from_report(
        load_membrane_report(cfg, plan),
        syn_type=None if syn_type is None else str(syn_type),
        params=params,
    )


if "netcon_report" not in REPORT_MODULES:
    REPORT_MODULES.register("netcon_report", _load_netcon_report)


def record_synapses(
    h: Any,
    synapses: list[tuple[Any, Any, Any, float]],
    variable: str,
    syn_type: str | None,
    steps: int,
    sim_dt: float,
    where: str = "",
    sections: list[Any] | None = None,
) -> list[Trace]:
    """Start recording ``variable`` of the matching synapses; one :class:`Trace` each.

    ``synapses`` holds ``(point process, NetCon, section, x)`` in connection order;
    ``sections`` is the cell's ``all`` list (a trace's element id is the section's index).
    """
    index = {sec: k for k, sec in enumerate(sections or [])}
    out = []
    for syn, nc, sec, x in synapses:
        if syn_type == "netcon":
            if variable != "weight":
                raise ConfigError(
                    f"report {where!r}: syn_type 'netcon' records the NetCon 'weight', "
                    f"not {variable!r}",
                    field=f"reports.{where}.variable_name",
                )
            ptr = nc._ref_weight[0]
        elif syn_type is None or syn.hname().startswith(syn_type):
            try:
                ptr = getattr(syn, f"_ref_{variable}")
            except (AttributeError, NameError) as err:
                raise UnknownModelError(
                    f"report {where!r}: synapse {syn.hname()} has no variable {variable!r}"
                ) from err
        else:
            continue
        vec = h.Vector()
        if steps == 1:
            vec.record(ptr)
        else:
            vec.record(ptr, steps * sim_dt)
        out.append(Trace(int(index.get(sec, -1)), float(x), vec, ptr))
    return out
