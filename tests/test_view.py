"""``bmtoolkit view``: the 3D HTML view of a network and its spike playback, checked in a
real browser (headless Chromium) and by the figure's content."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_module

pytestmark = [pytest.mark.nest]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> Path:
    """The pointnet example folder, built and run for 500 ms."""
    require_module("nest")
    from bmtoolkit.commands.create_environment import create_environment
    from bmtoolkit.simulator import run

    config = create_environment("pointnet", tmp_path_factory.mktemp("view") / "env", tstop=500.0)
    run(config, progress=False)
    return config


def test_playback_frames_cover_the_simulated_time_and_every_spiking_cell(simulated):
    require_module("plotly")
    from bmtoolkit.analyzer.view3d import network_view
    from bmtoolkit.sonata.spikes import read_spikes

    fig = network_view(simulated)
    names = [f.name for f in fig.frames]
    assert len(names) == 100
    assert names[0] == "0-5 ms" and names[-1] == "495-500 ms"
    bounds = [tuple(float(t) for t in n.removesuffix(" ms").split("-")) for n in names]
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:])), "frames leave no gap"
    spikes = read_spikes(simulated.parent / "output" / "spikes.h5")
    nodes = fig.data[1]  # population v1, after the spiking-cells trace
    xyz = np.column_stack([nodes.x, nodes.y, nodes.z])
    lit = {tuple(p) for f in fig.frames for p in zip(f.data[0].x, f.data[0].y, f.data[0].z)}
    assert len(lit) == spikes["node_id"].nunique() > 0
    assert lit <= {tuple(p) for p in xyz}
    legend = [t.name for t in fig.data]
    assert legend[:3] == ["spiking cells", "v1", "cell v1:0"]
    assert legend[3].startswith("inputs of v1:0 (") and legend[4].startswith("outputs of v1:0 (")


def test_colour_by_a_numeric_property_uses_a_colour_scale(simulated):
    require_module("plotly")
    from bmtoolkit.analyzer.view3d import network_view

    fig = network_view(simulated, color_by="x", spikes=False)
    assert not fig.frames
    assert fig.data[0].marker.colorscale is not None and len(fig.data[0].marker.color) == 100


def test_cli_errors_name_the_bad_property_and_cell(simulated, tmp_path, capsys):
    require_module("plotly")
    from bmtoolkit.cli import main

    assert main(["view", str(simulated), "--color-by", "nope", "-o", str(tmp_path / "a.html")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no property 'nope'" in err[0] and "pop_name" in err[0]
    assert (
        main(["view", str(simulated), "--cell", "v1:100000", "-o", str(tmp_path / "b.html")]) == 1
    )
    assert "cell v1:100000 is not a positioned node" in capsys.readouterr().err
    assert not (tmp_path / "a.html").exists() and not (tmp_path / "b.html").exists()


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium not found (Debian package chromium)")


def test_html_is_self_contained_and_chromium_draws_the_cells(simulated, tmp_path):
    require_module("plotly")
    require_module("PIL")
    from PIL import Image

    from bmtoolkit.cli import main

    browser = _chromium()
    html = tmp_path / "view.html"
    assert main(["view", str(simulated), "-o", str(html)]) == 0
    text = html.read_text()
    assert "Plotly.newPlot" in text and '<script src="http' not in text, "plotly.js inside"
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader",
         "--use-angle=swiftshader", "--hide-scrollbars", "--window-size=1000,800",
         "--virtual-time-budget=10000", f"--screenshot={shot}", html.as_uri()],
        capture_output=True, text=True, timeout=180, cwd=tmp_path,
    )  # fmt: skip
    assert shot.is_file(), proc.stderr[-2000:]
    rgb = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    plot_area = rgb[60:600, 100:800]  # the 3D scene, below the title and left of the legend
    cell_blue = np.array([0x1F, 0x77, 0xB4])  # v1's marker colour (opacity 0.8 on the scene)
    near = np.abs(plot_area - cell_blue).sum(axis=2) < 90
    assert near.sum() > 300, f"only {near.sum()} cell-coloured pixels in the scene"
    black = (plot_area.sum(axis=2) < 60).sum()  # the selected cell's diamond
    assert black > 20


def test_movie_gif_plays_the_whole_run(simulated, tmp_path):
    require_module("PIL")
    from PIL import Image

    from bmtoolkit.analyzer.view3d import activity_movie

    gif = activity_movie(simulated, tmp_path / "activity.gif", frame_ms=50.0, fps=5)
    with Image.open(gif) as movie:
        assert movie.n_frames == 10  # 500 ms in 50 ms frames
        movie.seek(5)
        frame = np.asarray(movie.convert("RGB")).astype(int)
    coloured = (frame.max(axis=2) - frame.min(axis=2)) > 60  # not white or grey
    assert coloured.sum() > 20, "cells that fired in 250-300 ms are drawn in colour"


def test_plot_movie_command_writes_the_gif(simulated, tmp_path):
    """``bmtoolkit plot movie CONFIG``: the same playback as a GIF from the plot command."""
    require_module("PIL")
    from PIL import Image

    from bmtoolkit.cli import main

    out = tmp_path / "activity.gif"
    assert main(["plot", "movie", str(simulated), "--bin-size", "100", "-o", str(out)]) == 0
    with Image.open(out) as movie:
        assert movie.n_frames == 5  # 500 ms in 100 ms frames
    missing = tmp_path / "nowhere" / "a.gif"
    assert main(["plot", "movie", str(simulated), "-o", str(missing)]) == 1
