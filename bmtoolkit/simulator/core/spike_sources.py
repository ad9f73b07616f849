"""Spike inputs from recordings and from user functions (BMTK's ``nwb``, ``ecephys_probe`` and
``function`` input modules).

Each loader returns a :class:`~bmtoolkit.simulator.core.inputs.SpikeTrainsInput`, so every
backend that declares these modules in its spec runs them:

- ``module: "function"``: ``spikes_function`` names a function registered with
  :func:`~bmtoolkit.simulator.core.registries.spikes_generator` (or a ``"package.module:name"``
  import path); it is called as ``fn(node, sim)`` for each node of the node set and returns
  that node's spike times (ms).
- ``module: "nwb"``: BMTK's NWB spike files (``/processing/<trial>/spike_train/<node_id>``),
  options ``trial`` and ``population``.
- ``module: "ecephys_probe"``: sorted units of NWB 2 sessions (Neuropixels) replayed as the
  spike trains of the node set's nodes. ``mapping`` is ``units_map`` (a space-separated table
  ``node_ids unit_ids [population] [start_times stop_times]`` named by ``units``), ``sample`` /
  ``sample_without_replacement`` or ``sample_with_replacement`` (units drawn from those
  passing the ``units`` filter, seeded by the input's ``seed`` or ``run.random_seed``).
  ``interval`` picks the part of the recording replayed: ``[start, stop]`` in ms, one such
  window per file, or a filter of an intervals table (``{"interval_name":
  "drifting_gratings", "interval_index": 0, "orientation": 90}``); spikes inside it are moved
  to start at ``interval_offset`` (ms, BMTK's examples also write ``simulation_offset``).
  ``missing_ids`` (``fail``, ``warn``, ``ignore``) says what happens to nodes without a unit.

Examples
--------
>>> import pandas as pd
>>> units = pd.DataFrame({"location": ["LGd", "VISp", "LGd"], "snr": [3.0, 1.0, 0.5]})
>>> filter_units(units, {"location": "LGd", "snr": {"operation": ">", "value": 1.0}}).index.tolist()
[0]
"""

from __future__ import annotations

import importlib
import operator
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import BmtkWarning, ConfigError, UnknownModelError
from bmtoolkit.simulator.core.inputs import SpikeTrainsInput, _params, _require_file, _where
from bmtoolkit.simulator.core.registries import INPUT_MODULES, SPIKES_GENERATORS

if TYPE_CHECKING:  # pandas is imported where a table is read (runs need not import it)
    import pandas as pd

    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.sonata.config import InputConfig

__all__ = ["NodeView", "SimView", "filter_units"]

#: comparison operators a ``units`` filter may use
_OPERATIONS: Mapping[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class NodeView:
    """One node as a spike function sees it: ``node["x"]``, ``node.node_id``,
    ``node.population_name`` (BMTK's node object offers the same)."""

    population_name: str
    node_id: int
    properties: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        if key == "node_id":
            return self.node_id
        if key == "population":
            return self.population_name
        return self.properties[key]

    def __contains__(self, key: object) -> bool:
        return key in self.properties or key in ("node_id", "population")

    def get(self, key: str, default: Any = None) -> Any:
        """Property ``key``, or ``default``."""
        return self[key] if key in self else default


@dataclass(frozen=True)
class SimView:
    """What a spike function learns about the run: ``tstart``, ``tstop``, ``dt`` (ms) and the
    :class:`~bmtoolkit.simulator.core.plan.RunPlan`."""

    tstart: float
    tstop: float
    dt: float
    plan: RunPlan | None = None


def _spikes_frame(rows: list[tuple[str, int, np.ndarray]]) -> pd.DataFrame:
    import pandas as pd

    pops = [np.full(len(t), p, dtype=object) for p, _, t in rows]
    ids = [np.full(len(t), n, dtype=np.int64) for _, n, t in rows]
    times = [np.asarray(t, dtype=float) for _, _, t in rows]
    df = pd.DataFrame(
        {
            "population": np.concatenate(pops) if rows else np.zeros(0, dtype=object),
            "node_id": np.concatenate(ids) if rows else np.zeros(0, np.int64),
            "timestamp": np.concatenate(times) if rows else np.zeros(0),
        }
    )
    return df.sort_values(["timestamp", "node_id"], kind="stable").reset_index(drop=True)


def _spikes_function(name: Any, cfg: InputConfig, plan: RunPlan) -> Callable:
    if not isinstance(name, str) or not name:
        raise ConfigError("'spikes_function' must name a function", **_where(cfg, plan))
    if name in SPIKES_GENERATORS:
        return SPIKES_GENERATORS.get(name)
    module, _, attr = name.partition(":")
    if attr:
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as err:
            raise ConfigError(
                f"spikes_function {name!r} cannot be imported: {err}", **_where(cfg, plan)
            ) from err
    raise UnknownModelError(
        f"spikes_function {name!r} is not registered; known: "
        f"{', '.join(SPIKES_GENERATORS.names()) or 'none'}. Register it with "
        "@bmtoolkit.simulator.spikes_generator or give 'package.module:function'",
        **_where(cfg, plan),
    )


@INPUT_MODULES.register("function", aliases=("spikes_function",))
def load_function_spikes(cfg: InputConfig, plan: RunPlan) -> SpikeTrainsInput:
    """Spike trains returned by a user function for each node of the node set."""
    params = _params(cfg)
    fn = _spikes_function(params.get("spikes_function"), cfg, plan)
    sim = SimView(plan.tstart, plan.tstop, plan.dt, plan)
    rows = []
    for pop, ids in plan.resolve_node_set(cfg.node_set).items():
        columns = plan.circuit.nodes[pop].columns()
        for nid in np.asarray(ids).tolist():
            props = {k: v[nid] for k, v in columns.items()}
            times = np.asarray(fn(NodeView(pop, int(nid), props), sim), dtype=float).ravel()
            if np.isnan(times).any():
                raise ConfigError(
                    f"spikes_function returned NaN spike times for node {nid} of {pop!r}",
                    **_where(cfg, plan),
                )
            rows.append((pop, int(nid), np.sort(times)))
    return SpikeTrainsInput(cfg.name, cfg.node_set, _spikes_frame(rows))


@INPUT_MODULES.register("nwb")
def load_nwb_spikes(cfg: InputConfig, plan: RunPlan) -> SpikeTrainsInput:
    """BMTK's NWB spike files; only nodes of the node set are kept."""
    from bmtoolkit.simulator.core.inputs import _default_population
    from bmtoolkit.sonata.nwb import read_nwb_spike_trains

    params = _params(cfg)
    path = _require_file(params.get("input_file"), "input_file", cfg, plan)
    population = params.get("population") or _default_population(cfg, plan)
    df = read_nwb_spike_trains(path, trial=params.get("trial"), population=population)
    wanted = plan.resolve_node_set(cfg.node_set)
    keep = np.zeros(len(df), dtype=bool)
    for pop, ids in wanted.items():
        keep |= (df["population"] == pop).to_numpy() & np.isin(df["node_id"].to_numpy(), ids)
    df = df[keep].sort_values(["timestamp", "node_id"], kind="stable").reset_index(drop=True)
    return SpikeTrainsInput(cfg.name, cfg.node_set, df, source=path)


def filter_units(table: pd.DataFrame, filters: Mapping[str, Any] | None) -> pd.DataFrame:
    """Rows of ``table`` passing every filter of an ``ecephys_probe`` ``units`` option.

    A filter value is a value (equal), a list (one of), or ``{"operation": "<", "value": 0.5,
    "column": optional other column}``.

    Raises
    ------
    KeyError
        A filtered column is not in the table.
    """
    if not filters:
        return table
    mask = np.ones(len(table), dtype=bool)
    for name, value in filters.items():
        if isinstance(value, Mapping):
            column = value.get("column", name)
            op = _OPERATIONS.get(str(value.get("operation", "==")))
            if op is None:
                raise ValueError(
                    f"unknown operation {value.get('operation')!r}; known: {sorted(_OPERATIONS)}"
                )
            mask &= np.asarray(op(table[column], value["value"]), dtype=bool)
        elif isinstance(value, list | tuple | np.ndarray):
            mask &= table[name].isin(list(value)).to_numpy()
        else:
            mask &= (table[name] == value).to_numpy()
    return table[mask]


def _window(spec: Any, path: Path, cfg: InputConfig, plan: RunPlan) -> tuple[float, float] | None:
    """One ``interval`` entry as ``(start, stop)`` in seconds (``None``: the whole file)."""
    from bmtoolkit.sonata.nwb import nwb_interval_names, read_nwb_intervals

    if spec is None:
        return None
    if isinstance(spec, Mapping):
        filt = dict(spec)
        name = filt.pop("interval_name", filt.pop("stimulus_name", None))
        index = filt.pop("interval_index", filt.pop("stimulus_index", "all"))
        if name is None:
            raise ConfigError("interval filter needs 'interval_name'", **_where(cfg, plan))
        names = nwb_interval_names(path)
        table_name = name if name in names else f"{name}_presentations"
        table = read_nwb_intervals(path, table_name)
        try:
            table = filter_units(table, filt)
        except KeyError as err:
            raise ConfigError(
                f"interval filter: no column {err.args[0]!r} in {table_name!r} of {path}",
                **_where(cfg, plan),
            ) from err
        if table.empty:
            return (0.0, np.inf)
        if index == "all":
            return float(table["start_time"].min()), float(table["stop_time"].max())
        row = table.iloc[int(index)]
        return float(row["start_time"]), float(row["stop_time"])
    try:
        start, stop = (float(v) for v in spec)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            "'interval' must be [start, stop] in ms, one such window per file, or an "
            "intervals-table filter",
            **_where(cfg, plan),
        ) from err
    return start / 1000.0, stop / 1000.0


def _windows(spec: Any, paths: list[Path], cfg: InputConfig, plan: RunPlan) -> list[Any]:
    if spec is None or (isinstance(spec, list | tuple) and len(spec) == 0):
        specs: list[Any] = [None] * len(paths)
    elif isinstance(spec, Mapping) or not isinstance(spec[0], list | tuple | Mapping):
        specs = [spec] * len(paths)
    else:
        specs = list(spec)
        if len(specs) != len(paths):
            raise ConfigError(
                f"{len(specs)} intervals for {len(paths)} input files", **_where(cfg, plan)
            )
    return [_window(s, p, cfg, plan) for s, p in zip(specs, paths, strict=True)]


def _units_map(cfg: InputConfig, plan: RunPlan, wanted: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The ``units_map`` table: ``population, node_id, unit_id[, start, stop (s)]``."""
    import pandas as pd

    params = _params(cfg)
    path = _require_file(params.get("units"), "units", cfg, plan)
    table = pd.read_csv(path, sep=r"\s+")
    missing = {"node_ids", "unit_ids"} - set(table.columns)
    if missing:
        raise ConfigError(
            f"units map needs columns 'node_ids' and 'unit_ids' (space separated), "
            f"has {list(table.columns)}",
            path=path,
        )
    pops = list(wanted)
    if "population" in table.columns and set(table["population"]) & set(pops):
        population = table["population"].astype(str)
    else:  # BMTK ignores the column: the map is for the node set's population
        population = pd.Series([pops[0] if pops else None] * len(table))
    out = pd.DataFrame(
        {"population": population, "node_id": table["node_ids"], "unit_id": table["unit_ids"]}
    )
    if "start_times" in table.columns and "stop_times" in table.columns:
        out["start"] = table["start_times"] / 1000.0
        out["stop"] = table["stop_times"] / 1000.0
    return out


@INPUT_MODULES.register("ecephys_probe")
def load_ecephys_probe(cfg: InputConfig, plan: RunPlan) -> SpikeTrainsInput:
    """Sorted units of NWB sessions as the spike trains of the node set (see the module)."""
    import pandas as pd

    from bmtoolkit.sonata.nwb import read_nwb_units

    params = _params(cfg)
    files = params.get("input_file")
    if files is None:
        raise ConfigError(
            "ecephys_probe needs 'input_file' (NWB file or list)", **_where(cfg, plan)
        )
    files = files if isinstance(files, list) else [files]
    paths = [_require_file(f, "input_file", cfg, plan) for f in files]
    mapping = str(params.get("mapping", "")).lower()
    known = ("units_map", "sample", "sample_without_replacement", "sample_with_replacement")
    if mapping not in known:
        raise ConfigError(
            f"'mapping' is {params.get('mapping')!r}; expected one of {', '.join(known)}",
            **_where(cfg, plan),
        )
    missing_ids = str(params.get("missing_ids", "fail")).lower()
    onset = float(params.get("interval_offset", params.get("simulation_offset", 0.0))) / 1000.0
    windows = _windows(params.get("interval"), paths, cfg, plan)
    tables = []
    for i, path in enumerate(paths):
        units = read_nwb_units(path)
        if mapping != "units_map":
            try:
                units = filter_units(units, params.get("units"))
            except KeyError as err:
                raise ConfigError(
                    f"units filter: no column {err.args[0]!r} in the units or electrodes "
                    f"table of {path}",
                    **_where(cfg, plan),
                ) from err
        tables.append(units[["spike_times"]].assign(file=i))
    units = pd.concat(tables)
    units = units[~units.index.duplicated(keep="first")]
    wanted = plan.resolve_node_set(cfg.node_set)

    if mapping == "units_map":
        table = _units_map(cfg, plan, wanted)
    else:
        replace = mapping == "sample_with_replacement"
        nodes = [(p, int(n)) for p, ids in wanted.items() for n in np.asarray(ids).tolist()]
        if not replace and len(nodes) > len(units):
            if missing_ids == "fail":
                raise ConfigError(
                    f"{len(units)} NWB units for {len(nodes)} nodes: not enough to sample "
                    "without replacement (set missing_ids to 'warn' or 'ignore')",
                    **_where(cfg, plan),
                )
            nodes = nodes[: len(units)]
        seed = params.get("seed", plan.seed)
        rng = np.random.default_rng(seed)
        picks = rng.choice(units.index.to_numpy(), size=len(nodes), replace=replace)
        table = pd.DataFrame(
            {
                "population": [p for p, _ in nodes],
                "node_id": [n for _, n in nodes],
                "unit_id": picks,
            }
        )

    lookup = {
        (str(p), int(n)): row
        for p, n, row in zip(
            table["population"], table["node_id"], table.itertuples(index=False), strict=True
        )
    }
    rows = []
    for pop, ids in wanted.items():
        for nid in np.asarray(ids).tolist():
            entry = lookup.get((pop, int(nid)))
            if entry is None or entry.unit_id not in units.index:
                what = "no unit" if entry is None else f"unit {entry.unit_id} not in the files"
                message = f"node {nid} of {pop!r}: {what}"
                if missing_ids == "fail":
                    raise ConfigError(
                        f"{message} (set missing_ids to 'warn' or 'ignore')", **_where(cfg, plan)
                    )
                if missing_ids == "warn":
                    warnings.warn(f"input {cfg.name!r}: {message}", BmtkWarning, stacklevel=2)
                continue
            unit = units.loc[entry.unit_id]
            times = np.asarray(unit["spike_times"], dtype=float)
            window = windows[int(unit["file"])]
            if getattr(entry, "start", None) is not None and not np.isnan(entry.start):
                window = (float(entry.start), float(entry.stop))
            if window is not None:
                times = times[(window[0] <= times) & (times <= window[1])]
                times = times - window[0] + onset
            rows.append((pop, int(nid), np.sort(times) * 1000.0))
    return SpikeTrainsInput(cfg.name, cfg.node_set, _spikes_frame(rows), source=paths[0])
