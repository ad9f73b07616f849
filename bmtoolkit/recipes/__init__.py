"""Model recipes: build, run and analyse published models end to end.

A recipe reads a model's description from :mod:`bmtoolkit.models` and drives the builder, the
simulator backends and the analyzer with it, so it sits above all of them.

- :mod:`bmtoolkit.recipes.v1`: the mouse V1 point-neuron model.
"""
