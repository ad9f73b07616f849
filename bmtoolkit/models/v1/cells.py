"""The cell catalogue of the mouse V1 model: types, classes, counts, layers, GLIF parameters.

Sources and choices
-------------------
- **Cell types and core counts**: the table "Biophysically Detailed Model of Mouse V1" of the
  Allen Institute's *Large-scale Datasets and Modeling Tools* slides (21 Cre-line types in
  layers 1, 2/3, 4, 5, 6). They form the 17 cell classes of the model (Billeh et al. 2020):
  one excitatory class per layer 2/3-6 (the four L4 and two L5 excitatory types share a class)
  and Pvalb, Sst and Htr3a classes per layer, Htr3a alone in layer 1. The table's counts sum to
  51,871, 107 fewer than the 51,978 the slide states under it; the counts are used as printed.
- **Full size**: the same slides and the BMTK/SONATA/VND workshop give 230,924 cells in all;
  every type is scaled by ``230,924 / 51,871`` (largest-remainder rounding, so the total is
  exact). The table's cells fill the *core* disk (radius 400 um), the others the annulus out to
  845 um, both with the same density (0.103 cells per um^2 of cortical surface).
- **Layer depths** (um below the pia; ``y = -depth``): L1 0-100, L2/3 100-310, L4 310-430,
  L5 430-650, L6 650-850. Our choice, of the order of mouse V1 histology.
- **GLIF parameters**: the five Allen Cell Types GLIF3 (``lif_asc``) fits in NEST units shipped
  with BMTK's point examples (``*_glif_lif_asc_psc.json``). BMTK's ``point_450glifs`` names them
  Scnn1a (593618144), Rorb (480124551), Nr5a1 (318808427), PV1 (478958894) and PV2
  (487667205). L4 Scnn1a, Rorb and Nr5a1 take their own fit; every other type takes one of the
  five (:data:`GLIF_MODELS`, our choice): the other excitatory types one of the three
  excitatory fits, Pvalb the fast-spiking PV1, Sst and Htr3a PV2.

Examples
--------
>>> counts = type_counts(1.0)
>>> sum(counts.values())
230924
>>> sum(t.core for t in CELL_TYPES)
51871
>>> CLASSES[:3]
('i1Htr3a', 'e23', 'i23Pvalb')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bmtoolkit.exceptions import ConfigError

#: cells of the full model (slides and workshop)
FULL_SIZE = 230_924
#: radius (um) of the core disk that holds the table's cells, and of the full model
CORE_RADIUS = 400.0
FULL_RADIUS = 845.0

#: layer name -> (top, bottom) depth below the pia in um
LAYER_DEPTHS: dict[str, tuple[float, float]] = {
    "1": (0.0, 100.0),
    "2/3": (100.0, 310.0),
    "4": (310.0, 430.0),
    "5": (430.0, 650.0),
    "6": (650.0, 850.0),
}

#: the five GLIF3 fits and the name BMTK's point examples give them
GLIF_FITS: dict[str, str] = {
    "Scnn1a": "593618144_glif_lif_asc_psc.json",
    "Rorb": "480124551_glif_lif_asc_psc.json",
    "Nr5a1": "318808427_glif_lif_asc_psc.json",
    "PV1": "478958894_glif_lif_asc_psc.json",
    "PV2": "487667205_glif_lif_asc_psc.json",
}


@dataclass(frozen=True)
class CellType:
    """One Cre-line cell type of the model.

    Attributes
    ----------
    name : str
        Type name (``pop_name`` of its nodes), e.g. ``"e4Scnn1a"``.
    cell_class : str
        One of the 17 classes (connection rules are per class pair).
    layer : str
        ``"1"``, ``"2/3"``, ``"4"``, ``"5"`` or ``"6"``.
    kind : str
        ``"E"``, ``"Pvalb"``, ``"Sst"`` or ``"Htr3a"``.
    core : int
        Cells in the core (seed table).
    glif : str
        Key of :data:`GLIF_FITS` of its parameters.
    """

    name: str
    cell_class: str
    layer: str
    kind: str
    core: int
    glif: str

    @property
    def ei(self) -> str:
        """``"e"`` or ``"i"``."""
        return "e" if self.kind == "E" else "i"

    @property
    def dynamics_params(self) -> str:
        """File name of its GLIF parameters."""
        return GLIF_FITS[self.glif]


def _t(name: str, cls: str, layer: str, kind: str, core: int, glif: str) -> CellType:
    return CellType(name, cls, layer, kind, core, glif)


#: the 21 cell types (seed table order)
CELL_TYPES: tuple[CellType, ...] = (
    _t("i1Htr3a", "i1Htr3a", "1", "Htr3a", 978, "PV2"),
    _t("e23Cux2", "e23", "2/3", "E", 12689, "Rorb"),
    _t("i23Pvalb", "i23Pvalb", "2/3", "Pvalb", 640, "PV1"),
    _t("i23Sst", "i23Sst", "2/3", "Sst", 459, "PV2"),
    _t("i23Htr3a", "i23Htr3a", "2/3", "Htr3a", 1107, "PV2"),
    _t("e4Scnn1a", "e4", "4", "E", 3072, "Scnn1a"),
    _t("e4Rorb", "e4", "4", "E", 2620, "Rorb"),
    _t("e4Nr5a1", "e4", "4", "E", 1248, "Nr5a1"),
    _t("e4other", "e4", "4", "E", 3194, "Scnn1a"),
    _t("i4Pvalb", "i4Pvalb", "4", "Pvalb", 1025, "PV1"),
    _t("i4Sst", "i4Sst", "4", "Sst", 553, "PV2"),
    _t("i4Htr3a", "i4Htr3a", "4", "Htr3a", 270, "PV2"),
    _t("e5Rbp4", "e5", "5", "E", 6010, "Nr5a1"),
    _t("e5noRbp4", "e5", "5", "E", 1448, "Rorb"),
    _t("i5Pvalb", "i5Pvalb", "5", "Pvalb", 673, "PV1"),
    _t("i5Sst", "i5Sst", "5", "Sst", 594, "PV2"),
    _t("i5Htr3a", "i5Htr3a", "5", "Htr3a", 98, "PV2"),
    _t("e6Ntsr1", "e6", "6", "E", 12893, "Scnn1a"),
    _t("i6Pvalb", "i6Pvalb", "6", "Pvalb", 1052, "PV1"),
    _t("i6Sst", "i6Sst", "6", "Sst", 1056, "PV2"),
    _t("i6Htr3a", "i6Htr3a", "6", "Htr3a", 192, "PV2"),
)

#: the 17 classes, in layer order
CLASSES: tuple[str, ...] = tuple(dict.fromkeys(t.cell_class for t in CELL_TYPES))
#: class -> (layer, kind)
CLASS_INFO: dict[str, tuple[str, str]] = {t.cell_class: (t.layer, t.kind) for t in CELL_TYPES}


def check_fraction(fraction: float) -> float:
    """``fraction`` as a float in ``(0, 1]`` (ConfigError otherwise)."""
    f = float(fraction)
    if not 0.0 < f <= 1.0 or math.isnan(f):
        raise ConfigError(f"fraction must be in (0, 1], got {fraction!r}", field="fraction")
    return f


def _largest_remainder(exact: np.ndarray, total: int) -> np.ndarray:
    base = np.floor(exact).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:short]] += 1
    return base


def type_counts(fraction: float, *, region: str = "all") -> dict[str, int]:
    """Cells per type at ``fraction`` of full size.

    Parameters
    ----------
    fraction : float
        In ``(0, 1]``.
    region : {"all", "core", "periphery"}
        Every cell, the core disk only, or the annulus around it.

    Returns
    -------
    dict
        ``{type name: count}``; every type keeps at least one core cell.

    Examples
    --------
    >>> type_counts(0.01)["e23Cux2"], type_counts(0.01, region="core")["e23Cux2"]
    (565, 127)
    """
    f = check_fraction(fraction)
    core = np.array([t.core for t in CELL_TYPES], dtype=float)
    full = _largest_remainder(core * FULL_SIZE / core.sum(), FULL_SIZE)
    n_core = np.maximum(_largest_remainder(core * f, int(round(core.sum() * f))), 1)
    n_all = np.maximum(_largest_remainder(full * f, int(round(FULL_SIZE * f))), n_core)
    chosen = {"all": n_all, "core": n_core, "periphery": n_all - n_core}
    if region not in chosen:
        raise ConfigError(f"region must be all, core or periphery, got {region!r}", field="region")
    return {t.name: int(n) for t, n in zip(CELL_TYPES, chosen[region])}


def radii(fraction: float) -> tuple[float, float]:
    """Core and full radius (um) at ``fraction``: both scale with ``sqrt(fraction)``.

    Examples
    --------
    >>> radii(0.25)
    (200.0, 422.5)
    """
    s = math.sqrt(check_fraction(fraction))
    return CORE_RADIUS * s, FULL_RADIUS * s
