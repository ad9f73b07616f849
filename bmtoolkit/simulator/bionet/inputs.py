"""Inputs the NEURON backend adds: voltage clamps (``SEClamp``).

Current clamps and spike trains are loaded by :mod:`bmtoolkit.simulator.core.inputs`; this
module registers ``module: "SEClamp"`` (``input_type: "voltage_clamp"``) with BMTK's keys::

    {"input_type": "voltage_clamp", "module": "SEClamp", "node_set": "biophys_cells",
     "amps": [-70.0, -40.0], "durations": [100.0, 50.0], "rs": 0.01}

``amps`` (mV) and ``durations`` (ms) give up to three consecutive clamp levels from t = 0;
``rs`` is the series resistance (MOhm).

Examples
--------
>>> from bmtoolkit.simulator.core.registries import INPUT_MODULES
>>> import bmtoolkit.simulator.bionet.inputs  # noqa: F401
>>> "SEClamp" in INPUT_MODULES
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.registries import INPUT_MODULES

__all__ = ["VoltageClampInput", "attach_voltage_clamp"]


@dataclass(frozen=True)
class VoltageClampInput:
    """Clamp the soma of every node of ``node_set`` to ``amps[i]`` for ``durations[i]`` ms."""

    name: str
    node_set: Any
    amps: tuple[float, ...]
    durations: tuple[float, ...]
    rs: float | None = None


def _load_voltage_clamp(cfg: Any, plan: Any) -> VoltageClampInput:
    params = dict(getattr(cfg, "params", None) or {})
    where = {"path": getattr(plan, "config_path", None), "field": f"inputs.{cfg.name}"}
    try:
        amps = np.atleast_1d(np.asarray(params["amps"], dtype=float)).ravel()
        durs = np.atleast_1d(np.asarray(params["durations"], dtype=float)).ravel()
    except KeyError as err:
        raise ConfigError(f"voltage clamp needs {err.args[0]!r} (list of levels)", **where) from err
    except (TypeError, ValueError) as err:
        raise ConfigError("'amps' and 'durations' must be lists of numbers", **where) from err
    if len(amps) != len(durs) or not 1 <= len(amps) <= 3:
        raise ConfigError(
            f"'amps' ({len(amps)}) and 'durations' ({len(durs)}) must have the same length, "
            "1 to 3 levels",
            **where,
        )
    rs = params.get("rs")
    return VoltageClampInput(
        cfg.name,
        getattr(cfg, "node_set", None) or params.get("node_set", "all"),
        tuple(float(a) for a in amps),
        tuple(float(d) for d in durs),
        None if rs is None else float(rs),
    )


def attach_voltage_clamp(h: Any, cell: Any, clamp: VoltageClampInput) -> Any:
    """Create an ``SEClamp`` at the soma centre of ``cell``; return it (keep a reference)."""
    se = h.SEClamp(cell.soma(0.5))
    for i, (amp, dur) in enumerate(zip(clamp.amps, clamp.durations, strict=True), start=1):
        setattr(se, f"amp{i}", amp)
        setattr(se, f"dur{i}", dur)
    if clamp.rs is not None:
        se.rs = clamp.rs
    return se


if "SEClamp" not in INPUT_MODULES:
    INPUT_MODULES.register("SEClamp", _load_voltage_clamp, aliases=("voltage_clamp", "seclamp"))
