"""Benchmark filternet: LGN rates + spikes for the V1 models' LGN on a 120 x 240 px movie.

Target: 17,400 LGN cells, a 3 s movie of 120 x 240 pixels at 1 kHz, rates and spikes in
<= 60 s and <= 8 GiB on 2 cores. With ``--with-bmtk`` (and bmtk installed) BMTK's filternet
evaluates a random sample of the same single-subunit cells on the same movie; its time is
scaled to the full population and the ratio printed.

Usage::

    python benchmarks/filternet.py                     # full size
    python benchmarks/filternet.py --density 0.1 --duration 500
    python benchmarks/filternet.py --with-bmtk --bmtk-sample 100
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bmtoolkit.builder.lgn import lgn_node_groups
from bmtoolkit.models.lgn import FITTED_TEMPORAL
from bmtoolkit.simulator.filternet.cells import build_cells
from bmtoolkit.simulator.filternet.evaluate import evaluate_rates
from bmtoolkit.simulator.filternet.spiking import poisson_spikes
from bmtoolkit.simulator.filternet.stimuli import Movie


def make_movie(n_frames: int, rows: int, cols: int, seed: int) -> Movie:
    """Smooth random movie: drifting grating plus spatially correlated, slowly varying noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames, dtype=np.float32) / 1000.0
    x = np.arange(cols, dtype=np.float32)[None, :]
    y = np.arange(rows, dtype=np.float32)[:, None]
    data = np.empty((n_frames, rows, cols), np.float32)
    base = np.sin(2 * np.pi * 0.04 * (x * 0.8 - y * 0.6))
    quad = np.cos(2 * np.pi * 0.04 * (x * 0.8 - y * 0.6))
    blob = rng.standard_normal((rows // 8 + 2, cols // 8 + 2)).astype(np.float32)
    noise = np.kron(blob, np.ones((8, 8), np.float32))[:rows, :cols]
    for i in range(n_frames):
        ph = 2 * np.pi * 2.0 * t[i]
        data[i] = 0.6 * (base * np.cos(ph) - quad * np.sin(ph)) + 0.2 * noise * np.sin(ph / 3)
    np.clip(data, -1, 1, out=data)
    return Movie.from_array(data, frame_rate=1000.0)


def bmtk_seconds_per_cell(nodes: pd.DataFrame, movie: Movie, sample: int, seed: int) -> float:
    """Mean time BMTK's filternet takes per single-subunit cell on ``movie``."""
    from bmtk.simulator.filternet.lgnmodel.cellmodel import OffUnit, OnUnit
    from bmtk.simulator.filternet.lgnmodel.lgnmodel1 import LGNModel
    from bmtk.simulator.filternet.lgnmodel.linearfilter import SpatioTemporalFilter
    from bmtk.simulator.filternet.lgnmodel.movie import Movie as BMovie
    from bmtk.simulator.filternet.lgnmodel.spatialfilter import GaussianSpatialFilter
    from bmtk.simulator.filternet.lgnmodel.temporalfilter import TemporalFilterCosineBump
    from bmtk.simulator.filternet.lgnmodel.transferfunction import ScalarTransferFunction

    single = nodes[nodes["model_name"].isin(list(FITTED_TEMPORAL))]
    rows = single.sample(min(sample, len(single)), random_state=seed)
    bm = BMovie(movie.data.astype(np.float64), row_range=movie.rows, col_range=movie.cols,
                frame_rate=movie.frame_rate)  # fmt: skip
    t0 = time.perf_counter()
    for r in rows.itertuples():
        tf = TemporalFilterCosineBump(
            (r.weight_dom_0, r.weight_dom_1), (r.kpeaks_dom_0, r.kpeaks_dom_1),
            (r.delay_dom_0, r.delay_dom_1),
        )  # fmt: skip
        sig = r.spatial_size / 3.0
        sf = GaussianSpatialFilter(translate=(r.x, r.y), sigma=(sig, sig), origin=(0.0, 0.0))
        off = "OFF" in r.model_name.split("_")[0]
        lf = SpatioTemporalFilter(sf, tf, amplitude=-1.0 if off else 1.0)
        cell = (OffUnit if off else OnUnit)(lf, ScalarTransferFunction("Heaviside(s+3)*(s+3)"))
        LGNModel([cell]).evaluate(bm, separable=True)
    return (time.perf_counter() - t0) / len(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--density", type=float, default=1.0, help="fraction of the 17,400 cells")
    p.add_argument("--duration", type=float, default=3000.0, help="movie length (ms)")
    p.add_argument("--rows", type=int, default=120)
    p.add_argument("--cols", type=int, default=240)
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--write", action="store_true", help="also write rates and spikes files")
    p.add_argument("--with-bmtk", action="store_true", help="compare with BMTK's filternet")
    p.add_argument("--bmtk-sample", type=int, default=50, help="cells BMTK evaluates")
    args = p.parse_args(argv)

    t_start = time.perf_counter()
    groups = lgn_node_groups(density=args.density, seed=args.seed)
    nodes = pd.concat([pd.DataFrame({k: np.broadcast_to(v, (g["N"],)) if np.ndim(v) == 0 else v
                                     for k, v in g.items() if k != "N"}) for g in groups],
                      ignore_index=True)  # fmt: skip
    movie = make_movie(int(round(args.duration)), args.rows, args.cols, args.seed)
    t_setup = time.perf_counter() - t_start

    t0 = time.perf_counter()
    cells = build_cells(nodes, seed=args.seed)
    t_cells = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = evaluate_rates(cells, movie, n_workers=args.workers)
    t_rates = time.perf_counter() - t0
    t0 = time.perf_counter()
    ids, times = poisson_spikes(res.rates, dt_ms=res.dt_ms, seed=args.seed)
    t_spikes = time.perf_counter() - t0
    t_write = 0.0
    if args.write:
        from bmtoolkit.sonata import write_rates, write_spikes

        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            write_rates(Path(tmp, "rates.h5"), "lgn", res.node_ids, res.times_ms, res.rates.T)
            write_spikes(Path(tmp, "spikes.h5"), {"lgn": (res.node_ids[ids], times)})
        t_write = time.perf_counter() - t0
    total = t_cells + t_rates + t_spikes + t_write
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    n = cells.n_cells
    print(f"cells={n} subunits={cells.n_subunits} frames={movie.n_frames} "
          f"pixels={args.rows}x{args.cols} workers={args.workers}")  # fmt: skip
    print(f"setup(movie, nodes)={t_setup:.2f}s build_cells={t_cells:.2f}s rates={t_rates:.2f}s "
          f"spikes={t_spikes:.2f}s write={t_write:.2f}s")  # fmt: skip
    print(f"bmtoolkit: rates+spikes {total:.2f} s, peak RSS {peak_gib:.2f} GiB, "
          f"{ids.size} spikes, mean rate {res.rates.mean():.2f} Hz")  # fmt: skip
    full = args.density == 1.0 and args.duration >= 3000.0
    if full:
        ok = total <= 60.0 and peak_gib <= 8.0
        print(f"target (<= 60 s, <= 8 GiB): {'met' if ok else 'NOT met'}")
    if args.with_bmtk:
        try:
            import bmtk  # noqa: F401
        except ImportError:
            print("bmtk is not installed: no comparison")
            return 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            per_cell = bmtk_seconds_per_cell(nodes, movie, args.bmtk_sample, args.seed)
        bmtk_total = per_cell * n
        print(f"bmtk filternet (separable evaluation, {args.bmtk_sample} sampled cells): "
              f"{per_cell * 1000:.1f} ms/cell -> {bmtk_total:.1f} s for {n} cells")  # fmt: skip
        print(f"ratio bmtk/bmtoolkit (rates): {bmtk_total / max(t_rates, 1e-9):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
