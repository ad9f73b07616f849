"""Which edges an MPI rank reads: those onto the targets NEST places on it.

These tests run in one process with a stand-in for NEST's rank queries; the runs under
``mpiexec`` are in ``test_mpi.py`` and ``tests/models/test_v1_mpi.py``.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from bmtoolkit.simulator.pointnet.cells import NestPopulation
from bmtoolkit.simulator.pointnet.ranks import local_node_mask, rank_edges
from bmtoolkit.sonata.edges import EdgePopulationData, read_edges, write_edges


class _Nodes(list):
    def tolist(self) -> list[int]:
        return list(self)


class FakeNest:
    """NEST's process queries for ``rank`` of ``processes``; ``placement(id, processes)``
    is the rank NEST would say a node is on."""

    def __init__(self, rank, processes, placement=lambda i, p: i % p):
        self.rank, self.processes, self.placement = rank, processes, placement

    def NumProcesses(self):  # noqa: N802 - NEST's name
        return self.processes

    def Rank(self):  # noqa: N802
        return self.rank

    def NodeCollection(self, ids):  # noqa: N802
        return _Nodes(ids)

    def GetLocalNodeCollection(self, nodes):  # noqa: N802
        return _Nodes(i for i in nodes if self.placement(i, self.processes) == self.rank)


@pytest.fixture
def edges(tmp_path):
    rng = np.random.default_rng(3)
    n = 5000
    src, trg = rng.integers(0, 200, n), rng.integers(0, 120, n)
    data = EdgePopulationData.single_group(
        "v1_to_v1", "v1", "v1", src, trg, rng.integers(100, 110, n),
        {"syn_weight": rng.random(n), "delay": rng.uniform(0.5, 3.0, n)},
    )  # fmt: skip
    write_edges(tmp_path / "e.h5", [data], n_source_nodes=200, n_target_nodes=120)
    return read_edges(tmp_path / "e.h5")["v1_to_v1"]


def _target(first_id=7):
    pop = NestPopulation("v1", 120, False)
    pop.nest_ids = np.arange(first_id, first_id + 120, dtype=np.int64)
    return pop


def test_local_node_mask_follows_nest_placement():
    ids = np.array([0, 1, 2, 3, 4, 5, 6])
    assert local_node_mask(ids, rank=0, processes=1).tolist() == [False] + [True] * 6
    assert local_node_mask(ids, rank=0, processes=3).tolist() == [0, 0, 0, 1, 0, 0, 1]
    assert local_node_mask(ids, rank=2, processes=3).tolist() == [0, 0, 1, 0, 0, 1, 0]


def test_one_process_reads_every_edge(edges):
    mine = rank_edges(edges, _target(), FakeNest(0, 1))
    assert mine.edges is edges and mine.read == mine.total == edges.size


@pytest.mark.parametrize("processes", [2, 3])
def test_ranks_split_the_edges_by_target(edges, processes):
    target = _target()
    every_target = edges.target_node_ids()
    seen = []
    for rank in range(processes):
        mine = rank_edges(edges, target, FakeNest(rank, processes))
        part = mine.edges
        rows = part.selected
        seen.append(rows)
        assert mine.read == part.size == len(rows) and mine.total == edges.size
        # every edge read is onto a target NEST placed on this rank, and none is missing
        nest_targets = target.nest_ids[part.target_node_ids()]
        assert np.all(nest_targets % processes == rank)
        expected = np.flatnonzero(target.nest_ids[every_target] % processes == rank)
        assert rows.tolist() == expected.tolist()  # file order kept
        assert part.column("syn_weight").tolist() == edges.column("syn_weight", rows).tolist()
        assert edges.size / processes * 0.8 < part.size < edges.size / processes * 1.2
    assert np.sort(np.concatenate(seen)).tolist() == list(range(edges.size))


def test_nest_is_asked_when_its_placement_differs(edges, caplog):
    target = _target()
    other = FakeNest(0, 2, placement=lambda i, p: (i // 10) % p)  # blocks of 10 ids
    with caplog.at_level(logging.WARNING, logger="bmtoolkit.simulator.pointnet"):
        part = rank_edges(edges, target, other).edges
    assert "otherwise than by id modulo ranks" in caplog.text
    assert np.all((target.nest_ids[part.target_node_ids()] // 10) % 2 == 0)
