"""Poisson generators: rates, seeds, inhomogeneous rates, SONATA output."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.simulator.core.progress import run_in_blocks
from bmtoolkit.simulator.core.spike_generators import (
    PoissonSpikeGenerator,
    inhomogeneous_poisson_times,
    poisson_times,
    read_rate_table,
)
from bmtoolkit.sonata import read_spikes


def test_constant_rate_matches_expected_count():
    rng = np.random.default_rng(0)
    counts = [len(poisson_times(20.0, 0.0, 1000.0, rng)) for _ in range(400)]
    assert abs(np.mean(counts) - 20.0) < 1.0
    assert abs(np.var(counts) - 20.0) < 5.0  # Poisson: variance == mean


def test_same_seed_same_spikes_different_seed_different_spikes():
    def make(seed):
        gen = PoissonSpikeGenerator(seed=seed, population="lgn")
        gen.add(range(20), 15.0, times=(0.0, 1.0))
        return gen.to_dataframe()

    a, b, c = make(5), make(5), make(6)
    assert a.equals(b)
    assert not a.equals(c)
    assert (a["population"] == "lgn").all()
    assert a["timestamp"].between(0.0, 1000.0).all()
    assert np.all(np.diff(a["timestamp"].to_numpy()) >= 0)


def test_inhomogeneous_rate_follows_the_rate_profile():
    rng = np.random.default_rng(3)
    t = np.array([0.0, 500.0, 500.001, 1000.0])
    r = np.array([0.0, 0.0, 100.0, 100.0])
    spikes = np.concatenate([inhomogeneous_poisson_times(t, r, rng) for _ in range(100)])
    assert (spikes >= 500.0).all()
    assert abs(len(spikes) / 100 - 50.0) < 5.0


def test_rates_from_file_and_sonata_output_round_trip(tmp_path):
    table = tmp_path / "rates.csv"
    table.write_text("time,rate\n0,10\n1000,30\n")
    times, rates = read_rate_table(table)
    np.testing.assert_array_equal(times, [0.0, 1000.0])
    gen = PoissonSpikeGenerator(seed=1, time_units="ms")
    gen.add([0, 1, 2], (times, rates), population="tw")
    gen.add([0], 5.0, times=(0, 1000), population="lgn")
    out = tmp_path / "spikes.h5"
    gen.to_sonata(out)
    back = read_spikes(out)
    expected = gen.to_dataframe()
    assert sorted(back["population"].unique()) == ["lgn", "tw"]
    for pop in ("lgn", "tw"):
        mine = expected[expected["population"] == pop]
        theirs = back[back["population"] == pop]
        np.testing.assert_allclose(
            np.sort(theirs["timestamp"].to_numpy()), np.sort(mine["timestamp"].to_numpy())
        )


def test_bad_inputs_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="population"):
        PoissonSpikeGenerator(seed=1).add([0], 1.0, times=(0, 1))
    with pytest.raises(ConfigError, match=">= 0"):
        poisson_times(-1.0, 0, 1, np.random.default_rng(0))
    with pytest.raises(MissingFileError, match="nope.csv"):
        read_rate_table(tmp_path / "nope.csv")
    with pytest.raises(ConfigError, match="increase"):
        inhomogeneous_poisson_times(np.array([1.0, 0.0]), np.array([1.0, 1.0]), None)


def test_run_in_blocks_covers_the_interval_exactly():
    seen = []
    run_in_blocks(0.0, 1.0, lambda a, b: seen.append((a, b)), block=0.3, progress=False)
    assert seen[0][0] == 0.0 and seen[-1][1] == 1.0
    assert all(abs(b1[1] - b2[0]) < 1e-12 for b1, b2 in zip(seen, seen[1:]))
