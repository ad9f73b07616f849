"""BMTK's ``bmtk.simulator.pointnet.pyfunction_cache`` module: the registration functions of
:mod:`bmtoolkit.simulator.core.pyfunctions` for the pointnet backend, so scripts importing
``synaptic_weight`` (and the others) from here run with ``bmtk`` replaced by ``bmtoolkit``.

Examples
--------
>>> from bmtoolkit.simulator.pointnet.pyfunction_cache import synaptic_weight, add_cell_model
>>> callable(synaptic_weight) and callable(add_cell_model)
True
"""

from __future__ import annotations

from bmtoolkit.simulator.core.pyfunctions import PyFunctions

#: registrations for this backend; weight functions whose parameter names say nothing are
#: called vectorized (BMTK's PointNet calls them with tables)
_FUNCTIONS = PyFunctions(("pointnet",), per_edge_default=False)

synaptic_weight = _FUNCTIONS.synaptic_weight
add_weight_function = _FUNCTIONS.add_weight_function
cell_model = _FUNCTIONS.cell_model
add_cell_model = _FUNCTIONS.add_cell_model
synapse_model = _FUNCTIONS.synapse_model
add_synapse_model = _FUNCTIONS.add_synapse_model
model_processing = _FUNCTIONS.model_processing
add_cell_processor = _FUNCTIONS.add_cell_processor

__all__ = [
    "add_cell_model",
    "add_cell_processor",
    "add_synapse_model",
    "add_weight_function",
    "cell_model",
    "model_processing",
    "synapse_model",
    "synaptic_weight",
]
