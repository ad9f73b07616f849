"""Report types the NEURON backend adds to the core registry.

``extracellular`` (BMTK's ECP report): electrode positions file and channels; loaded here
so configs that request it parse. The line-source computation lives in :mod:`.ecp`.

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

from bmtoolkit.simulator.core.registries import REPORT_MODULES

__all__ = ["ExtracellularReport"]


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
