"""``bmtoolkit create-environment --backend NAME DIR``: scaffold a runnable simulation folder.

The folder has the layout BMTK users know, with an example network already built::

    DIR/
      build_network.py        # the example network (bmtoolkit.builder); edit and re-run
      circuit_config.json     # nodes + edges files, components folders
      simulation_config.json  # run, inputs, outputs, reports
      config.json             # BMTK's combined form: {"network": ..., "simulation": ...}
      components/             # model parameter files of the chosen backend
      network/                # SONATA nodes/edges written by build_network.py
      inputs/                 # input spike trains written by build_network.py
      output/                 # filled by `bmtoolkit run DIR/config.json`

Examples
--------
>>> from bmtoolkit.cli import main
>>> main(["create-environment", "--backend", "mynet", "sim"])  # doctest: +SKIP
0
>>> main(["run", "sim/config.json"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmtoolkit.exceptions import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from bmtoolkit.simulator.core.scaffold import Scaffold

NAME = "create-environment"
HELP = "Create a simulation folder (configs, components, example network, inputs) to run."


def scaffold_backends() -> dict[str, float]:
    """``{backend: default tstop (ms)}`` of every backend whose spec declares a scaffold.

    Examples
    --------
    >>> all(t > 0 for t in scaffold_backends().values())
    True
    """
    from bmtoolkit.simulator.core.spec import specs

    return {n: s.scaffold_tstop for n, s in sorted(specs().items()) if s.scaffold is not None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--backend NAME DIR [--tstop MS] [--no-build] [--overwrite]``."""
    parser.add_argument(
        "--backend", required=True, choices=sorted(scaffold_backends()), help="simulator"
    )
    parser.add_argument("directory", metavar="DIR", help="folder to create")
    parser.add_argument(
        "--tstop",
        type=float,
        default=None,
        help="simulated time in ms (default: the backend's own, e.g. 1000)",
    )
    parser.add_argument(
        "--no-build", action="store_true", help="write build_network.py but do not run it"
    )
    parser.add_argument("--overwrite", action="store_true", help="reuse a non-empty DIR")


def _write_json(path: Path, doc: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def create_environment(
    backend: str,
    directory: str | os.PathLike[str],
    *,
    tstop: float | None = None,
    build: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write a simulation folder for ``backend`` and (by default) build its example network.

    Parameters
    ----------
    backend : str
        A backend whose spec declares a scaffold (:func:`scaffold_backends`).
    directory : path-like
        Folder to create (must be empty or absent unless ``overwrite``).
    tstop : float, optional
        Simulated time (ms) of the config and the input spike trains (default the
        backend's ``scaffold_tstop``).
    build : bool
        Run ``build_network.py`` now so the folder is ready to run.

    Returns
    -------
    Path
        The combined ``config.json`` to pass to ``bmtoolkit run``.

    Examples
    --------
    >>> import tempfile
    >>> name = next(iter(scaffold_backends()))
    >>> cfg = create_environment(name, tempfile.mkdtemp() + "/sim", build=False)
    >>> cfg.name, sorted(p.name for p in cfg.parent.iterdir())[:3]
    ('config.json', ['build_network.py', 'circuit_config.json', 'components'])
    """
    from bmtoolkit.simulator.core.spec import get_spec

    spec = get_spec(backend)
    if spec is None or spec.scaffold is None:
        known = ", ".join(scaffold_backends())
        raise ConfigError(f"no example folder for backend {backend!r}; known: {known}",
                          field="--backend")  # fmt: skip
    if tstop is None:
        tstop = spec.scaffold_tstop
    scaffold: Scaffold = spec.make_scaffold(float(tstop))
    if tstop <= 0:
        raise ConfigError(f"tstop must be > 0 ms, got {tstop}", field="--tstop")
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise ConfigError("exists and is not a folder", path=root)
    if root.is_dir() and any(root.iterdir()) and not overwrite:
        raise ConfigError("folder is not empty (use --overwrite to write into it)", path=root)
    for sub in ("components", "network", "inputs", "output"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for rel, content in scaffold.components.items():
        target = root / "components" / rel
        if isinstance(content, str):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        else:
            _write_json(target, content)
    (root / "build_network.py").write_text(scaffold.build_script)
    manifest = {"$BASE_DIR": ".", "$NETWORK_DIR": "$BASE_DIR/network",
                "$COMPONENTS_DIR": "$BASE_DIR/components"}  # fmt: skip
    _write_json(root / "circuit_config.json", {
        "manifest": manifest,
        "components": {k: f"$COMPONENTS_DIR/{v}" for k, v in scaffold.component_dirs.items()},
        "networks": {
            "nodes": [{"nodes_file": f"$NETWORK_DIR/{n}_nodes.h5",
                       "node_types_file": f"$NETWORK_DIR/{n}_node_types.csv"}
                      for n in scaffold.nodes],
            "edges": [{"edges_file": f"$NETWORK_DIR/{e}_edges.h5",
                       "edge_types_file": f"$NETWORK_DIR/{e}_edge_types.csv"}
                      for e in scaffold.edges],
        },
    })  # fmt: skip
    sim = {k: v for k, v in scaffold.simulation.items() if k != "output"}
    output = {"output_dir": "$OUTPUT_DIR", "log_file": "log.txt", "spikes_file": "spikes.h5",
              "spikes_sort_order": "time", "overwrite_output_dir": True,
              **scaffold.simulation.get("output", {})}  # fmt: skip
    _write_json(root / "simulation_config.json", {
        "manifest": {"$BASE_DIR": ".", "$OUTPUT_DIR": "$BASE_DIR/output",
                     "$INPUT_DIR": "$BASE_DIR/inputs"},
        "network": "$BASE_DIR/circuit_config.json",
        **sim,
        "output": output,
    })  # fmt: skip
    _write_json(
        root / "config.json",
        {"network": "circuit_config.json", "simulation": "simulation_config.json"},
    )
    for rel, text in scaffold.files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if build:
        _run_build(root / "build_network.py")
    return root / "config.json"


def _run_build(script: Path) -> None:
    old_path = sys.path[:]
    sys.path.insert(0, str(script.parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        sys.path[:] = old_path


def run(args: argparse.Namespace) -> int:
    """Create the folder and print how to run it."""
    cfg = create_environment(
        args.backend,
        args.directory,
        tstop=args.tstop,
        build=not args.no_build,
        overwrite=args.overwrite,
    )
    print(f"created {cfg.parent} ({args.backend})")
    if args.no_build:
        print(f"  build the network: bmtoolkit build {cfg.parent / 'build_network.py'}")
    print(f"  run it:            bmtoolkit run {cfg}")
    return 0
