"""Membrane and compartment traces of chosen nodes, read from SONATA frame reports.

Examples
--------
>>> import os, tempfile, numpy as np
>>> from bmtoolkit.sonata import FrameReportData, write_frame_report
>>> from bmtoolkit.analyzer.traces import load_traces
>>> path = os.path.join(tempfile.mkdtemp(), "v.h5")
>>> rep = FrameReportData.soma("v1", node_ids=[0, 1], data=np.zeros((4, 2)),
...                            tstart=0.0, tstop=0.4, dt=0.1)
>>> write_frame_report(path, [rep])
>>> tr = load_traces(path, node_ids=[1])
>>> tr.data.shape, tr.labels
((4, 1), ['v1 1'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bmtoolkit.exceptions import ConfigError


@dataclass(frozen=True)
class Traces:
    """Time series of some nodes (or compartments) of one report population.

    Attributes
    ----------
    population : str
    times : ndarray, shape (T,)
        Time of each row in ms.
    data : ndarray, shape (T, K)
        One column per trace.
    node_ids : ndarray, shape (K,)
        Node of each column.
    element_ids : ndarray, shape (K,)
        Section (element) id of each column; 0 for soma reports.
    units : str or None
    variable : str or None
    """

    population: str
    times: np.ndarray
    data: np.ndarray
    node_ids: np.ndarray
    element_ids: np.ndarray
    units: str | None = None
    variable: str | None = None

    @property
    def labels(self) -> list[str]:
        """One legend label per column (``"<population> <node>"``, with ``:<element>`` when a
        node has several columns)."""
        multi = len(set(self.node_ids.tolist())) < len(self.node_ids)
        return [
            f"{self.population} {n}" + (f":{e}" if multi else "")
            for n, e in zip(self.node_ids.tolist(), self.element_ids.tolist(), strict=True)
        ]


def load_traces(
    report_file: str | os.PathLike[str],
    *,
    node_ids: Sequence[int] | None = None,
    population: str | None = None,
    time_window: tuple[float, float] | None = None,
    compartments: str = "soma",
    max_nodes: int | None = None,
) -> Traces:
    """Read traces of chosen nodes from a frame report.

    Parameters
    ----------
    report_file : path-like
        SONATA frame report (``/report/<population>/...``) or a legacy single-cell report.
    node_ids : sequence of int, optional
        Nodes to read (default: all nodes of the report, or the first ``max_nodes``).
    population : str, optional
        Report population; required when the file holds several.
    time_window : (float, float), optional
        Keep rows with ``t0 <= t < t1`` (ms).
    compartments : {"soma", "all"}
        ``"soma"`` keeps the first column of each node, ``"all"`` every compartment.
    max_nodes : int, optional
        Read at most this many nodes when ``node_ids`` is not given.

    Returns
    -------
    Traces

    Raises
    ------
    ConfigError
        Several populations and none chosen, or an unknown ``compartments`` value.
    NodeIdError
        A requested node is not in the report.
    """
    from bmtoolkit.sonata import read_frame_report

    if compartments not in ("soma", "all"):
        raise ConfigError(f"compartments must be 'soma' or 'all', got {compartments!r}")
    reports = read_frame_report(Path(report_file))
    if population is None:
        if len(reports) > 1:
            raise ConfigError(
                f"report has populations {sorted(reports)}; choose one with population=",
                path=report_file,
            )
        population = next(iter(reports))
    if population not in reports:
        raise ConfigError(
            f"report has no population {population!r}; it has {sorted(reports)}",
            path=report_file,
            field="/report",
        )
    rep = reports[population]
    ids = rep.node_ids if node_ids is None else np.asarray(node_ids, dtype=np.int64)
    if node_ids is None and max_nodes is not None:
        ids = ids[:max_nodes]
    block = rep.data([int(n) for n in ids], time_window=time_window)
    keep, owners, elements, start = [], [], [], 0
    for n in ids:
        sl = rep.columns(int(n))
        width = sl.stop - sl.start
        span = np.arange(start, start + (1 if compartments == "soma" else width))
        keep.append(span)
        owners.append(np.full(len(span), n, dtype=np.int64))
        elements.append(rep.element_ids[sl.start : sl.start + len(span)])
        start += width
    columns = np.concatenate(keep) if keep else np.zeros(0, np.int64)
    times = rep.times()
    if time_window is not None:
        times = times[(times >= time_window[0] - 1e-9) & (times < time_window[1] - 1e-9)]
    return Traces(
        population=population,
        times=times[: len(block)],
        data=np.asarray(block[:, columns], dtype=np.float64),
        node_ids=np.concatenate(owners) if owners else np.zeros(0, np.int64),
        element_ids=np.concatenate(elements) if elements else np.zeros(0, np.int64),
        units=rep.units,
        variable=rep.variable,
    )


def plot_traces(
    traces: Traces,
    *,
    ax=None,
    offset: float = 0.0,
    title: str | None = None,
    legend: bool | None = None,
):
    """Plot each column of ``traces`` as one line against time.

    Parameters
    ----------
    traces : Traces
        From :func:`load_traces`.
    offset : float
        Vertical shift between consecutive traces (0 overlays them).
    legend : bool, optional
        Show a legend (default: when there are at most 10 traces).

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)

    Examples
    --------
    >>> fig, ax = plot_traces(load_traces("membrane_potential.h5", node_ids=[0, 1]))  # doctest: +SKIP
    >>> len(ax.lines)  # doctest: +SKIP
    2
    """
    from bmtoolkit.analyzer.plots import _axes

    fig, ax = _axes(ax, (8, 4))
    for k, label in enumerate(traces.labels):
        ax.plot(traces.times, traces.data[:, k] + k * offset, lw=0.8, label=label)
    ax.set_xlabel("time (ms)")
    name = traces.variable or "value"
    ax.set_ylabel(f"{name} ({traces.units})" if traces.units else name)
    if legend or (legend is None and 0 < len(traces.labels) <= 10):
        ax.legend(fontsize="small", loc="upper right")
    if title:
        ax.set_title(title)
    return fig, ax
