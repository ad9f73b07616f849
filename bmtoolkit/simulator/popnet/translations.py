"""Parameter names and units of popnet: every conversion from SONATA files happens here.

popnet works in ms, mV and Hz. Population parameters may be written with several names
(DiPDE/BMTK spell the threshold ``v_max``, NEST ``V_th``) and in one of two unit systems:

- ``"ms_mV"`` (popnet's own; default),
- ``"SI"`` (seconds and volts, as BMTK's DiPDE-based popnet files use).

A population's system is its ``units`` parameter when present; otherwise ``SI`` is assumed
when ``tau_m < 1`` (no membrane time constant is below 1 ms, none is above 1 s). Connection
weights (jump sizes) and delays into a population use the target population's system.

Examples
--------
>>> from bmtoolkit.simulator.popnet.translations import population_params
>>> p = population_params({"tau_m": 0.02, "v_min": -0.01, "v_max": 0.02, "dv": 0.0001})
>>> p["tau_m"], p["v_th"], p["dv"]
(20.0, 20.0, 0.1)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.catalogue import is_empty

#: canonical parameter -> accepted spellings (first match wins)
PARAM_NAMES: Mapping[str, tuple[str, ...]] = {
    "tau_m": ("tau_m",),
    "v_th": ("v_th", "v_max", "threshold", "V_th", "v_threshold"),
    "v_reset": ("v_reset", "V_reset"),
    "v_min": ("v_min", "V_min"),
    "e_l": ("e_l", "E_L", "v_rest"),
    "tau_ref": ("tau_ref", "t_ref", "refractory_period"),
    "dv": ("dv",),
    "n_neurons": ("n_neurons", "N"),
    "rate_scale": ("rate_scale", "ssn_scale", "k"),
    "rate_exponent": ("rate_exponent", "ssn_exponent", "exponent"),
    "tau_rate": ("tau_rate", "ssn_tau"),
}

#: kind of quantity of each parameter, for unit conversion
PARAM_KIND: Mapping[str, str] = {
    "tau_m": "time",
    "v_th": "voltage",
    "v_reset": "voltage",
    "v_min": "voltage",
    "e_l": "voltage",
    "tau_ref": "time",
    "dv": "voltage",
    "tau_rate": "time",
    "n_neurons": "count",
    "rate_scale": "none",
    "rate_exponent": "none",
}

#: multiply a value in the given system by this to get popnet units (ms, mV)
UNIT_FACTORS: Mapping[str, Mapping[str, float]] = {
    "ms_mV": {"time": 1.0, "voltage": 1.0, "count": 1.0, "none": 1.0},
    "SI": {"time": 1000.0, "voltage": 1000.0, "count": 1.0, "none": 1.0},
}
_UNIT_ALIASES = {"si": "SI", "s_v": "SI", "ms_mv": "ms_mV", "ms": "ms_mV", "mv": "ms_mV"}


def unit_system(params: Mapping[str, Any]) -> str:
    """``"SI"`` or ``"ms_mV"`` for a population's parameters (see the module docstring)."""
    if "units" in params and params["units"] is not None:
        key = _UNIT_ALIASES.get(str(params["units"]).strip().lower())
        if key is None:
            raise ConfigError(
                f"unknown units {params['units']!r}; expected 'ms_mV' or 'SI'", field="units"
            )
        return key
    tau = _lookup(params, "tau_m")
    try:
        return "SI" if tau is not None and float(tau) < 1.0 else "ms_mV"
    except (TypeError, ValueError):
        raise ConfigError(f"tau_m must be a number, got {tau!r}", field="tau_m") from None


def _lookup(params: Mapping[str, Any], name: str) -> Any:
    for key in PARAM_NAMES[name]:
        value = params.get(key)
        if not is_empty(value):
            return value
    return None


def population_params(params: Mapping[str, Any], *, where: str | None = None) -> dict[str, Any]:
    """Canonical popnet parameters (ms, mV) found in ``params``; absent ones are left out.

    Raises
    ------
    ConfigError
        A value is not a number.
    """
    system = unit_system(params)
    out: dict[str, Any] = {}
    for name, kind in PARAM_KIND.items():
        value = _lookup(params, name)
        if value is None:
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{name} must be a number, got {value!r}",
                field=f"{where}.{name}" if where else name,
            ) from None
        number *= UNIT_FACTORS[system][kind]
        out[name] = int(round(number)) if kind == "count" else round(number, 12)
    return out


#: BMTK's DiPDE configs give ``run.dt`` in seconds (``tstop`` in ms); below this many ms a
#: ``dt`` of a DiPDE config is taken to be in seconds
DIPDE_DT_SECONDS_BELOW = 0.01


def run_dt(dt: float, target_simulator: str | None) -> float:
    """The solver step (ms) for a config's ``run.dt``.

    BMTK's DiPDE-based popnet reads ``run.dt`` in seconds while ``run.tstop`` is in ms; for
    configs whose ``target_simulator`` is ``DiPDE`` a ``dt`` below 0.01 is converted from
    seconds (no density step is that small in ms).

    Examples
    --------
    >>> run_dt(0.0002, "DiPDE"), run_dt(0.1, "DiPDE"), run_dt(0.005, None)
    (0.2, 0.1, 0.005)
    """
    if str(target_simulator or "").upper() == "DIPDE" and dt < DIPDE_DT_SECONDS_BELOW:
        return dt * UNIT_FACTORS["SI"]["time"]
    return dt


def connection_units(system: str) -> tuple[float, float]:
    """Factors turning (weight, delay) of edges into a population of ``system`` into (mV, ms).

    Examples
    --------
    >>> connection_units("SI")
    (1000.0, 1000.0)
    """
    f = UNIT_FACTORS[system]
    return f["voltage"], f["time"]
