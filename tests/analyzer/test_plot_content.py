"""What the plots show, read back from the drawn artists: raster rows are node ids, silent
cells keep their rows, markers are sized for the spike count, large rasters are subsampled
and say so, every rates plot honours the grouping and keeps silent groups at 0 Hz, and rate
series are labelled by cell type."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.analyzer import load_spikes, plot_raster, plot_rates
from bmtoolkit.cli import main
from bmtoolkit.commands import plot as plot_command
from tests.analyzer.conftest import saved_png


def _offsets(ax) -> np.ndarray:
    return np.concatenate([c.get_offsets() for c in ax.collections])


def _tick(ax, y: float) -> str:
    return ax.yaxis.get_major_formatter()(y, 0)


def _cli_figure(argv: list[str]):
    """The figure ``bmtoolkit plot ARGV`` draws (before saving)."""
    parser = argparse.ArgumentParser()
    plot_command.add_arguments(parser)
    args = parser.parse_args(argv)
    src = plot_command._resolve(args.source, args)
    return plot_command.PLOTS[args.kind](args, src)


def test_raster_rows_are_node_ids_and_silent_cells_keep_rows(sonata_examples, tmp_path):
    config = sonata_examples / "300_intfire/simulation_config.json"
    spikes = load_spikes(sonata_examples / "300_intfire/output/spikes.h5")
    assert spikes["node_id"].nunique() == 273  # 27 of the 300 v1 cells are silent
    fig, ax = plot_raster(str(config), group_by="model_name")
    assert saved_png(fig, tmp_path / "raster.png") > 10_000
    xy = _offsets(ax)
    assert len(xy) == len(spikes)
    # every mark sits on the row of its node id, and the axis spans all 300 nodes
    joined = np.sort(xy[:, 0] * 1000 + xy[:, 1])
    expected = np.sort(spikes["timestamp"].to_numpy() * 1000 + spikes["node_id"].to_numpy())
    np.testing.assert_allclose(joined, expected)
    assert ax.get_ylim() == (-0.5, 299.5)
    assert ax.get_ylabel() == "node id" and _tick(ax, 250) == "250"
    # legend markers as large as a readable dot, one per model
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["LIF_exc", "LIF_inh"]
    assert all(h.get_sizes()[0] >= 20 for h in legend.legend_handles)
    assert all(h.get_linewidths()[0] >= 2 for h in legend.legend_handles)


def test_raster_without_nodes_uses_ids_and_stacks_populations():
    spikes = pd.DataFrame(
        {
            "population": ["a", "a", "b"],
            "node_id": [5, 9, 2],
            "timestamp": [1.0, 2.0, 3.0],
        }
    )
    fig, ax = plot_raster(spikes)
    rows = dict(zip(_offsets(ax)[:, 0], _offsets(ax)[:, 1], strict=True))
    assert rows == {1.0: 5, 2.0: 9, 3.0: 12}  # population b starts after a's ids 0..9
    assert ax.get_ylim() == (-0.5, 12.5)
    assert _tick(ax, 12) == "2" and _tick(ax, 9) == "9"  # ticks give the id in its population
    assert [t.get_text() for t in ax.texts] == ["a", "b"]


def test_raster_sorted_by_a_property_shows_it_on_the_axis(sonata_examples):
    from bmtoolkit.sonata import Circuit

    circuit = Circuit(sonata_examples / "300_intfire/simulation_config.json")
    spikes = load_spikes(
        sonata_examples / "300_intfire/output/spikes.h5",
        nodes=circuit.nodes,
        properties=["model_name"],
    )
    fig, ax = plot_raster(spikes, sort_by="model_name", nodes=circuit.nodes)
    assert ax.get_ylabel() == "model_name" and ax.get_ylim() == (-0.5, 299.5)
    names = np.asarray(circuit.nodes["v1"].column("model_name"))
    n_exc = int((names == "LIF_exc").sum())
    assert _tick(ax, 0) == "LIF_exc" and _tick(ax, n_exc) == "LIF_inh"


def test_raster_markers_sized_for_the_count_and_large_rasters_subsampled():
    from bmtoolkit.analyzer.plots import MAX_RASTER_SPIKES

    few = pd.DataFrame({"population": "v1", "node_id": np.arange(10), "timestamp": 1.0})
    _, ax = plot_raster(few)
    assert ax.collections[0].get_sizes()[0] >= 20
    rng = np.random.default_rng(1)
    n = 500_000
    many = pd.DataFrame(
        {
            "population": "v1",
            "node_id": rng.integers(0, 5000, n),
            "timestamp": np.sort(rng.uniform(0, 1000, n)),
        }
    )
    _, ax = plot_raster(many, title="big")
    assert len(_offsets(ax)) == MAX_RASTER_SPIKES < n
    assert ax.get_title() == f"big; showing {MAX_RASTER_SPIKES:,} of {n:,} spikes"
    assert ax.collections[0].get_sizes()[0] <= 2.0
    assert ax.get_ylim() == (-0.5, 4999.5)


def test_raster_rate_panel_holds_every_spike(sonata_examples, tmp_path):
    config = sonata_examples / "300_intfire/simulation_config.json"
    spikes = load_spikes(sonata_examples / "300_intfire/output/spikes.h5")
    fig, ax = plot_raster(str(config), rate_panel=True, bin_size=10.0, time_range=(0, 3000))
    saved_png(fig, tmp_path / "raster_rate.png")
    assert len(fig.axes) == 2 and fig.axes[0] is ax
    panel = fig.axes[1]
    assert panel.get_ylabel() == "rate (Hz/cell)" and panel.get_xlabel() == "time (ms)"
    heights = np.array([p.get_height() for p in panel.patches])
    assert len(heights) == 300
    # Hz per cell over 300 cells in 10 ms bins: the bars add up to the spike count
    assert heights.sum() * 300 * 0.010 == pytest.approx(len(spikes))


def test_rates_keep_silent_groups_at_zero_with_labelled_error_bars():
    rates = pd.DataFrame({"rate": [2.0, 4.0, 0.0], "pop_name": ["exc", "exc", "inh"]})
    fig, ax = plot_rates(rates, group_by="pop_name", groups=["exc", "inh", "lgn"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["exc", "inh", "lgn"]
    assert [p.get_height() for p in ax.patches] == [3.0, 0.0, 0.0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mean ± s.d. across nodes"]
    assert [t.get_text() for t in ax.texts] == ["n=2", "n=1", "n=0"]


def test_cli_rates_and_psth_honour_group_by_and_show_silent_groups(sonata_examples, tmp_path):
    from bmtoolkit.sonata import Circuit, write_spikes

    config = sonata_examples / "300_intfire/simulation_config.json"
    v1 = Circuit(config).nodes["v1"]
    names = np.asarray(v1.column("model_name")).astype(str)
    exc = v1.ids()[names == "LIF_exc"][:3]
    spikes = tmp_path / "exc_only.h5"  # only three excitatory cells fire: LIF_inh is silent
    write_spikes(spikes, {"v1": (np.repeat(exc, 2), np.tile([10.0, 20.0], 3))})
    argv = ["rates", str(spikes), "--circuit", str(config), "--group-by", "model_name",
            "--time-range", "0", "1000"]  # fmt: skip
    _, ax = _cli_figure(argv)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["LIF_exc", "LIF_inh"]
    n_exc = int((names == "LIF_exc").sum())
    np.testing.assert_allclose([p.get_height() for p in ax.patches], [6.0 / n_exc, 0.0])
    _, ax = _cli_figure([*argv, "--style", "psth"])
    assert [line.get_label() for line in ax.lines] == ["LIF_exc", "LIF_inh"]
    assert ax.lines[1].get_ydata().max() == 0.0 and ax.lines[0].get_ydata().max() > 0
    out = tmp_path / "psth.png"
    assert main(["plot", *argv, "--style", "psth", "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def _scaffold(tmp_path, backend: str):
    sim = tmp_path / backend
    assert main(["create-environment", "--backend", backend, "--tstop", "200", str(sim)]) == 0
    assert main(["run", "--quiet", str(sim / "config.json")]) == 0
    return sim


def test_popnet_rate_lines_named_by_population(tmp_path):
    from bmtoolkit.simulator.core.registries import backend_names

    if "popnet" not in backend_names():
        pytest.skip("the popnet backend is not registered in this installation")
    sim = _scaffold(tmp_path, "popnet")
    _, ax = _cli_figure(["rates", str(sim / "config.json")])
    assert [line.get_label() for line in ax.lines] == ["exc", "inh"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["exc", "inh"]


def test_filternet_rates_aggregated_by_cell_type(tmp_path):
    from PIL import Image

    sim = _scaffold(tmp_path, "filternet")
    rates = sim / "output" / "rates.h5"
    circuit = sim / "circuit_config.json"
    fig, ax = _cli_figure(["rates", str(rates), "--circuit", str(circuit)])
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["sOFF_TF4 (mean of 80)", "sON_TF4 (mean of 80)"]
    _, ax = _cli_figure(["rates", str(rates)])  # no node properties: the population mean
    assert [line.get_label() for line in ax.lines] == ["mean of 160 nodes"]
    out = tmp_path / "lgn_rates.png"
    assert main(["plot", "rates", str(rates), "--circuit", str(circuit), "-o", str(out)]) == 0
    width, height = Image.open(out).size
    assert width < 1200 and height < 600


def test_cli_traces_honour_group_by(sonata_examples, tmp_path):
    from bmtoolkit.analyzer import load_traces

    config = sonata_examples / "5_cells_iclamp/simulation_config.json"
    _, ax = _cli_figure(
        ["traces", str(config), "--report", "membrane_potential", "--group-by", "ei"]
    )
    assert [line.get_label() for line in ax.lines] == ["e (mean of 3)", "i (mean of 2)"]
    traces = load_traces(sonata_examples / "5_cells_iclamp/output/membrane_potential.h5")
    np.testing.assert_allclose(ax.lines[1].get_ydata(), traces.data[:, 3:].mean(axis=1))
    out = tmp_path / "v_by_ei.png"
    argv = ["plot", "traces", str(config), "--report", "membrane_potential", "--group-by", "ei"]
    assert main([*argv, "-o", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_bmtk_style_raster_keeps_silent_rows(sonata_examples):
    from bmtoolkit.analyzer.spike_trains import plot_raster as bmtk_raster

    config = sonata_examples / "300_intfire/simulation_config.json"
    fig = bmtk_raster(config_file=str(config), group_by="model_name", show=False)
    raster, panel = fig.axes[:2]
    assert raster.get_ylim() == (-0.5, 299.5) and raster.get_ylabel() == "node id"
    assert [t.get_text() for t in raster.get_legend().get_texts()] == ["LIF_exc", "LIF_inh"]
    assert panel.get_ylabel() == "rate (Hz)"
