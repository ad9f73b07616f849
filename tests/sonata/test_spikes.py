"""Spike files: round trips, every layout read, sort orders and bad input."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmtoolkit.exceptions import ConfigError, MissingFileError, SonataFormatError
from bmtoolkit.sonata import read_spikes, write_spikes
from bmtoolkit.sonata.spikes import SORTING_ENUM, normalize_sort_order

pop_names = st.sampled_from(["v1", "lgn", "l4", "tw"])
spike_lists = st.lists(
    st.tuples(
        pop_names,
        st.integers(0, 2**40),
        st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
    ),
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(spikes=spike_lists, order=st.sampled_from(["by_time", "by_id", "none"]))
def test_h5_round_trip_keeps_every_spike_and_dtype(tmp_path_factory, spikes, order):
    path = tmp_path_factory.mktemp("s") / "spikes.h5"
    df = pd.DataFrame(spikes, columns=["population", "node_id", "timestamp"])
    write_spikes(path, df, sort_order=order)
    got = read_spikes(path)
    assert got["node_id"].dtype == np.int64 and got["timestamp"].dtype == np.float64
    key = ["population", "node_id", "timestamp"]
    a = got.sort_values(key).reset_index(drop=True)
    b = df.astype({"node_id": np.int64}).sort_values(key).reset_index(drop=True)
    assert a["population"].tolist() == b["population"].tolist()
    np.testing.assert_array_equal(a["node_id"], b["node_id"])
    np.testing.assert_array_equal(a["timestamp"], b["timestamp"])
    for pop, grp in got.groupby("population"):
        if order == "by_time":
            assert np.all(np.diff(grp["timestamp"].to_numpy()) >= 0), pop
        if order == "by_id":
            assert np.all(np.diff(grp["node_id"].to_numpy()) >= 0), pop


@settings(max_examples=25, deadline=None)
@given(spikes=spike_lists)
def test_csv_round_trip(tmp_path_factory, spikes):
    path = tmp_path_factory.mktemp("s") / "spikes.csv"
    df = pd.DataFrame(spikes, columns=["population", "node_id", "timestamp"])
    write_spikes(path, df)
    got = read_spikes(path)
    key = ["population", "node_id", "timestamp"]
    a = got.sort_values(key).reset_index(drop=True)
    b = df.sort_values(key).reset_index(drop=True)
    assert a["population"].tolist() == b["population"].tolist()
    np.testing.assert_array_equal(a["node_id"], b["node_id"])
    np.testing.assert_array_equal(a["timestamp"], b["timestamp"])  # repr keeps every bit


def test_written_layout_is_the_portable_profile(tmp_path):
    path = tmp_path / "spikes.h5"
    write_spikes(path, {"v1": (np.array([3, 1]), np.array([2.0, 1.0]))}, populations=["lgn"])
    with h5py.File(path, "r") as h5:
        assert h5.attrs["magic"] == 0x0A7A
        assert list(h5.attrs["version"]) == [0, 1]
        grp = h5["spikes/v1"]
        assert h5py.check_enum_dtype(grp.attrs.get_id("sorting").dtype) == SORTING_ENUM
        assert grp.attrs["sorting"] == SORTING_ENUM["by_time"]
        assert grp["node_ids"].dtype == np.uint64
        assert grp["timestamps"].dtype == np.float64
        assert grp["timestamps"].attrs["units"] == "ms"
        assert grp["node_ids"][()].tolist() == [1, 3]
        assert h5["spikes/lgn/node_ids"].shape == (0,)


def test_legacy_layout_takes_the_named_population(tmp_path):
    path = tmp_path / "legacy.h5"
    with h5py.File(path, "w") as h5:
        grp = h5.create_group("spikes")
        grp.attrs["sorting"] = "by_gid"
        grp.create_dataset("gids", data=np.array([0, 0, 2], np.uint64))
        grp.create_dataset("timestamps", data=np.array([1.0, 5.0, 2.0]))
    df = read_spikes(path, default_population="lgn")
    assert df["population"].unique().tolist() == ["lgn"]
    assert df["node_id"].tolist() == [0, 0, 2]
    assert read_spikes(path, population="other", default_population="lgn").empty


def test_bmtk_csv_dialect_is_read(tmp_path):
    path = tmp_path / "spikes.csv"
    path.write_bytes(b"timestamps population node_ids\r\n1.5  lgn 3\r\n0.25 lgn   1\r\n")
    df = read_spikes(path)
    assert df["node_id"].tolist() == [3, 1]
    assert df["timestamp"].tolist() == [1.5, 0.25]


def test_sort_order_aliases():
    assert normalize_sort_order("time") == "by_time"
    assert normalize_sort_order("by_gid") == "by_id"
    with pytest.raises(ConfigError, match="by_time, by_id, none"):
        normalize_sort_order("sideways")


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="nope.h5"):
        read_spikes(tmp_path / "nope.h5")


def test_not_hdf5(tmp_path):
    path = tmp_path / "spikes.h5"
    path.write_text("hello")
    with pytest.raises(SonataFormatError, match="spikes.h5.*not a readable HDF5"):
        read_spikes(path)


def test_truncated_file(tmp_path):
    path = tmp_path / "spikes.h5"
    write_spikes(path, {"v1": (np.arange(1000), np.linspace(0, 1, 1000))})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(SonataFormatError, match="spikes.h5"):
        read_spikes(path)


def test_missing_dataset_names_the_hdf5_path(tmp_path):
    path = tmp_path / "spikes.h5"
    with h5py.File(path, "w") as h5:
        h5.create_group("spikes/v1").create_dataset("node_ids", data=[1, 2])
    with pytest.raises(SonataFormatError, match="/spikes/v1/timestamps"):
        read_spikes(path)


def test_wrong_dtype_and_length(tmp_path):
    path = tmp_path / "spikes.h5"
    with h5py.File(path, "w") as h5:
        g = h5.create_group("spikes/v1")
        g.create_dataset("node_ids", data=[1.5, 2.5])
        g.create_dataset("timestamps", data=[1.0, 2.0])
    with pytest.raises(SonataFormatError, match="node ids must be integers"):
        read_spikes(path)
    with h5py.File(path, "w") as h5:
        g = h5.create_group("spikes/v1")
        g.create_dataset("node_ids", data=[1, 2, 3])
        g.create_dataset("timestamps", data=[1.0, 2.0])
    with pytest.raises(SonataFormatError, match="3 entries but timestamps has 2"):
        read_spikes(path)


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "spikes.h5"
    write_spikes(path, {"v1": (np.array([1]), np.array([1.0]))})
    with pytest.raises(ConfigError, match="non-negative"):
        write_spikes(path, {"v1": (np.array([-1]), np.array([1.0]))})
    assert read_spikes(path)["node_id"].tolist() == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spikes.h5"]


def test_tuple_input_needs_population(tmp_path):
    with pytest.raises(ConfigError, match="population="):
        write_spikes(tmp_path / "s.h5", (np.array([1]), np.array([1.0])))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 5), st.sampled_from([0.0, 1.0, 1.5, 2.0])), max_size=30),
    order=st.sampled_from(["by_time", "by_id"]),
)
def test_rows_are_fully_ordered_including_ties(tmp_path_factory, rows, order):
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    times = np.array([r[1] for r in rows], dtype=np.float64)
    path = tmp_path_factory.mktemp("s") / "spikes.h5"
    write_spikes(path, {"v1": (ids, times)}, sort_order=order)
    got = read_spikes(path)
    key = ["timestamp", "node_id"] if order == "by_time" else ["node_id", "timestamp"]
    expected = got.sort_values(key, kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def test_already_sorted_input_is_written_unchanged(tmp_path):
    times = np.repeat(np.arange(1000.0), 3)
    ids = np.tile([0, 2, 7], 1000)
    write_spikes(tmp_path / "s.h5", {"v1": (ids, times)})
    got = read_spikes(tmp_path / "s.h5")
    np.testing.assert_array_equal(got["node_id"], ids)
    np.testing.assert_array_equal(got["timestamp"], times)
