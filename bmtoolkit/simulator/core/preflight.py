"""Checks run before any simulator starts, shared by ``bmtoolkit run`` and ``bmtoolkit validate``.

:func:`preflight` returns every :class:`~bmtoolkit.sonata.validation.Problem` that a run of a
:class:`~bmtoolkit.simulator.core.plan.RunPlan` would meet before simulating: a
``target_simulator`` no backend claims, a missing ``run.dt``, edges naming node populations
the circuit lacks or ids outside them, type ids missing from their types CSV, unreadable or
wrongly typed ``dynamics_params``, NEST models left on their defaults because the node types
CSV has no ``dynamics_params`` column, inputs that cannot be loaded (unknown module, a spike
file that is not HDF5, spikes for nodes outside the population or at NaN times), reports
that cannot be set up, and whatever the chosen backend checks itself
(:meth:`~bmtoolkit.simulator.core.base.Backend.preflight`: NEST parameter types, recordable
variables).

:func:`check` is what a run calls: it raises the first error as one line and issues the
warnings as :class:`~bmtoolkit.exceptions.BmtkWarning`. ``bmtoolkit validate`` prints them
all. Because both call the same function, a config that validates cleanly does not fail a
run for a reason ``validate`` could have seen.

Examples
--------
>>> from bmtoolkit.simulator.core.plan import RunPlan
>>> from bmtoolkit.simulator.core.preflight import preflight
>>> plan = RunPlan.from_config("config.json")  # doctest: +SKIP
>>> [str(p) for p in preflight(plan, "mynet")]  # doctest: +SKIP
["config.json: inputs.lgn.node_set: 2 spikes for node ids outside population 'lgn' ..."]
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmtoolkit.exceptions import (
    BackendNotAvailableError,
    BmtkError,
    BmtkWarning,
    ConfigError,
    MissingFileError,
    NodeIdError,
    SonataFormatError,
    UnknownModelError,
    UnsupportedFeatureError,
)
from bmtoolkit.sonata.validation import Problem

if TYPE_CHECKING:
    from bmtoolkit.simulator.core.plan import RunPlan

log = logging.getLogger("bmtoolkit.simulator")

#: problem kind <-> error class, so a run raises what the failing step itself raises
ERROR_KINDS: dict[str, type[BmtkError]] = {
    "missing_file": MissingFileError,
    "unknown_name": UnknownModelError,
    "ids": NodeIdError,
    "format": SonataFormatError,
    "backend": BackendNotAvailableError,
    "unsupported": UnsupportedFeatureError,
}


def _file(plan: RunPlan) -> str:
    return str(plan.config_path or "")


def problem_from_error(err: BmtkError, file: Any = "") -> Problem:
    """``err`` as a :class:`Problem` whose ``kind`` names its class (see :data:`ERROR_KINDS`).

    Examples
    --------
    >>> str(problem_from_error(MissingFileError("gone", path="a.h5")))
    'a.h5: gone'
    """
    kind = next((k for k, cls in ERROR_KINDS.items() if isinstance(err, cls)), "config")
    return Problem(str(err.path or file or ""), err.field or "", err.message, kind)


def _spec(backend: str | None) -> Any:
    """The declaration of ``backend`` (``None`` for no backend or one that declares nothing)."""
    from bmtoolkit.simulator.core.spec import get_spec

    return None if backend is None else get_spec(backend)


def _check_backend(plan: RunPlan, backend: str | None, out: list[Problem]) -> None:
    from bmtoolkit.simulator.core.registries import backend_names
    from bmtoolkit.simulator.core.spec import claimed_simulators

    target = plan.target_simulator
    if plan.backend or target is None:
        return
    known = {*claimed_simulators(), *(n.upper() for n in backend_names())}
    if str(target).upper() not in known:
        out.append(
            Problem(
                _file(plan),
                "target_simulator",
                f"unknown simulator {target!r}; known: {', '.join(sorted(known))} "
                "(or pass --backend)",
                "config",
            )
        )


def _check_run(plan: RunPlan, backend: str | None, out: list[Problem]) -> None:
    raw = getattr(plan.config, "raw", None) or {}
    run = raw.get("run") if isinstance(raw, dict) else None
    spec = _spec(backend)
    stepped = spec is not None and spec.stepped  # a backend without a spec declares nothing
    if stepped and isinstance(run, dict) and "dt" not in run:
        out.append(
            Problem(
                _file(plan),
                "run.dt",
                f"not set; the default time step {plan.dt} ms is used",
                "config",
                "warning",
            )
        )


def _check_network(plan: RunPlan, backend: str | None, out: list[Problem]) -> None:
    """Edges against node populations and type ids against types tables."""
    from bmtoolkit.sonata.validation import network_problems

    out.extend(network_problems(plan.circuit.nodes, plan.circuit.edges, _file(plan)))


def _check_edge_tables(plan: RunPlan, backend: str | None, out: list[Problem]) -> None:
    """Weights and delays of every edge population resolve (``thorough`` checks only).

    The run builds these tables itself and fails with the same one-line error, so it skips
    this check rather than reading the edges twice.
    """
    from bmtoolkit.simulator.core.models import edge_table

    if any(p.severity == "error" for p in out):
        return
    for edges in plan.circuit.edges.values():
        try:
            edge_table(plan, edges, default_delay=plan.dt)
        except BmtkError as err:
            out.append(problem_from_error(err, _file(plan)))


def _check_dynamics(plan: RunPlan, backend: str | None, out: list[Problem]) -> None:
    """Every used node type's ``dynamics_params`` loads; NEST models without any."""
    from bmtoolkit.simulator.core.models import node_type_models

    spec = _spec(backend)
    if spec is None or not spec.node_type_models:
        return
    for pop in plan.circuit.nodes.values():
        models = node_type_models(plan, pop)
        if "dynamics_params" in pop.property_names:
            continue
        nest_types = sorted(
            nt
            for nt, m in models.items()
            if not m.is_virtual and str(m.model_template or "").startswith("nest:")
        )
        if nest_types:
            source = pop.types_path or pop.h5_path
            out.append(
                Problem(
                    str(source),
                    "dynamics_params",
                    f"no such column for population {pop.name!r}: node types {nest_types} "
                    "run on NEST's default parameters",
                    "types",
                    "warning",
                )
            )


def _check_capabilities(plan: RunPlan, backend: str | None, out: list[Problem]) -> None:
    """What ``backend`` declares it cannot do: inputs, reports and node model types it does
    not accept, and edges without a delay where it needs one. Every mismatch is one
    ``capability`` problem; :func:`check` raises them together as one ConfigError."""
    import bmtoolkit.simulator.core.inputs  # noqa: F401 - registers the common input modules
    import bmtoolkit.simulator.core.reports  # noqa: F401 - and the common report modules
    from bmtoolkit.simulator.core import capabilities

    spec = _spec(backend)
    if spec is None:
        return
    spec.load_registrations()
    out.extend(capabilities.mismatches(plan, spec))


def _check_options(plan: RunPlan, backend: str | None, out: list[Problem]) -> None:
    """The backend's typed options parse (an unknown mode or dtype is found before setup)."""
    spec = _spec(backend)
    if spec is not None:
        spec.parse_options(plan)


def _check_inputs(plan: RunPlan, backend: str | None, out: list[Problem]) -> None:
    import bmtoolkit.simulator.core.inputs  # noqa: F401 - registers the common input modules
    from bmtoolkit.simulator.core.registries import (
        INPUT_MODULES,
        get_backend,
        unsupported_module,
    )

    if backend is None or _spec(backend) is None:  # none, or one that declares nothing
        return
    try:
        get_backend(backend)  # its module may register more input loaders on import
    except BmtkError:
        pass  # an unknown backend name is reported when the run starts
    for name, cfg in plan.input_configs.items():
        module = getattr(cfg, "module", None)
        error = unsupported_module("input", module, path=plan.config_path, field=f"inputs.{name}")
        if error is not None:
            out.append(problem_from_error(error, _file(plan)))
            continue
        if module is not None and module not in INPUT_MODULES:
            known = ", ".join(INPUT_MODULES.names())
            if getattr(cfg, "input_type", None) in INPUT_MODULES:
                message = f"unknown module {module!r}, loaded by its input_type {cfg.input_type!r}"
                severity = "warning"
            else:
                message = f"unknown module {module!r}; known: {known}"
                severity = "error"
            kind = "unknown_name" if severity == "error" else "config"
            out.append(Problem(_file(plan), f"inputs.{name}.module", message, kind, severity))
    if any(p.severity == "error" for p in out):
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BmtkWarning)
        plan.loaded_inputs  # noqa: B018 - loading is the check; the run reuses them
    for w in caught:
        if issubclass(w.category, BmtkWarning):
            out.append(Problem("", "", str(w.message), "input", "warning"))


def _check_reports(plan: RunPlan, backend: str | None, out: list[Problem]) -> None:
    if _spec(backend) is not None and not any(p.severity == "error" for p in out):
        plan.reports()


def _check_backend_own(plan: RunPlan, backend: str | None, out: list[Problem]) -> None:
    from bmtoolkit.simulator.core.registries import get_backend

    if backend is None or any(p.kind == "capability" for p in out):
        return  # its own checks assume a config it can run
    try:
        cls = get_backend(backend)
    except BmtkError:
        return  # an unknown backend name is reported when the run starts
    out.extend(cls.preflight(plan))


#: the checks, in order; each appends problems and may raise a BmtkError for one more
CHECKS: tuple[Callable[[Any, str | None, list[Problem]], None], ...] = (
    _check_backend,
    _check_run,
    _check_network,
    _check_capabilities,
    _check_options,
    _check_dynamics,
    _check_inputs,
    _check_reports,
    _check_backend_own,
)


def preflight(
    plan: RunPlan, backend: str | None = None, *, thorough: bool = False
) -> list[Problem]:
    """Every problem a run of ``plan`` on ``backend`` would meet before simulating.

    Parameters
    ----------
    plan : RunPlan
        The run plan.
    backend : str, optional
        The backend the run uses (its own checks are added); ``None`` skips them.
    thorough : bool
        Also make what the run builds anyway and would fail on with the same one-line error
        (the edge weight and delay tables); ``bmtoolkit validate`` sets it.

    Returns
    -------
    list of Problem
        Errors and warnings, in the order the run would meet them. A check that cannot go
        on (its input is unreadable) reports one error and the later checks still run,
        unless the network itself cannot be read.

    Examples
    --------
    >>> preflight(plan, "mynet")  # doctest: +SKIP
    []
    """
    out: list[Problem] = []
    for chk in CHECKS + ((_check_edge_tables,) if thorough else ()):
        try:
            chk(plan, backend, out)
        except BmtkError as err:
            out.append(problem_from_error(err, _file(plan)))
            if chk is _check_network:
                break
    return list(dict.fromkeys(out))  # a problem two checks both see is reported once


def check(plan: RunPlan, backend: str | None = None) -> None:
    """Raise the first error :func:`preflight` finds; warn (and log) the others.

    Raises
    ------
    BmtkError
        The first error, as one line naming the file and the field, of the class the failing
        step raises (``MissingFileError``, ``UnknownModelError`` ...; else ``ConfigError``).

    Examples
    --------
    >>> check(plan, "mynet")  # doctest: +SKIP
    """
    problems = preflight(plan, backend)
    for problem in problems:
        if problem.severity != "error":
            log.info("preflight: %s", problem)
            warnings.warn(str(problem), BmtkWarning, stacklevel=2)
    errors = [p for p in problems if p.severity == "error"]
    unable = [p for p in errors if p.kind == "capability"]
    if unable:  # every mismatch at once: the config asks what the backend cannot do
        raise ConfigError(
            f"the {backend} backend cannot run this config: "
            + "; ".join(f"{p.location}: {p.message}" for p in unable),
            path=Path(unable[0].file) if unable[0].file else None,
        )
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more: `bmtoolkit validate` lists all)"
        raise ERROR_KINDS.get(first.kind, ConfigError)(
            first.message + (more if len(errors) > 1 else ""),
            path=Path(first.file) if first.file else None,
            field=first.location or None,
        )
