"""The mouse LGN cell classes of the Allen V1 models and their fitted filters.

Each single-subunit class (``sON_TF8``: sustained ON, preferring 8 Hz) has a fitted temporal
filter, two raised-cosine bumps given as ``(weights, kpeaks ms, delays ms)``
(:data:`FITTED_TEMPORAL`), and a measured spontaneous rate (:data:`SPONT_RATES`). The two
two-subunit classes (``sONsOFF``, ``sONtOFF``) combine an OFF and an ON fit with the constants
of :class:`TwoSubunitType`. The LGN filter backend simulates these cells from SONATA node
properties; :mod:`bmtoolkit.builder.lgn` lays them out over the visual field with jittered
copies of the same fits.

Examples
--------
>>> weights, kpeaks, delays = FITTED_TEMPORAL["sON_TF8"]
>>> kpeaks, SPONT_RATES["sON_TF8"]
((12.94103321, 28.27807659), 1.767)
>>> TWO_SUBUNIT_TYPES["sONtOFF"].dom_fit
'tOFF_TF8'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FITTED_TEMPORAL", "SPONT_RATES", "TWO_SUBUNIT_TYPES", "TwoSubunitType"]

#: fitted temporal filters (weights, kpeaks ms, delays ms) of the mouse LGN cell classes
FITTED_TEMPORAL: Mapping[str, tuple[tuple[float, float], tuple[float, float], tuple[int, int]]] = {
    "sON_TF1": ((1.00003093, -0.44616057), (56.52557576, 137.44093312), (0, 15)),
    "sON_TF2": ((4.28233151, -1.42754511), (31.20843844, 137.06239706), (0, 5)),
    "sON_TF4": ((3.5940406, -1.81458312), (30.75886854, 58.35845979), (0, 25)),
    "sON_TF8": ((3.70525968, -1.75383971), (12.94103321, 28.27807659), (0, 25)),
    "sOFF_TF1": ((2.11424029, -1.22152557), (54.48070428, 127.92115512), (0, 5)),
    "sOFF_TF2": ((3.18257937, -1.14071203), (19.84561655, 92.02360682), (0, 25)),
    "sOFF_TF4": ((3.22981488, -1.65879752), (22.24619766, 56.10036268), (0, 15)),
    "sOFF_TF8": ((3.2506479, -1.68380989), (18.03400572, 51.21537413), (0, 15)),
    "sOFF_TF15": ((10.0, -3.26057123), (4.73623985, 21.59707569), (0, 5)),
    "tOFF_TF4": ((3.34598077, -2.18198978), (29.15797185, 59.36268031), (0, 15)),
    "tOFF_TF8": ((4.21848979, -2.40498983), (8.52464523, 23.24681671), (0, 0)),
    "tOFF_TF15": ((3.44166036, -2.11559948), (8.2697336, 19.99148791), (0, 0)),
}

#: measured mean spontaneous rates (Hz) of the cell classes (used when no ``spont_fr``)
SPONT_RATES: Mapping[str, float] = {
    "sON_TF1": 5.2, "sON_TF2": 3.533, "sON_TF4": 8.25, "sON_TF8": 1.767, "sON_TF15": 10.88,
    "sOFF_TF1": 3.95, "sOFF_TF2": 4.532, "sOFF_TF4": 3.679, "sOFF_TF8": 3.62,
    "sOFF_TF15": 5.075, "tOFF_TF1": 5.5, "tOFF_TF2": 3.41, "tOFF_TF4": 3.945,
    "tOFF_TF8": 2.438, "tOFF_TF15": 1.051, "tON_TF8": 2.6,
}  # fmt: skip


@dataclass(frozen=True)
class TwoSubunitType:
    """Constants of a two-subunit (ON/OFF) cell class.

    The temporal kernels are shifted so that their zero crossings fall at ``ttp_dom_ms`` and
    ``ttp_nondom_ms``; the dominant (OFF) amplitude is chosen so that the OFF and ON peak
    rates have the measured ratio ``max_rate_dom / max_rate_nondom``.
    """

    dom_fit: str
    nondom_fit: str
    spont: float
    max_rate_dom: float
    max_rate_nondom: float
    dom_scale: float
    ttp_dom_ms: float
    ttp_nondom_ms: float
    sf_sep: float
    size: float


TWO_SUBUNIT_TYPES: Mapping[str, TwoSubunitType] = {
    "sONsOFF": TwoSubunitType("sOFF_TF4", "sON_TF4", 4.0, 35.0, 21.0, 1.0, 115.0, 121.0, 6.0, 6.0),
    "sONtOFF": TwoSubunitType("tOFF_TF8", "sON_TF4", 5.5, 46.0, 31.0, 0.7, 64.8, 93.5, 4.0, 9.0),
}
