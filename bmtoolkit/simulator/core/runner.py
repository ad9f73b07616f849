"""Run a simulation config: choose the backend, prepare outputs, run the steps.

:func:`run` is what ``bmtoolkit run CONFIG`` and :func:`bmtoolkit.simulator.run` call. The
backend is, in order of precedence: the ``backend`` argument (``--backend``); the config's
``target_simulator`` (``NEST``, ``NEURON`` ...: the backend whose declaration claims it); the
node model templates and model types of the circuit, when exactly one backend claims them
(``nest:`` templates, ``biophysical``, ``population`` ...).

Examples
--------
>>> from bmtoolkit.simulator.core.runner import run
>>> result = run("config.json", backend="mynet", threads=2)  # doctest: +SKIP
>>> result.outputs["spikes"]  # doctest: +SKIP
'output/spikes.h5'
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.base import RunResult
from bmtoolkit.simulator.core.output import RunOutput
from bmtoolkit.simulator.core.plan import RunPlan
from bmtoolkit.simulator.core.preflight import check as check_plan
from bmtoolkit.simulator.core.registries import backend_names, get_backend
from bmtoolkit.simulator.core.spec import backend_for_simulator, backend_votes

if TYPE_CHECKING:
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.sonata.config import SimulationConfig

log = logging.getLogger("bmtoolkit.simulator")


def choose_backend(plan: RunPlan) -> str:
    """Name of the backend for ``plan`` (see the module docstring for the order).

    What each backend claims (``target_simulator`` values, model templates, model types) is
    read from its declaration (:mod:`~bmtoolkit.simulator.core.spec`).

    Raises
    ------
    ConfigError
        Nothing decides; the message lists the registered backends.

    Examples
    --------
    >>> choose_backend(RunPlan.from_config("config.json"))  # doctest: +SKIP
    'mynet'
    """
    if plan.backend:
        return plan.backend
    target = plan.target_simulator
    if target:
        name = backend_for_simulator(str(target))
        if name is not None:
            return name
        if str(target).lower() in backend_names():
            return str(target).lower()
    templates: set[str] = set()
    model_types: set[str] = set()
    for pop in plan.circuit.nodes.values():
        names = set(pop.property_names)
        if "model_template" in names:
            templates |= set(map(str, pop.column("model_template")))
        if "model_type" in names:
            model_types |= set(map(str, pop.column("model_type")))
    votes = backend_votes(templates, model_types)
    if len(votes) == 1:
        return votes.pop()
    hint = f"the node models suggest {sorted(votes)}" if votes else "no node model decides"
    raise ConfigError(
        f"cannot choose a backend ({hint}); pass --backend with one of: "
        f"{', '.join(backend_names())}",
        path=plan.config_path,
        field="target_simulator",
    )


def run(
    config: RunPlan | SimulationConfig | str | os.PathLike[str],
    backend: str | None = None,
    threads: int | None = None,
    *,
    seed: int | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
    validate: bool = True,
) -> RunResult:
    """Run a SONATA simulation config and write its outputs.

    Parameters
    ----------
    config : str, PathLike, SimulationConfig or RunPlan
        The simulation config (BMTK's combined ``config.json`` works too).
    backend : str, optional
        Backend name (``bmtoolkit run --help`` lists them); default chosen from the config.
    threads : int, optional
        Local threads (overrides the config).
    seed : int, optional
        Random seed (overrides ``run.random_seed``).
    output_dir : path, optional
        Output folder (overrides ``output.output_dir``).
    progress : bool, optional
        None (default): a bar in a terminal or notebook, progress lines on any other
        stderr, and a summary of the spikes at the end; False: none of these on screen (the
        log file gets them all the same).

    Returns
    -------
    RunResult
        Output paths and the timing of every step.

    Examples
    --------
    >>> result = run("config.json", backend="mynet", threads=2)  # doctest: +SKIP
    >>> sorted(result.timings)  # doctest: +SKIP
    ['add_inputs', 'add_reports', 'build_network', 'setup', 'simulate', 'write_outputs']
    """
    if isinstance(config, RunPlan):
        plan = config
        given = {"backend": backend, "threads": threads, "seed": seed}
        changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        if progress is not None:
            changes["progress"] = progress
        if changes:
            plan = plan.with_overrides(**changes)
    else:
        plan = RunPlan.from_config(
            config,
            backend=backend,
            threads=threads,
            seed=seed,
            output_dir=output_dir,
            validate=validate,
            progress=progress,
        )
    name = choose_backend(plan)
    cls = get_backend(name)
    check_plan(plan, name)  # what `bmtoolkit validate` checks too, before any output is touched
    with RunOutput(plan, backend=name) as out:
        result = cls(out.staged_plan).run()
        _spikes_csv_copy(out.staged_plan, result)
        out.record(result)
        if out.rank == 0:  # before the log closes, so that log.txt ends with it
            _summarize(out.staged_plan, result)
    return result


def _spikes_csv_copy(plan: RunPlan, result: RunResult) -> None:
    """BMTK's ``output.spikes_file_csv``: a CSV copy of the spikes file the run wrote."""
    from bmtoolkit.simulator.core.output import mpi_rank

    output = getattr(plan.config, "output", None)
    name = getattr(output, "extra", {}).get("spikes_file_csv")
    if not name or "spikes_csv" in result.outputs or "spikes" not in result.outputs:
        return
    if mpi_rank() != 0:
        return
    from bmtoolkit.sonata import read_spikes, write_spikes

    path = plan.output_path(name)
    path = path if path.suffix.lower() == ".csv" else path.with_suffix(".csv")
    spikes = read_spikes(result.outputs["spikes"])
    write_spikes(path, spikes, sort_order=plan.spikes_sort_order)
    result.outputs["spikes_csv"] = str(path)


def _summarize(plan: RunPlan, result: RunResult) -> None:
    """Print and log the run summary; keep its numbers in ``result.extra["summary"]``."""
    from bmtoolkit.exceptions import BmtkError
    from bmtoolkit.progress import notify
    from bmtoolkit.simulator.core.summary import run_summary, summary_lines

    try:
        summary = run_summary(plan, result.outputs.get("spikes"))
    except (BmtkError, OSError) as err:  # the run itself succeeded: say so, do not fail it
        log.warning("no run summary: %s", err)
        return
    result.extra["summary"] = summary.as_dict()
    lines = summary_lines(summary)
    if lines:
        notify("run summary\n  " + "\n  ".join(lines), show=plan.progress)
