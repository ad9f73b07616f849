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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from bmtoolkit.sonata.nodes import NodePopulation


def _pyplot():
    """``matplotlib.pyplot``, imported on first use with matplotlib's own backend choice.

    The analyzer never selects a backend: notebooks, IPython and desktop sessions keep their
    interactive figures, and headless machines get matplotlib's fallback (Agg). Commands that
    only write files select Agg themselves (:mod:`bmtoolkit.commands._figures`).
    """
    import matplotlib.pyplot as plt

    return plt


def _axes(ax, figsize: tuple[float, float], **subplot_kw):
    """``(fig, ax)``: a new figure of ``figsize`` or the figure of the given ``ax``."""
    if ax is not None:
        return ax.figure, ax
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=figsize, subplot_kw=subplot_kw or None)
    return fig, ax


#: Most spikes a raster draws; more are subsampled (at random, seed 0) and the title says so.
MAX_RASTER_SPIKES = 200_000


def plot_raster(
    spikes: pd.DataFrame | str | os.PathLike[str],
    *,
    group_by: str | None = None,
    sort_by: str | None = None,
    ax=None,
    title: str | None = None,
    marker_size: float | None = None,
    time_range: tuple[float, float] | None = None,
    nodes: Mapping[str, NodePopulation] | None = None,
    rate_panel: bool = False,
    bin_size: float = 5.0,
    max_spikes: int = MAX_RASTER_SPIKES,
):
    """Raster plot: one mark per spike on the row of its node, coloured by ``group_by``.

    Rows are real node ids (populations stacked, each labelled with its own ids), so silent
    cells keep their rows: the y-range covers every node of ``nodes`` (or of the config's
    circuit), otherwise every id up to the largest that spiked. With ``sort_by`` the rows
    are ordered by that property and the y-axis shows its values.

    Parameters
    ----------
    spikes : DataFrame or path-like
        From :func:`bmtoolkit.analyzer.spikes.load_spikes` (with joined properties when
        ``group_by``/``sort_by`` name node properties), or what that function reads: a spikes
        file or a simulation config (whose circuit gives the nodes and their properties).
    group_by : str, optional
        Column whose values get one colour and one legend entry each (e.g. ``"pop_name"``).
    sort_by : str, optional
        Property ordering the rows (read from ``nodes`` when given, else from the spikes).
    marker_size : float, optional
        Marker area in points^2; by default sized for the number of spikes drawn (large
        for a few spikes, small for hundreds of thousands).
    nodes : mapping of population name to node population, optional
        ``Circuit.nodes``: gives every node a row, silent ones included.
    rate_panel : bool
        Add a panel under the raster with the population rate (Hz per cell, ``bin_size`` ms
        bins, computed from all spikes). Needs its own figure (``ax`` must be None).
    max_spikes : int
        At most this many spikes are drawn (default :data:`MAX_RASTER_SPIKES`); beyond it a
        random subset is drawn and the title says "showing N of M spikes".

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)
        The raster's axes; the rate panel, if any, is ``fig.axes[1]``.

    Examples
    --------
    >>> fig, ax = plot_raster("config.json", group_by="pop_name", rate_panel=True)  # doctest: +SKIP
    """
    if isinstance(spikes, str | os.PathLike):
        from bmtoolkit.analyzer.spikes import load_spikes, spikes_source

        _, circuit = spikes_source(spikes)
        if nodes is None and circuit is not None:
            nodes = circuit.nodes
        wanted = [c for c in dict.fromkeys((group_by, sort_by)) if c not in (None, "population")]
        spikes = load_spikes(spikes, properties=wanted or None)
    for col in (group_by, sort_by):
        if col is not None and col not in spikes.columns:
            raise ConfigError(
                f"cannot group or sort by {col!r}: spikes have columns {list(spikes.columns)}"
            )
    if rate_panel and ax is not None:
        raise ConfigError("rate_panel=True draws its own figure: leave ax=None")
    plt = _pyplot()
    hist_ax = None
    if ax is not None:
        fig = ax.figure
    elif rate_panel:
        fig, (ax, hist_ax) = plt.subplots(
            2, 1, figsize=(9, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
        )
    else:
        fig, ax = plt.subplots(figsize=(9, 5))
    df = spikes
    if time_range is not None:
        df = df[(df["timestamp"] >= time_range[0]) & (df["timestamp"] < time_range[1])]
    # the populations that spiked (all of ``nodes`` when none did): inputs stay out
    pops = sorted(set(spikes["population"])) or sorted(nodes or ())
    layout = _RowLayout.of(df, pops, nodes, sort_by)
    y = layout.rows(df)
    total = len(df)
    if total > max_spikes:
        keep = np.sort(np.random.default_rng(0).choice(total, size=max_spikes, replace=False))
        df, y = df.iloc[keep], y.iloc[keep]
    size = marker_size if marker_size is not None else _marker_size(len(df))
    marker = "|" if len(df) < 5000 else "."
    groups = [(None, df.index)] if group_by is None else list(df.groupby(group_by).groups.items())
    for label, idx in groups:
        ax.scatter(
            df.loc[idx, "timestamp"],
            y.loc[idx],
            s=size,
            marker=marker,
            label=None if label is None else str(label),
            linewidths=1.0 if marker == "|" else 0,
        )
    if group_by is not None and groups:
        legend = ax.legend(title=group_by, loc="upper right", fontsize="small", framealpha=0.9)
        for handle in legend.legend_handles:
            handle.set_sizes([40.0])
            handle.set_linewidths([2.0])
            handle.set_alpha(1.0)
    layout.label_axis(ax)
    if time_range is not None:
        ax.set_xlim(*time_range)
    note = f"showing {len(df):,} of {total:,} spikes" if len(df) < total else None
    full_title = "; ".join(t for t in (title, note) if t)
    if full_title:
        ax.set_title(full_title)
    if hist_ax is not None:
        _rate_panel(hist_ax, spikes, time_range, bin_size, layout.n_nodes)
        ax.set_xlabel("")
    else:
        ax.set_xlabel("time (ms)")
    return fig, ax


def _marker_size(n_spikes: int) -> float:
    """Marker area (points^2) that keeps a few spikes visible and 500k spikes apart."""
    return float(np.clip(40.0 * np.sqrt(500.0 / max(n_spikes, 1)), 0.5, 40.0))


def _rate_panel(ax, spikes: pd.DataFrame, time_range, bin_size: float, n_nodes: int) -> None:
    from bmtoolkit.analyzer.spikes import population_rate

    if time_range is None:
        last = float(spikes["timestamp"].max()) if len(spikes) else 1.0
        time_range = (0.0, float(np.ceil(last + 1e-9)))
    t, r = population_rate(
        spikes,
        t_start=time_range[0],
        t_stop=time_range[1],
        bin_size=bin_size,
        n_nodes=max(n_nodes, 1),
    )
    ax.bar(t, r, width=bin_size, color="0.35", align="center")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz/cell)")


@dataclass(frozen=True)
class _RowLayout:
    """Where each node's row is: populations stacked in blocks, ids (or ranks) inside."""

    offsets: dict[str, int]
    rank: dict[str, pd.Series] | None  # population -> row within block, indexed by node id
    size: dict[str, int]
    sort_by: str | None
    values: list  # sort_by value of each row (sorted layouts only)

    @property
    def n_nodes(self) -> int:
        if self.rank is not None:
            return sum(len(r) for r in self.rank.values())
        return sum(self.size.values())

    @classmethod
    def of(cls, df: pd.DataFrame, pops: list[str], nodes, sort_by: str | None) -> _RowLayout:
        known = {p: np.asarray(nodes[p].ids()) for p in pops if nodes is not None and p in nodes}
        ids = {
            p: known.get(p, np.unique(df.loc[df["population"] == p, "node_id"].to_numpy()))
            for p in pops
        }
        rank, values = None, []
        if sort_by is not None:
            rank = {}
            for p in pops:
                if p in known and sort_by in nodes[p].property_names:
                    prop = pd.Series(np.asarray(nodes[p].column(sort_by, ids[p])), index=ids[p])
                else:
                    sub = df.loc[df["population"] == p, ["node_id", sort_by]].drop_duplicates(
                        "node_id"
                    )
                    prop = pd.Series(sub[sort_by].to_numpy(), index=sub["node_id"].to_numpy())
                order = prop.sort_values(kind="stable")
                rank[p] = pd.Series(np.arange(len(order)), index=order.index)
                values.extend(order.tolist())
            size = {p: len(rank[p]) for p in pops}
        else:
            size = {p: int(ids[p].max()) + 1 if len(ids[p]) else 0 for p in pops}
        offsets, at = {}, 0
        for p in pops:
            offsets[p] = at
            at += size[p]
        return cls(offsets, rank, size, sort_by, values)

    def rows(self, df: pd.DataFrame) -> pd.Series:
        out = np.zeros(len(df))
        for p, idx in df.groupby("population").indices.items():
            local = df["node_id"].to_numpy()[idx]
            if self.rank is not None:
                local = self.rank[p].reindex(local).to_numpy()
            out[idx] = self.offsets.get(p, 0) + local
        return pd.Series(out, index=df.index)

    def label_axis(self, ax) -> None:
        from matplotlib.ticker import FuncFormatter, MaxNLocator

        total = sum(self.size.values())
        ax.set_ylim(-0.5, max(total, 1) - 0.5)
        starts = sorted((o, p) for p, o in self.offsets.items())
        if self.sort_by is not None:
            values = self.values

            def fmt(y, _pos):
                i = int(round(y))
                if not 0 <= i < len(values):
                    return ""
                v = values[i]
                return f"{v:.3g}" if isinstance(v, float | np.floating) else str(v)

            ax.set_ylabel(self.sort_by)
        else:

            def fmt(y, _pos):
                i = int(round(y))
                block = [(o, p) for o, p in starts if o <= i]
                return str(i - block[-1][0]) if block else ""

            ax.set_ylabel("node id")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
        ax.yaxis.set_major_formatter(FuncFormatter(fmt))
        if len(starts) > 1:
            for o, p in starts:
                if o > 0:
                    ax.axhline(o - 0.5, color="0.6", linewidth=0.6)
                ax.text(1.01, (o + self.size[p] / 2) / max(total, 1), p, rotation=90,
                        transform=ax.transAxes, va="center", fontsize="small")  # fmt: skip


def plot_rates(
    rates: pd.DataFrame,
    *,
    group_by: str,
    kind: str = "bar",
    ax=None,
    title: str | None = None,
    groups: Sequence[object] | None = None,
):
    """Mean firing rate per group as bars (mean +- s.d. across nodes) or box plots.

    Parameters
    ----------
    rates : DataFrame
        A ``rate`` column (from :func:`firing_rates`, silent nodes at 0 Hz) and ``group_by``.
    group_by : str
        Column naming each node's group (``"population"``, ``"pop_name"`` ...).
    kind : {"bar", "box"}
        Bars with labelled error bars (s.d. across the nodes of the group; the number of
        nodes is written above each bar), or box plots.
    groups : sequence, optional
        Groups to show, in order; a group without nodes in ``rates`` is drawn at 0 Hz
        (n=0) instead of vanishing. By default the groups present in ``rates``.

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)

    Examples
    --------
    >>> rates = pd.DataFrame({"rate": [2.0, 0.0], "pop_name": ["exc", "inh"]})
    >>> fig, ax = plot_rates(rates, group_by="pop_name", groups=["exc", "inh", "lgn"])  # doctest: +SKIP
    """
    if group_by not in rates.columns or "rate" not in rates.columns:
        raise ConfigError(f"rates need columns 'rate' and {group_by!r}; got {list(rates.columns)}")
    if kind not in ("bar", "box"):
        raise ConfigError(f"kind must be 'bar' or 'box', got {kind!r}")
    fig, ax = _axes(ax, (6, 4))
    grouped = rates.groupby(group_by)["rate"]
    keys = list(grouped.groups) if groups is None else list(groups)
    present = {str(k): g.to_numpy(dtype=float) for k, g in grouped}
    values = [present.get(str(k), np.zeros(0)) for k in keys]
    labels = [str(k) for k in keys]
    if kind == "bar":
        means = [float(v.mean()) if v.size else 0.0 for v in values]
        sds = [float(v.std()) if v.size else 0.0 for v in values]
        bars = ax.bar(labels, means, capsize=3)
        ax.errorbar(labels, means, yerr=sds, fmt="none", ecolor="black", capsize=3,
                    label="mean \u00b1 s.d. across nodes")  # fmt: skip
        for bar, v in zip(bars, values, strict=True):
            ax.annotate(
                f"n={v.size}",
                (bar.get_x() + bar.get_width() / 2, 0.0),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize="small",
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.8, "lw": 0},
            )
        ax.legend(loc="best", fontsize="small")
    else:
        ax.boxplot([v if v.size else np.zeros(1) for v in values], tick_labels=labels)
    ax.set_xlabel(group_by)
    ax.set_ylabel("firing rate (Hz)")
    ax.set_ylim(bottom=0)
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
