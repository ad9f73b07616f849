"""Inputs the NEURON backend adds (voltage clamps, ``SEClamp``) and where current clamps go.

A current clamp goes, as in BMTK, to ``section_name[section_index](section_dist)`` of each
cell (default ``soma[0](0.5)``; ``segment_dist`` is accepted for ``section_dist``). With a
``[min, max]`` ``section_index``, one segment of the ``section_name`` lists (``soma``,
``basal``, ``apical`` ...) within that path distance range from the soma is drawn per cell,
weighted by length (BMTK draws it from an unseeded generator, different on every run; here
from ``RandomState(gid)``, the same on every run). Steps get one ``IClamp`` each; a waveform
read from a file is played into one ``IClamp`` sample by sample, as BMTK plays it
(:func:`attach_current_clamp`).

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

__all__ = ["VoltageClampInput", "attach_current_clamp", "attach_voltage_clamp", "clamp_site"]


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


def clamp_site(cell: Any, params: Any, seed: int, where: str = "") -> Any:
    """The segment of ``cell`` a current clamp with ``params`` goes to (see the module notes)."""
    name = params.get("section_name", "soma")
    index = params.get("section_index", 0)
    x = float(params.get("section_dist", params.get("segment_dist", 0.5)))
    if isinstance(index, list | tuple):
        from bmtoolkit.simulator.bionet.placement import parse_target_sections, segment_props

        names = parse_target_sections(name if isinstance(name, list | tuple) else [name], where)
        props = segment_props(cell.sections, cell.soma)
        ix, prob = props.find(names or (), (float(index[0]), float(index[1])))
        if len(ix) == 0:
            raise ConfigError(
                f"no segment of node {cell.spec.node_id} in {list(names or ())} within "
                f"{index[0]}-{index[1]} um for the current clamp",
                path=where or None,
                field="section_index",
            )
        k = int(np.random.RandomState(seed).choice(ix, 1, p=prob)[0])
        return cell.sections[props.sec_id[k]](props.x[k])
    try:
        section = getattr(cell.hobj, str(name))[int(index)]
    except (AttributeError, IndexError, RuntimeError, TypeError) as err:
        raise ConfigError(
            f"node {cell.spec.node_id} ({cell.spec.population}) has no section "
            f"{name}[{index}] for the current clamp",
            path=where or None,
            field="section_name",
        ) from err
    if not 0.0 <= x <= 1.0:
        raise ConfigError(
            f"section_dist {x} must lie in [0, 1]", path=where or None, field="section_dist"
        )
    return section(x)


def attach_current_clamp(h: Any, seg: Any, clamp: Any) -> list[Any]:
    """``IClamp`` objects (and played vectors) injecting ``clamp`` at ``seg``; keep them."""
    played = getattr(clamp, "played", None)
    if played is None:
        out = []
        for start, stop, amp in clamp.steps():
            ic = h.IClamp(seg)
            ic.delay, ic.dur, ic.amp = start, stop - start, amp
            out.append(ic)
        return out
    if len(played.amps) == 0:
        return []
    ic = h.IClamp(seg)
    ic.delay, ic.dur = played.start, played.stop - played.start
    amps = h.Vector(np.asarray(played.amps, dtype=float))
    if played.start == 0.0:
        amps.play(ic._ref_amp, played.dt)
        return [ic, amps]
    times = h.Vector(played.start + played.dt * np.arange(len(played.amps)))
    amps.play(ic._ref_amp, times)
    return [ic, amps, times]
