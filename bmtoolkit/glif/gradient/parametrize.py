"""Unconstrained parameters of the gradient fit, and their map onto torchnet's GLIF cells.

Each fitted :class:`~bmtoolkit.glif.GlifParameters` field has a transform from an
unconstrained value ``raw`` (which starts at 0, so the fit starts exactly at ``init``):

- ``log``: ``value = init * exp(raw)`` keeps the value positive (R, C, ``th_inf``, decay
  rates, time constants); a step of ``raw`` is a relative change;
- ``linear``: ``value = init + scale * raw`` for signed values (El, the reset rule,
  ``a_spike``, after-spike current amplitudes, ``a_voltage``); ``scale`` makes one unit of
  ``raw`` a meaningful change (1 mV, 0.1, the amplitude itself).

:func:`cell_tensors` writes the values in the units of
:class:`~bmtoolkit.simulator.torchnet.cells.GLIFCells` (NEST units, potentials relative to
El) with the unit factors of :mod:`bmtoolkit.models.allen_glif`, the same factors the
pointnet and torchnet translations apply (the test suite checks the two agree).

Examples
--------
>>> [p.name for p in free_parameters(2)]
['El', 'R', 'C', 'th_inf', 'reset_a', 'reset_b', 'a_spike', 'b_spike']
>>> free_parameters(1, ["R", "a_spike"])
Traceback (most recent call last):
...
bmtoolkit.exceptions.ConfigError: parameters: GLIF1 has no parameter 'a_spike' to fit; it has El, R, C, th_inf
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.gradient._backend import torch_module
from bmtoolkit.glif.parameters import GlifParameters, level_has
from bmtoolkit.models.allen_glif import A_TO_PA, F_TO_PF, PER_S_TO_PER_MS, S_TO_NS, V_TO_MV


@dataclass(frozen=True)
class FreeParameter:
    """One fittable field of :class:`~bmtoolkit.glif.GlifParameters`.

    Parameters
    ----------
    name : str
        The field.
    transform : str
        ``"log"`` or ``"linear"`` (see the module docstring).
    needs : str or None
        The :func:`~bmtoolkit.glif.level_has` mechanism the field belongs to.
    scale : float
        ``linear``: SI value of one unit of ``raw`` (at least; with ``relative`` the
        magnitude of the initial value if larger). ``log``: the smallest initial value
        (a zero or negative start is raised to it).
    relative : bool
        ``linear`` only: scale with the magnitude of the initial value.
    default : bool
        Fitted unless ``parameters`` says otherwise.
    """

    name: str
    transform: str
    needs: str | None
    scale: float
    relative: bool = False
    default: bool = True


_TABLE = (
    FreeParameter("El", "linear", None, 5e-3),
    FreeParameter("R", "log", None, 1e6),
    FreeParameter("C", "log", None, 1e-13),
    FreeParameter("th_inf", "log", None, 5e-4),
    FreeParameter("reset_a", "linear", "reset_rules", 0.1),
    FreeParameter("reset_b", "linear", "reset_rules", 5e-3),
    FreeParameter("a_spike", "linear", "reset_rules", 2e-3),
    FreeParameter("b_spike", "log", "reset_rules", 1.0),
    FreeParameter("asc_amp", "linear", "asc", 1e-11, relative=True),
    FreeParameter("asc_tau", "log", "asc", 1e-4, default=False),
    FreeParameter("a_voltage", "linear", "voltage_threshold", 1.0, relative=True),
    FreeParameter("b_voltage", "log", "voltage_threshold", 1.0),
)
#: fittable fields by name, in a fixed order
FREE_PARAMETERS: Mapping[str, FreeParameter] = MappingProxyType({p.name: p for p in _TABLE})


def free_parameters(level: int, names: Sequence[str] | None = None) -> tuple[FreeParameter, ...]:
    """The fields fitted at ``level``: ``names`` (checked) or the level's defaults."""
    has = level_has(level)
    own = [p for p in _TABLE if p.needs is None or has[p.needs]]
    if names is None:
        return tuple(p for p in own if p.default)
    allowed = {p.name for p in own}
    for name in names:
        if name not in FREE_PARAMETERS:
            raise ConfigError(f"unknown GLIF parameter {name!r}; fittable: "
                              f"{', '.join(FREE_PARAMETERS)}", field="parameters")  # fmt: skip
        if name not in allowed:
            raise ConfigError(f"GLIF{level} has no parameter {name!r} to fit; it has "
                              f"{', '.join(p.name for p in own if p.default)}",
                              field="parameters")  # fmt: skip
    if not names:
        raise ConfigError("no parameters to fit", field="parameters")
    return tuple(p for p in own if p.name in set(names))


class Parametrization:
    """Unconstrained tensors (all zero at the start) around ``init``.

    Parameters
    ----------
    init : GlifParameters
        Starting point.
    free : sequence of FreeParameter
        Fields to fit (:func:`free_parameters`).
    dtype : str
        ``"float64"`` or ``"float32"``.
    """

    def __init__(self, init: GlifParameters, free: Sequence[FreeParameter], *,
                 dtype: str = "float64") -> None:  # fmt: skip
        torch = torch_module()
        self._torch = torch
        self.init = init
        self.free = tuple(free)
        self.dtype = getattr(torch, dtype)
        self.raw: dict[str, Any] = {}
        self._base: dict[str, Any] = {}
        self._scale: dict[str, Any] = {}
        for p in self.free:
            start = np.atleast_1d(np.asarray(getattr(init, p.name), dtype=float))
            if p.transform == "log":
                start = np.maximum(start, p.scale)
                scale = np.ones_like(start)
            else:
                scale = np.maximum(np.abs(start), p.scale) if p.relative else np.full_like(
                    start, p.scale)  # fmt: skip
            self._base[p.name] = torch.as_tensor(start, dtype=self.dtype)
            self._scale[p.name] = torch.as_tensor(scale, dtype=self.dtype)
            self.raw[p.name] = torch.zeros_like(self._base[p.name], requires_grad=True)

    def parameters(self) -> list[Any]:
        """The unconstrained tensors (for an optimizer)."""
        return list(self.raw.values())

    def values(self) -> dict[str, Any]:
        """Current SI value of every free field (1-D tensors; scalars have one element)."""
        out = {}
        for p in self.free:
            raw, base = self.raw[p.name], self._base[p.name]
            out[p.name] = (base * self._torch.exp(raw) if p.transform == "log"
                           else base + self._scale[p.name] * raw)  # fmt: skip
        return out

    def params(self) -> GlifParameters:
        """The current values as :class:`~bmtoolkit.glif.GlifParameters` (fixed fields from
        ``init``)."""
        with self._torch.no_grad():
            vals = {k: v.cpu().numpy() for k, v in self.values().items()}
        return with_values(self.init, vals)


def with_values(params: GlifParameters, values: Mapping[str, np.ndarray]) -> GlifParameters:
    """``params`` with the fields of ``values`` replaced (arrays of one element -> float)."""
    new = {}
    for name, value in values.items():
        arr = np.atleast_1d(np.asarray(value, dtype=float))
        new[name] = tuple(float(x) for x in arr) if name.startswith("asc_") else float(arr[0])
    return replace(params, **new)


#: GlifParameters field -> (GLIFCells name, function of the SI value giving NEST units)
CELL_FIELDS: Mapping[str, tuple[str, object]] = MappingProxyType({
    "R": ("g", lambda r: S_TO_NS / r),
    "C": ("C_m", lambda c: c * F_TO_PF),
    "th_inf": ("th_inf", lambda v: v * V_TO_MV),
    "reset_a": ("voltage_reset_fraction", lambda a: a),
    "reset_b": ("voltage_reset_add", lambda v: v * V_TO_MV),
    "a_spike": ("th_spike_add", lambda v: v * V_TO_MV),
    "b_spike": ("th_spike_decay", lambda b: b * PER_S_TO_PER_MS),
    "asc_amp": ("asc_amps", lambda a: a * A_TO_PA),
    "asc_tau": ("asc_decay", lambda t: PER_S_TO_PER_MS / t),
    "a_voltage": ("th_voltage_index", lambda a: a * PER_S_TO_PER_MS),
    "b_voltage": ("th_voltage_decay", lambda b: b * PER_S_TO_PER_MS),
})  # fmt: skip


def cell_tensors(values: Mapping[str, Any]) -> dict[str, Any]:
    """GLIFCells tensors (one neuron) for the SI ``values`` of :meth:`Parametrization.values`.

    ``El`` has no GLIFCells counterpart (the cells work relative to it) and is left out.
    """
    out = {}
    for name, value in values.items():
        if name == "El":
            continue
        target, fn = CELL_FIELDS[name]
        v = fn(value)  # type: ignore[operator]
        out[target] = v[None, :] if name.startswith("asc_") else v
    return out
