"""BMTK's run-script names for NEST (``run_pointnet.py``), over :mod:`bmtoolkit.simulator.core.run_scripts`.

Examples
--------
>>> PointSimulator.backend
'pointnet'
"""

from __future__ import annotations

from bmtoolkit.simulator.core.run_scripts import Config, Network, Simulator, io
from bmtoolkit.simulator.pointnet.spec import SPEC

__all__ = ["Config", "PointNetwork", "PointSimulator", "io"]


class PointNetwork(Network):
    """BMTK's ``pointnet.PointNetwork``: a network for the NEST backend."""


class PointSimulator(Simulator):
    """BMTK's ``pointnet.PointSimulator``: runs on NEST."""

    backend = SPEC.name
