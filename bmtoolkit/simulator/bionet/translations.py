"""Every unit conversion of the NEURON backend, in one table.

NEURON works in mV, ms, um, nA (point currents), uS (point conductances), S/cm2, uF/cm2,
ohm cm and mM. SONATA/BMTK inputs already use mV, ms and nA; NeuroML2 files name their units.

Examples
--------
>>> to_neuron(0.5, "S_per_m2")
5e-05
>>> to_neuron(138.28, "ohm_cm")
138.28
"""

from __future__ import annotations

from bmtoolkit.exceptions import SonataFormatError

__all__ = [
    "CURRENT_UNITS",
    "ECP_SCALE",
    "NML_UNITS",
    "POINT_PARAMETER_FACTORS",
    "SPIKE_TIME_UNITS",
    "SYNAPSE_PARAMETER_NAMES",
    "point_parameters",
    "to_neuron",
]

#: NeuroML2 unit name -> factor to the NEURON unit of the same quantity
NML_UNITS: dict[str, float] = {
    "": 1.0,
    # voltage -> mV
    "mV": 1.0,
    "V": 1e3,
    # time -> ms
    "ms": 1.0,
    "s": 1e3,
    "us": 1e-3,
    # conductance density -> S/cm2
    "S_per_cm2": 1.0,
    "mS_per_cm2": 1e-3,
    "S_per_m2": 1e-4,
    # specific capacitance -> uF/cm2
    "uF_per_cm2": 1.0,
    "F_per_m2": 100.0,
    # resistivity -> ohm cm
    "ohm_cm": 1.0,
    "kohm_cm": 1e3,
    "ohm_m": 100.0,
    # concentration -> mM
    "mM": 1.0,
    "M": 1e3,
    "mol_per_m3": 1.0,
    "mol_per_cm3": 1e6,
    # length -> um
    "um": 1.0,
    "m": 1e6,
    "cm": 1e4,
    # temperature
    "degC": 1.0,
}

#: spike times in SONATA files are in ms, as in NEURON
SPIKE_TIME_UNITS = "ms"
#: clamp amplitudes in SONATA/BMTK configs are in nA, as NEURON's IClamp
CURRENT_UNITS = "nA"


def to_neuron(value: float, unit: str) -> float:
    """Convert a NeuroML2 quantity to the NEURON unit of the same dimension."""
    try:
        return float(value) * NML_UNITS[unit]
    except KeyError as err:
        raise SonataFormatError(
            f"unknown NeuroML unit {unit!r}; known: {sorted(u for u in NML_UNITS if u)}"
        ) from err


#: synapse JSON key -> NEURON point-process attribute (None: not a NEURON attribute)
SYNAPSE_PARAMETER_NAMES: dict[str, str | None] = {
    "erev": "e",
    "level_of_detail": None,
    "sign": None,
    "sec_type": None,
    "target_sections": None,
    "distance_range": None,
}

#: artificial cell -> {parameter: factor to NEURON units}; BMTK's IntFire JSON files give
#: time constants in seconds
POINT_PARAMETER_FACTORS: dict[str, dict[str, float]] = {
    "IntFire1": {"tau": 1e3, "refrac": 1e3},
    "IntFire2": {"taum": 1e3, "taus": 1e3},
    "IntFire4": {"taue": 1e3, "taui1": 1e3, "taui2": 1e3, "taum": 1e3},
}

#: keys of point-neuron JSON files that describe the file, not the model
POINT_METADATA_KEYS = frozenset({"type", "level_of_detail", "model", "comment"})


def point_parameters(model: str, params: dict) -> dict[str, float]:
    """NEURON attribute values of an artificial cell from its JSON parameters.

    Examples
    --------
    >>> point_parameters("IntFire1", {"tau": 0.024, "refrac": 0.003, "type": "NEURON_IntFire1"})
    {'tau': 24.0, 'refrac': 3.0}
    """
    factors = POINT_PARAMETER_FACTORS.get(model, {})
    return {
        key: float(value) * factors.get(key, 1.0)
        for key, value in params.items()
        if key not in POINT_METADATA_KEYS
    }


#: line-source potential: nA / (S/m * um) = 1e-9 A / 1e-6 S = 1e-3 V, i.e. exactly 1 mV
ECP_SCALE = 1.0
