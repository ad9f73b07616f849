"""Orientation and temporal-frequency tuning from grating sweeps, and selectivity indices.

A *sweep* maps each stimulus condition to the spikes it evoked: ``{orientation: spikes}`` or
``{(orientation, temporal_frequency): spikes}``, where spikes is a table from
:func:`bmtoolkit.analyzer.load_spikes` or the path of a spikes file. A sweep can also be read
from a small table (:func:`read_sweep`).

Indices (``theta`` = drift direction in degrees, ``r`` = mean rate):

- ``gosi = |sum r exp(2 i theta)| / sum r`` (global OSI, 1 - circular variance);
- ``gdsi = |sum r exp(i theta)| / sum r`` (needs directions over the full circle);
- ``osi = (r_pref - r_orth) / (r_pref + r_orth)``, ``r_orth`` the mean at ``pref +- 90``;
- ``dsi = (r_pref - r_null) / (r_pref + r_null)``, ``r_null`` at ``pref + 180``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from bmtoolkit.analyzer.tuning import selectivity
>>> curves = pd.DataFrame([[10.0, 2.0, 0.0, 2.0]], columns=[0.0, 90.0, 180.0, 270.0])
>>> sel = selectivity(curves)
>>> float(sel["osi"].iloc[0]), float(sel["dsi"].iloc[0]), float(sel["preferred"].iloc[0])
(0.6666666666666666, 1.0, 0.0)
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError, MissingFileError

ORIENTATION = "orientation"
TEMPORAL_FREQUENCY = "temporal_frequency"


def read_sweep(path: str | os.PathLike[str]) -> dict[tuple[float, ...], Path]:
    """Read a sweep table: one row per condition with its spikes file.

    The file is CSV (``orientation,temporal_frequency,spikes_file``; the frequency column is
    optional) or JSON (a list of objects with the same keys). Relative spikes paths are taken
    against the table's folder.

    Returns
    -------
    dict
        ``{(orientation,) or (orientation, temporal_frequency): spikes path}``.
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError("sweep table does not exist", path=p)
    if p.suffix.lower() == ".json":
        import json

        try:
            table = pd.DataFrame(json.loads(p.read_text()))
        except ValueError as err:
            raise ConfigError(f"not a JSON list of conditions: {err}", path=p) from None
    else:
        table = pd.read_csv(p, sep=None, engine="python")
    for col in (ORIENTATION, "spikes_file"):
        if col not in table.columns:
            raise ConfigError(
                f"sweep table needs columns orientation and spikes_file (optional "
                f"temporal_frequency); it has {list(table.columns)}",
                path=p,
                field=col,
            )
    keys = [ORIENTATION] + ([TEMPORAL_FREQUENCY] if TEMPORAL_FREQUENCY in table.columns else [])
    out: dict[tuple[float, ...], Path] = {}
    for _, row in table.iterrows():
        f = Path(str(row["spikes_file"]))
        out[tuple(float(row[k]) for k in keys)] = f if f.is_absolute() else p.parent / f
    return out


def grating_responses(
    sweep: Mapping[Hashable, pd.DataFrame | str | os.PathLike[str]],
    *,
    t_start: float,
    t_stop: float,
    node_ids: Mapping[str, np.ndarray] | None = None,
    population: str | None = None,
) -> pd.DataFrame:
    """Mean rate of every node under every condition of a sweep.

    Parameters
    ----------
    sweep : mapping
        ``{orientation: spikes}`` or ``{(orientation, temporal_frequency): spikes}``; spikes
        as a table or a file path.
    t_start, t_stop : float
        Response window in ms.
    node_ids : mapping, optional
        ``{population: ids}`` so silent nodes count as 0 Hz (default: nodes that spiked in
        any condition).
    population : str, optional
        Keep only this population.

    Returns
    -------
    DataFrame
        ``population``, ``node_id``, ``orientation``, (``temporal_frequency``), ``rate`` (Hz).
    """
    from bmtoolkit.analyzer.spikes import firing_rates, load_spikes

    if not sweep:
        raise ConfigError("the sweep has no conditions")
    tables = {}
    for key, spikes in sweep.items():
        df = spikes if isinstance(spikes, pd.DataFrame) else load_spikes(spikes)
        if population is not None:
            df = df[df["population"] == population]
        tables[key] = df
    if node_ids is None:
        seen = pd.concat([t[["population", "node_id"]] for t in tables.values()])
        seen = seen.drop_duplicates().sort_values(["population", "node_id"])
        node_ids = {p: g["node_id"].to_numpy() for p, g in seen.groupby("population")}
    frames = []
    for key, df in tables.items():
        values = key if isinstance(key, tuple) else (key,)
        if len(values) not in (1, 2):
            raise ConfigError(
                f"sweep keys are orientation or (orientation, temporal_frequency); got {key!r}"
            )
        rates = firing_rates(df, t_start=t_start, t_stop=t_stop, node_ids=node_ids)
        rates[ORIENTATION] = float(values[0])
        if len(values) == 2:
            rates[TEMPORAL_FREQUENCY] = float(values[1])
        frames.append(rates)
    out = pd.concat(frames, ignore_index=True)
    cols = ["population", "node_id", ORIENTATION]
    cols += [TEMPORAL_FREQUENCY] if TEMPORAL_FREQUENCY in out.columns else []
    return out[[*cols, "rate"]].sort_values(cols, kind="stable").reset_index(drop=True)


def tuning_curves(
    responses: pd.DataFrame,
    *,
    parameter: str = ORIENTATION,
    at: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Pivot responses into one tuning curve per node.

    Parameters
    ----------
    responses : DataFrame
        From :func:`grating_responses`.
    parameter : {"orientation", "temporal_frequency"}
        The swept parameter on the curve.
    at : mapping, optional
        Fix the other parameters (e.g. ``{"orientation": 90}``); unfixed ones are averaged.

    Returns
    -------
    DataFrame
        Index ``(population, node_id)``, one column per parameter value, rates in Hz.
    """
    if parameter not in responses.columns:
        raise ConfigError(
            f"responses have no {parameter!r} column; they have {list(responses.columns)}"
        )
    df = responses
    for key, value in (at or {}).items():
        if key not in df.columns:
            raise ConfigError(f"cannot fix {key!r}: responses have {list(df.columns)}")
        df = df[np.isclose(df[key].to_numpy(dtype=np.float64), float(value))]
        if df.empty:
            raise ConfigError(f"no condition with {key} = {value}")
    curves = df.pivot_table(
        index=["population", "node_id"], columns=parameter, values="rate", aggfunc="mean"
    )
    curves.columns = curves.columns.astype(np.float64)
    curves.columns.name = parameter
    return curves


def _at_angle(r: np.ndarray, theta: np.ndarray, target: np.ndarray, period: float) -> np.ndarray:
    """``r[i, j]`` where ``theta[j] == target[i] (mod period)``; NaN when not sampled."""
    diff = np.abs(((theta[None, :] - target[:, None]) + period / 2) % period - period / 2)
    hit = diff < 1e-6
    found = hit.any(axis=1)
    j = hit.argmax(axis=1)
    return np.where(found, r[np.arange(len(r)), j], np.nan)


def selectivity(curves: pd.DataFrame) -> pd.DataFrame:
    """Orientation and direction selectivity of each orientation tuning curve.

    Parameters
    ----------
    curves : DataFrame
        Rows = nodes, columns = drift directions in degrees (from :func:`tuning_curves`).
        With directions only in ``[0, 180)`` the direction indices are NaN.

    Returns
    -------
    DataFrame
        Same index; ``preferred`` (deg), ``peak_rate`` (Hz), ``osi``, ``dsi``, ``gosi``,
        ``gdsi``. Nodes that never fired get NaN indices.
    """
    theta = np.asarray(curves.columns, dtype=np.float64)
    r = curves.to_numpy(dtype=np.float64)
    if r.shape[1] < 2:
        raise ConfigError(f"a tuning curve needs at least 2 directions, got {list(theta)}")
    rad = np.deg2rad(theta)
    total = r.sum(axis=1)
    full_circle = (theta.max() - theta.min()) >= 180.0 - 1e-9
    with np.errstate(invalid="ignore", divide="ignore"):
        gosi = np.abs(r @ np.exp(2j * rad)) / total
        gdsi = np.abs(r @ np.exp(1j * rad)) / total if full_circle else np.full(len(r), np.nan)
        pref_j = np.argmax(r, axis=1)
        pref = theta[pref_j]
        peak = r[np.arange(len(r)), pref_j]
        period = 360.0 if full_circle else 180.0
        orth = np.nanmean(
            np.stack(
                [_at_angle(r, theta, pref + 90.0, period), _at_angle(r, theta, pref - 90.0, period)]
            ),  # fmt: skip
            axis=0,
        )
        osi = (peak - orth) / (peak + orth)
        if full_circle:
            null = _at_angle(r, theta, pref + 180.0, 360.0)
            dsi = (peak - null) / (peak + null)
        else:
            dsi = np.full(len(r), np.nan)
    silent = total <= 0
    out = pd.DataFrame(
        {"preferred": pref, "peak_rate": peak, "osi": osi, "dsi": dsi, "gosi": gosi, "gdsi": gdsi},
        index=curves.index,
    )
    out.loc[silent, ["preferred", "osi", "dsi", "gosi", "gdsi"]] = np.nan
    return out


def preferred_value(curves: pd.DataFrame) -> pd.Series:
    """Parameter value (column) of the peak of each curve, e.g. the preferred temporal frequency.

    Examples
    --------
    >>> preferred_value(pd.DataFrame([[1.0, 5.0, 2.0]], columns=[1.0, 4.0, 8.0])).tolist()
    [4.0]
    """
    values = np.asarray(curves.columns, dtype=np.float64)
    r = curves.to_numpy(dtype=np.float64)
    pref = values[np.argmax(np.nan_to_num(r, nan=-np.inf), axis=1)]
    pref = np.where(np.nansum(r, axis=1) > 0, pref, np.nan)
    return pd.Series(pref, index=curves.index, name=f"preferred_{curves.columns.name or 'value'}")


def plot_tuning(
    curves: pd.DataFrame,
    *,
    nodes: Sequence[tuple[str, int]] | None = None,
    max_nodes: int = 8,
    mean: bool = False,
    groups: Mapping[tuple[str, int], Any] | None = None,
    ax=None,
    title: str | None = None,
):
    """Tuning curves: one line per node, or the mean over nodes with its s.e.m. band.

    Parameters
    ----------
    curves : DataFrame
        From :func:`tuning_curves`.
    nodes : sequence of (population, node_id), optional
        Nodes to draw (default: the ``max_nodes`` with the highest peak rate).
    mean : bool
        Draw the mean curve (aligned to the stimulus, not to the preference) instead.
    groups : mapping, optional
        ``{(population, node_id): group}``: one mean curve with its s.e.m. band per group
        (aligned to the stimulus), labelled with the group and its number of nodes; nodes
        without a group are left out.

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)

    Examples
    --------
    >>> fig, ax = plot_tuning(curves, nodes=[("v1", 0), ("v1", 3)])  # doctest: +SKIP
    >>> len(ax.lines)  # doctest: +SKIP
    2
    """
    from bmtoolkit.analyzer.plots import _axes

    x = np.asarray(curves.columns, dtype=np.float64)
    fig, ax = _axes(ax, (6, 4))
    if groups is not None:
        labels = pd.Series([groups.get((str(p), int(n))) for p, n in curves.index])
        for label in sorted(labels.dropna().unique().tolist(), key=str):
            values = curves.to_numpy(dtype=np.float64)[(labels == label).to_numpy()]
            _mean_curve(ax, x, values, f"{label} (mean of {len(values)})")
    elif mean:
        values = curves.to_numpy(dtype=np.float64)
        _mean_curve(ax, x, values, f"mean of {len(values)} nodes")
    else:
        if nodes is None:
            peak = curves.max(axis=1).sort_values(ascending=False, kind="stable")
            nodes = list(peak.index[:max_nodes])
        for key in nodes:
            key = (str(key[0]), int(key[1]))
            if key not in curves.index:
                raise ConfigError(f"node {key} has no tuning curve")
            ax.plot(x, curves.loc[key].to_numpy(dtype=np.float64), marker="o",
                    label=f"{key[0]} {key[1]}")  # fmt: skip
    param = curves.columns.name or ORIENTATION
    unit = "Hz" if param == TEMPORAL_FREQUENCY else "deg"
    ax.set_xlabel(f"{param.replace('_', ' ')} ({unit})")
    ax.set_ylabel("firing rate (Hz)")
    if 0 < len(ax.lines) <= 10:
        ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig, ax


def _mean_curve(ax: Any, x: np.ndarray, values: np.ndarray, label: str) -> None:
    """The mean over rows of ``values`` with its s.e.m. band."""
    m = np.nanmean(values, axis=0)
    sem = np.nanstd(values, axis=0) / np.sqrt(max(len(values), 1))
    (line,) = ax.plot(x, m, marker="o", label=label)
    ax.fill_between(x, m - sem, m + sem, alpha=0.3, color=line.get_color())
