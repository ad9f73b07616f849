"""Monte-Carlo reference: the same :class:`PopulationNetwork` as individual NEST neurons.

Each internal population becomes ``n_neurons`` ``iaf_psc_delta`` neurons with the population's
parameters; each connection with ``nsyns = K`` gives every target neuron ``K`` randomly chosen
presynaptic partners (``fixed_indegree``) of weight ``weight`` (mV jump) and the connection's
delay; each external population becomes an (inhomogeneous) Poisson generator whose rate is
``K`` times the external rate, so every target neuron receives its own Poisson train. Only
``delta`` jump distributions have a direct spiking equivalent.

The population-averaged firing rate (PSTH) of the spiking network is what the density solver
predicts; :func:`psth` bins spike times accordingly.

Examples
--------
>>> import numpy as np
>>> psth(np.array([0.5, 1.5, 1.7]), n_neurons=2, tstart=0.0, tstop=2.0, bin_ms=1.0)
(array([0.5, 1.5]), array([ 500., 1000.]))
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from bmtoolkit.exceptions import BackendNotAvailableError, ConfigError
from bmtoolkit.simulator.popnet.inputs import ConstantRate, PiecewiseRate
from bmtoolkit.simulator.popnet.populations import (
    Connection,
    ExternalPopulation,
    LIFPopulation,
    PopulationNetwork,
)


def step_response_network(
    *,
    n_neurons: int = 10_000,
    step_ms: float = 100.0,
    rates_hz: tuple[float, float] = (1600.0, 2200.0),
    dv: float = 0.1,
) -> PopulationNetwork:
    """The E/I reference network used to compare popnet with NEST.

    Two populations of identical LIF neurons (``tau_m`` 20 ms, threshold 20 mV above rest,
    reset 10 mV, refractory 2 ms, floor -10 mV) with 100 excitatory (0.1 mV) and 50 inhibitory
    (-0.5 mV) synapses per neuron (1.5 ms delay) and one Poisson input per neuron (0.5 mV onto
    E, 0.45 mV onto I) whose rate steps from ``rates_hz[0]`` to ``rates_hz[1]`` at
    ``step_ms``; the step produces a transient overshoot of both rates.

    Examples
    --------
    >>> step_response_network().population_names
    ('exc', 'inh')
    """
    params = dict(v_min=-10.0, v_reset=10.0, tau_ref=2.0, dv=dv, n_neurons=n_neurons)
    return PopulationNetwork(
        (LIFPopulation("exc", **params), LIFPopulation("inh", **params)),
        (ExternalPopulation("ext", PiecewiseRate((0.0, step_ms), rates_hz)),),
        (
            Connection("ext", "exc", weight=0.5),
            Connection("ext", "inh", weight=0.45),
            Connection("exc", "exc", weight=0.1, nsyns=100, delay=1.5),
            Connection("exc", "inh", weight=0.1, nsyns=100, delay=1.5),
            Connection("inh", "exc", weight=-0.5, nsyns=50, delay=1.5),
            Connection("inh", "inh", weight=-0.5, nsyns=50, delay=1.5),
        ),
    )


@dataclass
class MonteCarloResult:
    """Spike times (ms) of every internal population and the sizes used."""

    spikes: dict[str, np.ndarray]
    n_neurons: dict[str, int]
    tstop: float


def psth(
    spike_times: np.ndarray, *, n_neurons: int, tstart: float, tstop: float, bin_ms: float
) -> tuple[np.ndarray, np.ndarray]:
    """Population rate (Hz) in bins of ``bin_ms``: returns (bin centres, rates)."""
    edges = np.arange(tstart, tstop + 0.5 * bin_ms, bin_ms)
    counts, _ = np.histogram(spike_times, bins=edges)
    return 0.5 * (edges[1:] + edges[:-1]), counts / (n_neurons * bin_ms * 1e-3)


def run_nest(
    network: PopulationNetwork,
    tstop: float,
    *,
    dt: float = 0.1,
    seed: int = 1,
    n_threads: int = 1,
    n_neurons: dict[str, int] | None = None,
) -> MonteCarloResult:
    """Simulate ``network`` as a NEST spiking network until ``tstop`` ms.

    Parameters
    ----------
    network : PopulationNetwork
    tstop, dt : float
        Simulated time and NEST resolution (ms).
    seed : int
        NEST random seed (connectivity and Poisson trains).
    n_threads : int
    n_neurons : dict, optional
        Neurons per population (default: each population's ``n_neurons``).

    Raises
    ------
    BackendNotAvailableError
        NEST is not installed.

    Examples
    --------
    >>> mc = run_nest(step_response_network(n_neurons=100), 50.0)  # doctest: +SKIP
    >>> sorted(mc.spikes)  # doctest: +SKIP
    ['exc', 'inh']
    """
    os.environ.setdefault("PYNEST_QUIET", "1")
    try:
        import nest
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise BackendNotAvailableError(f"the Monte-Carlo reference needs NEST: {err}") from None
    nest.ResetKernel()
    if hasattr(nest, "VerbosityLevel"):
        nest.verbosity = nest.VerbosityLevel.ERROR
    else:  # pragma: no cover - NEST < 3.9
        nest.set_verbosity("M_ERROR")
    nest.SetKernelStatus(
        {"resolution": dt, "rng_seed": int(seed), "local_num_threads": int(n_threads)}
    )
    sizes = {p.name: int((n_neurons or {}).get(p.name, p.n_neurons)) for p in network.populations}
    nodes, recorders = {}, {}
    for p in network.populations:
        nodes[p.name] = nest.Create(
            "iaf_psc_delta",
            sizes[p.name],
            params={
                "tau_m": p.tau_m,
                "E_L": p.e_l,
                "V_th": p.v_th,
                "V_reset": p.v_reset,
                "V_min": p.v_min,
                "t_ref": p.tau_ref,
                "V_m": p.e_l,
                "I_e": 0.0,
            },
        )
        recorders[p.name] = nest.Create("spike_recorder")
        nest.Connect(nodes[p.name], recorders[p.name])
    externals = {e.name: e for e in network.externals}
    for c in network.connections:
        if c.distribution not in ("delta", "fixed", "constant"):
            raise ConfigError(
                f"connection {c.source}->{c.target}: the Monte-Carlo reference supports only "
                f"delta jumps, not {c.distribution!r}"
            )
        delay = max(float(c.delay), dt)
        target = nodes[c.target]
        if c.source in externals:
            rate_fn = externals[c.source].rate
            if isinstance(rate_fn, ConstantRate):
                gen = nest.Create(
                    "poisson_generator", params={"rate": c.nsyns * rate_fn.firing_rate}
                )
            elif isinstance(rate_fn, PiecewiseRate):
                times = np.maximum(np.asarray(rate_fn.times), dt)
                gen = nest.Create(
                    "inhomogeneous_poisson_generator",
                    params={
                        "rate_times": times.tolist(),
                        "rate_values": (c.nsyns * np.asarray(rate_fn.rates)).tolist(),
                        "allow_offgrid_times": True,
                    },
                )
            else:
                raise ConfigError(
                    f"external {c.source!r}: the Monte-Carlo reference supports constant and "
                    "piecewise rates"
                )
            nest.Connect(gen, target, "all_to_all", {"weight": c.weight, "delay": delay})
        else:
            k = int(round(c.nsyns))
            if k > 0:
                nest.Connect(
                    nodes[c.source],
                    target,
                    {"rule": "fixed_indegree", "indegree": k, "allow_autapses": False},
                    {"weight": c.weight, "delay": delay},
                )
    nest.Simulate(float(tstop))
    spikes = {
        name: np.asarray(rec.get("events")["times"], dtype=float) for name, rec in recorders.items()
    }
    return MonteCarloResult(spikes=spikes, n_neurons=sizes, tstop=float(tstop))
