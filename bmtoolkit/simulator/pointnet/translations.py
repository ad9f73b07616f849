"""Every unit conversion and parameter renaming of the NEST backend.

- **Allen Cell Types GLIF -> NEST.** The translation of Allen ``neuron_config`` files (SI
  units) to ``glif_psc``/``glif_cond`` and the GLIF levels are shared with torchnet and the
  GLIF fitting tools: they live in :mod:`bmtoolkit.models.allen_glif`, which
  :func:`bmtoolkit.simulator.pointnet.cells.resolve_nest_model` applies to every node type.
- **Config currents.** BMTK's NEST configs give current-clamp amplitudes in pA, which is what
  NEST's ``step_current_generator`` takes (:data:`CLAMP_AMP_TO_PA`).

Examples
--------
>>> CLAMP_AMP_TO_PA
1.0
"""

from __future__ import annotations

#: NEST step_current_generator amplitude (pA) per config amplitude unit (BMTK NEST: pA)
CLAMP_AMP_TO_PA = 1.0
