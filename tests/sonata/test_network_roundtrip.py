"""Property tests: read(write(x)) == x for node and edge populations, dtypes included."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmtoolkit.sonata.edges import EdgePopulationData, read_edges, write_edges
from bmtoolkit.sonata.groups import GroupData
from bmtoolkit.sonata.nodes import NodePopulationData, read_nodes, write_nodes

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NUMERIC = [
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.float32,
    np.float64,
    np.bool_,
]
NAMES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda s: s not in {"dynamics_params"}
)
TEXT = st.text(
    st.characters(min_codepoint=32, max_codepoint=0x2FFF, blacklist_categories=("Cs",)),
    max_size=6,
)


@st.composite
def columns(draw, m: int):
    """A column of m rows with a random dtype (numeric, bool, str; 1-D or 2-D)."""
    kind = draw(st.sampled_from([*NUMERIC, str]))
    if kind is str:
        return np.array(draw(st.lists(TEXT, min_size=m, max_size=m)), dtype=object)
    dtype = np.dtype(kind)
    shape = (m,) if draw(st.booleans()) else (m, draw(st.integers(1, 3)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    if dtype.kind == "f":
        return rng.normal(size=shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)


@st.composite
def groups(draw, m: int):
    names = draw(st.lists(NAMES, unique=True, max_size=4))
    attrs = {name: draw(columns(m)) for name in names}
    library = {}
    if draw(st.booleans()):
        labels = draw(st.lists(TEXT, min_size=1, max_size=4))
        codes = np.asarray(draw(st.lists(st.integers(0, len(labels) - 1), min_size=m, max_size=m)))
        attrs["lib_attr"] = codes.astype(draw(st.sampled_from([np.uint8, np.int32, np.int64])))
        library["lib_attr"] = labels
    dyn_names = draw(st.lists(NAMES, unique=True, max_size=2))
    dyn = {name: draw(columns(m)) for name in dyn_names}
    if not attrs and not dyn:
        attrs["w"] = np.arange(m, dtype=np.float64)
    return GroupData(attrs, dyn, library)


@st.composite
def membership(draw, n: int, n_groups: int):
    """Group id of each row and shuffled rows inside the groups."""
    gid = np.asarray(draw(st.lists(st.integers(0, n_groups - 1), min_size=n, max_size=n)), int)
    gidx = np.zeros(n, dtype=np.int64)
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    sizes = {}
    for g in range(n_groups):
        mask = gid == g
        sizes[g] = int(mask.sum())
        gidx[mask] = rng.permutation(sizes[g])
    return gid, gidx, sizes


@st.composite
def node_populations(draw, name: str):
    n = draw(st.integers(0, 25))
    n_groups = draw(st.integers(1, 3))
    gid, gidx, sizes = draw(membership(n, n_groups))
    grps = {g: draw(groups(sizes[g])) for g in range(n_groups)}
    tids = np.asarray(draw(st.lists(st.integers(-5, 2**40), min_size=n, max_size=n)), np.int64)
    return NodePopulationData(name, tids, grps, node_group_id=gid, node_group_index=gidx)


def _decoded(group: GroupData, name: str) -> np.ndarray:
    values = group.attributes[name]
    if name in group.library:
        return np.asarray(list(group.library[name]), dtype=object)[values]
    return values


def _assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape
    if expected.dtype.kind == "O":
        assert actual.tolist() == expected.tolist()
    else:
        np.testing.assert_array_equal(actual, expected)


def _check_groups(pop, data_groups, gid, gidx, rows_of_group=None) -> None:
    """Per group: raw datasets equal, and column() returns them for the group's rows."""
    got_gid, got_gidx = pop.group_rows()
    for g, group in data_groups.items():
        h5grp = pop.groups[g]
        expected_rows = gidx[gid == g] if rows_of_group is None else rows_of_group[g]
        assert set(h5grp.attribute_names) == set(group.attributes)
        assert set(h5grp.dynamics_param_names) == set(group.dynamics_params)
        assert h5grp.library == {k: list(v) for k, v in group.library.items()}
        mask = got_gid == g
        for name in group.attributes:
            expected = _decoded(group, name)
            _assert_same(h5grp.read(name)[got_gidx[mask]], expected[expected_rows])
            if len(data_groups) == 1:
                _assert_same(pop.column(name), expected[expected_rows])
        for name, values in group.dynamics_params.items():
            _assert_same(h5grp.read(name, dynamics=True)[got_gidx[mask]], values[expected_rows])


@SETTINGS
@given(st.data())
def test_nodes_roundtrip(data) -> None:
    n_pops = data.draw(st.integers(1, 2))
    pops = [data.draw(node_populations(f"pop{k}")) for k in range(n_pops)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "nodes.h5"
        write_nodes(path, pops)
        back = read_nodes(path)
        assert sorted(back) == sorted(p.name for p in pops)
        for pop in pops:
            got = back[pop.name]
            assert got.size == pop.size
            _assert_same(got.node_type_ids(), pop.node_type_id)
            gid, gidx = got.group_rows()
            np.testing.assert_array_equal(gid, pop.node_group_id)
            np.testing.assert_array_equal(gidx, pop.node_group_index)
            _check_groups(got, pop.groups, pop.node_group_id, pop.node_group_index)


@st.composite
def edge_populations(draw, multi_group: bool):
    e = draw(st.integers(0, 40))
    n_groups = draw(st.integers(2, 3)) if multi_group else 1
    gid, gidx, sizes = draw(membership(e, n_groups))
    grps = {g: draw(groups(sizes[g])) for g in range(n_groups)}
    n_src, n_trg = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    src = np.asarray(draw(st.lists(st.integers(0, n_src - 1), min_size=e, max_size=e)), int)
    trg = np.asarray(draw(st.lists(st.integers(0, n_trg - 1), min_size=e, max_size=e)), int)
    tids = np.asarray(draw(st.lists(st.integers(0, 2**40), min_size=e, max_size=e)), np.int64)
    pop = EdgePopulationData("a_to_b", "a", "b", src, trg, tids, grps, gid, gidx)
    return pop, n_src, n_trg


@SETTINGS
@given(st.data(), st.booleans(), st.booleans())
def test_edges_roundtrip(data, multi_group: bool, sort: bool) -> None:
    pop, n_src, n_trg = data.draw(edge_populations(multi_group))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "edges.h5"
        write_edges(path, [pop], sort=sort, n_source_nodes=n_src, n_target_nodes=n_trg)
        got = read_edges(path)["a_to_b"]
        assert got.size == pop.size
        assert (got.source_population, got.target_population) == ("a", "b")
        order = (
            np.lexsort((pop.source_node_id, pop.target_node_id)) if sort else np.arange(pop.size)
        )
        _assert_same(got.source_node_ids(), pop.source_node_id[order])
        _assert_same(got.target_node_ids(), pop.target_node_id[order])
        _assert_same(got.edge_type_ids(), pop.edge_type_id[order])
        gid = pop.edge_group_id[order]
        gidx = pop.edge_group_index[order]
        got_gid, _ = got.group_rows()
        np.testing.assert_array_equal(got_gid, gid)
        # edge k of the file carries the attributes of original edge order[k]
        rows_of_group = {g: gidx[gid == g] for g in pop.groups}
        _check_groups(got, pop.groups, gid, gidx, rows_of_group)
        for node in range(n_trg):
            expected = np.flatnonzero(pop.target_node_id[order] == node)
            np.testing.assert_array_equal(got.afferent_edges(node), expected)
        for node in range(n_src):
            expected = np.flatnonzero(pop.source_node_id[order] == node)
            np.testing.assert_array_equal(got.efferent_edges([node]), expected)
