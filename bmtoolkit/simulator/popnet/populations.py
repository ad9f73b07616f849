"""Backend-independent description of a population network.

The same :class:`PopulationNetwork` drives the three popnet modes: the density solver
(:mod:`~bmtoolkit.simulator.popnet.solver`), the mean-field rate model
(:mod:`~bmtoolkit.simulator.popnet.meanfield`) and the SSN rate model
(:mod:`~bmtoolkit.simulator.popnet.ssn`). Units are ms, mV and Hz throughout; SONATA files in
other units are converted by :mod:`~bmtoolkit.simulator.popnet.translations`.

Examples
--------
>>> from bmtoolkit.simulator.popnet.populations import (
...     LIFPopulation, ExternalPopulation, Connection, PopulationNetwork)
>>> from bmtoolkit.simulator.popnet.inputs import ConstantRate
>>> net = PopulationNetwork(
...     populations=(LIFPopulation("exc", tau_m=20.0, v_th=20.0),),
...     externals=(ExternalPopulation("drive", ConstantRate(100.0)),),
...     connections=(Connection("drive", "exc", weight=5.0, distribution="exponential"),),
... )
>>> net.population_names
('exc',)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.popnet.kernels import JUMP_DISTRIBUTIONS, JumpDistribution


@dataclass
class RateResult:
    """Rates (Hz) of each internal population (columns) per step (rows) starting at ``times``."""

    population_names: tuple[str, ...]
    times: np.ndarray
    rates: np.ndarray
    dt: float


@dataclass(frozen=True)
class LIFPopulation:
    """A population of identical leaky integrate-and-fire neurons.

    Parameters
    ----------
    name : str
    tau_m : float
        Membrane time constant (ms).
    v_th : float
        Threshold (mV); the top of the voltage grid (SONATA ``v_max``/``threshold``).
    v_reset : float
        Reset potential (mV).
    v_min : float
        Bottom of the voltage grid (mV); inhibition cannot push mass below it.
    e_l : float
        Resting potential (mV), ``v_min <= e_l < v_th``.
    tau_ref : float
        Absolute refractory period (ms).
    dv : float
        Voltage bin width of the density grid (mV).
    rate_scale, rate_exponent, tau_rate : float
        Rate-mode parameters: SSN gain ``k`` and power ``n`` of ``k * relu(input)^n``, and the
        time constant (ms) of the rate dynamics of the mean-field and SSN modes.
    n_neurons : int
        Size used by the Monte-Carlo comparison (:mod:`~bmtoolkit.simulator.popnet.montecarlo`).

    Examples
    --------
    >>> LIFPopulation("exc", tau_m=20.0, v_th=20.0, v_reset=10.0, tau_ref=2.0).v_min
    0.0
    """

    name: str
    tau_m: float = 20.0
    v_th: float = 20.0
    v_reset: float = 0.0
    v_min: float = 0.0
    e_l: float = 0.0
    tau_ref: float = 0.0
    dv: float = 0.1
    rate_scale: float = 0.04
    rate_exponent: float = 2.0
    tau_rate: float = 10.0
    n_neurons: int = 1000

    def __post_init__(self) -> None:
        where = f"population {self.name!r}"
        if self.tau_m <= 0:
            raise ConfigError(f"tau_m must be > 0, got {self.tau_m}", field=where)
        if not self.v_min <= self.e_l < self.v_th:
            raise ConfigError(
                f"need v_min <= e_l < v_th, got v_min={self.v_min}, e_l={self.e_l}, "
                f"v_th={self.v_th}",
                field=where,
            )
        if not self.v_min <= self.v_reset < self.v_th:
            raise ConfigError(
                f"need v_min <= v_reset < v_th, got v_reset={self.v_reset}", field=where
            )
        if self.tau_ref < 0 or self.dv <= 0 or self.tau_rate <= 0:
            raise ConfigError("need tau_ref >= 0, dv > 0 and tau_rate > 0", field=where)


@dataclass(frozen=True)
class ExternalPopulation:
    """A source population whose firing rate (Hz) is a given function of time (ms)."""

    name: str
    rate: Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Connection:
    """Synapses from ``source`` onto every neuron of ``target``.

    Parameters
    ----------
    source, target : str
        Population names; ``target`` must be a :class:`LIFPopulation`.
    weight : float
        Jump size (mV) per presynaptic spike (mean jump for distributed sizes).
    nsyns : float
        Number of synapses each target neuron receives from the source population.
    delay : float
        Transmission delay (ms).
    distribution : str
        Name in :data:`~bmtoolkit.simulator.popnet.kernels.JUMP_DISTRIBUTIONS`.
    distribution_params : tuple of (name, value)
        Extra parameters of the distribution (e.g. ``(("half_width", 0.2),)`` for ``uniform``).

    Examples
    --------
    >>> Connection("exc", "inh", weight=0.1, nsyns=100, delay=1.5).jump().mean
    0.1
    """

    source: str
    target: str
    weight: float
    nsyns: float = 1.0
    delay: float = 0.0
    distribution: str = "delta"
    distribution_params: tuple[tuple[str, float], ...] = ()

    def jump(self) -> JumpDistribution:
        """The jump-size distribution object of this connection."""
        cls = JUMP_DISTRIBUTIONS.get(self.distribution)
        return cls(self.weight, **dict(self.distribution_params))

    def kernel_key(self) -> tuple:
        """Connections with equal keys share one jump kernel in the solver."""
        return (self.target, self.distribution, self.weight, self.distribution_params)


@dataclass(frozen=True)
class PopulationNetwork:
    """Internal LIF populations, external rate populations and the connections between them.

    Examples
    --------
    >>> net = PopulationNetwork((LIFPopulation("a"), LIFPopulation("b")),
    ...                         connections=(Connection("a", "b", weight=1.0, nsyns=10),))
    >>> net.weight_matrix()[0].tolist()
    [[0.0, 0.0], [10.0, 0.0]]
    """

    populations: tuple[LIFPopulation, ...]
    externals: tuple[ExternalPopulation, ...] = ()
    connections: tuple[Connection, ...] = ()
    _index: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = [p.name for p in self.populations] + [e.name for e in self.externals]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"population names must be unique, repeated: {dup}")
        internal = {p.name for p in self.populations}
        for c in self.connections:
            if c.source not in names:
                raise ConfigError(f"connection source {c.source!r} is not a known population")
            if c.target not in internal:
                raise ConfigError(
                    f"connection target {c.target!r} must be an internal population; "
                    f"known: {sorted(internal)}"
                )
            if c.nsyns < 0 or c.delay < 0:
                raise ConfigError(f"connection {c.source}->{c.target}: nsyns, delay must be >= 0")
        self._index.update({n: i for i, n in enumerate(names)})

    @property
    def population_names(self) -> tuple[str, ...]:
        """Names of the internal populations, in order."""
        return tuple(p.name for p in self.populations)

    @property
    def source_names(self) -> tuple[str, ...]:
        """Internal then external population names: the index space of source rates."""
        return self.population_names + tuple(e.name for e in self.externals)

    def source_index(self, name: str) -> int:
        """Position of ``name`` in :attr:`source_names`."""
        return self._index[name]

    def external_rates(self, times: np.ndarray) -> np.ndarray:
        """Rates (Hz) of every external population at ``times`` (ms), shape ``(T, n_ext)``."""
        times = np.asarray(times, dtype=float)
        cols = [
            np.broadcast_to(np.asarray(e.rate(times), float), times.shape) for e in self.externals
        ]
        return np.stack(cols, axis=1) if cols else np.zeros((times.size, 0))

    def weight_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """Effective coupling ``(W, W2)`` with ``W[i, j] = sum nsyns * mean jump`` (mV) and
        ``W2[i, j] = sum nsyns * E[jump^2]`` (mV^2), targets ``i`` by sources ``j``."""
        n_t, n_s = len(self.populations), len(self.source_names)
        w = np.zeros((n_t, n_s))
        w2 = np.zeros((n_t, n_s))
        for c in self.connections:
            i, j = self.source_index(c.target), self.source_index(c.source)
            jump = c.jump()
            w[i, j] += c.nsyns * jump.mean
            w2[i, j] += c.nsyns * jump.second_moment()
        return w, w2
