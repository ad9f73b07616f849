"""Like-to-like connectivity: probability modulated by the difference in preferred orientation.

``P(i -> j) = p0 * g(dtheta_ij) * f(d_ij)``, with ``dtheta`` the orientation difference folded into
``[0, period / 2]`` (orientations are ``period``-periodic, 180 degrees by default), ``g`` a tuning
function with ``max g = 1`` and ``f`` an optional distance profile (see
:mod:`bmtoolkit.builder.rules.distance`), 1 when ``sigma`` is None. Tuning functions (in
:data:`TUNING_FUNCTIONS`, parameters through ``tuning_params``):

- ``linear``: ``g = 1 - (1 - floor) * dtheta / (period / 2)`` (``floor``: value at orthogonal);
- ``cosine``: ``g = (1 + a cos(2 pi dtheta / period)) / (1 + a)`` with ``0 <= a <= 1``;
- ``gaussian``: ``g = exp(-dtheta^2 / (2 width^2))``;
- ``von_mises``: ``g = exp(kappa (cos(2 pi dtheta / period) - 1))``.

The same tuning functions serve orientation-modulated weights
(:class:`bmtoolkit.builder.properties.OrientationWeight`).

Examples
--------
>>> import numpy as np
>>> orientation_difference(np.array([10.0]), np.array([170.0])).tolist()
[20.0]
>>> rule = LikeToLike(p0=0.2, tuning="linear", tuning_params={"floor": 0.25})
>>> float(rule.probability(np.array([90.0]))[0])
0.05
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bmtoolkit.builder.rules.base import CONNECTION_RULES, SynapseCount
from bmtoolkit.builder.rules.distance import DISTANCE_PROFILES, ThinnedRule, axes_index
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.registry import Registry

#: tuning functions ``g(dtheta, period, **params) -> values in [0, 1]``
TUNING_FUNCTIONS: Registry[Callable[..., np.ndarray]] = Registry("tuning function")


@TUNING_FUNCTIONS.register("linear")
def linear_tuning(dtheta: np.ndarray, period: float, floor: float = 0.0) -> np.ndarray:
    """``1 - (1 - floor) * dtheta / (period / 2)``."""
    return 1.0 - (1.0 - floor) * dtheta / (period / 2.0)


@TUNING_FUNCTIONS.register("cosine")
def cosine_tuning(dtheta: np.ndarray, period: float, a: float = 1.0) -> np.ndarray:
    """``(1 + a cos(2 pi dtheta / period)) / (1 + a)``."""
    x = np.multiply(dtheta, 2.0 * np.pi)
    if not isinstance(x, np.ndarray) or x.dtype != np.float64 or x.ndim == 0:
        return (1.0 + a * np.cos(2.0 * np.pi * dtheta / period)) / (1.0 + a)
    # the same operations, in place
    x /= period
    np.cos(x, out=x)
    x *= a
    x += 1.0
    x /= 1.0 + a
    return x


@TUNING_FUNCTIONS.register("gaussian")
def gaussian_tuning(dtheta: np.ndarray, period: float, width: float = 30.0) -> np.ndarray:
    """``exp(-dtheta^2 / (2 width^2))``."""
    return np.exp(-(dtheta * dtheta) / (2.0 * width * width))


@TUNING_FUNCTIONS.register("von_mises")
def von_mises_tuning(dtheta: np.ndarray, period: float, kappa: float = 1.0) -> np.ndarray:
    """``exp(kappa (cos(2 pi dtheta / period) - 1))``."""
    return np.exp(kappa * (np.cos(2.0 * np.pi * dtheta / period) - 1.0))


#: tuning functions defined here (each returns a new array)
_BUILT_IN = frozenset({linear_tuning, cosine_tuning, gaussian_tuning, von_mises_tuning})


def orientation_difference(a: np.ndarray, b: np.ndarray, period: float = 180.0) -> np.ndarray:
    """``|a - b|`` folded into ``[0, period / 2]``."""
    d = np.subtract(np.asarray(a, float), np.asarray(b, float))
    if not isinstance(d, np.ndarray) or d.ndim == 0:
        d = np.mod(np.abs(d), period)
        return np.minimum(d, period - d)
    np.abs(d, out=d)
    if not (d.size and d.max() < period):  # values below the period are their own remainder
        np.mod(d, period, out=d)
    np.minimum(d, np.subtract(period, d), out=d)
    return d


class Tuning:
    """A named tuning function with its parameters, checked to stay within [0, 1].

    Parameters
    ----------
    name : str
        Registered name in :data:`TUNING_FUNCTIONS`.
    params : Mapping, optional
        Its keyword parameters.
    period : float
        Orientation period in degrees.
    """

    def __init__(self, name: str, params: Mapping[str, Any] | None, period: float) -> None:
        self.func = TUNING_FUNCTIONS.get(name)
        self.name = name
        self.params = dict(params or {})
        self.period = float(period)
        try:
            probe = self(np.linspace(0.0, self.period / 2.0, 91))
        except TypeError as err:
            raise ConfigError(f"bad tuning_params for {name!r}: {err}") from None
        if probe.min() < -1e-12 or probe.max() > 1 + 1e-12:
            raise ConfigError(
                f"tuning {name!r} with {self.params} leaves [0, 1] (range "
                f"{probe.min():.3g}..{probe.max():.3g})",
                field="tuning_params",
            )

    def __call__(self, dtheta: np.ndarray) -> np.ndarray:
        values = self.func(dtheta, self.period, **self.params)
        # the built-in functions return new arrays: clipped in place
        own = (
            self.func in _BUILT_IN
            and isinstance(values, np.ndarray)
            and values is not dtheta
            and values.dtype == np.float64
            and values.flags.owndata
            and values.flags.writeable
        )
        return np.clip(values, 0.0, 1.0, out=values if own else None)


@CONNECTION_RULES.register("like_to_like")
class LikeToLike(ThinnedRule):
    """``P = p0 * g(dtheta) * f(d)`` (see the module docstring).

    Parameters
    ----------
    p0 : float
        Probability for equal orientations at distance 0.
    tuning : str
        Tuning function name.
    tuning_params : Mapping, optional
        Its parameters.
    angle_column : str
        Node property holding the preferred orientation in degrees (both populations).
    period : float
        Orientation period (180 for orientation, 360 for direction).
    sigma, profile, cutoff, axes
        Optional distance dependence as in
        :class:`~bmtoolkit.builder.rules.distance.DistanceProbability`; ``sigma=None`` means
        none (``cutoff`` still applies if given).
    nsyns : int or (int, int)
        Synapses per connection.
    autapses : bool
        Allow a node to connect to itself.
    """

    def __init__(
        self,
        p0: float,
        tuning: str = "linear",
        tuning_params: Mapping[str, Any] | None = None,
        angle_column: str = "tuning_angle",
        period: float = 180.0,
        sigma: float | None = None,
        profile: str = "gaussian",
        cutoff: float | None = None,
        axes: str = "xyz",
        nsyns: Any = 1,
        autapses: bool = False,
    ) -> None:
        if not 0.0 <= float(p0) <= 1.0:
            raise ConfigError(f"p0 must be in [0, 1], got {p0}", field="p0")
        self.pmax = self.p0 = float(p0)
        self.tuning = Tuning(tuning, tuning_params, period)
        self.angle_column = angle_column
        self.sigma = None if sigma is None else float(sigma)
        self.profile = DISTANCE_PROFILES.get(profile)
        self.cutoff = None if cutoff is None else float(cutoff)
        axes_index(axes)
        self.axes = axes
        self.needs_distance = self.sigma is not None
        self.nsyns = SynapseCount.parse(nsyns)
        self.autapses = autapses

    def probability(self, dtheta: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
        """The formula, for tests and plots."""
        p = self.p0 * self.tuning(np.asarray(dtheta, dtype=float))
        if d is not None and self.sigma is not None:
            p = p * self.profile(np.asarray(d, dtype=float), self.sigma)
        if d is not None and self.cutoff is not None:
            p = np.where(np.asarray(d) <= self.cutoff, p, 0.0)
        return p

    def accept(self, sources, targets, src, trg, d):  # noqa: D102
        dtheta = orientation_difference(
            sources.column(self.angle_column)[src],
            targets.column(self.angle_column)[trg],
            self.tuning.period,
        )
        g = self.tuning(dtheta)
        if self.sigma is not None:
            f = self.profile(d, self.sigma)
            if g.dtype == np.float64 and g.shape == np.shape(f) and g.flags.writeable:
                g *= f
            else:
                g = g * f
        return g
