"""The ``bmtoolkit`` command line.

Each sub-command lives in its own module under :mod:`bmtoolkit.commands` and exposes
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. This module only
dispatches, turns bmtoolkit errors (and file-system or missing-package errors) into one
clear line, and sets the exit code: 0 success, 1 a problem with the input or the run, 2 a
usage error. Set ``BMTOOLKIT_DEBUG=1`` to see the full traceback instead.

Examples
--------
>>> from bmtoolkit.cli import main
>>> main(["show-versions"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from bmtoolkit import __version__
from bmtoolkit.exceptions import BmtkError, BmtkWarning

#: Sub-command modules, in the order ``--help`` lists them. Modules that are not present
#: (a partial install) are skipped.
COMMAND_MODULES: tuple[str, ...] = (
    "bmtoolkit.commands.create_environment",
    "bmtoolkit.commands.build",
    "bmtoolkit.commands.run",
    "bmtoolkit.commands.validate",
    "bmtoolkit.commands.info",
    "bmtoolkit.commands.plot",
    "bmtoolkit.commands.fit_glif",
    "bmtoolkit.commands.convert_to_point",
    "bmtoolkit.commands.view",
    "bmtoolkit.commands.demo",
    "bmtoolkit.commands.show_versions",
)


def command_name(module: str) -> str:
    """The command a module of :data:`COMMAND_MODULES` defines (its ``NAME``).

    Examples
    --------
    >>> command_name("bmtoolkit.commands.show_versions")
    'show-versions'
    """
    return module.rsplit(".", 1)[1].replace("_", "-")


def _load_commands(only: str | None = None) -> list:
    modules = []
    for name in COMMAND_MODULES:
        if only is not None and command_name(name) != only:
            continue
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as err:
            if err.name != name:  # a real missing dependency inside the module
                raise
    return modules


def _requested(argv: Sequence[str]) -> str | None:
    """The command named on the command line, if it is one of ours."""
    first = next((a for a in argv if not a.startswith("-")), None)
    known = {command_name(m) for m in COMMAND_MODULES}
    return first if first in known else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Return the top-level parser with every available sub-command (or only ``only``).

    Each command module is imported to add its sub-command; running one command loads
    only its own module, so ``bmtoolkit build`` starts without the others' imports.
    """
    parser = argparse.ArgumentParser(
        prog="bmtoolkit",
        description="Build, simulate and analyse SONATA brain-circuit models.",
    )
    parser.add_argument("--version", action="version", version=f"bmtoolkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _load_commands(only):
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def one_line(err: BmtkError) -> str:
    """The error as one line: several validation problems give the first and a count.

    Examples
    --------
    >>> from bmtoolkit.exceptions import ValidationError
    >>> one_line(ValidationError([("run.dt", "bad"), ("run.tstop", "bad")], path="c.json"))
    'c.json: run.dt: bad (and 1 more problem: `bmtoolkit validate c.json` lists all)'
    """
    problems = getattr(err, "problems", None)
    if not problems:
        return " ".join(str(err).split("\n"))
    location, message = problems[0]
    text = ": ".join(p for p in (err.path, location, message) if p)
    more = len(problems) - 1
    if more:
        what = "problem" if more == 1 else "problems"
        text += f" (and {more} more {what}: `bmtoolkit validate {err.path}` lists all)"
    return text


def _one_line_warning(command: str):
    """A ``warnings.showwarning`` printing bmtoolkit's own warnings as one line each."""
    default = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, BmtkWarning):
            text = " ".join(str(message).split("\n"))
            print(f"bmtoolkit {command}: warning: {text}", file=file or sys.stderr)
        else:
            default(message, category, filename, lineno, file, line)

    return show


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_requested(argv))
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning(args.command)
            return int(args._run(args) or 0)
    except BmtkError as err:
        print(f"bmtoolkit {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 1
    except (OSError, ImportError) as err:
        # a file system or installation problem: one actionable line unless debugging
        if os.environ.get("BMTOOLKIT_DEBUG"):
            raise
        hint = ""
        if isinstance(err, ImportError):
            hint = " (is the package installed? `bmtoolkit show-versions` lists what is)"
        print(f"bmtoolkit {args.command}: error: {err}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
