"""merge_edge_sets: the packed-key merge gives the order of a stable argsort."""

from types import SimpleNamespace

import numpy as np
import pytest

from bmtoolkit.builder import writer
from bmtoolkit.builder.engine import BlockEdges


def _parts(rng, n_sets, n_nodes, sorted_sets=True, with_props=False):
    parts = []
    for k in range(n_sets):
        m = int(rng.integers(0, 400))
        src = rng.integers(0, n_nodes, m)
        trg = rng.integers(0, n_nodes, m)
        if sorted_sets:
            order = np.lexsort((src, trg))
            src, trg = src[order], trg[order]
        es = SimpleNamespace(
            source_network_name="a",
            target_network_name="a",
            edge_type_id=100 + k,
            type_properties={"syn_weight": float(k)},
            edge_type_properties={"edge_type_id": 100 + k},
        )
        props = {"syn_weight": rng.random(m)} if with_props and k % 2 else {}
        nsyns = None if props else rng.integers(1, 4, m).astype(np.uint32)
        parts.append((es, BlockEdges(src.astype(np.int64), trg.astype(np.int64), nsyns, props)))
    return parts


def _expected(parts, n_nodes):
    src = np.concatenate([b.source_ids for _, b in parts])
    trg = np.concatenate([b.target_ids for _, b in parts])
    types = np.repeat([es.edge_type_id for es, _ in parts], [len(b) for _, b in parts])
    order = np.argsort(trg * n_nodes + src, kind="stable")
    return src[order], trg[order], types[order], order


@pytest.mark.parametrize("sorted_sets", [True, False])
@pytest.mark.parametrize("with_props", [True, False])
def test_merge_matches_stable_argsort(sorted_sets, with_props):
    rng = np.random.default_rng(5)
    n_nodes = 50
    parts = _parts(rng, 7, n_nodes, sorted_sets, with_props)
    nsyns = np.concatenate([b.nsyns if b.nsyns is not None else np.ones(len(b)) for _, b in parts])
    weights = np.concatenate(
        [
            b.properties.get("syn_weight", np.full(len(b), float(k)))
            for k, (_, b) in enumerate(parts)
        ]
    )
    src, trg, types, order = _expected(parts, n_nodes)
    merged = writer.merge_edge_sets(parts, {"a": SimpleNamespace(size=n_nodes)})
    np.testing.assert_array_equal(merged.source_ids, src)
    np.testing.assert_array_equal(merged.target_ids, trg)
    np.testing.assert_array_equal(merged.edge_type_ids, types)
    assert merged.source_ids.dtype == merged.target_ids.dtype == np.int64
    if with_props:  # sets without the column get their edge-type value
        np.testing.assert_array_equal(merged.columns["syn_weight"], weights[order])
    np.testing.assert_array_equal(merged.columns["nsyns"], nsyns[order])
    # the blocks are consumed
    assert all(b.source_ids is None and b.target_ids is None for _, b in parts)


def test_merge_falls_back_when_ids_do_not_pack(monkeypatch):
    """Ids too wide for one int64 key take the argsort path, with the same result."""
    rng = np.random.default_rng(2)
    parts = _parts(rng, 4, 30, sorted_sets=False)
    src, trg, types, _ = _expected(parts, 30)
    monkeypatch.setattr(writer, "_pack_ids", lambda parts, n_src: None)
    merged = writer.merge_edge_sets(parts, {"a": SimpleNamespace(size=30)})
    np.testing.assert_array_equal(merged.source_ids, src)
    np.testing.assert_array_equal(merged.target_ids, trg)
    np.testing.assert_array_equal(merged.edge_type_ids, types)


def test_merge_of_empty_sets():
    rng = np.random.default_rng(0)
    parts = _parts(rng, 2, 10)
    for _, b in parts:
        b.source_ids = b.source_ids[:0]
        b.target_ids = b.target_ids[:0]
        b.nsyns = b.nsyns[:0]
    merged = writer.merge_edge_sets(parts, {"a": SimpleNamespace(size=10)})
    assert len(merged) == 0
