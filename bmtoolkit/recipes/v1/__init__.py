"""Build and run the mouse V1 point-neuron model described in :mod:`bmtoolkit.models.v1`.

- :func:`build_v1`: V1, LGN and background saved as SONATA at any fraction of full size;
- :func:`run_v1`: build -> filternet (LGN spikes from a stimulus) -> pointnet (NEST) ->
  raster by layer and class, rates per class, orientation tuning
  (``bmtoolkit demo v1`` on the command line).

``docs/v1_model.md`` lists every number with its source, or says it is our choice.

Examples
--------
>>> from bmtoolkit.recipes.v1 import build_v1, run_v1
>>> built = build_v1("v1_network", fraction=0.01, seed=1)  # doctest: +SKIP
>>> result = run_v1("v1_output", fraction=0.01, orientations=(0, 45, 90, 135))  # doctest: +SKIP
"""

from bmtoolkit.recipes.v1.build import V1Build, build_v1, load_glif_params
from bmtoolkit.recipes.v1.pipeline import V1Run, run_v1

__all__ = ["V1Build", "V1Run", "build_v1", "load_glif_params", "run_v1"]
