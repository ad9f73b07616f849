"""Sweeps read back as written: npz, CSV (hypothesis round trips) and NWB written by pynwb."""

from __future__ import annotations

import datetime as _dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmtoolkit.exceptions import ConfigError, MissingFileError, UnknownModelError
from bmtoolkit.glif import Sweep
from bmtoolkit.glif.io import read_sweeps, write_csv, write_npz
from tests.conftest import require_module

values = st.lists(st.floats(-1e-9, 1e-9, allow_nan=False), min_size=2, max_size=40)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values, st.sampled_from(["noise", "ramp", "long_square", "other"]),
       st.sampled_from([2e-5, 5e-5, 1e-4]))  # fmt: skip
def test_npz_and_csv_round_trip(tmp_path, stim, kind, dt):
    sw = Sweep(np.asarray(stim), -0.07 + np.asarray(stim) * 1e7, dt, kind=kind,
               spike_times=np.array([dt]))  # fmt: skip
    write_npz(tmp_path / "s.npz", [sw, sw])
    back = read_sweeps(tmp_path / "s.npz")
    assert len(back) == 2
    for b in back:
        assert (b.kind, b.dt) == (kind, dt)
        for name in ("stimulus", "voltage", "spike_times"):
            assert np.array_equal(getattr(b, name), getattr(sw, name))
    write_csv(tmp_path / "s.csv", sw)
    (c,) = read_sweeps(tmp_path / "s.csv")
    assert c.kind == kind and c.dt == pytest.approx(dt, rel=1e-9)
    np.testing.assert_allclose(c.stimulus, sw.stimulus, rtol=1e-9, atol=1e-21)
    np.testing.assert_allclose(c.voltage, sw.voltage, rtol=1e-9)


def test_bad_files_name_the_file_and_field(tmp_path):
    with pytest.raises(MissingFileError, match="nope.npz"):
        read_sweeps(tmp_path / "nope.npz")
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,current,voltage_mV\n0,1,2\n")
    with pytest.raises(ConfigError, match=r"bad.csv: header: unknown column 'current'"):
        read_sweeps(bad)
    uneven = tmp_path / "uneven.csv"
    uneven.write_text("time_ms,stimulus_pA,voltage_mV\n0,0,-70\n0.1,0,-70\n0.3,0,-70\n")
    with pytest.raises(ConfigError, match="uneven.csv: time"):
        read_sweeps(uneven)
    np.savez(tmp_path / "x.npz", stimulus=np.zeros(3), voltage=np.zeros(3))
    with pytest.raises(ConfigError, match="x.npz: dt"):
        read_sweeps(tmp_path / "x.npz")
    (tmp_path / "x.abf").write_text("")
    with pytest.raises(UnknownModelError, match="npz"):
        read_sweeps(tmp_path / "x.abf")


def test_failed_write_leaves_the_old_file(tmp_path):
    target = tmp_path / "s.npz"
    target.write_bytes(b"keep")

    class Broken(Sweep):
        @property
        def times(self):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_csv(tmp_path / "s.csv", Broken(np.zeros(3), np.zeros(3), 1e-4))
    assert not (tmp_path / "s.csv").exists() and target.read_bytes() == b"keep"
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]


def test_nwb_written_by_pynwb(tmp_path):
    pynwb = require_module("pynwb")
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    nwb = pynwb.NWBFile(session_description="glif", identifier="cell1",
                        session_start_time=_dt.datetime(2024, 1, 1, tzinfo=_dt.UTC))  # fmt: skip
    device = nwb.create_device(name="amp")
    elec = nwb.create_icephys_electrode(name="elec", description="soma", device=device)
    rng = np.random.default_rng(0)
    truth = {}
    for k, desc in enumerate(["C1NSSEED_1 Noise 1", "C1LSCOARSE Long Square"]):
        i_pa = rng.normal(0, 50, 500)
        v_mv = -70 + rng.normal(0, 1, 500)
        truth[k] = (i_pa * 1e-12, v_mv * 1e-3, "noise" if k == 0 else "long_square")
        nwb.add_stimulus(CurrentClampStimulusSeries(
            name=f"stimulus_{k}", data=i_pa, rate=20000.0, electrode=elec, gain=1.0,
            conversion=1e-12, sweep_number=np.uint64(k), description=desc))  # fmt: skip
        nwb.add_acquisition(CurrentClampSeries(
            name=f"response_{k}", data=v_mv, rate=20000.0, electrode=elec, gain=1.0,
            conversion=1e-3, sweep_number=np.uint64(k)))  # fmt: skip
    with pynwb.NWBHDF5IO(str(tmp_path / "cell.nwb"), "w") as io:
        io.write(nwb)
    sweeps = read_sweeps(tmp_path / "cell.nwb")
    assert len(sweeps) == 2
    for k, sw in enumerate(sweeps):
        i, v, kind = truth[k]
        assert sw.dt == pytest.approx(5e-5) and sw.kind == kind
        np.testing.assert_allclose(sw.stimulus, i, rtol=1e-12)
        np.testing.assert_allclose(sw.voltage, v, rtol=1e-12)
