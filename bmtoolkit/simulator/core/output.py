"""Output folder of a run: preparing it, logging into it, recording what was run.

:class:`RunOutput` is a context manager used by :func:`~bmtoolkit.simulator.core.runner.run`:

- on entry it checks ``plan.output_dir`` and every output path (nothing is deleted: a folder
  holding files bmtoolkit did not write, or an input of the run, is refused; see
  :mod:`bmtoolkit.simulator.core.staging`), creates the staging folder beside it and attaches
  a log file handler to the ``bmtoolkit`` logger (``plan.log_file``, staged too);
  :attr:`RunOutput.staged_plan` is the plan the backend runs, writing into the staging folder;
- on a clean exit it writes ``run_config.json`` (the resolved config plus the backend, seed,
  threads, step timings and output paths, so a run can be reproduced from its own output
  folder) and swaps the staged outputs in; on an error it removes the staging folder, so the
  previous outputs, log included, stay as they were.

Under ``mpiexec`` only rank 0 touches the folder, the log file and ``run_config.json`` (the
NEST and NEURON backends gather every output on rank 0); another rank's writes, if any, go
to a staging folder of its own, removed when the run ends.

Examples
--------
>>> from bmtoolkit.simulator.core.output import RunOutput
>>> with RunOutput(plan, backend="mynet") as out:  # doctest: +SKIP
...     result = PointNet(out.staged_plan).run()
...     out.record(result)
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.simulator.core.staging import OutputStaging, check_output_folder, run_inputs

if TYPE_CHECKING:
    from bmtoolkit.simulator.core.plan import RunPlan

log = logging.getLogger("bmtoolkit")

#: name of the resolved-config copy written into the output folder
RUN_CONFIG_NAME = "run_config.json"
#: environment variables MPI launchers set to the process rank (OpenMPI, MPICH/Hydra, Slurm)
_RANK_VARS = ("OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK", "SLURM_PROCID")


def mpi_rank() -> int:
    """Rank of this process under ``mpiexec``/``srun`` (0 when not launched by MPI).

    Read from the launcher's environment, so no MPI library is imported.

    Examples
    --------
    >>> isinstance(mpi_rank(), int)
    True
    """
    for var in _RANK_VARS:
        value = os.environ.get(var)
        if value is not None and value.strip().isdigit():
            return int(value)
    return 0


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, str | int | float | bool) or obj is None:
        return obj
    return str(obj)


def prepare_output_dir(
    output_dir: Path, *, overwrite: bool, protect: tuple[Path, ...] = ()
) -> None:
    """Create ``output_dir`` after checking that outputs may be written into it.

    Nothing in the folder is removed: a run replaces its own output files only when it ends
    well (see :mod:`bmtoolkit.simulator.core.staging`).

    Parameters
    ----------
    protect : tuple of Path
        Inputs of the run: a folder that is or holds one of them is refused.

    Raises
    ------
    ConfigError
        The folder holds files bmtoolkit did not write, or an input, or the current
        directory; or it is not empty and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "output"
    >>> prepare_output_dir(out, overwrite=True)
    >>> out.is_dir()
    True
    """
    output_dir = Path(output_dir).resolve()
    check_output_folder(
        output_dir, inputs=[Path(p).resolve() for p in protect], overwrite=overwrite
    )
    output_dir.mkdir(parents=True, exist_ok=True)


def planned_outputs(plan: RunPlan) -> dict[Path, str]:
    """Final paths of the outputs a run is known to write before it starts, with their field.

    ``run_config.json``, the spikes file, the log file and every enabled report's file;
    backends may write more (checked again when the outputs are swapped in).

    Examples
    --------
    >>> planned_outputs(plan)  # doctest: +SKIP
    {PosixPath('/sim/output/run_config.json'): 'output', PosixPath('/sim/output/spikes.h5'):
    'output.spikes_file', ...}
    """
    paths = {plan.output_path(RUN_CONFIG_NAME): "output"}
    for name, field in ((plan.spikes_file, "spikes_file"), (plan.log_file, "log_file")):
        if name is not None:
            paths.setdefault(plan.output_path(name), f"output.{field}")
    for key, cfg in plan.report_configs.items():
        file_name = getattr(cfg, "file_name", None)
        if file_name is not None:
            paths.setdefault(plan.output_path(file_name), f"reports.{key}.file_name")
    return paths


class RunOutput:
    """Context manager owning a run's output folder and log file.

    Parameters
    ----------
    plan : RunPlan
        The run plan (output folder, log file, overwrite flag).
    backend : str
        Backend name, recorded in ``run_config.json``.

    Examples
    --------
    >>> with RunOutput(plan, backend="mynet") as out:  # doctest: +SKIP
    ...     out.record(NumpyNetBackend(out.staged_plan).run())
    """

    def __init__(self, plan: RunPlan, backend: str) -> None:
        self.plan = plan
        #: the plan the backend runs: its outputs go to the staging folder
        self.staged_plan = plan
        self.backend = backend
        self.staging: OutputStaging | None = None
        self._handler: logging.Handler | None = None
        self._t0 = 0.0
        self._result: Any = None
        self._old_level = logging.NOTSET
        self.rank = 0

    def __enter__(self) -> RunOutput:
        plan = self.plan
        self.rank = mpi_rank()
        # under MPI only rank 0 checks the folder and swaps the outputs in (the NEST and
        # NEURON backends gather every output on it); another rank writes whatever it writes
        # into a staging folder of its own, removed at the end
        staging = OutputStaging(
            plan.output_dir, run_inputs(plan.config), overwrite=plan.overwrite_output_dir
        )
        if self.rank == 0:
            staging.prepare(planned_outputs(plan))
        else:
            staging.prepare_scratch()
        self.staging = staging
        self.staged_plan = plan.with_overrides(output_dir=staging.dir, staging=staging)
        try:
            self._open_log()
        except BaseException:
            self._close(failed=True)
            raise
        self._t0 = time.perf_counter()
        log.info(
            "run %s with backend %s: tstart=%g tstop=%g dt=%g seed=%s threads=%d",
            plan.config_path or "<python>",
            self.backend,
            plan.tstart,
            plan.tstop,
            plan.dt,
            plan.seed,
            plan.threads,
        )
        return self

    def _open_log(self) -> None:
        plan = self.staged_plan
        if plan.log_file is None or self.rank != 0:
            return
        log_path = plan.output_path(plan.log_file)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s"))
        self._old_level = log.level
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)
        log.addHandler(handler)
        self._handler = handler

    def record(self, result: Any) -> None:
        """Remember the backend's :class:`RunResult` for ``run_config.json``."""
        self._result = result

    def _close(self, *, failed: bool) -> None:
        if self._handler is not None:
            log.removeHandler(self._handler)
            self._handler.close()
            log.setLevel(self._old_level)
            self._handler = None
        if failed and self.staging is not None:
            self.staging.discard()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        total = time.perf_counter() - self._t0
        if exc is not None:
            # the staged log goes with the staged outputs: the previous outputs stay as they
            # were, and the caller reports the error
            self._close(failed=True)
            return
        try:
            log.info("run finished in %.3f s", total)
            self._final_outputs()
            if self.rank == 0:
                self.write_run_config(total)
        except BaseException:
            self._close(failed=True)
            raise
        self._close(failed=self.rank != 0)
        if self.staging is not None and self.rank == 0:
            from bmtoolkit import __version__

            self.staging.commit({"bmtoolkit_version": __version__, "backend": self.backend})

    def _final_outputs(self) -> None:
        """Point the result's output paths at their final places (not the staging folder)."""
        outputs = getattr(self._result, "outputs", None)
        if self.staging is None or not isinstance(outputs, dict):
            return
        for key, value in outputs.items():
            if isinstance(value, str | os.PathLike):
                outputs[key] = str(self.staging.final(value))

    def write_run_config(self, total_s: float) -> Path:
        """Write ``run_config.json`` (resolved config, settings, timings, outputs)."""
        plan = self.plan
        from bmtoolkit import __version__

        raw = getattr(plan.config, "raw", {}) or {}
        result = self._result
        doc = {
            "bmtoolkit_version": __version__,
            "config_file": plan.config_path,
            "backend": self.backend,
            "run": {
                "tstart": plan.tstart,
                "tstop": plan.tstop,
                "dt": plan.dt,
                "random_seed": plan.seed,
                "threads": plan.threads,
            },
            "timings_s": {**(getattr(result, "timings", {}) or {}), "total": total_s},
            "outputs": getattr(result, "outputs", {}) or {},
            "config": raw,
        }
        path = self.staged_plan.output_dir / RUN_CONFIG_NAME
        path.write_text(json.dumps(_jsonable(doc), indent=2) + "\n", encoding="utf-8")
        return path
