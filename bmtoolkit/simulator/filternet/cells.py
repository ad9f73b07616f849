"""LGN cell models built from SONATA node properties.

A cell is one or more *subunits*; each subunit is a separable spatio-temporal filter (Gaussian
receptive field x two-bump temporal kernel x signed amplitude) followed by the nonlinearity
with its own offset; the cell's rate is the sum over its subunits.

Cell types follow the mouse LGN model of the Allen V1 models (names as in their node
files, ``model_template = "lgnmodel:<type>"`` or a ``model_name``/``pop_name`` column):

- single-subunit ``sON_TF{1,2,4,8}``, ``sOFF_TF{1,2,4,8,15}``, ``tOFF_TF{4,8,15}`` (and
  ``tON_TF8``): sustained/transient ON or OFF cells preferring the temporal frequency in
  their name; offset = spontaneous rate;
- two-subunit ``sONsOFF_001`` and ``sONtOFF_001``: a dominant OFF subunit at ``(x, y)`` and an
  ON subunit ``sf_sep`` degrees away along ``tuning_angle``; each subunit's offset is half
  the spontaneous rate and the OFF amplitude balances the two peak rates;
- ``LGNOnOFFCell``: concentric ON (``sigma_on``) and OFF (``sigma_off``) subunits.

Node properties read (H5 or CSV): ``x``, ``y`` (degrees), ``spatial_size`` (degrees; the
Gaussian sigma is a third of it; a pair gives an elongated field), ``spatial_rotation``,
``weight_dom_0/1``, ``kpeaks_dom_0/1``, ``delay_dom_0/1`` (also ``weights``/``kpeaks``/
``delays`` pairs), the same with ``_non_dom_`` for the second subunit, ``spont_fr``,
``tuning_angle``, ``sf_sep``. Missing temporal parameters fall back to ``dynamics_params``
(``opt_wts``, ``opt_kpeaks``, ``opt_delays``) and then to the fitted values of the type
(:mod:`bmtoolkit.models.lgn`).

Examples
--------
>>> import pandas as pd
>>> from bmtoolkit.simulator.filternet.cells import build_cells
>>> nodes = pd.DataFrame({"model_template": ["lgnmodel:sON_TF8", "lgnmodel:tOFF_TF4"],
...                       "x": [10.0, 20.0], "y": [5.0, 5.0], "spatial_size": [3.0, 6.0]})
>>> cells = build_cells(nodes)
>>> cells.n_cells, cells.n_subunits, cells.amplitude.tolist()
(2, 2, [1.0, -1.0])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.models.lgn import FITTED_TEMPORAL, SPONT_RATES, TWO_SUBUNIT_TYPES
from bmtoolkit.simulator.filternet.filters import (
    DEFAULT_TRUNCATE,
    as_pair,
    cosine_bump_kernels,
    zero_crossing_ms,
)
from bmtoolkit.simulator.filternet.spatial import SPATIAL_KERNELS


@dataclass(frozen=True)
class LGNCells:
    """Struct-of-arrays description of a population of LGN cells and their subunits.

    Subunits are stored cell by cell (``subunit_cell`` is non-decreasing), so per-cell sums
    are ``np.add.reduceat(x, cell_start)``.

    Attributes
    ----------
    node_ids : np.ndarray (N,)
    model : np.ndarray (N,) of str
    subunit_cell : np.ndarray (S,) int
    x, y : np.ndarray (S,)
        Subunit centres (degrees).
    sigma : np.ndarray (S, 2)
        Gaussian standard deviations (degrees).
    rotation : np.ndarray (S,)
        Receptive-field rotation (degrees).
    amplitude : np.ndarray (S,)
        Signed gain (> 0 ON, < 0 OFF).
    offset : np.ndarray (S,)
        Added before the nonlinearity (Hz).
    kernels : np.ndarray (S, L)
        Temporal kernels at 1 ms resolution.
    surround_scale, surround_weight : np.ndarray (S,)
        Difference-of-Gaussians surround (weight 0: none).
    truncate : float
        Gaussians are cut at this many sigmas.
    spatial_kernel : str
        How the fields are put on the movie's pixels, a name in
        :data:`~bmtoolkit.simulator.filternet.spatial.SPATIAL_KERNELS` (``"pixel"``, as BMTK
        evaluates the LGN model, or ``"sampled"``).
    """

    node_ids: np.ndarray
    model: np.ndarray
    subunit_cell: np.ndarray
    x: np.ndarray
    y: np.ndarray
    sigma: np.ndarray
    rotation: np.ndarray
    amplitude: np.ndarray
    offset: np.ndarray
    kernels: np.ndarray
    surround_scale: np.ndarray = field(default_factory=lambda: np.zeros(0))
    surround_weight: np.ndarray = field(default_factory=lambda: np.zeros(0))
    truncate: float = DEFAULT_TRUNCATE
    spatial_kernel: str = "pixel"

    def __post_init__(self) -> None:
        s = len(self.subunit_cell)
        for name in ("surround_scale", "surround_weight"):
            if len(getattr(self, name)) != s:
                object.__setattr__(self, name, np.zeros(s))

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return len(self.node_ids)

    @property
    def n_subunits(self) -> int:
        """Number of subunits (>= cells)."""
        return len(self.subunit_cell)

    @property
    def cell_start(self) -> np.ndarray:
        """Index of each cell's first subunit."""
        return np.searchsorted(self.subunit_cell, np.arange(self.n_cells))

    def subset(self, cells: np.ndarray) -> LGNCells:
        """The cells at positions ``cells`` (sorted) with their subunits."""
        cells = np.asarray(cells, dtype=np.int64)
        keep = np.isin(self.subunit_cell, cells)
        remap = np.full(self.n_cells, -1, dtype=np.int64)
        remap[cells] = np.arange(len(cells))
        return LGNCells(
            node_ids=self.node_ids[cells],
            model=self.model[cells],
            subunit_cell=remap[self.subunit_cell[keep]],
            x=self.x[keep],
            y=self.y[keep],
            sigma=self.sigma[keep],
            rotation=self.rotation[keep],
            amplitude=self.amplitude[keep],
            offset=self.offset[keep],
            kernels=self.kernels[keep],
            surround_scale=self.surround_scale[keep],
            surround_weight=self.surround_weight[keep],
            truncate=self.truncate,
            spatial_kernel=self.spatial_kernel,
        )


# ----------------------------------------------------------------------------- helpers
def model_name(row: Mapping[str, Any]) -> str:
    """Cell type of a node: ``model_template`` after ``lgnmodel:``, else name columns."""
    for key in ("model_template", "model_name", "pop_name"):
        value = row.get(key)
        if isinstance(value, str) and value and value.upper() not in ("NULL", "NONE"):
            return value.split(":", 1)[1] if ":" in value else value
    raise ConfigError(
        "LGN node has no cell type: expected model_template 'lgnmodel:<type>', model_name "
        "or pop_name",
        field="model_template",
    )


def _split_type(name: str) -> tuple[str, str]:
    base, _, tf = name.partition("_")
    return base, (tf or "TF8")


def _pair_columns(df: pd.DataFrame, stems: tuple[str, ...], n: int) -> np.ndarray:
    """(n, 2) float array from ``<stem>_0``/``<stem>_1`` or a pair column; NaN if absent."""
    out = np.full((n, 2), np.nan)
    for stem in stems:
        c0, c1 = f"{stem}_0", f"{stem}_1"
        if c0 in df.columns and c1 in df.columns:
            vals = df[[c0, c1]].to_numpy(dtype=float)
            fill = np.isnan(out)
            out[fill] = vals[fill]
        elif stem in df.columns:
            for i, v in enumerate(df[stem].to_numpy()):
                if np.isnan(out[i]).any() and v is not None and not _isnan(v):
                    out[i] = as_pair(v)
    return out


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and np.isnan(v)


def _column(df: pd.DataFrame, name: str, default: float | np.ndarray) -> np.ndarray:
    base = np.broadcast_to(np.asarray(default, dtype=float), (len(df),)).copy()
    if name in df.columns:
        vals = pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float)
        base = np.where(np.isnan(vals), base, vals)
    return base


def _fit_from_params(params: Any, key: str) -> np.ndarray | None:
    if isinstance(params, Mapping) and key in params and params[key] is not None:
        return np.asarray(params[key], dtype=float)
    return None


def _temporal_params(
    df: pd.DataFrame, names: list[str], *, non_dom: bool, fallback: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(df)
    tag = "non_dom" if non_dom else "dom"
    weights = _pair_columns(
        df, (f"weight_{tag}", f"weights_{tag}") + (() if non_dom else ("weights",)), n
    )
    kpeaks = _pair_columns(df, (f"kpeaks_{tag}",) + (() if non_dom else ("kpeaks",)), n)
    delays = _pair_columns(
        df, (f"delay_{tag}", f"delays_{tag}") + (() if non_dom else ("delays",)), n
    )
    pcol = "non_dom_params" if non_dom else "dynamics_params"
    params = df[pcol].to_numpy() if pcol in df.columns else [None] * n
    for i in range(n):
        fit = FITTED_TEMPORAL.get(fallback[i])
        for arr, key, idx in ((weights, "opt_wts", 0), (kpeaks, "opt_kpeaks", 1),
                              (delays, "opt_delays", 2)):  # fmt: skip
            if np.isnan(arr[i]).any():
                val = _fit_from_params(params[i], key)
                if val is None and fit is not None:
                    val = np.asarray(fit[idx], dtype=float)
                if val is None:
                    raise ConfigError(
                        f"LGN node of type {names[i]!r} has no {key} ({tag} temporal filter): "
                        f"set weight_{tag}_0/1, kpeaks_{tag}_0/1 and delay_{tag}_0/1, or give "
                        f"dynamics_params with opt_wts/opt_kpeaks/opt_delays; fitted types: "
                        f"{', '.join(sorted(FITTED_TEMPORAL))}",
                        field=f"{key}",
                    )
                arr[i] = val
    return weights, kpeaks, delays


def _sigma(df: pd.DataFrame, default_size: float | np.ndarray) -> np.ndarray:
    n = len(df)
    sizes = np.empty((n, 2))
    default = np.broadcast_to(np.asarray(default_size, dtype=float), (n,))
    col = df["spatial_size"].to_numpy() if "spatial_size" in df.columns else [None] * n
    for i, v in enumerate(col):
        sizes[i] = as_pair(default[i]) if v is None or _isnan(v) else as_pair(v)
    if np.any(sizes <= 0):
        raise ConfigError("spatial_size must be > 0 degrees", field="spatial_size")
    return sizes / 3.0


# ----------------------------------------------------------------------------- builders
def build_cells(
    nodes: pd.DataFrame,
    *,
    node_ids: np.ndarray | None = None,
    seed: int | None = None,
    truncate: float = DEFAULT_TRUNCATE,
    spatial_kernel: str = "pixel",
) -> LGNCells:
    """Turn a table of LGN node properties into :class:`LGNCells`.

    Parameters
    ----------
    nodes : pandas.DataFrame
        One row per node (e.g. ``NodePopulation.get()``), columns as in the module docstring.
        ``dynamics_params``/``non_dom_params`` columns may hold dicts.
    node_ids : np.ndarray, optional
        Ids of the rows (default: the frame's index).
    seed : int, optional
        Draws ``tuning_angle`` of two-subunit cells that have none (uniform 0-360).
    truncate : float
        Cut radius of the Gaussians in sigmas.
    spatial_kernel : str
        Discretization of the fields on the movie's pixels (see
        :mod:`~bmtoolkit.simulator.filternet.spatial`).

    Raises
    ------
    ConfigError
        A node lacks ``x``/``y``, a cell type or a temporal filter; the message says which.
    """
    SPATIAL_KERNELS.get(spatial_kernel)  # fail early on an unknown name
    df = nodes.reset_index(drop=node_ids is not None)
    if node_ids is None:
        node_ids = np.asarray(nodes.index, dtype=np.int64)
    for col in ("x", "y"):
        if col not in df.columns:
            raise ConfigError(f"LGN nodes need a {col!r} column (visual degrees)", field=col)
    names = [model_name(r) for r in df.to_dict("records")]
    rng = np.random.default_rng(seed)
    parts: list[dict[str, np.ndarray]] = []
    kinds = np.array([_kind(n) for n in names])
    for kind in ("single", "two", "onoff"):
        rows = np.nonzero(kinds == kind)[0]
        if rows.size:
            sub = df.iloc[rows].reset_index(drop=True)
            parts.append(_BUILDERS[kind](sub, [names[i] for i in rows], rows, rng))
    sub_cell = np.concatenate([p["cell"] for p in parts])
    order = np.argsort(sub_cell, kind="stable")
    kernels = _stack_kernels([p["kernels"] for p in parts])[order]
    cat = {k: np.concatenate([p[k] for p in parts])[order] for k in parts[0] if k != "kernels"}
    return LGNCells(
        node_ids=np.asarray(node_ids, dtype=np.int64),
        model=np.asarray(names, dtype=object),
        subunit_cell=cat["cell"].astype(np.int64),
        x=cat["x"],
        y=cat["y"],
        sigma=cat["sigma"],
        rotation=cat["rotation"],
        amplitude=cat["amplitude"],
        offset=cat["offset"],
        kernels=kernels,
        truncate=truncate,
        spatial_kernel=spatial_kernel,
    )


def _kind(name: str) -> str:
    base = _split_type(name)[0]
    if base in TWO_SUBUNIT_TYPES:
        return "two"
    if name == "LGNOnOFFCell":
        return "onoff"
    if "ON" not in base and "OFF" not in base:
        raise ConfigError(
            f"unknown LGN cell type {name!r}: expected sON_TF*, sOFF_TF*, tON_TF*, tOFF_TF*, "
            f"{', '.join(f'{t}_001' for t in TWO_SUBUNIT_TYPES)} or LGNOnOFFCell",
            field="model_template",
        )
    return "single"


def _stack_kernels(blocks: list[np.ndarray]) -> np.ndarray:
    width = max(b.shape[1] for b in blocks)
    return np.concatenate([np.pad(b, ((0, 0), (0, width - b.shape[1]))) for b in blocks])


def _single(df: pd.DataFrame, names: list[str], rows: np.ndarray, rng: Any) -> dict:
    w, k, d = _temporal_params(df, names, non_dom=False, fallback=names)
    base = [_split_type(nm)[0] for nm in names]
    amp = np.array([-1.0 if "OFF" in b else 1.0 for b in base])
    spont_default = np.array([SPONT_RATES.get(nm, SPONT_RATES.get(f"{b}_TF8", 0.0))
                              for nm, b in zip(names, base)])  # fmt: skip
    return {
        "cell": rows,
        "x": df["x"].to_numpy(float),
        "y": df["y"].to_numpy(float),
        "sigma": _sigma(df, 1.0),
        "rotation": _column(df, "spatial_rotation", 0.0),
        "amplitude": amp,
        "offset": _column(df, "spont_fr", spont_default),
        "kernels": cosine_bump_kernels(w, k, d),
    }


def _two(df: pd.DataFrame, names: list[str], rows: np.ndarray, rng: Any) -> dict:
    n = len(df)
    consts = [TWO_SUBUNIT_TYPES[_split_type(nm)[0]] for nm in names]
    wd, kd, dd = _temporal_params(df, names, non_dom=False, fallback=[c.dom_fit for c in consts])
    wn, kn, dn = _temporal_params(df, names, non_dom=True, fallback=[c.nondom_fit for c in consts])
    kern_d0, kern_n0 = cosine_bump_kernels(wd, kd, dd), cosine_bump_kernels(wn, kn, dn)
    amp_dom = np.empty(n)
    for i, c in enumerate(consts):
        tc_d, tc_n = zero_crossing_ms(kern_d0[i]), zero_crossing_ms(kern_n0[i])
        sum_d, sum_n = kern_d0[i, :tc_d].sum(), kern_n0[i, :tc_n].sum()
        shift_d, shift_n = c.ttp_dom_ms - tc_d, c.ttp_nondom_ms - tc_n
        if shift_d < 0 or shift_n < 0:
            raise ConfigError(
                f"{names[i]}: temporal filter crosses zero after the target latency "
                f"({tc_d} ms > {c.ttp_dom_ms} ms or {tc_n} ms > {c.ttp_nondom_ms} ms)",
                field="kpeaks_dom_0",
            )
        dd[i] += shift_d
        dn[i] += shift_n
        ratio = c.max_rate_dom / c.max_rate_nondom
        amp_dom[i] = -c.dom_scale * ratio * (sum_n / sum_d) - c.spont * (
            c.max_rate_dom - c.max_rate_nondom
        ) / (c.max_rate_nondom * sum_d)
    spont = _column(df, "spont_fr", np.array([c.spont for c in consts]))
    sf_sep = _column(df, "sf_sep", np.array([c.sf_sep for c in consts]))
    angle = _column(df, "tuning_angle", np.nan)
    missing = np.isnan(angle)
    angle[missing] = rng.uniform(0.0, 360.0, int(missing.sum()))
    x, y = df["x"].to_numpy(float), df["y"].to_numpy(float)
    th = np.deg2rad(angle)
    sigma = _sigma(df, np.array([c.size for c in consts]))
    rot = _column(df, "spatial_rotation", 0.0)
    kd_new, kn_new = cosine_bump_kernels(wd, kd, dd), cosine_bump_kernels(wn, kn, dn)
    return {
        "cell": np.concatenate([rows, rows]),
        "x": np.concatenate([x, x + sf_sep * np.cos(th)]),
        "y": np.concatenate([y, y + sf_sep * np.sin(th)]),
        "sigma": np.concatenate([sigma, sigma]),
        "rotation": np.concatenate([rot, rot]),
        "amplitude": np.concatenate([amp_dom, np.ones(n)]),
        "offset": np.concatenate([0.5 * spont, 0.5 * spont]),
        "kernels": _stack_kernels([kd_new, kn_new]),
    }


def _onoff(df: pd.DataFrame, names: list[str], rows: np.ndarray, rng: Any) -> dict:
    n = len(df)
    w, k, d = _temporal_params(df, names, non_dom=False, fallback=names)
    kern = cosine_bump_kernels(w, k, d)
    sig = {}
    for col in ("sigma_on", "sigma_off"):
        if col not in df.columns:
            raise ConfigError(f"LGNOnOFFCell nodes need {col!r} (degrees)", field=col)
        sig[col] = np.array([as_pair(v) for v in df[col].to_numpy()])
    x, y = df["x"].to_numpy(float), df["y"].to_numpy(float)
    return {
        "cell": np.concatenate([rows, rows]),
        "x": np.concatenate([x, x]),
        "y": np.concatenate([y, y]),
        "sigma": np.concatenate([sig["sigma_on"], sig["sigma_off"]]),
        "rotation": np.zeros(2 * n),
        "amplitude": np.concatenate([np.full(n, 20.0), np.full(n, -20.0)]),
        "offset": np.zeros(2 * n),
        "kernels": np.concatenate([kern, kern]),
    }


_BUILDERS = {"single": _single, "two": _two, "onoff": _onoff}
