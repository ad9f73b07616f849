"""BMTK's ``bmtk.utils`` package path (only what BMTK scripts use from it).

- :mod:`bmtoolkit.utils.reports.spike_trains`: ``SpikeTrains`` and
  ``PoissonSpikeGenerator`` over :mod:`bmtoolkit.sonata` and
  :mod:`bmtoolkit.simulator.core.spike_generators`.

Examples
--------
>>> from bmtoolkit.utils.reports.spike_trains import PoissonSpikeGenerator
>>> PoissonSpikeGenerator(population="lgn").n_spikes()
0
"""
