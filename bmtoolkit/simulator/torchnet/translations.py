"""Every parameter translation of torchnet in one place.

torchnet computes in NEST units (mV, pA, nS, pF, ms, 1/ms) with the membrane potential and
thresholds stored relative to the resting potential ``E_L``, as NEST's ``glif_psc`` does.
This module maps the parameter dictionaries that pointnet reads (NEST model dictionaries from
``point_neuron_models_dir`` JSON files, SONATA ``dynamics_params``) onto the canonical fields
of :class:`CellParams`, and synapse dictionaries onto :class:`StpParams`.

Supported NEST models (registered in :data:`NEST_CELL_MODELS`): ``glif_psc`` (GLIF1-5 chosen
by the three mechanism flags), ``iaf_psc_alpha`` and ``iaf_psc_exp`` (GLIF1 with an excitatory
and an inhibitory receptor selected by the sign of the weight). A ``psc_shape`` entry
(``"alpha"`` or ``"exp"``) switches the PSC kernel of ``glif_psc`` cells.

Examples
--------
>>> from bmtoolkit.simulator.torchnet.translations import cell_params_from_nest
>>> p = cell_params_from_nest("iaf_psc_alpha", {"tau_m": 20.0, "C_m": 250.0, "V_th": -55.0,
...                                              "E_L": -70.0, "V_reset": -70.0})
>>> p.glif_level, p.g, p.th_inf, p.receptor_mode
(1, 12.5, 15.0, 'sign')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.models.allen_glif import GLIF_LEVEL_FLAGS
from bmtoolkit.registry import Registry

#: GLIF level -> (spike_dependent_threshold, after_spike_currents, adapting_threshold), from
#: the levels shared with pointnet (:data:`bmtoolkit.models.allen_glif.GLIF_LEVEL_FLAGS`)
GLIF_MECHANISMS: dict[int, tuple[bool, bool, bool]] = {
    level: (
        flags["spike_dependent_threshold"],
        flags["after_spike_currents"],
        flags["adapting_threshold"],
    )
    for level, flags in GLIF_LEVEL_FLAGS.items()
}


@dataclass(frozen=True)
class CellParams:
    """Parameters of one GLIF cell in NEST units, potentials relative to ``E_L``.

    Attributes mirror NEST ``glif_psc`` (``th_inf = V_th - E_L``, ``V_reset`` relative).
    ``receptor_mode`` is ``"port"`` (edges name a receptor index) or ``"sign"`` (receptor 0
    for positive weights, 1 for negative ones, as in ``iaf_psc_*``).
    """

    E_L: float = -78.85
    th_inf: float = 27.17
    V_reset: float = 0.0
    g: float = 9.43
    C_m: float = 58.72
    t_ref: float = 3.75
    I_e: float = 0.0
    V_m: float = 0.0
    th_spike_add: float = 0.0
    th_spike_decay: float = 1.0
    voltage_reset_fraction: float = 0.0
    voltage_reset_add: float = 0.0
    th_voltage_index: float = 0.0
    th_voltage_decay: float = 1.0
    asc_init: tuple[float, ...] = ()
    asc_decay: tuple[float, ...] = ()
    asc_amps: tuple[float, ...] = ()
    asc_r: tuple[float, ...] = ()
    tau_syn: tuple[float, ...] = (2.0,)
    psc_shape: str = "alpha"
    receptor_mode: str = "port"
    glif_level: int = 1
    model: str = "glif_psc"
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tau_m(self) -> float:
        """Membrane time constant ``C_m / g`` (ms)."""
        return self.C_m / self.g


#: NEST's initial membrane potential (absolute mV) when ``V_m`` is not given: NEST keeps the
#: absolute value when ``E_L`` changes, so it does not follow ``E_L``
NEST_INITIAL_V_M: dict[str, float] = {
    "glif_psc": -78.85,
    "iaf_psc_alpha": -70.0,
    "iaf_psc_exp": -70.0,
}

#: NEST model name -> function(params dict) -> CellParams
NEST_CELL_MODELS: Registry[Callable[[Mapping[str, Any]], CellParams]] = Registry(
    "torchnet cell model"
)


def _num(params: Mapping[str, Any], key: str, default: float) -> float:
    value = params.get(key, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a number, got {value!r}", field=key) from None


def _vec(params: Mapping[str, Any], key: str, default: tuple[float, ...]) -> tuple[float, ...]:
    value = params.get(key, default)
    if isinstance(value, int | float):
        value = [value]
    try:
        return tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"expected a list of numbers, got {value!r}", field=key) from None


@NEST_CELL_MODELS.register("glif_psc", aliases=("nest:glif_psc",))
def _glif_psc(p: Mapping[str, Any]) -> CellParams:
    flags = (
        bool(p.get("spike_dependent_threshold", False)),
        bool(p.get("after_spike_currents", False)),
        bool(p.get("adapting_threshold", False)),
    )
    levels = {v: k for k, v in GLIF_MECHANISMS.items()}
    if flags not in levels:
        raise ConfigError(
            "spike_dependent_threshold/after_spike_currents/adapting_threshold = "
            f"{flags} is not one of GLIF1-5 {sorted(GLIF_MECHANISMS.values())}",
            field="glif_psc",
        )
    level = levels[flags]
    has_r, has_asc, has_a = flags
    e_l = _num(p, "E_L", -78.85)
    asc_decay = _vec(p, "asc_decay", (0.003, 0.1)) if has_asc else ()
    n_asc = len(asc_decay)
    cell = CellParams(
        E_L=e_l,
        th_inf=_num(p, "V_th", -51.68) - e_l,
        V_reset=_num(p, "V_reset", e_l) - e_l,
        g=_num(p, "g", 9.43),
        C_m=_num(p, "C_m", 58.72),
        t_ref=_num(p, "t_ref", 3.75),
        I_e=_num(p, "I_e", 0.0),
        V_m=_num(p, "V_m", NEST_INITIAL_V_M["glif_psc"]) - e_l,
        th_spike_add=_num(p, "th_spike_add", 0.37) if has_r else 0.0,
        th_spike_decay=_num(p, "th_spike_decay", 0.009) if has_r else 1.0,
        voltage_reset_fraction=_num(p, "voltage_reset_fraction", 0.2) if has_r else 0.0,
        voltage_reset_add=_num(p, "voltage_reset_add", 18.51) if has_r else 0.0,
        th_voltage_index=_num(p, "th_voltage_index", 0.005) if has_a else 0.0,
        th_voltage_decay=_num(p, "th_voltage_decay", 0.09) if has_a else 1.0,
        asc_init=_vec(p, "asc_init", (0.0,) * n_asc) if has_asc else (),
        asc_decay=asc_decay,
        asc_amps=_vec(p, "asc_amps", (-9.18, -198.94)) if has_asc else (),
        asc_r=_vec(p, "asc_r", (1.0,) * n_asc) if has_asc else (),
        tau_syn=_vec(p, "tau_syn", (2.0,)),
        psc_shape=str(p.get("psc_shape", "alpha")),
        receptor_mode="port",
        glif_level=level,
        model="glif_psc",
    )
    if has_asc and not (len(cell.asc_init) == len(cell.asc_amps) == len(cell.asc_r) == n_asc):
        raise ConfigError(
            "asc_init, asc_decay, asc_amps and asc_r must have the same length", field="asc_amps"
        )
    return cell


def _iaf(p: Mapping[str, Any], shape: str, model: str) -> CellParams:
    e_l = _num(p, "E_L", -70.0)
    c_m = _num(p, "C_m", 250.0)
    return CellParams(
        E_L=e_l,
        th_inf=_num(p, "V_th", -55.0) - e_l,
        V_reset=_num(p, "V_reset", -70.0) - e_l,
        g=c_m / _num(p, "tau_m", 10.0),
        C_m=c_m,
        t_ref=_num(p, "t_ref", 2.0),
        I_e=_num(p, "I_e", 0.0),
        V_m=_num(p, "V_m", NEST_INITIAL_V_M[model]) - e_l,
        tau_syn=(_num(p, "tau_syn_ex", 2.0), _num(p, "tau_syn_in", 2.0)),
        psc_shape=shape,
        receptor_mode="sign",
        glif_level=1,
        model=model,
    )


NEST_CELL_MODELS.register(
    "iaf_psc_alpha", lambda p: _iaf(p, "alpha", "iaf_psc_alpha"), aliases=("nest:iaf_psc_alpha",)
)
NEST_CELL_MODELS.register(
    "iaf_psc_exp", lambda p: _iaf(p, "exp", "iaf_psc_exp"), aliases=("nest:iaf_psc_exp",)
)


def cell_params_from_nest(model: str, params: Mapping[str, Any]) -> CellParams:
    """Translate a NEST model dictionary into :class:`CellParams`.

    Parameters
    ----------
    model : str
        NEST model name, with or without the SONATA ``nest:`` prefix.
    params : mapping
        The model's parameters as NEST names them (``V_th``, ``g``, ``asc_amps`` ...).

    Examples
    --------
    >>> cell_params_from_nest("glif_psc", {"after_spike_currents": True}).glif_level
    3
    """
    cell = NEST_CELL_MODELS.get(model)(params)
    if cell.psc_shape not in ("alpha", "exp"):
        raise ConfigError(
            f"psc_shape must be 'alpha' or 'exp', got {cell.psc_shape!r}", field="psc_shape"
        )
    if cell.g <= 0 or cell.C_m <= 0 or any(t <= 0 for t in cell.tau_syn):
        raise ConfigError("g, C_m and tau_syn must be > 0", field=model)
    if cell.V_reset >= cell.th_inf:
        raise ConfigError("V_reset must be below V_th", field=model)
    return cell


def cell_params_to_nest(cell: CellParams) -> tuple[str, dict[str, Any]]:
    """Inverse of :func:`cell_params_from_nest`: a NEST model name and its dictionary.

    Examples
    --------
    >>> name, d = cell_params_to_nest(CellParams(glif_level=3, asc_decay=(0.1,),
    ...     asc_amps=(-5.0,), asc_init=(0.0,), asc_r=(1.0,)))
    >>> name, d["after_spike_currents"], d["asc_amps"]
    ('glif_psc', True, [-5.0])
    """
    e_l = cell.E_L
    if cell.model in ("iaf_psc_alpha", "iaf_psc_exp"):
        return cell.model, {
            "E_L": e_l,
            "V_th": cell.th_inf + e_l,
            "V_reset": cell.V_reset + e_l,
            "C_m": cell.C_m,
            "tau_m": cell.C_m / cell.g,
            "t_ref": cell.t_ref,
            "I_e": cell.I_e,
            "V_m": cell.V_m + e_l,
            "tau_syn_ex": cell.tau_syn[0],
            "tau_syn_in": cell.tau_syn[1],
        }
    has_r, has_asc, has_a = GLIF_MECHANISMS[cell.glif_level]
    d: dict[str, Any] = {
        "E_L": e_l,
        "V_th": cell.th_inf + e_l,
        "V_reset": cell.V_reset + e_l,
        "g": cell.g,
        "C_m": cell.C_m,
        "t_ref": cell.t_ref,
        "V_m": cell.V_m + e_l,
        "tau_syn": list(cell.tau_syn),
        "spike_dependent_threshold": has_r,
        "after_spike_currents": has_asc,
        "adapting_threshold": has_a,
    }
    if has_r:
        d.update(
            th_spike_add=cell.th_spike_add,
            th_spike_decay=cell.th_spike_decay,
            voltage_reset_fraction=cell.voltage_reset_fraction,
            voltage_reset_add=cell.voltage_reset_add,
        )
    if has_asc:
        d.update(
            asc_init=list(cell.asc_init),
            asc_decay=list(cell.asc_decay),
            asc_amps=list(cell.asc_amps),
            asc_r=list(cell.asc_r),
        )
    if has_a:
        d.update(th_voltage_index=cell.th_voltage_index, th_voltage_decay=cell.th_voltage_decay)
    return "glif_psc", d


@dataclass(frozen=True)
class StpParams:
    """Tsodyks-Markram parameters as NEST ``tsodyks2_synapse`` names them.

    ``U`` is the utilisation increment, ``tau_rec`` the recovery time constant (ms) and
    ``tau_fac`` the facilitation time constant (ms; 0 disables facilitation); ``u`` and ``x``
    are the state used at the first spike, with NEST's defaults (``u = 0.5`` whatever ``U``
    is, as in NEST, and ``x = 1``).

    Examples
    --------
    >>> stp_params_from_dict({"model": "tsodyks2_synapse", "U": 0.2, "tau_rec": 100.0})
    StpParams(U=0.2, tau_rec=100.0, tau_fac=0.0, u=0.5, x=1.0)
    """

    U: float = 0.5
    tau_rec: float = 800.0
    tau_fac: float = 0.0
    u: float = 0.5
    x: float = 1.0


#: synapse model names that carry Tsodyks-Markram dynamics
STP_MODELS = ("tsodyks2_synapse", "tsodyks_synapse_stp", "tm_synapse")


def stp_params_from_dict(d: Mapping[str, Any]) -> StpParams | None:
    """STP parameters from a synapse ``dynamics_params`` dict, or ``None`` for static synapses.

    A dict is plastic when its ``model``/``synapse_model``/``level_of_detail`` names a model in
    :data:`STP_MODELS` or when it contains ``tau_rec``.
    """
    names = {str(d.get(k, "")) for k in ("model", "synapse_model", "level_of_detail")}
    if not (names & set(STP_MODELS)) and "tau_rec" not in d:
        return None
    stp = StpParams(
        U=_num(d, "U", 0.5),
        tau_rec=_num(d, "tau_rec", 800.0),
        tau_fac=_num(d, "tau_fac", 0.0),
        u=_num(d, "u", 0.5),
        x=_num(d, "x", 1.0),
    )
    if not (0.0 <= stp.U <= 1.0 and 0.0 <= stp.u <= 1.0) or stp.tau_rec <= 0 or stp.tau_fac < 0:
        raise ConfigError(
            f"invalid STP parameters {stp}: need 0<=U<=1, 0<=u<=1, tau_rec>0, tau_fac>=0"
        )
    return stp
