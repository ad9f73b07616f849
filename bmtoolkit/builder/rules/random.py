"""Random connectivity: fixed probability, fixed in-/out-degree, all-to-all, one-to-one.

All rules exclude self-connections (a node onto itself, when source and target are the same
population) unless ``autapses=True``. ``nsyns`` is an int or an inclusive ``(low, high)`` range
drawn uniformly per connection.

Examples
--------
>>> from bmtoolkit.builder import NetworkBuilder
>>> net = NetworkBuilder("v1")
>>> net.add_nodes(N=50, ei="e")
>>> _ = net.add_edges(source={"ei": "e"}, target={"ei": "e"},
...                   connection_rule=FixedInDegree(5), syn_weight=1.0)
>>> net.build(seed=1)
>>> net.nedges
250
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bmtoolkit.builder.rules.base import (
    CONNECTION_RULES,
    ConnectionRule,
    Connections,
    NodeBlock,
    SynapseCount,
    bernoulli_pairs,
    drop_autapses,
)
from bmtoolkit.exceptions import ConfigError


def _finish(
    sources: NodeBlock,
    targets: NodeBlock,
    src: np.ndarray,
    trg: np.ndarray,
    nsyns: SynapseCount,
    autapses: bool,
    rng: np.random.Generator,
) -> Connections:
    if not autapses:
        keep = drop_autapses(sources, targets, src, trg)
        src, trg = src[keep], trg[keep]
    return Connections(src, trg, nsyns.draw(len(src), rng))


@CONNECTION_RULES.register("fixed_probability", aliases=("random",))
class FixedProbability(ConnectionRule):
    """Each pair is connected independently with probability ``p``.

    ``P(i -> j) = p``; the number of connections onto a target is Binomial(n_sources, p).

    Parameters
    ----------
    p : float
        Connection probability in [0, 1].
    nsyns : int or (int, int)
        Synapses per connection.
    autapses : bool
        Allow a node to connect to itself.
    """

    def __init__(self, p: float, nsyns: Any = 1, autapses: bool = False) -> None:
        if not 0.0 <= float(p) <= 1.0:
            raise ConfigError(f"p must be in [0, 1], got {p}", field="p")
        self.p = float(p)
        self.nsyns = SynapseCount.parse(nsyns)
        self.autapses = autapses

    def expected_edges(self, n_sources: int, n_targets: int) -> int:
        """Expected number of connections, ``p * n_sources * n_targets``."""
        return int(round(self.p * int(n_sources) * int(n_targets)))

    def connect(self, sources, targets, rng, state):  # noqa: D102
        trg, src = bernoulli_pairs(len(targets), len(sources), self.p, rng)
        return _finish(sources, targets, src, trg, self.nsyns, self.autapses, rng)


@CONNECTION_RULES.register("fixed_indegree")
class FixedInDegree(ConnectionRule):
    """Every target receives exactly ``n`` connections from distinct random sources.

    Sources are drawn uniformly without replacement (excluding the target itself unless
    ``autapses``). If fewer than ``n`` sources are available, all of them connect.

    Parameters
    ----------
    n : int
        In-degree.
    nsyns : int or (int, int)
        Synapses per connection.
    autapses : bool
        Allow a node to connect to itself.
    """

    def __init__(self, n: int, nsyns: Any = 1, autapses: bool = False) -> None:
        if int(n) < 0:
            raise ConfigError(f"n must be >= 0, got {n}", field="n")
        self.n = int(n)
        self.nsyns = SynapseCount.parse(nsyns)
        self.autapses = autapses

    def connect(self, sources, targets, rng, state):  # noqa: D102
        n_src = len(sources)
        same = sources.table is targets.table and not self.autapses
        pos = np.searchsorted(sources.index, targets.index) if same else None
        src_parts, trg_parts = [], []
        for t in range(len(targets)):
            exclude = -1
            if same and pos[t] < n_src and sources.index[pos[t]] == targets.index[t]:
                exclude = int(pos[t])
            pool = n_src - (exclude >= 0)
            k = min(self.n, pool)
            chosen = rng.choice(pool, size=k, replace=False)
            if exclude >= 0:
                chosen[chosen >= exclude] += 1
            chosen.sort()
            src_parts.append(chosen)
            trg_parts.append(np.full(k, t, dtype=np.int64))
        if not src_parts:
            return Connections.empty()
        src = np.concatenate(src_parts).astype(np.int64)
        trg = np.concatenate(trg_parts)
        return Connections(src, trg, self.nsyns.draw(len(src), rng))


@CONNECTION_RULES.register("fixed_outdegree")
class FixedOutDegree(ConnectionRule):
    """Every source makes exactly ``n`` connections onto distinct random targets.

    Needs all targets at once, so the engine does not split targets into blocks.

    Parameters
    ----------
    n : int
        Out-degree.
    nsyns : int or (int, int)
        Synapses per connection.
    autapses : bool
        Allow a node to connect to itself.
    """

    target_blocks = False

    def __init__(self, n: int, nsyns: Any = 1, autapses: bool = False) -> None:
        if int(n) < 0:
            raise ConfigError(f"n must be >= 0, got {n}", field="n")
        self.n = int(n)
        self.nsyns = SynapseCount.parse(nsyns)
        self.autapses = autapses

    def connect(self, sources, targets, rng, state):  # noqa: D102
        swapped = FixedInDegree(self.n, autapses=self.autapses)
        conns = swapped.connect(targets, sources, rng, None)
        return Connections(conns.target, conns.source, self.nsyns.draw(len(conns), rng))


@CONNECTION_RULES.register("all_to_all")
class AllToAll(ConnectionRule):
    """Every source connects to every target.

    Parameters
    ----------
    nsyns : int or (int, int)
        Synapses per connection.
    autapses : bool
        Allow a node to connect to itself.
    """

    def __init__(self, nsyns: Any = 1, autapses: bool = False) -> None:
        self.nsyns = SynapseCount.parse(nsyns)
        self.autapses = autapses

    def expected_edges(self, n_sources: int, n_targets: int) -> int:
        """Connections this rule makes between ``n_sources`` and ``n_targets`` nodes (at most).

        Examples
        --------
        >>> AllToAll().expected_edges(1_000_000, 1_000_000)
        1000000000000
        """
        return int(n_sources) * int(n_targets)

    def connect(self, sources, targets, rng, state):  # noqa: D102
        trg, src = bernoulli_pairs(len(targets), len(sources), 1.0, rng)
        return _finish(sources, targets, src, trg, self.nsyns, self.autapses, rng)


@CONNECTION_RULES.register("one_to_one")
class OneToOne(ConnectionRule):
    """The i-th selected source connects to the i-th selected target.

    Both selections must have the same size. Needs all targets at once.

    Parameters
    ----------
    nsyns : int or (int, int)
        Synapses per connection.
    """

    target_blocks = False

    def __init__(self, nsyns: Any = 1) -> None:
        self.nsyns = SynapseCount.parse(nsyns)

    def connect(self, sources, targets, rng, state):  # noqa: D102
        if len(sources) != len(targets):
            raise ConfigError(
                f"one_to_one needs as many sources as targets, got {len(sources)} sources "
                f"and {len(targets)} targets"
            )
        idx = np.arange(len(targets), dtype=np.int64)
        return Connections(idx, idx.copy(), self.nsyns.draw(len(idx), rng))
