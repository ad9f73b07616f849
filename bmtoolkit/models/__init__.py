"""Domain knowledge shared by the builder and the simulator backends, free of any simulator.

The layers of bmtoolkit import in one direction only::

    sonata  <-  models  <-  builder / simulator / analyzer

This package holds what more than one of the upper layers must agree on, without importing
NEST, NEURON, PyTorch or any of ``bmtoolkit.builder``, ``bmtoolkit.simulator`` and
``bmtoolkit.analyzer`` (a test checks the imports of every module):

- :mod:`bmtoolkit.models.morphology`: SWC files cut into NEURON's sections, numbered as the
  bionet backend numbers them, and the rounding of 3D points that bionet applies;
- :mod:`bmtoolkit.models.lgn`: the mouse LGN cell classes and their fitted temporal filters
  (filternet simulates them, the builder lays them out);
- :mod:`bmtoolkit.models.glif`: Allen Cell Types GLIF parameters in NEST units and levels
  (pointnet and torchnet run them, :mod:`bmtoolkit.glif` fits them);
- :mod:`bmtoolkit.models.v1`: the mouse V1 model's cell catalogue, connection rules and
  inputs as data (:mod:`bmtoolkit.recipes.v1` builds and runs it).

Submodules are imported on use; importing this package imports nothing else.
"""
