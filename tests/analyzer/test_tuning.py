"""Tuning curves and selectivity indices recover the tuning that generated the spikes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.analyzer import (
    grating_responses,
    plot_tuning,
    preferred_value,
    read_sweep,
    selectivity,
    tuning_curves,
)
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.sonata import write_spikes
from tests.analyzer.conftest import saved_png

DIRECTIONS = np.arange(0.0, 360.0, 45.0)
TFS = (1.0, 4.0, 8.0)
PREF = np.array([0.0, 90.0, 225.0, 45.0])  # preferred direction of nodes 0..3; node 4 silent


def _rate(direction: float, tf: float) -> np.ndarray:
    """Von Mises direction tuning (stronger at the preferred than the null direction)."""
    d = np.deg2rad(direction - PREF)
    tf_gain = {1.0: 0.5, 4.0: 1.0, 8.0: 0.25}[tf]
    return tf_gain * (2.0 + 40.0 * np.exp(2.0 * (np.cos(d) - 1.0)))


def _sweep(tmp_path) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = []
    for direction in DIRECTIONS:
        for tf in TFS:
            ids, times = [], []
            for node, r in enumerate(_rate(direction, tf)):
                n = rng.poisson(r * 20.0)  # 20 s of response
                ids.append(np.full(n, node))
                times.append(np.sort(rng.uniform(0.0, 20_000.0, n)))
            path = tmp_path / f"spikes_{int(direction)}_{int(tf)}.h5"
            write_spikes(path, {"v1": (np.concatenate(ids), np.concatenate(times))})
            rows.append((direction, tf, path.name))
    table = pd.DataFrame(rows, columns=["orientation", "temporal_frequency", "spikes_file"])
    table.to_csv(tmp_path / "sweep.csv", index=False)
    return table


def test_sweep_to_curves_indices_and_plot(tmp_path):
    _sweep(tmp_path)
    sweep = read_sweep(tmp_path / "sweep.csv")
    assert len(sweep) == len(DIRECTIONS) * len(TFS)
    responses = grating_responses(
        sweep, t_start=0.0, t_stop=20_000.0, node_ids={"v1": np.arange(5)}
    )
    assert len(responses) == 5 * len(sweep)
    assert set(responses.columns) == {"population", "node_id", "orientation",
                                      "temporal_frequency", "rate"}  # fmt: skip
    ori = tuning_curves(responses, at={"temporal_frequency": 4.0})
    assert ori.shape == (5, len(DIRECTIONS))
    expected = np.array([_rate(d, 4.0) for d in DIRECTIONS]).T
    np.testing.assert_allclose(ori.to_numpy()[:4], expected, rtol=0.15, atol=0.5)

    sel = selectivity(ori)
    assert sel["preferred"].iloc[:4].tolist() == PREF.tolist()
    assert sel.iloc[4].isna()[["preferred", "osi", "gosi"]].all()  # silent node
    peak, orth, null = 42.0, 2.0 + 40.0 * np.exp(-2.0), 2.0 + 40.0 * np.exp(-4.0)
    np.testing.assert_allclose(sel["osi"].iloc[:4], (peak - orth) / (peak + orth), atol=0.05)
    np.testing.assert_allclose(sel["dsi"].iloc[:4], (peak - null) / (peak + null), atol=0.05)
    assert (sel["gosi"].iloc[:4] > 0.2).all() and (sel["gdsi"].iloc[:4] > 0.3).all()

    tf = tuning_curves(responses, parameter="temporal_frequency")
    assert list(tf.columns) == list(TFS)
    assert preferred_value(tf).iloc[:4].tolist() == [4.0] * 4

    fig, ax = plot_tuning(ori, nodes=[("v1", 0), ("v1", 2), ("v1", 3)])
    assert saved_png(fig, tmp_path / "tuning.png") > 5_000
    assert len(ax.lines) == 3 and all(len(line.get_xdata()) == 8 for line in ax.lines)
    assert ax.get_xlabel() == "orientation (deg)" and ax.get_ylabel() == "firing rate (Hz)"
    fig, ax = plot_tuning(tf, mean=True)
    assert len(ax.lines) == 1 and ax.get_xlabel() == "temporal frequency (Hz)"
    fig, ax = plot_tuning(ori, max_nodes=2)
    top = ori.max(axis=1).sort_values(ascending=False).index[:2]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"v1 {n}" for _, n in top]


def test_orientation_only_sweep_and_errors():
    curves = pd.DataFrame([[8.0, 4.0, 1.0, 4.0]], columns=[0.0, 45.0, 90.0, 135.0])
    sel = selectivity(curves).iloc[0]
    assert sel["osi"] == pytest.approx(7.0 / 9.0) and np.isnan(sel["dsi"])
    assert sel["gosi"] == pytest.approx(7.0 / 17.0)
    with pytest.raises(ConfigError, match="at least 2 directions"):
        selectivity(curves[[0.0]])
    spikes = pd.DataFrame({"population": "v1", "node_id": [0], "timestamp": [1.0]})
    with pytest.raises(ConfigError, match="no 'temporal_frequency' column"):
        tuning_curves(grating_responses({0.0: spikes}, t_start=0, t_stop=10),
                      parameter="temporal_frequency")  # fmt: skip
    with pytest.raises(ConfigError, match="no conditions"):
        grating_responses({}, t_start=0, t_stop=1)


def test_tuning_plot_honours_group_by(tmp_path):
    """``plot tuning --group-by``: one mean curve per group of nodes (a node property read
    from ``--circuit``, or the population), each labelled with its size."""
    from bmtoolkit.builder import NetworkBuilder, write_circuit
    from bmtoolkit.cli import main

    _sweep(tmp_path)
    net = NetworkBuilder("v1", seed=1)
    net.add_nodes(N=2, model_type="virtual", kind="a")
    net.add_nodes(N=3, model_type="virtual", kind="b")
    net.build()
    circuit = write_circuit([net], tmp_path / "net")

    sweep = read_sweep(tmp_path / "sweep.csv")
    responses = grating_responses(
        sweep, t_start=0.0, t_stop=20_000.0, node_ids={"v1": np.arange(5)}
    )
    curves = tuning_curves(responses, at={"temporal_frequency": 4.0})
    groups = {("v1", n): "a" if n < 2 else "b" for n in range(5)}
    fig, ax = plot_tuning(curves, groups=groups)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "a (mean of 2)",
        "b (mean of 3)",
    ]
    np.testing.assert_allclose(ax.lines[0].get_ydata(), curves.to_numpy()[:2].mean(axis=0))

    out = tmp_path / "tuning.png"
    args = ["plot", "tuning", str(tmp_path / "sweep.csv"), "--group-by", "kind"]
    assert main([*args, "--circuit", str(circuit), "-o", str(out)]) == 0
    assert out.stat().st_size > 5_000
    assert main([*args, "-o", str(tmp_path / "no.png")]) == 1  # a property needs --circuit
    assert not (tmp_path / "no.png").exists()
    assert main([*args[:-1], "population", "-o", str(tmp_path / "pop.png")]) == 0
