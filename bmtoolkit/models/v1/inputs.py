"""External inputs of the V1 model: the LGN filter units and the background Poisson population.

LGN
---
17,400 filter units at full size (:func:`bmtoolkit.builder.lgn.lgn_node_groups`: 14 cell types,
116 units per 16 x 12 degree tile, 15 x 10 tiles over a 240 x 120 degree field). A V1 cell's
receptive-field centre is mapped from its horizontal position, ``vis_x = cx + x * 108/845``,
``vis_y = cy + z * 48/845`` degrees (our choice: the full 845 um disk spans the field less a
12 degree margin for the subfields), so a model at ``fraction`` of full size covers a field
of ``2 * (108 sqrt(f) + 12)`` by ``2 * (48 sqrt(f) + 12)`` degrees, rounded up to whole tiles.
The LGN keeps its density in visual space, so its size scales with the visual area the V1
cells see: exactly 17,400 units at ``fraction=1``, 2,320 at 0.05 (the margin stays).

LGN -> V1 edges follow :class:`bmtoolkit.builder.rules.RetinotopicLGN`: ON and OFF subfields
(20 x 5 degrees, centres 8 degrees apart) side by side along the cell's preferred orientation.
Layer 4 receives the most LGN input (Billeh et al. 2020 wire LGN to L4 and, more sparsely, to
the excitatory and Pvalb cells of the other layers); :data:`LGN_INPUTS` gives the sample points
per subfield and the weight of each class (our choice).

Background
----------
A population of :data:`BKG_UNITS` virtual units, each a Poisson source at :data:`BKG_RATE` Hz
during a run, stands for the rest of the brain: every V1 cell receives on average
:data:`BKG_IN_DEGREE` of them (independent draws).

Examples
--------
>>> lgn_field(1.0)
((240.0, 120.0), (15, 10))
>>> lgn_field(0.05)
((80.0, 48.0), (5, 4))
"""

from __future__ import annotations

import math

from bmtoolkit.models.v1.cells import FULL_RADIUS, check_fraction

#: visual half-extent (degrees) of the full disk along x and z, and the subfield margin
VISUAL_HALF_EXTENT = (108.0, 48.0)
MARGIN = 12.0
#: tile of the LGN layout (degrees; 116 units each)
TILE = (16.0, 12.0)

#: receptive-field subfields of V1 cells (degrees)
SUBFIELD = {"length": 20.0, "width": 5.0, "separation": 8.0}

#: class -> (sample points per subfield, PSC amplitude pA); classes absent get no LGN input
LGN_INPUTS: dict[str, tuple[int, float]] = {
    "e4": (30, 26.0),
    "i4Pvalb": (20, 30.0),
    "i4Sst": (6, 20.0),
    "i4Htr3a": (6, 20.0),
    "e23": (5, 50.0),
    "i23Pvalb": (8, 25.0),
    "e5": (5, 70.0),
    "i5Pvalb": (8, 25.0),
    "e6": (8, 50.0),
    "i6Pvalb": (8, 25.0),
}
#: LGN -> V1 delay (ms)
LGN_DELAY = 1.7

BKG_UNITS = 1000
BKG_RATE = 50.0
BKG_IN_DEGREE = 40
#: background PSC amplitude (pA) by target kind (the e2i port decays faster than e2e)
BKG_WEIGHT = {"E": 8.0, "Pvalb": 16.0, "Sst": 10.0, "Htr3a": 12.0}
BKG_DELAY = 1.0


def lgn_field(fraction: float) -> tuple[tuple[float, float], tuple[int, int]]:
    """Visual field (degrees) and tiles of the LGN at ``fraction`` of full size."""
    s = math.sqrt(check_fraction(fraction))
    tiles = tuple(
        max(1, math.ceil(round(2.0 * (half * s + MARGIN) / tile, 6)))
        for half, tile in zip(VISUAL_HALF_EXTENT, TILE)
    )
    return (tiles[0] * TILE[0], tiles[1] * TILE[1]), (int(tiles[0]), int(tiles[1]))


def visual_positions(x, z, fraction: float):  # noqa: ANN001, ANN201 - numpy in, numpy out
    """Receptive-field centres (degrees) of cells at horizontal positions ``x``, ``z`` (um)."""
    (w, h), _ = lgn_field(fraction)
    return (
        w / 2.0 + x * VISUAL_HALF_EXTENT[0] / FULL_RADIUS,
        h / 2.0 + z * VISUAL_HALF_EXTENT[1] / FULL_RADIUS,
    )
