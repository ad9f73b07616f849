"""Unseeded serial builds: Python callables draw from NumPy's global generator in BMTK's order.

A BMTK script seeds ``numpy.random`` (``np.random.seed(42)``) and lets its connection and
property functions draw from it. The builds of such a script with BMTK and with bmtoolkit give
the same edges when both tools call the functions in the same order on the same global stream.
:meth:`bmtoolkit.builder.NetworkBuilder.build` does so when no seed is given (no ``seed``
argument, no ``NetworkBuilder(seed=...)``, no ``$BMTOOLKIT_BUILD_SEED``) and the build is
serial (one worker, no MPI). Each edge set is then one block and is made in BMTK's order:

- connection rules, by iterator: ``one_to_one`` calls ``func(source, target)`` for every source
  in node id order, and for each source every target in node id order (:func:`connect`);
  ``all_to_one`` calls once per target and ``one_to_all`` once per source, in node id order;
- then every property rule in the order of its ``add_properties`` call, called once per
  synapse in BMTK's edge order: sources by node id, each source's targets by node id, a pair
  with ``n`` synapses ``n`` times in a row (:func:`property_values`);
- the build itself draws nothing from the global generators (the seed of the vectorized rules
  is derived from NumPy's global state without advancing it, see :func:`state_seed`).

Edge sets are made in the order of their ``add_edges`` calls, as BMTK makes them. A seeded or
parallel build instead seeds the global generators per block (see
:mod:`bmtoolkit.builder.engine`), which makes it independent of the number of processes.

Examples
--------
>>> import numpy as np
>>> np.random.seed(3)
>>> a = state_seed()
>>> b = state_seed()  # nothing was drawn in between
>>> a == b, 0 <= a < 2**63
(True, True)
"""

from __future__ import annotations

from itertools import repeat
from typing import Any

import numpy as np

from bmtoolkit.builder.properties import EdgeBlock, PropertyRule
from bmtoolkit.builder.rules.base import ConnectionRule, Connections, NodeBlock
from bmtoolkit.builder.rules.callables import (
    PAIR_CHUNK,
    PairCallable,
    nonzero_pairs,
    split_params,
)
from bmtoolkit.progress import advance

__all__ = ["connect", "property_values", "state_seed"]


def state_seed() -> int:
    """A 63-bit seed derived from the state of ``numpy.random``, which is left unchanged.

    ``np.random.seed(n)`` followed by the same calls gives the same value, and drawing from the
    generator changes it.
    """
    _name, keys, pos, has_gauss, gauss = np.random.get_state()
    entropy = [int(k) for k in np.asarray(keys, dtype=np.uint32)]
    entropy += [int(pos), int(has_gauss), int(np.float64(gauss).view(np.uint64))]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> np.uint64(1))


def _pairs_source_major(
    rule: PairCallable, sources: NodeBlock, targets: NodeBlock, src_views: list[Any]
) -> Connections:
    """``func(source, target)`` for every source, then every target of that source."""
    func, values = split_params(rule.func, rule.params)
    every = targets.table.node_views()
    trg_views = [every[i] for i in targets.index.tolist()]
    n_src, n_trg = len(src_views), len(trg_views)
    if n_src == 0 or n_trg == 0:
        return Connections.empty()
    step = max(1, min(PAIR_CHUNK // n_trg, -(-n_src // 10)))
    srcs, trgs, counts = [], [], []
    for lo in range(0, n_src, step):
        results: list[Any] = []
        extend = results.extend
        for sview in src_views[lo : lo + step]:
            extend(map(func, repeat(sview), trg_views, *map(repeat, values)))
        nz, n = nonzero_pairs(results)
        del results
        s, t = np.divmod(nz, n_trg)
        srcs.append(s + lo)
        trgs.append(t)
        counts.append(n)
        advance(min(lo + step, n_src), n_src)
    src, trg, nsyns = (np.concatenate(parts) for parts in (srcs, trgs, counts))
    order = np.lexsort((src, trg))  # the engine's (target, source) order
    return Connections(src[order], trg[order], nsyns[order])


def connect(
    rule: ConnectionRule,
    sources: NodeBlock,
    targets: NodeBlock,
    rng: np.random.Generator,
    state: Any,
) -> Connections:
    """The connections of a whole edge set, its callable called in BMTK's order.

    ``one_to_one`` callables are called source by source; every other rule already calls in
    BMTK's order when given all of the edge set's targets and sources at once.
    """
    if isinstance(rule, PairCallable):
        return _pairs_source_major(rule, sources, targets, state)
    return rule.connect(sources, targets, rng, state)


def property_values(rule: PropertyRule, edges: EdgeBlock, rng: np.random.Generator) -> Any:
    """``rule``'s values for ``edges``, the rule called on the edges in BMTK's order (by
    source, then target; the synapses of a pair in a row), returned in the order of ``edges``.
    """
    if not rule.uses_global_random or len(edges) < 2:
        return rule.values(edges, rng)
    src_ids = edges.sources.index[edges.source]
    trg_ids = edges.targets.index[edges.target]
    order = np.lexsort((trg_ids, src_ids))
    if bool(np.all(order[1:] > order[:-1])):
        return rule.values(edges, rng)
    permuted = EdgeBlock(edges.sources, edges.targets, edges.source[order], edges.target[order])
    values = rule.values(permuted, rng)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    if isinstance(values, tuple):
        return tuple(np.asarray(v)[back] for v in values)
    return np.asarray(values)[back]
