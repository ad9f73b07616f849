"""Firing-rate functions of external populations: constant, piecewise, time series.

Each is a frozen, vectorised callable ``rate(times_ms) -> Hz`` registered by name in
:data:`RATE_FUNCTIONS`, so a simulation config selects one with ``"module"`` (or
``"rate_type"``) and passes the rest of its fields as parameters (see :func:`rate_from_params`).

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.simulator.popnet.inputs import rate_from_params
>>> f = rate_from_params({"module": "piecewise", "times": [0, 100], "rates": [5, 20]})
>>> f(np.array([50.0, 150.0])).tolist()
[5.0, 20.0]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, SonataFormatError
from bmtoolkit.registry import Registry

RATE_FUNCTIONS: Registry[Any] = Registry("rate function")


@RATE_FUNCTIONS.register("constant", aliases=("constant_rate", "firing_rate"))
@dataclass(frozen=True)
class ConstantRate:
    """A constant rate (Hz).

    Examples
    --------
    >>> ConstantRate(12.5)(np.zeros(2)).tolist()
    [12.5, 12.5]
    """

    firing_rate: float

    def __post_init__(self) -> None:
        if not np.isfinite(self.firing_rate) or self.firing_rate < 0:
            raise ConfigError(f"firing_rate must be finite and >= 0, got {self.firing_rate}")

    def __call__(self, times: np.ndarray) -> np.ndarray:
        return np.full(np.shape(times), float(self.firing_rate))


@RATE_FUNCTIONS.register("piecewise", aliases=("step", "piecewise_constant"))
@dataclass(frozen=True)
class PiecewiseRate:
    """Rate ``rates[i]`` from ``times[i]`` (ms) until the next time; before ``times[0]`` it is
    ``rates[0]``.

    Examples
    --------
    >>> PiecewiseRate((0.0, 10.0), (1.0, 2.0))(np.array([-1.0, 5.0, 10.0])).tolist()
    [1.0, 1.0, 2.0]
    """

    times: tuple[float, ...]
    rates: tuple[float, ...]

    def __post_init__(self) -> None:
        t, r = np.asarray(self.times, float), np.asarray(self.rates, float)
        if t.ndim != 1 or t.shape != r.shape or t.size == 0:
            raise ConfigError("piecewise rate needs 'times' and 'rates' of equal, non-zero length")
        if np.any(np.diff(t) < 0) or np.any(r < 0) or not np.all(np.isfinite(r)):
            raise ConfigError("piecewise rate needs increasing times and finite rates >= 0")
        object.__setattr__(self, "times", tuple(float(x) for x in t))
        object.__setattr__(self, "rates", tuple(float(x) for x in r))

    def __call__(self, times: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(np.asarray(self.times), np.asarray(times, float), side="right") - 1
        return np.asarray(self.rates)[np.clip(idx, 0, len(self.rates) - 1)]


@RATE_FUNCTIONS.register("timeseries", aliases=("time_series", "rates_file", "file"))
@dataclass(frozen=True)
class TimeSeriesRate:
    """Rates sampled at ``times`` (ms), linearly interpolated, held constant outside.

    Use :meth:`from_file` to read a rates file (h5 written by
    :func:`bmtoolkit.sonata.write_rates`, or a CSV with columns ``time`` and ``rate``
    [``population``, ``node_id``]).
    """

    times: tuple[float, ...]
    rates: tuple[float, ...]

    def __post_init__(self) -> None:
        PiecewiseRate(self.times, self.rates)  # same checks
        object.__setattr__(self, "times", tuple(float(x) for x in self.times))
        object.__setattr__(self, "rates", tuple(float(x) for x in self.rates))

    def __call__(self, times: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(times, float), self.times, self.rates)

    @classmethod
    def from_file(
        cls, path: str | Path, *, population: str | None = None, node_id: int | None = None
    ) -> TimeSeriesRate:
        """Read one rate series from an h5 or CSV rates file.

        Examples
        --------
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "r.csv")
        >>> _ = open(p, "w").write("time rate\\n0 1\\n10 3\\n")
        >>> TimeSeriesRate.from_file(p)(np.array([5.0])).tolist()
        [2.0]
        """
        path = Path(path)
        if path.suffix.lower() in (".h5", ".hdf5"):
            from bmtoolkit.sonata.rates import read_rates

            series = read_rates(path, population=population)
            if not series:
                raise SonataFormatError("no rate series found", path=path, field=population)
            s = next(iter(series.values()))
            col = 0 if node_id is None else int(np.flatnonzero(s.node_ids == node_id)[0])
            return cls(tuple(s.times), tuple(s.data[:, col]))
        import pandas as pd

        try:
            df = pd.read_csv(path, sep=r"[\s,]+", engine="python")
        except (OSError, ValueError) as err:
            raise SonataFormatError(f"cannot read rates CSV: {err}", path=path) from None
        for name, value in (("population", population), ("node_id", node_id)):
            if value is not None and name in df.columns:
                df = df[df[name].astype(type(value)) == value]
        for col in ("time", "rate"):
            if col not in df.columns:
                raise SonataFormatError(
                    f"rates CSV needs columns 'time' and 'rate', found {list(df.columns)}",
                    path=path,
                    field=col,
                )
        if df.empty:
            raise SonataFormatError("no rows for the requested series", path=path)
        df = df.sort_values("time")
        return cls(tuple(df["time"].astype(float)), tuple(df["rate"].astype(float)))


def rate_from_params(params: Mapping[str, Any], *, where: str | None = None):
    """Build a rate function from config fields.

    ``module`` (or ``rate_type``) picks the function (default ``constant`` when
    ``firing_rate`` is given); ``constant`` takes ``firing_rate``; ``piecewise`` takes ``times``
    and ``rates``; ``timeseries`` takes ``times`` and ``rates`` or ``rates_file`` (optional
    ``population``, ``node_id``).
    """
    kind = params.get("module", params.get("rate_type"))
    if kind is None:
        kind = "timeseries" if "rates_file" in params else "constant"
    try:
        cls = RATE_FUNCTIONS.get(str(kind))
    except KeyError as err:
        raise ConfigError(str(err), field=where) from None
    try:
        if cls is ConstantRate:
            return ConstantRate(float(params["firing_rate"]))
        if cls is TimeSeriesRate and "rates_file" in params:
            return TimeSeriesRate.from_file(
                params["rates_file"],
                population=params.get("population"),
                node_id=params.get("node_id"),
            )
        return cls(tuple(params["times"]), tuple(params["rates"]))
    except KeyError as err:
        raise ConfigError(f"rate function {kind!r} needs field {err}", field=where) from None


# ---------------------------------------------------------------------- config inputs
@dataclass(frozen=True)
class RateInput:
    """A rate input of a run: one rate function for every node of ``node_set``, or one
    constant rate per node (BMTK's ``rates`` CSV with ``gid``/``node_id`` and
    ``firing_rate`` columns).

    Examples
    --------
    >>> RateInput("drive", "ext", rate=ConstantRate(5.0)).rate_of(3)
    ConstantRate(firing_rate=5.0)
    >>> RateInput("drive", "ext", per_node={3: 2.0}).rate_of(4) is None
    True
    """

    name: str
    node_set: Any
    rate: Any = None
    per_node: Mapping[int, float] | None = None

    def rate_of(self, node_id: int, node_type_id: int | None = None) -> Any:
        """The rate function of a node (``None``: this input does not drive it).

        A ``rates`` table is keyed as BMTK's DiPDE popnet keys it: by population id, which
        is the node's ``node_type_id``; a table keyed by node id is read too (the node type
        wins when both match).

        Examples
        --------
        >>> inp = RateInput("drive", "ext", per_node={100: 15.0, 0: 2.0})
        >>> inp.rate_of(0, 100).firing_rate, inp.rate_of(0, 7).firing_rate
        (15.0, 2.0)
        """
        if self.per_node is None:
            return self.rate
        value = None
        if node_type_id is not None:
            value = self.per_node.get(int(node_type_id))
        if value is None:
            value = self.per_node.get(int(node_id))
        return None if value is None else ConstantRate(value)


def _per_node_rates(params: Mapping[str, Any], plan: Any, where: str) -> dict[int, float] | None:
    """BMTK's ``rates`` CSV (``gid``/``node_id`` and ``firing_rate`` columns), if given."""
    import pandas as pd

    path = params.get("rates")
    if not isinstance(path, str | Path):
        return None
    path = Path(path)
    if not path.is_absolute() and plan is not None and plan.config_path is not None:
        path = plan.config_path.parent / path
    try:
        df = pd.read_csv(path, sep=r"\s+", engine="python")
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read rates file: {err}", path=path, field=where) from None
    id_col = next((c for c in ("node_id", "gid", "node_ids", "gids") if c in df.columns), None)
    if id_col is None or "firing_rate" not in df.columns:
        raise ConfigError(
            f"rates CSV needs columns gid (or node_id) and firing_rate, found {list(df.columns)}",
            path=path,
            field=where,
        )
    return dict(zip(df[id_col].astype(int), df["firing_rate"].astype(float), strict=True))


def load_rate_input(cfg: Any, plan: Any) -> RateInput:
    """Rates of external populations (``module`` constant, piecewise, timeseries or
    ``pop_rates`` with a ``rates`` CSV), for the population-density backend."""
    where = f"inputs.{cfg.name}"
    params = dict(getattr(cfg, "params", None) or {})
    per_node = _per_node_rates(params, plan, where)
    if per_node is not None:
        return RateInput(cfg.name, cfg.node_set, per_node=per_node)
    if cfg.module is not None:
        params.setdefault("module", cfg.module)
    try:
        rate = rate_from_params(params, where=where)
    except ConfigError as err:
        path = plan.config_path if plan is not None else None
        raise ConfigError(err.message, path=path, field=err.field or where) from None
    return RateInput(cfg.name, cfg.node_set, rate=rate)


def _register() -> None:
    from bmtoolkit.simulator.core.registries import INPUT_MODULES

    if "rates" not in INPUT_MODULES:
        rate_names = tuple(RATE_FUNCTIONS._aliases) + tuple(RATE_FUNCTIONS.names())
        INPUT_MODULES.register("rates", load_rate_input, aliases=("pop_rates", *rate_names))


_register()
