"""Data loss: a run or a network save never destroys files bmtoolkit did not write.

Every refusal is checked the way a user meets it: ``bmtoolkit`` in a subprocess, exit code 1,
exactly one line on stderr naming the file and the field, no traceback, and the sha256 of
every file around (inputs, the user's files, previous outputs) unchanged afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bmtoolkit.exceptions import MissingFileError
from bmtoolkit.simulator import run
from bmtoolkit.sonata import read_spikes, write_spikes
from tests.simulator.core.conftest import write_tiny_config

RUN = {"tstop": 50.0, "dt": 0.1, "random_seed": 3}
CLAMP = {"input_type": "current_clamp", "module": "IClamp", "node_set": "v1",
         "amp": 400.0, "delay": 5.0, "duration": 40.0}  # fmt: skip


def bmtoolkit(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYNEST_QUIET": "1", "MPLBACKEND": "Agg", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bmtoolkit.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def snapshot(root: Path) -> dict[str, str]:
    """``{relative path: what is there}``: sha256 of files, link targets, other kinds."""
    out: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(folder) / name
            rel = str(p.relative_to(root))
            mode = os.lstat(p).st_mode
            if stat.S_ISLNK(mode):
                out[rel] = "link:" + os.readlink(p)
            elif stat.S_ISREG(mode):
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISDIR(mode):
                out[rel] = "dir"
            else:
                out[rel] = f"mode:{stat.S_IFMT(mode)}"
    return out


def one_error_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def make_sim(root: Path, **output) -> Path:
    """The tiny network, a spike input file in ``inputs/`` and a config; returns its path."""
    (root / "inputs").mkdir(parents=True)
    spikes = root / "inputs" / "inp_spikes.h5"
    write_spikes(spikes, {"inp": (np.array([0, 1]), np.array([5.0, 15.0]))})
    inputs = {"clamp": CLAMP, "spikes": {"input_type": "spikes", "module": "sonata",
                                         "node_set": "inp", "input_file": str(spikes)}}  # fmt: skip
    out = {"output_dir": root / "output", "log_file": "log.txt", **output}
    return write_tiny_config(root, run=RUN, output=out, inputs=inputs)


def run_cli(cfg: Path, *extra, cwd=None, env=None) -> subprocess.CompletedProcess:
    return bmtoolkit("run", cfg, "--backend", "numpynet", "--quiet", *extra, cwd=cwd, env=env)


# ---------------------------------------------------------------------- 1. the output folder
@pytest.mark.parametrize("target", ["sim", "inputs", "network", "models"])
def test_output_dir_that_is_or_holds_an_input_is_refused(tmp_path, target):
    cfg = make_sim(tmp_path / "sim")
    folder = tmp_path / "sim" if target == "sim" else tmp_path / "sim" / target
    before = snapshot(tmp_path)
    line = one_error_line(run_cli(cfg, "--output-dir", folder), str(folder), "output.output_dir")
    assert "input" in line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("victim", ["inputs/inp_spikes.h5", "models/lif.json", "network"])
def test_output_file_that_would_write_over_an_input_is_refused(tmp_path, victim):
    # an output path outside the output folder naming an input file, a file inside an input
    # folder (the components), or a folder holding inputs
    root = tmp_path / "sim"
    cfg = make_sim(root, spikes_file=str(root / victim))
    before = snapshot(tmp_path)
    one_error_line(run_cli(cfg), str(root / victim), "output.spikes_file")
    assert snapshot(tmp_path) == before


def test_output_dir_inside_an_input_folder_is_fine_when_nothing_is_written_over(tmp_path):
    cfg = make_sim(tmp_path / "sim")
    out = tmp_path / "sim" / "models" / "run1"
    proc = run_cli(cfg, "--output-dir", out)
    assert proc.returncode == 0, proc.stderr
    assert (out / "spikes.h5").is_file()


def test_output_dir_with_a_users_files_is_refused(tmp_path):
    cfg = make_sim(tmp_path / "sim")
    folder = tmp_path / "mine"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.txt").write_text("four years of work")
    (folder / "sub" / "notes.md").write_text("notes")
    before = snapshot(tmp_path)
    line = one_error_line(run_cli(cfg, "--output-dir", folder), str(folder), "output.output_dir")
    assert "did not write" in line and "thesis.txt" in line
    assert snapshot(tmp_path) == before


def test_an_empty_sub_folder_of_the_user_is_kept(tmp_path):
    cfg = make_sim(tmp_path / "sim")
    folder = tmp_path / "mine"
    (folder / "empty").mkdir(parents=True)
    before = snapshot(tmp_path)
    one_error_line(run_cli(cfg, "--output-dir", folder), str(folder), "empty")
    assert snapshot(tmp_path) == before


def test_manifest_output_dir_outside_the_project_is_refused(tmp_path):
    sim = tmp_path / "a" / "b" / "sim"
    make_sim(sim)
    somewhere = tmp_path / "a" / "somewhere"
    somewhere.mkdir()
    (somewhere / "data.csv").write_text("1,2,3\n")
    doc = json.loads((sim / "simulation_config.json").read_text())
    doc["manifest"] = {"$BASE_DIR": ".", "$OUTPUT_DIR": "$BASE_DIR/../../somewhere"}
    doc["output"] = {"output_dir": "$OUTPUT_DIR", "log_file": "log.txt"}
    cfg = sim / "manifest_config.json"
    cfg.write_text(json.dumps(doc))
    before = snapshot(tmp_path)
    one_error_line(run_cli(cfg), str(somewhere), "output.output_dir", "data.csv")
    assert snapshot(tmp_path) == before


def test_home_is_not_emptied(tmp_path):
    cfg = make_sim(tmp_path / "sim")
    home = tmp_path / "home"
    (home / "Documents").mkdir(parents=True)
    (home / ".bashrc").write_text("export X=1\n")
    (home / "Documents" / "cv.txt").write_text("cv")
    before = snapshot(tmp_path)
    proc = run_cli(cfg, "--output-dir", home, env={"HOME": str(home)})
    one_error_line(proc, str(home), "output.output_dir")
    assert snapshot(tmp_path) == before


def test_rerun_replaces_only_its_own_outputs(tmp_path):
    cfg = make_sim(tmp_path / "sim")
    assert run_cli(cfg).returncode == 0
    out = tmp_path / "sim" / "output"
    names = {p.name for p in out.iterdir()}
    assert {"spikes.h5", "log.txt", "run_config.json", ".bmtoolkit-output.json"} == names
    first = snapshot(out)
    proc = run_cli(cfg, "--seed", "5")  # a second run into the folder of the first
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} == names
    assert snapshot(out)["run_config.json"] != first["run_config.json"]
    # nothing hidden is left beside the output folder
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []


def test_rerun_with_absolute_manifest_and_report_paths(tmp_path):
    # paths of the manifest and of reports name outputs, not inputs of the run
    cfg = make_sim(tmp_path / "sim")
    out = tmp_path / "sim" / "output"
    doc = json.loads(cfg.read_text())
    doc["manifest"] = {"$BASE_DIR": str(tmp_path / "sim"), "$OUTPUT_DIR": str(out)}
    doc["output"] = {"output_dir": "$OUTPUT_DIR", "log_file": "log.txt"}
    doc["reports"] = {"v": {"module": "membrane_report", "cells": "v1", "variable_name": "V_m",
                            "file_name": str(out / "v.h5")}}  # fmt: skip
    cfg.write_text(json.dumps(doc))
    for _ in range(2):
        proc = run_cli(cfg)
        assert proc.returncode == 0, proc.stderr
    assert (out / "v.h5").is_file()


def test_folder_holding_only_this_runs_output_names_is_replaced(tmp_path):
    # e.g. BMTK's own output folder: files at the paths this run writes are replaced
    cfg = make_sim(tmp_path / "sim")
    out = tmp_path / "sim" / "output"
    out.mkdir()
    (out / "spikes.h5").write_bytes(b"old")
    (out / "log.txt").write_text("old log")
    assert run_cli(cfg).returncode == 0
    assert len(read_spikes(out / "spikes.h5")) > 0
    assert (out / "log.txt").read_text() != "old log"


def test_user_file_added_to_an_output_folder_is_kept(tmp_path):
    cfg = make_sim(tmp_path / "sim")
    assert run_cli(cfg).returncode == 0
    out = tmp_path / "sim" / "output"
    (out / "analysis.ipynb").write_text("{}")
    before = snapshot(tmp_path)
    one_error_line(run_cli(cfg), str(out), "analysis.ipynb")
    assert snapshot(tmp_path) == before


# ---------------------------------------------------------------------- 2. a failing re-run
def _failing_config(root: Path, output_dir: Path) -> Path:
    """A config whose run fails after it started: its spike input file is missing."""
    cfg = make_sim(root, output_dir=output_dir)
    (root / "inputs" / "inp_spikes.h5").unlink()
    return cfg


def test_failing_rerun_leaves_previous_outputs_as_they_were(tmp_path):
    good = make_sim(tmp_path / "good")
    assert run_cli(good).returncode == 0
    out = tmp_path / "good" / "output"
    bad = _failing_config(tmp_path / "bad", out)
    before = snapshot(tmp_path)
    one_error_line(run_cli(bad), "inp_spikes.h5")
    assert snapshot(tmp_path) == before  # log.txt included: the failed run's log went too


def test_rerun_with_an_unknown_edge_type_id_keeps_the_previous_outputs(tmp_path):
    # the case of the report: a good run, then the edge types CSV loses the edges' type id
    cfg = make_sim(tmp_path / "sim")
    assert run_cli(cfg).returncode == 0
    csv = tmp_path / "sim" / "network" / "inp_v1_edge_types.csv"
    csv.write_text(csv.read_text().replace("\n1 ", "\n777 "))
    before = snapshot(tmp_path)
    one_error_line(run_cli(cfg), str(csv))
    assert snapshot(tmp_path) == before
    assert (tmp_path / "sim" / "output" / "spikes.h5").is_file()


def test_failing_first_run_leaves_nothing(tmp_path):
    out = tmp_path / "new" / "deeper" / "output"
    bad = _failing_config(tmp_path / "bad", out)
    before = snapshot(tmp_path)
    with pytest.raises(MissingFileError, match="inp_spikes.h5"):
        run(bad, backend="numpynet", progress=False)
    assert snapshot(tmp_path) == before  # not even the parents of the output folder


def test_stale_staging_folder_of_a_killed_run_is_removed(tmp_path):
    cfg = make_sim(tmp_path / "sim")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    from bmtoolkit.simulator.core.staging import HOST_TAG as host

    stale = tmp_path / "sim" / f".output.bmtoolkit-staging-{host}-{int(dead.stdout)}"
    elsewhere = tmp_path / "sim" / f".output.bmtoolkit-staging-other.host-{int(dead.stdout)}"
    elsewhere.mkdir()  # a process on another machine sharing the file system: kept
    stale.mkdir()
    (stale / "spikes.h5").write_bytes(b"half")
    assert run_cli(cfg).returncode == 0
    assert not stale.exists() and elsewhere.is_dir()


# ---------------------------------------------------------------------- 3. output paths
def _special(path: Path, kind: str, tmp_path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        target = tmp_path / "precious.h5"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"precious")
        path.symlink_to(target)
    else:
        path.mkdir()
        (path / "keep.txt").write_text("keep")


@pytest.mark.parametrize("kind", ["fifo", "symlink", "folder"])
@pytest.mark.parametrize("where", ["outside", "inside"])
def test_spikes_file_that_is_not_a_regular_file_is_refused(tmp_path, kind, where):
    special = tmp_path / "elsewhere" / "spikes.h5"
    if where == "inside":
        special = tmp_path / "sim" / "output" / "spikes.h5"
    cfg = make_sim(tmp_path / "sim", spikes_file=str(special))
    _special(special, kind, tmp_path)
    before = snapshot(tmp_path)
    label = {"fifo": "named pipe", "symlink": "symbolic link", "folder": "a folder"}[kind]
    one_error_line(run_cli(cfg), str(special), "output.spikes_file", label)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("kind", ["fifo", "symlink"])
def test_log_and_report_paths_that_are_not_regular_files_are_refused(tmp_path, kind):
    reports = {"v": {"module": "membrane_report", "cells": "v1", "variable_name": "V_m",
                     "file_name": "v.h5"}}  # fmt: skip
    root = tmp_path / "sim"
    cfg = make_sim(root)
    doc = json.loads(cfg.read_text())
    doc["reports"] = reports
    cfg.write_text(json.dumps(doc))
    for name, field in (("log.txt", "output.log_file"), ("v.h5", "reports.v.file_name")):
        special = root / "output" / name
        _special(special, kind, tmp_path / name.replace(".", "_"))
        before = snapshot(tmp_path)
        one_error_line(run_cli(cfg), str(special), field)
        assert snapshot(tmp_path) == before
        special.unlink()


# ---------------------------------------------------------------------- 4. relative --output-dir
def test_relative_output_dir_holds_every_output(tmp_path):
    cfg = make_sim(tmp_path / "sim")
    work = tmp_path / "work"
    work.mkdir()
    proc = run_cli(cfg, "--output-dir", "relout", cwd=work)
    assert proc.returncode == 0, proc.stderr
    out = work / "relout"
    assert {p.name for p in out.iterdir()} == {
        "spikes.h5", "log.txt", "run_config.json", ".bmtoolkit-output.json"}  # fmt: skip
    assert len(read_spikes(out / "spikes.h5")) > 0
    doc = json.loads((out / "run_config.json").read_text())
    assert doc["outputs"]["spikes"] == str(out / "spikes.h5")
    assert sorted(p.name for p in work.iterdir()) == ["relout"]


# ---------------------------------------------------------------------- 5. network saves
SAVE_SCRIPT = """
import os, signal, sys
import numpy as np
from bmtoolkit.builder import NetworkBuilder
from bmtoolkit.builder.writer import write_circuit

out, seed, kill_at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
if kill_at:  # SIGKILL this process just before its kill_at-th rename
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        real(src, dst)

    os.replace = replace
rng = np.random.default_rng(seed)
v1 = NetworkBuilder("v1")
v1.add_nodes(N=6, model_type="point_neuron", model_template="nest:iaf_psc_delta",
             positions=rng.uniform(size=(6, 3)), ei="e")
v1.add_edges(connection_rule=1, syn_weight=2.0, delay=1.0)
v1.build(seed=seed)
write_circuit([v1], out)
"""


def save(tmp_path: Path, seed: int, kill_at: int = 0) -> subprocess.CompletedProcess:
    script = tmp_path / "save_network.py"
    script.write_text(SAVE_SCRIPT)
    out = tmp_path / "network"
    return subprocess.run([sys.executable, script, out, str(seed), str(kill_at)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def visible(snap: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in snap.items() if not Path(k).name.startswith(".")}


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_killed_save_leaves_the_previous_files_and_the_next_save_removes_its_temps(tmp_path):
    assert save(tmp_path, seed=1).returncode == 0
    net = tmp_path / "network"
    first = snapshot(net)
    killed = save(tmp_path, seed=2, kill_at=1)  # every new file written, none renamed yet
    assert killed.returncode == -9, killed.stderr
    assert visible(snapshot(net)) == first  # the previous network, file for file
    assert len(temps(net)) == 5  # nodes, node types, edges, edge types, circuit config
    assert save(tmp_path, seed=2).returncode == 0
    assert temps(net) == []
    assert visible(snapshot(net)) != first
    proc = bmtoolkit("validate", "-q", net / "circuit_config.json")
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc


def test_validate_detects_nodes_and_edges_of_different_saves(tmp_path):
    assert save(tmp_path, seed=1).returncode == 0
    net = tmp_path / "network"
    assert save(tmp_path, seed=2, kill_at=2).returncode == -9  # only the nodes file renamed
    before = snapshot(tmp_path)
    proc = bmtoolkit("validate", "-q", net / "circuit_config.json")
    assert proc.returncode == 1 and proc.stderr == "", proc
    (line,) = proc.stdout.strip().splitlines()
    assert str(net / "v1_v1_edges.h5") in line and str(net / "v1_nodes.h5") in line, line
    assert "different network saves" in line
    assert snapshot(tmp_path) == before


def test_failing_save_leaves_the_previous_files_and_no_temps(tmp_path):
    from bmtoolkit.builder import NetworkBuilder
    from bmtoolkit.builder.writer import write_circuit

    assert save(tmp_path, seed=1).returncode == 0
    net = tmp_path / "network"
    first = snapshot(net)
    v1 = NetworkBuilder("v1")
    v1.add_nodes(N=6, model_type="point_neuron", model_template="nest:iaf_psc_delta", ei="i")
    v1.build(seed=3)
    broken = NetworkBuilder("broken")
    broken.add_nodes(N=2, model_type="virtual")

    def rule(source, target):
        raise ZeroDivisionError("a user's rule fails")

    broken.add_edges(target=v1.nodes(), connection_rule=rule)
    with pytest.raises(ZeroDivisionError):
        write_circuit([v1, broken], net)  # v1's files were written before the rule failed
    assert snapshot(net) == first


def test_stale_temps_of_a_killed_writer_are_recognised_by_name(tmp_path):
    from bmtoolkit.sonata._h5 import remove_stale_temps

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dest = tmp_path / "v1_nodes.h5"
    stale = tmp_path / f".v1_nodes.h5.{int(dead.stdout)}.abc123_x.tmp"
    legacy = tmp_path / ".v1_nodes.h5.k2j4h5g6.tmp"
    alive = tmp_path / f".v1_nodes.h5.{os.getpid()}.zzzz1111.tmp"
    other = tmp_path / ".v1_edges.h5.k2j4h5g6.tmp"
    for p in (stale, legacy, alive, other):
        p.write_bytes(b"partial")
    assert sorted(remove_stale_temps(dest)) == sorted([stale, legacy])
    assert alive.exists() and other.exists()


def test_merge_into_a_folder_that_cannot_be_renamed(tmp_path):
    # the fallback used when the output folder cannot be renamed (a mount point): file by
    # file, removing only the previous run's files that this run does not write
    from bmtoolkit.simulator.core.staging import MARKER_NAME, OutputStaging

    out = tmp_path / "output"
    first = OutputStaging(out, inputs=())
    first.prepare()
    first.stage(out / "old_report.h5").write_text("old")
    first.stage(out / "spikes.h5").write_text("old")
    first.commit()
    doc = json.loads((out / MARKER_NAME).read_text())
    doc["files"].append("../outside.txt")  # a marker naming a file outside is ignored
    (out / MARKER_NAME).write_text(json.dumps(doc))
    (tmp_path / "outside.txt").write_text("not ours")
    second = OutputStaging(out, inputs=())
    second.prepare()
    second.stage(out / "spikes.h5").write_text("new")
    second._merge_into(out)
    assert sorted(p.name for p in out.iterdir()) == [MARKER_NAME, "spikes.h5"]
    assert (out / "spikes.h5").read_text() == "new"
    assert (tmp_path / "outside.txt").read_text() == "not ours"
    assert not second.dir.exists()


def test_python_api_result_points_at_the_final_outputs(tmp_path):
    cfg = make_sim(tmp_path / "sim")
    result = run(cfg, backend="numpynet", progress=False)
    out = tmp_path / "sim" / "output"
    assert result.outputs["spikes"] == str(out / "spikes.h5")
    assert Path(result.outputs["spikes"]).is_file()


def test_folder_set_aside_by_a_swap_killed_halfway_is_put_back(tmp_path):
    from bmtoolkit.simulator.core.staging import HOST_TAG, MARKER_NAME

    cfg = make_sim(tmp_path / "sim")
    assert run_cli(cfg).returncode == 0
    out = tmp_path / "sim" / "output"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    aside = tmp_path / "sim" / f".output.bmtoolkit-old-{HOST_TAG}-{int(dead.stdout)}"
    out.rename(aside)  # the state after the first of the two renames
    (aside / "notes.txt").write_text("a user's file in the old folder")
    before = snapshot(aside)
    proc = run_cli(cfg)  # the old folder is put back, then checked like any output folder
    one_error_line(proc, str(out), "notes.txt")
    assert snapshot(out) == before and not aside.exists()
    (out / "notes.txt").unlink()
    assert run_cli(cfg).returncode == 0
    assert MARKER_NAME in {p.name for p in out.iterdir()}


@pytest.mark.parametrize("kind", ["fifo", "symlink", "folder"])
def test_sonata_writers_never_replace_what_is_not_a_regular_file(tmp_path, kind):
    from bmtoolkit.exceptions import ConfigError

    special = tmp_path / "spikes.h5"
    _special(special, kind, tmp_path / "target")
    before = snapshot(tmp_path)
    with pytest.raises(ConfigError, match="only over regular files"):
        write_spikes(special, {"v1": (np.array([0]), np.array([1.0]))})
    assert snapshot(tmp_path) == before  # no temporary file either


def test_network_save_over_a_symlinked_file_replaces_nothing(tmp_path):
    from bmtoolkit.builder import NetworkBuilder
    from bmtoolkit.exceptions import ConfigError

    assert save(tmp_path, seed=1).returncode == 0
    net = tmp_path / "network"
    elsewhere = tmp_path / "shared_edges.h5"
    (net / "v1_v1_edges.h5").rename(elsewhere)
    (net / "v1_v1_edges.h5").symlink_to(elsewhere)  # e.g. edges linked from a shared folder
    before = snapshot(tmp_path)
    v1 = NetworkBuilder("v1")
    v1.add_nodes(N=6, model_type="point_neuron", model_template="nest:iaf_psc_delta", ei="e")
    v1.add_edges(connection_rule=1, syn_weight=2.0, delay=1.0)
    v1.build(seed=2)
    with pytest.raises(ConfigError, match="v1_v1_edges.h5.*symbolic link"):
        v1.save(net)
    assert snapshot(tmp_path) == before  # the nodes file written first was not renamed
