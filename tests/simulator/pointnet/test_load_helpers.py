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
