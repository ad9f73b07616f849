"""BMTK's run-script names for NEURON (``run_bionet.py``), over :mod:`bmtoolkit.simulator.core.run_scripts`.

Examples
--------
>>> BioSimulator.backend
'bionet'
"""

from __future__ import annotations

from bmtoolkit.simulator.bionet.spec import SPEC
from bmtoolkit.simulator.core.run_scripts import Config, Network, Simulator, io, quit_execution

__all__ = ["BioNetwork", "BioSimulator", "Config", "io", "quit_execution"]


class BioNetwork(Network):
    """BMTK's ``bionet.BioNetwork``: a network for the NEURON backend."""


class BioSimulator(Simulator):
    """BMTK's ``bionet.BioSimulator``: runs on NEURON."""

    backend = SPEC.name
