"""Spike and report files written by bmtoolkit are read identically by libsonata and BMTK."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.sonata import FrameReportData, write_frame_report, write_spikes
from tests.conftest import require_module

pytestmark = pytest.mark.interop


@pytest.fixture
def spikes_file(tmp_path):
    rng = np.random.default_rng(7)
    spikes = {
        "v1": (rng.integers(0, 50, 400), np.round(rng.uniform(0, 1000, 400), 3)),
        "lgn": (rng.integers(0, 20, 100), np.round(rng.uniform(0, 1000, 100), 3)),
    }
    path = tmp_path / "spikes.h5"
    write_spikes(path, spikes)
    return path, spikes


def _pairs(ids, times):
    return sorted(zip(np.asarray(ids).astype(int).tolist(), np.asarray(times).tolist()))


def test_libsonata_reads_our_spikes(spikes_file):
    libsonata = require_module("libsonata")
    path, spikes = spikes_file
    reader = libsonata.SpikeReader(str(path))
    assert sorted(reader.get_population_names()) == sorted(spikes)
    for pop, (ids, times) in spikes.items():
        assert reader[pop].sorting == "by_time"
        assert sorted(reader[pop].get()) == _pairs(ids, times)


def test_bmtk_reads_our_spikes(spikes_file):
    require_module("bmtk")
    from bmtk.utils.reports.spike_trains import SpikeTrains

    path, spikes = spikes_file
    df = SpikeTrains.from_sonata(str(path)).to_dataframe()
    for pop, (ids, times) in spikes.items():
        sub = df[df["population"] == pop]
        assert _pairs(sub["node_ids"], sub["timestamps"]) == _pairs(ids, times)


@pytest.fixture
def report_file(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.normal(-65, 5, size=(40, 6)).astype(np.float32)
    rep = FrameReportData(
        population="v1",
        node_ids=np.array([2, 5, 9]),
        index_pointers=np.array([0, 1, 4, 6]),
        element_ids=np.array([0, 0, 1, 2, 0, 3]),
        element_pos=np.array([0.5, 0.5, 0.25, 0.75, 0.5, 0.5]),
        data=data,
        tstart=100.0,
        tstop=104.0,
        dt=0.1,
        variable="v",
    )
    path = tmp_path / "v_report.h5"
    write_frame_report(path, [rep])
    return path, rep


def test_libsonata_reads_our_report(report_file):
    libsonata = require_module("libsonata")
    path, rep = report_file
    pop = libsonata.ElementReportReader(str(path))["v1"]
    assert pop.get_node_ids() == rep.node_ids.tolist()
    assert pop.times == (rep.tstart, rep.tstop, rep.dt)
    assert pop.data_units == "mV" and pop.time_units == "ms"
    frame = pop.get()
    np.testing.assert_array_equal(np.asarray(frame.data), rep.data)
    for i, nid in enumerate(rep.node_ids):
        lo, hi = rep.index_pointers[i], rep.index_pointers[i + 1]
        got = pop.get(node_ids=[int(nid)])
        np.testing.assert_array_equal(np.asarray(got.data), rep.data[:, lo:hi])
        assert np.asarray(got.ids)[:, 1].tolist() == rep.element_ids[lo:hi].tolist()


def test_bmtk_reads_our_report(report_file):
    require_module("bmtk")
    from bmtk.utils.reports.compartment import CompartmentReport

    path, rep = report_file
    report = CompartmentReport(str(path), mode="r")
    assert report.populations == ["v1"]
    pop = report["v1"]
    assert pop.node_ids().tolist() == rep.node_ids.tolist()
    assert (pop.tstart(), pop.tstop(), pop.dt()) == (rep.tstart, rep.tstop, rep.dt)
    for i, nid in enumerate(rep.node_ids):
        lo, hi = rep.index_pointers[i], rep.index_pointers[i + 1]
        np.testing.assert_array_equal(pop.data(node_id=int(nid)), rep.data[:, lo:hi])
