"""The command line: validate and info on real files, exit codes and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bmtoolkit.cli import main
from bmtoolkit.sonata.config import write_circuit_config, write_simulation_config
from bmtoolkit.sonata.edges import EdgePopulationData, write_edges
from bmtoolkit.sonata.nodes import NodePopulationData, write_nodes
from bmtoolkit.sonata.reports import FrameReportData, write_frame_report
from bmtoolkit.sonata.spikes import write_spikes


@pytest.fixture
def net(tmp_path):
    write_nodes(
        tmp_path / "nodes.h5",
        [NodePopulationData.single_group("v1", np.zeros(4, int), {"x": np.arange(4.0)})],
    )
    write_edges(
        tmp_path / "edges.h5",
        [EdgePopulationData.single_group("v1_to_v1", "v1", "v1", [0, 1], [2, 3], [1, 1])],
    )
    write_circuit_config(
        tmp_path / "circuit_config.json",
        nodes=[tmp_path / "nodes.h5"],
        edges=[tmp_path / "edges.h5"],
    )
    write_simulation_config(
        tmp_path / "simulation_config.json",
        network=tmp_path / "circuit_config.json",
        run={"tstop": 10.0, "dt": 0.1},
    )
    return tmp_path


def test_validate_clean_config_exits_0(net, capsys):
    assert main(["validate", str(net / "simulation_config.json")]) == 0
    assert capsys.readouterr().out.strip() == f"{net / 'simulation_config.json'}: OK"


def test_validate_problems_exit_1_and_name_file_and_path(net, capsys):
    doc = json.loads((net / "simulation_config.json").read_text())
    doc["run"]["tstop"] = "ten"
    (net / "simulation_config.json").write_text(json.dumps(doc))
    (net / "edges.h5").unlink()
    assert (
        main(["validate", str(net / "simulation_config.json"), str(net / "circuit_config.json")])
        == 1
    )
    out = capsys.readouterr().out.splitlines()
    assert f"{net / 'simulation_config.json'}: run.tstop: 'ten' is not of type 'number'" in out
    assert any(
        line.startswith(
            f"{net / 'circuit_config.json'}: networks.edges[0].edges_file: file does not exist"
        )
        for line in out
    )


def test_validate_wrong_path_gives_one_clear_line(tmp_path, capsys):
    assert main(["validate", "--quiet", str(tmp_path / "nope.json")]) == 1
    captured = capsys.readouterr()
    assert captured.out.strip().splitlines() == [
        f"{tmp_path / 'nope.json'}: file does not exist: {tmp_path / 'nope.json'}"
    ]


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as err:
        main(["validate"])
    assert err.value.code == 2
    assert "CONFIG" in capsys.readouterr().err


def test_info_wrong_path_is_one_line_on_stderr_exit_1(tmp_path, capsys):
    assert main(["info", str(tmp_path / "x.h5")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"bmtoolkit info: error: {tmp_path / 'x.h5'}: file does not exist"]


def test_info_on_config_network_and_outputs(net, capsys):
    assert main(["info", str(net / "simulation_config.json")]) == 0
    out = capsys.readouterr().out
    assert "simulation config" in out and "tstop=10.0" in out
    assert "node population v1: 4 nodes" in out and "properties: x" in out
    assert "edge population v1_to_v1: 2 edges, v1 -> v1" in out

    assert main(["info", str(net / "edges.h5")]) == 0
    assert "edge population v1_to_v1: 2 edges" in capsys.readouterr().out

    write_spikes(net / "spikes.h5", {"v1": (np.array([0, 0, 3]), np.array([1.0, 2.5, 4.0]))})
    assert main(["info", str(net / "spikes.h5")]) == 0
    assert "population v1: 3 spikes from 2 nodes, t = 1 .. 4 ms" in capsys.readouterr().out

    report = FrameReportData.soma(
        "v1", node_ids=[0, 2], data=np.zeros((5, 2)), tstart=0.0, tstop=0.5, dt=0.1
    )
    write_frame_report(net / "v.h5", [report])
    assert main(["info", str(net / "v.h5")]) == 0
    assert "population v1: 2 nodes, 2 elements, 5 steps" in capsys.readouterr().out


def test_console_script_runs(net):
    proc = subprocess.run(
        [sys.executable, "-m", "bmtoolkit.cli", "validate", str(net / "circuit_config.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith(": OK")


def test_info_merges_the_sibling_types_csv(tmp_path, capsys):
    import pandas as pd

    from bmtoolkit.sonata.types_table import write_types_csv

    write_nodes(tmp_path / "v1_nodes.h5", [NodePopulationData.single_group("v1", np.ones(2, int))])
    write_types_csv(
        pd.DataFrame({"node_type_id": [1], "model_type": ["virtual"]}),
        tmp_path / "v1_node_types.csv",
    )
    assert main(["info", str(tmp_path / "v1_nodes.h5")]) == 0
    out = capsys.readouterr().out
    assert "(types from v1_node_types.csv)" in out
    assert "properties: model_type" in out


def test_info_describes_rates_and_ecp_files(tmp_path, capsys):

    from bmtoolkit.sonata import write_ecp_report, write_rates

    rates = tmp_path / "rates.h5"
    write_rates(rates, "exc", [0, 1], np.arange(5.0), np.full((5, 2), 4.0))
    assert main(["info", str(rates)]) == 0
    out = capsys.readouterr().out
    assert "rates" in out and "population exc: 2 series, 5 samples" in out and "mean 4 Hz" in out
    ecp = tmp_path / "ecp.h5"
    write_ecp_report(ecp, np.zeros((10, 3)), [0, 1, 2], 0.0, 1.0, 0.1)
    assert main(["info", str(ecp)]) == 0
    assert "3 channels, 10 steps" in capsys.readouterr().out


def test_every_command_module_defines_the_command_its_name_says():
    import importlib

    from bmtoolkit.cli import COMMAND_MODULES, command_name

    for name in COMMAND_MODULES:
        assert importlib.import_module(name).NAME == command_name(name)


def test_running_one_command_imports_only_its_own_module(tmp_path):
    script = tmp_path / "build_nothing.py"
    script.write_text("print('ran')\n")
    code = (
        "import sys; from bmtoolkit.cli import main; rc = main(['build', sys.argv[1]]); "
        "print(rc, sorted(m for m in sys.modules if m.startswith('bmtoolkit.commands.')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(script)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "0 ['bmtoolkit.commands.build']"
