"""BMTK's ``bmtk.builder.networks`` module path, mapped onto :mod:`bmtoolkit.builder`.

BMTK scripts import ``NetworkBuilder`` (and the per-simulator names ``BioNetBuilder``,
``PointNetBuilder``, ``PopNetBuilder``) from here. bmtoolkit has one builder for every
simulator, :class:`bmtoolkit.builder.NetworkBuilder`, because the SONATA files it writes do
not depend on the simulator that will read them; the three names are that same class.

Examples
--------
>>> from bmtoolkit.builder.networks import NetworkBuilder
>>> from bmtoolkit.builder import NetworkBuilder as Builder
>>> NetworkBuilder is Builder
True
"""

from __future__ import annotations

from bmtoolkit.builder.network import NetworkBuilder

#: BMTK's simulator-specific builders write the same files as NetworkBuilder
BioNetBuilder = NetworkBuilder
PointNetBuilder = NetworkBuilder
PopNetBuilder = NetworkBuilder

__all__ = ["BioNetBuilder", "NetworkBuilder", "PointNetBuilder", "PopNetBuilder"]
