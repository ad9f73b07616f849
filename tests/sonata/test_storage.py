"""Chunking and compression of node and edge files: every choice reads back exactly."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.sonata.edges import EdgePopulationData, read_edges, write_edges
from bmtoolkit.sonata.nodes import NodePopulationData, read_nodes, write_nodes
from bmtoolkit.sonata.storage import Storage
from tests.conftest import require_module

CHOICES = [None, "none", "scaleoffset", "gzip", 1, 9]


def _edges(n=20_000, n_nodes=3_000, seed=0):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, n_nodes, n)
    trg = rng.integers(0, n_nodes, n)
    tid = rng.choice([-1, 100, 2**40], n)
    attrs = {
        "nsyns": rng.integers(1, 5, n).astype(np.uint32),
        "syn_weight": rng.normal(size=n),
        "big": rng.integers(-(2**62), 2**62, n),
        "flag": rng.random(n) < 0.5,
        "model": rng.choice(["AMPA", "GABA"], n),
    }
    return EdgePopulationData.single_group("a_to_b", "a", "b", src, trg, tid, attrs)


@pytest.mark.parametrize("compression", CHOICES)
def test_edges_read_back_exactly_with_every_compression(tmp_path, compression):
    data = _edges()
    plain, packed = tmp_path / "plain.h5", tmp_path / "packed.h5"
    write_edges(plain, [data], n_source_nodes=3000, n_target_nodes=3000, compression=None)
    write_edges(packed, [data], n_source_nodes=3000, n_target_nodes=3000, compression=compression)
    with h5py.File(plain) as a, h5py.File(packed) as b:
        names = []
        a.visititems(
            lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None
        )
        for name in names:
            x, y = a[name][()], b[name][()]
            assert x.dtype == y.dtype and np.array_equal(x, y), name
    pa, pb = read_edges(plain)["a_to_b"], read_edges(packed)["a_to_b"]
    assert np.array_equal(pa.afferent_edges([5, 17]), pb.afferent_edges([5, 17]))
    assert pa.get().equals(pb.get())


def test_default_packs_integers_and_keeps_floats_and_small_datasets_contiguous(tmp_path):
    path = tmp_path / "e.h5"
    write_edges(path, [_edges()], n_source_nodes=3000, n_target_nodes=3000)
    with h5py.File(path) as h5:
        g = h5["edges/a_to_b"]
        for name in ("source_node_id", "target_node_id", "edge_type_id", "0/nsyns", "0/big"):
            assert g[name].scaleoffset == 0 and g[name].chunks is not None, name
            assert g[name].compression is None, name
        assert g["0/syn_weight"].chunks is None  # scale-offset is lossy for floats
        assert g["indices/source_to_target/range_to_edge_id"].scaleoffset == 0
    small = tmp_path / "small.h5"
    write_edges(small, [_edges(n=100)], n_source_nodes=3000, n_target_nodes=3000)
    with h5py.File(small) as h5:
        assert h5["edges/a_to_b/source_node_id"].chunks is None


def test_gzip_is_gzip_with_shuffle_on_every_large_numeric_dataset(tmp_path):
    path = tmp_path / "e.h5"
    write_edges(path, [_edges()], n_source_nodes=3000, n_target_nodes=3000, compression="gzip")
    with h5py.File(path) as h5:
        for name in ("edges/a_to_b/source_node_id", "edges/a_to_b/0/syn_weight"):
            ds = h5[name]
            assert ds.compression == "gzip" and ds.compression_opts == 4 and ds.shuffle


def test_packed_files_are_smaller(tmp_path):
    base = _edges()
    data = EdgePopulationData.single_group(
        "a_to_b",
        "a",
        "b",
        base.source_node_id,
        np.sort(base.target_node_id),
        np.full(len(base.source_node_id), 100),
    )
    sizes = {}
    for choice in (None, "scaleoffset", "gzip"):
        path = tmp_path / f"{choice}.h5"
        write_edges(path, [data], n_source_nodes=3000, n_target_nodes=3000, compression=choice)
        sizes[choice] = path.stat().st_size
    assert sizes["scaleoffset"] < 0.35 * sizes[None]
    assert sizes["gzip"] < 0.35 * sizes[None]


@pytest.mark.parametrize("compression", CHOICES)
def test_nodes_read_back_exactly_with_every_compression(tmp_path, compression):
    rng = np.random.default_rng(1)
    n = 5000
    attrs = {"x": rng.normal(size=n), "layer": rng.integers(1, 7, n), "name": np.array(["a"] * n)}
    data = NodePopulationData.single_group("v1", rng.integers(0, 3, n), attrs)
    path = tmp_path / "n.h5"
    write_nodes(path, [data], compression=compression)
    pop = read_nodes(path)["v1"]
    assert np.array_equal(pop.node_type_ids(), data.node_type_id)
    for key, values in attrs.items():
        assert np.array_equal(pop.column(key), values), key


@pytest.mark.parametrize("bad", ["lzf", "szip", 10, -1, 2.5, True, "GZIP-9"])
def test_unknown_compression_is_one_clear_error(tmp_path, bad):
    with pytest.raises(ConfigError, match="^compression: unknown compression") as err:
        write_edges(tmp_path / "e.h5", [_edges(n=10)], compression=bad)
    assert "'scaleoffset', 'gzip'" in str(err.value)
    assert not (tmp_path / "e.h5").exists()


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["int8", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]).flatmap(
        lambda dtype: hnp.arrays(dtype, st.integers(1024, 5000))
    )
)
def test_scale_offset_packing_is_lossless(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("so") / "x.h5"
    with h5py.File(path, "w") as h5:
        opts = Storage.parse("scaleoffset").dataset_options(len(values), (), values.dtype)
        assert opts["scaleoffset"] == 0
        h5.create_dataset("x", data=values, **opts)
    with h5py.File(path) as h5:
        back = h5["x"][()]
    assert back.dtype == values.dtype and np.array_equal(back, values)


def test_libsonata_reads_default_files_but_not_gzip_without_zlib(tmp_path):
    libsonata = require_module("libsonata")
    data = _edges()
    for choice in ("scaleoffset", "gzip"):
        path = tmp_path / f"{choice}.h5"
        write_edges(path, [data], n_source_nodes=3000, n_target_nodes=3000, compression=choice)
        pop = libsonata.EdgeStorage(str(path)).open_population("a_to_b")
        try:
            got = np.sort(pop.afferent_edges([5]).flatten())
        except RuntimeError as err:  # an HDF5 build without zlib (libsonata's wheel)
            assert choice == "gzip" and "Plugin" in str(err)
            continue
        ours = read_edges(path)["a_to_b"]
        assert np.array_equal(got, np.sort(ours.afferent_edges([5])))
        sel = libsonata.Selection([[0, 50]])
        assert np.array_equal(pop.source_nodes(sel), ours.source_node_ids()[:50])
        assert np.array_equal(pop.get_attribute("nsyns", sel), ours.column("nsyns")[:50])
