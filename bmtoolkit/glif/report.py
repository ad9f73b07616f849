"""The fit report: data vs model voltage and spikes on a held-out sweep, EV per level.

matplotlib is imported when a figure is drawn, not with the package.

Examples
--------
>>> from bmtoolkit.glif.report import plot_fit_report  # doctest: +SKIP
>>> fig = plot_fit_report(sweep, {1: (params1, ev1), 5: (params5, ev5)})  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bmtoolkit.glif.fit import Evaluation
from bmtoolkit.glif.parameters import LEVEL_NAMES, GlifParameters
from bmtoolkit.glif.spikes import sweep_spikes
from bmtoolkit.glif.sweeps import Sweep


def plot_fit_report(sweep: Sweep, fits: Mapping[int, tuple[GlifParameters, Evaluation]], *,
                    window: tuple[float, float] | None = None, title: str = "") -> Any:  # fmt: skip
    """Figure with three panels for one held-out ``sweep``.

    Parameters
    ----------
    sweep : Sweep
        The recording shown (the first sweep each :class:`Evaluation` was computed on).
    fits : mapping
        Level -> (parameters, evaluation on held-out sweeps starting with ``sweep``).
    window : (float, float), optional
        Time window (s) of the voltage panel (default: the first second with spikes).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(9, 8), height_ratios=[3, 2, 2],
                             constrained_layout=True)  # fmt: skip
    t = sweep.times
    data_spikes = sweep_spikes(sweep) * sweep.dt
    if window is None:
        start = max(0.0, (data_spikes[0] - 0.1) if data_spikes.size else 0.0)
        window = (start, min(sweep.duration, start + 1.0))
    sel = (t >= window[0]) & (t <= window[1])
    ax = axes[0]
    ax.plot(t[sel], sweep.voltage[sel] * 1e3, color="k", lw=1.0, label="data")
    best = max(fits) if fits else None
    if best is not None:
        params, ev = fits[best]
        if ev.model_voltage:
            ax.plot(t[sel], ev.model_voltage[0][sel] * 1e3, color="C3", lw=0.8, alpha=0.8,
                    label=f"GLIF{best} ({LEVEL_NAMES[best]})")  # fmt: skip
    ax.set_ylabel("V (mV)")
    ax.set_xlim(window)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or f"{sweep.name or 'held-out sweep'} ({sweep.kind})")
    ax = axes[1]
    rows = [("data", data_spikes, "k")]
    for k, level in enumerate(sorted(fits)):
        ev = fits[level][1]
        rows.append((f"GLIF{level}", ev.model_spikes[0] if ev.model_spikes else np.zeros(0),
                     f"C{k}"))  # fmt: skip
    for y, (_, spikes, color) in enumerate(rows):
        ax.vlines(spikes, y - 0.4, y + 0.4, color=color, lw=1.0)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.set_xlim(window)
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    ax.set_title("spikes on the held-out sweep", fontsize=9)
    ax = axes[2]
    levels = sorted(fits)
    evs = [fits[lv][1].explained_variance for lv in levels]
    ax.bar([f"GLIF{lv}\n{LEVEL_NAMES[lv]}" for lv in levels], evs,
           color=[f"C{k}" for k in range(len(levels))])  # fmt: skip
    for x, ev in enumerate(evs):
        ax.text(x, max(ev, 0) + 0.02, f"{ev:.2f}", ha="center", fontsize=8)
    ax.set_ylim(min(0.0, *evs) if evs else 0.0, 1.1)
    ax.set_ylabel("explained variance")
    ax.set_title("PSTH explained variance on held-out sweeps", fontsize=9)
    return fig
