"""Spikes and traces for other tools: Neo objects and NWB files.

- :func:`to_neo` turns a spikes table (:func:`bmtoolkit.analyzer.load_spikes`) and/or
  :class:`~bmtoolkit.analyzer.traces.Traces` into a ``neo.Block``: one ``SpikeTrain`` per
  cell (annotated with its population and node id, silent cells included when their ids
  are given) and one ``AnalogSignal`` per trace report, so Elephant's statistics and Neo's
  writers work on bmtoolkit outputs.
- :func:`write_nwb` writes them to an NWB file with pynwb: spikes as the ``units`` table
  (columns ``population`` and ``node_id``), traces as a ``TimeSeries`` in ``acquisition``.

Both libraries are optional (``pip install bmtoolkit[interop]``) and imported only here.
Times are in ms in bmtoolkit, in s in NWB; Neo objects carry their units.

Examples
--------
>>> from bmtoolkit.analyzer import load_spikes
>>> block = to_neo(spikes=load_spikes("output/spikes.h5"), t_stop=1000.0)  # doctest: +SKIP
>>> import elephant.statistics as st  # doctest: +SKIP
>>> [float(st.mean_firing_rate(s)) for s in block.segments[0].spiketrains][:3]  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import BackendNotAvailableError, ConfigError


def _need(module: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise BackendNotAvailableError(
            f"{module} is not installed: pip install 'bmtoolkit[{extra}]'"
        ) from err


def _trains(
    spikes: Any, node_ids: Mapping[str, Sequence[int]] | None
) -> list[tuple[str, int, np.ndarray]]:
    """``[(population, node_id, sorted times in ms)]``, silent cells of ``node_ids`` too."""
    groups = {
        (str(p), int(n)): np.sort(g["timestamp"].to_numpy(float))
        for (p, n), g in spikes.groupby(["population", "node_id"], sort=True)
    }
    if node_ids is not None:
        for pop, ids in node_ids.items():
            for n in ids:
                groups.setdefault((str(pop), int(n)), np.zeros(0))
    return [(p, n, t) for (p, n), t in sorted(groups.items())]


def to_neo(
    spikes: Any = None,
    traces: Any = None,
    *,
    t_start: float = 0.0,
    t_stop: float | None = None,
    node_ids: Mapping[str, Sequence[int]] | None = None,
    name: str = "bmtoolkit",
) -> Any:
    """A ``neo.Block`` with one segment holding the spike trains and the traces.

    Parameters
    ----------
    spikes : DataFrame, optional
        ``population``, ``node_id``, ``timestamp`` (ms), as :func:`load_spikes` returns.
    traces : Traces, optional
        A report read by :func:`~bmtoolkit.analyzer.load_traces`.
    t_start, t_stop : float
        Time span of the spike trains in ms (``t_stop`` default: the last spike).
    node_ids : mapping, optional
        ``{population: ids}`` of every cell to include, so that silent cells get an empty
        train (rates averaged over cells then count them).
    name : str
        Name of the block.

    Returns
    -------
    neo.Block
    """
    neo = _need("neo", "interop")
    quantities = _need("quantities", "interop")
    ms = quantities.ms
    block = neo.Block(name=name)
    seg = neo.Segment(name="run")
    block.segments.append(seg)
    if spikes is not None:
        trains = _trains(spikes, node_ids)
        last = max((t[-1] for _, _, t in trains if len(t)), default=t_start)
        stop = float(t_stop) if t_stop is not None else float(last)
        if stop < last:
            raise ConfigError(f"t_stop {stop} ms is before the last spike at {last} ms")
        for pop, nid, times in trains:
            seg.spiketrains.append(
                neo.SpikeTrain(
                    times * ms, t_start=t_start * ms, t_stop=stop * ms,
                    name=f"{pop}:{nid}", population=pop, node_id=nid,
                )
            )  # fmt: skip
    if traces is not None:
        step = float(np.diff(traces.times[:2])[0]) if len(traces.times) > 1 else 1.0
        units = traces.units or "dimensionless"
        try:
            unit = quantities.Quantity(1.0, units)
        except (LookupError, ValueError):
            unit = quantities.dimensionless
        signal = neo.AnalogSignal(
            np.asarray(traces.data) * unit, t_start=float(traces.times[0]) * ms,
            sampling_period=step * ms, name=traces.variable or "report",
            population=traces.population,
            array_annotations={"node_id": np.asarray(traces.node_ids),
                               "element_id": np.asarray(traces.element_ids)},
        )  # fmt: skip
        seg.analogsignals.append(signal)
    return block


def write_nwb(
    path: str | os.PathLike[str],
    spikes: Any = None,
    traces: Any = None,
    *,
    session_description: str = "bmtoolkit simulation",
    identifier: str | None = None,
    node_ids: Mapping[str, Sequence[int]] | None = None,
) -> Path:
    """Write spikes (``units`` table) and traces (``acquisition``) to an NWB file.

    The file is written under a temporary name and renamed, so a failed export leaves no
    partial file.

    Parameters
    ----------
    path : path
        The ``.nwb`` file.
    spikes, traces, node_ids
        As in :func:`to_neo`.
    session_description, identifier : str
        NWB metadata (``identifier`` default: the file name).

    Returns
    -------
    Path
    """
    pynwb = _need("pynwb", "interop")
    from datetime import UTC, datetime

    dest = Path(path)
    nwb = pynwb.NWBFile(
        session_description=session_description,
        identifier=identifier or dest.stem,
        session_start_time=datetime.now(UTC),
    )
    if spikes is not None:
        nwb.add_unit_column(name="population", description="SONATA node population")
        nwb.add_unit_column(name="node_id", description="SONATA node id")
        for pop, nid, times in _trains(spikes, node_ids):
            nwb.add_unit(spike_times=times / 1000.0, population=pop, node_id=nid)
    if traces is not None:
        step = float(np.diff(traces.times[:2])[0]) if len(traces.times) > 1 else 1.0
        scale = {"mV": 1e-3, "nA": 1e-9, "pA": 1e-12}.get(traces.units or "", 1.0)
        unit = {"mV": "volts", "nA": "amperes", "pA": "amperes"}.get(
            traces.units or "", traces.units or "unknown"
        )
        nwb.add_acquisition(
            pynwb.TimeSeries(
                name=f"{traces.population}_{traces.variable or 'report'}",
                data=np.asarray(traces.data), unit=unit, conversion=scale,
                starting_time=float(traces.times[0]) / 1000.0, rate=1000.0 / step,
                description=f"node ids (columns): {', '.join(map(str, traces.node_ids))}",
            )
        )  # fmt: skip
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.tmp.nwb")
    try:
        with pynwb.NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
