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


def stable_argsort(*keys: np.ndarray) -> np.ndarray:
    """Stable order sorting by the last key, then the one before, ... (like ``np.lexsort``).

    Non-negative integer keys below 2**16 use numpy's radix sort (one pass per key); larger
    ones are folded with the row number into one unique int64 key for a quicksort. Both are
    several times faster than ``np.lexsort`` on millions of ids and give the same order.

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
    tops = [int(a.max()) for a in arrays]
    if all(top < 2**16 for top in tops):
        order = np.argsort(arrays[0].astype(np.uint16), kind="stable")
        for key in arrays[1:]:
            order = order[np.argsort(key[order].astype(np.uint16), kind="stable")]
        return order
    span = n
    for top in tops:
        span *= top + 1
    if span >= 2**63:
        return np.lexsort(arrays)
    composite = np.zeros(n, dtype=np.int64)
    for key, top in zip(reversed(arrays), reversed(tops)):
        composite *= top + 1
        composite += key
    composite *= n
    composite += np.arange(n, dtype=np.int64)
    return np.argsort(composite)


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
    ids = ids.astype(np.int64, copy=False)
    if n_nodes is None:
        n_nodes = int(ids.max()) + 1 if ids.size else 0
    if ids.size and (ids.min() < 0 or ids.max() >= n_nodes):
        raise NodeIdError(f"node ids must lie in [0, {n_nodes}), found [{ids.min()}, {ids.max()}]")
    n_edges = ids.size
    if n_edges == 0:
        return np.zeros((n_nodes, 2), np.uint64), np.zeros((0, 2), np.uint64)
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    ranges = np.empty((len(change) + 1, 2), dtype=np.int64)
    ranges[0, 0] = 0
    ranges[1:, 0] = change
    ranges[:-1, 1] = change
    ranges[-1, 1] = n_edges
    run_node = ids[ranges[:, 0]]
    if np.any(run_node[1:] < run_node[:-1]):
        ranges = np.take(ranges, stable_argsort(run_node), axis=0)  # row gather (fast path)
    range_to_edge = ranges.view(np.uint64)
    counts = np.bincount(run_node, minlength=n_nodes)
    node_to_range = np.empty((n_nodes, 2), dtype=np.uint64)
    stops = np.cumsum(counts)
    node_to_range[:, 1] = stops
    node_to_range[:, 0] = stops - counts
    return node_to_range, range_to_edge


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
