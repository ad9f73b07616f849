"""``bmtoolkit convert-to-point``: a bionet network as a pointnet network of fitted GLIF cells.

Each unique biophysical cell model is driven in NEURON with the fitting protocol
(:mod:`bmtoolkit.glif.protocol`) and with the network's own current clamps (unless
``--no-network-inputs``), GLIF level ``--level`` is fitted (``auto``, the default, chooses
level 3 or 5 per cell), and the network is written to ``-o DIR`` with the same nodes,
inputs and node sets (see :mod:`bmtoolkit.glif.convert` for every translation).
``--score-levels`` also fits and scores other levels; the level and explained variance of
each cell are printed and saved in ``DIR/conversion.json``.

Examples
--------
>>> from bmtoolkit.cli import main
>>> main(["convert-to-point", "config.json", "-o", "point_net", "--level", "3"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from bmtoolkit.exceptions import MissingFileError

NAME = "convert-to-point"
HELP = "Fit GLIF point models to a bionet network's cells and write a pointnet network."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``CONFIG -o DIR [--level L] [--score-levels L ...] [--overwrite]``."""
    parser.add_argument("config", help="bionet simulation config (or BMTK config.json)")
    parser.add_argument("-o", "--output", required=True, help="folder for the point network")
    parser.add_argument("--level", type=_level, default="auto", metavar="L",
                        help="GLIF level to fit and write, 1-5, or 'auto' (default: level 3, "
                             "after-spike currents with a slow one for adaptation across "
                             "current steps, or level 5 where a threshold that follows the "
                             "voltage matches the cell's spike counts clearly better)")  # fmt: skip
    parser.add_argument("--no-network-inputs", dest="network_inputs", action="store_false",
                        help="fit to the protocol's sweeps only, not also to each cell's "
                             "record under the network's current clamps")  # fmt: skip
    parser.add_argument("--score-levels", nargs="*", type=int, default=[], metavar="L",
                        help="also fit and score these levels (not written)")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true",
                        help="write into an existing non-empty folder")  # fmt: skip


def _level(text: str) -> int | str:
    """``auto`` or a level 1-5 (argparse type)."""
    if text == "auto":
        return text
    if text in {"1", "2", "3", "4", "5"}:
        return int(text)
    raise argparse.ArgumentTypeError(f"expected 1-5 or 'auto', got {text!r}")


def run(args: argparse.Namespace) -> int:
    """Convert, print one line per cell and level, save ``conversion.json``."""
    from bmtoolkit.glif.convert import convert_to_point

    if not Path(args.config).is_file():
        raise MissingFileError("config file does not exist", path=args.config)
    result = convert_to_point(args.config, args.output, level=args.level,
                              score_levels=args.score_levels,
                              network_inputs=args.network_inputs, overwrite=args.overwrite,
                              log=print)  # fmt: skip
    summary = {
        "config": str(result.config),
        "level": args.level,
        "dropped_reports": list(result.dropped_reports),
        "network_inputs": bool(args.network_inputs),
        "cells": [{"name": c.name, "node_type_ids": list(c.node_type_ids),
                   "level": c.params.level, "rheobase_pA": c.rheobase * 1e12,
                   "explained_variance": {str(k): v
                                          for k, v in c.levels_explained_variance.items()}}
                  for c in result.cells],
    }  # fmt: skip
    out = Path(args.output) / "conversion.json"
    tmp = out.with_name(".conversion.json.tmp")
    tmp.write_text(json.dumps(summary, indent=2))
    os.replace(tmp, out)
    if result.dropped_reports:
        print(f"reports without a point-neuron equivalent, left out: "
              f"{', '.join(result.dropped_reports)}")  # fmt: skip
    print(result.config)
    return 0
