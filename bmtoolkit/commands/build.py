"""``bmtoolkit build script.py``: run a network build script (BMTK-style or bmtoolkit).

The script runs as ``__main__`` with ``sys.argv = [script, *script_args]`` and its own folder
first on ``sys.path``. ``--seed`` sets the default seed of every ``NetworkBuilder.build()`` that
is not given one, ``--workers K`` the default number of forked build processes
(:mod:`bmtoolkit.builder.parallel`; the files do not depend on K); ``-v`` prints the builder's timed log lines.

Examples
--------
>>> from bmtoolkit.cli import main
>>> main(["build", "build_network.py", "--seed", "1"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import logging
import os
import runpy
import sys
import time
from pathlib import Path

from bmtoolkit.exceptions import MissingFileError

NAME = "build"
HELP = "Run a network build script (BMTK scripts work after changing the import)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``script``, ``--seed``, ``-v``, and arguments passed on to the script."""
    parser.add_argument("script", help="Python build script (options go before it)")
    parser.add_argument("--seed", type=int, default=None, help="default build seed")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="forked processes per build (default 1); files do not depend on it",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="timed log lines")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="passed to the script")


def run(args: argparse.Namespace) -> int:
    """Run the script; return 0 on success."""
    from bmtoolkit.builder.network import SEED_ENV
    from bmtoolkit.builder.parallel import WORKERS_ENV, resolve_workers

    script = Path(args.script)
    if not script.is_file():
        raise MissingFileError("build script not found", path=script)
    if args.verbose:
        logging.basicConfig(format="%(asctime)s %(name)s: %(message)s", level=logging.INFO)
    if args.workers is not None:
        resolve_workers(args.workers)
    old_env = {name: os.environ.get(name) for name in (SEED_ENV, WORKERS_ENV)}
    old_argv, old_path = sys.argv[:], sys.path[:]
    for name, value in ((SEED_ENV, args.seed), (WORKERS_ENV, args.workers)):
        if value is not None:
            os.environ[name] = str(value)
    sys.argv = [str(script), *args.script_args]
    sys.path.insert(0, str(script.resolve().parent))
    start = time.perf_counter()
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code:
            return code
    finally:
        sys.argv, sys.path[:] = old_argv, old_path
        for name, old in old_env.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
    print(f"built {script} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0
