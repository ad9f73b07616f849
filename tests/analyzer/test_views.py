"""Traces, statistics and network views from the conformance examples, rendered to PNG."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.analyzer import (
    connection_probability,
    degrees,
    fano_factor,
    isi_cv,
    load_spikes,
    load_traces,
    plot_connection_probability,
    plot_degree_histogram,
    plot_distribution,
    plot_positions,
    plot_traces,
    spike_counts,
)
from bmtoolkit.exceptions import ConfigError, NodeIdError
from bmtoolkit.sonata import Circuit
from tests.analyzer.conftest import saved_png


def test_soma_traces_of_chosen_nodes(sonata_examples, tmp_path):
    report = sonata_examples / "5_cells_iclamp/output/membrane_potential.h5"
    tr = load_traces(report, node_ids=[1, 3], time_window=(500.0, 1500.0))
    assert tr.data.shape == (10000, 2) and tr.node_ids.tolist() == [1, 3]
    np.testing.assert_allclose(tr.times[[0, -1]], [500.0, 1499.9])
    fig, ax = plot_traces(tr, title="5_cells_iclamp")
    assert saved_png(fig, tmp_path / "v.png") > 5_000
    assert len(ax.lines) == 2
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel().startswith("v")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["biophysical 1", "biophysical 3"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), tr.data[:, 1])
    every = load_traces(report)
    assert every.data.shape[1] == 5
    with pytest.raises(NodeIdError, match="node 9 is not in this report"):
        load_traces(report, node_ids=[9])
    with pytest.raises(ConfigError, match="no population 'v1'"):
        load_traces(report, population="v1")


def test_isi_cv_and_fano_of_reference_spikes(sonata_examples, tmp_path):
    spikes = load_spikes(sonata_examples / "300_intfire/output/spikes.h5")
    cv = isi_cv(spikes)
    assert len(cv) == spikes.groupby(["population", "node_id"]).ngroups
    assert cv["n_spikes"].sum() == len(spikes)
    finite = cv["isi_cv"].dropna()
    assert len(finite) > 100 and (finite >= 0).all()
    fano = fano_factor(spikes, t_start=0.0, t_stop=3000.0, window=100.0)
    assert (fano["mean_count"] > 0).all()
    fig, ax = plot_distribution(cv, "isi_cv", bins=15)
    assert saved_png(fig, tmp_path / "cv.png") > 3_000
    assert sum(p.get_height() for p in ax.patches) == len(finite)
    assert ax.get_xlabel() == "isi_cv" and ax.get_ylabel() == "nodes"


def test_statistics_known_values():
    rng = np.random.default_rng(1)
    poisson = np.cumsum(rng.exponential(10.0, size=5000))  # 100 Hz Poisson
    regular = np.arange(5.0, 50_000.0, 10.0)
    spikes = pd.concat(
        [
            pd.DataFrame({"population": "p", "node_id": 0, "timestamp": poisson}),
            pd.DataFrame({"population": "p", "node_id": 1, "timestamp": regular}),
        ]
    )
    cv = isi_cv(spikes).set_index("node_id")["isi_cv"]
    assert abs(cv[0] - 1.0) < 0.05 and cv[1] == pytest.approx(0.0, abs=1e-9)
    ff = fano_factor(spikes, t_start=0.0, t_stop=40_000.0, window=200.0).set_index("node_id")
    assert abs(ff.loc[0, "fano"] - 1.0) < 0.2 and ff.loc[1, "fano"] == pytest.approx(0.0)
    counts = spike_counts(
        spikes, t_start=0, t_stop=100, window=50, node_ids={"p": np.array([0, 1, 2])}
    )
    assert counts.shape == (3, 2) and counts.loc[("p", 1)].tolist() == [5, 5]
    assert counts.loc[("p", 2)].tolist() == [0, 0]
    with pytest.raises(ConfigError, match="at least 2 windows"):
        fano_factor(spikes, t_start=0, t_stop=150, window=100)


def test_network_views_of_300_pointneurons(sonata_examples, tmp_path):
    circuit = Circuit(sonata_examples / "300_pointneurons/circuit_config.json")
    internal = circuit.nodes["internal"]
    fig, ax = plot_positions(internal, color_by="model_name")
    assert saved_png(fig, tmp_path / "pos.png") > 5_000
    assert sum(len(c.get_offsets()) for c in ax.collections) == internal.size == 300
    names = sorted(set(map(str, internal.column("model_name"))))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == names
    assert (ax.get_xlabel(), ax.get_zlabel()) == ("x (um)", "z (um)")

    edges = circuit.edges["internal_to_internal"]
    din = degrees(edges, direction="in", n_nodes=300)
    dout = degrees(edges, direction="out", n_nodes=300)
    assert din.sum() == dout.sum() == edges.size
    fig, ax = plot_degree_histogram(din, dout)
    assert saved_png(fig, tmp_path / "deg.png") > 3_000
    assert len(ax.patches) == 40  # 20 bins x (in, out)
    assert sum(p.get_height() for p in ax.patches) == 600

    centers, prob, n_pairs = connection_probability(edges, internal, internal, bins=8)
    assert n_pairs.sum() == 300 * 299
    s, t = edges.source_node_ids(), edges.target_node_ids()
    pairs = len(set(zip(s[s != t].tolist(), t[s != t].tolist(), strict=True)))
    overall = np.nansum(prob * n_pairs) / n_pairs.sum()
    assert overall == pytest.approx(pairs / (300 * 299))
    fig, ax = plot_connection_probability(centers, prob, label="internal")
    assert saved_png(fig, tmp_path / "p.png") > 3_000
    assert len(ax.lines) == 1 and len(ax.lines[0].get_xdata()) == 8
    assert ax.get_ylabel() == "connection probability"
    with pytest.raises(ConfigError, match="has no positions"):
        plot_positions(circuit.nodes["external"])
