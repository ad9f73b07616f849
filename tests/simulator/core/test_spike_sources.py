"""Spike inputs from NWB files and from user functions (``nwb``, ``ecephys_probe``, ``function``).

NWB files are written with pynwb (the reference NWB implementation) and read by
:mod:`bmtoolkit.sonata.nwb` with h5py; the ``ecephys_probe`` spike trains are compared with
BMTK 1.2.0's own mapping code run on the same file.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError, MissingFileError, UnknownModelError
from bmtoolkit.simulator.core.plan import RunPlan
from bmtoolkit.simulator.core.registries import SPIKES_GENERATORS, spikes_generator
from tests.simulator.core.conftest import write_tiny_config

#: unit id -> (peak channel, spike times in s); channel 10 is in LGd, 11 in VISp
UNITS = {
    951: (10, [0.5, 1.0, 1.2, 2.5, 3.1]),
    952: (10, [1.05, 1.5, 1.9]),
    953: (11, [0.2, 1.1, 1.3, 1.4]),
}
QUALITY = {951: 0.95, 952: 0.5, 953: 0.99}  # presence_ratio


def write_session(path):
    """A small NWB 2 session: 3 units on 2 channels, a drifting-gratings intervals table."""
    pynwb = pytest.importorskip("pynwb", reason="pynwb writes the NWB test files")
    nwb = pynwb.NWBFile("test", "session_1", datetime(2020, 1, 1, tzinfo=UTC))
    device = nwb.create_device("probeA")
    group = nwb.create_electrode_group("probeA", "probe", "brain", device)
    nwb.add_electrode_column("probe_vertical_position", "depth")
    for channel, location in ((10, "LGd"), (11, "VISp")):
        nwb.add_electrode(
            id=channel, group=group, location=location, probe_vertical_position=channel * 20
        )
    nwb.add_unit_column("peak_channel_id", "channel of the largest waveform")
    nwb.add_unit_column("presence_ratio", "quality")
    for uid, (channel, times) in UNITS.items():
        nwb.add_unit(
            id=uid, spike_times=times, peak_channel_id=channel, presence_ratio=QUALITY[uid]
        )
    table = pynwb.epoch.TimeIntervals(
        name="drifting_gratings_presentations", description="gratings"
    )
    table.add_column("orientation", "deg")
    for start, stop, ori in ((0.9, 1.6, 90.0), (2.0, 3.0, 45.0), (3.0, 3.5, 90.0)):
        table.add_interval(start_time=start, stop_time=stop, orientation=ori)
    nwb.add_time_intervals(table)
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def _input(plan_root, **params):
    doc = {"input_type": "spikes", "node_set": "inp", **params}
    return write_tiny_config(plan_root, inputs={"probe": doc})


def _trains(tmp_path, **params):
    plan = RunPlan.from_config(_input(tmp_path, **params))
    (inp,) = plan.inputs()
    return inp.trains("inp")


def test_units_table_is_read_with_electrode_columns(tmp_path):
    from bmtoolkit.sonata.nwb import read_nwb_intervals, read_nwb_units

    path = write_session(tmp_path / "s.nwb")
    units = read_nwb_units(path)
    assert sorted(units.index) == [951, 952, 953]
    assert units.loc[953, "location"] == "VISp"
    np.testing.assert_array_equal(units.loc[952, "spike_times"], UNITS[952][1])
    table = read_nwb_intervals(path, "drifting_gratings_presentations")
    assert table["orientation"].tolist() == [90.0, 45.0, 90.0]


def test_units_map_with_interval_gives_bmtk_spike_trains(tmp_path):
    """units_map + a window in ms: the same trains as BMTK's UnitIdMapStrategy."""
    path = write_session(tmp_path / "s.nwb")
    (tmp_path / "map.txt").write_text("node_ids unit_ids\n0 951\n1 953\n")
    params = {"module": "ecephys_probe", "input_file": str(path), "mapping": "units_map",
              "units": str(tmp_path / "map.txt"), "interval": [1000.0, 2000.0],
              "interval_offset": 5.0}  # fmt: skip
    ours = _trains(tmp_path / "run", **params)
    np.testing.assert_allclose(ours[0], [5.0, 205.0])
    np.testing.assert_allclose(ours[1], [105.0, 305.0, 405.0])

    ecephys = pytest.importorskip("bmtk.simulator.core.modules.ecephys_module")
    strategy = ecephys.UnitIdMapStrategy(**params)
    strategy.build_map(None)
    for nid in (0, 1):
        np.testing.assert_allclose(ours[nid], strategy.get_spike_trains(nid, "inp"))


def test_interval_filter_and_units_filter_with_sampling(tmp_path):
    """A stimulus-table window (orientation 90, first presentation) and a units filter."""
    path = write_session(tmp_path / "s.nwb")
    trains = _trains(
        tmp_path / "run", module="ecephys_probe", input_file=str(path),
        mapping="sample_with_replacement", missing_ids="fail",
        units={"location": "LGd", "presence_ratio": {"operation": ">", "value": 0.9}},
        interval={"interval_name": "drifting_gratings", "interval_index": 0, "orientation": 90},
    )  # fmt: skip
    # only unit 951 passes: its spikes within [0.9, 1.6] s, shifted to start at 0
    for node in (0, 1):
        np.testing.assert_allclose(trains[node], [100.0, 300.0])


def test_sampling_without_replacement_needs_enough_units(tmp_path):
    path = write_session(tmp_path / "s.nwb")
    with pytest.raises(ConfigError, match="1 NWB units for 2 nodes"):
        _trains(tmp_path / "run", module="ecephys_probe", input_file=str(path),
                mapping="sample", units={"location": "VISp"})  # fmt: skip
    trains = _trains(tmp_path / "run2", module="ecephys_probe", input_file=str(path),
                     mapping="sample", units={"location": "VISp"}, missing_ids="ignore")  # fmt: skip
    assert list(trains) == [0]
    np.testing.assert_allclose(trains[0], np.array(UNITS[953][1]) * 1000.0)


def test_missing_nwb_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(MissingFileError) as err:
        _trains(tmp_path, module="ecephys_probe", input_file=str(tmp_path / "gone.nwb"),
                mapping="sample")  # fmt: skip
    assert "gone.nwb" in str(err.value) and "\n" not in str(err.value)


def test_bmtk_nwb_spike_file(tmp_path):
    import h5py

    path = tmp_path / "spikes.nwb"
    with h5py.File(path, "w") as fh:
        grp = fh.create_group("processing/trial_0/spike_train")
        grp.create_dataset("0/data", data=[3.0, 1.0])
        grp.create_dataset("1/data", data=[2.5])
        grp.create_dataset("7/data", data=[4.0])  # not in the node set: dropped
    trains = _trains(tmp_path / "run", module="nwb", input_file=str(path))
    assert {k: v.tolist() for k, v in trains.items()} == {0: [1.0, 3.0], 1: [2.5]}


def test_function_spikes_receive_node_and_run(tmp_path):
    @spikes_generator(name="by_node")
    def by_node(node, sim):
        assert node.population_name == "inp" and node["node_type_id"] == 200
        return np.arange(sim.tstart + 1.0 + node.node_id, sim.tstop, 10.0)

    try:
        trains = _trains(tmp_path, module="function", spikes_function="by_node")
    finally:
        SPIKES_GENERATORS.unregister("by_node")
    assert trains[0][:2].tolist() == [1.0, 11.0] and trains[1][:2].tolist() == [2.0, 12.0]
    with pytest.raises(UnknownModelError, match="spikes_function 'nope' is not registered"):
        _trains(tmp_path / "b", module="function", spikes_function="nope")


@pytest.mark.parametrize("backend", ["numpynet", "pointnet"])
def test_function_spikes_drive_a_run(tmp_path, backend):
    """The burst drives the cells the input nodes connect to (nodes 1 and 2 of v1)."""
    if backend == "pointnet":
        pytest.importorskip("nest", reason="nest is not installed")
    from bmtoolkit.simulator import run
    from bmtoolkit.sonata import read_spikes

    config = _input(tmp_path, module="function",
                    spikes_function="tests.simulator.core.test_spike_sources:burst")  # fmt: skip
    result = run(config, backend=backend, progress=False)
    spikes = read_spikes(result.outputs["spikes"])
    assert set(spikes.loc[spikes["population"] == "v1", "node_id"]) == {1, 2}


def burst(node, sim):
    """Spike train used by an import-path ``spikes_function`` (many spikes early on)."""
    return np.linspace(1.0, 20.0, 40)
