"""Sanity check of the V1 model at a fraction too large for CI (default 0.05).

Builds the model, runs one drifting grating per direction (default 0, 45, 90, 135 degrees;
1 s each), and checks that

- every class fires at a finite, positive mean rate below 100 Hz (no silent class, no runaway);
- the excitatory L4 cells are orientation tuned: the median OSI at each cell's recipe
  preference is above the median with the recipe orientations shuffled among the cells.

It prints the table ``docs/v1_model.md`` records and writes ``raster.png``, ``rates.png`` and
``tuning.png`` into the output folder. Exit status 1 when a check fails.

Usage::

    python scripts/v1_sanity.py --fraction 0.05 --output v1_sanity
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
    """Run the check; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fraction", type=float, default=0.05)
    parser.add_argument("--output", default="v1_sanity")
    parser.add_argument("--orientations", default="0,45,90,135")
    parser.add_argument("--tstop", type=float, default=1000.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("PYNEST_QUIET", "1")
    from bmtoolkit.recipes.v1.pipeline import run_v1

    oris = tuple(float(x) for x in args.orientations.split(","))
    t0 = time.perf_counter()
    res = run_v1(args.output, fraction=args.fraction, orientations=oris, tstop=args.tstop,
                 seed=args.seed, threads=args.threads)  # fmt: skip
    wall = time.perf_counter() - t0
    print(f"fraction {args.fraction:g}: nodes {res.nodes}, edges {res.edges}")
    print("timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in res.timings.items())
          + f", total {wall:.1f}")  # fmt: skip
    print(f"\nrates per class, grating {oris[0]:g} deg, 200-{args.tstop:g} ms:")
    print(res.rates.to_string(float_format=lambda v: f"{v:.2f}"))
    ok = True
    bad = res.rates[~np.isfinite(res.rates["mean_hz"]) | (res.rates["mean_hz"] <= 0)
                    | (res.rates["mean_hz"] >= 100)]  # fmt: skip
    if len(bad):
        ok = False
        print(f"FAIL: classes outside (0, 100) Hz: {list(bad.index)}")
    tun = res.tuning
    print("\nmedian OSI (cells that fired):")
    med = tun.groupby("cell_class")[["osi", "gosi", "osi_recipe", "osi_shuffled"]].median()
    print(med.to_string(float_format=lambda v: f"{v:.3f}"))
    e4 = med.loc["e4"]
    if not e4["osi_recipe"] > e4["osi_shuffled"]:
        ok = False
        print("FAIL: L4 excitatory cells are not tuned to their recipe orientation")
    print("\nplots: " + ", ".join(str(p) for p in res.plots.values()))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
