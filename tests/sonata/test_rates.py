"""Rate time-series and density-snapshot files: round trips, layout, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bmtoolkit.exceptions import ConfigError, MissingFileError, SonataFormatError
from bmtoolkit.sonata._h5 import open_h5
from bmtoolkit.sonata.rates import read_densities, read_rates, write_densities, write_rates


@settings(max_examples=30, deadline=None)
@given(
    n_t=st.integers(1, 20),
    n=st.integers(1, 5),
    dt=st.sampled_from([0.1, 0.5, 1.0, 2.5]),
    t0=st.floats(-100.0, 100.0),
    data=st.data(),
)
def test_round_trip_h5_and_csv(tmp_path_factory, n_t, n, dt, t0, data):
    folder = tmp_path_factory.mktemp("rates")
    rates = data.draw(arrays(np.float64, (n_t, n), elements=st.floats(0.0, 1e3, width=32)))
    ids = np.sort(data.draw(st.lists(st.integers(0, 1000), min_size=n, max_size=n, unique=True)))
    times = t0 + dt * np.arange(n_t)
    path = folder / "rates.h5"
    write_rates(path, "pop", ids, times, rates, csv=True)
    for source in (path, path.with_suffix(".csv")):
        got = read_rates(source)["pop"]
        np.testing.assert_array_equal(got.node_ids, ids)
        np.testing.assert_allclose(got.times, times, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(got.data, rates.astype(np.float32), rtol=1e-6, atol=1e-30)


def test_layout_and_several_populations(tmp_path):
    path = tmp_path / "r.h5"
    t = np.arange(4) * 0.5
    write_rates(path, "exc", [0], t, np.arange(4.0))
    write_rates(path, "inh", [3, 4], t, np.ones((4, 2)), mode="a")
    write_rates(path, "exc", [0], t, 2 * np.arange(4.0), mode="a")  # replaces exc
    with open_h5(path) as h5:
        assert int(h5.attrs["magic"]) == 0x0A7A
        g = h5["rates/inh"]
        assert g["node_ids"].dtype == np.uint64 and g["data"].dtype == np.float32
        assert g["time"][()].tolist() == [0.0, 2.0, 0.5]
        assert g["time"].attrs["units"] == "ms" and g["data"].attrs["units"] == "Hz"
    series = read_rates(path)
    assert sorted(series) == ["exc", "inh"]
    assert series["exc"].data[:, 0].tolist() == [0.0, 2.0, 4.0, 6.0]
    assert list(read_rates(path, population="inh")) == ["inh"]
    write_rates(path, "only", [0], t, np.zeros(4))  # mode "w" replaces the file
    assert list(read_rates(path)) == ["only"]


def test_uneven_times_are_kept(tmp_path):
    path = tmp_path / "r.h5"
    times = np.array([0.0, 1.0, 3.0])
    write_rates(path, "p", [0], times, np.ones(3))
    assert read_rates(path)["p"].times.tolist() == [0.0, 1.0, 3.0]


def test_density_snapshots_round_trip_and_keep_rates(tmp_path):
    path = tmp_path / "r.h5"
    write_rates(path, "p", [0, 1], [0.0, 1.0], np.ones((2, 2)))
    dens = np.full((2, 4), 0.25)
    write_densities(path, "p", 1, [0.0, 10.0], np.linspace(0, 20, 5), dens)
    snaps = read_densities(path)
    assert list(snaps) == [("p", 1)]
    np.testing.assert_array_equal(snaps[("p", 1)].data, dens)
    assert snaps[("p", 1)].times.tolist() == [0.0, 10.0]
    assert list(read_rates(path)) == ["p"]
    write_rates(path, "q", [0], [0.0], [[1.0]], mode="a")
    assert ("p", 1) in read_densities(path, population="p")


def test_errors_name_the_problem(tmp_path):
    path = tmp_path / "r.h5"
    with pytest.raises(ConfigError, match="shape"):
        write_rates(path, "p", [0, 1], [0.0, 1.0], np.ones((2, 3)))
    with pytest.raises(ConfigError, match="increasing"):
        write_rates(path, "p", [0], [1.0, 0.0], np.ones(2))
    with pytest.raises(ConfigError, match="node_ids"):
        write_rates(path, "p", [-1], [0.0], np.ones(1))
    with pytest.raises(ConfigError, match="mode"):
        write_rates(path, "p", [0], [0.0], np.ones(1), mode="x")
    assert not path.exists()
    with pytest.raises(MissingFileError):
        read_rates(tmp_path / "absent.h5")
    write_rates(path, "p", [0], [0.0], np.ones(1))
    with pytest.raises(SonataFormatError, match="rates/q"):
        read_rates(path, population="q")
    bad = tmp_path / "bad.csv"
    bad.write_text("a b\n1 2\n")
    with pytest.raises(SonataFormatError, match="time"):
        read_rates(bad)
