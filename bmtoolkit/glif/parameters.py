"""GLIF parameters as one typed record, and its Allen ``neuron_config`` and NEST forms.

:class:`GlifParameters` holds a fitted (or loaded) model in SI units with an absolute resting
potential. :meth:`GlifParameters.to_neuron_config` writes the Allen Cell Types
``neuron_config`` dictionary (the keys of the files in
``bmtk_point_components/glif_levels_*``: ``El_reference``, ``R_input``, ``th_inf``,
``*_method`` ...; ``El`` = 0 and every ``coeffs`` entry 1, so the values are the fitted ones).
:meth:`GlifParameters.to_nest` goes through the translation the NEST backends use
(:func:`bmtoolkit.models.allen_glif.allen_to_nest_glif`), so a fitted cell runs
on pointnet exactly as a downloaded one does.

Examples
--------
>>> p = GlifParameters(level=1, El=-0.07, R=2e8, C=1e-10, th_inf=0.02, spike_cut_length=20,
...                    dt=5e-5)
>>> cfg = p.to_neuron_config()
>>> cfg["El_reference"], cfg["th_inf"], cfg["threshold_dynamics_method"]["name"]
(-0.07, 0.02, 'inf')
>>> GlifParameters.from_neuron_config(cfg) == p
True
>>> p.to_nest()["V_th"]
-50.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.models.allen_glif import allen_glif_level, allen_to_nest_glif, with_asc_state

#: the after-spike current time constants (s) the Allen fits keep fixed
DEFAULT_ASC_TAUS: tuple[float, float] = (1.0 / 30.0, 1.0 / 300.0)
#: model names of the five levels (Teeter et al. 2018)
LEVEL_NAMES: Mapping[int, str] = {1: "lif", 2: "lif_r", 3: "lif_asc", 4: "lif_r_asc",
                                  5: "lif_r_asc_a"}  # fmt: skip


def level_has(level: int) -> dict[str, bool]:
    """Which mechanisms a GLIF level has (``reset_rules``, ``asc``, ``voltage_threshold``).

    Examples
    --------
    >>> level_has(4)
    {'reset_rules': True, 'asc': True, 'voltage_threshold': False}
    """
    if level not in LEVEL_NAMES:
        raise ConfigError(f"GLIF level must be 1-5, got {level!r}", field="level")
    return {"reset_rules": level in (2, 4, 5), "asc": level in (3, 4, 5),
            "voltage_threshold": level == 5}  # fmt: skip


@dataclass(frozen=True)
class GlifParameters:
    """A GLIF model in SI units (V, ohm, F, s, A) with an absolute resting potential ``El``.

    Parameters
    ----------
    level : int
        1 LIF, 2 LIF-R (reset rules, spike-induced threshold), 3 LIF-ASC, 4 LIF-R-ASC,
        5 LIF-R-ASC-A (voltage-dependent threshold).
    El, R, C : float
        Resting potential (V), input resistance (ohm), capacitance (F).
    th_inf : float
        Threshold relative to ``El`` (V).
    spike_cut_length : int
        Samples of ``dt`` held after each spike.
    dt : float
        Sample interval the model was fitted at (s).
    reset_a, reset_b : float
        Voltage reset ``V+ - El = reset_a * (V- - El) + reset_b`` (levels 2, 4, 5).
    a_spike, b_spike : float
        Spike-induced threshold jump (V) and its decay rate (1/s) (levels 2, 4, 5).
    a_voltage, b_voltage : float
        Voltage-dependent threshold coupling and decay rate (1/s) (level 5).
    asc_tau, asc_amp, asc_r : tuple of float
        After-spike current time constants (s), amplitudes (A) and reset factors (3, 4, 5).
    """

    level: int
    El: float
    R: float
    C: float
    th_inf: float
    spike_cut_length: int
    dt: float
    reset_a: float = 0.0
    reset_b: float = 0.0
    a_spike: float = 0.0
    b_spike: float = 0.0
    a_voltage: float = 0.0
    b_voltage: float = 0.0
    asc_tau: tuple[float, ...] = DEFAULT_ASC_TAUS
    asc_amp: tuple[float, ...] = (0.0, 0.0)
    asc_r: tuple[float, ...] = (1.0, 1.0)

    def __post_init__(self) -> None:
        level_has(self.level)
        if not (self.R > 0 and self.C > 0 and self.dt > 0):
            raise ConfigError(f"R, C and dt must be > 0, got R={self.R}, C={self.C}, "
                              f"dt={self.dt}")  # fmt: skip
        for name in ("asc_tau", "asc_amp", "asc_r"):
            object.__setattr__(self, name, tuple(float(x) for x in getattr(self, name)))
        if not len(self.asc_tau) == len(self.asc_amp) == len(self.asc_r):
            raise ConfigError("asc_tau, asc_amp and asc_r must have the same length")

    @property
    def tau(self) -> float:
        """Membrane time constant R*C (s)."""
        return self.R * self.C

    def with_level(self, level: int) -> GlifParameters:
        """The same values under another level (mechanisms it lacks are ignored)."""
        return replace(self, level=level)

    def to_neuron_config(self) -> dict[str, Any]:
        """The Allen ``neuron_config`` dictionary of this model (see the module docstring)."""
        has = level_has(self.level)
        n = len(self.asc_tau)
        if has["voltage_threshold"]:
            th_dyn = {"name": "three_components_exact",
                      "params": {"a_spike": self.a_spike, "b_spike": self.b_spike,
                                 "a_voltage": self.a_voltage, "b_voltage": self.b_voltage}}  # fmt: skip
        elif has["reset_rules"]:
            th_dyn = {"name": "spike_component",
                      "params": {"a_spike": self.a_spike, "b_spike": self.b_spike,
                                 "a_voltage": 0, "b_voltage": 0}}  # fmt: skip
        else:
            th_dyn = {"name": "inf", "params": {}}
        if has["reset_rules"]:
            th_reset = {"name": "three_components",
                        "params": {"a_spike": self.a_spike, "b_spike": self.b_spike}}  # fmt: skip
            v_reset = {"name": "v_before", "params": {"a": self.reset_a, "b": self.reset_b}}
        else:
            th_reset = {"name": "inf", "params": {}}
            v_reset = {"name": "zero", "params": {}}
        if has["asc"]:
            asc_dyn = {"name": "exp", "params": {}}
            asc_reset = {"name": "sum", "params": {"r": list(self.asc_r)}}
        else:
            asc_dyn = {"name": "none", "params": {}}
            asc_reset = {"name": "none", "params": {}}
        return {
            "El_reference": self.El,
            "C": self.C,
            "asc_amp_array": list(self.asc_amp),
            "init_threshold": self.th_inf,
            "threshold_reset_method": th_reset,
            "th_inf": self.th_inf,
            "spike_cut_length": int(self.spike_cut_length),
            "init_AScurrents": [0.0] * n,
            "init_voltage": 0.0,
            "threshold_dynamics_method": th_dyn,
            "voltage_reset_method": v_reset,
            "extrapolation_method_name": "endpoints",
            "dt": self.dt,
            "voltage_dynamics_method": {"name": "linear_forward_euler", "params": {}},
            "El": 0.0,
            "asc_tau_array": list(self.asc_tau),
            "R_input": self.R,
            "AScurrent_dynamics_method": asc_dyn,
            "AScurrent_reset_method": asc_reset,
            "dt_multiplier": 10,
            "th_adapt": None,
            "coeffs": {
                "a": 1,
                "C": 1,
                "b": 1,
                "G": 1,
                "th_inf": 1.0,
                "asc_amp_array": [1.0] * n,
            },  # fmt: skip
            "type": "GLIF",
        }

    @classmethod
    def from_neuron_config(cls, cfg: Mapping[str, Any], *, level: int | None = None,
                           source: str | None = None) -> GlifParameters:  # fmt: skip
        """Read an Allen ``neuron_config`` (``coeffs`` applied, ``El`` folded into ``El``).

        Parameters
        ----------
        cfg : Mapping
            The dictionary (as in ``glif_levels_*/*.json``).
        level : int, optional
            Force a level (default: from the method names).
        source : str, optional
            File name for error messages.
        """
        try:
            lvl = allen_glif_level(cfg) if level is None else int(level)
            co = cfg.get("coeffs") or {}
            th = (cfg.get("threshold_dynamics_method") or {}).get("params") or {}
            vr = (cfg.get("voltage_reset_method") or {}).get("params") or {}
            has = level_has(lvl)
            taus = tuple(cfg.get("asc_tau_array") or ())
            amps = np.asarray(cfg.get("asc_amp_array") or [], float)
            amps = amps * np.broadcast_to(np.asarray(co.get("asc_amp_array", 1.0) or 1.0, float),
                                          amps.shape)  # fmt: skip
            r = ((cfg.get("AScurrent_reset_method") or {}).get("params") or {}).get("r")
            return cls(
                level=lvl,
                El=float(cfg["El_reference"]) + float(cfg.get("El", 0.0) or 0.0),
                R=float(cfg["R_input"]) / float(co.get("G", 1.0) or 1.0),
                C=float(cfg["C"]) * float(co.get("C", 1.0) or 1.0),
                th_inf=float(cfg["th_inf"]) * float(co.get("th_inf", 1.0) or 1.0),
                spike_cut_length=int(cfg["spike_cut_length"]),
                dt=float(cfg["dt"]),
                reset_a=float(vr.get("a", 0.0)) if has["reset_rules"] else 0.0,
                reset_b=float(vr.get("b", 0.0)) if has["reset_rules"] else 0.0,
                a_spike=float(th.get("a_spike", 0.0) or 0.0) if has["reset_rules"] else 0.0,
                b_spike=float(th.get("b_spike", 0.0) or 0.0) if has["reset_rules"] else 0.0,
                a_voltage=float(th.get("a_voltage", 0.0) or 0.0) * float(co.get("a", 1.0) or 1.0),
                b_voltage=float(th.get("b_voltage", 0.0) or 0.0) * float(co.get("b", 1.0) or 1.0),
                asc_tau=taus or DEFAULT_ASC_TAUS,
                asc_amp=tuple(amps) if taus else (0.0, 0.0),
                asc_r=tuple(r) if r is not None else (1.0,) * len(taus or DEFAULT_ASC_TAUS),
            )
        except (KeyError, TypeError, ValueError) as err:
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(f"not a GLIF neuron_config: missing or bad value {err}",
                              path=source) from err  # fmt: skip

    def to_nest(self, *, model: str = "glif_psc", **options: Any) -> dict[str, Any]:
        """NEST ``glif_psc``/``glif_cond`` parameters (mV, pA, pF, nS, ms), as pointnet gives
        them to NEST (the after-spike current state sized by :func:`with_asc_state`)."""
        return with_asc_state(model, allen_to_nest_glif(self.to_neuron_config(), level=self.level,
                                                        model=model, **options))[1]  # fmt: skip
