"""The edge index against a brute-force answer."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.exceptions import NodeIdError
from bmtoolkit.sonata import index as index_module
from bmtoolkit.sonata.index import (
    IndexStream,
    build_index,
    expand_ranges,
    lookup,
    stable_argsort,
)


def _brute(ids, node):
    return np.flatnonzero(ids == node)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lookup_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_nodes = 40
    ids = rng.integers(0, n_nodes - 5, size=500)
    n2r, r2e = build_index(ids, n_nodes)
    assert n2r.shape == (n_nodes, 2) and n2r.dtype == np.uint64 and r2e.dtype == np.uint64
    for node in range(n_nodes):
        np.testing.assert_array_equal(lookup(n2r, r2e, [node]), _brute(ids, node))
    some = [3, 0, 17, 3]
    np.testing.assert_array_equal(lookup(n2r, r2e, some), np.flatnonzero(np.isin(ids, some)))


def test_sorted_keys_give_one_range_per_node_and_empty_nodes_start_equals_end():
    ids = np.array([0, 0, 0, 2, 2, 4])
    n2r, r2e = build_index(ids, 6)
    assert r2e.tolist() == [[0, 3], [3, 5], [5, 6]]
    assert n2r.tolist() == [[0, 1], [1, 1], [1, 2], [2, 2], [2, 3], [3, 3]]


def test_unsorted_keys_give_several_ranges():
    ids = np.array([1, 0, 1, 1, 0])
    n2r, r2e = build_index(ids)
    assert n2r.tolist() == [[0, 2], [2, 4]]
    assert r2e.tolist() == [[1, 2], [4, 5], [0, 1], [2, 4]]


def test_empty_and_out_of_range():
    n2r, r2e = build_index(np.zeros(0, dtype=np.int64), 3)
    assert n2r.tolist() == [[0, 0]] * 3 and r2e.shape == (0, 2)
    assert lookup(n2r, r2e, [0, 1, 2]).size == 0
    with pytest.raises(NodeIdError):
        build_index(np.array([0, 5]), 3)
    with pytest.raises(NodeIdError):
        lookup(n2r, r2e, [-1])
    assert lookup(n2r, r2e, [10]).size == 0


def test_expand_ranges():
    assert expand_ranges(np.array([3, 0, 7]), np.array([5, 0, 9])).tolist() == [3, 4, 7, 8]
    assert expand_ranges(np.array([], dtype=np.int64), np.array([], dtype=np.int64)).size == 0


@pytest.mark.parametrize("top", [3, 70_000, 2**40, 2**62])
def test_stable_argsort_equals_lexsort(top):
    rng = np.random.default_rng(top % 1000)
    for n in (0, 1, 17, 2000):
        a = rng.integers(0, top, n)
        b = rng.integers(0, top, n)
        np.testing.assert_array_equal(stable_argsort(a, b), np.lexsort((a, b)))
        np.testing.assert_array_equal(stable_argsort(a), np.argsort(a, kind="stable"))
    neg = np.array([3, -1, 3, -1])
    np.testing.assert_array_equal(stable_argsort(neg), np.argsort(neg, kind="stable"))


def _reference_index(ids, n_nodes):
    """Runs of equal ids, ordered by node then position (the index by definition)."""
    runs = []
    for i, node in enumerate(ids.tolist()):
        if i and node == ids[i - 1]:
            runs[-1][2] += 1
        else:
            runs.append([node, i, i + 1])
    runs.sort(key=lambda r: (r[0], r[1]))
    counts = np.bincount([r[0] for r in runs], minlength=n_nodes)
    stops = np.cumsum(counts)
    n2r = np.stack([stops - counts, stops], axis=1)
    return n2r, np.array([[r[1], r[2]] for r in runs], dtype=np.int64).reshape(-1, 2)


@pytest.mark.parametrize("key_bits", [63, 19, 16, 5])
@pytest.mark.parametrize("chunk_rows", [1, 3, 64, 10_000])
def test_index_stream_equals_definition(monkeypatch, key_bits, chunk_rows):
    """Piecewise runs, runs longer than the packed length field, and the unpacked fallback."""
    monkeypatch.setattr(index_module, "_KEY_BITS", key_bits)
    rng = np.random.default_rng(key_bits + chunk_rows)
    n_nodes = 12
    # long runs (up to 40 rows) next to single rows, so pieces cut through runs
    ids = np.repeat(rng.integers(0, n_nodes - 2, 60), rng.integers(1, 40, 60))
    stream = IndexStream(lambda lo, hi: ids[lo:hi], len(ids), n_nodes, chunk_rows=chunk_rows)
    n2r, r2e = _reference_index(ids, n_nodes)
    np.testing.assert_array_equal(stream.node_to_range, n2r)
    assert stream.n_ranges == len(r2e)
    pieces = [stream.range_rows(lo, min(lo + 7, len(r2e))) for lo in range(0, len(r2e), 7)]
    np.testing.assert_array_equal(np.concatenate(pieces), r2e)
    assert all(p.dtype == np.uint64 for p in pieces)
    for node in range(n_nodes):
        np.testing.assert_array_equal(
            lookup(stream.node_to_range, stream.range_rows(0, len(r2e)), [node]), _brute(ids, node)
        )


def test_index_stream_reports_ids_out_of_range_over_all_pieces():
    ids = np.array([0, 1, 9, 2, -1, 3])
    with pytest.raises(NodeIdError, match=r"\[0, 5\), found \[-1, 9\]"):
        IndexStream(lambda lo, hi: ids[lo:hi], len(ids), 5, chunk_rows=2)
    negative = np.array([-3, -2])
    with pytest.raises(NodeIdError, match=r"found \[-3, -2\]"):
        IndexStream(lambda lo, hi: negative[lo:hi], 2, 5, chunk_rows=1)
