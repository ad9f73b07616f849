"""Spikes as pandas tables, joined with node properties, and rate statistics.

Everything is read through :mod:`bmtoolkit.sonata`.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from bmtoolkit.analyzer.spikes import firing_rates
>>> spikes = pd.DataFrame({"population": ["v1"] * 3, "node_id": [0, 0, 1],
...                        "timestamp": [10.0, 20.0, 30.0]})
>>> firing_rates(spikes, t_start=0.0, t_stop=1000.0, node_ids={"v1": np.arange(3)})["rate"].tolist()
[2.0, 1.0, 0.0]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from bmtoolkit.sonata import Circuit
    from bmtoolkit.sonata.nodes import NodePopulation


def load_spikes(
    spikes_file: str | os.PathLike[str],
    *,
    nodes: Mapping[str, NodePopulation] | None = None,
    properties: Sequence[str] | None = None,
    populations: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read a spikes file (or the spikes of a simulation) and optionally join node properties.

    Parameters
    ----------
    spikes_file : path-like
        SONATA spikes (h5 or csv), or a simulation config: its ``output.spikes_file`` is read
        and its circuit gives the node properties.
    nodes : mapping of population name to NodePopulation, optional
        Populations (from :func:`bmtoolkit.sonata.read_nodes` or ``Circuit.nodes``) whose
        ``properties`` are joined to each spike by ``(population, node_id)`` (default: the
        config's circuit when ``spikes_file`` is a config).
    properties : sequence of str, optional
        Node properties to join (e.g. ``["pop_name", "ei"]``); requires ``nodes``.
    populations : sequence of str, optional
        Keep only these populations.

    Returns
    -------
    pandas.DataFrame
        ``population``, ``node_id``, ``timestamp`` and one column per joined property.
    """
    from bmtoolkit.sonata import read_spikes

    path, circuit = spikes_source(spikes_file)
    df = read_spikes(path)
    if populations is not None:
        df = df[df["population"].isin(list(populations))].reset_index(drop=True)
    if properties:
        if nodes is None and circuit is not None:
            nodes = circuit.nodes
        if nodes is None:
            raise ConfigError(
                f"node properties {list(properties)} need the nodes: give a simulation config "
                "instead of the spikes file, or nodes=",
                path=path,
            )
        df = join_node_properties(df, nodes, properties)
    return df


def spikes_source(source: str | os.PathLike[str]) -> tuple[Path, Circuit | None]:
    """The spikes file of ``source`` and, for a simulation config, its :class:`Circuit`.

    Examples
    --------
    >>> spikes_source("output/spikes.h5")  # doctest: +SKIP
    (PosixPath('output/spikes.h5'), None)
    """
    from bmtoolkit.sonata.circuit import file_kind

    path = Path(source)
    if path.suffix.lower() != ".json" or file_kind(path) != "config":
        return path, None
    from bmtoolkit.sonata import Circuit, SimulationConfig, load_config

    cfg = load_config(path)
    if not isinstance(cfg, SimulationConfig):
        raise ConfigError(
            "a circuit config has no spikes; give a simulation config or a spikes file",
            path=path,
        )
    return Path(cfg.output.spikes_file), Circuit(cfg)


def join_node_properties(
    spikes: pd.DataFrame, nodes: Mapping[str, NodePopulation], properties: Sequence[str]
) -> pd.DataFrame:
    """Add node ``properties`` as columns to a spikes table (missing values stay NaN)."""
    out = spikes.copy()
    for prop in properties:
        out[prop] = pd.Series(np.full(len(out), None, dtype=object), index=out.index)
    for pop, rows in out.groupby("population").groups.items():
        population = nodes.get(pop)
        if population is None:
            continue
        ids = out.loc[rows, "node_id"].to_numpy()
        for prop in properties:
            if prop in population.property_names:
                out.loc[rows, prop] = population.column(prop, ids)
    return out


def firing_rates(
    spikes: pd.DataFrame,
    *,
    t_start: float,
    t_stop: float,
    node_ids: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Mean firing rate (Hz) of each node over ``[t_start, t_stop)``.

    Nodes listed in ``node_ids`` that never spiked get rate 0.
    """
    if t_stop <= t_start:
        raise ConfigError(f"t_stop ({t_stop}) must be after t_start ({t_start})")
    window = spikes[(spikes["timestamp"] >= t_start) & (spikes["timestamp"] < t_stop)]
    counts = window.groupby(["population", "node_id"]).size()
    if node_ids is not None:
        index = pd.MultiIndex.from_tuples(
            [(pop, int(i)) for pop, ids in node_ids.items() for i in ids],
            names=["population", "node_id"],
        )
        counts = counts.reindex(index, fill_value=0)
    rates = counts.astype(float) / ((t_stop - t_start) / 1000.0)
    return rates.rename("rate").reset_index()


def population_rate(
    spikes: pd.DataFrame,
    *,
    t_start: float,
    t_stop: float,
    bin_size: float = 5.0,
    n_nodes: int | None = None,
    smoothing: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """PSTH: mean rate per node (Hz) in bins of ``bin_size`` ms.

    Parameters
    ----------
    n_nodes : int, optional
        Number of nodes to average over (default: distinct spiking nodes).
    smoothing : float, optional
        Standard deviation (ms) of a Gaussian kernel applied to the histogram.

    Returns
    -------
    centers, rate : numpy arrays
    """
    if bin_size <= 0:
        raise ConfigError(f"bin_size must be > 0, got {bin_size}")
    edges = np.arange(t_start, t_stop + bin_size * 0.5, bin_size)
    counts, _ = np.histogram(spikes["timestamp"].to_numpy(), bins=edges)
    n = n_nodes if n_nodes is not None else max(spikes["node_id"].nunique(), 1)
    rate = counts / (n * bin_size / 1000.0)
    if smoothing:
        from scipy.ndimage import gaussian_filter1d

        rate = gaussian_filter1d(rate.astype(float), smoothing / bin_size, mode="nearest")
    return 0.5 * (edges[:-1] + edges[1:]), rate
