"""Place LGN filter units over the visual field with the cell-type mix of the mouse V1 models.

The visual field (240 x 120 degrees by default) is divided into tiles (15 x 10); every tile
receives the same number of units of each type, at uniform random positions inside it, so
coverage is even. With the default tiles the full model has 116 units per tile, 17,400 in
all: sustained ON (sON) and OFF (sOFF) and transient OFF (tOFF) cells preferring 1-15 Hz,
plus two-subunit sONsOFF and sONtOFF cells. Receptive-field sizes follow a triangular
distribution on 2-10 degrees (mode 3); two-subunit cells have fixed sizes and subfield
separations. Each unit's temporal filter is its type's fit jittered by +-2.5 %, and two-subunit
cells get a uniform random ``tuning_angle``.

:func:`lgn_node_groups` returns one dict per cell type, ready for ``add_nodes``::

    lgn = NetworkBuilder("lgn")
    for props in lgn_node_groups(seed=1):
        lgn.add_nodes(**props)

Examples
--------
>>> groups = lgn_node_groups(tiles=(2, 1), seed=0)
>>> sum(g["N"] for g in groups), groups[0]["model_template"]
(232, 'lgnmodel:sON_TF1')
>>> sorted(k for k in groups[-1] if k.startswith("kpeaks"))
['kpeaks_dom_0', 'kpeaks_dom_1', 'kpeaks_non_dom_0', 'kpeaks_non_dom_1']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.models.lgn import FITTED_TEMPORAL, TWO_SUBUNIT_TYPES


@dataclass(frozen=True)
class LGNTypeSpec:
    """One LGN cell type of the layout.

    Attributes
    ----------
    name : str
        Type name (``model_template = "lgnmodel:<name>"``).
    per_tile : int
        Units per tile.
    size_range : (float, float)
        Receptive-field size range in degrees (equal bounds: a fixed size).
    sf_sep : float or None
        Subfield separation (degrees) of two-subunit cells.
    """

    name: str
    per_tile: int
    size_range: tuple[float, float] = (2.0, 10.0)
    sf_sep: float | None = None


#: cell-type mix of the V1 models' LGN (116 units per tile)
V1_LGN_TYPES: tuple[LGNTypeSpec, ...] = (
    LGNTypeSpec("sON_TF1", 7),
    LGNTypeSpec("sON_TF2", 5),
    LGNTypeSpec("sON_TF4", 7),
    LGNTypeSpec("sON_TF8", 15),
    LGNTypeSpec("sOFF_TF1", 8),
    LGNTypeSpec("sOFF_TF2", 8),
    LGNTypeSpec("sOFF_TF4", 15),
    LGNTypeSpec("sOFF_TF8", 8),
    LGNTypeSpec("sOFF_TF15", 7),
    LGNTypeSpec("tOFF_TF4", 10),
    LGNTypeSpec("tOFF_TF8", 5),
    LGNTypeSpec("tOFF_TF15", 8),
    LGNTypeSpec("sONsOFF_001", 8, (6.0, 6.0), 6.0),
    LGNTypeSpec("sONtOFF_001", 5, (9.0, 9.0), 4.0),
)


def lgn_node_groups(
    *,
    field_size: tuple[float, float] = (240.0, 120.0),
    tiles: tuple[int, int] = (15, 10),
    types: tuple[LGNTypeSpec, ...] = V1_LGN_TYPES,
    density: float = 1.0,
    jitter: float = 0.025,
    seed: int | None = None,
) -> list[dict[str, Any]]:
    """Node properties of an LGN population, one dict per cell type.

    Parameters
    ----------
    field_size : (float, float)
        Width (x) and height (y) of the visual field, degrees.
    tiles : (int, int)
        Tiles along x and y.
    types : tuple of LGNTypeSpec
        Cell types and their counts per tile.
    density : float
        Multiplies every per-tile count (rounded, at least one unit per type and tile when
        ``> 0``), for smaller or denser models.
    jitter : float
        Relative jitter of the temporal-filter parameters (uniform within +-jitter).
    seed : int, optional
        Seed of every random draw.

    Returns
    -------
    list of dict
        ``N``, ``model_type="virtual"``, ``model_template``, ``model_name``, ``ei="e"``,
        ``x``, ``y``, ``spatial_size`` and the temporal parameters (``weight_dom_0/1``,
        ``kpeaks_dom_0/1``, ``delay_dom_0/1``, and ``*_non_dom_*``, ``tuning_angle``,
        ``sf_sep`` for two-subunit cells).
    """
    if density < 0 or tiles[0] < 1 or tiles[1] < 1:
        raise ConfigError("density must be >= 0 and tiles >= 1", field="density")
    if not 0 <= jitter < 1:
        raise ConfigError(f"jitter must be in [0, 1), got {jitter}", field="jitter")
    rng = np.random.default_rng(seed)
    groups = []
    for spec in types:
        per_tile = int(round(spec.per_tile * density))
        if density > 0:
            per_tile = max(per_tile, 1)
        n = per_tile * tiles[0] * tiles[1]
        if n == 0:
            continue
        x, y = _tile_positions(rng, per_tile, tiles, field_size)
        lo, hi = spec.size_range
        if lo == hi:
            sizes = np.full(n, float(lo))
        else:
            sizes = rng.triangular(lo, min(lo + 1.0, hi), hi, n)
        props: dict[str, Any] = {
            "N": n,
            "model_type": "virtual",
            "model_template": f"lgnmodel:{spec.name}",
            "model_name": spec.name,
            "ei": "e",
            "x": x,
            "y": y,
            "spatial_size": sizes,
        }
        base = spec.name.split("_")[0]
        if base in TWO_SUBUNIT_TYPES:
            consts = TWO_SUBUNIT_TYPES[base]
            props.update(_jittered(rng, FITTED_TEMPORAL[consts.dom_fit], "dom", n, jitter))
            props.update(_jittered(rng, FITTED_TEMPORAL[consts.nondom_fit], "non_dom", n, jitter))
            sep = spec.sf_sep if spec.sf_sep is not None else consts.sf_sep
            props["sf_sep"] = rng.uniform(sep * (1 - jitter), sep * (1 + jitter), n)
            props["tuning_angle"] = rng.uniform(0.0, 360.0, n)
        elif spec.name in FITTED_TEMPORAL:
            props.update(_jittered(rng, FITTED_TEMPORAL[spec.name], "dom", n, jitter))
        else:
            raise ConfigError(f"no fitted temporal filter for LGN type {spec.name!r}",
                              field="types")  # fmt: skip
        groups.append(props)
    return groups


def _tile_positions(rng: np.random.Generator, per_tile: int, tiles: tuple[int, int],
                    field_size: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    w, h = field_size[0] / tiles[0], field_size[1] / tiles[1]
    grid_x, grid_y = np.meshgrid(np.arange(tiles[0]), np.arange(tiles[1]), indexing="ij")
    ix = np.repeat(grid_x.ravel(), per_tile)
    iy = np.repeat(grid_y.ravel(), per_tile)
    return (ix + rng.random(ix.size)) * w, (iy + rng.random(iy.size)) * h


def _jittered(rng: np.random.Generator, fit: Any, tag: str, n: int,
              jitter: float) -> Mapping[str, np.ndarray]:  # fmt: skip
    weights, kpeaks, delays = fit
    out = {}
    for stem, values in (("weight", weights), ("kpeaks", kpeaks), ("delay", delays)):
        for i, v in enumerate(values):
            out[f"{stem}_{tag}_{i}"] = float(v) * rng.uniform(1 - jitter, 1 + jitter, n)
    return out
