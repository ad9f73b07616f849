"""``bmtoolkit view CONFIG``: a 3D view of the network and its spikes in one HTML file.

The file holds plotly.js, so it opens in any browser without a server; see
:mod:`bmtoolkit.analyzer.view3d` for what it shows.

Examples
--------
>>> from bmtoolkit.cli import main
>>> main(["view", "config.json", "--color-by", "pop_name", "-o", "network.html"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse

from bmtoolkit.exceptions import ConfigError

NAME = "view"
HELP = "Write a 3D view of cell positions, one cell's edges and the spike playback (HTML)."


def _cell(text: str) -> tuple[str, int]:
    pop, sep, nid = text.rpartition(":")
    if not sep or not pop or not nid.isdigit():
        raise argparse.ArgumentTypeError(f"expected POPULATION:NODE_ID, got {text!r}")
    return pop, int(nid)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``CONFIG [-o FILE] [--color-by P] [--cell POP:ID] [--frame-ms MS] [--no-spikes]
    [--movie GIF]``."""
    parser.add_argument("config", metavar="CONFIG", help="simulation or circuit config")
    parser.add_argument("-o", "--output", default="network_view.html", help="HTML file to write")
    parser.add_argument("--color-by", default=None, help="node property for colours")
    parser.add_argument(
        "--cell", type=_cell, default=None, help="POPULATION:NODE_ID whose edges are drawn"
    )
    parser.add_argument("--frame-ms", type=float, default=None, help="playback bin in ms")
    parser.add_argument("--no-spikes", action="store_true", help="leave out the spike playback")
    parser.add_argument(
        "--movie", default=None, metavar="GIF", help="also write the playback as an animated GIF"
    )


def run(args: argparse.Namespace) -> int:
    """Write the HTML view; print where it is."""
    from bmtoolkit.analyzer.view3d import network_view, write_view

    if args.frame_ms is not None and args.frame_ms <= 0:
        raise ConfigError(f"--frame-ms must be positive, got {args.frame_ms}", field="frame_ms")
    fig = network_view(
        args.config,
        color_by=args.color_by,
        cell=args.cell,
        frame_ms=args.frame_ms,
        spikes=not args.no_spikes,
    )
    path = write_view(fig, args.output)
    print(f"wrote {path} ({len(fig.frames)} playback frames); open it in a web browser")
    if args.movie:
        from bmtoolkit.analyzer.view3d import activity_movie
        from bmtoolkit.commands._figures import use_file_backend

        use_file_backend()

        movie = activity_movie(args.config, args.movie, frame_ms=args.frame_ms)
        print(f"wrote {movie}")
    return 0
