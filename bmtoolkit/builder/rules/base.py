"""The vectorized rule interface shared by every connection rule.

The build engine splits the target nodes of an edge set into blocks. For each block it calls
``rule.connect(sources, targets, rng, state)`` where ``sources`` is the :class:`NodeBlock` of every
selected source node, ``targets`` the :class:`NodeBlock` of the block's target nodes, ``rng`` a
``numpy.random.Generator`` seeded by (seed, edge set, block) and ``state`` whatever
``rule.prepare(sources)`` returned once for the edge set (a k-d tree, a grid ...). The rule returns
:class:`Connections`: arrays of source row, target row (indices into the two blocks) and synapse
counts. Built-in rules never call Python per pair.

Rules that need every target at once (fixed out-degree, BMTK ``one_to_all`` callables) set
``target_blocks = False`` and receive a single block.

Examples
--------
>>> import numpy as np
>>> rows, cols = bernoulli_pairs(100, 100, 0.25, np.random.default_rng(1))
>>> abs(len(rows) / 10_000 - 0.25) < 0.02
True
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.builder.node_table import NodeTable
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.registry import Registry

#: connection rules by name (``add_edges(connection_rule="distance", connection_params=...)``)
CONNECTION_RULES: Registry[type] = Registry("connection rule")


class NodeBlock:
    """Some rows of a :class:`NodeTable`, with cached columns and positions.

    Parameters
    ----------
    table : NodeTable
        The population.
    index : np.ndarray
        Row (node id) of each member, int64.
    """

    def __init__(self, table: NodeTable, index: np.ndarray) -> None:
        self.table = table
        self.index = np.asarray(index, dtype=np.int64)
        self._cols: dict[str, np.ndarray] = {}
        self._pos: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.index)

    @property
    def node_ids(self) -> np.ndarray:
        """Node ids of the members (same as ``index``)."""
        return self.index

    @property
    def population(self) -> str:
        """Name of the population."""
        return self.table.name

    def column(self, name: str) -> np.ndarray:
        """Property ``name`` of each member."""
        if name not in self._cols:
            self._cols[name] = self.table.column(name)[self.index]
        return self._cols[name]

    def positions(self, rule: str = "this rule") -> np.ndarray:
        """``(n, 3)`` positions of the members (ConfigError naming ``rule`` if absent)."""
        if self._pos is None:
            self._pos = self.table.require_positions(rule)[self.index]
        return self._pos

    def slice(self, start: int, stop: int) -> NodeBlock:
        """Members ``start:stop`` as a new block."""
        return NodeBlock(self.table, self.index[start:stop])


@dataclass(frozen=True)
class Connections:
    """Connections made within one block.

    Attributes
    ----------
    source : np.ndarray
        Row in the sources block of each connection (int64).
    target : np.ndarray
        Row in the targets block of each connection (int64).
    nsyns : np.ndarray
        Synapses per connection (int64, >= 1).
    """

    source: np.ndarray
    target: np.ndarray
    nsyns: np.ndarray

    def __len__(self) -> int:
        return len(self.source)

    @classmethod
    def empty(cls) -> Connections:
        """No connections."""
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z.copy(), z.copy())


class ConnectionRule(ABC):
    """Base class of connection rules (see the module docstring for the contract)."""

    #: whether the engine may split the targets into blocks
    target_blocks: bool = True

    def prepare(self, sources: NodeBlock) -> Any:
        """Work done once per edge set on the sources (default: nothing)."""
        return None

    @abstractmethod
    def connect(
        self, sources: NodeBlock, targets: NodeBlock, rng: np.random.Generator, state: Any
    ) -> Connections:
        """Connections from ``sources`` onto the ``targets`` block."""


def bernoulli_pairs(
    n_rows: int, n_cols: int, p: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each of the ``n_rows x n_cols`` pairs independently with probability ``p``.

    Successes are found by geometric skips over the row-major flattened pairs, so the cost is
    proportional to the number of successes, not to the number of pairs.

    Returns
    -------
    rows, cols : np.ndarray
        int64 arrays, in row-major order.
    """
    total = int(n_rows) * int(n_cols)
    if total == 0 or p <= 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy()
    if p >= 1:
        flat = np.arange(total, dtype=np.int64)
        return np.divmod(flat, n_cols)
    flat = bernoulli_flat(total, p, rng)
    if n_rows == 1:  # no division needed
        return np.zeros(len(flat), dtype=np.int64), flat
    return np.divmod(flat, n_cols)


def bernoulli_flat(total: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Positions in ``range(total)`` kept independently with probability ``p`` (increasing).

    The draws of :func:`bernoulli_pairs` (``bernoulli_pairs(1, total, p, rng)[1]``), for
    callers that need the flat positions only.

    Examples
    --------
    >>> flat = bernoulli_flat(1000, 0.1, np.random.default_rng(0))
    >>> bool(np.all(np.diff(flat) > 0) and flat[-1] < 1000)
    True
    """
    total = int(total)
    if total == 0 or p <= 0:
        return np.zeros(0, dtype=np.int64)
    if p >= 1:
        return np.arange(total, dtype=np.int64)
    chunks = []
    last = -1
    while True:
        expected = (total - last - 1) * p
        size = int(expected + 6.0 * np.sqrt(expected) + 16)
        pos = rng.geometric(p, size)
        np.cumsum(pos, out=pos)
        pos += last
        if pos[-1] >= total:
            chunks.append(pos[: np.searchsorted(pos, total)])
            break
        chunks.append(pos)
        last = int(pos[-1])
    return np.concatenate(chunks) if len(chunks) > 1 else chunks[0]


@dataclass(frozen=True)
class SynapseCount:
    """Synapses per connection: a constant or uniform integers in ``[low, high]``.

    Examples
    --------
    >>> bool(SynapseCount.parse((1, 4)).draw(5, np.random.default_rng(0)).min() >= 1)
    True
    """

    low: int = 1
    high: int = 1

    @classmethod
    def parse(cls, value: int | tuple[int, int] | SynapseCount) -> SynapseCount:
        """From an int, a ``(low, high)`` pair or a SynapseCount."""
        if isinstance(value, SynapseCount):
            return value
        if isinstance(value, (tuple, list)):
            if len(value) != 2:
                raise ConfigError(f"nsyns must be an int or (low, high), got {value!r}")
            low, high = int(value[0]), int(value[1])
        else:
            low = high = int(value)
        if low < 1 or high < low:
            raise ConfigError(f"nsyns range must satisfy 1 <= low <= high, got {value!r}")
        return cls(low, high)

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` counts (int64)."""
        if self.low == self.high:
            return np.full(n, self.low, dtype=np.int64)
        return rng.integers(self.low, self.high + 1, size=n, dtype=np.int64)


def drop_autapses(
    sources: NodeBlock, targets: NodeBlock, src: np.ndarray, trg: np.ndarray
) -> np.ndarray:
    """Boolean mask keeping pairs that are not a node connected to itself."""
    if sources.table is not targets.table:
        return np.ones(len(src), dtype=bool)
    return sources.index[src] != targets.index[trg]


def make_rule(rule: Any, params: dict[str, Any] | None) -> ConnectionRule:
    """A :class:`ConnectionRule` from a rule object or a registered name plus parameters."""
    if isinstance(rule, ConnectionRule):
        if params:
            raise ConfigError("connection_params are only for named rules and callables")
        return rule
    if isinstance(rule, str):
        cls = CONNECTION_RULES.get(rule)
        try:
            return cls(**(params or {}))
        except TypeError as err:
            raise ConfigError(f"bad connection_params for rule {rule!r}: {err}") from None
    raise ConfigError(f"not a connection rule: {rule!r}")


def merge_order(targets: np.ndarray, lengths: list[int]) -> np.ndarray:
    """Gather index that orders rows by target, keeping block order then row order for ties,
    when each block of rows (``lengths`` rows each, in order) is sorted by target: a merge of
    sorted runs by counting, in O(rows + blocks x targets), the same order as a stable sort.

    Examples
    --------
    >>> merge_order(np.array([0, 2, 0, 1, 2]), [2, 3]).tolist()
    [0, 2, 3, 1, 4]
    """
    if len(targets) == 0:
        return np.zeros(0, dtype=np.int64)
    n_targets = int(targets.max()) + 1
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    total = np.bincount(targets, minlength=n_targets)
    placed = np.cumsum(total) - total  # where each target's rows start in the output
    order = np.empty(len(targets), dtype=np.int64)
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        if hi == lo:
            continue
        trg = targets[lo:hi]
        counts = np.bincount(trg, minlength=n_targets)
        first = np.cumsum(counts) - counts  # where each target's rows start in this block
        order[(placed - first)[trg] + np.arange(hi - lo)] = np.arange(lo, hi)
        placed += counts
    return order
