"""BMTK-compatible connection rules given as Python callables or integers.

- ``iterator="one_to_one"`` (default): ``func(source, target, **params) -> nsyns`` for every pair;
- ``iterator="all_to_one"``: ``func(sources, target, **params) -> nsyns per source``;
- ``iterator="one_to_all"``: ``func(source, targets, **params) -> nsyns per target``;
- an integer ``n``: every pair (self-pairs included, as in BMTK) gets ``n`` synapses.

``source``/``target`` are dict-like :class:`~bmtoolkit.builder.node_table.NodeView` objects;
``None``, 0 or False means no connection. These rules call Python once per pair (or per node)
and are only as fast as the callable; the vectorized rules in :mod:`bmtoolkit.builder.rules`
are the fast path. Callables drawing from ``numpy.random`` or ``random`` get those global
generators seeded per block by the build engine, so their builds are reproducible too.

Examples
--------
>>> def rule(source, target, p):
...     return 1 if source.node_id < target.node_id else 0
>>> r = make_callable_rule(rule, {"p": 0.1}, "one_to_one")
>>> r.uses_global_random
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bmtoolkit.builder.node_table import NodeView
from bmtoolkit.builder.rules.base import ConnectionRule, Connections, NodeBlock
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.progress import advance
from bmtoolkit.registry import Registry

#: how a callable rule is iterated, by BMTK iterator name
ITERATORS: Registry[type] = Registry("iterator")


def _views(block: NodeBlock) -> list[NodeView]:
    return [NodeView(block.table, int(i)) for i in block.index]


def _count(value: Any) -> int:
    if value is None or value is False:
        return 0
    n = int(value)
    if n < 0:
        raise ConfigError(f"connection rule returned a negative synapse count {value!r}")
    return n


def _nonzero_counts(values: Any, expected: int, rule: str, noun: str) -> list[tuple[int, int]]:
    """``(position, nsyns)`` of the non-zero counts a per-node callable returned."""
    values = list(values)
    if len(values) != expected:
        raise ConfigError(f"{rule} rule returned {len(values)} values for {expected} {noun}")
    return [(i, n) for i, n in enumerate(map(_count, values)) if n]


class CallableRule(ConnectionRule):
    """Base of the callable adapters."""

    uses_global_random = True

    def __init__(self, func: Callable[..., Any], params: Mapping[str, Any] | None) -> None:
        self.func = func
        self.params = dict(params or {})

    def prepare(self, sources: NodeBlock) -> list[NodeView]:  # noqa: D102
        return _views(sources)

    @staticmethod
    def _result(src: list[int], trg: list[int], n: list[int]) -> Connections:
        if not src:
            return Connections.empty()
        return Connections(
            np.asarray(src, dtype=np.int64),
            np.asarray(trg, dtype=np.int64),
            np.asarray(n, dtype=np.int64),
        )


@ITERATORS.register("one_to_one")
class PairCallable(CallableRule):
    """``func(source, target, **params) -> nsyns`` called for every pair."""

    def connect(self, sources, targets, rng, state):  # noqa: D102
        src_views: list[NodeView] = state
        src, trg, counts = [], [], []
        func, params = self.func, self.params
        for t, tview in enumerate(_views(targets)):
            for s, sview in enumerate(src_views):
                n = _count(func(sview, tview, **params))
                if n:
                    src.append(s)
                    trg.append(t)
                    counts.append(n)
            advance(t + 1, len(targets))
        return self._result(src, trg, counts)


@ITERATORS.register("all_to_one")
class AllToOneCallable(CallableRule):
    """``func(sources, target, **params) -> one nsyns per source``, called per target."""

    def connect(self, sources, targets, rng, state):  # noqa: D102
        src_views: list[NodeView] = state
        src, trg, counts = [], [], []
        for t, tview in enumerate(_views(targets)):
            values = self.func(src_views, tview, **self.params)
            for s, n in _nonzero_counts(values, len(src_views), "all_to_one", "sources"):
                src.append(s)
                trg.append(t)
                counts.append(n)
            advance(t + 1, len(targets))
        return self._result(src, trg, counts)


@ITERATORS.register("one_to_all")
class OneToAllCallable(CallableRule):
    """``func(source, targets, **params) -> one nsyns per target``, called per source."""

    target_blocks = False

    def connect(self, sources, targets, rng, state):  # noqa: D102
        src_views: list[NodeView] = state
        trg_views = _views(targets)
        src, trg, counts = [], [], []
        for s, sview in enumerate(src_views):
            values = self.func(sview, trg_views, **self.params)
            for t, n in _nonzero_counts(values, len(trg_views), "one_to_all", "targets"):
                src.append(s)
                trg.append(t)
                counts.append(n)
            advance(s + 1, len(src_views))
        return self._result(src, trg, counts)


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
