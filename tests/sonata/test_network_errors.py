"""Bad network files give bmtoolkit errors naming the file and the field; writes are atomic."""

from __future__ import annotations

import re

import h5py
import numpy as np
import pandas as pd
import pytest

from bmtoolkit.exceptions import MissingFileError, NodeIdError, SonataFormatError
from bmtoolkit.sonata.edges import EdgePopulationData, read_edges, write_edges
from bmtoolkit.sonata.groups import GroupData, UnknownPropertyError
from bmtoolkit.sonata.nodes import NodePopulationData, read_nodes, write_nodes
from bmtoolkit.sonata.types_table import write_types_csv


def _names(err: pytest.ExceptionInfo, path, field: str) -> None:
    text = str(err.value)
    assert str(path) in text, text
    assert field in text, text


def _nodes_file(path, **datasets):
    with h5py.File(path, "w") as h5:
        grp = h5.create_group("nodes/p")
        for key, value in datasets.items():
            grp[key.replace("__", "/")] = value
    return path


def _edges_file(path, **datasets):
    with h5py.File(path, "w") as h5:
        grp = h5.create_group("edges/e")
        for key, value in datasets.items():
            grp[key.replace("__", "/")] = value
    return path


def _good_nodes(path):
    pop = NodePopulationData.single_group("p", np.arange(1000), {"x": np.arange(1000.0)})
    write_nodes(path, [pop])
    return path


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError) as err:
        read_nodes(tmp_path / "none.h5")
    _names(err, tmp_path / "none.h5", "")
    with pytest.raises(FileNotFoundError):
        read_edges(tmp_path / "none.h5")


def test_non_hdf5_file(tmp_path):
    path = tmp_path / "nodes.h5"
    path.write_text("node_type_id\n1\n")
    with pytest.raises(SonataFormatError, match="not a readable HDF5 file") as err:
        read_nodes(path)
    _names(err, path, "")
    with pytest.raises(SonataFormatError):
        read_edges(path)


def test_truncated_file(tmp_path):
    path = _good_nodes(tmp_path / "nodes.h5")
    raw = path.read_bytes()
    for cut in (len(raw) // 2, 800):
        path.write_bytes(raw[:cut])
        with pytest.raises(SonataFormatError) as err:
            pop = read_nodes(path)["p"]
            pop.column("x")  # the header may survive; reading the data must fail cleanly
        _names(err, path, "")


def test_not_a_nodes_or_edges_file(tmp_path):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as h5:
        h5["a"] = [1]
    with pytest.raises(SonataFormatError) as err:
        read_nodes(path)
    _names(err, path, "/nodes")
    with pytest.raises(SonataFormatError) as err:
        read_edges(path)
    _names(err, path, "/edges")


def test_missing_datasets(tmp_path):
    path = _nodes_file(tmp_path / "n.h5", node_group_id=np.zeros(2, np.uint32))
    with pytest.raises(SonataFormatError, match="missing") as err:
        read_nodes(path)
    _names(err, path, "/nodes/p/node_type_id")
    path = _edges_file(tmp_path / "e.h5", source_node_id=np.zeros(2, np.uint64))
    with pytest.raises(SonataFormatError, match="missing") as err:
        read_edges(path)
    _names(err, path, "/edges/e/target_node_id")


def test_wrong_dtypes(tmp_path):
    path = _nodes_file(tmp_path / "n.h5", node_type_id=np.array([1.0, 2.0]))
    with pytest.raises(SonataFormatError, match="integer") as err:
        read_nodes(path)
    _names(err, path, "/nodes/p/node_type_id")
    path = _edges_file(
        tmp_path / "e.h5",
        source_node_id=np.array([0.5]),
        target_node_id=np.array([0], np.uint64),
    )
    with pytest.raises(SonataFormatError, match="integer") as err:
        read_edges(path)
    _names(err, path, "/edges/e/source_node_id")
    path = _nodes_file(
        tmp_path / "g.h5",
        node_type_id=np.array([1, 2]),
        node_group_index=np.array([0.0, 0.5]),
        **{"0__x": np.zeros(2)},
    )
    pop = read_nodes(path)["p"]
    with pytest.raises(SonataFormatError, match="integer") as err:
        pop.column("x")
    _names(err, path, "/nodes/p/node_group_index")


def test_inconsistent_lengths_and_groups(tmp_path):
    path = _nodes_file(
        tmp_path / "n.h5",
        node_type_id=np.array([1, 2, 3]),
        node_group_id=np.array([0, 0], np.uint32),
        **{"0__x": np.zeros(3)},
    )
    with pytest.raises(SonataFormatError, match="length") as err:
        read_nodes(path)["p"].column("x")
    _names(err, path, "/nodes/p/node_group_id")
    path = _nodes_file(
        tmp_path / "g.h5",
        node_type_id=np.array([1, 2]),
        node_group_id=np.array([0, 1], np.uint32),
        **{"0__x": np.zeros(2)},
    )
    with pytest.raises(SonataFormatError, match="group 1") as err:
        read_nodes(path)["p"].column("x")
    _names(err, path, "/nodes/p/node_group_id")
    path = _nodes_file(
        tmp_path / "i.h5",
        node_type_id=np.array([1, 2]),
        node_group_index=np.array([0, 5], np.uint64),
        **{"0__x": np.zeros(2)},
    )
    with pytest.raises(SonataFormatError, match="out of range") as err:
        read_nodes(path)["p"].column("x")
    _names(err, path, "/nodes/p/node_group_index")
    path = _nodes_file(
        tmp_path / "r.h5",
        node_type_id=np.array([1, 2]),
        **{"0__x": np.zeros(2), "0__y": np.zeros(3)},
    )
    with pytest.raises(SonataFormatError, match="equal lengths") as err:
        read_nodes(path)
    _names(err, path, "/nodes/p/0")


def test_bad_library_codes(tmp_path):
    path = _nodes_file(
        tmp_path / "n.h5",
        node_type_id=np.array([1, 2]),
        **{"0__m": np.array([0, 4]), "0__@library__m": np.array([b"a", b"b"])},
    )
    pop = read_nodes(path)["p"]
    with pytest.raises(SonataFormatError, match="@library") as err:
        pop.column("m")
    _names(err, path, "/nodes/p/0/m")


def test_ids_out_of_range(tmp_path):
    path = _good_nodes(tmp_path / "n.h5")
    pop = read_nodes(path)["p"]
    with pytest.raises(NodeIdError, match=re.escape("[1000]")) as err:
        pop.column("x", [3, 1000])
    _names(err, path, "/nodes/p")
    with pytest.raises(NodeIdError):
        pop.node_type_ids([-1])
    with pytest.raises(NodeIdError, match="integers"):
        pop.get(ids=[0.5])
    edges = tmp_path / "e.h5"
    write_edges(edges, [EdgePopulationData.single_group("e", "p", "p", [0], [1], [0])])
    epop = read_edges(edges)["e"]
    with pytest.raises(NodeIdError) as err:
        epop.source_node_ids([1])
    _names(err, edges, "/edges/e/edge_id")
    with pytest.raises(NodeIdError):
        epop.afferent_edges([-2])


def test_unknown_property(tmp_path):
    path = _good_nodes(tmp_path / "n.h5")
    pop = read_nodes(path)["p"]
    with pytest.raises(UnknownPropertyError, match="known: \\['x'\\]") as err:
        pop.column("nope")
    _names(err, path, "/nodes/p/nope")
    assert isinstance(err.value, SonataFormatError) and isinstance(err.value, KeyError)
    with pytest.raises(KeyError):
        pop.get(["x", "nope"])


def test_type_id_missing_from_csv(tmp_path):
    path = _good_nodes(tmp_path / "n.h5")
    csv = tmp_path / "types.csv"
    write_types_csv(pd.DataFrame({"node_type_id": [0, 1], "model_type": ["a", "b"]}), csv)
    pop = read_nodes(path, csv)["p"]
    with pytest.raises(SonataFormatError, match=r"\[2, 3, 4, 5, 6\]") as err:
        pop.column("model_type")
    _names(err, csv, "node_type_id")
    assert str(path) in str(err.value)


def test_bad_stored_index(tmp_path):
    path = _edges_file(
        tmp_path / "e.h5",
        source_node_id=np.array([0], np.uint64),
        target_node_id=np.array([0], np.uint64),
        indices__target_to_source__node_id_to_range=np.zeros(3, np.uint64),
        indices__target_to_source__range_to_edge_id=np.zeros((1, 2), np.uint64),
    )
    pop = read_edges(path)["e"]
    with pytest.raises(SonataFormatError, match=r"\(k, 2\)") as err:
        pop.afferent_edges(0)
    _names(err, path, "/edges/e/indices/target_to_source/node_id_to_range")


def test_failed_node_write_leaves_no_file_and_keeps_old(tmp_path):
    path = tmp_path / "nodes.h5"
    bad = NodePopulationData.single_group("q", [0], {"name": np.array(["\ud800"], dtype=object)})
    good = NodePopulationData.single_group("p", [0, 1])
    with pytest.raises(UnicodeEncodeError):
        write_nodes(path, [good, bad])
    assert list(tmp_path.iterdir()) == []
    write_nodes(path, [good])
    before = path.read_bytes()
    with pytest.raises(UnicodeEncodeError):
        write_nodes(path, [good, bad])
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]
    assert read_nodes(path)["p"].size == 2


def test_failed_edge_write_leaves_no_file_and_keeps_old(tmp_path):
    path = tmp_path / "edges.h5"
    first = EdgePopulationData.single_group("a", "x", "x", [0, 1], [1, 0], [0, 0])
    second = EdgePopulationData.single_group("b", "x", "y", [0, 9], [1, 0], [0, 0])
    with pytest.raises(NodeIdError) as err:
        write_edges(path, [first, second], n_source_nodes={"x": 5})
    _names(err, path, "/edges/b/source_node_id")
    assert list(tmp_path.iterdir()) == []
    write_edges(path, [first])
    before = path.read_bytes()
    with pytest.raises(NodeIdError):
        write_edges(path, [first, second], n_source_nodes=5)
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_invalid_data_objects():
    with pytest.raises(SonataFormatError, match="population name"):
        NodePopulationData.single_group("a/b", [0])
    with pytest.raises(SonataFormatError, match="GroupData"):
        NodePopulationData("a", np.zeros(1, int), {0: {"x": np.zeros(1)}})
    with pytest.raises(SonataFormatError, match="strings"):
        GroupData({"x": np.array([object()], dtype=object)})
    with pytest.raises(SonataFormatError, match="dtype"):
        GroupData({"x": np.array(["2020-01-01"], dtype="datetime64[D]")})
    with pytest.raises(NodeIdError):
        EdgePopulationData.single_group("e", "a", "b", [-1], [0], [0])
