"""The run plan: everything a backend needs from a simulation config, typed and resolved.

:class:`RunPlan` is built once from a :class:`~bmtoolkit.sonata.config.SimulationConfig`
(the config is loaded and validated by :mod:`bmtoolkit.sonata`), applies command-line
overrides (backend, threads, seed, output folder) and offers the few helpers every backend
uses: the opened :class:`~bmtoolkit.sonata.Circuit`, node-set resolution, typed inputs and
reports. Backends never read the config dictionary themselves.

Examples
--------
>>> from bmtoolkit.simulator.core.plan import RunPlan
>>> plan = RunPlan.from_config("config.json", threads=2)  # doctest: +SKIP
>>> plan.tstop, plan.dt, plan.threads  # doctest: +SKIP
(1000.0, 0.1, 2)
>>> plan.resolve_node_set("recorded_cells")  # doctest: +SKIP
{'internal': array([  0,  80, 160, 240, 270])}
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import BmtkWarning, ConfigError

if TYPE_CHECKING:
    from bmtoolkit.simulator.core.catalogue import ModelCatalogue
    from bmtoolkit.simulator.core.staging import OutputStaging
    from bmtoolkit.sonata import Circuit, NodeSets
    from bmtoolkit.sonata.config import InputConfig, ReportConfig, RunConfig, SimulationConfig

#: RunPlan.with_overrides names of the run values kept in :class:`RunConfig`
_RUN_FIELDS: Mapping[str, str] = {
    "tstart": "tstart",
    "tstop": "tstop",
    "dt": "dt",
    "seed": "random_seed",
}

#: most time steps a run may have (10^12 steps of 0.1 ms are about 3 simulated years)
MAX_STEPS = 1e12
#: largest time (ms) a run value may hold; beyond it time arithmetic overflows
MAX_TIME_MS = 1e15


@dataclass(frozen=True)
class RunPlan:
    """A simulation config turned into what backends need.

    Parameters
    ----------
    config : SimulationConfig
        The loaded config (kept for ``raw`` access and for copying into the output folder).
    run : RunConfig
        The run values, the one place they are kept: the config's ``run`` section with the
        overrides applied (``--seed`` sets ``random_seed``). :attr:`tstart`, :attr:`tstop`,
        :attr:`dt` (ms), :attr:`seed` and :attr:`n_steps` read it.
    threads : int
        Local threads (``run.nthreads``/``run.local_num_threads``/BMTK's ``run.n_thread`` or the
        override; default 1).
    backend : str or None
        ``--backend`` override, otherwise chosen by :func:`~bmtoolkit.simulator.core.runner.run`.
    output_dir : Path
        Output folder; ``spikes_file`` and every report file lie inside it unless absolute.
    spikes_file : Path or None
        Spike output (``None`` disables spike writing).
    spikes_sort_order : str
        ``"by_time"``, ``"by_id"`` or ``"none"``.
    log_file : Path or None
        Log file (absolute).
    overwrite_output_dir : bool
        Remove old outputs before the run (default true, as BMTK).
    node_set : str or None
        Simulation-level node set restricting the cells simulated.
    conditions : Mapping
        ``conditions`` block (``celsius``, ``v_init`` ...).
    extra : Mapping
        Anything else a backend may use (``run`` extras such as ``spike_threshold``).
    progress : bool or None
        Progress while running (see :mod:`bmtoolkit.progress`): None shows a bar in a
        terminal or notebook and progress lines on any other stderr; False shows nothing.
    config_output_dir : Path or None
        The config's own ``output_dir``; files the config placed there move to
        :attr:`output_dir` when it is overridden.
    staging : OutputStaging or None
        Set by :class:`~bmtoolkit.simulator.core.output.RunOutput` while a run writes its
        outputs beside the output folder: :meth:`output_path` then gives the staged place.

    Examples
    --------
    >>> plan = RunPlan.from_config("config.json", threads=2)  # doctest: +SKIP
    >>> plan.n_steps, plan.output_path("v.h5")  # doctest: +SKIP
    (10000, PosixPath('output/v.h5'))
    """

    config: SimulationConfig
    run: RunConfig
    threads: int = 1
    backend: str | None = None
    output_dir: Path = Path("output")
    spikes_file: Path | None = None
    spikes_sort_order: str = "by_time"
    log_file: Path | None = None
    overwrite_output_dir: bool = True
    node_set: str | None = None
    conditions: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    progress: bool | None = None
    config_output_dir: Path | None = None
    staging: OutputStaging | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_config(
        cls,
        config: SimulationConfig | str | os.PathLike[str],
        *,
        backend: str | None = None,
        threads: int | None = None,
        seed: int | None = None,
        output_dir: str | os.PathLike[str] | None = None,
        validate: bool = True,
        progress: bool | None = None,
    ) -> RunPlan:
        """Build a plan from a config path or a loaded ``SimulationConfig``.

        Parameters
        ----------
        config : str, PathLike or SimulationConfig
            The simulation config (BMTK's combined ``config.json`` also works).
        backend, threads, seed, output_dir : optional
            Command-line overrides of the config's values.
        validate : bool
            Validate the config with its JSON schema when loading it from a path.

        Raises
        ------
        ConfigError
            ``tstop <= tstart``, ``dt <= 0`` or ``threads < 1``.
        """
        if isinstance(config, str | os.PathLike):
            from bmtoolkit.sonata import load_simulation_config

            sim = load_simulation_config(config, validate=validate)
        else:
            sim = config
        run = sim.run
        path = sim.path
        extra = dict(run.extra or {})
        if threads is None:
            threads = run.threads if run.threads is not None else 1
        if seed is None:
            seed = run.random_seed
        out = sim.output
        # a relative --output-dir is relative to the working directory, like any CLI path
        out_dir = Path(output_dir).absolute() if output_dir is not None else Path(out.output_dir)
        spikes_file = out.spikes_file
        log_file = out.log_file
        if output_dir is not None:  # re-home outputs that lived in the old folder
            spikes_file = _rehome(spikes_file, Path(out.output_dir), out_dir)
            log_file = _rehome(log_file, Path(out.output_dir), out_dir)
        for name in ("spike_threshold", "nsteps_block", "dL"):
            value = getattr(run, name, None)
            if value is not None:
                extra.setdefault(name, value)
        run = replace(
            run,
            tstart=float(run.tstart or 0.0),
            tstop=float(run.tstop),
            dt=float(run.dt),
            random_seed=None if seed is None else _integer(seed, path, "run.random_seed"),
        )
        plan = cls(
            config=sim,
            run=run,
            threads=_integer(threads, path, "run.nthreads"),
            backend=backend,
            output_dir=out_dir,
            spikes_file=None if spikes_file is None else Path(spikes_file),
            spikes_sort_order=str(out.spikes_sort_order or "by_time"),
            log_file=None if log_file is None else Path(log_file),
            overwrite_output_dir=bool(out.overwrite_output_dir),
            node_set=sim.node_set,
            conditions=dict(sim.conditions or {}),
            extra=extra,
            progress=progress,
            config_output_dir=Path(out.output_dir),
        )
        plan.check(path)
        return plan

    def check(self, path: str | os.PathLike[str] | None = None) -> None:
        """Raise :class:`ConfigError` for values no backend can run."""
        for name in ("tstart", "tstop", "dt"):
            if not abs(getattr(self, name)) <= MAX_TIME_MS:  # also NaN and infinities
                raise ConfigError(
                    f"expected a finite number of ms up to {MAX_TIME_MS:.0e}, "
                    f"got {getattr(self, name)}",
                    path=path,
                    field=f"run.{name}",
                )
        if not self.dt > 0:
            raise ConfigError(f"dt must be > 0, got {self.dt}", path=path, field="run.dt")
        if not self.tstop > self.tstart:
            raise ConfigError(
                f"tstop ({self.tstop}) must be greater than tstart ({self.tstart})",
                path=path,
                field="run.tstop",
            )
        steps = self.duration / self.dt
        if not (1 <= steps <= MAX_STEPS):  # also catches an overflow to inf
            raise ConfigError(
                f"(tstop - tstart) / dt = {steps:.3g} steps; expected 1 to {MAX_STEPS:.0e}",
                path=path,
                field="run.dt" if steps < 1 else "run.tstop",
            )
        if self.threads < 1:
            raise ConfigError(f"threads must be >= 1, got {self.threads}", path=path)
        if self.spikes_sort_order not in ("by_time", "by_id", "none"):
            raise ConfigError(
                f"spikes_sort_order {self.spikes_sort_order!r}; expected by_time, by_id or none",
                path=path,
                field="output.spikes_sort_order",
            )

    def with_overrides(self, **changes: Any) -> RunPlan:
        """A copy with some fields changed (``plan.with_overrides(threads=4)``).

        A copy that only writes elsewhere (``output_dir``, ``staging``, ``progress``) keeps
        what this plan has already opened and loaded (circuit, node sets, inputs), so the
        checks run before a run are not repeated, nor their warnings given twice.
        """
        run_changes = {_RUN_FIELDS[k]: changes.pop(k) for k in list(changes) if k in _RUN_FIELDS}
        if run_changes:
            changes["run"] = replace(self.run, **run_changes)
        copy = replace(self, **changes)
        if set(changes) <= {"output_dir", "staging", "progress"}:
            for name in ("circuit", "node_sets", "loaded_inputs", "catalogue"):
                if name in self.__dict__:
                    copy.__dict__[name] = self.__dict__[name]
        return copy

    # ------------------------------------------------------------------ run values
    @property
    def tstart(self) -> float:
        """Start of the simulated interval, ms (``run.tstart``)."""
        return self.run.tstart

    @property
    def tstop(self) -> float:
        """End of the simulated interval, ms (``run.tstop``)."""
        return self.run.tstop

    @property
    def dt(self) -> float:
        """Time step, ms (``run.dt``)."""
        return self.run.dt

    @property
    def seed(self) -> int | None:
        """``run.random_seed`` (or the override); backends seed every generator from it."""
        return self.run.random_seed

    @property
    def duration(self) -> float:
        """``tstop - tstart`` in ms."""
        return self.run.duration

    @property
    def n_steps(self) -> int:
        """Number of ``dt`` steps between ``tstart`` and ``tstop`` (``run.n_steps``)."""
        return self.run.n_steps

    # ------------------------------------------------------------------ derived values
    @property
    def config_path(self) -> Path | None:
        """The simulation config file, when loaded from one."""
        path = self.config.path
        return None if path is None else Path(path)

    @property
    def target_simulator(self) -> str | None:
        """The config's ``target_simulator`` (``"NEST"``, ``"NEURON"`` ...), if any."""
        value = getattr(self.config, "target_simulator", None)
        if value is None:
            circuit = getattr(self.config, "circuit", None)
            raw = getattr(circuit, "raw", {}) or {}
            value = raw.get("target_simulator")
        return value

    @property
    def components(self) -> Mapping[str, Path]:
        """Merged circuit and simulation ``components`` (absolute paths)."""
        comps = getattr(self.config, "components", None)
        if comps is None:
            comps = getattr(getattr(self.config, "circuit", None), "components", {})
        return comps or {}

    def component_dir(self, name: str) -> Path:
        """One ``components`` folder, e.g. ``point_neuron_models_dir``.

        Raises
        ------
        ConfigError
            The config does not define it (the message lists the ones it defines).
        """
        comps = self.components
        if name not in comps:
            known = ", ".join(sorted(comps)) or "none"
            raise ConfigError(
                f"components.{name} is not set (defined: {known})",
                path=self.config_path,
                field=f"components.{name}",
            )
        return Path(comps[name])

    def output_path(self, name: str | os.PathLike[str]) -> Path:
        """``name`` inside :attr:`output_dir` unless it is absolute.

        Absolute paths inside the config's own output folder follow an overridden
        :attr:`output_dir`, so ``--output-dir`` moves every output. While a run stages its
        outputs (:attr:`staging`), the staged place of that path.
        """
        p = Path(name)
        if not p.is_absolute():
            p = self.output_dir / p
        elif self.config_output_dir is not None:
            p = _rehome(p, self.config_output_dir, self.output_dir)
        return p if self.staging is None else self.staging.stage(p)

    # ------------------------------------------------------------------ circuit access
    @cached_property
    def catalogue(self) -> ModelCatalogue:
        """The run's :class:`~bmtoolkit.simulator.core.catalogue.ModelCatalogue`: node and
        edge type models, each population resolved once."""
        from bmtoolkit.simulator.core.catalogue import ModelCatalogue

        return ModelCatalogue(self.components, self.config_path)

    @cached_property
    def circuit(self) -> Circuit:
        """The opened :class:`bmtoolkit.sonata.Circuit` (opened once, on first use)."""
        from bmtoolkit.sonata import Circuit

        return Circuit(self.config.circuit)

    @cached_property
    def node_sets(self) -> NodeSets:
        """Node sets of the run: the simulation config's file over the circuit's, and node
        sets written inline in the simulation config (``"node_sets": {...}``, as BMTK's
        examples do) over both."""
        from bmtoolkit.sonata import NodeSets

        path = getattr(self.config, "node_sets_file", None)
        sets = NodeSets.from_file(path) if path is not None else self.circuit.node_sets
        inline = getattr(self.config, "node_sets", None)
        if inline:
            sets = sets.merged(NodeSets(dict(inline), path=self.config_path))
        return sets

    def resolve_node_set(self, spec: Any) -> dict[str, np.ndarray]:
        """``{population: sorted node ids}`` for a node-set name, dict or id list.

        ``None`` means every node of the run (the plan's ``node_set``, or all nodes).
        """
        if spec is None:
            spec = self.node_set if self.node_set is not None else "all"
        selected = self.node_sets.resolve(spec, self.circuit)
        if not selected:
            from bmtoolkit.sonata.config_keys import empty_node_set_message

            message = empty_node_set_message(spec, self.circuit.nodes)
            # issued from this line, so a node set resolved twice warns once
            warnings.warn(f"{self.config_path}: {message}", BmtkWarning, stacklevel=1)
        return selected

    # ------------------------------------------------------------------ inputs and reports
    @property
    def input_configs(self) -> Mapping[str, InputConfig]:
        """``{name: InputConfig}`` of enabled inputs, in config order."""
        inputs = getattr(self.config, "inputs", {}) or {}
        return {
            k: v for k, v in inputs.items() if (getattr(v, "params", {}) or {}).get("enabled", True)
        }

    @property
    def report_configs(self) -> Mapping[str, ReportConfig]:
        """``{name: ReportConfig}`` of enabled reports, in config order."""
        reports = getattr(self.config, "reports", {}) or {}
        return {
            k: v
            for k, v in reports.items()
            if (getattr(v, "params", {}) or {}).get("enabled", True)
        }

    @cached_property
    def loaded_inputs(self) -> tuple[Any, ...]:
        """Every enabled input, loaded once (the preflight checks load them first)."""
        from bmtoolkit.simulator.core.inputs import load_input

        return tuple(load_input(cfg, self) for cfg in self.input_configs.values())

    def inputs(self) -> list[Any]:
        """Typed inputs (:mod:`bmtoolkit.simulator.core.inputs`) of every enabled input."""
        return list(self.loaded_inputs)

    def reports(self) -> list[Any]:
        """Typed reports (:mod:`bmtoolkit.simulator.core.reports`) of every enabled report."""
        from bmtoolkit.simulator.core.reports import load_report

        return [load_report(cfg, self) for cfg in self.report_configs.values()]


def _rehome(path: Any, old_dir: Path, new_dir: Path) -> Any:
    if path is None:
        return None
    p = Path(path)
    try:
        return new_dir / p.relative_to(old_dir)
    except ValueError:
        return p


def _integer(value: Any, path: Any, field: str) -> int:
    """``value`` as an int, or a ConfigError naming the field (``"abc"``, ``2.5``, ``true``)."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not ok and isinstance(value, float) and value.is_integer():
        return int(value)
    if not ok:
        raise ConfigError(f"expected an integer, got {value!r}", path=path, field=field)
    return int(value)
