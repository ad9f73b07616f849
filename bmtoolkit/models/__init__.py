"""Domain knowledge shared by the builder, the backends and the model recipes.

:mod:`bmtoolkit.models.v1` is the recipe of the mouse primary visual cortex (V1) point-neuron
model: its cell classes, their layout, GLIF parameters, connection rules and inputs.
"""
