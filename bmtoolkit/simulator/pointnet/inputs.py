"""Inputs on NEST: spike trains into ``spike_generator`` nodes, step currents.

- :func:`set_spike_trains`: the spike times of a
  :class:`~bmtoolkit.simulator.core.inputs.SpikeTrainsInput` go to the generators standing for
  the virtual nodes, with one vectorized ``set`` call per population. The generators take
  BMTK's parameters (:func:`spike_generator_params`): ``precise_times`` by default, so a spike
  is emitted at the end of the step holding its time; times <= 0 cannot be emitted by NEST and
  are dropped with a log message. Generators relayed through ``parrot_neuron`` nodes (plastic
  synapses from virtual nodes) fire one relay delay early so the relayed spikes keep their
  times; with BMTK's input option ``use_parrot_neurons`` the relays take a ``dt`` delay and
  the spikes arrive that much later, as in BMTK.
- :func:`add_current_clamp`: one ``step_current_generator`` per clamp, connected to every target
  node with the network's smallest delay (:func:`clamp_delay`); amplitude times are shifted
  back by that delay, so the current reaches the cell exactly at the configured ``delay``.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.simulator.core.inputs import CurrentClampInput
>>> clamp = CurrentClampInput("c", "all", np.array([190.0]), np.array([100.0]),
...                           np.array([800.0]))
>>> clamp_schedule(clamp, dt=0.1)
([99.9, 899.9], [190.0, 0.0])
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.inputs import CurrentClampInput, SpikeTrainsInput
from bmtoolkit.simulator.pointnet.translations import CLAMP_AMP_TO_PA

log = logging.getLogger("bmtoolkit.simulator.pointnet")


def spike_generator_params(run: Mapping[str, Any]) -> dict[str, bool]:
    """NEST parameters of the ``spike_generator`` nodes standing for virtual nodes, from the
    config's ``run`` section, as BMTK 1.2.0 sets them.

    ``{"precise_times": True}`` unless ``run.precise_times`` says otherwise; with
    ``precise_times`` a spike at ``t`` is emitted at the end of the step holding ``t`` (NEST's
    ``ms_stamp``), so ``69.70000001`` ms goes out at 69.8 ms, not at 69.7 ms. Without it, times
    must lie on the grid, unless ``run.allow_offgrid_spikes`` is true: then NEST's
    ``allow_offgrid_times`` first rounds a time to the nearest microsecond (BMTK passes the
    option under its own name, which NEST rejects).

    Parameters
    ----------
    run : mapping
        The ``run`` options (``precise_times``, ``allow_offgrid_spikes``).

    Returns
    -------
    dict

    Examples
    --------
    >>> spike_generator_params({})
    {'precise_times': True}
    >>> spike_generator_params({"precise_times": False})
    {'precise_times': False}
    >>> spike_generator_params({"allow_offgrid_spikes": True})
    {'allow_offgrid_times': True}
    """
    params = {"precise_times": True}
    if "precise_times" in run:
        params = {"precise_times": bool(run["precise_times"])}
    if run.get("allow_offgrid_spikes", False):
        params = {"allow_offgrid_times": True}
    return params


def set_spike_trains(item: SpikeTrainsInput, populations: dict[str, Any], tstop: float) -> int:
    """Give each virtual node of ``populations`` its spike train; return the spike count.

    Raises
    ------
    ConfigError
        NEST refused a time: off the grid while ``run.precise_times`` is false.
    """
    import nest

    total = 0
    for pop_name in item.spikes["population"].unique():
        pop = populations.get(pop_name)
        if pop is None or not pop.virtual:
            log.warning(
                "input %s: population %r is not a simulated virtual population; its spikes "
                "are ignored",
                item.name,
                pop_name,
            )
            continue
        trains = item.trains(pop_name)
        dropped = 0
        ids, times = [], []
        for nid, t in trains.items():
            t = t - pop.spike_time_shift
            ok = (t > 0.0) & (t <= tstop)
            dropped += int(np.count_nonzero(t <= 0.0))
            ids.append(nid)
            times.append(t[ok])
        if dropped:
            log.warning(
                "input %s: %d spikes at t <= 0 dropped (NEST cannot emit them)", item.name, dropped
            )
        if ids:
            coll = pop.collection(np.asarray(ids))
            order = np.argsort(pop.nest_ids[np.asarray(ids)])
            try:
                coll.set([{"spike_times": times[i].tolist()} for i in order])
            except nest.NESTError as err:
                raise ConfigError(
                    f"input {item.name}: NEST refused the spike times of population "
                    f"{pop_name!r} ({str(err).splitlines()[-1]}); with run.precise_times false "
                    "they must lie on the dt grid (set run.precise_times or "
                    "run.allow_offgrid_spikes to true)",
                    field=f"inputs.{item.name}",
                ) from err
            total += int(sum(len(t) for t in times))
    return total


def clamp_delay(clamp: CurrentClampInput, dt: float, max_delay: float) -> float:
    """Connection delay of a clamp's generator: ``max_delay`` (the network's smallest delay,
    so NEST's spike exchange interval is unchanged) unless the clamp starts earlier.

    Examples
    --------
    >>> import numpy as np
    >>> c = CurrentClampInput("c", "all", np.array([1.0]), np.array([100.0]), np.array([5.0]))
    >>> clamp_delay(c, dt=0.1, max_delay=1.5)
    1.5
    """
    starts = [start for start, _, amp in clamp.steps() if amp != 0.0]
    first = min(starts, default=max_delay + dt)
    delay = min(max_delay, first - dt)
    return float(max(dt, np.floor(delay / dt + 1e-9) * dt))


def clamp_schedule(
    clamp: CurrentClampInput, dt: float, delay: float | None = None
) -> tuple[list[float], list[float]]:
    """``(amplitude_times, amplitude_values)`` in ms and pA for a connection ``delay``
    (default one step): each change is set ``delay`` early so it reaches the cell on time.

    Examples
    --------
    >>> import numpy as np
    >>> c = CurrentClampInput("c", "all", np.array([1.0]), np.array([100.0]), np.array([5.0]))
    >>> clamp_schedule(c, dt=0.1, delay=1.5)
    ([98.5, 103.5], [1.0, 0.0])
    """
    delay = dt if delay is None else delay
    times, amps = clamp.waveform(tstart=0.0)
    times = times - delay
    keep = times > 0
    # a step starting before the delay is set at the first possible time
    if not keep.all():
        last = np.flatnonzero(~keep)[-1]
        if amps[last] != 0.0:
            times[last] = dt
            keep[last] = True
    values = amps[keep] * CLAMP_AMP_TO_PA
    out_t = np.round(times[keep], 9).tolist()
    return out_t, values.tolist()


def add_current_clamp(
    clamp: CurrentClampInput, targets: Any, dt: float, max_delay: float | None = None
) -> Any:
    """Create a ``step_current_generator`` for ``clamp`` and connect it to ``targets``."""
    import nest

    delay = dt if max_delay is None else clamp_delay(clamp, dt, max_delay)
    t, a = clamp_schedule(clamp, dt, delay)
    gen = nest.Create(
        "step_current_generator", params={"amplitude_times": t, "amplitude_values": a}
    )
    nest.Connect(gen, targets, syn_spec={"delay": delay})
    return gen
