"""BMTK's ``bmtk.simulator.bionet.pyfunction_cache`` module: the registration functions of
:mod:`bmtoolkit.simulator.core.pyfunctions` for the bionet backend, so scripts importing
``synaptic_weight`` (and the others) from here run with ``bmtk`` replaced by ``bmtoolkit``.

Examples
--------
>>> from bmtoolkit.simulator.bionet.pyfunction_cache import synaptic_weight, add_cell_model
>>> callable(synaptic_weight) and callable(add_cell_model)
True
"""

from __future__ import annotations

from bmtoolkit.simulator.core.pyfunctions import backend_module

#: registrations for this backend; weight functions whose parameter names say nothing are
#: called per edge (BMTK's BioNet calls them one edge at a time)
__getattr__, __dir__, __all__ = backend_module(__name__, "bionet", per_edge_default=True)
