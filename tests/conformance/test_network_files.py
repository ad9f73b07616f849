"""Every network file of the SONATA examples opens with the published counts.

Counts are those of SONATA_PROFILE.md section 2 (the example networks of the SONATA
repository, built by BMTK). Edge lookups are compared with a brute-force numpy answer.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.exceptions import MissingFileError
from bmtoolkit.sonata.edges import read_edges
from bmtoolkit.sonata.index import build_index
from bmtoolkit.sonata.nodes import read_nodes
from bmtoolkit.sonata.types_table import read_types_csv, write_types_csv

pytestmark = pytest.mark.conformance

_ST = "sim_tests/intfire"

# nodes file stem (without _nodes.h5) -> {population: (size, node type ids)}
NODES: dict[str, dict[str, tuple[int, list[int] | None]]] = {
    "5_cells_iclamp/network/biophysical": {"biophysical": (5, [100, 101, 102, 103, 104])},
    "9_cells/network/cortex": {"cortex": (9, [100, 101, 102])},
    "9_cells/network/excvirt": {"excvirt": (10, None)},
    "9_cells/network/inhvirt": {"inhvirt": (10, None)},
    "300_intfire/network/v1": {"v1": (300, [100, 101])},
    "300_intfire/network/lgn": {"lgn": (90, None)},
    "300_intfire/network/tw": {"tw": (30, None)},
    "300_cells/network/internal": {"internal": (300, [100, 101, 102, 103, 104])},
    "300_cells/network/external": {"external": (100, None)},
    "300_pointneurons/network/internal": {"internal": (300, None)},
    "300_pointneurons/network/external": {"external": (100, None)},
    "layer4_sample/network/l4": {"l4": (449, [100, 101, 102, 103, 104, 105, 106])},
    "layer4_sample/network/lgn": {"lgn": (9000, None)},
    f"{_ST}/one_cell_iclamp_nest/input/network/one_cell_iclamp": {"one_cell_iclamp": (1, None)},
    f"{_ST}/ten_cells_iclamp_nest/input/network/ten_cells_iclamp": {"ten_cells_iclamp": (10, None)},
    f"{_ST}/ten_cells_spikes_nest/input/network/pre": {"pre": (5, None)},
    f"{_ST}/ten_cells_spikes_nest/input/network/post": {"post": (5, None)},
    f"{_ST}/ten_cells_spikes_nrn/input/network/pre": {"pre": (5, None)},
    f"{_ST}/ten_cells_spikes_nrn/input/network/post": {"post": (5, None)},
}

# edges file stem (without _edges.h5) -> (population, source, target, E, group sizes, pairs)
EDGES = {
    "9_cells/network/excvirt_cortex": ("excvirt_to_cortex", "excvirt", "cortex", 659, [659], 90),
    "9_cells/network/inhvirt_cortex": ("inhvirt_to_cortex", "inhvirt", "cortex", 630, [630], 90),
    "300_intfire/network/v1_v1": ("v1_to_v1", "v1", "v1", 61560, [61560], None),
    "300_intfire/network/lgn_v1": ("lgn_to_v1", "lgn", "v1", 17160, [17160], None),
    "300_intfire/network/tw_v1": ("tw_to_v1", "tw", "v1", 9000, [9000], None),
    "300_pointneurons/network/internal_internal": (
        "internal_to_internal",
        "internal",
        "internal",
        27588,
        [27588],
        None,
    ),
    "300_pointneurons/network/external_internal": (
        "external_to_internal",
        "external",
        "internal",
        20844,
        [20844],
        None,
    ),
    "layer4_sample/network/l4_l4": ("l4_to_l4", "l4", "l4", 47020, [14783, 32237], None),
    f"{_ST}/ten_cells_iclamp_nest/input/network/ten_cells_iclamp_ten_cells_iclamp": (
        "ten_cells_iclamp_to_ten_cells_iclamp",
        "ten_cells_iclamp",
        "ten_cells_iclamp",
        20,
        [20],
        None,
    ),
    f"{_ST}/ten_cells_spikes_nest/input/network/pre_post": (
        "pre_to_post",
        "pre",
        "post",
        14,
        [14],
        None,
    ),
    f"{_ST}/ten_cells_spikes_nrn/input/network/pre_post": (
        "pre_to_post",
        "pre",
        "post",
        22,
        [22],
        None,
    ),
}


def _brute_force_check(pop, n_src: int, n_trg: int) -> None:
    src, trg = pop.source_node_ids(), pop.target_node_ids()
    for node in range(n_trg):
        np.testing.assert_array_equal(pop.afferent_edges(node), np.flatnonzero(trg == node))
    for node in range(n_src):
        np.testing.assert_array_equal(pop.efferent_edges(node), np.flatnonzero(src == node))
    rng = np.random.default_rng(0)
    some = rng.choice(n_trg, size=min(n_trg, 7), replace=False)
    np.testing.assert_array_equal(pop.afferent_edges(some), np.flatnonzero(np.isin(trg, some)))


@pytest.mark.parametrize("stem", sorted(NODES))
def test_nodes_counts_and_csv_merge(sonata_examples: Path, stem: str) -> None:
    h5 = sonata_examples / f"{stem}_nodes.h5"
    csv = sonata_examples / f"{stem}_node_types.csv"
    pops = read_nodes(h5, csv)
    expected = NODES[stem]
    assert sorted(pops) == sorted(expected)
    table = read_types_csv(csv)
    for name, (size, type_ids) in expected.items():
        pop = pops[name]
        assert pop.size == size
        tids = pop.node_type_ids()
        if type_ids is not None:
            assert sorted(np.unique(tids).tolist()) == type_ids
        # every node type id exists in the CSV; CSV-only columns follow the node's type
        assert np.isin(tids, table["node_type_id"]).all()
        df = pop.get()
        assert len(df) == size and df.index.tolist() == list(range(size))
        assert "model_type" in df.columns
        lookup = table.set_index("node_type_id")["model_type"]
        assert df["model_type"].tolist() == lookup.loc[tids].tolist()


@pytest.mark.parametrize("stem", sorted(EDGES))
def test_edges_counts_and_index(sonata_examples: Path, stem: str) -> None:
    name, src_pop, trg_pop, n_edges, group_sizes, n_pairs = EDGES[stem]
    h5 = sonata_examples / f"{stem}_edges.h5"
    csv = sonata_examples / f"{stem}_edge_types.csv"
    pops = read_edges(h5, csv)
    assert list(pops) == [name]
    pop = pops[name]
    assert pop.size == n_edges
    assert (pop.source_population, pop.target_population) == (src_pop, trg_pop)
    assert [g.size for g in pop.groups.values()] == group_sizes
    src, trg = pop.source_node_ids(), pop.target_node_ids()
    if n_pairs is not None:
        assert len(set(zip(src.tolist(), trg.tolist()))) == n_pairs
    assert np.all(np.diff(trg) >= 0), "example edges are sorted by target"
    table = read_types_csv(csv)
    assert np.isin(pop.edge_type_ids(), table["edge_type_id"]).all()
    df = pop.get()
    assert len(df) == n_edges and {"source_node_id", "target_node_id"} <= set(df.columns)
    n2r_s, _ = pop.stored_index("source_to_target")
    n2r_t, _ = pop.stored_index("target_to_source")
    _brute_force_check(pop, len(n2r_s), len(n2r_t))
    # our index builder reproduces every non-empty row of the stored index
    for direction, ids in (("source_to_target", src), ("target_to_source", trg)):
        n2r, r2e = pop.stored_index(direction)
        ours_n2r, ours_r2e = build_index(ids, len(n2r))
        np.testing.assert_array_equal(ours_r2e, r2e)
        full = n2r[:, 1] > n2r[:, 0]
        np.testing.assert_array_equal(ours_n2r[full], n2r[full])


def test_nsyns_and_multigroup_columns(sonata_examples: Path) -> None:
    net = sonata_examples / "300_intfire/network"
    v1 = read_edges(net / "v1_v1_edges.h5", net / "v1_v1_edge_types.csv")["v1_to_v1"]
    nsyns = v1.column("nsyns")
    assert nsyns.dtype == np.uint16 and nsyns.min() >= 1
    assert {"syn_weight", "delay", "weight_function"} <= set(v1.property_names)
    net = sonata_examples / "layer4_sample/network"
    l4 = read_edges(net / "l4_l4_edges.h5", net / "l4_l4_edge_types.csv")["l4_to_l4"]
    sec_id = l4.column("sec_id")
    weight = l4.column("syn_weight")
    assert weight.dtype == np.float64 and not np.isnan(weight).any()
    # sec_id exists only in group 0 (14783 edges); group 1 rows are missing values
    assert np.count_nonzero(~np.isnan(sec_id)) == 14783
    delay = l4.column("delay")  # CSV only
    assert np.all(delay == 2.0)
    nodes = read_nodes(net / "l4_nodes.h5", net / "l4_node_types.csv")["l4"]
    kinds, counts = np.unique(nodes.column("model_type"), return_counts=True)
    assert dict(zip(kinds.tolist(), counts.tolist())) == {"biophysical": 100, "point_process": 349}
    assert nodes.positions().shape == (449, 3)


def test_sim_tests_misspelt_index_group(sonata_examples: Path) -> None:
    net = sonata_examples / f"{_ST}/ten_cells_spikes_nest/input/network"
    pop = read_edges(net / "pre_post_edges.h5")["pre_to_post"]
    assert pop.index_group_name == "indicies"
    assert pop.stored_index("target_to_source") is not None
    _brute_force_check(pop, 5, 5)


def test_edge_index_example_reads_index_only(sonata_examples: Path) -> None:
    pop = read_edges(sonata_examples / "edges/edge_index_example.h5")["example"]
    assert pop.size == 33
    assert pop.source_population is None and pop.target_population is None
    n2r, r2e = pop.stored_index("source_to_target")
    assert n2r.shape == (5, 2) and r2e.shape == (11, 2)
    _brute_force_check(pop, 5, 5)
    with pytest.raises(ValueError, match="edge_type_id"):
        pop.edge_type_ids()
    df = pop.get()  # no attributes: ids only
    assert list(df.columns) == ["source_node_id", "target_node_id"] and len(df) == 33
    assert set(pop.group_rows()[0].tolist()) == {0}


def test_h5_overrides_csv_on_example(sonata_examples: Path, tmp_path: Path) -> None:
    net = sonata_examples / "9_cells/network"
    csv = tmp_path / "cortex_node_types.csv"
    shutil.copy(net / "cortex_node_types.csv", csv)
    table = read_types_csv(csv)
    table["x"] = 1.0e6  # also in H5 group 0: must lose
    table["ei"] = table["ei"].astype(object)
    write_types_csv(table, csv)
    merged = read_nodes(net / "cortex_nodes.h5", csv)["cortex"]
    plain = read_nodes(net / "cortex_nodes.h5")["cortex"]
    np.testing.assert_array_equal(merged.column("x"), plain.column("x"))
    assert merged.column("x").max() < 1.0e6
    ei = table.set_index("node_type_id")["ei"]
    assert merged.column("ei").tolist() == ei.loc[merged.node_type_ids()].tolist()
    assert pd.isna(merged.column("dynamics_params")).all()  # NONE in the example CSV


@pytest.mark.parametrize(
    "rel",
    [
        "300_cells/network/internal_internal_edges.h5",
        "300_cells/network/external_internal_edges.h5",
        "layer4_sample/network/lgn_l4_edges.h5",
    ],
)
def test_files_absent_from_the_snapshot_are_reported(sonata_examples: Path, rel: str) -> None:
    path = sonata_examples / rel
    if path.exists():
        assert read_edges(path)
    else:
        with pytest.raises(MissingFileError, match=path.name):
            read_edges(path)
