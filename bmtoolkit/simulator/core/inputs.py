"""Inputs of a run: config entries turned into typed, backend-independent objects.

Each ``inputs`` entry of a simulation config is loaded by the function registered in
:data:`~bmtoolkit.simulator.core.registries.INPUT_MODULES` under its ``module`` (or, failing
that, its ``input_type``). Loaders return one of three frozen dataclasses, which every backend
knows how to attach:

- :class:`SpikeTrainsInput`: spike times for (virtual) nodes, from SONATA h5 (per-population
  or legacy ``/spikes/gids`` layout), BMTK CSV, or drawn by a Poisson generator with an
  explicit seed (constant rate or a rate time series read from a file);
- :class:`CurrentClampInput`: step currents (one step, a list of steps, regularly repeated
  steps, or a table of amplitudes read from a file).

Amplitudes are kept in the config's units: BMTK uses pA for NEST and nA for NEURON, so each
backend's ``translations.py`` converts them.

Examples
--------
>>> import numpy as np
>>> clamp = CurrentClampInput("step", "all", amplitudes=np.array([0.1]),
...                           delays=np.array([100.0]), durations=np.array([500.0]))
>>> clamp.steps()
[(100.0, 600.0, 0.1)]
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import BmtkWarning, ConfigError, MissingFileError
from bmtoolkit.simulator.core.clamps import PlayedWaveform
from bmtoolkit.simulator.core.registries import INPUT_MODULES, unsupported_module
from bmtoolkit.simulator.core.spike_generators import TABLE_SEP

if TYPE_CHECKING:  # pandas is imported where a DataFrame is needed
    import pandas as pd

    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.sonata.config import InputConfig


@dataclass(frozen=True)
class SpikeTrainsInput:
    """Spike trains for the nodes of ``node_set``.

    Attributes
    ----------
    name : str
        The input's name in the config.
    node_set : str or Mapping
        Node set the spikes drive (usually virtual nodes).
    spikes : pandas.DataFrame
        Columns ``population``, ``node_id``, ``timestamp`` (ms), sorted by time.
    source : Path or None
        File the spikes came from (for messages).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"population": ["lgn"] * 3, "node_id": [1, 0, 1],
    ...                    "timestamp": [5.0, 2.0, 1.0]})
    >>> SpikeTrainsInput("lgn", "lgn", df).trains("lgn")[1].tolist()
    [1.0, 5.0]
    """

    name: str
    node_set: Any
    spikes: pd.DataFrame
    source: Path | None = None

    def trains(self, population: str) -> dict[int, np.ndarray]:
        """``{node_id: sorted spike times}`` of one population."""
        df = self.spikes[self.spikes["population"] == population]
        out: dict[int, np.ndarray] = {}
        if df.empty:
            return out
        ids = df["node_id"].to_numpy(np.int64)
        ts = df["timestamp"].to_numpy(float)
        order = np.lexsort((ts, ids))
        ids, ts = ids[order], ts[order]
        uniq, starts = np.unique(ids, return_index=True)
        for nid, chunk in zip(uniq, np.split(ts, starts[1:]), strict=True):
            out[int(nid)] = chunk
        return out


@dataclass(frozen=True)
class CurrentClampInput:
    """Step current(s) injected into every node of ``node_set``.

    Step ``i`` starts at ``delays[i]`` ms, lasts ``durations[i]`` ms and has amplitude
    ``amplitudes[i]`` (config units: pA for NEST configs, nA for NEURON configs).
    """

    name: str
    node_set: Any
    amplitudes: np.ndarray
    delays: np.ndarray
    durations: np.ndarray
    section: str = "soma"
    params: Mapping[str, Any] = field(default_factory=dict)
    #: a waveform read from a file (CSV, NWB) that NEURON plays sample by sample; the
    #: same current as ``amplitudes``/``delays``/``durations``
    played: PlayedWaveform | None = None

    def steps(self) -> list[tuple[float, float, float]]:
        """``[(start, stop, amplitude), ...]`` sorted by start time."""
        rows = sorted(
            zip(
                self.delays.tolist(),
                (self.delays + self.durations).tolist(),
                self.amplitudes.tolist(),
                strict=True,
            )
        )
        return [(float(a), float(b), float(c)) for a, b, c in rows]

    def waveform(self, tstart: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Piecewise-constant ``(times, amplitudes)``: value ``a[i]`` from ``t[i]`` on.

        Overlapping steps add up. Suitable for NEST's ``step_current_generator``.
        """
        edges = sorted({tstart, *self.delays.tolist(), *(self.delays + self.durations).tolist()})
        t = np.asarray(edges, dtype=float)
        a = np.zeros(len(t))
        for start, stop, amp in self.steps():
            a[(t >= start) & (t < stop)] += amp
        return t, a


#: tics per ms of NEST's default time grid (1 us tic): spike times are rounded to it
TICS_PER_MS = 1000


def emission_step(
    times: Any, dt: float, tstart: float = 0.0, *, precise: bool = True
) -> np.ndarray:
    """Index of the ``dt`` step in which a spike stamped ``times`` (ms) is emitted.

    Step ``k`` runs from ``tstart + k dt`` to ``tstart + (k + 1) dt``; a spike at ``T`` is
    emitted in the step that ends at ``T`` and reaches its targets ``delay`` later. This is
    NEST's ``spike_generator`` rule. With ``precise`` (``precise_times``, BMTK's default) a
    time on the grid is kept and any other one moves to the end of the step it lies in
    (NEST's ``ms_stamp``: ``T`` truncated to whole tics of 1 us, :data:`TICS_PER_MS`, then up
    to the grid when the grid point is still before ``T``), so ``0.30000001`` goes out at the
    end of the step after 0.3. Without it (``allow_offgrid_times``) ``T`` is first rounded to
    the nearest tic (half a tic rounds up): a spike 0.4 us after a grid point is emitted at that
    grid point, one 0.6 us after it a whole step later. Times at or before ``tstart`` give
    indices ``< 0``.

    Parameters
    ----------
    times : array_like
        Spike times, ms.
    dt : float
        Time step, ms (a whole number of tics).
    tstart : float
        Start of step 0, ms (on the grid).
    precise : bool
        NEST's ``precise_times`` rule (default, as BMTK) or its ``allow_offgrid_times`` rule.

    Returns
    -------
    numpy.ndarray
        int64 step indices, same shape as ``times``.

    Examples
    --------
    >>> emission_step([0.3, 0.3004, 0.3005, 0.3006, 0.35, 0.2996], 0.1).tolist()
    [2, 3, 3, 3, 3, 2]
    >>> emission_step([0.3, 0.3004, 0.3005, 0.3006, 0.35, 0.2996], 0.1, precise=False).tolist()
    [2, 2, 3, 3, 3, 2]
    >>> emission_step([10.2], 0.1, tstart=10.0).tolist()
    [1]
    """
    t = np.asarray(times, dtype=float)
    tics_per_step = max(int(round(dt * TICS_PER_MS)), 1)
    ms_per_step = tics_per_step / TICS_PER_MS
    # the end of the step holding T (NEST's ms_stamp: truncated tics, then up)
    stamp = np.trunc(t * TICS_PER_MS).astype(np.int64) // tics_per_step
    stamp = np.where(stamp * ms_per_step < t, stamp + 1, stamp)
    if not precise:  # allow_offgrid_times: a time within half a tic of the grid is on it
        tics = np.floor(t * TICS_PER_MS + 0.5).astype(np.int64)
        on_grid = tics % tics_per_step == 0
        stamp = np.where(on_grid, tics // tics_per_step, stamp)
    return stamp - int(round(tstart / dt)) - 1


def precise_times(run: Mapping[str, Any]) -> bool:
    """Whether spike inputs follow NEST's ``precise_times`` rule for a config's ``run``
    options (BMTK's default; ``run.precise_times`` false or ``run.allow_offgrid_spikes`` true
    select the rounding rule), as :func:`emission_step` takes it.

    Examples
    --------
    >>> precise_times({}), precise_times({"precise_times": False})
    (True, False)
    """
    if run.get("allow_offgrid_spikes", False):
        return False
    return bool(run.get("precise_times", True))


def _params(cfg: InputConfig) -> Mapping[str, Any]:
    return getattr(cfg, "params", None) or {}


def _where(cfg: InputConfig, plan: RunPlan) -> dict[str, Any]:
    return {"path": plan.config_path if plan is not None else None, "field": f"inputs.{cfg.name}"}


def load_input(cfg: InputConfig, plan: RunPlan) -> SpikeTrainsInput | CurrentClampInput:
    """Load one ``InputConfig`` with the loader registered for its module or input type.

    Raises
    ------
    UnsupportedFeatureError
        ``module`` is documented as not supported (see
        :data:`~bmtoolkit.simulator.core.registries.UNSUPPORTED_INPUTS`).
    UnknownModelError
        Neither ``module`` nor ``input_type`` is registered (known names are listed).

    Examples
    --------
    >>> [load_input(cfg, plan) for cfg in plan.input_configs.values()]  # doctest: +SKIP
    """
    module = getattr(cfg, "module", None)
    error = unsupported_module("input", module, **_where(cfg, plan))
    if error is not None:
        raise error
    key = module if module in INPUT_MODULES else getattr(cfg, "input_type", None)
    if key not in INPUT_MODULES:
        key = module if module is not None else key
    loader = INPUT_MODULES.get(str(key))
    return loader(cfg, plan)


def _default_population(cfg: InputConfig, plan: RunPlan) -> str | None:
    if plan is None:
        return None
    try:
        pops = plan.resolve_node_set(cfg.node_set)
    except (KeyError, ValueError):
        return None
    names = [p for p, ids in pops.items() if len(ids)]
    return names[0] if len(names) == 1 else None


def _require_file(value: Any, key: str, cfg: InputConfig, plan: RunPlan) -> Path:
    if value is None:
        raise ConfigError(f"'{key}' is required", **_where(cfg, plan))
    path = Path(value)
    if not path.exists():
        raise MissingFileError(
            f"{key} {str(path)!r} of input {cfg.name!r} does not exist",
            path=plan.config_path if plan is not None else None,
            field=f"inputs.{cfg.name}.{key}",
        )
    return path


def _warn_dropped_spikes(df: pd.DataFrame, cfg: InputConfig, plan: RunPlan, path: Path) -> None:
    """Warn (one line each) about spikes no node can emit: NaN times, ids outside populations."""
    where = f"inputs.{cfg.name}.input_file"
    times = df["timestamp"].to_numpy(float)
    if np.isnan(times).any():
        warnings.warn(
            f"{path}: {where}: {int(np.isnan(times).sum())} spike times are NaN and are ignored",
            BmtkWarning,
            stacklevel=3,
        )
    sizes = plan.circuit.population_sizes if plan is not None else {}
    ids = df["node_id"].to_numpy()
    pops = df["population"].to_numpy()
    for pop in np.unique(pops).tolist():
        if pop not in sizes:
            continue  # a population of another circuit: the node set decides
        mine = ids[pops == pop]
        bad = mine[(mine < 0) | (mine >= sizes[pop])]
        if bad.size:
            warnings.warn(
                f"{path}: {where}: {bad.size} spikes for node ids outside population {pop!r} "
                f"(ids 0..{sizes[pop] - 1}) are ignored: {np.unique(bad)[:5].tolist()}",
                BmtkWarning,
                stacklevel=3,
            )


@INPUT_MODULES.register("sonata", aliases=("h5", "hdf5", "csv", "spikes", "nwb_spikes"))
def load_spike_file(cfg: InputConfig, plan: RunPlan) -> SpikeTrainsInput:
    """Spike trains from ``input_file`` (SONATA h5, legacy h5 or BMTK CSV).

    For legacy files without populations, the population is the one the input's node set
    resolves to. Only nodes of the node set are kept.
    """
    from bmtoolkit.sonata import read_spikes

    params = _params(cfg)
    path = _require_file(params.get("input_file"), "input_file", cfg, plan)
    df = read_spikes(path, default_population=_default_population(cfg, plan))
    _warn_dropped_spikes(df, cfg, plan, path)
    if plan is not None and cfg.node_set is not None:
        wanted = plan.resolve_node_set(cfg.node_set)
        keep = np.zeros(len(df), dtype=bool)
        for pop, ids in wanted.items():
            rows = (df["population"] == pop).to_numpy()
            keep |= rows & np.isin(df["node_id"].to_numpy(), ids)
        df = df[keep]
    df = df.sort_values(["timestamp", "node_id"], kind="stable").reset_index(drop=True)
    return SpikeTrainsInput(cfg.name, cfg.node_set, df, source=path)


@INPUT_MODULES.register("poisson", aliases=("poisson_spikes", "inhomogeneous_poisson"))
def load_poisson(cfg: InputConfig, plan: RunPlan) -> SpikeTrainsInput:
    """Poisson spike trains for every node of the node set, drawn with an explicit seed.

    Parameters in the config: ``rate`` (Hz, constant) or ``rates_file`` (table ``time rate``,
    time in ms) or ``rates`` + ``times`` lists; ``start_time``/``end_time`` (default the run);
    ``seed`` (default ``run.random_seed``).
    """
    from bmtoolkit.simulator.core.spike_generators import PoissonSpikeGenerator, read_rate_table

    params = _params(cfg)
    seed = params.get("seed", plan.seed if plan is not None else None)
    tstart = float(params.get("start_time", plan.tstart if plan is not None else 0.0))
    tstop = float(params.get("end_time", plan.tstop if plan is not None else 0.0))
    if "rates_file" in params or "input_file" in params:
        key = "rates_file" if "rates_file" in params else "input_file"
        times, rates = read_rate_table(_require_file(params[key], key, cfg, plan))
        rate: Any = (times, rates)
    elif "rates" in params:
        rates = np.asarray(params["rates"], dtype=float)
        times = np.asarray(params.get("times", np.linspace(tstart, tstop, len(rates))), float)
        rate = (times, rates)
    elif "rate" in params or "firing_rate" in params:
        rate = float(params.get("rate", params.get("firing_rate")))
    else:
        raise ConfigError("expected 'rate', 'rates' or 'rates_file'", **_where(cfg, plan))
    gen = PoissonSpikeGenerator(seed=seed, time_units="ms")
    for pop, ids in plan.resolve_node_set(cfg.node_set).items():
        gen.add(ids, rate, times=(tstart, tstop), population=pop)
    return SpikeTrainsInput(cfg.name, cfg.node_set, gen.to_dataframe())


def _as_array(value: Any, key: str, cfg: InputConfig, plan: RunPlan) -> np.ndarray:
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"'{key}' must be a number or a list of numbers", **_where(cfg, plan)
        ) from err
    return arr


@INPUT_MODULES.register("IClamp", aliases=("current_clamp", "iclamp", "step_current"))
def load_current_clamp(cfg: InputConfig, plan: RunPlan) -> CurrentClampInput:
    """Current clamp(s): ``amp``, ``delay``, ``duration`` (numbers or equal-length lists).

    Repeated steps: add ``repeat`` (count) and ``period`` (ms) and each step is repeated.
    From a file: ``input_file``/``amp_file`` names a table with columns ``amp`` and optionally
    ``delay`` and ``duration`` (missing ones taken from the config values). BMTK's
    ``input_type`` ``csv``/``file`` (``timestamps``/``amps`` table) and ``nwb``/``allen``
    (an Allen NWB sweep) are read as :mod:`~bmtoolkit.simulator.core.clamps` describes.
    """
    params = _params(cfg)
    kind = str(getattr(cfg, "input_type", None) or params.get("input_type") or "").lower()
    if kind in FILE_CLAMP_READERS:
        return FILE_CLAMP_READERS[kind](cfg, plan, params)
    file_key = next((k for k in ("amp_file", "input_file", "file") if k in params), None)
    if file_key is not None:
        import pandas as pd

        path = _require_file(params[file_key], file_key, cfg, plan)
        table = pd.read_csv(path, sep=TABLE_SEP, engine="python")
        table.columns = [str(c).strip().lower() for c in table.columns]
        ts_col = str(params.get("timestamps_column", "timestamps")).lower()
        if ts_col in table.columns:  # BMTK's table whatever the input_type says
            return _csv_clamp(cfg, plan, params)
        if "amp" not in table.columns and "amps" not in table.columns:
            raise ConfigError(
                f"current-clamp table needs an 'amp' column, has {list(table.columns)}",
                path=path,
            )
        amps = table["amp" if "amp" in table.columns else "amps"].to_numpy(float)
        n = len(amps)
        delays = (
            table["delay"].to_numpy(float)
            if "delay" in table.columns
            else np.broadcast_to(_as_array(params.get("delay", 0.0), "delay", cfg, plan), n)
        )
        durations = (
            table["duration"].to_numpy(float)
            if "duration" in table.columns
            else np.broadcast_to(_as_array(params.get("duration", 0.0), "duration", cfg, plan), n)
        )
        if "delay" not in table.columns and len(np.unique(delays)) == 1 and n > 1:
            # a list of amplitudes applied one after the other
            delays = delays + np.arange(n) * durations
    else:
        for key in ("amp", "delay", "duration"):
            if key not in params:
                raise ConfigError(f"current clamp needs '{key}'", **_where(cfg, plan))
        amps = _as_array(params["amp"], "amp", cfg, plan)
        delays = _as_array(params["delay"], "delay", cfg, plan)
        durations = _as_array(params["duration"], "duration", cfg, plan)
        try:
            amps, delays, durations = np.broadcast_arrays(amps, delays, durations)
        except ValueError as err:
            raise ConfigError(
                "amp, delay and duration lists must have the same length", **_where(cfg, plan)
            ) from err
    amps, delays, durations = (np.array(a, dtype=float) for a in (amps, delays, durations))
    repeat = int(params.get("repeat", params.get("n_repeats", 1)))
    if repeat > 1:
        period = float(params.get("period", 0.0))
        if period <= 0:
            raise ConfigError("'period' (ms) must be > 0 with 'repeat'", **_where(cfg, plan))
        offsets = np.repeat(np.arange(repeat) * period, len(amps))
        amps = np.tile(amps, repeat)
        durations = np.tile(durations, repeat)
        delays = np.tile(delays, repeat) + offsets
    if np.any(durations < 0):
        raise ConfigError("current-clamp durations must be >= 0", **_where(cfg, plan))
    return CurrentClampInput(
        cfg.name,
        cfg.node_set,
        amplitudes=amps,
        delays=delays,
        durations=durations,
        section=str(params.get("section_name", params.get("section", "soma"))),
        params=dict(params),
    )


def _played_clamp(cfg: InputConfig, params: Mapping[str, Any], played: Any, steps: Any):
    rows = list(steps)
    amps = np.array([r[2] for r in rows], dtype=float)
    starts = np.array([r[0] for r in rows], dtype=float)
    stops = np.array([r[1] for r in rows], dtype=float)
    return CurrentClampInput(
        cfg.name,
        cfg.node_set,
        amplitudes=amps,
        delays=starts,
        durations=stops - starts,
        section=str(params.get("section_name", params.get("section", "soma"))),
        params=dict(params),
        played=played,
    )


def _csv_clamp(cfg: InputConfig, plan: RunPlan, params: Mapping[str, Any]) -> CurrentClampInput:
    """BMTK's ``input_type: csv`` clamp: ``timestamps``/``amps`` rows, stepwise."""
    from bmtoolkit.simulator.core.clamps import csv_steps, csv_waveform, read_clamp_csv

    key = next((k for k in ("file", "input_file", "amp_file") if k in params), "file")
    path = _require_file(params.get(key), key, cfg, plan)
    t, a = read_clamp_csv(
        path,
        separator=str(params.get("separator", " ")),
        timestamps=str(params.get("timestamps_column", "timestamps")),
        amplitudes=str(params.get("amplitudes_column", "amps")),
    )
    played = csv_waveform(t, a, str(path))
    return _played_clamp(cfg, params, played, csv_steps(t, a))


def _nwb_clamp(cfg: InputConfig, plan: RunPlan, params: Mapping[str, Any]) -> CurrentClampInput:
    """BMTK's ``input_type: nwb`` clamp: one sweep of an Allen Cell Types NWB file."""
    from bmtoolkit.simulator.core.clamps import nwb_waveform
    from bmtoolkit.sonata import read_nwb_sweep

    key = next((k for k in ("file", "input_file") if k in params), "file")
    path = _require_file(params.get(key), key, cfg, plan)
    if params.get("sweep_id") is None:
        raise ConfigError("an NWB current clamp needs 'sweep_id'", **_where(cfg, plan))
    amps, dt = read_nwb_sweep(path, params["sweep_id"])
    window = params.get("sweep_window")
    played = nwb_waveform(
        amps,
        dt,
        downsample=None if params.get("downsample") is None else float(params["downsample"]),
        sweep_window=None if window is None else tuple(window),
        delay=float(params.get("delay", 0.0)),
        where=str(path),
    )
    return _played_clamp(cfg, params, played, played.steps())


#: BMTK ``input_type`` of a current clamp -> reader of its file
FILE_CLAMP_READERS = {"csv": _csv_clamp, "file": _csv_clamp, "nwb": _nwb_clamp, "allen": _nwb_clamp}


# loaders of recorded and user-generated spike inputs (nwb, ecephys_probe, function)
from bmtoolkit.simulator.core import replay as _replay  # noqa: E402, F401
from bmtoolkit.simulator.core import spike_sources as _spike_sources  # noqa: E402, F401
