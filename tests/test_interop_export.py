"""Neo objects and NWB files from bmtoolkit outputs, read back by Neo and pynwb themselves."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require_module

pytestmark = [pytest.mark.nest]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Spikes and a membrane report of the pointnet example (500 ms)."""
    require_module("nest")
    import json

    from bmtoolkit.analyzer import load_spikes, load_traces
    from bmtoolkit.commands.create_environment import create_environment
    from bmtoolkit.simulator import run

    config = create_environment("pointnet", tmp_path_factory.mktemp("io") / "env", tstop=500.0)
    sim = config.parent / "simulation_config.json"
    doc = json.loads(sim.read_text())
    doc["reports"] = {"v": {"cells": {"population": "v1", "node_id": [0, 1, 2]},
                            "variable_name": "V_m", "module": "multimeter_report"}}  # fmt: skip
    sim.write_text(json.dumps(doc))
    result = run(config, progress=False)
    spikes = load_spikes(result.outputs["spikes"])
    traces = load_traces(result.outputs["v"])
    return spikes, traces


def test_to_neo_keeps_every_spike_and_silent_cells(outputs):
    require_module("neo")
    from bmtoolkit.analyzer.interop import to_neo

    spikes, traces = outputs
    block = to_neo(spikes=spikes, traces=traces, t_stop=500.0,
                   node_ids={"v1": range(100)})  # fmt: skip
    seg = block.segments[0]
    assert len(seg.spiketrains) == 100
    assert sum(len(st) for st in seg.spiketrains) == len(spikes)
    first = seg.spiketrains[0]
    assert first.annotations == {"population": "v1", "node_id": 0}
    expected = np.sort(spikes.timestamp[spikes.node_id == 0].to_numpy())
    np.testing.assert_allclose(first.rescale("ms").magnitude, expected)
    assert float(first.t_stop.rescale("ms")) == 500.0
    signal = seg.analogsignals[0]
    assert signal.shape == traces.data.shape
    assert list(signal.array_annotations["node_id"]) == list(traces.node_ids)
    np.testing.assert_allclose(signal.magnitude, traces.data)


def test_nwb_file_read_back_by_pynwb(outputs, tmp_path):
    require_module("pynwb")
    import pynwb

    from bmtoolkit.analyzer.interop import write_nwb

    spikes, traces = outputs
    path = write_nwb(tmp_path / "run.nwb", spikes=spikes, traces=traces)
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        units = nwb.units.to_dataframe()
        assert len(units) == spikes.groupby(["population", "node_id"]).ngroups
        row = units[units.node_id == int(spikes.node_id.iloc[0])].iloc[0]
        expected = np.sort(spikes.timestamp[spikes.node_id == row.node_id].to_numpy()) / 1000
        np.testing.assert_allclose(row.spike_times, expected)
        series = nwb.acquisition[f"{traces.population}_{traces.variable}"]
        np.testing.assert_allclose(series.data[:], traces.data)
        assert series.rate == pytest.approx(1000.0 / np.diff(traces.times[:2])[0])
    assert [p.name for p in tmp_path.iterdir()] == ["run.nwb"]


def test_elephant_statistics_on_our_spikes_match_ours(outputs):
    """Elephant's mean rate and CV of the Neo trains agree with bmtoolkit's own statistics."""
    require_module("elephant")
    import elephant.statistics as est

    from bmtoolkit.analyzer import firing_rates
    from bmtoolkit.analyzer.interop import to_neo

    spikes, _ = outputs
    trains = to_neo(spikes=spikes, t_stop=500.0, node_ids={"v1": range(100)})
    trains = trains.segments[0].spiketrains
    theirs = np.array([float(est.mean_firing_rate(st).rescale("Hz")) for st in trains])
    ours = firing_rates(spikes, t_start=0.0, t_stop=500.0, node_ids={"v1": np.arange(100)})
    np.testing.assert_allclose(theirs, ours.sort_values("node_id")["rate"].to_numpy())
    busy = [st for st in trains if len(st) > 3]
    cv = [float(est.cv(est.isi(st))) for st in busy]
    assert all(np.isfinite(cv)) and len(cv) > 10
