"""The edge index: node id -> blocks of edge rows, for fast afferent/efferent lookups.

For one direction (``source_to_target`` keyed by source ids, ``target_to_source`` keyed by
target ids) the index has two tables:

- ``node_id_to_ranges`` (n_nodes, 2): row k holds ``[start, end)`` into ``range_to_edge_id``;
  a node without edges has ``start == end`` (the position where its ranges would go);
- ``range_to_edge_id`` (k, 2): each row is a contiguous ``[start, end)`` block of edge rows
  whose key node is the same.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.sonata.index import build_index, lookup
>>> n2r, r2e = build_index(np.array([1, 1, 0, 1]), 3)
>>> n2r.tolist(), r2e.tolist()
([[0, 1], [1, 3], [3, 3]], [[2, 3], [0, 2], [3, 4]])
>>> lookup(n2r, r2e, [1]).tolist()
[0, 1, 3]
"""

from __future__ import annotations

import numpy as np

from bmtoolkit.exceptions import NodeIdError, SonataFormatError

#: spellings of the index group found in practice (the first is the one we write)
INDEX_GROUP_NAMES = ("indices", "indicies", "incidies")
#: spellings of the node table (the first is written, the second as a hard link)
NODE_TABLE_NAMES = ("node_id_to_ranges", "node_id_to_range")
RANGE_TABLE = "range_to_edge_id"
DIRECTIONS = ("source_to_target", "target_to_source")


def pieces(n: int, chunk: int):
    """``(lo, hi)`` bounds of consecutive pieces of ``chunk`` rows covering ``range(n)``.

    Examples
    --------
    >>> list(pieces(5, 2))
    [(0, 2), (2, 4), (4, 5)]
    """
    for lo in range(0, n, chunk):
        yield lo, min(lo + chunk, n)


def _fill_composite(out: np.ndarray, arrays: list[np.ndarray], widths: list[int]) -> None:
    """``out[:] = keys packed most significant first`` (bit fields of the given widths)."""
    out[:] = arrays[0]
    for key, width in zip(arrays[1:], widths[1:]):
        out <<= width
        out |= key.astype(np.int64, copy=False)


def _or_row_numbers(composite: np.ndarray, bits: int, chunk_rows: int = 1 << 22) -> None:
    """Append each row's number as the low ``bits`` bits (piecewise: no full arange)."""
    composite <<= bits
    for lo, hi in pieces(len(composite), chunk_rows):
        composite[lo:hi] |= np.arange(lo, hi, dtype=np.int64)


def stable_argsort(*keys: np.ndarray) -> np.ndarray:
    """Stable order sorting by the last key, then the one before, ... (like ``np.lexsort``).

    Non-negative integer keys whose bit widths add up to at most 63 bits with the row number
    are packed into one unique int64 per row, sorted by value (numpy's vectorised sort, several
    times faster than an argsort) and the row numbers read back from the low bits. Other keys
    fall back to ``np.lexsort``; every path gives the same order.

    Examples
    --------
    >>> stable_argsort(np.array([1, 0, 1, 0]), np.array([1, 1, 0, 0])).tolist()
    [3, 2, 1, 0]
    """
    arrays = [np.asarray(k) for k in keys]
    n = len(arrays[0])
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    if any(a.dtype.kind not in "iu" or a.min() < 0 for a in arrays):
        return np.lexsort(arrays)
    widths = [int(a.max()).bit_length() for a in reversed(arrays)]
    row_bits = (n - 1).bit_length()
    if sum(widths) + row_bits > 63:
        return np.lexsort(arrays)
    composite = np.empty(n, dtype=np.int64)
    _fill_composite(composite, arrays[::-1], widths)
    _or_row_numbers(composite, row_bits)
    composite.sort()
    composite &= (1 << row_bits) - 1
    return composite


#: bits of the int64 sort keys (node id, first row and length of each run)
_KEY_BITS = 63


class IndexStream:
    """One direction of the edge index, built from key node ids read piece by piece.

    ``ids(lo, hi)`` returns the key node ids (source ids for ``source_to_target``, target ids
    for ``target_to_source``) of edge rows ``[lo, hi)`` in file order. One pass over the pieces
    finds the runs of equal ids and packs each run into one int64 (node id, first row, length);
    sorting those by value orders the runs by node, stably, and :meth:`range_rows` decodes any
    rows of ``range_to_edge_id`` from them. The extra memory is 8 bytes per run plus a piece.

    Attributes
    ----------
    node_to_range : ndarray of uint64, shape (n_nodes, 2)
    n_ranges : int
        Rows of ``range_to_edge_id``.

    Raises
    ------
    NodeIdError
        An id is negative or not below ``n_nodes``.

    Examples
    --------
    >>> ids = np.array([1, 1, 0, 1])
    >>> stream = IndexStream(lambda lo, hi: ids[lo:hi], len(ids), 3, chunk_rows=2)
    >>> stream.n_ranges, stream.range_rows(0, 2).tolist(), stream.range_rows(2, 3).tolist()
    (3, [[2, 3], [0, 2]], [[3, 4]])
    """

    def __init__(self, ids, n_edges: int, n_nodes: int, *, chunk_rows: int = 1 << 22) -> None:
        self._ids = ids
        self._n_edges = n_edges = int(n_edges)
        self._chunk = max(int(chunk_rows), 1)
        node_bits = max(int(n_nodes) - 1, 0).bit_length()
        self._start_bits = max(n_edges - 1, 0).bit_length()
        self._len_bits = _KEY_BITS - node_bits - self._start_bits
        self._packed = self._len_bits >= 1
        counts = np.zeros(n_nodes, dtype=np.int64)
        # at most one run per edge: untouched pages of the buffer are never allocated
        keys = np.empty(n_edges if self._packed else 0, dtype=np.int64)
        plain: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        long_runs: list[tuple[np.ndarray, np.ndarray]] = []
        id_range: list[int] = []  # smallest and largest id seen
        at = 0
        pending: tuple[int, int] | None = None  # first row and node of the run going on

        def emit(starts: np.ndarray, ends: np.ndarray, nodes: np.ndarray) -> None:
            # runs in increasing first row, so the long runs stay sorted
            nonlocal at
            if not len(starts):
                return
            if not self._packed:
                plain.append((starts, ends, nodes))
            else:
                self._pack(starts, ends, nodes, long_runs, keys[at : at + len(starts)])
            at += len(starts)

        one = np.empty(1, dtype=np.int64)
        for lo in range(0, n_edges, self._chunk):
            hi = min(lo + self._chunk, n_edges)
            starts, nodes = self._runs(lo, hi, n_nodes, id_range)
            counts += np.bincount(nodes, minlength=n_nodes)
            if not len(starts):
                continue
            if pending is not None:  # the run going on ends where this piece's first begins
                emit(np.array([pending[0]]), starts[:1], np.array([pending[1]]))
            emit(starts[:-1], starts[1:], nodes[:-1])
            pending = int(starts[-1]), int(nodes[-1])
        if pending is not None:  # past the end: the pending run closes at the last edge
            one[0] = n_edges
            emit(np.array([pending[0]]), one, np.array([pending[1]]))
        if id_range and (id_range[0] < 0 or id_range[1] >= n_nodes):
            raise NodeIdError(
                f"node ids must lie in [0, {n_nodes}), found [{id_range[0]}, {id_range[1]}]"
            )
        stops = np.cumsum(counts)
        self.node_to_range = np.empty((n_nodes, 2), dtype=np.uint64)
        self.node_to_range[:, 1] = stops
        self.node_to_range[:, 0] = stops - counts
        self.n_ranges = at
        if self._packed:
            keys.resize(at, refcheck=False)
            keys.sort()
            self._keys = keys
            self._long = (
                np.concatenate([s for s, _ in long_runs]) if long_runs else np.zeros(0, np.int64),
                np.concatenate([e for _, e in long_runs]) if long_runs else np.zeros(0, np.int64),
            )
        else:
            if plain:
                starts, ends, nodes = (np.concatenate(parts) for parts in zip(*plain))
            else:
                starts = ends = nodes = np.zeros(0, dtype=np.int64)
            order = np.argsort(nodes, kind="stable")
            self._plain = starts[order], ends[order]

    def _runs(self, lo: int, hi: int, n_nodes: int, id_range: list[int]):
        """First rows and nodes of the runs that begin in rows ``[lo, hi)``."""
        first = max(lo - 1, 0)
        ids = np.asarray(self._ids(first, hi))
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise SonataFormatError(f"expected 1-D integer node ids, got {ids.dtype} {ids.shape}")
        ids = ids.astype(np.int64, copy=False)
        c_min, c_max = int(ids.min()), int(ids.max())
        id_range[:] = (
            (min(id_range[0], c_min), max(id_range[1], c_max)) if id_range else (c_min, c_max)
        )
        if c_min < 0 or c_max >= n_nodes:
            # reported once every piece is seen; empty runs keep bincount happy meanwhile
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        change = ids[1:] != ids[:-1]
        if lo == 0:  # row 0 begins a run
            change = np.concatenate([np.ones(1, dtype=bool), change])
            later = ids
        else:
            later = ids[1:]
        starts = np.flatnonzero(change)
        starts += lo
        return starts, later[change]

    def _pack(self, starts, ends, nodes, long_runs, out: np.ndarray) -> None:
        """One int64 per run into ``out``: node id, then first row, then length (capped) in
        the low bits."""
        lengths = ends - starts
        cap = (1 << self._len_bits) - 1
        long = lengths >= cap
        if np.any(long):
            long_runs.append((starts[long], ends[long]))
            np.minimum(lengths, cap, out=lengths)
        np.left_shift(nodes, self._start_bits, out=out)
        out |= starts
        out <<= self._len_bits
        out |= lengths

    def range_rows(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``[lo, hi)`` of ``range_to_edge_id`` (uint64, shape (hi - lo, 2))."""
        rows = np.empty((max(hi - lo, 0), 2), dtype=np.uint64)
        if not self._packed:
            rows[:, 0] = self._plain[0][lo:hi]
            rows[:, 1] = self._plain[1][lo:hi]
            return rows
        keys = self._keys[lo:hi]
        lengths = keys & ((1 << self._len_bits) - 1)
        starts = keys >> self._len_bits
        starts &= (1 << self._start_bits) - 1
        rows[:, 0] = starts
        long = lengths == (1 << self._len_bits) - 1
        starts += lengths
        if np.any(long):
            long_starts, long_ends = self._long
            starts[long] = long_ends[np.searchsorted(long_starts, starts[long] - lengths[long])]
        rows[:, 1] = starts
        return rows


def build_index(node_ids: np.ndarray, n_nodes: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Build one direction of the edge index from the key node id of every edge row.

    Parameters
    ----------
    node_ids : array of int, shape (E,)
        Source ids (for ``source_to_target``) or target ids (``target_to_source``) in edge
        row order.
    n_nodes : int, optional
        Rows of ``node_id_to_ranges`` (default: ``max(node_ids) + 1``).

    Returns
    -------
    node_id_to_ranges : ndarray of uint64, shape (n_nodes, 2)
    range_to_edge_id : ndarray of uint64, shape (k, 2)

    Raises
    ------
    NodeIdError
        An id is negative or not below ``n_nodes``.

    Examples
    --------
    >>> n2r, r2e = build_index(np.array([0, 0, 2]), 4)
    >>> n2r.tolist()
    [[0, 1], [1, 1], [1, 2], [2, 2]]
    """
    ids = np.asarray(node_ids)
    if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
        raise SonataFormatError(f"expected 1-D integer node ids, got {ids.dtype} {ids.shape}")
    if n_nodes is None:
        n_nodes = int(ids.max()) + 1 if ids.size else 0
    stream = IndexStream(lambda lo, hi: ids[lo:hi], ids.size, n_nodes, chunk_rows=max(ids.size, 1))
    return stream.node_to_range, stream.range_rows(0, stream.n_ranges)


class EdgeOrder:
    """Stable order of edge rows by (target, source), read back piece by piece.

    When the target id, source id and row number fit one int64 together they are packed into
    one key per edge and sorted by value (one array of 8 bytes per edge, no argsort); sorted
    targets, sources and rows are then decoded from the key pieces. Otherwise a full
    ``np.lexsort`` order is kept.

    Examples
    --------
    >>> order = EdgeOrder.of(np.array([0, 1, 0]), np.array([1, 0, 0]), chunk=2)
    >>> order.rows(0, 3).tolist(), order.source(0, 3).tolist(), order.target(1, 3).tolist()
    ([2, 1, 0], [0, 1, 0], [0, 1])
    """

    def __init__(self, src: np.ndarray, trg: np.ndarray) -> None:
        n = len(src)
        self.size = n
        self._src, self._trg = src, trg
        self._row_bits = (n - 1).bit_length()
        self._src_bits = int(src.max()).bit_length()
        trg_bits = int(trg.max()).bit_length()
        self._key: np.ndarray | None = None
        self._order: np.ndarray | None = None
        if self._row_bits + self._src_bits + trg_bits <= 63:
            key = trg.astype(np.int64, copy=True)
            key <<= self._src_bits
            key |= src
            _or_row_numbers(key, self._row_bits)
            key.sort()
            self._key = key
        else:
            self._order = np.lexsort((src, trg))

    @classmethod
    def of(cls, src: np.ndarray, trg: np.ndarray, chunk: int) -> EdgeOrder | None:
        """The order, or None when the rows are already sorted."""
        n = len(src)
        for lo, hi in pieces(n - 1, chunk):
            t0, t1 = trg[lo:hi], trg[lo + 1 : hi + 1]
            s0, s1 = src[lo:hi], src[lo + 1 : hi + 1]
            if np.any((t1 < t0) | ((t1 == t0) & (s1 < s0))):
                return cls(src, trg)
        return None

    def rows(self, lo: int, hi: int) -> np.ndarray:
        """Original rows of sorted rows ``[lo, hi)``."""
        if self._key is None:
            assert self._order is not None  # one of the two is always set
            return self._order[lo:hi]
        return self._key[lo:hi] & ((1 << self._row_bits) - 1)

    def source(self, lo: int, hi: int) -> np.ndarray:
        """Source ids of sorted rows ``[lo, hi)``."""
        if self._key is None:
            return self._src[self.rows(lo, hi)]
        return (self._key[lo:hi] >> self._row_bits) & ((1 << self._src_bits) - 1)

    def target(self, lo: int, hi: int) -> np.ndarray:
        """Target ids of sorted rows ``[lo, hi)``."""
        if self._key is None:
            return self._trg[self.rows(lo, hi)]
        return self._key[lo:hi] >> (self._row_bits + self._src_bits)

    def all_rows(self) -> np.ndarray:
        """The whole order as one array."""
        return self.rows(0, self.size)


def expand_ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, e)`` for every pair (vectorised).

    Examples
    --------
    >>> expand_ranges(np.array([0, 5]), np.array([2, 7])).tolist()
    [0, 1, 5, 6]
    """
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    lengths = np.maximum(ends - starts, 0)
    keep = lengths > 0
    if not np.all(keep):
        starts, lengths = starts[keep], lengths[keep]
    if starts.size == 1:
        return np.arange(starts[0], starts[0] + lengths[0], dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lengths)


def lookup(node_to_range: np.ndarray, range_to_edge: np.ndarray, node_ids) -> np.ndarray:
    """Sorted edge rows of the given key nodes; ids beyond the table have no edges.

    Examples
    --------
    >>> n2r, r2e = build_index(np.array([2, 0, 2]), 3)
    >>> lookup(n2r, r2e, [2, 0]).tolist()
    [0, 1, 2]
    """
    ids = np.atleast_1d(np.asarray(node_ids, dtype=np.int64))
    if ids.size and ids.min() < 0:
        raise NodeIdError(f"node ids must be >= 0, got {ids.min()}")
    ids = ids[ids < len(node_to_range)]
    if ids.size == 0:
        return np.zeros(0, dtype=np.int64)
    if ids.size == 1:
        lo, hi = (int(v) for v in node_to_range[ids[0]])
        blocks = range_to_edge[lo:hi]
    else:
        ids = np.unique(ids)
        sel = node_to_range[ids].astype(np.int64)
        blocks = range_to_edge[expand_ranges(sel[:, 0], sel[:, 1])]
    if len(blocks) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(blocks) == 1:
        return np.arange(int(blocks[0, 0]), int(blocks[0, 1]), dtype=np.int64)
    edges = expand_ranges(blocks[:, 0].astype(np.int64), blocks[:, 1].astype(np.int64))
    if np.any(edges[1:] < edges[:-1]):
        edges = np.sort(edges)
    return edges


def index_disagreement(node_to_range: np.ndarray, range_to_edge: np.ndarray, keys: np.ndarray):
    """Compare a stored edge index with the key node id of every edge (vectorised).

    Returns
    -------
    str or None
        What disagrees, or None when the index maps every node to exactly its edges.

    Examples
    --------
    >>> import numpy as np
    >>> n2r = np.array([[0, 1], [1, 1]]); r2e = np.array([[0, 2]])
    >>> index_disagreement(n2r, r2e, np.array([0, 0])) is None
    True
    >>> index_disagreement(n2r, r2e, np.array([0, 1]))
    'edge 1 is listed under node 0 but its node id is 1'
    """
    n2r = np.asarray(node_to_range, dtype=np.int64)
    r2e = np.asarray(range_to_edge, dtype=np.int64)
    keys = np.asarray(keys, dtype=np.int64)
    n_edges = keys.size
    if keys.size and keys.max() >= len(n2r):
        return f"node_id_to_ranges has {len(n2r)} rows but edges refer to node {keys.max()}"
    for name, table, bound in (
        ("node_id_to_ranges", n2r, len(r2e)),
        ("range_to_edge_id", r2e, n_edges),
    ):
        if table.size and (
            table.min() < 0 or table.max() > bound or np.any(table[:, 1] < table[:, 0])
        ):
            return f"{name} holds ranges outside [0, {bound}] or with end < start"
    n_ranges = n2r[:, 1] - n2r[:, 0]
    range_rows = _expand_ranges(n2r[:, 0], n_ranges)
    range_node = np.repeat(np.arange(len(n2r), dtype=np.int64), n_ranges)
    blocks = r2e[range_rows]
    lengths = blocks[:, 1] - blocks[:, 0]
    edges = _expand_ranges(blocks[:, 0], lengths)
    edge_node = np.repeat(range_node, lengths)
    counts = np.bincount(edges, minlength=n_edges)
    if np.any(counts != 1):
        bad = np.flatnonzero(counts != 1)[:5].tolist()
        return f"edges {bad} are listed {counts[bad].tolist()} times (expected once)"
    wrong = np.flatnonzero(keys[edges] != edge_node)
    if wrong.size:
        e = int(edges[wrong[0]])
        return (
            f"edge {e} is listed under node {int(edge_node[wrong[0]])} but its node id is "
            f"{int(keys[e])}"
        )
    return None


def _expand_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lengths)
