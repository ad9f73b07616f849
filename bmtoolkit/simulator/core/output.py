"""Output folder of a run: preparing it, logging into it, recording what was run.

:class:`RunOutput` is a context manager used by :func:`~bmtoolkit.simulator.core.runner.run`:

- on entry it prepares ``plan.output_dir`` (with ``overwrite_output_dir`` the previous content
  is removed, otherwise a non-empty folder is an error) and attaches a log file handler to the
  ``bmtoolkit`` logger (``plan.log_file``);
- on exit it writes ``run_config.json``: the resolved config plus the backend, seed, threads,
  step timings and output paths, so a run can be reproduced from its own output folder.

Under ``mpiexec`` only rank 0 touches the folder, the log file and ``run_config.json``; the
other ranks wait until the folder exists.

Examples
--------
>>> from bmtoolkit.simulator.core.output import RunOutput
>>> with RunOutput(plan, backend="pointnet") as out:  # doctest: +SKIP
...     result = backend.run()
...     out.record(result)
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError

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


def _wait_for_dir(path: Path, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while not path.is_dir():
        if time.monotonic() - t0 > timeout:
            raise ConfigError(f"output folder {path} was not created by rank 0")
        time.sleep(0.05)


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
    """Create ``output_dir``; with ``overwrite`` remove what it holds first.

    Parameters
    ----------
    protect : tuple of Path
        Files that must survive (the config, inputs): a folder holding one of them is never
        removed.

    Raises
    ------
    ConfigError
        The folder exists, is not empty and ``overwrite`` is false; or removing it would
        delete a protected file or the current directory.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "output"
    >>> prepare_output_dir(out, overwrite=True)
    >>> out.is_dir()
    True
    """
    output_dir = Path(output_dir).resolve()
    if output_dir.exists() and any(output_dir.iterdir()):
        if not overwrite:
            raise ConfigError(
                f"output folder {output_dir} is not empty and overwrite_output_dir is false",
                field="output.overwrite_output_dir",
            )
        cwd = Path.cwd().resolve()
        guarded = [cwd, *(Path(p).resolve() for p in protect)]
        for g in guarded:
            if g == output_dir or output_dir in g.parents:
                raise ConfigError(
                    f"refusing to empty output folder {output_dir}: it contains {g}",
                    field="output.output_dir",
                )
        shutil.rmtree(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)


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
    >>> with RunOutput(plan, backend="numpynet") as out:  # doctest: +SKIP
    ...     out.record(NumpyNetBackend(plan).run())
    """

    def __init__(self, plan: Any, backend: str) -> None:
        self.plan = plan
        self.backend = backend
        self._handler: logging.Handler | None = None
        self._t0 = 0.0
        self._result: Any = None
        self._old_level = logging.NOTSET
        self.rank = 0

    def __enter__(self) -> RunOutput:
        plan = self.plan
        protect: list[Path] = []
        if plan.config_path is not None:
            protect.append(plan.config_path)
        self.rank = mpi_rank()
        if self.rank == 0:
            prepare_output_dir(
                plan.output_dir, overwrite=plan.overwrite_output_dir, protect=tuple(protect)
            )
        else:  # under MPI only rank 0 prepares the folder, writes the log and run_config
            _wait_for_dir(plan.output_dir)
        if plan.log_file is not None and self.rank == 0:
            log_path = plan.output_path(plan.log_file)
            log_path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(log_path, mode="w", encoding="utf-8")
            handler.setFormatter(
                logging.Formatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s")
            )
            self._old_level = log.level
            if log.getEffectiveLevel() > logging.INFO:
                log.setLevel(logging.INFO)
            log.addHandler(handler)
            self._handler = handler
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

    def record(self, result: Any) -> None:
        """Remember the backend's :class:`RunResult` for ``run_config.json``."""
        self._result = result

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        total = time.perf_counter() - self._t0
        try:
            if exc is None:
                log.info("run finished in %.3f s", total)
                if self.rank == 0:
                    self.write_run_config(total)
            else:
                log.error("run failed after %.3f s: %s", total, exc)
        finally:
            if self._handler is not None:
                log.removeHandler(self._handler)
                self._handler.close()
                log.setLevel(self._old_level)

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
        path = plan.output_dir / RUN_CONFIG_NAME
        path.write_text(json.dumps(_jsonable(doc), indent=2) + "\n", encoding="utf-8")
        return path
