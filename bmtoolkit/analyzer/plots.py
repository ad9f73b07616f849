"""Plots of spikes and rates. matplotlib is imported only when a plot is drawn.

Every function returns ``(figure, axes)`` so the caller can adjust or save it.

Examples
--------
>>> import pandas as pd
>>> from bmtoolkit.analyzer.plots import plot_raster
>>> spikes = pd.DataFrame({"population": ["v1"] * 2, "node_id": [0, 1], "timestamp": [1.0, 2.0]})
>>> fig, ax = plot_raster(spikes)  # doctest: +SKIP
>>> fig.savefig("raster.png")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError


def _pyplot():
    import matplotlib

    if not os.environ.get("DISPLAY") and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _axes(ax, figsize: tuple[float, float], **subplot_kw):
    """``(fig, ax)``: a new figure of ``figsize`` or the figure of the given ``ax``."""
    if ax is not None:
        return ax.figure, ax
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=figsize, subplot_kw=subplot_kw or None)
    return fig, ax


def plot_raster(
    spikes: pd.DataFrame | str | os.PathLike[str],
    *,
    group_by: str | None = None,
    sort_by: str | None = None,
    ax=None,
    title: str | None = None,
    marker_size: float = 2.0,
    time_range: tuple[float, float] | None = None,
):
    """Raster plot: one dot per spike, coloured by ``group_by``.

    Parameters
    ----------
    spikes : DataFrame or path-like
        From :func:`bmtoolkit.analyzer.spikes.load_spikes` (with joined properties when
        ``group_by``/``sort_by`` name node properties), or what that function reads: a spikes
        file or a simulation config (whose circuit gives the ``group_by``/``sort_by`` properties).
    group_by : str, optional
        Column whose values get one colour and one legend entry each (e.g. ``"pop_name"``).
    sort_by : str, optional
        Column to order the rows of the raster by (nodes re-indexed by that order).

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)
    """
    if isinstance(spikes, str | os.PathLike):
        from bmtoolkit.analyzer.spikes import load_spikes

        wanted = [c for c in dict.fromkeys((group_by, sort_by)) if c not in (None, "population")]
        spikes = load_spikes(spikes, properties=wanted or None)
    for col in (group_by, sort_by):
        if col is not None and col not in spikes.columns:
            raise ConfigError(
                f"cannot group or sort by {col!r}: spikes have columns {list(spikes.columns)}"
            )
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 5))
    else:
        fig = ax.figure
    df = spikes
    if time_range is not None:
        df = df[(df["timestamp"] >= time_range[0]) & (df["timestamp"] < time_range[1])]
    y = _raster_rows(df, sort_by)
    groups = [(None, df.index)] if group_by is None else list(df.groupby(group_by).groups.items())
    for label, idx in groups:
        ax.scatter(
            df.loc[idx, "timestamp"],
            y.loc[idx],
            s=marker_size,
            marker="|" if len(df) < 2000 else ".",
            label=None if label is None else str(label),
            linewidths=0.8,
        )
    if group_by is not None and groups:
        ax.legend(title=group_by, markerscale=4, loc="upper right", fontsize="small")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("node" if sort_by is None else f"node (sorted by {sort_by})")
    if title:
        ax.set_title(title)
    return fig, ax


def _raster_rows(df: pd.DataFrame, sort_by: str | None) -> pd.Series:
    """Row of each spike: populations stacked, nodes in id (or ``sort_by``) order."""
    keys = df[["population", "node_id"]].drop_duplicates()
    if sort_by is not None:
        keys = keys.merge(df[["population", "node_id", sort_by]].drop_duplicates(), how="left")
        keys = keys.sort_values([sort_by, "population", "node_id"], kind="stable")
    else:
        keys = keys.sort_values(["population", "node_id"], kind="stable")
    keys = keys.assign(row=np.arange(len(keys)))
    rows = df[["population", "node_id"]].merge(keys[["population", "node_id", "row"]], how="left")
    return pd.Series(rows["row"].to_numpy(), index=df.index)


def plot_rates(
    rates: pd.DataFrame,
    *,
    group_by: str,
    kind: str = "bar",
    ax=None,
    title: str | None = None,
):
    """Mean firing rate per group as bars (mean +- s.d.) or box plots.

    ``rates`` has a ``rate`` column (from :func:`firing_rates`) and the ``group_by`` column.
    """
    if group_by not in rates.columns or "rate" not in rates.columns:
        raise ConfigError(f"rates need columns 'rate' and {group_by!r}; got {list(rates.columns)}")
    if kind not in ("bar", "box"):
        raise ConfigError(f"kind must be 'bar' or 'box', got {kind!r}")
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    grouped = rates.groupby(group_by)["rate"]
    labels = [str(k) for k in grouped.groups]
    if kind == "bar":
        ax.bar(labels, grouped.mean().to_numpy(), yerr=grouped.std(ddof=0).to_numpy(), capsize=3)
    else:
        ax.boxplot([g.to_numpy() for _, g in grouped], tick_labels=labels)
    ax.set_xlabel(group_by)
    ax.set_ylabel("firing rate (Hz)")
    if title:
        ax.set_title(title)
    return fig, ax


def plot_population_rate(
    series: Sequence[tuple[str, np.ndarray, np.ndarray]],
    *,
    ax=None,
    title: str | None = None,
):
    """Population rate time series: ``series`` is a list of ``(label, times_ms, rate_hz)``."""
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 3.5))
    else:
        fig = ax.figure
    for label, t, r in series:
        ax.plot(t, r, label=label)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz)")
    if len(series) > 1:
        ax.legend()
    if title:
        ax.set_title(title)
    return fig, ax
