"""The mouse primary visual cortex (V1) point-neuron model (after Billeh et al. 2020).

230,924 GLIF3 cells in 21 Cre-line types (17 classes) across layers 1-6 of a cylinder of radius
845 um, driven by 17,400 LGN filter units through retinotopic LGN -> V1 edges and by a
background Poisson population, at any fraction of full size:

- :mod:`~bmtoolkit.models.v1.cells`: types, classes, counts, layer depths, GLIF parameters;
- :mod:`~bmtoolkit.models.v1.connections`: class-pair probabilities, distance and
  like-to-like rules, weights, delays, receptor ports;
- :mod:`~bmtoolkit.models.v1.inputs`: LGN layout and LGN -> V1 rules, background.

These modules are data and plain functions (no builder, no simulator);
:mod:`bmtoolkit.recipes.v1` builds the model from them and runs it.

``docs/v1_model.md`` lists every number with its source, or says it is our choice.

Examples
--------
>>> from bmtoolkit.models.v1 import type_counts
>>> sum(type_counts(0.01).values())
2309
"""

from bmtoolkit.models.v1.cells import CELL_TYPES, CLASSES, type_counts

__all__ = ["CELL_TYPES", "CLASSES", "type_counts"]
