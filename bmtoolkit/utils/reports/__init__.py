"""BMTK's ``bmtk.utils.reports`` package path: spike trains (see :mod:`.spike_trains`).

Examples
--------
>>> from bmtoolkit.utils.reports import SpikeTrains
>>> SpikeTrains().populations
[]
"""

from __future__ import annotations

from bmtoolkit.utils.reports.spike_trains import PoissonSpikeGenerator, SpikeTrains

__all__ = ["PoissonSpikeGenerator", "SpikeTrains"]
