"""BMTK's ``bmtk.builder.auxi`` package path: node placement and edge-rule helpers.

- :mod:`bmtoolkit.builder.auxi.node_params`: ``positions_columinar``, ``xiter_random`` ...
  over :mod:`bmtoolkit.builder.positions`;
- :mod:`bmtoolkit.builder.auxi.edge_connectors`: ``distance_connector``, ``connect_random``,
  per-pair connection functions for ``add_edges(connection_rule=...)``.

Examples
--------
>>> from bmtoolkit.builder.auxi import node_params
>>> node_params.positions_columinar(N=3, max_radius=10.0).shape
(3, 3)
"""
