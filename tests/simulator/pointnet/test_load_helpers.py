"""The shortcuts pointnet's load phase takes give what the slow, general paths give."""

from __future__ import annotations

import os

import numpy as np
import pytest

from bmtoolkit.simulator.core.models import EdgeTable, present_types, type_masks
from tests.conftest import require_module


@pytest.mark.parametrize(
    "ids",
    [
        np.array([103, 100, 101, 100, 103], dtype=np.int64),
        np.array([5, 5, 5], dtype=np.uint64),
        np.array([0, 2**40, 7], dtype=np.int64),  # too sparse for counting: falls back
        np.array([-3, 4, -3], dtype=np.int64),  # negative ids: falls back
        np.zeros(0, dtype=np.int64),
    ],
)
def test_present_types_matches_unique(ids):
    np.testing.assert_array_equal(present_types(ids), np.unique(ids))


def test_type_masks_partition_the_edges():
    ids = np.array([101, 100, 101, 102, 100])
    masks = type_masks(ids)
    assert list(masks) == [100, 101, 102]
    for t, m in masks.items():
        np.testing.assert_array_equal(m, ids == t)
    (only,) = type_masks(np.array([7, 7])).values()
    assert only.tolist() == [True, True]


@pytest.mark.parametrize(
    "ids",
    [
        np.array([101, 100, 101, 102, 100], dtype=np.int64),
        np.array([0, 2**40, 7, 7], dtype=np.int64),  # too sparse for counting
        np.array([-3, 4, -3, -3], dtype=np.int64),  # negative ids
    ],
)
def test_type_masks_are_made_on_access_and_counted_without_masks(ids):
    masks = type_masks(ids)
    first = masks[int(ids[0])]
    first[:] = False  # the caller owns each mask: changing it changes nothing stored
    np.testing.assert_array_equal(masks[int(ids[0])], ids == ids[0])
    keep = np.arange(ids.size) % 2 == 0
    assert masks.counts() == {int(t): int((ids == t).sum()) for t in np.unique(ids)}
    assert masks.counts(keep) == {int(t): int((ids[keep] == t).sum()) for t in np.unique(ids)}
    assert masks.counts(np.zeros(ids.size, bool)) == dict.fromkeys(masks, 0)
    with pytest.raises(KeyError):
        masks[12345]


def test_edge_table_without_precomputed_masks_computes_them():
    ids = np.array([2, 1, 2])
    table = EdgeTable(
        "e", "a", "b", ids * 0, ids * 0, ids, np.ones(3), np.ones(3), {"nsyns": np.ones(3)}
    )
    assert {k: v.tolist() for k, v in table.masks().items()} == {
        1: [False, True, False],
        2: [True, False, True],
    }


def test_created_ids_equal_nest_tolist():
    require_module("nest")
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    from bmtoolkit.simulator.pointnet.cells import created_ids

    nest.ResetKernel()
    a = nest.Create("iaf_psc_alpha", 3)
    b = nest.Create("parrot_neuron", 4)
    c = nest.Create("iaf_psc_alpha", 2)
    for nodes in (a, b, c, a + b, a + c, c[1:]):
        got = created_ids(nodes)
        assert got.dtype == np.int64
        np.testing.assert_array_equal(got, np.asarray(nodes.tolist(), dtype=np.int64))
    assert created_ids(nest.NodeCollection([])).size == 0


def test_lazy_columns_build_deferred_columns_once_in_order():
    from bmtoolkit.simulator.core.models import LazyColumns

    calls = []

    def build(n):
        calls.append(n)
        return np.arange(n, dtype=float)

    cols = LazyColumns({"nsyns": np.ones(3)})
    cols.defer("syn_weight", build, 3)
    cols["delay"] = np.full(3, 2.0)
    assert list(cols) == ["nsyns", "syn_weight", "delay"] and len(cols) == 3
    assert "syn_weight" in cols and cols.is_deferred("syn_weight") and not calls
    built = {k: v.tolist() for k, v in cols.items()}  # materializes while iterating
    assert built["syn_weight"] == [0.0, 1.0, 2.0] and calls == [3]
    assert cols["syn_weight"] is cols["syn_weight"] and calls == [3]


def test_connect_buffers_reuse_memory_and_match_fancy_indexing():
    from bmtoolkit.simulator.pointnet.synapses import ConnectBuffers

    rng = np.random.default_rng(0)
    nest_ids = np.arange(100, 150, dtype=np.int64)
    index = rng.integers(0, 50, 1000)
    weights = rng.normal(size=1000)
    buf = ConnectBuffers()
    buf.reserve(1000)
    first = None
    for t in range(3):
        mask = (index % 3) == t
        n = int(mask.sum())
        pre = buf.lookup("pre", nest_ids, index, mask, n)
        np.testing.assert_array_equal(pre, nest_ids[index[mask]])
        w = buf.select("weight", weights, mask, n, float)
        np.testing.assert_array_equal(w, weights[mask])
        base = pre.base if pre.base is not None else pre
        assert first is None or base is first  # one allocation serves every type
        first = base
    np.testing.assert_array_equal(buf.lookup("pre", nest_ids, index, None, 1000), nest_ids[index])
    with pytest.raises(IndexError, match="node ids"):
        buf.lookup("pre", nest_ids, np.array([0, 50]), None, 2)


def test_population_cache_cleared_and_read_again(sonata_examples):
    from bmtoolkit.sonata import Circuit

    config = sonata_examples / "300_pointneurons" / "circuit_config.json"
    if not config.exists():
        pytest.skip(f"{config} not found")
    (edges,) = list(Circuit(config).edges.values())[:1]
    before = edges.edge_type_ids()
    edges.clear_cache()
    assert not edges._cache
    np.testing.assert_array_equal(edges.edge_type_ids(), before)
    np.testing.assert_array_equal(edges.column("syn_weight"), edges.column("syn_weight"))


def test_resident_memory_is_measured():
    from bmtoolkit.simulator.core.progress import release_freed_memory, resident_gib

    before = resident_gib()
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
    grown = resident_gib() - before
    del block
    release_freed_memory()
    assert 0.05 < grown < 0.2
    assert resident_gib() < before + grown


def test_run_records_memory_after_each_load_step(point_network, tmp_path):
    require_module("nest")
    from bmtoolkit.simulator import run

    res = run(point_network("bmtoolkit"), output_dir=tmp_path, progress=False)
    mem = res.extra["memory_gib"]
    steps = ["start", "nodes created", "edge arrays read", "connected", "in nest.Connect",
             "spike recorder", "before simulate", "nest.Prepare", "simulated"]  # fmt: skip
    assert [k for k in mem if k in steps] == steps
    assert any(k.startswith("connected ") for k in mem)
    assert all(np.isfinite(v) for v in mem.values())
    assert 0.05 < mem["start"] <= mem["simulated"] + 0.05 < 4
    assert mem["in nest.Connect"] >= 0
