"""``bmtoolkit run``: options reach the run, errors are one line with exit code 1."""

from __future__ import annotations

import json

from bmtoolkit.cli import main


def test_run_command_with_backend_threads_and_output_dir(tiny_config, tmp_path, capsys):
    cfg = tiny_config()
    out = tmp_path / "cli_out"
    code = main(["run", str(cfg), "--backend", "numpynet", "--threads", "2", "--seed", "5",
                 "--output-dir", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "numpynet: setup" in printed and "spikes:" in printed
    doc = json.loads((out / "run_config.json").read_text())
    assert doc["run"]["threads"] == 2 and doc["run"]["random_seed"] == 5
    assert (out / "spikes.h5").exists()


def test_run_command_reports_errors_in_one_line(tiny_config, tmp_path, capsys):
    code = main(["run", str(tiny_config()), "--backend", "nosuchnet", "--quiet"])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nosuchnet" in err and "pointnet" in err
