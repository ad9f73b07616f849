"""Node files: write profile, read-back, CSV merge, multiple groups, @library, dynamics."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from bmtoolkit.exceptions import NodeIdError, SonataFormatError
from bmtoolkit.sonata.groups import GroupData, UnknownPropertyError
from bmtoolkit.sonata.nodes import NodePopulationData, read_nodes, write_nodes
from bmtoolkit.sonata.types_table import write_types_csv


@pytest.fixture
def simple(tmp_path):
    nodes = tmp_path / "v1_nodes.h5"
    types = tmp_path / "v1_node_types.csv"
    pop = NodePopulationData.single_group(
        "v1",
        np.array([100, 101, 100, 102]),
        attributes={
            "x": np.array([0.0, 1.0, 2.0, 3.0], dtype=np.float32),
            "y": np.arange(4.0),
            "z": np.zeros(4),
            "ei": np.array(["e", "i", "e", "e"]),
        },
        dynamics_params={"tau_m": np.array([10.0, 12.0, 14.0, 16.0])},
    )
    write_nodes(nodes, [pop])
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": [100, 101, 102],
                "model_type": ["point_process", "point_process", "virtual"],
                "ei": ["i", "i", "i"],
                "dynamics_params": ["exc.json", "inh.json", None],
            }
        ),
        types,
    )
    return nodes, types


def test_write_profile_dtypes(simple):
    nodes, _ = simple
    with h5py.File(nodes) as h5:
        assert h5.attrs["magic"] == 0x0A7A
        assert h5.attrs["version"].tolist() == [0, 1]
        grp = h5["nodes/v1"]
        assert grp["node_id"].dtype == np.uint64 and grp["node_id"][()].tolist() == [0, 1, 2, 3]
        assert grp["node_type_id"].dtype == np.int64
        assert grp["node_group_id"].dtype == np.uint32
        assert grp["node_group_index"].dtype == np.uint64
        assert grp["0/x"].dtype == np.float32
        assert h5py.check_string_dtype(grp["0/ei"].dtype).encoding == "utf-8"
        assert grp["0/dynamics_params/tau_m"].shape == (4,)


def test_read_back_and_csv_merge(simple):
    nodes, types = simple
    pops = read_nodes(nodes, types)
    assert list(pops) == ["v1"]
    v1 = pops["v1"]
    assert v1.size == 4 and len(v1) == 4
    assert v1.h5_path == nodes and v1.types_path == types
    assert v1.ids().tolist() == [0, 1, 2, 3]
    assert v1.node_type_ids().dtype == np.int64
    assert v1.node_type_ids().tolist() == [100, 101, 100, 102]
    assert v1.column("x").dtype == np.float32
    # H5 overrides CSV: the CSV says every type is 'i'
    assert v1.column("ei").tolist() == ["e", "i", "e", "e"]
    assert v1.column("model_type", [3, 0]).tolist() == ["virtual", "point_process"]
    assert set(v1.property_names) >= {"x", "y", "z", "ei", "model_type", "dynamics_params"}
    assert "node_type_id" not in v1.property_names
    df = v1.get()
    assert df.index.name == "node_id"
    assert df.loc[1, "ei"] == "i" and df.loc[2, "model_type"] == "point_process"
    assert pd.isna(df.loc[3, "dynamics_params"])
    sub = v1.get(["x", "model_type"], ids=[2])
    assert list(sub.columns) == ["x", "model_type"] and sub.index.tolist() == [2]
    np.testing.assert_allclose(v1.positions()[:, 1], np.arange(4.0))
    assert v1.positions([1]).shape == (1, 3)
    dyn = v1.dynamics_params()
    assert dyn["tau_m"].tolist() == [10.0, 12.0, 14.0, 16.0]
    assert v1.types.index.name == "node_type_id"


def test_no_types_file_and_no_positions(tmp_path):
    path = tmp_path / "n.h5"
    write_nodes(path, [NodePopulationData.single_group("a", [0, 0])])
    pop = read_nodes(path)["a"]
    assert pop.positions() is None
    assert pop.property_names == []
    assert pop.dynamics_params().shape == (2, 0)
    with pytest.raises(UnknownPropertyError, match=r"n\.h5: /nodes/a/model_type"):
        pop.column("model_type")
    with pytest.raises(KeyError):
        pop.column("model_type")


def test_multiple_populations_and_groups_with_library(tmp_path):
    path = tmp_path / "nodes.h5"
    g0 = GroupData(
        {"x": np.array([1.0, 2.0]), "model": np.array([1, 0], dtype=np.uint8)},
        library={"model": ["lif", "glif"]},
    )
    g1 = GroupData(
        {"positions": np.arange(9.0).reshape(3, 3), "tag": np.array([5, 6, 7], np.int32)},
        dynamics_params={"gain": np.array([1.0, 2.0, 3.0])},
    )
    a = NodePopulationData(
        "a",
        np.array([1, 2, 1, 2, 1]),
        {0: g0, 1: g1},
        node_group_id=np.array([1, 0, 1, 0, 1]),
    )
    b = NodePopulationData.single_group("b", np.array([3]))
    write_nodes(path, [a, b])
    types = tmp_path / "types.csv"
    write_types_csv(pd.DataFrame({"node_type_id": [1, 2, 3], "x": [9.0, 8.0, 7.0]}), types)
    pops = read_nodes(path, types)
    assert sorted(pops) == ["a", "b"]
    pa = pops["a"]
    assert pa.groups[0].size == 2 and pa.groups[1].size == 3
    assert pa.groups[0].library == {"model": ["lif", "glif"]}
    # group 1 has no 'x': the CSV value of its type fills in
    assert pa.column("x").tolist() == [9.0, 1.0, 9.0, 2.0, 9.0]
    assert pa.column("model").tolist() == [None, "glif", None, "lif", None]
    tag = pa.column("tag")
    assert tag[0] == 5 and tag[2] == 6 and np.isnan(tag[1])
    pos = pa.positions()
    np.testing.assert_array_equal(pos[[0, 2, 4]], np.arange(9.0).reshape(3, 3))
    assert np.isnan(pos[1]).all()  # group 0 has no y/z and no positions
    dyn = pa.dynamics_params()
    assert dyn["gain"].tolist()[0] == 1.0 and np.isnan(dyn["gain"].iloc[1])
    assert pops["b"].size == 1


def test_data_validation():
    with pytest.raises(SonataFormatError, match="node_type_id"):
        NodePopulationData.single_group("a", np.array([0.5]))
    with pytest.raises(SonataFormatError, match="differ in length"):
        GroupData({"x": np.zeros(2), "y": np.zeros(3)})
    with pytest.raises(SonataFormatError, match="group 1"):
        NodePopulationData("a", np.zeros(2, int), {0: GroupData({})}, node_group_id=[0, 1])
    with pytest.raises(SonataFormatError, match="node_group_index"):
        NodePopulationData("a", np.zeros(2, int), {0: GroupData({"x": np.zeros(1)})})
    with pytest.raises(SonataFormatError, match="library"):
        GroupData({"m": np.array([0, 3])}, library={"m": ["a"]})


def test_ids_out_of_range(simple):
    nodes, types = simple
    v1 = read_nodes(nodes, types)["v1"]
    with pytest.raises(NodeIdError, match=r"v1_nodes\.h5: /nodes/v1"):
        v1.column("x", [4])
    with pytest.raises(IndexError):
        v1.get(ids=[-1])


def test_duplicate_population_names(tmp_path):
    pop = NodePopulationData.single_group("a", [0])
    with pytest.raises(SonataFormatError, match="duplicate"):
        write_nodes(tmp_path / "n.h5", [pop, pop])
    assert not (tmp_path / "n.h5").exists()


def test_types_table_shared_by_populations(tmp_path):
    """A ``population`` column selects each population's rows of a shared table."""
    path = tmp_path / "nodes.h5"
    write_nodes(
        path,
        [
            NodePopulationData.single_group("a", [1, 1]),
            NodePopulationData.single_group("b", [1, 2]),
        ],
    )
    types = tmp_path / "types.csv"
    write_types_csv(
        pd.DataFrame(
            {
                "node_type_id": [1, 1, 2],
                "population": ["a", "b", "a"],
                "model_type": ["bio", "virtual", "point"],
            }
        ),
        types,
    )
    pops = read_nodes(path, types)
    assert pops["a"].column("model_type").tolist() == ["bio", "bio"]
    with pytest.raises(SonataFormatError, match=r"\[2\]") as err:
        pops["b"].column("model_type")  # type 2 belongs to population a only
    assert str(types) in str(err.value)
    assert pops["b"].column("model_type", [0]).tolist() == ["virtual"]
    write_types_csv(
        pd.DataFrame({"node_type_id": [1, 1], "population": ["a", "a"], "x": [1, 2]}), types
    )
    with pytest.raises(SonataFormatError, match="duplicate"):
        read_nodes(path, types)


def test_shared_types_table_without_rows_for_the_population(tmp_path):
    path = tmp_path / "nodes.h5"
    write_nodes(path, [NodePopulationData.single_group("c", [1])])
    types = tmp_path / "types.csv"
    write_types_csv(pd.DataFrame({"node_type_id": [1, 1], "population": ["a", "b"]}), types)
    with pytest.raises(SonataFormatError, match="'c'") as err:
        read_nodes(path, types)
    assert str(types) in str(err.value) and "node_type_id" in str(err.value)


def test_reads_bbp_layout(tmp_path):
    """No node_id/group datasets, node_type_id -1, @library enums, fixed-length strings."""
    path = tmp_path / "bbp_nodes.h5"
    with h5py.File(path, "w") as h5:  # no magic/version root attributes
        grp = h5.create_group("nodes/All")
        grp["node_type_id"] = np.full(3, -1, dtype=np.int64)
        g0 = grp.create_group("0")
        g0["x"] = np.array([1, 2, 3], dtype=np.float32)
        g0["mtype"] = np.array([1, 0, 1], dtype=np.uint32)
        g0["@library/mtype"] = np.array(["L1_DAC", "L5_TPC"], dtype=h5py.string_dtype())
        g0["etype"] = np.array([b"cADpyr", b"bNAC", b"cADpyr"], dtype="S6")
        g0["dynamics_params/holding_current"] = np.array([0.1, 0.2, 0.3])
    pop = read_nodes(path)["All"]
    assert pop.size == 3
    assert pop.node_type_ids().tolist() == [-1, -1, -1]
    assert pop.column("mtype").tolist() == ["L5_TPC", "L1_DAC", "L5_TPC"]
    assert pop.column("etype").tolist() == ["cADpyr", "bNAC", "cADpyr"]
    assert pop.column("x").dtype == np.float32
    assert pop.group_rows()[1].tolist() == [0, 1, 2]
    assert pop.dynamics_params([2])["holding_current"].tolist() == [0.3]
    assert pop.get(["mtype"], ids=[1])["mtype"].tolist() == ["L1_DAC"]


def test_booleans_are_int8_on_disk_and_bool_on_read(tmp_path):
    path = tmp_path / "n.h5"
    flags = np.array([True, False, True])
    write_nodes(path, [NodePopulationData.single_group("a", [0, 0, 0], {"flag": flags})])
    with h5py.File(path) as h5:
        assert h5["nodes/a/0/flag"].dtype == np.int8  # the SONATA bool type (I8, 0/1)
    got = read_nodes(path)["a"].column("flag")
    assert got.dtype == np.bool_ and got.tolist() == flags.tolist()


def test_rotation_angles_and_orientations(tmp_path):
    path = tmp_path / "n.h5"
    write_nodes(
        path,
        [
            NodePopulationData.single_group(
                "a",
                [1, 2],
                {
                    "rotation_angle_yaxis": np.array([0.5, -1.0]),
                    "orientation_w": np.array([2.0, 1.0]),
                    "orientation_x": np.zeros(2),
                    "orientation_y": np.zeros(2),
                    "orientation_z": np.zeros(2),
                },
            ),
            NodePopulationData.single_group("b", [1]),
        ],
    )
    types = tmp_path / "t.csv"
    write_types_csv(
        pd.DataFrame({"node_type_id": [1, 2], "rotation_angle_zaxis": [0.1, None]}), types
    )
    pops = read_nodes(path, types)
    angles = pops["a"].rotation_angles()
    np.testing.assert_allclose(angles, [[0.0, 0.5, 0.1], [0.0, -1.0, 0.0]])
    np.testing.assert_allclose(pops["a"].orientations([0]), [[1.0, 0.0, 0.0, 0.0]])
    assert pops["b"].rotation_angles().tolist() == [[0.0, 0.0, 0.1]]
    assert pops["b"].orientations() is None
    assert read_nodes(path)["b"].rotation_angles() is None
