"""Frame and ECP reports: round trips, layout, BMTK/legacy reading and bad input."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bmtoolkit.exceptions import ConfigError, NodeIdError, SonataFormatError
from bmtoolkit.sonata import (
    FrameReportData,
    read_ecp_report,
    read_frame_report,
    write_ecp_report,
    write_frame_report,
)


@st.composite
def reports(draw):
    n_nodes = draw(st.integers(0, 5))
    counts = draw(st.lists(st.integers(1, 4), min_size=n_nodes, max_size=n_nodes))
    n_el = int(sum(counts))
    steps = draw(st.integers(1, 12))
    dt = draw(st.sampled_from([0.025, 0.1, 0.5, 1.0]))
    tstart = draw(st.sampled_from([0.0, 10.0, 100.0]))
    ids = draw(st.lists(st.integers(0, 10_000), min_size=n_nodes, max_size=n_nodes, unique=True))
    data = draw(
        hnp.arrays(
            np.float32,
            (steps, n_el),
            elements=st.floats(-100, 100, width=32, allow_nan=False),
        )
    )
    return FrameReportData(
        population=draw(st.sampled_from(["v1", "l4"])),
        node_ids=np.array(ids, np.int64),
        index_pointers=np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64),
        element_ids=np.array([s for c in counts for s in range(c)], dtype=np.uint32),
        element_pos=np.array([0.5] * n_el, np.float32),
        data=data,
        tstart=tstart,
        tstop=tstart + steps * dt,
        dt=dt,
        units=draw(st.sampled_from(["mV", "mM", "nA"])),
        variable=draw(st.sampled_from(["v", "cai", None])),
    )


@settings(max_examples=40, deadline=None)
@given(rep=reports())
def test_frame_report_round_trip(tmp_path_factory, rep):
    path = tmp_path_factory.mktemp("r") / "report.h5"
    write_frame_report(path, [rep])
    got = read_frame_report(path)[rep.population]
    np.testing.assert_array_equal(got.node_ids, rep.node_ids)
    np.testing.assert_array_equal(got.index_pointers, rep.index_pointers.astype(np.int64))
    np.testing.assert_array_equal(got.element_ids, rep.element_ids)
    np.testing.assert_array_equal(got.element_pos, rep.element_pos)
    data = got.data()
    assert data.dtype == np.float32
    np.testing.assert_array_equal(data, rep.data)
    assert (got.tstart, got.tstop, got.dt, got.units, got.variable) == (
        rep.tstart,
        rep.tstop,
        rep.dt,
        rep.units,
        rep.variable,
    )
    for i, nid in enumerate(rep.node_ids):
        lo, hi = int(rep.index_pointers[i]), int(rep.index_pointers[i + 1])
        np.testing.assert_array_equal(got.trace(nid), rep.data[:, lo:hi])


def test_layout_matches_the_write_profile(tmp_path):
    rep = FrameReportData.soma("v1", [4, 2], np.ones((10, 2)), 0.0, 1.0, 0.1, variable="v")
    path = tmp_path / "v.h5"
    write_frame_report(path, [rep])
    with h5py.File(path, "r") as h5:
        g = h5["report/v1"]
        assert g["data"].dtype == np.float32 and g["data"].attrs["units"] == "mV"
        m = g["mapping"]
        assert m["node_ids"].dtype == np.uint64
        assert m["index_pointers"].dtype == np.uint64 and m["index_pointers"].shape == (3,)
        # the BMTK name is a hard link to the same dataset, not a copy
        assert m["index_pointer"].id == m["index_pointers"].id
        assert m["element_ids"].dtype == np.uint32
        assert m["element_pos"].dtype == np.float32
        assert m["time"].attrs["units"] == "ms"
        assert m["time"][()].tolist() == [0.0, 1.0, 0.1]


def test_time_conventions():
    rep = FrameReportData.soma("v1", [0], np.zeros((3, 1)), 10.0, 10.3, 0.1)
    assert rep.data.shape == (3, 1)


def test_times_and_windows(tmp_path):
    data = np.arange(20, dtype=np.float32).reshape(10, 2)
    write_frame_report(tmp_path / "v.h5", [FrameReportData.soma("p", [0, 1], data, 0, 1.0, 0.1)])
    rep = read_frame_report(tmp_path / "v.h5")["p"]
    np.testing.assert_allclose(rep.times(), np.arange(10) * 0.1)
    np.testing.assert_allclose(rep.times(shift_one_step=True), (np.arange(10) + 1) * 0.1)
    np.testing.assert_array_equal(rep.data(time_window=(0.2, 0.5)), data[2:5])
    np.testing.assert_array_equal(rep.data(node_ids=[1, 0]), data[:, [1, 0]])
    with pytest.raises(NodeIdError, match="node 7 is not in this report"):
        rep.trace(7)


def test_bad_report_data_is_refused_before_writing(tmp_path):
    with pytest.raises(ConfigError, match="implies 10"):
        FrameReportData.soma("p", [0], np.zeros((9, 1)), 0, 1.0, 0.1)
    with pytest.raises(ConfigError, match="index_pointers"):
        FrameReportData(
            "p",
            np.array([0]),
            np.array([0, 2]),
            np.zeros(1),
            np.zeros(1),
            np.zeros((1, 1)),
            0,
            1,
            1,
        )
    assert not list(tmp_path.iterdir())


def test_not_a_report(tmp_path):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as h5:
        h5.create_group("nodes")
    with pytest.raises(SonataFormatError, match="expected a /report group"):
        read_frame_report(path)


def test_index_pointers_inconsistent_with_data(tmp_path):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as h5:
        g = h5.create_group("report/p")
        g.create_dataset("data", data=np.zeros((3, 2)))
        m = g.create_group("mapping")
        m.create_dataset("node_ids", data=[0])
        m.create_dataset("index_pointers", data=[0, 5])
        m.create_dataset("time", data=[0, 3, 1.0])
    with pytest.raises(SonataFormatError, match="index pointers end at 5 but data has 2 columns"):
        read_frame_report(path)


def test_ecp_round_trip(tmp_path):
    data = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    write_ecp_report(tmp_path / "ecp.h5", data, [0, 1, 2, 3], 0.0, 5.0, 0.1)
    ecp = read_ecp_report(tmp_path / "ecp.h5")
    np.testing.assert_array_equal(ecp.data, data)
    assert ecp.channel_ids.tolist() == [0, 1, 2, 3] and ecp.dt == 0.1
    with pytest.raises(ConfigError, match=r"must be \(T, 2 channels\), got \(50, 4\)"):
        write_ecp_report(tmp_path / "bad.h5", data, [0, 1], 0.0, 5.0, 0.1)
