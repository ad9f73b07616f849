"""Input spike tensors for the virtual nodes: from spike times, SONATA spike files or rates.

Every input is a ``(T, batch, n_virtual)`` tensor of spike counts per step. A spike at time
``t`` (ms) lands in the step that ends at ``t`` (step ``t / dt - 1``); it then reaches a target
``delay`` later, exactly as a NEST ``spike_generator`` spike stamped ``t`` does. Times off the
grid move to the end of their step, as NEST's ``precise_times`` (BMTK's default) does; with
``precise=False`` a time within half a NEST tic (0.5 us) of a grid point stays on it, as with
``allow_offgrid_times``. Spikes at ``t <= 0`` or ``t > tstop`` fall outside the run and are
dropped.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.simulator.torchnet.inputs import spike_times_to_tensor
>>> x = spike_times_to_tensor([np.array([0.3, 0.5])], dt=0.1, tstop=1.0)
>>> x.shape, x[:, 0, 0].nonzero().flatten().tolist()
(torch.Size([10, 1, 1]), [2, 4])
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.torchnet._torch import torch


def step_of(times: np.ndarray, dt: float, *, precise: bool = True) -> np.ndarray:
    """Step index (0-based) in which spikes at ``times`` (ms) are emitted: NEST's rule,
    shared with the other backends (:func:`bmtoolkit.simulator.core.inputs.emission_step`).

    Examples
    --------
    >>> step_of(np.array([0.3, 0.30000001, 0.3004, 0.3006, 0.31]), 0.1).tolist()
    [2, 3, 3, 3, 3]
    >>> step_of(np.array([0.3, 0.30000001, 0.3004, 0.3006, 0.31]), 0.1, precise=False).tolist()
    [2, 2, 2, 3, 3]
    """
    from bmtoolkit.simulator.core.inputs import emission_step

    return emission_step(np.asarray(times, dtype=float), dt, precise=precise)


def _steps(dt: float, tstop: float) -> int:
    if dt <= 0 or tstop <= 0:
        raise ConfigError(f"dt and tstop must be > 0, got dt={dt}, tstop={tstop}")
    return int(round(tstop / dt))


def spike_times_to_tensor(
    times: Sequence[np.ndarray],
    dt: float,
    tstop: float,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    precise: bool = True,
) -> torch.Tensor:
    """Spike times per node -> ``(T, 1, n_nodes)`` counts.

    Parameters
    ----------
    times : sequence of array
        ``times[i]`` are the spike times (ms) of virtual node ``i``.
    dt, tstop : float
        Time step and run length (ms).
    precise : bool
        NEST's ``precise_times`` rule (default) or ``allow_offgrid_times`` (see
        :func:`step_of`).
    """
    n_steps = _steps(dt, tstop)
    out = torch.zeros(n_steps, 1, len(times), dtype=dtype or torch.get_default_dtype())
    for i, t in enumerate(times):
        k = step_of(t, dt, precise=precise)
        k = k[(k >= 0) & (k < n_steps)]
        counts = np.bincount(k, minlength=n_steps)
        out[:, 0, i] = torch.from_numpy(counts.astype(np.float64))
    return out.to(device) if device is not None else out


def spikes_frame_to_tensor(
    node_ids: np.ndarray,
    timestamps: np.ndarray,
    n_nodes: int,
    dt: float,
    tstop: float,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    precise: bool = True,
) -> torch.Tensor:
    """Flat ``(node_id, timestamp)`` arrays -> ``(T, 1, n_nodes)`` counts (``precise``: see
    :func:`step_of`).

    Examples
    --------
    >>> spikes_frame_to_tensor(np.array([1]), np.array([0.2]), 2, 0.1, 0.5)[:, 0, 1].tolist()
    [0.0, 1.0, 0.0, 0.0, 0.0]
    """
    node_ids = np.asarray(node_ids, dtype=np.int64)
    if node_ids.size and (node_ids.min() < 0 or node_ids.max() >= n_nodes):
        raise ConfigError(f"spike node ids must be in [0, {n_nodes})", field="node_ids")
    n_steps = _steps(dt, tstop)
    k = step_of(timestamps, dt, precise=precise)
    keep = (k >= 0) & (k < n_steps)
    counts = np.zeros((n_steps, n_nodes))
    np.add.at(counts, (k[keep], node_ids[keep]), 1.0)
    out = torch.from_numpy(counts).to(dtype or torch.get_default_dtype())
    return out[:, None, :].to(device) if device is not None else out[:, None, :]


def spikes_from_sonata(
    path: str | os.PathLike[str],
    population: str,
    n_nodes: int,
    dt: float,
    tstop: float,
    **kwargs,
) -> torch.Tensor:
    """Read a SONATA spike file (h5 or csv) through :mod:`bmtoolkit.sonata` into a tensor.

    Examples
    --------
    >>> x = spikes_from_sonata("inputs/lgn.h5", "lgn", 100, 0.1, 1000.0)  # doctest: +SKIP
    """
    from bmtoolkit.sonata.spikes import read_spikes

    df = read_spikes(path, population=population, default_population=population)
    return spikes_frame_to_tensor(
        df["node_id"].to_numpy(), df["timestamp"].to_numpy(), n_nodes, dt, tstop, **kwargs
    )


def poisson_spikes(
    rates: float | np.ndarray | torch.Tensor,
    dt: float,
    tstop: float,
    *,
    n_nodes: int | None = None,
    batch: int = 1,
    generator: torch.Generator | None = None,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """Poisson spike trains ``(T, batch, n_nodes)`` with at most one spike per step.

    Parameters
    ----------
    rates : float, array (n_nodes,), or tensor (T, n_nodes) / (T, batch, n_nodes)
        Rates in Hz; time-varying rates give one row per step.
    generator : torch.Generator, optional
        For reproducible draws (seed it explicitly). Numbers are drawn on its device, or
        without one on the device of ``rates`` (CPU for numbers and arrays); the result
        then moves to ``device``.

    Examples
    --------
    >>> g = torch.Generator().manual_seed(0)
    >>> x = poisson_spikes(100.0, dt=1.0, tstop=1000.0, n_nodes=50, generator=g)
    >>> 80 < float(x.sum()) / 50 < 120
    True
    """
    n_steps = _steps(dt, tstop)
    dtype = dtype or torch.get_default_dtype()
    if isinstance(rates, torch.Tensor):
        negative = bool((rates < 0).any())
    else:  # checked on the host, before the rates may move to an accelerator
        negative = bool(np.any(np.asarray(rates, dtype=float) < 0))
    r = torch.as_tensor(rates, dtype=dtype)
    if r.dim() == 0:
        if n_nodes is None:
            raise ConfigError("n_nodes is required with a scalar rate")
        r = r.expand(n_nodes)
    if r.dim() == 1:
        r = r.expand(n_steps, batch, -1)
    elif r.dim() == 2:
        r = r[:, None, :].expand(-1, batch, -1)
    if r.shape[0] != n_steps or negative:
        raise ConfigError(f"rates must be >= 0 with {n_steps} rows, got shape {tuple(r.shape)}")
    p = (r * dt / 1000.0).clamp(max=1.0)
    # drawn where the generator lives (the default one: where the rates are)
    where = p.device if generator is None else generator.device
    draw = torch.rand(p.shape, generator=generator, dtype=dtype, device=where)
    out = (draw < p.to(where)).to(dtype)
    return out.to(device) if device is not None else out


def inputs_from_plan(
    plan: object,
    info: object,
    *,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Spike inputs ``(T, 1, n_virtual)`` and clamp currents ``(T, 1, n)`` of a run plan.

    Spike trains (SONATA h5/CSV files, Poisson generators) drive the virtual populations;
    current clamps (pA, as in NEST configs) act on simulated nodes, with row ``k`` the
    amplitude a NEST ``step_current_generator`` delivers during step ``k + 1``.
    """
    from bmtoolkit.simulator.core.inputs import CurrentClampInput, SpikeTrainsInput, precise_times

    dt, tstop = float(plan.dt), float(plan.tstop)
    precise = precise_times(plan.extra)
    n_steps = _steps(dt, tstop)
    dtype = dtype or torch.get_default_dtype()
    n_virtual = sum(size for _, size in info.virtual.values())
    n = sum(size for _, size in info.populations.values())
    spikes = torch.zeros(n_steps, 1, n_virtual, dtype=dtype) if n_virtual else None
    current = None
    for item in plan.inputs():
        if isinstance(item, SpikeTrainsInput):
            for pop, df in item.spikes.groupby("population"):
                if pop not in info.virtual:
                    raise ConfigError(
                        f"input {item.name!r} gives spikes to population {pop!r}, which is not "
                        f"a virtual population ({', '.join(info.virtual) or 'none'})",
                        field=f"inputs.{item.name}",
                    )
                offset, size = info.virtual[pop]
                spikes[:, :, offset : offset + size] += spikes_frame_to_tensor(
                    df["node_id"].to_numpy(),
                    df["timestamp"].to_numpy(),
                    size,
                    dt,
                    tstop,
                    dtype=dtype,
                    precise=precise,
                )
        elif isinstance(item, CurrentClampInput):
            if current is None:
                current = torch.zeros(n_steps, 1, n, dtype=dtype)
            t = (np.arange(n_steps) + 1) * dt
            amp = np.zeros(n_steps)
            for start, stop, a in item.steps():
                amp[(t > start - 1e-9) & (t < stop - 1e-9)] += a
            for pop, ids in plan.resolve_node_set(item.node_set).items():
                if pop in info.populations:
                    offset, _ = info.populations[pop]
                    idx = torch.as_tensor(np.asarray(ids, dtype=np.int64) + offset)
                    current[:, 0, idx] += torch.as_tensor(amp, dtype=dtype)[:, None]
        else:
            raise ConfigError(f"torchnet cannot use input of type {type(item).__name__}")
    if device is not None:
        spikes = None if spikes is None else spikes.to(device)
        current = None if current is None else current.to(device)
    return spikes, current
