"""``bmtoolkit demo``: build a small V1-like model, simulate it on NEST, plot the results."""

from __future__ import annotations

import argparse
import logging

NAME = "demo"
HELP = (
    "Build a small V1-like network (LGN + L4, retinotopic and like-to-like rules), drive it "
    "with a drifting grating through filternet, simulate it on NEST and write raster.png and "
    "rates.png."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the demo."""
    parser.add_argument("-o", "--output", default="demo_output", help="output folder")
    parser.add_argument("--n-l4", type=int, default=300, help="number of L4 cells (default 300)")
    parser.add_argument("--tstop", type=float, default=1000.0, help="simulated time in ms")
    parser.add_argument("--seed", type=int, default=1, help="seed of every random draw")
    parser.add_argument("--theta", type=float, default=45.0, help="grating orientation (deg)")


def run(args: argparse.Namespace) -> int:
    """Run the pipeline and print what it made."""
    import os

    os.environ.setdefault("PYNEST_QUIET", "1")
    logging.basicConfig(level=logging.WARNING)
    from bmtoolkit.commands._figures import use_file_backend
    from bmtoolkit.demo import run_demo

    use_file_backend()

    print("bmtoolkit demo: build -> filternet -> pointnet (NEST) -> plots")
    s = run_demo(args.output, n_l4=args.n_l4, tstop=args.tstop, seed=args.seed, theta=args.theta)
    print(f"network       {s['circuit']}")
    for name, size in s["nodes"].items():
        print(f"  nodes {name:<14} {size:>8}")
    for name, size in s["edges"].items():
        print(f"  edges {name:<14} {size:>8}")
    print(f"LGN spikes    {s['lgn_spikes']}")
    print(f"L4 spikes     {s['l4_spikes']} (mean {s['l4_rate_hz']:.1f} Hz)")
    for name, path in s["plots"].items():
        print(f"{name + '.png':<13} {path}")
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in s["timings"].items())
    print(f"timings       {steps}")
    return 0
