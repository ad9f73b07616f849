"""Read simulation outputs and networks; plot rasters, rates, traces, tuning and structure.

Everything is read through :mod:`bmtoolkit.sonata`; matplotlib is imported only when a plot is
drawn, and every plot function returns ``(figure, axes)``.

- spikes: :func:`load_spikes`, :func:`join_node_properties`, :func:`firing_rates`,
  :func:`population_rate`; plots :func:`plot_raster`, :func:`plot_rates`,
  :func:`plot_population_rate`;
- traces: :func:`load_traces`, :func:`plot_traces`;
- tuning: :func:`read_sweep`, :func:`grating_responses`, :func:`tuning_curves`,
  :func:`selectivity`, :func:`preferred_value`, :func:`plot_tuning`;
- statistics: :func:`isi_cv`, :func:`spike_counts`, :func:`fano_factor`,
  :func:`plot_distribution`;
- agreement of two runs: :func:`spike_agreement`;
- network: :func:`plot_positions`, :func:`degrees`, :func:`connection_probability`,
  :func:`plot_connection_probability`, :func:`plot_degree_histogram`.

Examples
--------
>>> from bmtoolkit.analyzer import load_spikes, plot_raster  # doctest: +SKIP
>>> fig, ax = plot_raster(load_spikes("output/spikes.h5"))  # doctest: +SKIP
>>> fig.savefig("raster.png")  # doctest: +SKIP
"""

from __future__ import annotations

from bmtoolkit.analyzer.agreement import SpikeAgreement, spike_agreement
from bmtoolkit.analyzer.network import (
    connection_probability,
    degrees,
    plot_connection_probability,
    plot_degree_histogram,
    plot_positions,
)
from bmtoolkit.analyzer.plots import plot_population_rate, plot_raster, plot_rates
from bmtoolkit.analyzer.spikes import (
    firing_rates,
    join_node_properties,
    load_spikes,
    population_rate,
)
from bmtoolkit.analyzer.statistics import fano_factor, isi_cv, plot_distribution, spike_counts
from bmtoolkit.analyzer.traces import Traces, load_traces, plot_traces
from bmtoolkit.analyzer.tuning import (
    grating_responses,
    plot_tuning,
    preferred_value,
    read_sweep,
    selectivity,
    tuning_curves,
)

__all__ = [
    "Traces",
    "connection_probability",
    "degrees",
    "fano_factor",
    "firing_rates",
    "grating_responses",
    "isi_cv",
    "join_node_properties",
    "load_spikes",
    "load_traces",
    "plot_connection_probability",
    "plot_degree_histogram",
    "plot_distribution",
    "plot_population_rate",
    "plot_positions",
    "plot_raster",
    "plot_rates",
    "plot_traces",
    "plot_tuning",
    "population_rate",
    "preferred_value",
    "read_sweep",
    "selectivity",
    "SpikeAgreement",
    "spike_agreement",
    "spike_counts",
    "tuning_curves",
]
