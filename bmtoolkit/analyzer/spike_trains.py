"""BMTK's ``bmtk.analyzer.spike_trains`` module path: plots and tables from a config.

The functions take BMTK's keywords (``config_file``, ``spikes_file``, ``population``,
``group_by``, ``group_excludes``, ``times``, ``show``, ``save_as``, ``nodes_file``,
``node_types_file``) and draw with :mod:`bmtoolkit.analyzer.plots`; each returns the
matplotlib figure, as BMTK's do.

- :func:`plot_raster`: :func:`bmtoolkit.analyzer.plot_raster`, with a PSTH below it
  (``with_histogram``);
- :func:`plot_rates` and :func:`plot_rates_boxplot`: mean rate of every node over the run,
  as bars (mean +- s.d.) or box plots per ``group_by`` value (per population by default);
  BMTK draws one point per node instead;
- :func:`to_dataframe`: the spikes with BMTK's columns ``timestamps``, ``node_ids``,
  ``population``.

Examples
--------
>>> from bmtoolkit.analyzer.spike_trains import plot_raster, to_dataframe
>>> fig = plot_raster(config_file="config.json", group_by="pop_name", show=False)  # doctest: +SKIP
>>> list(to_dataframe(config_file="config.json").columns)  # doctest: +SKIP
['timestamps', 'node_ids', 'population']
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import BmtkWarning, ConfigError

__all__ = ["plot_raster", "plot_rates", "plot_rates_boxplot", "to_dataframe"]

PathLike = str | os.PathLike[str]


def _nodes(circuit: Any, nodes_file: PathLike | None, node_types_file: PathLike | None):
    """``{population: NodePopulation}`` from explicit files, else from the config's circuit."""
    if nodes_file is not None:
        from bmtoolkit.sonata import read_nodes

        return read_nodes(
            Path(nodes_file), None if node_types_file is None else Path(node_types_file)
        )
    return None if circuit is None else circuit.nodes


def _spikes(
    config_file: PathLike | None,
    spikes_file: PathLike | None,
    population: str | None,
    group_by: str | None = None,
    group_excludes: str | Sequence[str] | None = None,
    nodes_file: PathLike | None = None,
    node_types_file: PathLike | None = None,
) -> tuple[pd.DataFrame, Any, tuple[float, float] | None, Any]:
    """Spikes (our columns, ``group_by`` joined), nodes, the run's window and the circuit."""
    from bmtoolkit.analyzer.spikes import join_node_properties, spikes_source
    from bmtoolkit.sonata import read_spikes

    circuit = window = None
    path = spikes_file
    if config_file is not None:
        config_spikes, circuit = spikes_source(config_file)
        if circuit is None:
            raise ConfigError("expected a simulation config", path=config_file)
        run = circuit.simulation.run
        window = (float(run.tstart), float(run.tstop))
        path = path if path is not None else config_spikes
    if path is None:
        raise ConfigError("give config_file= (a simulation config) or spikes_file=")
    df = read_spikes(Path(path))
    if population is not None:
        if population not in set(df["population"]):
            raise ConfigError(
                f"no spikes of population {population!r}; the file has "
                f"{sorted(set(df['population']))}",
                path=path,
            )
        df = df[df["population"] == population].reset_index(drop=True)
    nodes = _nodes(circuit, nodes_file, node_types_file)
    if group_by is not None and group_by != "population":
        if nodes is None:
            raise ConfigError(
                f"group_by={group_by!r} needs the nodes: give config_file= or nodes_file="
            )
        df = join_node_properties(df, nodes, [group_by])
    if group_excludes is not None and group_by is not None:
        excluded = [group_excludes] if isinstance(group_excludes, str) else list(group_excludes)
        df = df[~df[group_by].isin(excluded)].reset_index(drop=True)
    return df, nodes, window, circuit


def _finish(fig: Any, title: str | None, show: bool, save_as: PathLike | None) -> Any:
    if title:
        fig.suptitle(title)
    if save_as:
        fig.savefig(save_as)
    if show:
        from bmtoolkit.analyzer.plots import _pyplot

        _pyplot().show()
    return fig


def plot_raster(
    config_file: PathLike | None = None,
    population: str | None = None,
    with_histogram: bool = True,
    times: tuple[float, float] | None = None,
    title: str | None = None,
    show: bool = True,
    save_as: PathLike | None = None,
    group_by: str | None = None,
    group_excludes: str | Sequence[str] | None = None,
    spikes_file: PathLike | None = None,
    nodes_file: PathLike | None = None,
    node_types_file: PathLike | None = None,
    **kwargs: Any,
):
    """Raster of a simulation's spikes (BMTK's keywords; see the module docstring).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from bmtoolkit.analyzer.plots import _pyplot, plot_population_rate
    from bmtoolkit.analyzer.plots import plot_raster as raster
    from bmtoolkit.analyzer.spikes import population_rate

    df, nodes, window, _ = _spikes(
        config_file, spikes_file, population, group_by, group_excludes, nodes_file, node_types_file
    )
    window = times if times is not None else window
    plt = _pyplot()
    if with_histogram:
        fig, (ax, hist_ax) = plt.subplots(
            2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
        )
    else:
        fig, ax = plt.subplots(figsize=(9, 5))
    raster(df, group_by=group_by, ax=ax, time_range=window, nodes=nodes)
    if with_histogram:
        t0, t1 = window if window is not None else (0.0, float(df["timestamp"].max(initial=1.0)))
        n_nodes = None
        if nodes is not None:
            pops = set(df["population"]) or set(nodes)
            n_nodes = sum(nodes[p].size for p in pops if p in nodes) or None
        centers, rate = population_rate(df, t_start=t0, t_stop=t1, bin_size=5.0, n_nodes=n_nodes)
        plot_population_rate([("all", centers, rate)], ax=hist_ax)
        ax.set_xlabel("")
    return _finish(fig, title, show, save_as)


def _rates(
    config_file,
    spikes_file,
    population,
    group_by,
    group_excludes,
    times,
    nodes_file,
    node_types_file,
) -> tuple[pd.DataFrame, str]:
    """Mean rate of every node (silent nodes included when the nodes are known)."""
    from bmtoolkit.analyzer.spikes import firing_rates, join_node_properties

    df, nodes, window, _ = _spikes(
        config_file, spikes_file, population, None, None, nodes_file, node_types_file
    )
    t0, t1 = times if times is not None else (window or (0.0, float(df["timestamp"].max())))
    ids = None
    if nodes is not None:
        # the populations of the spikes file: virtual inputs are not in a run's output
        pops = [population] if population is not None else sorted(set(df["population"]))
        ids = {p: np.asarray(nodes[p].ids()) for p in pops if p in nodes}
    rates = firing_rates(df, t_start=t0, t_stop=t1, node_ids=ids)
    group = group_by or "population"
    if group != "population":
        if nodes is None:
            raise ConfigError(
                f"group_by={group!r} needs the nodes: give config_file= or nodes_file="
            )
        rates = join_node_properties(rates, nodes, [group]).dropna(subset=[group])
    if group_excludes is not None:
        excluded = [group_excludes] if isinstance(group_excludes, str) else list(group_excludes)
        rates = rates[~rates[group].isin(excluded)]
    return rates, group


def plot_rates(
    config_file: PathLike | None = None,
    population: str | None = None,
    smoothing: Any = False,
    smoothing_params: Any = None,
    times: tuple[float, float] | None = None,
    title: str | None = None,
    show: bool = True,
    save_as: PathLike | None = None,
    group_by: str | None = None,
    group_excludes: str | Sequence[str] | None = None,
    spikes_file: PathLike | None = None,
    nodes_file: PathLike | None = None,
    node_types_file: PathLike | None = None,
    **kwargs: Any,
):
    """Mean firing rate per ``group_by`` value (or population) as bars with the s.d.

    ``smoothing`` smooths BMTK's per-node curve; the bars here have nothing to smooth, so a
    true value only warns.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if smoothing:
        warnings.warn(
            "plot_rates draws mean rates per group; smoothing= is not used", BmtkWarning, 2
        )
    rates = _rates(
        config_file, spikes_file, population, group_by, group_excludes, times, nodes_file,
        node_types_file,
    )  # fmt: skip
    return _rates_figure(rates, "bar", title, show, save_as)


def plot_rates_boxplot(
    config_file: PathLike | None = None,
    population: str | None = None,
    times: tuple[float, float] | None = None,
    title: str | None = None,
    show: bool = True,
    save_as: PathLike | None = None,
    group_by: str | None = None,
    group_excludes: str | Sequence[str] | None = None,
    spikes_file: PathLike | None = None,
    nodes_file: PathLike | None = None,
    node_types_file: PathLike | None = None,
    **kwargs: Any,
):
    """Box plots of the nodes' mean firing rates per ``group_by`` value (or population).

    Returns
    -------
    matplotlib.figure.Figure
    """
    rates = _rates(
        config_file, spikes_file, population, group_by, group_excludes, times, nodes_file,
        node_types_file,
    )  # fmt: skip
    return _rates_figure(rates, "box", title, show, save_as)


def _rates_figure(
    rates: tuple[pd.DataFrame, str], kind: str, title: str | None, show: bool, save_as: Any
):
    """Rates per group drawn as ``kind`` ("bar" or "box") by the analyzer's plot."""
    from bmtoolkit.analyzer.plots import plot_rates as draw

    table, group = rates
    fig, _ = draw(table, group_by=group, kind=kind)
    return _finish(fig, title, show, save_as)


def to_dataframe(
    config_file: PathLike | None = None,
    spikes_file: PathLike | None = None,
    population: str | None = None,
) -> pd.DataFrame:
    """The spikes of a simulation with BMTK's columns ``timestamps``, ``node_ids``, ``population``.

    Examples
    --------
    >>> to_dataframe(config_file="config.json").head()  # doctest: +SKIP
       timestamps  node_ids population
    0       341.1         0         V1
    """
    df, _, _, _ = _spikes(config_file, spikes_file, population)
    df = df.rename(columns={"timestamp": "timestamps", "node_id": "node_ids"})
    return df[["timestamps", "node_ids", "population"]]
