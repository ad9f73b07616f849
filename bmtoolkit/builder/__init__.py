"""Declare nodes and edges and save them as SONATA (see :class:`NetworkBuilder`).

- :class:`NetworkBuilder`: BMTK's builder surface (``add_nodes``, ``add_edges``, ``build``,
  ``save``); BMTK scripts run after changing only the import;
- :mod:`bmtoolkit.builder.rules`: vectorized connection rules (random, distance, retinotopic,
  like-to-like) and BMTK-style callables;
- :mod:`bmtoolkit.builder.properties`: per-edge property rules (weights, delays);
- :mod:`bmtoolkit.builder.synapses`: synapse locations on the sections of biophysical targets
  (:mod:`bmtoolkit.models.morphology` reads SWC sections as the bionet backend numbers them;
  :mod:`bmtoolkit.builder.bionet` has BMTK's ``rand_syn_locations``);
- :mod:`bmtoolkit.builder.positions`: cell placement and orientation helpers;
- :func:`write_circuit`: save several networks and a circuit config.

Examples
--------
>>> from bmtoolkit.builder import NetworkBuilder
>>> net = NetworkBuilder("lgn")
>>> net.add_nodes(N=10, model_type="virtual")
>>> net.nnodes
10
"""

from bmtoolkit.builder import bionet, positions, properties, rules, synapses
from bmtoolkit.builder.edge_set import EdgeSet
from bmtoolkit.builder.network import Edge, NetworkBuilder
from bmtoolkit.builder.selectors import NodeSelection
from bmtoolkit.builder.writer import write_circuit

__all__ = [
    "Edge",
    "EdgeSet",
    "NetworkBuilder",
    "NodeSelection",
    "bionet",
    "positions",
    "properties",
    "rules",
    "synapses",
    "write_circuit",
]
