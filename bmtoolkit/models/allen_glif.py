"""Allen Cell Types GLIF parameters in NEST units, and the GLIF levels.

- **Allen ``neuron_config`` -> NEST ``glif_psc``/``glif_cond``.** The Allen files use SI units
  (V, A, F, ohm, s) relative to ``El_reference`` and scale some values by ``coeffs``; NEST uses
  mV, pA, pF, nS, ms and absolute potentials. :data:`ALLEN_GLIF_TABLE` lists each NEST
  parameter, the Allen source and the factor; :func:`allen_to_nest_glif` applies it.
- **GLIF levels.** :data:`GLIF_LEVEL_FLAGS` gives the three ``glif_psc`` mechanism flags of
  each level (Teeter et al. 2018); :func:`allen_glif_level` reads the level of an Allen config.
- **NEST 2 GLIF names -> NEST 3.** Old parameter files for ``glif_lif_*`` models use
  ``a_spike``, ``b_spike``, ``a_reset`` ... ; :data:`NEST2_GLIF_NAMES` renames them and
  :data:`NEST2_GLIF_MODELS` turns the old model names into a NEST 3 model and a level.
- :func:`nest_point_params` applies all of this to the ``dynamics_params`` of a NEST point
  model, so every backend that runs NEST point models reads a file the same way.

Examples
--------
>>> cfg = {"El_reference": -0.07, "El": 0.0, "C": 1e-10, "R_input": 1e8, "th_inf": 0.02,
...        "spike_cut_length": 20, "dt": 5e-05, "asc_tau_array": [], "asc_amp_array": [],
...        "init_AScurrents": [], "coeffs": {"C": 1.0, "G": 1.0, "th_inf": 1.0},
...        "threshold_dynamics_method": {"name": "inf", "params": {}},
...        "voltage_reset_method": {"name": "zero", "params": {}},
...        "AScurrent_dynamics_method": {"name": "none", "params": {}}}
>>> p = allen_to_nest_glif(cfg)
>>> p["E_L"], p["V_th"], p["C_m"], p["g"], p["t_ref"]
(-70.0, -50.0, 100.0, 10.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError

__all__ = [
    "ALLEN_GLIF_TABLE",
    "GLIF_LEVEL_FLAGS",
    "IGNORED_PARAM_KEYS",
    "NEST2_GLIF_MODELS",
    "NEST2_GLIF_NAMES",
    "allen_glif_level",
    "allen_to_nest_glif",
    "with_asc_state",
    "is_allen_neuron_config",
    "nest2_glif_params",
    "nest_point_params",
]

V_TO_MV = 1e3
A_TO_PA = 1e12
F_TO_PF = 1e12
S_TO_NS = 1e9
S_TO_MS = 1e3
PER_S_TO_PER_MS = 1e-3

#: NEST parameter <- (Allen field, factor, coefficient key or None); see allen_to_nest_glif
ALLEN_GLIF_TABLE: Mapping[str, tuple[str, float, str | None]] = {
    "C_m": ("C", F_TO_PF, "C"),  # F -> pF, times coeffs.C
    "t_ref": ("spike_cut_length * dt", S_TO_MS, None),  # steps * s -> ms
    "th_spike_add": ("threshold_dynamics_method.params.a_spike", V_TO_MV, None),  # V -> mV
    "th_spike_decay": ("threshold_dynamics_method.params.b_spike", PER_S_TO_PER_MS, None),
    "th_voltage_index": ("threshold_dynamics_method.params.a_voltage", PER_S_TO_PER_MS, "a"),
    "th_voltage_decay": ("threshold_dynamics_method.params.b_voltage", PER_S_TO_PER_MS, "b"),
    "voltage_reset_fraction": ("voltage_reset_method.params.a", 1.0, None),
    "voltage_reset_add": ("voltage_reset_method.params.b", V_TO_MV, None),  # V -> mV
    "asc_init": ("init_AScurrents", A_TO_PA, None),  # A -> pA
    "asc_amps": ("asc_amp_array", A_TO_PA, "asc_amp_array"),  # A -> pA, times coeffs
    "asc_decay": ("1 / asc_tau_array", PER_S_TO_PER_MS, None),  # 1/s -> 1/ms
    "asc_r": ("AScurrent_reset_method.params.r", 1.0, None),
    # derived: E_L = (El + El_reference) V -> mV; V_th = E_L + th_inf * coeffs.th_inf (mV);
    # g = coeffs.G / R_input (ohm) -> nS; V_reset = E_L
}

#: receptor-port settings an Allen config may carry for NEST (ms and mV, passed unchanged):
#: ``tau_syn`` (one per port; glif_psc and glif_cond) and ``E_rev`` (glif_cond)
NEST_PORT_KEYS: tuple[str, ...] = ("tau_syn", "E_rev")

#: parameters named differently by glif_cond (membrane conductance ``g`` is ``g_m`` there)
GLIF_COND_NAMES: Mapping[str, str] = {"g": "g_m"}

#: NEST 2 glif_lif_* parameter names -> NEST 3 glif_psc/glif_cond names
NEST2_GLIF_NAMES: Mapping[str, str] = {
    "a_spike": "th_spike_add",
    "b_spike": "th_spike_decay",
    "a_reset": "voltage_reset_fraction",
    "b_reset": "voltage_reset_add",
    "a_voltage": "th_voltage_index",
    "b_voltage": "th_voltage_decay",
    "k": "asc_decay",
}
#: NEST 2 parameters with no NEST 3 equivalent (dropped)
NEST2_GLIF_DROPPED: tuple[str, ...] = ("V_dynamics_method",)

#: GLIF level -> glif_psc/glif_cond flags (Teeter et al. 2018 nomenclature)
GLIF_LEVEL_FLAGS: Mapping[int, Mapping[str, bool]] = {
    1: {"spike_dependent_threshold": False, "after_spike_currents": False,
        "adapting_threshold": False},
    2: {"spike_dependent_threshold": True, "after_spike_currents": False,
        "adapting_threshold": False},
    3: {"spike_dependent_threshold": False, "after_spike_currents": True,
        "adapting_threshold": False},
    4: {"spike_dependent_threshold": True, "after_spike_currents": True,
        "adapting_threshold": False},
    5: {"spike_dependent_threshold": True, "after_spike_currents": True,
        "adapting_threshold": True},
}  # fmt: skip

#: NEST 2 model names -> (NEST 3 model, GLIF level)
NEST2_GLIF_MODELS: Mapping[str, tuple[str, int]] = {
    "glif_lif_psc": ("glif_psc", 1),
    "glif_lif_r_psc": ("glif_psc", 2),
    "glif_lif_asc_psc": ("glif_psc", 3),
    "glif_lif_r_asc_psc": ("glif_psc", 4),
    "glif_lif_r_asc_a_psc": ("glif_psc", 5),
    "glif_lif_cond": ("glif_cond", 1),
    "glif_lif_r_cond": ("glif_cond", 2),
    "glif_lif_asc_cond": ("glif_cond", 3),
    "glif_lif_r_asc_cond": ("glif_cond", 4),
    "glif_lif_r_asc_a_cond": ("glif_cond", 5),
    "glif_lif": ("glif_psc", 1),
    "glif_lif_r": ("glif_psc", 2),
    "glif_lif_asc": ("glif_psc", 3),
    "glif_lif_r_asc": ("glif_psc", 4),
    "glif_lif_r_asc_a": ("glif_psc", 5),
}


def is_allen_neuron_config(params: Mapping[str, Any]) -> bool:
    """Whether a parameter dict is an Allen Cell Types ``neuron_config`` (SI units).

    Examples
    --------
    >>> is_allen_neuron_config({"El_reference": -0.07, "coeffs": {}}), is_allen_neuron_config({})
    (True, False)
    """
    return "coeffs" in params and "El_reference" in params


def _method(cfg: Mapping[str, Any], key: str) -> tuple[str, Mapping[str, Any]]:
    entry = cfg.get(key) or {}
    if isinstance(entry, str):
        return entry, {}
    return str(entry.get("name", "none")), entry.get("params") or {}


def allen_glif_level(cfg: Mapping[str, Any]) -> int:
    """GLIF level (1-5) of an Allen ``neuron_config`` from its method names.

    Examples
    --------
    >>> allen_glif_level({"threshold_dynamics_method": {"name": "three_components_exact",
    ...                       "params": {"a_voltage": 5.0, "b_voltage": 50.0}},
    ...                   "AScurrent_dynamics_method": {"name": "exp"},
    ...                   "asc_amp_array": [-1e-11]})
    5
    """
    th_name, th_params = _method(cfg, "threshold_dynamics_method")
    asc_name, _ = _method(cfg, "AScurrent_dynamics_method")
    reset_name, _ = _method(cfg, "voltage_reset_method")
    has_asc = asc_name not in ("none", "") and len(cfg.get("asc_amp_array") or []) > 0
    adapting = th_name == "three_components_exact" and (
        float(th_params.get("a_voltage", 0.0) or 0.0) != 0.0
        or float(th_params.get("b_voltage", 0.0) or 0.0) != 0.0
    )
    spike_dep = th_name in ("spike_component", "three_components", "three_components_exact") or (
        reset_name == "v_before"
    )
    if adapting:
        return 5
    if spike_dep:
        return 4 if has_asc else 2
    return 3 if has_asc else 1


def _coeff(coeffs: Mapping[str, Any], key: str | None, n: int | None = None) -> Any:
    if key is None:
        return 1.0
    value = coeffs.get(key, 1.0)
    if n is not None:
        arr = np.broadcast_to(np.asarray(value if value is not None else 1.0, float), (n,))
        return arr
    return float(value if value is not None else 1.0)


def allen_to_nest_glif(
    cfg: Mapping[str, Any],
    *,
    tau_syn: Sequence[float] | None = None,
    level: int | None = None,
    model: str = "glif_psc",
) -> dict[str, Any]:
    """Translate an Allen ``neuron_config`` into ``glif_psc``/``glif_cond`` parameters.

    Parameters
    ----------
    cfg : Mapping
        The Allen ``neuron_config`` (SI units, ``coeffs``, ``*_method`` entries).
    tau_syn : sequence of float, optional
        Synaptic time constants (ms), one per receptor port; kept from ``cfg["tau_syn"]`` if
        given there.
    level : int, optional
        Force a GLIF level (default: from the method names, see :func:`allen_glif_level`).
    model : str
        ``"glif_psc"`` or ``"glif_cond"`` (only used for the error message).

    Returns
    -------
    dict
        NEST 3 parameters in NEST units, including the three model flags.
    """
    try:
        coeffs = cfg.get("coeffs") or {}
        el_ref = float(cfg["El_reference"])
        e_l = (float(cfg.get("El", 0.0) or 0.0) + el_ref) * V_TO_MV
        out: dict[str, Any] = {
            "E_L": e_l,
            "V_m": e_l + float(cfg.get("init_voltage", 0.0) or 0.0) * V_TO_MV,
            "V_th": e_l + float(cfg["th_inf"]) * _coeff(coeffs, "th_inf") * V_TO_MV,
            "C_m": float(cfg["C"]) * _coeff(coeffs, "C") * F_TO_PF,
            "g": _coeff(coeffs, "G") / float(cfg["R_input"]) * S_TO_NS,
            "t_ref": float(cfg["spike_cut_length"]) * float(cfg["dt"]) * S_TO_MS,
            "V_reset": e_l,
        }
        level = allen_glif_level(cfg) if level is None else int(level)
        if level not in GLIF_LEVEL_FLAGS:
            raise ConfigError(f"GLIF level must be 1-5, got {level}")
        flags = GLIF_LEVEL_FLAGS[level]
        _, th_params = _method(cfg, "threshold_dynamics_method")
        _, reset_params = _method(cfg, "voltage_reset_method")
        _, asc_reset = _method(cfg, "AScurrent_reset_method")
        if flags["spike_dependent_threshold"]:
            out["th_spike_add"] = float(th_params["a_spike"]) * V_TO_MV
            out["th_spike_decay"] = float(th_params["b_spike"]) * PER_S_TO_PER_MS
            out["voltage_reset_fraction"] = float(reset_params["a"])
            out["voltage_reset_add"] = float(reset_params["b"]) * V_TO_MV
        if flags["after_spike_currents"]:
            taus = np.asarray(cfg["asc_tau_array"], dtype=float)
            n = len(taus)
            amps = np.asarray(cfg["asc_amp_array"], dtype=float)
            out["asc_init"] = list(
                np.asarray(cfg.get("init_AScurrents") or np.zeros(n), float) * A_TO_PA
            )
            out["asc_decay"] = list(1.0 / taus * PER_S_TO_PER_MS)
            out["asc_amps"] = list(amps * _coeff(coeffs, "asc_amp_array", n) * A_TO_PA)
            r = asc_reset.get("r", np.ones(n))
            out["asc_r"] = list(np.broadcast_to(np.asarray(r, float), (n,)))
        if flags["adapting_threshold"]:
            out["th_voltage_index"] = (
                float(th_params["a_voltage"]) * _coeff(coeffs, "a") * PER_S_TO_PER_MS
            )
            out["th_voltage_decay"] = (
                float(th_params["b_voltage"]) * _coeff(coeffs, "b") * PER_S_TO_PER_MS
            )
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(
            f"Allen neuron_config for {model} is missing or has a bad value: {err}"
        ) from err
    if "tau_syn" in cfg:
        out["tau_syn"] = list(np.atleast_1d(np.asarray(cfg["tau_syn"], float)))
    elif tau_syn is not None:
        out["tau_syn"] = list(map(float, tau_syn))
    for key in NEST_PORT_KEYS:  # receptor ports are NEST settings, already in NEST units
        if key in cfg and key != "tau_syn":
            out[key] = list(np.atleast_1d(np.asarray(cfg[key], float)))
    out.update(flags)
    if model == "glif_cond":
        out = {GLIF_COND_NAMES.get(k, k): v for k, v in out.items()}
    return out


def nest2_glif_params(model: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Turn a NEST 2 ``glif_lif_*`` model and parameters into NEST 3 ones.

    Examples
    --------
    >>> nest2_glif_params("glif_lif_r_psc", {"a_spike": 0.5, "V_dynamics_method": "x"})[1]
    ... # doctest: +NORMALIZE_WHITESPACE
    {'th_spike_add': 0.5, 'spike_dependent_threshold': True, 'after_spike_currents': False,
     'adapting_threshold': False}
    """
    new_model, level = NEST2_GLIF_MODELS[model]
    out = {NEST2_GLIF_NAMES.get(k, k): v for k, v in params.items() if k not in NEST2_GLIF_DROPPED}
    out.update(GLIF_LEVEL_FLAGS[level])
    if new_model == "glif_cond":
        out = {GLIF_COND_NAMES.get(k, k): v for k, v in out.items()}
    return new_model, out


#: keys of a ``dynamics_params`` file that describe it rather than set a model parameter
IGNORED_PARAM_KEYS: tuple[str, ...] = ("model", "model_name", "type", "comment", "_comment")


def nest_point_params(model: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """NEST model name and NEST-ready parameters of a NEST point model's ``dynamics_params``.

    Descriptive keys (:data:`IGNORED_PARAM_KEYS`) are dropped; an Allen ``neuron_config`` is
    translated to ``glif_psc``/``glif_cond`` (:func:`allen_to_nest_glif`); NEST 2
    ``glif_lif_*`` names map to ``glif_psc``/``glif_cond`` with the level's flags; any other
    model keeps its parameters.

    Examples
    --------
    >>> nest_point_params("iaf_psc_alpha", {"V_th": -50.0, "comment": "x"})
    ('iaf_psc_alpha', {'V_th': -50.0})
    >>> nest_point_params("glif_lif_asc_psc", {"k": [0.1]})[0]
    'glif_psc'
    """
    params = {k: v for k, v in params.items() if k not in IGNORED_PARAM_KEYS}
    if is_allen_neuron_config(params):
        level = None
        if model in NEST2_GLIF_MODELS:
            model, level = NEST2_GLIF_MODELS[model]
        tau_syn = params.get("tau_syn")
        return model, allen_to_nest_glif(params, tau_syn=tau_syn, level=level, model=model)
    if model in NEST2_GLIF_MODELS:
        return nest2_glif_params(model, params)
    return model, dict(params)


def with_asc_state(model: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``params`` with the after-spike current state sized like ``asc_init``.

    NEST's ``glif_psc``/``glif_cond`` keep their state vector ``ASCurrents`` at the length of
    the model defaults (two currents) when only ``asc_init``/``asc_amps``/... are set: a
    model with one or three after-spike currents would run with two, silently. Setting
    ``ASCurrents`` to ``asc_init`` with the parameters sizes it right.

    Examples
    --------
    >>> with_asc_state("glif_psc", {"asc_init": [0.0, 0.0, 0.0], "asc_amps": [-1.0, -2.0, -3.0]})
    ('glif_psc', {'asc_init': [0.0, 0.0, 0.0], 'asc_amps': [-1.0, -2.0, -3.0], 'ASCurrents': [0.0, 0.0, 0.0]})
    >>> with_asc_state("iaf_psc_alpha", {"V_th": -50.0})
    ('iaf_psc_alpha', {'V_th': -50.0})
    """
    out = dict(params)
    if model.startswith("glif_") and "asc_init" in out and "ASCurrents" not in out:
        out["ASCurrents"] = list(out["asc_init"])
    return model, out
