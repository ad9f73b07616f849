"""The few lines printed after a run: spikes and mean rate per population, silent populations
and empty node sets.

:func:`run_summary` reads the spikes file the run wrote and the circuit it simulated;
:func:`summary_lines` turns the result into text. :func:`~bmtoolkit.simulator.core.runner.run`
prints the lines on stderr (unless ``progress=False``), writes them to the log and keeps the
numbers in ``RunResult.extra["summary"]``.

Examples
--------
>>> s = RunSummary(duration_ms=1000.0, populations={"v1": PopulationActivity(10, 50)})
>>> summary_lines(s)[0]
'v1: 50 spikes from 10 cells, mean rate 5 Hz'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import BmtkError

if TYPE_CHECKING:
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.sonata.nodes import NodePopulation


@dataclass(frozen=True)
class PopulationActivity:
    """Cells simulated in one population and the spikes they fired.

    Examples
    --------
    >>> PopulationActivity(4, 8).rate_hz(1000.0)
    2.0
    """

    n_cells: int
    n_spikes: int

    def rate_hz(self, duration_ms: float) -> float:
        """Mean firing rate per cell over ``duration_ms``."""
        if self.n_cells == 0 or duration_ms <= 0:
            return 0.0
        return self.n_spikes / self.n_cells / (duration_ms / 1000.0)


@dataclass(frozen=True)
class RunSummary:
    """What :func:`run_summary` found (see the module docstring)."""

    duration_ms: float
    populations: dict[str, PopulationActivity] = field(default_factory=dict)
    empty_node_sets: tuple[str, ...] = ()

    @property
    def silent(self) -> list[str]:
        """Populations with cells but no spikes."""
        return [n for n, a in self.populations.items() if a.n_cells and not a.n_spikes]

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers, for ``RunResult.extra`` and ``run_config.json``."""
        return {
            "duration_ms": self.duration_ms,
            "populations": {
                n: {
                    "cells": a.n_cells,
                    "spikes": a.n_spikes,
                    "mean_rate_hz": a.rate_hz(self.duration_ms),
                }
                for n, a in self.populations.items()
            },
            "silent_populations": self.silent,
            "empty_node_sets": list(self.empty_node_sets),
        }


def _is_virtual(plan: RunPlan, pop: NodePopulation) -> bool:
    # the numpy types table, not the DataFrame: a run of detailed cells loads no pandas
    names = set(pop.types_table.columns) | set(pop.property_names)
    if "model_type" not in names:
        return False
    return bool(np.all(np.asarray(pop.column("model_type")).astype(str) == "virtual"))


def run_summary(plan: RunPlan, spikes_file: str | Path | None) -> RunSummary:
    """Spike counts per population of a finished run.

    Virtual populations (inputs) are listed only when they spiked (LGN cells driven by a movie).

    Parameters
    ----------
    plan : RunPlan
        The plan that was run.
    spikes_file : path or None
        The spikes file it wrote (None: the backend writes no spikes, e.g. population rates;
        only empty node sets are reported).

    Returns
    -------
    RunSummary
    """
    from bmtoolkit.sonata.spikes import spike_counts

    counts: dict[str, int] = {}
    pops: dict[str, PopulationActivity] = {}
    if spikes_file is not None and Path(spikes_file).is_file():
        counts = spike_counts(spikes_file)  # no DataFrame: a run of detailed cells loads no pandas
    selected = plan.resolve_node_set(None) if spikes_file is not None else {}
    for name, pop in plan.circuit.nodes.items():
        if spikes_file is None:
            break  # a backend without spikes (rates only): nothing to count
        n_cells = len(selected.get(name, ()))
        if name not in counts and (n_cells == 0 or _is_virtual(plan, pop)):
            continue
        pops[name] = PopulationActivity(n_cells, counts.get(name, 0))
    empty = []
    sets = plan.node_sets  # the simulation config's inline sets included
    for set_name in sets.names:
        try:
            ids = sets.resolve(set_name, plan.circuit)
        except (BmtkError, KeyError, ValueError):
            continue  # a node set the run did not use may name other populations
        if sum(len(v) for v in ids.values()) == 0:
            empty.append(set_name)
    return RunSummary(plan.tstop - plan.tstart, pops, tuple(empty))


def summary_lines(summary: RunSummary) -> list[str]:
    """Human-readable lines of a :class:`RunSummary`."""
    lines = []
    for name, act in summary.populations.items():
        rate = act.rate_hz(summary.duration_ms)
        lines.append(
            f"{name}: {act.n_spikes} spike{'s' * (act.n_spikes != 1)} from {act.n_cells} "
            f"cell{'s' * (act.n_cells != 1)}, mean rate {rate:.3g} Hz"
        )
    if summary.silent:
        lines.append(f"populations with no spikes: {', '.join(summary.silent)}")
    if summary.empty_node_sets:
        lines.append(f"node sets that select no cells: {', '.join(summary.empty_node_sets)}")
    return lines
