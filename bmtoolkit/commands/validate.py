"""``bmtoolkit validate CONFIG``: check a config and the network files it names.

Prints every problem as ``file: location: message`` (JSON path for configs, HDF5 path for
network files), then a summary line. A simulation config is also checked the way ``bmtoolkit
run`` checks it before simulating, on the backend the config chooses or on ``--backend NAME``:
every input, report, model type or missing delay that backend cannot handle is listed. Exit status 0 when every config is clean, 1 when any
problem was found; warnings (for example a component folder the network does not use) are
printed but do not fail.
"""

from __future__ import annotations

import argparse
from typing import Any

NAME = "validate"
HELP = "Check circuit/simulation configs, the files they name and the network's consistency."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``CONFIG [CONFIG ...]`` and ``--quiet``."""
    parser.add_argument("configs", nargs="+", metavar="CONFIG", help="config JSON file(s)")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only problems, no summary or warnings"
    )
    parser.add_argument(
        "--backend",
        default=None,
        metavar="NAME",
        help="check what this backend can run (default: the backend the config chooses)",
    )


def run(args: argparse.Namespace) -> int:
    """Validate each config; return 1 if any has a problem, else 0.

    Examples
    --------
    >>> import argparse, contextlib, io, os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "missing.json")
    >>> with contextlib.redirect_stdout(io.StringIO()) as out:
    ...     code = run(argparse.Namespace(configs=[p], quiet=True))
    >>> code, "file does not exist" in out.getvalue()
    (1, True)
    """
    from bmtoolkit.sonata.validation import validate_config

    failed = False
    for config in args.configs:
        problems = validate_config(config, include_warnings=True)
        found = run_checks(config, problems, backend=getattr(args, "backend", None))
        problems += [p for p in found if p not in problems]
        errors = [p for p in problems if p.severity == "error"]
        warnings = [p for p in problems if p.severity != "error"]
        for problem in errors:
            print(problem)
        if not args.quiet:
            for problem in warnings:
                print(f"warning: {problem}")
            if errors:
                print(f"{config}: {len(errors)} problem(s)")
            else:
                print(f"{config}: OK" + (f" ({len(warnings)} warning(s))" if warnings else ""))
        failed = failed or bool(errors)
    return 1 if failed else 0


#: problem kinds after which the run's own checks are not attempted (the config is unreadable)
_UNREADABLE = frozenset({"json", "schema", "config", "missing_file"})


def run_checks(config: str, found: list[Any], backend: str | None = None) -> list[Any]:
    """The checks ``bmtoolkit run`` makes before simulating, for a simulation config.

    ``backend`` names the backend to check for (``--backend``); by default the one the
    config chooses.

    Nothing when ``found`` already holds problems that make the config unreadable, or when
    ``config`` is a circuit config. See :mod:`bmtoolkit.simulator.core.preflight`.

    Examples
    --------
    >>> run_checks("missing.json", [])  # doctest: +SKIP
    [Problem(file='missing.json', ...)]
    """
    from bmtoolkit.exceptions import BmtkError
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.simulator.core.preflight import preflight
    from bmtoolkit.simulator.core.runner import choose_backend
    from bmtoolkit.sonata.config import SimulationConfig, load_config
    from bmtoolkit.sonata.validation import Problem

    if any(p.kind in _UNREADABLE and p.severity == "error" for p in found):
        return []
    try:
        cfg = load_config(config, validate=False)
        if not isinstance(cfg, SimulationConfig):
            return []
        plan = RunPlan.from_config(cfg)
    except BmtkError as err:
        return [Problem(err.path or str(config), err.field or "", err.message, "config")]
    if backend is not None:
        from bmtoolkit.simulator.core.registries import backend_names

        if backend not in backend_names():
            known = ", ".join(backend_names())
            return [Problem(str(config), "--backend", f"unknown backend {backend!r}; known: {known}",
                            "unknown_name")]  # fmt: skip
        plan = plan.with_overrides(backend=backend)
    try:
        backend = choose_backend(plan)
    except BmtkError:  # nothing decides: `run --backend NAME` does; the common checks still run
        return preflight(plan, None)
    return preflight(plan, backend, thorough=True)
