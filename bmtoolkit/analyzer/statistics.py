"""Spike-train statistics per node: ISI coefficient of variation and Fano factor.

Both take the spikes table of :func:`bmtoolkit.analyzer.load_spikes` (columns ``population``,
``node_id``, ``timestamp``) and return one row per node.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from bmtoolkit.analyzer.statistics import isi_cv
>>> regular = pd.DataFrame({"population": "v1", "node_id": 0, "timestamp": np.arange(0, 100, 10.0)})
>>> float(isi_cv(regular)["isi_cv"].iloc[0])
0.0
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError


def isi_cv(spikes: pd.DataFrame, *, min_spikes: int = 3) -> pd.DataFrame:
    """Coefficient of variation of the inter-spike intervals of each node.

    Parameters
    ----------
    spikes : DataFrame
        ``population``, ``node_id``, ``timestamp`` (ms).
    min_spikes : int
        Nodes with fewer spikes get NaN (a CV needs at least two intervals).

    Returns
    -------
    DataFrame
        ``population``, ``node_id``, ``n_spikes``, ``mean_isi`` (ms), ``isi_cv``.
        A Poisson train has CV close to 1, a clock-like train 0.

    Examples
    --------
    >>> df = pd.DataFrame({"population": "p", "node_id": 0, "timestamp": [0.0, 10.0, 30.0]})
    >>> round(float(isi_cv(df)["isi_cv"].iloc[0]), 3)
    0.333
    """
    if min_spikes < 3:
        raise ConfigError(f"min_spikes must be >= 3, got {min_spikes}")
    df = spikes.sort_values(["population", "node_id", "timestamp"], kind="stable")
    rows = []
    for (pop, nid), g in df.groupby(["population", "node_id"], sort=True):
        t = g["timestamp"].to_numpy(dtype=np.float64)
        if len(t) < min_spikes:
            rows.append((pop, int(nid), len(t), np.nan, np.nan))
            continue
        isi = np.diff(t)
        mean = float(isi.mean())
        cv = float(isi.std() / mean) if mean > 0 else np.nan
        rows.append((pop, int(nid), len(t), mean, cv))
    return pd.DataFrame(rows, columns=["population", "node_id", "n_spikes", "mean_isi", "isi_cv"])


def spike_counts(
    spikes: pd.DataFrame,
    *,
    t_start: float,
    t_stop: float,
    window: float,
    node_ids: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Spike counts of each node in consecutive windows of ``window`` ms.

    Returns
    -------
    DataFrame
        Index ``(population, node_id)``, one column per window (its start time in ms).
        Nodes listed in ``node_ids`` that never spiked get a row of zeros.
    """
    if window <= 0 or t_stop <= t_start:
        raise ConfigError(
            f"need window > 0 and t_stop > t_start; got window={window}, "
            f"t_start={t_start}, t_stop={t_stop}"
        )
    n_win = int(np.floor((t_stop - t_start) / window + 1e-9))
    if n_win < 1:
        raise ConfigError(f"window {window} ms is longer than [{t_start}, {t_stop})")
    edges = t_start + window * np.arange(n_win + 1)
    sel = spikes[(spikes["timestamp"] >= edges[0]) & (spikes["timestamp"] < edges[-1])]
    k = np.minimum(((sel["timestamp"].to_numpy() - t_start) // window).astype(int), n_win - 1)
    counts = (
        pd.DataFrame(
            {
                "population": sel["population"].to_numpy(),
                "node_id": sel["node_id"].to_numpy(),
                "k": k,
            }
        )
        .groupby(["population", "node_id", "k"])
        .size()
        .unstack("k", fill_value=0)
        .reindex(columns=range(n_win), fill_value=0)
    )
    if node_ids is not None:
        index = pd.MultiIndex.from_tuples(
            [(pop, int(i)) for pop, ids in node_ids.items() for i in ids],
            names=["population", "node_id"],
        )
        counts = counts.reindex(index, fill_value=0)
    counts.columns = edges[:-1]
    return counts


def fano_factor(
    spikes: pd.DataFrame,
    *,
    t_start: float,
    t_stop: float,
    window: float = 100.0,
    node_ids: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Fano factor (variance / mean of the spike count in windows of ``window`` ms) per node.

    Parameters
    ----------
    spikes : DataFrame
        ``population``, ``node_id``, ``timestamp`` (ms).
    t_start, t_stop : float
        Analysis interval (ms); split into ``floor((t_stop - t_start) / window)`` windows.
    window : float
        Counting window (ms).
    node_ids : mapping, optional
        ``{population: ids}`` of nodes to include even when silent (their Fano factor is NaN).

    Returns
    -------
    DataFrame
        ``population``, ``node_id``, ``mean_count``, ``fano``. A Poisson process gives 1.

    Examples
    --------
    >>> df = pd.DataFrame({"population": "p", "node_id": 0, "timestamp": np.arange(5.0, 1000, 10)})
    >>> float(fano_factor(df, t_start=0, t_stop=1000, window=100)["fano"].iloc[0])
    0.0
    """
    counts = spike_counts(spikes, t_start=t_start, t_stop=t_stop, window=window, node_ids=node_ids)
    values = counts.to_numpy(dtype=np.float64)
    if values.shape[1] < 2:
        raise ConfigError(
            f"the Fano factor needs at least 2 windows; [{t_start}, {t_stop}) holds "
            f"{values.shape[1]} of {window} ms"
        )
    mean = values.mean(axis=1)
    var = values.var(axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fano = np.where(mean > 0, var / mean, np.nan)
    out = counts.index.to_frame(index=False)
    out["mean_count"] = mean
    out["fano"] = fano
    return out


def plot_distribution(
    values: pd.DataFrame,
    column: str,
    *,
    group_by: str | None = None,
    bins: int = 20,
    ax=None,
    title: str | None = None,
):
    """Histogram of one statistic (e.g. ``isi_cv``, ``fano``, ``rate``), one per group.

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)

    Examples
    --------
    >>> fig, ax = plot_distribution(isi_cv(spikes), "isi_cv")  # doctest: +SKIP
    """
    from bmtoolkit.analyzer.plots import _axes

    for col in (column, group_by):
        if col is not None and col not in values.columns:
            raise ConfigError(f"no column {col!r}; the table has {list(values.columns)}")
    finite = values[np.isfinite(values[column].to_numpy(dtype=np.float64))]
    fig, ax = _axes(ax, (6, 4))
    data = finite[column].to_numpy(dtype=np.float64)
    edges = np.histogram_bin_edges(data if len(data) else [0.0, 1.0], bins=bins)
    groups = [(None, finite)] if group_by is None else list(finite.groupby(group_by))
    for label, g in groups:
        ax.hist(
            g[column].to_numpy(dtype=np.float64),
            bins=edges,
            alpha=0.6 if group_by else 1.0,
            label=None if label is None else str(label),
        )
    ax.set_xlabel(column)
    ax.set_ylabel("nodes")
    if group_by is not None and groups:
        ax.legend(title=group_by, fontsize="small")
    if title:
        ax.set_title(title)
    return fig, ax
