"""The backend contract: the few methods every simulator backend implements.

A run goes through the same steps on every backend; :meth:`Backend.run` is the template
that calls them in order and logs their timings::

    plan = RunPlan.from_config(load_simulation_config(path))
    backend = get_backend(name)(plan)
    result = backend.run()

Backends import their simulator (``nest``, ``neuron``, ``torch``) inside :meth:`setup`, never
at module import, and raise :class:`~bmtoolkit.exceptions.BackendNotAvailableError` when it
is missing. All outputs go through :mod:`bmtoolkit.sonata` writers.

Examples
--------
>>> from bmtoolkit.simulator.core.base import Backend
>>> sorted(Backend.__abstractmethods__)
['build_network', 'setup', 'simulate', 'write_outputs']
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # pragma: no cover
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.simulator.core.spec import BackendSpec

log = logging.getLogger("bmtoolkit.simulator")

#: what each step of :meth:`Backend.run` is called in progress bars and lines
STEP_LABELS = {
    "setup": "setting up the simulator",
    "build_network": "loading the network",
    "add_inputs": "adding inputs",
    "add_reports": "adding recorders",
    "simulate": "simulating",
    "write_outputs": "writing outputs",
}


@dataclass
class RunResult:
    """What a run produced: output paths and step timings (seconds)."""

    backend: str
    outputs: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


class Backend(ABC):
    """Base class of simulator backends.

    Parameters
    ----------
    plan : RunPlan
        The typed, validated run plan built from a simulation config.

    Notes
    -----
    Subclasses set :attr:`name` and implement :meth:`setup`, :meth:`build_network`,
    :meth:`simulate` and :meth:`write_outputs`. :meth:`add_inputs` and :meth:`add_reports`
    default to doing nothing so a backend without inputs or reports need not override them.
    """

    #: registry name (``--backend NAME``), as its :class:`~bmtoolkit.simulator.core.spec.BackendSpec` says
    name: ClassVar[str] = ""
    #: python modules the backend needs, for error messages and ``show-versions``
    requires: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def preflight(cls, plan: RunPlan) -> list[Any]:
        """Problems this backend can see in ``plan`` before it starts (default: none).

        Returns :class:`~bmtoolkit.sonata.validation.Problem` objects; ``bmtoolkit validate``
        and ``bmtoolkit run`` both call it through
        :func:`~bmtoolkit.simulator.core.preflight.preflight`. May import the simulator.
        """
        return []

    def __init__(self, plan: RunPlan) -> None:
        self.plan = plan
        self.result = RunResult(backend=self.name)

    @classmethod
    def declaration(cls) -> BackendSpec:
        """This backend's :class:`~bmtoolkit.simulator.core.spec.BackendSpec` (its folder's
        ``spec.py`` or entry point; a class registered without one declares nothing)."""
        from bmtoolkit.simulator.core.spec import BackendSpec, get_spec

        spec = get_spec(cls.name)
        if spec is None:
            spec = BackendSpec(cls.name, f"{cls.__module__}:{cls.__qualname__}", cls.requires)
        return spec

    @cached_property
    def options(self) -> Any:
        """The typed options of this run (the spec's ``options.from_plan(plan)``)."""
        return self.declaration().parse_options(self.plan)

    @property
    def default_delay(self) -> float | None:
        """Delay (ms) of edges whose files give none, by the spec's
        :class:`~bmtoolkit.simulator.core.spec.DelayPolicy` (``None``: delays are required)."""
        return self.declaration().default_delay(self.plan.dt)

    @abstractmethod
    def setup(self) -> None:
        """Import and reset the simulator; apply threads, dt, seed and conditions."""

    @abstractmethod
    def build_network(self) -> None:
        """Create cells and connections from the plan's circuit."""

    def add_inputs(self) -> None:
        """Attach every input of the plan (spike trains, generators, clamps)."""
        return None

    def add_reports(self) -> None:
        """Attach recorders for spikes and every report of the plan."""
        return None

    @abstractmethod
    def simulate(self) -> None:
        """Advance the simulation from ``plan.tstart`` to ``plan.tstop``."""

    @abstractmethod
    def write_outputs(self) -> None:
        """Hand back spikes (:meth:`hand_back_spikes`) and traces (:meth:`hand_back_trace`)."""

    # ------------------------------------------------------------------ outputs
    def hand_back_spikes(self, spikes: Any) -> Path | None:
        """Write the run's spikes where the config says and record them as ``"spikes"``.

        ``spikes`` is ``{population: (node_ids, times_ms)}`` (or a DataFrame); core names the
        file (``output.spikes_file``, sorted by ``output.spikes_sort_order``). Under MPI call
        it on the rank that gathered the spikes.
        """
        from bmtoolkit.simulator.core.reports import write_spike_output

        path = write_spike_output(self.plan, spikes)
        if path is not None:
            self.result.outputs["spikes"] = str(path)
        return path

    def trace_path(self, report: Any, variable: str) -> Path:
        """Where one variable of a membrane report goes, and its key in ``result.outputs``."""
        return self.plan.output_path(report.file_for(variable))

    def hand_back_trace(
        self, report: Any, variable: str, data: Any, *, tstop: float | None = None
    ) -> Path:
        """Write one variable of a membrane report and record it in ``result.outputs``.

        ``data`` is ``{population: (node_ids, values (rows, n))}``, row ``j`` holding the
        value at ``start_time + (j + 1) dt``; core names the file (:meth:`trace_path`) and
        the output (the report's name, ``"<name>:<variable>"`` when it records several).
        """
        from bmtoolkit.simulator.core.reports import write_membrane_report

        path = write_membrane_report(
            self.trace_path(report, variable),
            variable,
            data,
            tstart=report.start_time,
            tstop=report.end_time if tstop is None else tstop,
            dt=report.dt,
        )
        self.record_output(report, variable, path)
        return path

    def record_output(self, report: Any, variable: str, path: Path) -> None:
        """Record a report file written by the backend's own writer under core's key."""
        key = report.name if len(report.variables) == 1 else f"{report.name}:{variable}"
        self.result.outputs[key] = str(path)

    def run(self) -> RunResult:
        """Run every step in order, logging and recording how long each took."""
        from bmtoolkit.progress import Progress
        from bmtoolkit.simulator.core.output import mpi_rank

        steps = ("setup", "build_network", "add_inputs", "add_reports", "simulate", "write_outputs")
        # one bar or set of lines per run, from rank 0; other ranks only log
        show = getattr(self.plan, "progress", None) if mpi_rank() == 0 else False
        with Progress(len(steps), f"{self.name} run", unit="steps", show=show) as bar:
            for step in steps:
                bar.stage(STEP_LABELS[step])
                t0 = time.perf_counter()
                getattr(self, step)()
                elapsed = time.perf_counter() - t0
                self.result.timings[step] = elapsed
                log.info("%s: %s took %.3f s", self.name, step, elapsed)
                bar.update(1)
        return self.result
