"""NEURON backend (``bionet``): detailed and point cells, synapses, inputs and reports.

NEURON is imported lazily, so importing this package works without it.

Examples
--------
>>> import bmtoolkit.simulator.bionet as bionet
>>> bionet.__name__
'bmtoolkit.simulator.bionet'
"""
