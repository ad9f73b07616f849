"""``bmtoolkit convert-to-point``: a bionet network as a pointnet network of fitted GLIF cells.

Each unique biophysical cell model is driven in NEURON with the fitting protocol
(:mod:`bmtoolkit.glif.protocol`), GLIF level ``--level`` is fitted, and the network is
written to ``-o DIR`` with the same nodes, inputs and node sets (see
:mod:`bmtoolkit.glif.convert` for every translation). ``--score-levels`` also fits and scores
other levels; the explained variance of each cell and level is printed and saved in
``DIR/conversion.json``.

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
    parser.add_argument("--level", type=int, default=3, choices=range(1, 6), metavar="L",
                        help="GLIF level to fit and write (default 3: after-spike currents, "
                             "a slow one for adaptation across current steps)")  # fmt: skip
    parser.add_argument("--score-levels", nargs="*", type=int, default=[], metavar="L",
                        help="also fit and score these levels (not written)")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true",
                        help="write into an existing non-empty folder")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Convert, print one line per cell and level, save ``conversion.json``."""
    from bmtoolkit.glif.convert import convert_to_point

    if not Path(args.config).is_file():
        raise MissingFileError("config file does not exist", path=args.config)
    result = convert_to_point(args.config, args.output, level=args.level,
                              score_levels=args.score_levels, overwrite=args.overwrite,
                              log=print)  # fmt: skip
    summary = {
        "config": str(result.config),
        "level": args.level,
        "dropped_reports": list(result.dropped_reports),
        "cells": [{"name": c.name, "node_type_ids": list(c.node_type_ids),
                   "rheobase_pA": c.rheobase * 1e12,
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
