"""The command line as a user meets it: every sub-command through a real subprocess.

Exit codes: 0 success, 1 a problem with the input or the run (one ``error:`` line on stderr,
no traceback), 2 a usage error (argparse's usage and one ``error:`` line).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bmtoolkit.cli import build_parser
from tests.conftest import require_module

COMMANDS = sorted(build_parser()._subparsers._group_actions[0].choices)


def bmtoolkit(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYNEST_QUIET": "1", "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "bmtoolkit.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )


def one_error_line(proc: subprocess.CompletedProcess, code: int) -> str:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, proc.stderr
    return errors[0]


def test_every_command_is_listed():
    assert {"create-environment", "build", "run", "validate", "info", "plot",
            "show-versions"} <= set(COMMANDS)  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command(command):
    proc = bmtoolkit(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: bmtoolkit " + command)
    assert "-h, --help" in proc.stdout


def test_top_level_help_and_no_command():
    proc = bmtoolkit("--help")
    assert proc.returncode == 0
    for command in COMMANDS:
        assert command in proc.stdout
    assert bmtoolkit().returncode == 2
    assert bmtoolkit("--version").stdout.startswith("bmtoolkit ")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("runn", "x.json"), "invalid choice: 'runn'"),
        (("run", "x.json", "--thread", "2", "--bogus"), "unrecognized arguments: --bogus"),
        (("plot", "rastr", "x.json"), "invalid choice: 'rastr'"),
        (("plot", "raster", "x.json", "--group-bye", "ei"), "unrecognized arguments"),
        (("create-environment", "--backend", "pointnett", "d"), "invalid choice: 'pointnett'"),
        (("create-environment", "d"), "the following arguments are required: --backend"),
        (("run", "x.json", "--threads", "two"), "invalid int value: 'two'"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, needle):
    line = one_error_line(bmtoolkit(*args), 2)
    assert needle in line


@pytest.mark.parametrize(
    "args",
    [
        ("run", "{p}"),
        ("validate", "--quiet", "{p}"),
        ("info", "{p}"),
        ("plot", "raster", "{p}"),
        ("build", "{p}"),
    ],
)
def test_wrong_path_is_one_clear_line_exit_1(tmp_path, args):
    missing = tmp_path / "no_such_config.json"
    proc = bmtoolkit(*(a.format(p=missing) for a in args))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    text = (proc.stderr + proc.stdout).strip().splitlines()
    assert len(text) == 1 and str(missing) in text[0], text


@pytest.mark.slow
def test_plot_errors_name_the_problem(sonata_examples, tmp_path):
    spikes = sonata_examples / "300_intfire/output/spikes.h5"
    line = one_error_line(bmtoolkit("plot", "raster", spikes, "--group-by", "layer"), 1)
    assert "'layer' is a node property" in line
    cfg = sonata_examples / "300_intfire/simulation_config.json"
    line = one_error_line(bmtoolkit("plot", "raster", cfg, "--group-by", "layer"), 1)
    assert "no node property 'layer'" in line and "model_name" in line
    line = one_error_line(bmtoolkit("plot", "traces", cfg), 1)
    assert "no report file to plot" in line
    out = tmp_path / "raster.png"
    proc = bmtoolkit("plot", "raster", cfg, "--group-by", "model_name", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:4] == b"\x89PNG" and proc.stdout.strip() == str(out)


def test_create_environment_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "sim").mkdir()
    (tmp_path / "sim" / "notes.txt").write_text("mine")
    line = one_error_line(bmtoolkit("create-environment", "--backend", "pointnet",
                                    tmp_path / "sim"), 1)  # fmt: skip
    assert "folder is not empty" in line and "--overwrite" in line
    assert (tmp_path / "sim" / "notes.txt").read_text() == "mine"


def _scaffold_and_run(tmp_path: Path, backend: str, tstop: float) -> Path:
    sim = tmp_path / backend
    proc = bmtoolkit("create-environment", "--backend", backend, "--tstop", tstop, sim)
    assert proc.returncode == 0, proc.stderr
    assert f"bmtoolkit run {sim / 'config.json'}" in proc.stdout
    for name in ("config.json", "circuit_config.json", "simulation_config.json",
                 "build_network.py"):  # fmt: skip
        assert (sim / name).is_file()
    assert json.loads((sim / "config.json").read_text())["network"] == "circuit_config.json"
    assert bmtoolkit("validate", sim / "config.json").returncode == 0
    # run from another folder: paths in the configs are relative to the config files
    proc = bmtoolkit("run", "--quiet", sim / "config.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    return sim


@pytest.mark.slow
@pytest.mark.nest
def test_pointnet_environment_runs_and_plots(tmp_path):
    require_module("nest")
    from bmtoolkit.analyzer import load_spikes

    sim = _scaffold_and_run(tmp_path, "pointnet", 500.0)
    spikes = load_spikes(sim / "output" / "spikes.h5")
    assert set(spikes["population"]) == {"v1"}
    assert spikes["node_id"].nunique() > 50 and spikes["timestamp"].max() < 500.0
    for kind in ("raster", "rates", "network"):
        out = sim / f"{kind}.png"
        proc = bmtoolkit("plot", kind, sim / "config.json", "--group-by", "pop_name", "-o", out)
        assert proc.returncode == 0, proc.stderr
        assert out.stat().st_size > 5_000


@pytest.mark.slow
def test_bionet_environment_runs(tmp_path):
    require_module("neuron")
    from bmtoolkit.analyzer import load_traces

    sim = _scaffold_and_run(tmp_path, "bionet", 400.0)
    traces = load_traces(sim / "output" / "membrane_potential.h5")
    assert traces.data.shape == (4000, 2)
    v = traces.data
    assert -80.0 < v[0].mean() < -60.0  # rest
    assert v.max() > 0.0  # the current clamp makes the cells fire
    proc = bmtoolkit("plot", "traces", sim / "config.json", "-o", sim / "v.png")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_popnet_environment_runs(tmp_path):
    from bmtoolkit.simulator.core.registries import backend_names

    if "popnet" not in backend_names():
        pytest.skip("the popnet backend is not registered in this installation")
    sim = _scaffold_and_run(tmp_path, "popnet", 200.0)
    from bmtoolkit.sonata import read_rates

    rates = read_rates(sim / "output" / "rates.h5")
    assert set(rates) == {"cortex"}
    series = rates["cortex"]
    assert series.data.shape[1] == 2 and (series.data[-1] > 0).all()


@pytest.mark.slow
def test_filternet_environment_runs(tmp_path):
    from bmtoolkit.analyzer import load_spikes

    sim = _scaffold_and_run(tmp_path, "filternet", 300.0)
    spikes = load_spikes(sim / "output" / "spikes.h5")
    assert set(spikes["population"]) == {"lgn"} and len(spikes) > 0


def test_plot_traces_tuning_and_rate_series_in_process(sonata_examples, tmp_path, capsys):
    """The other plot kinds, in-process (fast): a report file, a sweep table, a rates file."""
    import numpy as np

    from bmtoolkit.cli import main
    from bmtoolkit.sonata import write_rates, write_spikes

    report = sonata_examples / "5_cells_iclamp/output/membrane_potential.h5"
    out = tmp_path / "v.png"
    args = ["plot", "traces", str(report), "--node-ids", "0", "2", "-o", str(out)]
    assert main([*args, "--time-range", "0", "1000"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"

    rng = np.random.default_rng(0)
    rows = ["orientation,spikes_file"]
    for ori in (0.0, 45.0, 90.0, 135.0):
        n = 40 if ori == 90.0 else 10
        write_spikes(tmp_path / f"s{int(ori)}.h5",
                     {"v1": (np.zeros(n, int), np.sort(rng.uniform(0, 1000, n)))})  # fmt: skip
        rows.append(f"{ori},s{int(ori)}.h5")
    (tmp_path / "sweep.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "tuning.png"
    sweep = str(tmp_path / "sweep.csv")
    assert main(["plot", "tuning", sweep, "--time-range", "0", "1000", "-o", str(out)]) == 0
    assert out.stat().st_size > 3_000

    write_rates(tmp_path / "rates.h5", "cortex", np.array([0, 1]), np.arange(0.0, 10.0, 1.0),
                np.ones((10, 2)))  # fmt: skip
    out = tmp_path / "rates.png"
    assert main(["plot", "rates", str(tmp_path / "rates.h5"), "-o", str(out)]) == 0
    assert out.stat().st_size > 3_000
    capsys.readouterr()
    assert main(["plot", "traces", str(report), "--node-ids", "7"]) == 1
    assert "node 7 is not in this report" in capsys.readouterr().err
