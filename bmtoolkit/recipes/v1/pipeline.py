"""The V1 model end to end: build -> filternet (LGN spikes) -> pointnet (NEST) -> analysis.

:func:`run_v1` builds the model, turns a stimulus into LGN spikes with ``filternet``, simulates
V1 on NEST with ``pointnet`` (LGN spikes plus the background Poisson population), and writes:

- ``raster.png``: V1 spikes, rows ordered by layer and class;
- ``rates.csv`` / ``rates.png``: mean rate per class (silent cells count as 0 Hz);
- with ``orientations`` (several drifting gratings, one run each): ``tuning.csv`` (OSI of every
  L2/3 and L4 excitatory cell) and ``tuning.png`` (mean tuning curves aligned on each cell's
  recipe orientation).

The stimulus is ``"grating"`` (drifting, 0.04 cycles/degree, 2 Hz, contrast 0.8), ``"flash"``
(full-field, on from 100 ms to the end) or the path of a ``.npy`` movie ``(frames, rows, cols)``
at 1000 frames/s, contrast in [-1, 1], stretched over the LGN field.

Tuning: each cell's recipe orientation ``tuning_angle`` sets its subfields' long axis, so its
preferred drift direction is ``90 - tuning_angle`` (mod 180, :func:`recipe_preference`:
the LGN field's ``y`` grows down the screen rows, which mirrors angles).
``osi`` is ``(r_pref - r_orth) / (r_pref + r_orth)`` at the measured peak, ``osi_recipe`` the
same at the tested direction nearest the recipe's preference, and ``osi_shuffled`` the same with
the recipe orientations permuted among the cells: a network whose tuning came from noise would
score alike on both.

Examples
--------
>>> recipe_preference(np.array([0.0, 100.0])).tolist()
[90.0, 170.0]
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.models.v1 import cells as cat

GRATING = {"cpd": 0.04, "temporal_f": 2.0, "contrast": 0.8}
#: V1 classes whose orientation tuning is reported
TUNED_CLASSES = ("e23", "e4")


def recipe_preference(tuning_angle: np.ndarray) -> np.ndarray:
    """Drift direction (deg, mod 180) a cell of recipe orientation ``tuning_angle`` prefers."""
    return np.mod(90.0 - np.asarray(tuning_angle, dtype=float), 180.0)


def stimulus_input(stimulus: str, field_deg: tuple[float, float], *,
                   orientation: float = 0.0) -> dict[str, Any]:  # fmt: skip
    """The filternet ``inputs`` entry for ``stimulus`` over a ``(width, height)`` field."""
    width, height = field_deg
    screen = {"input_type": "movie", "row_size": height, "col_size": width, "frame_rate": 1000.0}
    if stimulus == "grating":
        return {**screen, "module": "grating", "theta": float(orientation), **GRATING}
    if stimulus == "flash":
        return {**screen, "module": "full_field_flash", "t_on": 100.0, "contrast": 1.0}
    path = Path(stimulus)
    if path.suffix not in (".npy", ".npz"):
        raise ConfigError(
            f"stimulus must be 'grating', 'flash' or a .npy/.npz movie, got {stimulus!r}",
            field="stimulus",
        )
    if not path.is_file():
        from bmtoolkit.exceptions import MissingFileError

        raise MissingFileError("movie file does not exist", path=path, field="stimulus")
    shape = np.load(path, mmap_mode="r").shape if path.suffix == ".npy" else None
    out = {"input_type": "movie", "module": "movie", "data_file": str(path.absolute()),
           "frame_rate": 1000.0}  # fmt: skip
    if shape is not None:
        if len(shape) != 3:
            raise ConfigError(f"a movie is (frames, rows, cols), got shape {shape}",
                              path=path, field="stimulus")  # fmt: skip
        out["row_range"] = np.linspace(0.0, height, shape[1]).tolist()
        out["col_range"] = np.linspace(0.0, width, shape[2]).tolist()
    return out


def onset_window(tstop: float) -> float:
    """Start (ms) of the analysis window: 200 ms of onset transient when runs last 500 ms or
    more, none for shorter runs."""
    return 200.0 if tstop >= 500.0 else 0.0


def _write_json(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, default=str))
    return path


def lgn_spikes(out: Path, circuit: Path, movie: dict[str, Any], *, tstop: float, seed: int,
               tag: str, progress: bool | None) -> Path:  # fmt: skip
    """Filter the movie through the LGN units; return the spikes file."""
    from bmtoolkit.simulator import run

    cfg = _write_json(out / f"config.filternet_{tag}.json", {
        "network": str(circuit),
        "target_simulator": "LGNModel",
        "run": {"tstart": 0.0, "tstop": tstop, "dt": 1.0, "random_seed": seed},
        "node_sets": {"lgn": {"population": "lgn"}},
        "node_set": "lgn",
        "inputs": {"stimulus": movie},
        "output": {"output_dir": str(out / f"lgn_{tag}"), "spikes_file": "spikes.h5",
                   "overwrite_output_dir": True},
    })  # fmt: skip
    return Path(run(cfg, backend="filternet", progress=progress).outputs["spikes"])


def pointnet_config(out: Path, circuit: Path, lgn_file: Path, *, tstop: float, seed: int,
                    tag: str) -> Path:  # fmt: skip
    """Write the pointnet config of one run (LGN spikes + background Poisson); return it."""
    from bmtoolkit.models.v1.inputs import BKG_RATE

    return _write_json(out / f"config.pointnet_{tag}.json", {
        "network": str(circuit),
        "target_simulator": "NEST",
        "run": {"tstop": tstop, "dt": 0.1, "random_seed": seed},
        "node_sets": {"lgn": {"population": "lgn"}, "bkg": {"population": "bkg"},
                      "v1": {"population": "v1"}},
        "inputs": {
            "lgn": {"input_type": "spikes", "module": "sonata", "input_file": str(lgn_file),
                    "node_set": "lgn"},
            "bkg": {"input_type": "spikes", "module": "poisson", "rate": BKG_RATE,
                    "node_set": "bkg", "seed": seed},
        },
        "output": {"output_dir": str(out / f"v1_{tag}"), "spikes_file": "spikes.h5",
                   "overwrite_output_dir": True},
    })  # fmt: skip


def simulate(out: Path, circuit: Path, lgn_file: Path, *, tstop: float, seed: int, tag: str,
             threads: int | None, progress: bool | None) -> Path:  # fmt: skip
    """V1 on NEST driven by the LGN spikes and the background; return the V1 spikes file."""
    from bmtoolkit.simulator import run

    cfg = pointnet_config(out, circuit, lgn_file, tstop=tstop, seed=seed, tag=tag)
    return Path(run(cfg, backend="pointnet", threads=threads, progress=progress)
                .outputs["spikes"])  # fmt: skip


def v1_cells(circuit: Path) -> pd.DataFrame:
    """One row per V1 cell: ``node_id``, ``layer``, ``cell_class``, ``pop_name``, ``ei``,
    ``tuning_angle``, ``core``; ordered like :data:`~bmtoolkit.models.v1.cells.CLASSES`."""
    from bmtoolkit.sonata import Circuit

    pop = Circuit(circuit).nodes["v1"]
    ids = pop.ids()
    df = pd.DataFrame({"node_id": ids})
    for col in ("layer", "cell_class", "pop_name", "ei", "tuning_angle", "core"):
        df[col] = pop.column(col, ids)
    order = {c: i for i, c in enumerate(cat.CLASSES)}
    df["class_order"] = df["cell_class"].map(order)
    return df


def class_rates(spikes_file: Path, cells: pd.DataFrame, *, t_start: float,
                t_stop: float) -> pd.DataFrame:  # fmt: skip
    """Rate of every V1 cell in the window, with its class (silent cells at 0 Hz)."""
    from bmtoolkit.sonata import read_spikes

    sp = read_spikes(spikes_file, population="v1")
    t = sp["timestamp"].to_numpy()
    ids = sp["node_id"].to_numpy()[(t >= t_start) & (t < t_stop)]
    counts = np.bincount(ids, minlength=int(cells["node_id"].max()) + 1)
    out = cells.copy()
    out["rate"] = counts[out["node_id"].to_numpy()] / ((t_stop - t_start) / 1000.0)
    return out


def rates_table(rates: pd.DataFrame) -> pd.DataFrame:
    """Mean, s.d. and count of the rates per class, in class order."""
    g = rates.groupby("cell_class", sort=False)["rate"]
    table = pd.DataFrame({"mean_hz": g.mean(), "sd_hz": g.std(ddof=0), "cells": g.size(),
                          "silent": g.apply(lambda r: int((r == 0).sum()))})  # fmt: skip
    return table.reindex([c for c in cat.CLASSES if c in table.index])


def plot_raster(spikes_file: Path, cells: pd.DataFrame, path: Path, *, title: str) -> Path:
    """Raster with rows ordered by layer and class (class bands labelled)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bmtoolkit.sonata import read_spikes

    order = cells.sort_values(["class_order", "tuning_angle"], kind="stable")
    row = np.empty(int(cells["node_id"].max()) + 1, dtype=np.int64)
    row[order["node_id"].to_numpy()] = np.arange(len(order))
    sp = read_spikes(spikes_file, population="v1")
    fig, ax = plt.subplots(figsize=(8, 6))
    ei = cells.set_index("node_id")["ei"]
    colors = np.where(ei.reindex(sp["node_id"]).to_numpy() == "e", "tab:red", "tab:blue")
    ax.scatter(sp["timestamp"], row[sp["node_id"].to_numpy()], s=1.5, c=colors, marker=".",
               linewidths=0, rasterized=True)  # fmt: skip
    bounds = order.groupby("class_order", sort=True).size().cumsum().to_numpy()
    names = [cat.CLASSES[i] for i in sorted(order["class_order"].unique())]
    start = 0
    for end, name in zip(bounds, names):
        ax.axhline(end, color="0.8", lw=0.5)
        ax.text(1.01, (start + end) / 2, name, transform=ax.get_yaxis_transform(),
                fontsize=6, va="center")  # fmt: skip
        start = end
    ax.set_ylim(len(order), 0)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("V1 cells (layer, class, recipe orientation)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_class_rates(table: pd.DataFrame, path: Path, *, title: str) -> Path:
    """Bar chart of the mean rate per class with its s.d."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    x = np.arange(len(table))
    colors = ["tab:red" if c.startswith("e") else "tab:blue" for c in table.index]
    ax.bar(x, table["mean_hz"], yerr=table["sd_hz"], color=colors, capsize=2)
    ax.set_xticks(x, table.index, rotation=60, fontsize=7)
    ax.set_ylabel("rate (Hz)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def orientation_tuning(sweep: dict[float, Path], cells: pd.DataFrame, *, t_start: float,
                       t_stop: float, seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """OSI of the L2/3 and L4 excitatory cells from one run per grating direction.

    Returns one row per cell with ``osi`` (measured peak), ``preferred``, ``osi_recipe``
    (at the recipe's preference) and ``osi_shuffled`` (recipe orientations permuted).
    """
    from bmtoolkit.analyzer.tuning import grating_responses, selectivity, tuning_curves

    tuned = cells[cells["cell_class"].isin(TUNED_CLASSES)]
    resp = grating_responses(sweep, t_start=t_start, t_stop=t_stop,
                             node_ids={"v1": tuned["node_id"].to_numpy()}, population="v1")  # fmt: skip
    curves = tuning_curves(resp)
    sel = selectivity(curves).reset_index()
    out = tuned.merge(sel[["node_id", "preferred", "peak_rate", "osi", "gosi"]], on="node_id")
    theta = np.asarray(curves.columns, dtype=float)
    r = curves.loc[[("v1", i) for i in out["node_id"]]].to_numpy(dtype=float)
    pref = recipe_preference(out["tuning_angle"].to_numpy())
    out["osi_recipe"] = _osi_at(r, theta, pref)
    shuffled = np.random.default_rng(seed).permutation(pref)
    out["osi_shuffled"] = _osi_at(r, theta, shuffled)
    return out.drop(columns=["class_order"])


def _osi_at(r: np.ndarray, theta: np.ndarray, pref: np.ndarray) -> np.ndarray:
    """``(r(p) - r(p + 90)) / (r(p) + r(p + 90))`` at the tested direction nearest ``p``."""

    def nearest(target: np.ndarray) -> np.ndarray:
        d = np.abs(((theta[None, :] - target[:, None]) + 90.0) % 180.0 - 90.0)
        return np.argmin(d, axis=1)

    rows = np.arange(len(r))
    a, b = r[rows, nearest(pref)], r[rows, nearest(pref + 90.0)]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(a + b > 0, (a - b) / (a + b), np.nan)


def plot_tuning(tuning: pd.DataFrame, sweep_rates: pd.DataFrame, path: Path) -> Path:
    """Mean tuning curve per class, aligned on each cell's recipe preference, and OSI CDFs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8, 3.2))
    theta = np.asarray(sweep_rates.columns, dtype=float)
    for cls, g in tuning.groupby("cell_class"):
        vals = sweep_rates.loc[[("v1", i) for i in g["node_id"]]].to_numpy(dtype=float)
        pref = recipe_preference(g["tuning_angle"].to_numpy())
        # direction relative to each cell's preference, folded into [-90, 90)
        rel = np.round(((theta[None, :] - pref[:, None]) + 90.0) % 180.0 - 90.0, 6)
        width = 180.0 / len(theta)
        bins = np.round(rel / width).astype(int)
        keys = np.unique(bins)
        ax.plot(keys * width, [vals[bins == k].mean() for k in keys], "o-",
                label=f"{cls} ({len(g)})")  # fmt: skip
        for col, ls in (("osi_recipe", "-"), ("osi_shuffled", ":")):
            v = np.sort(g[col].dropna().to_numpy())
            bx.plot(v, np.linspace(0, 1, len(v)), ls, label=f"{cls} {col[4:]}")
    ax.set_xlabel("direction - recipe preference (deg)")
    ax.set_ylabel("mean rate (Hz)")
    ax.legend(fontsize=7)
    bx.set_xlabel("OSI")
    bx.set_ylabel("fraction of cells")
    bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


@dataclass
class V1Run:
    """What :func:`run_v1` made: paths, per-class rates, tuning, timings."""

    output_dir: Path
    circuit: Path
    nodes: dict[str, int]
    edges: dict[str, int]
    rates: pd.DataFrame
    tuning: pd.DataFrame | None
    plots: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def run_v1(
    output_dir: str | os.PathLike[str] = "v1_output",
    *,
    fraction: float = 0.01,
    stimulus: str = "grating",
    orientations: tuple[float, ...] = (0.0,),
    tstop: float = 1000.0,
    seed: int = 1,
    threads: int | None = None,
    progress: bool | None = None,
    cell_models_dir: str | os.PathLike[str] | None = None,
    workers: int | None = None,
) -> V1Run:
    """Build, filter, simulate and analyse the V1 model (see the module docstring).

    Parameters
    ----------
    output_dir : path-like
        Everything goes here (``network/``, ``lgn_*``, ``v1_*``, plots, tables).
    fraction : float
        Share of full size, ``(0, 1]``.
    stimulus : str
        ``"grating"``, ``"flash"`` or a ``.npy``/``.npz`` movie path.
    orientations : tuple of float
        Grating drift directions (deg), one run each; two or more give the tuning analysis.
    tstop : float
        Simulated ms per run; rates are taken after the onset transient
        (:func:`onset_window`).
    seed : int
        Seed of the build and of every run.
    threads : int, optional
        NEST threads.
    progress : bool, optional
        Progress bars/lines of every stage (None: bar in a terminal, lines elsewhere).
    cell_models_dir : path-like, optional
        Folder of the GLIF parameter files (see :func:`~bmtoolkit.recipes.v1.build_v1`).
    workers : int, optional
        Forked processes of the build (the files do not depend on it).
    """
    from bmtoolkit.models.v1.inputs import lgn_field
    from bmtoolkit.progress import notify
    from bmtoolkit.recipes.v1.build import build_v1

    if not tstop > 0:
        raise ConfigError(f"tstop must be > 0 ms, got {tstop}", field="tstop")
    if stimulus != "grating" and len(orientations) > 1:
        raise ConfigError("several orientations need stimulus='grating'", field="orientations")
    out = Path(output_dir).absolute()
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    show = progress is not False
    notify(f"v1: building the model at fraction {fraction:g}", show=show)
    t0 = time.perf_counter()
    built = build_v1(out, fraction=fraction, seed=seed, progress=progress,
                     cell_models_dir=cell_models_dir, workers=workers)  # fmt: skip
    timings["build"] = time.perf_counter() - t0
    field_deg, _ = lgn_field(fraction)
    cells = v1_cells(built.circuit)
    conditions = list(orientations) if stimulus == "grating" else [None]
    v1_files: dict[Any, Path] = {}
    for k, ori in enumerate(conditions):
        tag = "stim" if ori is None else f"ori{ori:g}"
        label = stimulus if ori is None else f"grating {ori:g} deg"
        notify(f"v1: filternet, {label} ({k + 1}/{len(conditions)})", show=show)
        t0 = time.perf_counter()
        movie = stimulus_input(stimulus, field_deg, orientation=ori or 0.0)
        lgn_file = lgn_spikes(out, built.circuit, movie, tstop=tstop, seed=seed, tag=tag,
                              progress=progress)  # fmt: skip
        timings["filternet"] = timings.get("filternet", 0.0) + time.perf_counter() - t0
        notify(f"v1: pointnet (NEST), {label} ({k + 1}/{len(conditions)})", show=show)
        t0 = time.perf_counter()
        v1_files[ori] = simulate(out, built.circuit, lgn_file, tstop=tstop, seed=seed, tag=tag,
                                 threads=threads, progress=progress)  # fmt: skip
        timings["pointnet"] = timings.get("pointnet", 0.0) + time.perf_counter() - t0
    notify("v1: analysis", show=show)
    t0 = time.perf_counter()
    first = v1_files[conditions[0]]
    window = (onset_window(tstop), tstop)
    rates = class_rates(first, cells, t_start=window[0], t_stop=window[1])
    table = rates_table(rates)
    table.to_csv(out / "rates.csv", float_format="%.4g")
    title = f"V1 at fraction {fraction:g}, {stimulus if conditions[0] is None else 'grating'}"
    plots = {
        "raster": plot_raster(first, cells, out / "raster.png", title=title),
        "rates": plot_class_rates(table, out / "rates.png", title=title),
    }
    tuning = None
    if len(conditions) > 1:
        from bmtoolkit.analyzer.tuning import grating_responses, tuning_curves

        tuning = orientation_tuning(v1_files, cells, t_start=window[0], t_stop=window[1],
                                    seed=seed)  # fmt: skip
        tuning.to_csv(out / "tuning.csv", index=False, float_format="%.4g")
        tuned = cells[cells["cell_class"].isin(TUNED_CLASSES)]["node_id"].to_numpy()
        curves = tuning_curves(grating_responses(v1_files, t_start=window[0], t_stop=window[1],
                                                 node_ids={"v1": tuned}, population="v1"))  # fmt: skip
        plots["tuning"] = plot_tuning(tuning, curves, out / "tuning.png")
    timings["analysis"] = time.perf_counter() - t0
    return V1Run(out, built.circuit, built.nodes, built.edges, table, tuning, plots, timings)
