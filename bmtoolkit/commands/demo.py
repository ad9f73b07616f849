"""``bmtoolkit demo``: build a model, drive it with a visual stimulus, simulate it on NEST, plot.

``bmtoolkit demo`` (or ``demo l4``) runs the small LGN + L4 demo; ``bmtoolkit demo v1
--fraction F --stimulus grating|flash|movie.npy`` runs the mouse V1 model
(:mod:`bmtoolkit.recipes.v1`) at a fraction of its full size.
"""

from __future__ import annotations

import argparse
import logging

NAME = "demo"
HELP = (
    "Build a small V1-like network (LGN + L4, retinotopic and like-to-like rules), or with "
    "'v1' the mouse V1 model at --fraction of its 230,924 cells, drive it with a stimulus "
    "through filternet, simulate it on NEST and write raster.png and rates.png (and, for V1 "
    "gratings at several --orientations, tuning.png)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the demo."""
    parser.add_argument("model", nargs="?", choices=("l4", "v1"), default="l4",
                        help="l4 (default): the small LGN + L4 demo; v1: the mouse V1 model")  # fmt: skip
    parser.add_argument("-o", "--output", default="demo_output", help="output folder")
    parser.add_argument("--n-l4", type=int, default=300, help="number of L4 cells (default 300)")
    v1 = parser.add_argument_group("v1 options")
    v1.add_argument("--fraction", type=float, default=0.01,
                    help="share of the full 230,924-cell model, (0, 1] (default 0.01)")  # fmt: skip
    v1.add_argument("--stimulus", default="grating",
                    help="grating (drifting), flash (full field) or a .npy movie")  # fmt: skip
    v1.add_argument("--orientations", default=None,
                    help="grating directions in degrees, comma separated, one run each; two or "
                    "more add the orientation tuning of L2/3 and L4 excitatory cells (default: "
                    "--theta only)")  # fmt: skip
    v1.add_argument("--threads", type=int, default=None, help="NEST threads")
    v1.add_argument("--workers", type=int, default=None,
                    help="processes building the edges (default $BMTOOLKIT_BUILD_WORKERS or 1; "
                    "the files do not depend on it)")  # fmt: skip
    parser.add_argument("--tstop", type=float, default=1000.0, help="simulated time in ms")
    parser.add_argument("--seed", type=int, default=1, help="seed of every random draw")
    parser.add_argument("--theta", type=float, default=45.0, help="grating orientation (deg)")


def run(args: argparse.Namespace) -> int:
    """Run the pipeline and print what it made."""
    import os

    os.environ.setdefault("PYNEST_QUIET", "1")
    logging.basicConfig(level=logging.WARNING)
    from bmtoolkit.commands._figures import use_file_backend

    if args.model == "v1":
        use_file_backend()
        return _run_v1(args)
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


def _orientations(args: argparse.Namespace) -> tuple[float, ...]:
    from bmtoolkit.exceptions import ConfigError

    if args.orientations is None:
        return (float(args.theta),)
    try:
        return tuple(float(x) for x in args.orientations.split(",") if x.strip())
    except ValueError:
        raise ConfigError(f"not a comma-separated list of degrees: {args.orientations!r}",
                          field="orientations") from None  # fmt: skip


def _run_v1(args: argparse.Namespace) -> int:
    from bmtoolkit.recipes.v1 import run_v1

    print("bmtoolkit demo v1: build -> filternet -> pointnet (NEST) -> analysis")
    r = run_v1(args.output, fraction=args.fraction, stimulus=args.stimulus,
               orientations=_orientations(args), tstop=args.tstop, seed=args.seed,
               threads=args.threads, workers=args.workers)  # fmt: skip
    print(f"network       {r.circuit}")
    for name, size in r.nodes.items():
        print(f"  nodes {name:<14} {size:>10}")
    for name, size in r.edges.items():
        print(f"  edges {name:<14} {size:>10}")
    print("mean rate per class (Hz):")
    for cls, row in r.rates.iterrows():
        print(f"  {cls:<10} {row['mean_hz']:8.2f}  ({int(row['cells'])} cells)")
    if r.tuning is not None:
        med = r.tuning.groupby("cell_class")[["osi_recipe", "osi_shuffled"]].median()
        for cls, row in med.iterrows():
            print(f"  {cls:<10} median OSI {row['osi_recipe']:.2f} "
                  f"(shuffled orientations {row['osi_shuffled']:.2f})")  # fmt: skip
    for name, path in r.plots.items():
        print(f"{name + '.png':<13} {path}")
    print("timings       " + ", ".join(f"{k} {v:.1f} s" for k, v in r.timings.items()))
    return 0
