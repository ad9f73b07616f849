"""Edge property rules: weights, delays, synapse counts, anything per edge.

A property rule gets an :class:`EdgeBlock` (the edges of one target block with their source and
target nodes) and a ``numpy.random.Generator`` and returns one array per property name. Built-in
rules are vectorized; BMTK-style callables ``func(source, target, **params)`` keep working through
:class:`PairPropertyCallable`.

Built-in rules (registered in :data:`PROPERTY_RULES`):

- ``constant``: ``value``;
- ``gaussian``: ``N(mean, std)`` clipped to ``[lower, upper]`` (weight jitter);
- ``uniform``: ``U(low, high)``;
- ``orientation_weight``: ``w0 * g(dtheta)``, with ``g`` a tuning function of
  :mod:`bmtoolkit.builder.rules.like_to_like` (like-to-like weights);
- ``distance_delay``: ``base + d / (1000 * velocity)`` ms for ``d`` in um and ``velocity`` in m/s;
- ``synapse_locations``: see :mod:`bmtoolkit.builder.synapses`.

Examples
--------
>>> from bmtoolkit.builder import NetworkBuilder
>>> from bmtoolkit.builder.rules import FixedProbability
>>> net = NetworkBuilder("v1")
>>> net.add_nodes(N=20, positions=np.random.default_rng(0).random((20, 3)) * 100)
>>> cm = net.add_edges(connection_rule=FixedProbability(0.5), model_template="exp2syn")
>>> cm.add_properties("delay", rule=DistanceDelay(base=1.0, velocity=0.5), dtypes=float)
>>> net.build(seed=2)
>>> bool((net.edges_table()["delay"] >= 1.0).all())
True
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.builder.rules.base import NodeBlock
from bmtoolkit.builder.rules.callables import bind_params
from bmtoolkit.builder.rules.distance import axes_index
from bmtoolkit.builder.rules.like_to_like import Tuning, orientation_difference
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.registry import Registry

#: property rules by name (``add_properties("syn_weight", rule="gaussian", rule_params=...)``)
PROPERTY_RULES: Registry[type] = Registry("property rule")


@dataclass(frozen=True)
class EdgeBlock:
    """The edges of one block.

    Attributes
    ----------
    sources, targets : NodeBlock
        The edge set's sources and the block's targets.
    source, target : np.ndarray
        Row of each edge in ``sources`` / ``targets``.
    """

    sources: NodeBlock
    targets: NodeBlock
    source: np.ndarray
    target: np.ndarray

    def __len__(self) -> int:
        return len(self.source)

    def source_column(self, name: str) -> np.ndarray:
        """Property ``name`` of the source node of each edge."""
        return self.sources.column(name)[self.source]

    def target_column(self, name: str) -> np.ndarray:
        """Property ``name`` of the target node of each edge."""
        return self.targets.column(name)[self.target]

    def distances(self, axes: str = "xyz") -> np.ndarray:
        """Soma-to-soma distance of each edge (um) in the given axes."""
        cols = axes_index(axes)
        diff = (
            self.sources.positions("distance")[self.source][:, cols]
            - self.targets.positions("distance")[self.target][:, cols]
        )
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))


class PropertyRule(ABC):
    """Base class: :meth:`values` returns one array per edge (or a tuple, one per name)."""

    #: the engine seeds ``numpy.random``/``random`` per block before calling
    uses_global_random = False

    @abstractmethod
    def values(self, edges: EdgeBlock, rng: np.random.Generator) -> Any:
        """Values for the edges of ``edges``."""


@PROPERTY_RULES.register("constant")
class ConstantProperty(PropertyRule):
    """Every edge gets ``value``."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def values(self, edges, rng):  # noqa: D102
        return np.full(len(edges), self.value)


class ValueList(PropertyRule):
    """Per-edge values given as a list, as BMTK's ``add_properties(values=[...])``: value
    ``i`` goes to the ``i``-th edge in BMTK's order: sources by node id, each source's
    targets by node id (whatever the iterator), one edge per synapse. The engine places them once every block is built
    (:func:`bmtoolkit.builder.engine.fill_value_lists`).

    Parameters
    ----------
    values : sequence
        One value per edge; with several names, one tuple (row) per edge.
    n_names : int
        Number of property names set.
    """

    def __init__(self, values: Any, n_names: int = 1) -> None:
        arr = np.asarray(values)
        if arr.dtype.kind == "U":
            arr = arr.astype(object)
        if n_names > 1 and (arr.ndim != 2 or arr.shape[1] != n_names):
            raise ConfigError(
                f"values for {n_names} properties must hold one row of {n_names} values per "
                f"edge; got shape {arr.shape}",
                field="values",
            )
        if n_names == 1 and arr.ndim != 1:
            raise ConfigError(f"values must be one value per edge; got shape {arr.shape}")
        self.array = arr
        self.n_values = n_names

    def placeholder(self, n: int) -> Any:
        """Values of the right type for ``n`` edges, replaced after the build."""
        cols = [self.array] if self.n_values == 1 else list(self.array.T)
        out = tuple(
            np.zeros(n, dtype=c.dtype) if c.dtype != object else np.full(n, None) for c in cols
        )
        return out[0] if self.n_values == 1 else out

    def values(self, edges, rng):  # noqa: D102
        return self.placeholder(len(edges))

    def columns(self) -> list[np.ndarray]:
        """The list as one array per property name."""
        return [self.array] if self.n_values == 1 else list(self.array.T)


@PROPERTY_RULES.register("gaussian")
class GaussianProperty(PropertyRule):
    """``N(mean, std)`` per edge, clipped to ``[lower, upper]`` when given."""

    def __init__(
        self, mean: float, std: float, lower: float | None = None, upper: float | None = None
    ) -> None:
        if std < 0:
            raise ConfigError(f"std must be >= 0, got {std}", field="std")
        self.mean, self.std, self.lower, self.upper = float(mean), float(std), lower, upper

    def values(self, edges, rng):  # noqa: D102
        out = rng.normal(self.mean, self.std, size=len(edges))
        if self.lower is not None or self.upper is not None:
            out = np.clip(out, self.lower, self.upper)
        return out


@PROPERTY_RULES.register("uniform")
class UniformProperty(PropertyRule):
    """``U(low, high)`` per edge."""

    def __init__(self, low: float, high: float) -> None:
        self.low, self.high = float(low), float(high)

    def values(self, edges, rng):  # noqa: D102
        return rng.uniform(self.low, self.high, size=len(edges))


@PROPERTY_RULES.register("orientation_weight")
class OrientationWeight(PropertyRule):
    """``w0 * g(dtheta)`` with an optional gaussian jitter of relative size ``cv``.

    Parameters
    ----------
    w0 : float
        Weight for equal orientations.
    tuning, tuning_params, period, angle_column
        As in :class:`~bmtoolkit.builder.rules.like_to_like.LikeToLike`.
    cv : float
        Coefficient of variation of a multiplicative gaussian jitter (0: none).
    """

    def __init__(
        self,
        w0: float,
        tuning: str = "linear",
        tuning_params: Mapping[str, Any] | None = None,
        period: float = 180.0,
        angle_column: str = "tuning_angle",
        cv: float = 0.0,
    ) -> None:
        self.w0 = float(w0)
        self.tuning = Tuning(tuning, tuning_params, period)
        self.angle_column = angle_column
        self.cv = float(cv)

    def values(self, edges, rng):  # noqa: D102
        dtheta = orientation_difference(
            edges.source_column(self.angle_column),
            edges.target_column(self.angle_column),
            self.tuning.period,
        )
        w = self.w0 * self.tuning(dtheta)
        if self.cv > 0:
            w = w * np.maximum(rng.normal(1.0, self.cv, size=len(w)), 0.0)
        return w


@PROPERTY_RULES.register("distance_delay")
class DistanceDelay(PropertyRule):
    """``base + d / (1000 * velocity)`` ms (``d`` in um, ``velocity`` in m/s).

    Parameters
    ----------
    base : float
        Synaptic delay at distance 0 (ms).
    velocity : float
        Axonal conduction velocity (m/s = mm/ms).
    axes : str
        Axes of the distance (``"xyz"`` or a plane such as ``"xz"``).
    """

    def __init__(self, base: float = 1.0, velocity: float = 1.0, axes: str = "xyz") -> None:
        if velocity <= 0:
            raise ConfigError(f"velocity must be > 0, got {velocity}", field="velocity")
        axes_index(axes)
        self.base, self.velocity, self.axes = float(base), float(velocity), axes

    def values(self, edges, rng):  # noqa: D102
        return self.base + edges.distances(self.axes) / (1000.0 * self.velocity)


class PairPropertyCallable(PropertyRule):
    """BMTK-style ``func(source, target, **params)`` called once per edge.

    For several property names the callable returns a tuple with one value per name.
    """

    uses_global_random = True

    def __init__(
        self, func: Callable[..., Any], params: Mapping[str, Any] | None, n_names: int
    ) -> None:
        self.func = func
        self.params = dict(params or {})
        self.n_names = n_names

    def values(self, edges, rng):  # noqa: D102
        src_all = edges.sources.table.node_views()
        trg_all = edges.targets.table.node_views()
        src_ids = edges.sources.index[edges.source].tolist()
        trg_ids = edges.targets.index[edges.target].tolist()
        func = bind_params(self.func, self.params)
        out = [func(src_all[s], trg_all[t]) for s, t in zip(src_ids, trg_ids)]
        if self.n_names == 1:
            return _as_array(out)
        if out and any(len(v) != self.n_names for v in out):
            raise ConfigError(f"property rule must return {self.n_names} values per edge")
        cols = list(zip(*out)) if out else [()] * self.n_names
        return tuple(_as_array(list(c)) for c in cols)


def _as_array(values: list[Any]) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind == "U":
        arr = arr.astype(object)
    return arr


def make_property_rule(
    rule: Any, params: Mapping[str, Any] | None, names: Sequence[str]
) -> PropertyRule:
    """A :class:`PropertyRule` from an instance, a registered name, a callable or a constant."""
    if isinstance(rule, PropertyRule):
        return rule
    if isinstance(rule, str) and rule in PROPERTY_RULES:
        try:
            return PROPERTY_RULES.get(rule)(**(params or {}))
        except TypeError as err:
            raise ConfigError(f"bad rule_params for property rule {rule!r}: {err}") from None
    factory = getattr(rule, "vectorized_rule", None)
    if factory is not None:
        # a BMTK helper with a vectorized equivalent (bmtoolkit.builder.bionet)
        try:
            return factory(**(params or {}))
        except TypeError as err:
            raise ConfigError(f"bad rule_params for {rule.__name__}: {err}") from None
    if callable(rule):
        return PairPropertyCallable(rule, params, len(names))
    if len(names) != 1:
        raise ConfigError("a constant rule sets only one property")
    return ConstantProperty(rule)
