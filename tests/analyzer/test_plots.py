"""Plots render to PNG and show what they claim: labels, one point per spike, one bar per group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.analyzer import (
    firing_rates,
    load_spikes,
    plot_population_rate,
    plot_raster,
    plot_rates,
    population_rate,
)
from bmtoolkit.exceptions import ConfigError
from tests.conftest import require_module


@pytest.fixture(autouse=True)
def _agg(monkeypatch):
    require_module("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _points(ax) -> int:
    return sum(len(c.get_offsets()) for c in ax.collections)


def test_raster_of_reference_spikes(sonata_examples, tmp_path):
    spikes = load_spikes(sonata_examples / "300_intfire/output/spikes.h5")
    fig, ax = plot_raster(spikes, title="300_intfire")
    out = tmp_path / "raster.png"
    fig.savefig(out)
    assert out.stat().st_size > 5_000
    assert _points(ax) == len(spikes) == 4322
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "node id"
    ys = np.concatenate([c.get_offsets()[:, 1] for c in ax.collections])
    assert len(np.unique(ys)) == spikes["node_id"].nunique()


def test_raster_grouped_and_sorted():
    spikes = pd.DataFrame(
        {
            "population": ["v1"] * 6,
            "node_id": [0, 1, 2, 0, 1, 2],
            "timestamp": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "ei": ["e", "i", "e", "e", "i", "e"],
            "depth": [3.0, 1.0, 2.0, 3.0, 1.0, 2.0],
        }
    )
    fig, ax = plot_raster(spikes, group_by="ei", sort_by="depth")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["e", "i"]
    assert [len(c.get_offsets()) for c in ax.collections] == [4, 2]
    rows = {}
    for c in ax.collections:
        for t, y in c.get_offsets():
            rows[t] = y
    # node 1 (depth 1) on row 0, node 2 (depth 2) on row 1, node 0 (depth 3) on row 2
    assert rows[2.0] == 0 and rows[3.0] == 1 and rows[1.0] == 2
    with pytest.raises(ConfigError, match="cannot group or sort by 'layer'"):
        plot_raster(spikes, group_by="layer")


def test_rates_bar_and_box():
    spikes = pd.DataFrame(
        {"population": ["v1"] * 4, "node_id": [0, 0, 1, 2], "timestamp": [1.0, 2.0, 3.0, 4.0]}
    )
    rates = firing_rates(spikes, t_start=0, t_stop=1000, node_ids={"v1": np.arange(4)})
    assert rates["rate"].tolist() == [2.0, 1.0, 1.0, 0.0]
    rates["ei"] = ["e", "e", "i", "i"]
    fig, ax = plot_rates(rates, group_by="ei")
    heights = [p.get_height() for p in ax.patches]
    assert heights == [1.5, 0.5]
    assert ax.get_ylabel() == "firing rate (Hz)"
    fig, ax = plot_rates(rates, group_by="ei", kind="box")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["e", "i"]


def test_population_rate_psth():
    t = np.arange(0, 1000, 10.0)  # one spike every 10 ms from one node: 100 Hz
    spikes = pd.DataFrame({"population": "v1", "node_id": 0, "timestamp": t})
    centers, rate = population_rate(spikes, t_start=0, t_stop=1000, bin_size=50, n_nodes=1)
    assert len(centers) == 20
    np.testing.assert_allclose(rate, 100.0)
    fig, ax = plot_population_rate([("v1", centers, rate)])
    assert len(ax.lines) == 1 and ax.get_ylabel() == "rate (Hz)"


def test_rates_and_psth_of_reference_spikes_grouped_by_node_property(sonata_examples, tmp_path):
    from bmtoolkit.sonata import Circuit

    circuit = Circuit(sonata_examples / "300_intfire/simulation_config.json")
    v1 = circuit.nodes["v1"]
    spikes = load_spikes(
        sonata_examples / "300_intfire/output/spikes.h5",
        nodes=circuit.nodes,
        properties=["model_name"],
        populations=["v1"],
    )
    assert set(spikes["model_name"]) <= set(map(str, v1.column("model_name")))
    rates = firing_rates(spikes, t_start=0.0, t_stop=3000.0, node_ids={"v1": v1.ids()})
    assert len(rates) == v1.size
    rates["model_name"] = v1.column("model_name", rates["node_id"].to_numpy())
    fig, ax = plot_rates(rates, group_by="model_name")
    fig.savefig(tmp_path / "rates.png")
    expected = rates.groupby("model_name")["rate"].mean()
    assert [t.get_text() for t in ax.get_xticklabels()] == list(map(str, expected.index))
    np.testing.assert_allclose([p.get_height() for p in ax.patches], expected.to_numpy())
    assert ax.get_xlabel() == "model_name"

    centers, rate = population_rate(spikes, t_start=0, t_stop=3000, bin_size=10, n_nodes=v1.size)
    # the PSTH holds every spike: sum(rate * n * bin) = number of spikes
    assert rate.sum() * v1.size * 0.010 == pytest.approx(len(spikes))
    fig, ax = plot_population_rate([("v1", centers, rate)])
    fig.savefig(tmp_path / "psth.png")
    assert len(ax.lines) == 1 and len(ax.lines[0].get_xdata()) == 300
