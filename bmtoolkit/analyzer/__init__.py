"""Read simulation outputs and plot rasters, rates and traces.

Examples
--------
>>> from bmtoolkit.analyzer import load_spikes, plot_raster  # doctest: +SKIP
>>> fig, ax = plot_raster(load_spikes("output/spikes.h5"))  # doctest: +SKIP
"""

from __future__ import annotations

from bmtoolkit.analyzer.plots import plot_population_rate, plot_raster, plot_rates
from bmtoolkit.analyzer.spikes import (
    firing_rates,
    join_node_properties,
    load_spikes,
    population_rate,
)

__all__ = [
    "firing_rates",
    "join_node_properties",
    "load_spikes",
    "plot_population_rate",
    "plot_raster",
    "plot_rates",
    "population_rate",
]
