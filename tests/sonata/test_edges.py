"""Edge files: sorting, index, groups, CSV merge and lookups."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from bmtoolkit.exceptions import NodeIdError, SonataFormatError
from bmtoolkit.sonata.edges import EdgePopulationData, read_edges, write_edges
from bmtoolkit.sonata.groups import GroupData
from bmtoolkit.sonata.index import build_index
from bmtoolkit.sonata.nodes import NodePopulationData, read_nodes, write_nodes
from bmtoolkit.sonata.types_table import write_types_csv
from tests.conftest import require_module


def _random_edges(seed=0, n=300, n_src=20, n_trg=15):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n_src, n)
    trg = rng.integers(0, n_trg, n)
    tid = rng.choice([100, 101], n)
    w = rng.random(n)
    return src, trg, tid, w


def test_write_profile_sorted_and_indexed(tmp_path):
    src, trg, tid, w = _random_edges()
    path = tmp_path / "e.h5"
    data = EdgePopulationData.single_group(
        "a_to_b", "a", "b", src, trg, tid, attributes={"syn_weight": w}
    )
    write_edges(path, [data], n_source_nodes=25, n_target_nodes={"b": 18})
    with h5py.File(path) as h5:
        assert h5.attrs["magic"] == 0x0A7A
        g = h5["edges/a_to_b"]
        assert g["source_node_id"].dtype == np.uint64
        assert g["target_node_id"].dtype == np.uint64
        assert g["source_node_id"].attrs["node_population"] == "a"
        assert g["target_node_id"].attrs["node_population"] == "b"
        assert g["edge_type_id"].dtype == np.int64
        assert g["edge_group_id"].dtype == np.uint32
        assert g["edge_group_index"].dtype == np.uint64
        s, t = g["source_node_id"][()].astype(np.int64), g["target_node_id"][()].astype(np.int64)
        order = np.lexsort((src, trg))
        np.testing.assert_array_equal(s, src[order])
        np.testing.assert_array_equal(t, trg[order])
        np.testing.assert_array_equal(g["0/syn_weight"][()], w[order])
        for direction, ids, n in (("source_to_target", s, 25), ("target_to_source", t, 18)):
            idx = g[f"indices/{direction}"]
            assert idx["node_id_to_ranges"].shape == (n, 2)
            assert idx["node_id_to_ranges"].dtype == np.uint64
            assert idx["range_to_edge_id"].dtype == np.uint64
            # hard link: the same dataset under BMTK's name
            assert idx["node_id_to_range"].id == idx["node_id_to_ranges"].id
            n2r, r2e = build_index(ids, n)
            np.testing.assert_array_equal(idx["node_id_to_ranges"][()], n2r)
            np.testing.assert_array_equal(idx["range_to_edge_id"][()], r2e)
        # one range per target node after sorting by target
        assert g["indices/target_to_source/range_to_edge_id"].shape[0] == len(np.unique(t))


def test_read_back_lookups_and_csv_merge(tmp_path):
    src, trg, tid, w = _random_edges(1)
    path = tmp_path / "e.h5"
    types = tmp_path / "e_types.csv"
    write_edges(
        path,
        [
            EdgePopulationData.single_group(
                "a_to_b", "a", "b", src, trg, tid, attributes={"syn_weight": w}
            )
        ],
    )
    write_types_csv(
        pd.DataFrame({"edge_type_id": [100, 101], "delay": [1.0, 2.0], "syn_weight": [-1.0, -1.0]}),
        types,
    )
    pop = read_edges(path, types)["a_to_b"]
    assert pop.size == len(src)
    assert (pop.source_population, pop.target_population) == ("a", "b")
    s, t = pop.source_node_ids(), pop.target_node_ids()
    assert s.dtype == np.int64 and t.dtype == np.int64
    order = np.lexsort((src, trg))
    np.testing.assert_array_equal(pop.column("syn_weight"), w[order])  # H5 over CSV
    delay = pop.column("delay")
    np.testing.assert_array_equal(delay, np.where(tid[order] == 100, 1.0, 2.0))
    assert pop.edge_type_ids([0, 1]).tolist() == tid[order][:2].tolist()
    assert pop.source_node_ids([2]).tolist() == [s[2]]
    for node in range(20):
        np.testing.assert_array_equal(pop.afferent_edges(node), np.flatnonzero(t == node))
        np.testing.assert_array_equal(pop.efferent_edges([node]), np.flatnonzero(s == node))
    np.testing.assert_array_equal(
        pop.afferent_edges([1, 3, 5]), np.flatnonzero(np.isin(t, [1, 3, 5]))
    )
    df = pop.get()
    assert df.index.name == "edge_id"
    assert list(df.columns)[:3] == ["source_node_id", "target_node_id", "edge_type_id"]
    assert {"syn_weight", "delay"} <= set(df.columns)
    assert pop.get(["delay"], edge_ids=[0]).shape == (1, 1)
    assert set(pop.property_names) == {"syn_weight", "delay"}


def test_multiple_groups_reordered_with_edges(tmp_path):
    src = np.array([0, 1, 2, 3, 4, 5])
    trg = np.array([5, 4, 3, 2, 1, 0])
    gid = np.array([0, 1, 0, 1, 0, 1])
    g0 = GroupData({"sec_id": np.array([10, 20, 30], np.int32), "syn_weight": np.ones(3)})
    g1 = GroupData({"syn_weight": np.array([0.5, 0.6, 0.7])})
    data = EdgePopulationData(
        "x", "a", "a", src, trg, np.zeros(6, int), {0: g0, 1: g1}, edge_group_id=gid
    )
    path = tmp_path / "e.h5"
    write_edges(path, [data])
    pop = read_edges(path)["x"]
    assert pop.target_node_ids().tolist() == [0, 1, 2, 3, 4, 5]
    assert pop.source_node_ids().tolist() == [5, 4, 3, 2, 1, 0]
    # the original edge k (source k) carries its own attributes after the sort
    assert pop.column("syn_weight").tolist() == [0.7, 1.0, 0.6, 1.0, 0.5, 1.0]
    sec = pop.column("sec_id")
    assert sec[1] == 30 and sec[3] == 20 and sec[5] == 10 and np.isnan(sec[0])
    with h5py.File(path) as h5:
        assert h5["edges/x/edge_group_index"][()].tolist() == [0, 0, 1, 1, 2, 2]
        assert h5["edges/x/1/syn_weight"][()].tolist() == [0.7, 0.6, 0.5]


def test_unsorted_write_keeps_order(tmp_path):
    path = tmp_path / "e.h5"
    data = EdgePopulationData.single_group("x", "a", "a", [2, 0, 1], [1, 1, 0], [0, 0, 0])
    write_edges(path, [data], sort=False)
    pop = read_edges(path)["x"]
    assert pop.source_node_ids().tolist() == [2, 0, 1]
    assert pop.afferent_edges(1).tolist() == [0, 1]
    assert pop.efferent_edges([0, 1]).tolist() == [1, 2]


def test_index_built_when_file_has_none(tmp_path):
    path = tmp_path / "e.h5"
    with h5py.File(path, "w") as h5:
        g = h5.create_group("edges/p")
        g["source_node_id"] = np.array([1, 0, 1], np.uint64)
        g["target_node_id"] = np.array([0, 0, 2], np.uint64)
        g["edge_type_id"] = np.array([1, 1, 1], np.uint32)
    pop = read_edges(path)["p"]
    assert pop.stored_index("target_to_source") is None
    assert pop.afferent_edges(0).tolist() == [0, 1]
    assert pop.efferent_edges(1).tolist() == [0, 2]
    assert pop.source_population is None


def test_ids_out_of_declared_population(tmp_path):
    data = EdgePopulationData.single_group("x", "a", "b", [0, 5], [0, 1], [0, 0])
    with pytest.raises(NodeIdError, match="source_node_id"):
        write_edges(tmp_path / "e.h5", [data], n_source_nodes=3)
    assert not (tmp_path / "e.h5").exists()
    with pytest.raises(SonataFormatError, match="target_node_id"):
        EdgePopulationData.single_group("x", "a", "b", [0, 1], [0], [0, 0])


@pytest.mark.interop
def test_libsonata_bluepysnap_and_bmtk_read_our_files(tmp_path):
    """The write profile is read by the three independent SONATA readers."""
    libsonata = require_module("libsonata")
    bluepysnap = require_module("bluepysnap")
    bmtk_sonata = require_module("bmtk.utils.sonata")
    rng = np.random.default_rng(3)
    src = rng.integers(0, 30, 400)
    trg = rng.integers(0, 20, 400)
    weight = rng.random(400)
    write_edges(
        tmp_path / "edges.h5",
        [
            EdgePopulationData.single_group(
                "a_to_b", "a", "b", src, trg, np.full(400, 5), {"syn_weight": weight}
            )
        ],
        n_source_nodes=30,
        n_target_nodes=20,
    )
    write_nodes(
        tmp_path / "nodes.h5",
        [
            NodePopulationData.single_group("a", np.zeros(30, int), {"x": np.arange(30.0)}),
            NodePopulationData.single_group("b", np.zeros(20, int), {"x": np.arange(20.0)}),
        ],
    )
    write_types_csv(
        pd.DataFrame({"node_type_id": [0], "model_type": ["virtual"]}), tmp_path / "nt.csv"
    )
    write_types_csv(pd.DataFrame({"edge_type_id": [5], "delay": [1.5]}), tmp_path / "et.csv")
    order = np.lexsort((src, trg))
    s_sorted, t_sorted = src[order], trg[order]

    # libsonata: storage, sizes and both index directions
    pop = libsonata.EdgeStorage(str(tmp_path / "edges.h5")).open_population("a_to_b")
    assert (pop.size, pop.source, pop.target) == (400, "a", "b")
    for node in range(20):
        got = pop.afferent_edges([node]).flatten()
        np.testing.assert_array_equal(got, np.flatnonzero(t_sorted == node))
    for node in range(30):
        got = pop.efferent_edges([node]).flatten()
        np.testing.assert_array_equal(got, np.flatnonzero(s_sorted == node))
    nodes = libsonata.NodeStorage(str(tmp_path / "nodes.h5"))
    assert nodes.population_names == {"a", "b"}
    assert nodes.open_population("a").size == 30

    # bluepysnap through a minimal circuit config
    (tmp_path / "circuit.json").write_text(
        json.dumps(
            {
                "components": {},
                "networks": {
                    "nodes": [
                        {
                            "nodes_file": "nodes.h5",
                            "populations": {"a": {"type": "virtual"}, "b": {"type": "virtual"}},
                        }
                    ],
                    "edges": [
                        {"edges_file": "edges.h5", "populations": {"a_to_b": {"type": "chemical"}}}
                    ],
                },
            }
        )
    )
    circuit = bluepysnap.Circuit(str(tmp_path / "circuit.json"))
    assert circuit.nodes.size == 50
    snap_edges = circuit.edges["a_to_b"]
    ids = np.sort(np.asarray(snap_edges.afferent_edges(3), dtype=np.int64))
    np.testing.assert_array_equal(ids, np.flatnonzero(t_sorted == 3))
    np.testing.assert_allclose(
        snap_edges.get(ids, ["syn_weight"])["syn_weight"].to_numpy(), weight[order][ids]
    )

    # BMTK, with the CSV merge
    net = bmtk_sonata.File(
        data_files=[str(tmp_path / "nodes.h5"), str(tmp_path / "edges.h5")],
        data_type_files=[str(tmp_path / "nt.csv"), str(tmp_path / "et.csv")],
    )
    assert len(net.nodes["a"]) == 30 and net.nodes["a"].get_node_id(3)["model_type"] == "virtual"
    bmtk_edges = list(net.edges["a_to_b"].get_target(3))
    assert len(bmtk_edges) == int((trg == 3).sum())
    assert {e["delay"] for e in bmtk_edges} == {1.5}


@pytest.mark.parametrize("group_name", ["indices", "indicies", "incidies"])
@pytest.mark.parametrize("table_name", ["node_id_to_ranges", "node_id_to_range"])
def test_reads_every_index_spelling(tmp_path, group_name, table_name):
    src = np.array([2, 0, 2, 1], np.uint32)
    trg = np.array([0, 0, 1, 1], np.int64)
    path = tmp_path / "e.h5"
    with h5py.File(path, "w") as h5:
        g = h5.create_group("edges/p")
        g["source_node_id"] = src
        g["target_node_id"] = trg
        g["edge_type_id"] = np.full(4, -1, np.int64)
        g["0/conductance"] = np.arange(4, dtype=np.float32)
        for direction, ids in (("source_to_target", src), ("target_to_source", trg)):
            n2r, r2e = build_index(ids.astype(np.int64), 3)
            g[f"{group_name}/{direction}/{table_name}"] = n2r
            g[f"{group_name}/{direction}/range_to_edge_id"] = r2e
    pop = read_edges(path)["p"]
    assert pop.index_group_name == group_name
    stored = pop.stored_index("source_to_target")
    assert stored is not None and stored[0].shape == (3, 2)
    assert pop.efferent_edges(2).tolist() == [0, 2]
    assert pop.afferent_edges([1]).tolist() == [2, 3]
    assert pop.edge_type_ids().tolist() == [-1] * 4
    assert pop.column("conductance").dtype == np.float32
    assert pop.source_node_ids().dtype == np.int64


def test_populations_may_be_any_iterable(tmp_path):
    pops = (EdgePopulationData.single_group(name, "a", "a", [0], [0], [1]) for name in ("x", "y"))
    write_edges(tmp_path / "e.h5", pops)
    assert sorted(read_edges(tmp_path / "e.h5")) == ["x", "y"]
    nodes = (NodePopulationData.single_group(name, [0]) for name in ("a", "b"))
    write_nodes(tmp_path / "n.h5", nodes)
    assert sorted(read_nodes(tmp_path / "n.h5")) == ["a", "b"]


# ---------------------------------------------------------------------------------------------
# The streaming writer must produce exactly the bytes of the straightforward in-memory writer
# below (sort by (target, source), full permuted copies, index built from whole arrays).


def _ref_stable_argsort(*keys):
    return np.lexsort([np.asarray(k) for k in keys]) if len(keys[0]) else np.zeros(0, np.intp)


def _ref_group_index(gid):
    out = np.empty(len(gid), dtype=np.int64)
    for g in np.unique(gid):
        out[gid == g] = np.arange(int((gid == g).sum()))
    return out


def _ref_index(grp, direction, ids, n_nodes):
    ids = ids.astype(np.int64)
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1 if ids.size else np.zeros(0, np.int64)
    starts = np.concatenate([[0], change]) if ids.size else np.zeros(0, np.int64)
    ends = np.concatenate([change, [ids.size]]) if ids.size else np.zeros(0, np.int64)
    run_node = ids[starts]
    order = np.argsort(run_node, kind="stable")
    r2e = np.stack([starts[order], ends[order]], axis=1).astype(np.uint64).reshape(-1, 2)
    counts = np.bincount(run_node, minlength=n_nodes)
    stops = np.cumsum(counts)
    n2r = np.stack([stops - counts, stops], axis=1).astype(np.uint64).reshape(-1, 2)
    sub = grp.require_group("indices").create_group(direction)
    sub.create_dataset("node_id_to_ranges", data=n2r)
    sub["node_id_to_range"] = sub["node_id_to_ranges"]
    sub.create_dataset("range_to_edge_id", data=r2e)


def _ref_column(grp, name, values):
    if values.dtype.kind == "O":
        grp.create_dataset(name, data=values.astype(str).astype(object), dtype=h5py.string_dtype())
    elif values.dtype.kind == "b":
        grp.create_dataset(name, data=values.astype(np.int8)).attrs["bmtoolkit_bool"] = np.uint8(1)
    else:
        grp.create_dataset(name, data=values)


def _ref_group(parent, key, data, rows):
    grp = parent.create_group(key)
    for name, values in data.attributes.items():
        _ref_column(grp, name, values if rows is None else values[rows])
    if data.dynamics_params:
        dyn = grp.create_group("dynamics_params")
        for name, values in data.dynamics_params.items():
            _ref_column(dyn, name, values if rows is None else values[rows])
    if data.library:
        lib = grp.create_group("@library")
        for name, values in data.library.items():
            lib.create_dataset(
                name, data=np.asarray(list(values), dtype=object), dtype=h5py.string_dtype()
            )


def _ref_population(root, pop, sort, n_source, n_target):
    src, trg, type_id = pop.source_node_id, pop.target_node_id, pop.edge_type_id
    gid, gidx = np.asarray(pop.edge_group_id), np.asarray(pop.edge_group_index)
    n = len(src)
    order = _ref_stable_argsort(src, trg) if sort and n > 1 else None
    if order is not None and np.array_equal(order, np.arange(n)):
        order = None
    single = len(pop.groups) == 1 and n > 0 and bool(np.all(gid == gid[0]))
    identity = single and np.array_equal(gidx, np.arange(n))
    if order is not None:
        src, trg, type_id, gid, gidx = (
            src[order],
            trg[order],
            type_id[order],
            gid[order],
            gidx[order],
        )
    regroup = sort and not (identity and order is None)
    grp = root.create_group(pop.name)
    for key, ids, node_pop in (
        ("source_node_id", src, pop.source_population),
        ("target_node_id", trg, pop.target_population),
    ):
        ds = grp.create_dataset(key, data=ids.astype(np.uint64))
        ds.attrs.create("node_population", node_pop, dtype=h5py.string_dtype())
    grp.create_dataset("edge_type_id", data=type_id.astype(np.int64))
    grp.create_dataset("edge_group_id", data=gid.astype(np.uint32))
    new_gidx = _ref_group_index(gid) if regroup else gidx
    grp.create_dataset("edge_group_index", data=new_gidx.astype(np.uint64))
    for key, data in pop.groups.items():
        rows = gidx[gid == key] if regroup else None
        if (
            rows is not None
            and len(rows) == data.size
            and np.array_equal(rows, np.arange(len(rows)))
        ):
            rows = None
        _ref_group(grp, str(key), data, rows)
    _ref_index(grp, "source_to_target", src, n_source)
    _ref_index(grp, "target_to_source", trg, n_target)


def _ref_write(path, pops, sort, n_source, n_target):
    with h5py.File(path, "w") as h5:
        h5.attrs["magic"] = np.uint32(0x0A7A)
        h5.attrs["version"] = np.asarray((0, 1), dtype=np.uint32)
        root = h5.create_group("edges")
        for pop in pops:
            _ref_population(root, pop, sort, n_source, n_target)


def _h5_items(path):
    out = {}
    with h5py.File(path) as h5:

        def visit(name, obj):
            attrs = {k: np.asarray(v).tolist() for k, v in obj.attrs.items()}
            if isinstance(obj, h5py.Dataset):
                out[name] = (str(obj.dtype), obj.shape, obj[()].tolist(), attrs)
            else:
                out[name] = ("group", sorted(obj.keys()), attrs)

        h5.visititems(visit)
    return out


def _case(kind, seed):
    rng = np.random.default_rng(seed)
    n, n_nodes = int(rng.integers(40, 300)), int(rng.integers(5, 60))
    src, trg = rng.integers(0, n_nodes, n), rng.integers(0, n_nodes, n)
    tid = rng.integers(100, 104, n)
    if kind == "sorted":  # what the builder hands over: unique pairs sorted by (target, source)
        key = np.unique(trg * n_nodes + src)
        src, trg, tid = key % n_nodes, key // n_nodes, np.sort(rng.integers(0, 3, len(key)))
        return [
            EdgePopulationData.single_group(
                "v1_to_v1",
                "v1",
                "v1",
                src,
                trg,
                tid,
                {"nsyns": rng.integers(1, 5, len(key)).astype(np.uint32)},
            )
        ]
    if kind == "single":
        attrs = {
            "syn_weight": rng.random(n),
            "nsyns": rng.integers(1, 5, n).astype(np.uint16),
            "afferent": rng.random(n) < 0.5,
            "pos": rng.random((n, 3)).astype(np.float32),
            "model": rng.choice(["exp2syn", "AMPA", ""], n),
        }
        dyn = {"tau1": rng.random(n)}
        return [EdgePopulationData.single_group("a_to_b", "a", "b", src, trg, tid, attrs, dyn)]
    if kind == "multi":
        gid = rng.integers(0, 3, n)
        sizes = np.bincount(gid, minlength=3)
        gidx = np.empty(n, np.int64)
        for g in range(3):
            gidx[gid == g] = rng.permutation(sizes[g])
        groups = {
            0: GroupData({"syn_weight": rng.random(sizes[0]), "sec_id": np.arange(sizes[0])}),
            1: GroupData({"code": rng.integers(0, 2, sizes[1])}, library={"code": ["x", "y"]}),
            2: GroupData({}, {"tau": rng.random(sizes[2])}),
        }
        return [EdgePopulationData("m", "a", "a", src, trg, tid, groups, gid, gidx)]
    if kind == "regrouped":  # one group, rows permuted, group larger than the population
        gidx = rng.permutation(n + 5)[:n]
        groups = {2: GroupData({"syn_weight": rng.random(n + 5)})}
        gid = np.full(n, 2)
        return [EdgePopulationData("r", "a", "b", src, trg, tid, groups, gid, gidx)]
    if kind == "wide_ids":  # ids spread over 32,768 nodes
        return [
            EdgePopulationData.single_group(
                "w",
                "a",
                "b",
                src * 7919 % 2**15,
                trg * 104729 % 2**15,
                tid,
                {"syn_weight": rng.random(n)},
            )
        ]
    assert kind == "several"
    return [
        EdgePopulationData.single_group("p", "a", "b", src, trg, tid, {"w": rng.random(n)}),
        EdgePopulationData.single_group("q", "b", "a", trg, src, tid),
        EdgePopulationData.single_group("empty", "a", "a", [], [], []),
    ]


@pytest.mark.parametrize("chunk_rows", [7, 1 << 22])
@pytest.mark.parametrize("sort", [True, False])
@pytest.mark.parametrize("kind", ["sorted", "single", "multi", "regrouped", "wide_ids", "several"])
def test_files_equal_reference_writer_byte_for_byte(tmp_path, monkeypatch, kind, sort, chunk_rows):
    from bmtoolkit.sonata import _edges_write as edges_module  # the writer reads CHUNK_ROWS

    monkeypatch.setattr(edges_module, "CHUNK_ROWS", chunk_rows)
    for seed in range(3):
        pops = _case(kind, seed)
        n_nodes = max(int(p.source_node_id.max(initial=-1)) for p in pops) + 1
        n_nodes = max(n_nodes, *(int(p.target_node_id.max(initial=-1)) + 1 for p in pops))
        if kind == "wide_ids":
            n_nodes = 2**15
        ours, ref = tmp_path / f"ours{seed}.h5", tmp_path / f"ref{seed}.h5"
        write_edges(
            ours, pops, sort=sort, n_source_nodes=n_nodes, n_target_nodes=n_nodes, compression=None
        )
        _ref_write(ref, pops, sort, n_nodes, n_nodes)
        assert _h5_items(ours) == _h5_items(ref)
        assert ours.read_bytes() == ref.read_bytes()


def test_single_group_population_holds_no_group_arrays_and_no_id_copies():
    src, trg = np.arange(5, dtype=np.int64), np.array([4, 3, 2, 1, 0])
    data = EdgePopulationData.single_group(
        "x", "a", "a", src, trg, np.zeros(5, np.int64), {"w": np.ones(5)}
    )
    assert np.shares_memory(data.source_node_id, src)
    # the default group columns are built when asked for, never stored
    assert "_edge_group_id_given" in vars(data) and vars(data)["_edge_group_id_given"] is None
    assert data.edge_group_id.tolist() == [0] * 5
    assert data.edge_group_index.tolist() == [0, 1, 2, 3, 4]
    gid = np.array([1, 0, 1, 0, 1])
    two = EdgePopulationData(
        "y", "a", "a", src, trg, src, {0: GroupData({}), 1: GroupData({})}, gid
    )
    assert two.edge_group_index.tolist() == [0, 0, 1, 1, 2]
    one = EdgePopulationData("z", "a", "a", src, trg, src, {3: GroupData({})}, np.full(5, 3))
    assert one.edge_group_index.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"groups": {1: GroupData({"w": np.ones(5)})}}, "refers to group 0"),
        ({"groups": {0: GroupData({"w": np.ones(3)})}}, "outside group 0 of size 3"),
        ({"groups": {0: GroupData({})}, "edge_group_id": np.full(5, 2)}, "refers to group 2"),
        (
            {"groups": {0: GroupData({"w": np.ones(5)})}, "edge_group_index": [0, 1, 2, 3, 5]},
            "outside",
        ),
        ({"groups": {0: GroupData({})}, "edge_group_id": np.zeros(4, int)}, "length 4"),
        (  # several groups: each group's rows checked against its own size
            {
                "groups": {0: GroupData({"w": np.ones(3)}), 1: GroupData({"w": np.ones(2)})},
                "edge_group_id": [0, 1, 0, 1, 1],
                "edge_group_index": [0, 0, 1, 1, 2],
            },
            "outside group 1 of size 2",
        ),
        (
            {"groups": {0: GroupData({})}, "edge_group_id": [0, 0, 3, 0, 0]},
            "refers to group 3",
        ),
    ],
)
def test_group_columns_checked_without_full_arrays(kwargs, match):
    args = ("x", "a", "a", np.arange(5), np.arange(5), np.zeros(5, int))
    with pytest.raises(SonataFormatError, match=match):
        EdgePopulationData(*args, **kwargs)
