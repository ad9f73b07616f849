"""Reading part of an edge population: the edges onto some targets, and their rows only.

``EdgePopulation.edges_onto`` finds the edges onto a set of target nodes through the stored
index or by scanning ``target_node_id`` slab by slab; ``EdgePopulation.select`` then reads
those rows only. Every column, id and group lookup of a selection must equal the whole
population's at the selected rows, for every file layout the writer produces.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.sonata import _population, groups
from bmtoolkit.sonata.edges import read_edges, write_edges
from tests.sonata.test_edges import _case

KINDS = ["sorted", "single", "multi", "regrouped", "wide_ids", "several"]


def _write(tmp_path, kind, seed, sort):
    pops = _case(kind, seed)
    n_nodes = max(int(max(p.source_node_id.max(initial=-1), p.target_node_id.max(initial=-1)))
                  for p in pops) + 1  # fmt: skip
    if kind == "wide_ids":
        n_nodes = 2**15
    path = tmp_path / f"{kind}_{seed}_{sort}.h5"
    write_edges(path, pops, sort=sort, n_source_nodes=n_nodes, n_target_nodes=n_nodes)
    return read_edges(path), n_nodes


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    if a.dtype.kind == "f" and b.dtype.kind == "f":
        np.testing.assert_array_equal(a, b)  # NaN where NaN
    else:
        assert a.tolist() == b.tolist()


@pytest.mark.parametrize("sort", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_edges_onto_targets_by_index_and_by_scan(tmp_path, kind, sort):
    for seed in range(3):
        pops, n_nodes = _write(tmp_path, kind, seed, sort)
        rng = np.random.default_rng(seed)
        for pop in pops.values():
            targets = pop.target_node_ids()
            for share in (0.0, 0.3, 1.0):
                nodes = np.flatnonzero(rng.random(n_nodes) < share)
                expected = np.flatnonzero(np.isin(targets, nodes))
                for method in ("auto", "index", "scan"):
                    got = pop.edges_onto(nodes, method=method, slab=7)
                    assert got.dtype == np.int64
                    assert got.tolist() == expected.tolist(), (pop.name, method, share)


def test_auto_scans_when_the_index_is_not_by_target(tmp_path):
    pops, _ = _write(tmp_path, "single", 0, False)  # unsorted: as many ranges as edges
    pop = pops["a_to_b"]
    assert 4 * pop._stored_ranges("target_to_source") > pop.size
    pop.edges_onto([1, 2], slab=5)
    assert "_index_target_to_source" not in pop._cache  # scanned, no index read
    sorted_pops, _ = _write(tmp_path, "sorted", 0, True)
    v1 = sorted_pops["v1_to_v1"]
    v1.edges_onto([1, 2])
    assert "_index_target_to_source" in v1._cache


@pytest.mark.parametrize("sort", [True, False])
@pytest.mark.parametrize("kind", KINDS)
def test_selection_reads_the_rows_of_the_whole_population(tmp_path, kind, sort):
    for seed in range(3):
        pops, _ = _write(tmp_path, kind, seed, sort)
        rng = np.random.default_rng(10 + seed)
        for pop in pops.values():
            rows = np.flatnonzero(rng.random(pop.size) < 0.4)
            part = pop.select(rows)
            assert part.size == len(rows) and part.selected.tolist() == rows.tolist()
            assert pop.selected is None
            _same(part.source_node_ids(), pop.source_node_ids()[rows])
            _same(part.target_node_ids(), pop.target_node_ids()[rows])
            _same(part.edge_type_ids(), pop.edge_type_ids()[rows])
            for got, want in zip(part.group_rows(), pop.group_rows(rows), strict=True):
                _same(got, want)
            for name in ["edge_id", "edge_type_id", *pop.property_names]:
                _same(part.column(name), pop.column(name, rows))
            pd.testing.assert_frame_equal(
                part.dynamics_params().reset_index(drop=True),
                pop.dynamics_params(rows).reset_index(drop=True),
            )
            inner = np.arange(0, len(rows), 3)  # a selection of a selection
            twice = part.select(inner)
            _same(twice.selected, rows[inner])
            for name in pop.property_names:
                _same(twice.column(name), pop.column(name, rows[inner]))
                _same(part.column(name, inner[::-1]), pop.column(name, rows[inner][::-1]))


def test_selection_reads_slabs_not_whole_columns(tmp_path, monkeypatch):
    pops, n_nodes = _write(tmp_path, "multi", 1, True)
    pop = pops["m"]
    for module in (groups, _population):
        monkeypatch.setattr(module, "SLAB_ROWS", 8)
    longest = []
    real = groups.read_dataset

    def spy(ds, path, sel=None):
        out = real(ds, path, sel)
        longest.append((ds.name, len(out) if out.ndim else 1))
        return out

    monkeypatch.setattr(groups, "read_dataset", spy)
    monkeypatch.setattr(_population, "read_dataset", spy)
    rows = pop.edges_onto(np.arange(0, n_nodes, 2), method="scan")
    part = pop.select(rows)
    for name in ["source_node_id", "target_node_id", "edge_type_id", *pop.property_names]:
        part.column(name)
    part.group_rows()
    assert longest and max(n for _, n in longest) <= 8, longest


def test_selection_refuses_ids_out_of_order_or_range(tmp_path):
    from bmtoolkit.exceptions import NodeIdError

    pops, _ = _write(tmp_path, "sorted", 0, True)
    pop = pops["v1_to_v1"]
    with pytest.raises(ValueError, match="strictly increasing"):
        pop.select([2, 1])
    with pytest.raises(NodeIdError, match="outside the population"):
        pop.select([pop.size])
    with pytest.raises(ValueError, match="method must be"):
        pop.edges_onto([0], method="fast")
    assert pop.select([]).size == 0
    assert pop.select([]).column("nsyns").tolist() == []
    assert pop.edges_onto([]).tolist() == []


def test_read_rows_any_order_and_repeats(tmp_path):
    import h5py

    with h5py.File(tmp_path / "r.h5", "w") as f:
        f["x"] = np.arange(100) * 3
        f.create_dataset("s", data=np.array(["a", "b", "c"] * 10, dtype=object),
                         dtype=h5py.string_dtype())  # fmt: skip
    with h5py.File(tmp_path / "r.h5") as f:
        rows = np.array([99, 0, 50, 50, 3])
        assert groups.read_rows(f["x"], "r.h5", rows, slab=16).tolist() == (rows * 3).tolist()
        assert groups.read_rows(f["s"], "r.h5", np.array([2, 4]), slab=2).tolist() == ["c", "b"]
        assert groups.read_rows(f["x"], "r.h5", np.zeros(0, np.int64)).tolist() == []
        with pytest.raises(Exception, match="outside the dataset"):
            groups.read_rows(f["x"], "r.h5", np.array([100]))
