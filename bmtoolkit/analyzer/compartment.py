"""BMTK's ``bmtk.analyzer.compartment`` module path: :func:`plot_traces` from a config.

:func:`plot_traces` takes BMTK's keywords (``config_file``, ``report_name``,
``report_path``, ``population``, ``node_ids``, ``group_by``, ``group_excludes``,
``average``, ``times``, ``title``, ``show_legend``, ``show``, ``save_as``), reads the report
with :func:`bmtoolkit.analyzer.load_traces` and draws it with
:func:`bmtoolkit.analyzer.plot_traces`; it returns the matplotlib figure, as BMTK's does.
With ``group_by`` (or ``average=True``) one mean trace is drawn per group (or overall).

Examples
--------
>>> from bmtoolkit.analyzer.compartment import plot_traces
>>> fig = plot_traces(config_file="config.json", report_name="membrane_potential",
...                   node_ids=[0, 5], show=False)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError

__all__ = ["plot_traces"]

PathLike = str | os.PathLike[str]


def _report_file(config_file: PathLike, report_name: str | None) -> tuple[Path, Any]:
    """The file of report ``report_name`` (or of the only report) and the config's circuit."""
    from bmtoolkit.sonata import Circuit, SimulationConfig, load_config

    cfg = load_config(config_file)
    if not isinstance(cfg, SimulationConfig):
        raise ConfigError("expected a simulation config", path=config_file)
    reports = {name: rep for name, rep in cfg.reports.items() if rep.file_name is not None}
    if report_name is None:
        if len(reports) != 1:
            raise ConfigError(
                f"say which report with report_name=; the config has {sorted(reports)}",
                path=config_file,
                field="reports",
            )
        report_name = next(iter(reports))
    if report_name not in reports:
        raise ConfigError(
            f"no report named {report_name!r}; the config has {sorted(reports)}",
            path=config_file,
            field="reports",
        )
    return Path(reports[report_name].file_name), Circuit(cfg)


def plot_traces(
    config_file: PathLike | None = None,
    report_name: str | None = None,
    population: str | None = None,
    report_path: PathLike | None = None,
    group_by: str | None = None,
    group_excludes: str | Sequence[str] | None = None,
    nodes_file: PathLike | None = None,
    node_types_file: PathLike | None = None,
    node_ids: Sequence[int] | None = None,
    sections: str = "origin",
    average: bool = False,
    times: tuple[float, float] | None = None,
    title: str | None = None,
    show_legend: bool | None = None,
    show: bool = True,
    save_as: PathLike | None = None,
    **kwargs: Any,
):
    """Traces of a report (BMTK's keywords; see the module docstring).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from bmtoolkit.analyzer.plots import _pyplot
    from bmtoolkit.analyzer.traces import load_traces
    from bmtoolkit.analyzer.traces import plot_traces as draw

    if sections not in ("origin", "soma", "all"):
        raise ConfigError(f"sections must be 'origin' or 'all', got {sections!r}")
    circuit = None
    if report_path is None:
        if config_file is None:
            raise ConfigError("give config_file= (a simulation config) or report_path=")
        report_path, circuit = _report_file(config_file, report_name)
    traces = load_traces(
        report_path,
        node_ids=None if node_ids is None else [int(i) for i in node_ids],
        population=population,
        time_window=None if times is None else (float(times[0]), float(times[1])),
        compartments="all" if sections == "all" else "soma",
    )
    if group_by is not None or average:
        labels, means = _group_means(
            traces, group_by, group_excludes, circuit, nodes_file, node_types_file
        )
        fig, ax = _pyplot().subplots(figsize=(8, 4))
        for label, column in zip(labels, means.T):
            ax.plot(traces.times, column, lw=0.8, label=f"{label} (mean)")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel(traces.variable or "value")
        if show_legend is not False:
            ax.legend(fontsize="small", loc="upper right")
    else:
        fig, _ = draw(traces, legend=show_legend)
    if title:
        fig.suptitle(title)
    if save_as:
        fig.savefig(save_as)
    if show:
        _pyplot().show()
    return fig


def _group_means(traces, group_by, group_excludes, circuit, nodes_file, node_types_file):
    """``(labels, data)``: one mean column per ``group_by`` value (or one overall mean)."""
    if group_by is None:
        labels = np.array(["all"] * traces.data.shape[1], dtype=object)
    else:
        if nodes_file is not None:
            from bmtoolkit.sonata import read_nodes

            types = None if node_types_file is None else Path(node_types_file)
            nodes = read_nodes(Path(nodes_file), types)
        elif circuit is not None:
            nodes = circuit.nodes
        else:
            raise ConfigError(
                f"group_by={group_by!r} needs the nodes: give config_file= or nodes_file="
            )
        if traces.population not in nodes:
            raise ConfigError(f"population {traces.population!r} is not in the nodes")
        column = nodes[traces.population].column(group_by, traces.node_ids)
        labels = np.asarray(column, dtype=object)
    excluded = set([group_excludes] if isinstance(group_excludes, str) else group_excludes or [])
    keys = [k for k in dict.fromkeys(labels.tolist()) if k not in excluded]
    if not keys:
        raise ConfigError("no trace is left to average after group_excludes")
    data = np.column_stack([traces.data[:, labels == k].mean(axis=1) for k in keys])
    return [str(k) for k in keys], data
