"""BMTK-compatible connection rules given as Python callables or integers.

- ``iterator="one_to_one"`` (default): ``func(source, target, **params) -> nsyns`` for every pair;
- ``iterator="all_to_one"``: ``func(sources, target, **params) -> nsyns per source``;
- ``iterator="one_to_all"``: ``func(source, targets, **params) -> nsyns per target``;
- an integer ``n``: every pair (self-pairs included, as in BMTK) gets ``n`` synapses.

``source``/``target`` are :class:`~bmtoolkit.builder.node_table.NodeView` dicts, made once per
node. A per-pair result of ``None``, 0 or False means no connection; per-node results (a list or
numpy array, one count per node) are checked and reduced with vectorized numpy, and a wrong
length, a negative, NaN or non-integer count, a ``None`` entry, a string or a generator is one
:class:`~bmtoolkit.exceptions.ConfigError`. These rules cost about what the callable itself
costs; the vectorized rules in :mod:`bmtoolkit.builder.rules` are faster still.

Callables drawing from ``numpy.random`` or ``random`` get those global generators seeded per
block by the build engine (blocks of :attr:`CallableRule.block_rows` targets; of sources for
``one_to_all``), so a build is reproducible and the same whatever the number of workers.

Examples
--------
>>> def rule(source, target, p):
...     return 1 if source.node_id < target.node_id else 0
>>> r = make_callable_rule(rule, {"p": 0.1}, "one_to_one")
>>> r.uses_global_random
True
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from itertools import repeat
from typing import Any

import numpy as np

from bmtoolkit.builder.node_table import NodeView
from bmtoolkit.builder.rules.base import ConnectionRule, Connections, NodeBlock, merge_order
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.progress import advance
from bmtoolkit.registry import Registry

#: how a callable rule is iterated, by BMTK iterator name
ITERATORS: Registry[type] = Registry("iterator")


def _views(block: NodeBlock) -> list[NodeView]:
    every = block.table.node_views()
    return [every[i] for i in block.index.tolist()]


def split_params(
    func: Callable[..., Any], params: Mapping[str, Any]
) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """``(callable, positional values)`` such that ``callable(a, b, *values)`` is
    ``func(a, b, **params)``.

    When ``func`` takes every parameter by position right after its first two, ``func`` itself
    is returned with the values in that order (the cheapest call Python has); otherwise a
    ``functools.partial`` carrying the keywords, with no values. The signature is checked once.

    Raises
    ------
    ConfigError
        If ``func``'s signature cannot take two nodes plus ``params``.

    Examples
    --------
    >>> def rule(source, target, p, q=2):
    ...     return p + q
    >>> split_params(rule, {"q": 3, "p": 1})[1]
    (1, 3)
    """
    if not params:
        return func, ()
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):  # builtins and other callables without a signature
        return functools.partial(func, **params), ()
    try:
        bound = sig.bind(None, None, **params)
    except TypeError as err:
        name = getattr(func, "__name__", type(func).__name__)
        raise ConfigError(f"parameters {sorted(params)} do not fit {name}{sig}: {err}") from None
    values = tuple(bound.args[2:])
    if bound.kwargs or len(values) != len(params):
        return functools.partial(func, **params), ()
    return func, values


def bind_params(func: Callable[..., Any], params: Mapping[str, Any]) -> Callable[..., Any]:
    """``func(a, b)`` calling ``func(a, b, **params)``, as cheaply as Python allows.

    Parameters that ``func`` takes by position right after its first two are passed by
    position from a small closure (a call with keyword arguments through ``functools.partial``
    costs about 0.3 us more, per call); otherwise a partial is used.

    Raises
    ------
    ConfigError
        If ``func``'s signature cannot take two nodes plus ``params``.

    Examples
    --------
    >>> def rule(source, target, p, q=2):
    ...     return p + q
    >>> bind_params(rule, {"q": 3, "p": 1})(None, None)
    4
    """
    call, values = split_params(func, params)
    if not values:
        return call
    if len(values) == 1:
        (a,) = values
        return lambda s, t: call(s, t, a)
    if len(values) == 2:
        a, b = values
        return lambda s, t: call(s, t, a, b)
    if len(values) == 3:
        a, b, c = values
        return lambda s, t: call(s, t, a, b, c)
    return lambda s, t: call(s, t, *values)


def _count(value: Any) -> int:
    """A per-pair result as a synapse count (None/False/0: none), else one ConfigError."""
    if value is None or value is False:
        return 0
    if type(value) is int:  # the common case, checked first
        if value < 0:
            raise ConfigError(f"connection rule returned a negative synapse count {value}")
        return value
    if isinstance(value, (str, bytes)):
        raise ConfigError(f"connection rule returned the string {value!r}; expected a count")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
        raise ConfigError(
            f"connection rule returned {type(value).__name__} where a synapse count (an int) "
            "is expected for a pair; with iterator='one_to_all' or 'all_to_one' it may return "
            "one count per node"
        )
    f = float(value)
    if f != f:
        raise ConfigError("connection rule returned NaN; expected a synapse count")
    if f < 0:
        raise ConfigError(f"connection rule returned a negative synapse count {value!r}")
    if f == float("inf"):
        raise ConfigError("connection rule returned an infinite synapse count")
    if f != int(f):
        raise ConfigError(f"connection rule returned the non-integer synapse count {value!r}")
    return int(f)


def _where(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def counts_array(values: Any, expected: int, rule: str, noun: str) -> np.ndarray:
    """One synapse count per node (int64) from what a per-node callable returned.

    Numpy arrays and sequences are checked with vectorized numpy: each problem (wrong length,
    negative, NaN or non-integer counts, None entries, strings, generators, scalars) is one
    :class:`ConfigError` naming the first offending position.

    Examples
    --------
    >>> counts_array([0, 2.0, True], 3, "one_to_all", "targets").tolist()
    [0, 2, 1]
    >>> counts_array([0, 0.7], 2, "one_to_all", "targets")
    Traceback (most recent call last):
    ...
    bmtoolkit.exceptions.ConfigError: one_to_all rule returned the non-integer count 0.7 for targets[1]; counts must be whole numbers
    """
    where = f"{rule} rule"
    if isinstance(values, np.ndarray):
        arr = values
    elif isinstance(values, (list, tuple)):
        if any(v is None for v in values):
            first = next(i for i, v in enumerate(values) if v is None)
            raise ConfigError(
                f"{where} returned None for {noun}[{first}]; return 0 for no connection"
            )
        try:
            arr = np.asarray(values)
        except ValueError as err:
            raise ConfigError(f"{where} returned a ragged sequence: {err}") from None
    elif isinstance(values, (str, bytes)):
        raise ConfigError(f"{where} returned the string {values!r}; expected one count per {noun}")
    elif isinstance(values, Iterator):
        raise ConfigError(
            f"{where} returned a {type(values).__name__}; return a list or numpy array "
            f"with one count per {noun}"
        )
    elif values is None or not hasattr(values, "__len__"):
        raise ConfigError(
            f"{where} returned {values!r}; expected a list or array of {expected} counts, "
            f"one for each of the {expected} {noun}"
        )
    else:
        arr = np.asarray(values)
    if arr.ndim != 1 or len(arr) != expected:
        raise ConfigError(
            f"{where} returned {arr.shape[0] if arr.ndim else 'a scalar'} values "
            f"(shape {arr.shape}) for {expected} {noun}; expected one count per {noun}"
        )
    kind = arr.dtype.kind
    if kind == "O":
        is_none = np.array([v is None for v in arr.tolist()], dtype=bool)
        if is_none.any():
            raise ConfigError(
                f"{where} returned None for {noun}[{_where(is_none)}]; return 0 for no connection"
            )
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{where} returned values that are not numbers; expected counts"
            ) from None
        kind = "f"
    if kind == "b":
        return arr.astype(np.int64)
    if kind in "iu":
        if kind == "i" and arr.size and arr.min() < 0:
            i = _where(arr < 0)
            raise ConfigError(f"{where} returned a negative count {arr[i]} for {noun}[{i}]")
        return arr.astype(np.int64, copy=False)
    if kind == "f":
        bad = np.isnan(arr)
        if bad.any():
            raise ConfigError(f"{where} returned NaN for {noun}[{_where(bad)}]; expected counts")
        bad = arr < 0
        if bad.any():
            i = _where(bad)
            raise ConfigError(f"{where} returned a negative count {arr[i]} for {noun}[{i}]")
        out = arr.astype(np.int64)
        bad = out != arr
        if bad.any():
            i = _where(bad)
            raise ConfigError(
                f"{where} returned the non-integer count {arr[i]} for {noun}[{i}]; "
                "counts must be whole numbers"
            )
        return out
    if kind in "US":
        raise ConfigError(
            f"{where} returned strings (e.g. {str(arr[0])!r}); expected one count per {noun}"
        )
    raise ConfigError(f"{where} returned {arr.dtype} values; expected integer counts")


class CallableRule(ConnectionRule):
    """Base of the callable adapters."""

    uses_global_random = True
    #: callables are slow per node: small blocks spread the work evenly over workers
    block_rows = 128

    def __init__(self, func: Callable[..., Any], params: Mapping[str, Any] | None) -> None:
        self.func = func
        self.params = dict(params or {})

    def prepare(self, sources: NodeBlock) -> Any:
        """Per-edge-set state: the sources' node views (a subclass may keep other state)."""
        return _views(sources)


#: per-pair results converted and checked together, about this many at a time
PAIR_CHUNK = 1 << 20


def _numeric(values: list[Any]) -> np.ndarray | None:
    """``values`` as a 1-D bool/int/float array, or None if numpy cannot make one."""
    try:
        arr = np.array(values)
    except (ValueError, TypeError, OverflowError):
        return None
    if arr.ndim != 1 or arr.dtype.kind not in "biuf":
        return None
    return arr


def pair_counts(values: list[Any]) -> np.ndarray:
    """Synapse counts (int64) of per-pair results, checked with vectorized numpy.

    ``None``, ``False`` and 0 mean no connection; ints, bools, whole floats and numpy scalars
    are counts. Anything else (a negative, NaN or non-integer count, a string, a sequence) is
    the :class:`ConfigError` that :func:`_count` gives for that value.

    Examples
    --------
    >>> pair_counts([0, None, 2, True, 3.0, np.int8(1)]).tolist()
    [0, 0, 2, 1, 3, 1]
    >>> pair_counts([1, -2])
    Traceback (most recent call last):
    ...
    bmtoolkit.exceptions.ConfigError: connection rule returned a negative synapse count -2
    """
    small = _small_counts(values)
    return small.astype(np.int64) if small is not None else _checked_counts(values)


def _checked_counts(values: list[Any]) -> np.ndarray:
    """:func:`pair_counts` of results that are not all integers from 0 to 255."""
    arr = _numeric(values)
    if arr is None:  # None entries (no connection), or values that need a closer look
        arr = _numeric([0 if v is None else v for v in values])
        if arr is None:  # the first bad value raises its own error
            return np.fromiter(map(_count, values), dtype=np.int64, count=len(values))
    kind = arr.dtype.kind
    if kind == "f":
        bad = ~(arr >= 0) | ~np.isfinite(arr) | (arr != np.floor(arr))
        if bad.any():
            _count(values[_where(bad)])  # raises the error of that value
        return arr.astype(np.int64)
    if kind == "i" and arr.size and arr.min() < 0:
        _count(values[_where(arr < 0)])
    return arr.astype(np.int64, copy=False)


def _small_counts(values: list[Any]) -> np.ndarray | None:
    """``values`` as uint8 when every one is an integer from 0 to 255, else None.

    ``bytes`` takes a list of integers (ints, bools, numpy integers: anything with
    ``__index__``) in that range in one C loop and refuses anything else, a few times faster
    than numpy's conversion of a list: the common case of per-pair results (0 or a few
    synapses) costs about one byte copy per pair. Everything else goes to the checks of
    :func:`pair_counts`.
    """
    try:
        return np.frombuffer(bytes(values), dtype=np.uint8)
    except (TypeError, ValueError, OverflowError):
        return None


def nonzero_pairs(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(positions, counts)`` of the per-pair results that make synapses.

    Same checks and errors as :func:`pair_counts`.

    Examples
    --------
    >>> [a.tolist() for a in nonzero_pairs([0, 3, None, 1])]
    [[1, 3], [3, 1]]
    """
    counts = _small_counts(values)
    if counts is None:
        counts = _checked_counts(values)
    nz = np.flatnonzero(counts)
    return nz, counts[nz].astype(np.int64)


@ITERATORS.register("one_to_one")
class PairCallable(CallableRule):
    """``func(source, target, **params) -> nsyns`` called for every pair.

    The calls run from C (``map`` over the source views with the target view and the
    parameters repeated), their results land in one list per chunk of targets, and the list is
    converted and checked as one numpy array: per call, nothing runs but the user's function.
    """

    def connect(self, sources, targets, rng, state):  # noqa: D102
        src_views: list[NodeView] = state
        func, values = split_params(self.func, self.params)
        n_src = len(src_views)
        trg_views = _views(targets)
        n_trg = len(trg_views)
        if n_src == 0 or n_trg == 0:
            return Connections.empty()
        # chunks of ~PAIR_CHUNK calls, and at least ten per block so the bar moves
        step = max(1, min(PAIR_CHUNK // n_src, -(-n_trg // 10)))
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for lo in range(0, n_trg, step):
            results: list[Any] = []
            extend = results.extend
            for tview in trg_views[lo : lo + step]:
                extend(map(func, src_views, repeat(tview), *map(repeat, values)))
            nz, counts = nonzero_pairs(results)
            del results
            parts.append((nz + lo * n_src, counts))
            advance(min(lo + step, n_trg), n_trg)
        flat = np.concatenate([p[0] for p in parts])
        if not len(flat):
            return Connections.empty()
        trg, src = np.divmod(flat, n_src)
        return Connections(src, trg, np.concatenate([p[1] for p in parts]))


def _each_node(
    views: list[NodeView],
    call: Callable[[NodeView], Any],
    n_other: int,
    rule: str,
    other: str,
    *,
    other_major: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``call(view)`` for every node, each result checked as ``n_other`` counts, gathered as
    ``(node position, other positions, counts)`` of the nonzero entries, ordered by node then
    other position (by other position then node with ``other_major``).

    Results are copied into one buffer of about :data:`PAIR_CHUNK` counts; integer arrays of
    the right shape (what numpy functions return) are checked for negatives and reduced to
    their nonzero entries once per buffer, anything else goes through :func:`counts_array`
    as it comes.
    """
    n = len(views)
    # buffers of ~PAIR_CHUNK counts, and at least ten per block so the bar moves
    step = max(1, min(PAIR_CHUNK // max(n_other, 1), -(-n // 10)))
    buf = np.empty((min(step, n), n_other), dtype=np.int64)
    shape = (n_other,)
    parts = []
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        rows = buf[: hi - lo]
        for i in range(lo, hi):
            values = call(views[i])
            if (
                type(values) is np.ndarray
                and values.shape == shape
                and (values.dtype.kind == "i" or values.dtype.kind in "ub" and values.itemsize < 8)
            ):
                rows[i - lo] = values  # checked with the whole buffer below
            else:
                rows[i - lo] = counts_array(values, n_other, rule, other)
        if rows.size and rows.min() < 0:
            first = int(np.flatnonzero(rows < 0)[0])
            raise ConfigError(
                f"{rule} rule returned a negative count {rows.flat[first]} for "
                f"{other}[{first % n_other}]"
            )
        if other_major:  # read the buffer column by column
            others, node = np.divmod(np.flatnonzero((rows != 0).T), hi - lo)
        else:
            node, others = np.divmod(np.flatnonzero(rows != 0), max(n_other, 1))
        parts.append((node + lo, others, rows[node, others]))
        advance(hi, n)
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy()
    node, others, counts = (np.concatenate([p[k] for p in parts]) for k in range(3))
    if other_major and len(parts) > 1:  # buffers hold increasing nodes: merge them
        order = merge_order(others, [len(p[0]) for p in parts])
        node, others, counts = node[order], others[order], counts[order]
    return node, others, counts


@ITERATORS.register("all_to_one")
class AllToOneCallable(CallableRule):
    """``func(sources, target, **params) -> one nsyns per source``, called per target."""

    def connect(self, sources, targets, rng, state):  # noqa: D102
        src_views: list[NodeView] = state
        func = bind_params(self.func, self.params)
        trg, src, n = _each_node(
            _views(targets), lambda t: func(src_views, t), len(src_views), "all_to_one", "sources"
        )
        return Connections(src, trg, n) if len(src) else Connections.empty()


@ITERATORS.register("one_to_all")
class OneToAllCallable(CallableRule):
    """``func(source, targets, **params) -> one nsyns per target``, called per source.

    The engine cuts the *sources* into blocks (each block sees every target), so the work
    splits over workers and the random streams follow source blocks.
    """

    target_blocks = False
    source_blocks = True

    def prepare(self, sources: NodeBlock) -> dict[str, Any]:  # noqa: D102
        return {}

    def connect(self, sources, targets, rng, state):  # noqa: D102
        # every call of an edge set gets the same list object (functions may cache on it)
        if state.get("targets") is not targets:
            state["targets"], state["views"] = targets, _views(targets)
        trg_views = state["views"]
        func = bind_params(self.func, self.params)
        src, trg, n = _each_node(
            _views(sources),
            lambda s: func(s, trg_views),
            len(trg_views),
            "one_to_all",
            "targets",
            other_major=True,
        )
        return Connections(src, trg, n) if len(src) else Connections.empty()


class ConstantCount(ConnectionRule):
    """Every pair connected with ``n`` synapses (BMTK's integer ``connection_rule``)."""

    def __init__(self, n: int) -> None:
        self.n = _count(n)

    def connect(self, sources, targets, rng, state):  # noqa: D102
        if self.n == 0 or len(sources) == 0:
            return Connections.empty()
        trg, src = np.divmod(np.arange(len(targets) * len(sources), dtype=np.int64), len(sources))
        return Connections(src, trg, np.full(len(src), self.n, dtype=np.int64))


def make_callable_rule(
    func: Callable[..., Any], params: Mapping[str, Any] | None, iterator: str
) -> CallableRule:
    """Wrap a BMTK-style callable for the given iterator name."""
    return ITERATORS.get(iterator)(func, params)
