"""What a user sees while work runs: bars in notebooks, lines in logs and pipes, run summaries,
and the notice before NEURON mechanisms compile."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from bmtoolkit import progress as feedback
from tests.conftest import require_module

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def every_line(monkeypatch):
    """Progress lines at every 10 % however fast the work goes."""
    monkeypatch.setattr(feedback, "LINE_INTERVAL", 0.0)


def test_non_terminal_stderr_gets_progress_lines(every_line, capsys, caplog):
    caplog.set_level("INFO", logger="bmtoolkit.progress")
    with feedback.Progress(200, "simulate", unit="ms") as bar:  # pytest's stderr: no terminal
        for _ in range(20):
            bar.update(10)
    err = capsys.readouterr().err.splitlines()
    percents = [line for line in err if "% (" in line]
    assert [p.split(": ")[2].split("%")[0] for p in percents] == [str(10 * i) for i in range(1, 10)]
    assert "(100/200 ms)" in percents[4] and "s left" in percents[4]
    assert err[-1].startswith("bmtoolkit: simulate: done 200 ms in")
    assert not any("\r" in line for line in err), "no bar redraws in a file"
    logged = [r.getMessage() for r in caplog.records]
    assert logged[0] == "simulate: started, 200 ms to do" and logged[-1].startswith(
        "simulate: done"
    )


def test_quiet_progress_prints_nothing_but_logs(capsys, caplog):
    caplog.set_level("INFO", logger="bmtoolkit.progress")
    with feedback.Progress(3, "write", unit="files", show=False) as bar:
        bar.update(3)
    assert capsys.readouterr().err == ""
    assert [r.getMessage().split(" in ")[0] for r in caplog.records] == [
        "write: started, 3 files to do",
        "write: done 3 files",
    ]


def test_callable_rule_on_1000_nodes_shows_progress_within_its_block(every_line, capsys):
    """One block of 1,000 targets: the bar moves as the rule visits targets."""
    from bmtoolkit.builder import NetworkBuilder

    def rule(source, target):
        return 1 if abs(source["x"] - target["x"]) < 0.002 else 0

    net2 = NetworkBuilder("v2")
    net2.add_nodes(N=1000, pop_name="exc", x=np.linspace(0, 1, 1000))
    net2.add_nodes(N=5, pop_name="src", x=np.linspace(0, 1, 5))
    net2.add_edges(source={"pop_name": "src"}, target={"pop_name": "exc"},
                   connection_rule=rule, syn_weight=1.0)  # fmt: skip
    net2.build(seed=1)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "build v2->v2" in ln and "% (" in ln]
    assert len(lines) == 9, err
    # the rule is called in chunks of about a tenth of the block: the middle line is near 500
    middle = int(lines[4].split("% (")[1].split("/")[0])
    assert 450 <= middle <= 550, lines


def _pointnet_env(tmp_path: Path) -> Path:
    from bmtoolkit.commands.create_environment import create_environment

    return create_environment("pointnet", tmp_path / "env", tstop=500.0)


@pytest.mark.nest
def test_run_log_records_steps_progress_and_summary(tmp_path):
    require_module("nest")
    from bmtoolkit.simulator import run

    config = _pointnet_env(tmp_path)
    result = run(config)
    log = (config.parent / "output" / "log.txt").read_text()
    for step in ("loading the network", "simulating", "writing outputs"):
        assert f"pointnet run: {step} ..." in log
    assert "pointnet: started, 500 ms to do" in log and "pointnet: done 500 ms in" in log
    summary = result.extra["summary"]["populations"]
    assert set(summary) == {"v1"}  # the virtual lgn population is an input, not listed
    n = summary["v1"]["spikes"]
    assert n > 0 and summary["v1"]["cells"] == 100
    assert f"v1: {n} spikes from 100 cells, mean rate {n / 100 / 0.5:.3g} Hz" in log


@pytest.mark.nest
def test_summary_names_silent_populations_and_empty_node_sets(tmp_path, capfd):
    require_module("nest")
    from bmtoolkit.simulator import run

    config = _pointnet_env(tmp_path)
    sim = config.parent / "simulation_config.json"
    doc = json.loads(sim.read_text())
    doc["inputs"] = {}  # nothing drives the cells
    doc["node_sets"] = {"nobody": {"pop_name": "no such type"}}
    sim.write_text(json.dumps(doc))
    result = run(config)
    err = capfd.readouterr().err
    assert "v1: 0 spikes from 100 cells, mean rate 0 Hz" in err
    assert "populations with no spikes: v1" in err
    assert "node sets that select no cells: nobody" in err
    assert result.extra["summary"]["silent_populations"] == ["v1"]


_NOTEBOOK_CELLS = [
    """\
import numpy as np
from bmtoolkit.builder import NetworkBuilder

net = NetworkBuilder("v1")
net.add_nodes(N=1000, pop_name="exc", x=np.linspace(0, 1, 1000))
net.add_nodes(N=5, pop_name="src", x=np.linspace(0, 1, 5))
net.add_edges(source={"pop_name": "src"}, target={"pop_name": "exc"},
              connection_rule=lambda s, t: int(abs(s["x"] - t["x"]) < 0.01), syn_weight=1.0)
net.build(seed=1)
""",
    """\
from bmtoolkit.simulator import run
result = run(CONFIG)
""",
]


def _bars(cell) -> list[str]:
    """Text bars (``..%|###|``) or tqdm widgets in a cell's outputs."""
    found = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and "%|" in out.get("text", ""):
            found.append(out["text"])
        if "application/vnd.jupyter.widget-view+json" in out.get("data", {}):
            found.append("widget")
    return found


@pytest.mark.nest
def test_notebook_build_and_run_show_progress_bars(tmp_path):
    require_module("nbclient")
    require_module("ipykernel")
    require_module("nest")
    import nbformat
    from nbclient import NotebookClient

    config = _pointnet_env(tmp_path)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src.replace("CONFIG", repr(str(config))))
                for src in _NOTEBOOK_CELLS]  # fmt: skip
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    build, simulate = nb.cells
    assert any("build v1->v1 #0" in b or b == "widget" for b in _bars(build)), build.outputs
    run_bars = _bars(simulate)
    assert any("pointnet run" in b or b == "widget" for b in run_bars), simulate.outputs
    assert any("loading the network" in b for b in run_bars) or "widget" in run_bars
    text = "".join(o.get("text", "") for o in simulate.outputs if o.get("name") == "stdout")
    assert "run summary" in text and "spikes from 100 cells" in text


@pytest.mark.neuron
def test_first_compile_says_so_before_compiling(tmp_path):
    """With an empty cache the notice naming the cache comes while no library exists yet."""
    require_module("neuron")
    cache = tmp_path / "empty_cache"
    script = textwrap.dedent(
        """\
        import pathlib, sys
        from bmtoolkit.simulator.bionet.mechanisms import builtin_mod_files, compile_mechanisms

        cache = pathlib.Path(sys.argv[1])
        real = sys.stderr

        class Watch:
            def write(self, text):
                if "compiling" in text:
                    libs = list(cache.rglob("libnrnmech.so"))
                    print("LIBRARIES-AT-NOTICE", len(libs))
                return real.write(text)

            def flush(self):
                real.flush()

        sys.stderr = Watch()
        files = [p for p in builtin_mod_files() if p.stem == "CaDynamics"]
        print("FIRST", compile_mechanisms(files))
        print("SECOND", compile_mechanisms(files))
        """
    )
    env = {**__import__("os").environ, "BMTOOLKIT_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", script, str(cache)], capture_output=True,
                          text=True, timeout=600, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    notices = [ln for ln in proc.stderr.splitlines() if "compiling" in ln]
    assert len(notices) == 1, proc.stderr  # the second call reuses the cache silently
    assert str(cache / "mechanisms") in notices[0] and "once" in notices[0]
    assert "LIBRARIES-AT-NOTICE 0" in proc.stdout


@pytest.mark.slow
@pytest.mark.neuron
def test_first_bionet_run_with_an_empty_cache_says_it_compiles(tmp_path):
    """``bmtoolkit run`` of the bionet example: the compile notice, then the run; once."""
    require_module("neuron")
    import os

    from bmtoolkit.commands.create_environment import create_environment

    config = create_environment("bionet", tmp_path / "env", tstop=100.0)
    env = {**os.environ, "BMTOOLKIT_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "bmtoolkit.cli", "run", str(config)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    lines = first.stderr.splitlines()
    notice = [i for i, ln in enumerate(lines) if "compiling" in ln and "NEURON mechanism" in ln]
    assert len(notice) == 1, first.stderr
    assert str(tmp_path / "cache" / "mechanisms") in lines[notice[0]]
    assert "once" in lines[notice[0]]
    summary = [i for i, ln in enumerate(lines) if "run summary" in ln]
    assert summary and notice[0] < summary[0]
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    assert again.returncode == 0 and "compiling" not in again.stderr, again.stderr[-2000:]
