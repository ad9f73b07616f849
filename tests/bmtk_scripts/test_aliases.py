"""The BMTK module paths, one by one, checked against BMTK 1.2.0 where it can run the case."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tests.conftest import require_module


def test_spike_trains_round_trip_through_bmtk(tmp_path):
    require_module("bmtk")
    from bmtk.utils.reports.spike_trains import SpikeTrains as BmtkSpikeTrains

    from bmtoolkit.utils.reports.spike_trains import SpikeTrains

    ours = SpikeTrains(population="v1")
    ours.add_spikes(node_ids=[0, 2, 2], timestamps=[5.0, 1.5, 9.25])
    ours.add_spike(node_id=1, timestamp=3.0, population="lgn")
    ours.to_sonata(tmp_path / "ours.h5")
    ours.to_csv(tmp_path / "ours.csv")
    for name in ("ours.h5", "ours.csv"):
        peer = BmtkSpikeTrains.load(str(tmp_path / name))
        assert sorted(peer.populations) == ["lgn", "v1"]
        assert peer.get_times(2, population="v1").tolist() == [1.5, 9.25]
        assert peer.get_times(1, population="lgn").tolist() == [3.0]
    peer = BmtkSpikeTrains()
    peer.add_spikes(node_ids=[4, 4], timestamps=[2.0, 7.0], population="x")
    peer.to_sonata(str(tmp_path / "peer.h5"))
    back = SpikeTrains.load(tmp_path / "peer.h5")
    assert back.populations == ["x"] and back.get_times(4, population="x").tolist() == [2.0, 7.0]
    df = back.to_dataframe()
    assert list(df.columns) == ["node_ids", "timestamps", "population"]
    assert (back.n_spikes(), back.time_range()) == (2, (2.0, 7.0))


def test_poisson_generator_uses_bmtks_arguments(tmp_path):
    from bmtoolkit.builder.networks import NetworkBuilder
    from bmtoolkit.utils.reports.spike_trains import PoissonSpikeGenerator

    psg = PoissonSpikeGenerator(population="lgn", seed=5)
    psg.add(node_ids=range(50), firing_rate=20.0, times=(1.0, 3.0))  # seconds
    t = psg.to_dataframe()["timestamps"]
    assert t.between(1000.0, 3000.0).all()
    assert abs(len(t) - 50 * 20 * 2.0) < 5 * np.sqrt(50 * 20 * 2.0)
    again = PoissonSpikeGenerator(population="lgn", seed=5)
    again.add(node_ids=range(50), firing_rate=20.0, times=(1.0, 3.0))
    assert again.to_dataframe().equals(psg.to_dataframe())

    times = np.linspace(0.0, 2.0, 201)
    ramp = PoissonSpikeGenerator(seed=1)
    ramp.add(node_ids=[0, 1, 2], firing_rate=np.where(times < 1.0, 0.0, 80.0), times=times,
             population="tw")  # fmt: skip
    t = ramp.to_dataframe()["timestamps"]
    assert len(t) > 100 and (t >= 990.0).all()  # nothing while the rate is 0

    np.random.seed(3)  # seed=None draws its seed from NumPy's global state, as BMTK's does
    a = PoissonSpikeGenerator(population="p")
    a.add(node_ids=[0], firing_rate=50.0, times=(0.0, 1.0))
    np.random.seed(3)
    b = PoissonSpikeGenerator(population="p")
    b.add(node_ids=[0], firing_rate=50.0, times=(0.0, 1.0))
    assert a.to_dataframe().equals(b.to_dataframe()) and a.n_spikes() > 0

    net = NetworkBuilder("virt")
    net.add_nodes(N=4, model_type="virtual")
    net.build()
    net.save(output_dir=str(tmp_path))
    from_file = PoissonSpikeGenerator(seed=2)
    from_file.add(node_ids=str(tmp_path / "virt_nodes.h5"), firing_rate=100.0, times=(0, 1))
    assert from_file.populations == ["virt"] and from_file.node_ids() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="refractory"):
        from_file.add(node_ids=[0], firing_rate=1.0, abs_ref=0.002)


def test_node_params_and_edge_connectors():
    from bmtoolkit.builder.auxi.edge_connectors import connect_random, distance_connector
    from bmtoolkit.builder.auxi.node_params import positions_columinar, xiter_random

    np.random.seed(9)
    pos = positions_columinar(N=500, center=[10.0, 50.0, -5.0], height=40.0, min_radius=20.0,
                              max_radius=30.0)  # fmt: skip
    r = np.hypot(pos[:, 0] - 10.0, pos[:, 2] + 5.0)
    assert ((r >= 20.0) & (r <= 30.0)).all() and (np.abs(pos[:, 1] - 50.0) <= 20.0).all()
    # uniform in area: the inner half of the ring's area lies within sqrt((20^2 + 30^2) / 2)
    assert abs(np.mean(r < np.sqrt((20.0**2 + 30.0**2) / 2)) - 0.5) < 0.08
    np.random.seed(9)
    assert np.array_equal(pos, positions_columinar(N=500, center=[10.0, 50.0, -5.0],
                                                   height=40.0, min_radius=20.0,
                                                   max_radius=30.0))  # fmt: skip
    v = xiter_random(N=1000, min_x=-1.0, max_x=1.0)
    assert ((v >= -1.0) & (v < 1.0)).all() and abs(v.mean()) < 0.1

    a = {"node_id": 0, "positions": [0.0, 0.0, 0.0]}
    near = {"node_id": 1, "positions": [10.0, 0.0, 0.0]}
    far = {"node_id": 2, "positions": [200.0, 0.0, 0.0]}
    params = {"d_weight_min": 1.0, "d_weight_max": 1.0, "d_max": 100.0, "nsyn_min": 2,
              "nsyn_max": 4}  # fmt: skip
    assert distance_connector(a, a, **params) is None
    assert distance_connector(a, far, **params) is None
    assert {distance_connector(a, near, **params) for _ in range(200)} == {2, 3, 4}
    assert {connect_random(a, near, nsyn_min=1, nsyn_max=3) for _ in range(200)} == {1, 2}


def test_simulator_modules_import_no_simulator():
    code = (
        "import sys\n"
        "from bmtoolkit.simulator import bionet, pointnet\n"
        "conf = pointnet.Config, pointnet.PointNetwork, pointnet.PointSimulator, pointnet.io\n"
        "bio = bionet.Config, bionet.BioNetwork, bionet.BioSimulator, bionet.nrn.quit_execution\n"
        "assert pointnet.PointSimulator.backend == 'pointnet'\n"
        "assert bionet.BioSimulator.backend == 'bionet'\n"
        "import bmtoolkit.analyzer.spike_trains, bmtoolkit.analyzer.compartment\n"
        "import bmtoolkit.builder.networks, bmtoolkit.builder.auxi.node_params\n"
        "import bmtoolkit.utils.reports.spike_trains\n"
        "print(sorted(m for m in ('nest', 'neuron', 'matplotlib', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_quit_execution_ends_the_script_with_status_0():
    code = (
        "from bmtoolkit.simulator import bionet\nbionet.nrn.quit_execution()\nraise SystemExit(3)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_to_dataframe_and_traces_of_a_run(pointnet_tutorial):
    from bmtoolkit.analyzer.compartment import plot_traces
    from bmtoolkit.analyzer.spike_trains import plot_raster, plot_rates, to_dataframe

    ours, _ = pointnet_tutorial
    config = str(ours / "config.json")
    table = to_dataframe(config_file=config, population="V1")
    assert list(table.columns) == ["timestamps", "node_ids", "population"]
    fig = plot_traces(config_file=config, report_name="membrane_potential", group_by="pop_name",
                      show=False)  # fmt: skip
    labels = sorted(line.get_label() for line in fig.axes[0].lines)
    assert labels == ["PV (mean)", "Scnn1a (mean)"]  # nodes 0 and 5 are Scnn1a, 35 is PV
    fig = plot_traces(config_file=config, average=True, show=False)  # the only report
    ((line),) = fig.axes[0].lines
    assert len(line.get_xdata()) > 1000
    fig = plot_raster(config_file=config, group_by="pop_name", group_excludes="PV",
                      with_histogram=False, show=False)  # fmt: skip
    shown = sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    assert 0 < shown < len(table)
    with pytest.raises(ValueError, match="no spikes of population 'LGN'"):
        plot_rates(config_file=config, population="LGN", show=False)
    assert isinstance(table, pd.DataFrame)
