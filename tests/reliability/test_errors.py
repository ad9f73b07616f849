"""Fault injection: every bad input gives exit code 1 and one line naming file and field.

Each case breaks one thing in a tiny pointnet network (:mod:`tests.reliability.tiny_network`)
and runs ``bmtoolkit run`` and ``bmtoolkit validate`` on it: the run exits 1 with exactly one
line on stderr, naming the file and the field, no traceback, and every input file unchanged;
``validate`` reports the same field (it runs the checks the run makes before simulating).
Silent wrong results of the past (spikes for unknown node ids, NaN spike times, NEST models
on defaults) now give exactly one warning line. Builder misuse raises one ConfigError.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from bmtoolkit.cli import main
from bmtoolkit.exceptions import ConfigError
from tests.conftest import require_module
from tests.reliability.tiny_network import checksums, make_network

require_module("nest")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return make_network(tmp_path_factory.mktemp("pristine") / "net").parent.parent


def _case(pristine: Path, tmp_path: Path) -> Path:
    root = tmp_path / "net"
    shutil.copytree(pristine / "net", root)
    text = (root / "config.json").read_text().replace(str(pristine / "net"), str(root))
    (root / "config.json").write_text(text)
    return root


def _config(root: Path, change) -> None:
    cfg = json.loads((root / "config.json").read_text())
    change(cfg)
    (root / "config.json").write_text(json.dumps(cfg))


def _h5(path: Path, dataset: str, fn) -> None:
    with h5py.File(path, "r+") as h5:
        old = h5[dataset]
        values, attrs = old[...], dict(old.attrs)
        del h5[dataset]
        h5[dataset] = fn(values)
        h5[dataset].attrs.update(attrs)


def _cell(root: Path, text: str) -> None:
    (root / "components" / "point" / "cell.json").write_text(text)


EDGES = "network/internal_internal_edges.h5"
ERRORS = {
    # name: (break it, file named, field named)
    "source_id_out_of_range": (
        lambda r: _h5(r / EDGES, "edges/internal_to_internal/source_node_id", lambda d: d + 50),
        EDGES,
        "source_node_id",
    ),
    "target_id_out_of_range": (
        lambda r: _h5(
            r / "network/inputs_internal_edges.h5",
            "edges/inputs_to_internal/target_node_id",
            lambda d: d + 100,
        ),
        "network/inputs_internal_edges.h5",
        "target_node_id",
    ),
    "edge_type_id_not_in_csv": (
        lambda r: _h5(r / EDGES, "edges/internal_to_internal/edge_type_id", lambda d: d * 0 + 777),
        EDGES,
        "edge_type_id",
    ),
    "param_string": (lambda r: _cell(r, '{"C_m": "abc"}'), "cell.json", "C_m"),
    "param_list": (lambda r: _cell(r, '{"C_m": [1, 2]}'), "cell.json", "C_m"),
    "param_null": (lambda r: _cell(r, '{"C_m": null}'), "cell.json", "C_m"),
    "dynamics_invalid_json": (lambda r: _cell(r, "{C_m: 1"), "cell.json", "JSON"),
    "dynamics_not_object": (lambda r: _cell(r, "[1, 2]"), "cell.json", "JSON object"),
    "tstop_infinity": (
        lambda r: _config(r, lambda c: c["run"].update(tstop=float("inf"))),
        "config.json",
        "run.tstop",
    ),
    "tstop_nan": (
        lambda r: _config(r, lambda c: c["run"].update(tstop=float("nan"))),
        "config.json",
        "run.tstop",
    ),
    "seed_string": (
        lambda r: _config(r, lambda c: c["run"].update(random_seed="abc")),
        "config.json",
        "run.random_seed",
    ),
    "manifest_string": (
        lambda r: _config(r, lambda c: c.update(manifest="abc")),
        "config.json",
        "manifest",
    ),
    "manifest_list": (
        lambda r: _config(r, lambda c: c.update(manifest=[1])),
        "config.json",
        "manifest",
    ),
    "manifest_number": (
        lambda r: _config(r, lambda c: c.update(manifest=3)),
        "config.json",
        "manifest",
    ),
    "unknown_report_variable": (
        lambda r: _config(r, lambda c: c["reports"]["v"].update(variable_name="bogus")),
        "config.json",
        "reports.v.variable_name",
    ),
    "spikes_not_hdf5": (
        lambda r: (r / "inputs" / "spikes.h5").write_text("not hdf5"),
        "inputs/spikes.h5",
        "HDF5",
    ),
    "unknown_input_module": (
        lambda r: _config(
            r, lambda c: c["inputs"]["spikes_in"].update(module="bogus", input_type="bogus")
        ),
        "config.json",
        "inputs.spikes_in.module",
    ),
    "unknown_target_simulator": (
        lambda r: _config(r, lambda c: c.update(target_simulator="FOO")),
        "config.json",
        "target_simulator",
    ),
    "node_id_not_integer": (
        lambda r: _h5(r / "network/internal_nodes.h5", "nodes/internal/node_id", lambda d: d + 0.5),
        "network/internal_nodes.h5",
        "node_id",
    ),
    "node_id_not_rows": (
        lambda r: _h5(r / "network/internal_nodes.h5", "nodes/internal/node_id", lambda d: d[::-1]),
        "network/internal_nodes.h5",
        "node_id",
    ),
    "types_file_missing": (
        lambda r: os.remove(r / "network/internal_node_types.csv"),
        "internal_node_types.csv",
        "node_types",
    ),
    "node_set_id_out_of_range": (
        lambda r: _config(
            r,
            lambda c: c["reports"]["v"].update(cells={"population": "internal", "node_id": [100]}),
        ),
        "config.json",
        "node_id",
    ),
    "internal_population_deleted": (
        lambda r: _config(r, lambda c: c["networks"].update(nodes=c["networks"]["nodes"][1:])),
        EDGES,
        "node_population",
    ),
}


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_run_fails_with_one_line_and_validate_agrees(case, pristine, tmp_path, capsys):
    root = _case(pristine, tmp_path)
    breaker, file, field = ERRORS[case]
    breaker(root)
    before = checksums(root)
    config = str(root / "config.json")
    code, _, err = _run(capsys, "run", config, "--quiet")
    assert code == 1, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bmtoolkit run: error: ")
    assert file in lines[0] and field in lines[0], lines[0]
    assert checksums(root) == before  # no input touched, nothing half written
    assert not (root / "output" / "spikes.h5").exists()
    code, out, err = _run(capsys, "validate", config)
    assert code == 1, out
    assert "Traceback" not in out + err
    assert field in out, out


WARNINGS = {
    "spike_ids_outside_population": (
        lambda r: _h5(
            r / "inputs/spikes.h5",
            "spikes/inputs/node_ids",
            lambda d: np.r_[[100, 100000], d[2:]].astype(d.dtype),
        ),
        "inputs/spikes.h5",
        "outside population 'inputs'",
    ),
    "nan_spike_times": (
        lambda r: _h5(
            r / "inputs/spikes.h5",
            "spikes/inputs/timestamps",
            lambda d: np.where(d > 4, np.nan, d),
        ),
        "inputs/spikes.h5",
        "NaN",
    ),
    "no_dynamics_params_column": (
        lambda r: (r / "network/internal_node_types.csv").write_text(
            "node_type_id model_type model_template pop_name\n"
            "100 point_neuron nest:iaf_psc_alpha exc\n"
        ),
        "internal_node_types.csv",
        "dynamics_params",
    ),
    "missing_dt": (
        lambda r: _config(r, lambda c: c["run"].pop("dt")),
        "config.json",
        "run.dt",
    ),
}


@pytest.mark.filterwarnings("default::bmtoolkit.exceptions.BmtkWarning")
@pytest.mark.parametrize("case", sorted(WARNINGS))
def test_silent_results_now_warn_once(case, pristine, tmp_path, capsys):
    root = _case(pristine, tmp_path)
    breaker, file, needle = WARNINGS[case]
    breaker(root)
    before = checksums(root)
    config = str(root / "config.json")
    code, _, err = _run(capsys, "run", config, "--quiet")
    assert code == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("bmtoolkit run: warning: ")
    assert file in lines[0] and needle in lines[0], lines[0]
    assert {k: v for k, v in checksums(root).items() if not k.startswith("output")} == before
    code, out, _ = _run(capsys, "validate", config)
    assert code == 0 and "warning: " in out and needle in out, out


def test_a_failed_run_prints_its_error_once_through_the_real_command(pristine, tmp_path):
    root = _case(pristine, tmp_path)
    ERRORS["edge_type_id_not_in_csv"][0](root)
    env = {**os.environ, "PYNEST_QUIET": "1"}
    for extra in ([], ["--quiet"]):
        proc = subprocess.run(
            [sys.executable, "-m", "bmtoolkit.cli", "run", str(root / "config.json"), *extra],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 1
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def _builder(seed=None):
    from bmtoolkit.builder import NetworkBuilder

    return NetworkBuilder("net", seed=seed)


def _all_to_all_million():
    from bmtoolkit.builder.rules import AllToAll

    net = _builder(1)
    net.add_nodes(N=1_000_000, ei="e")
    net.add_edges(source={"ei": "e"}, target={"ei": "e"}, connection_rule=AllToAll())
    net.build()


def _unknown_property():
    net = _builder(1)
    net.add_nodes(N=3, ei="e")
    net.add_edges(source={"layer": "L4"}, target={"ei": "e"}, connection_rule=1)
    net.build()


BUILDER = {
    "n_fractional": (lambda: _builder().add_nodes(N=2.7), "N", "whole number"),
    "seed_string": (lambda: _builder("abc").build(), "seed", "integer seed"),
    "seed_string_in_build": (lambda: _builder().build(seed="abc"), "seed", "integer seed"),
    "all_to_all_1e6": (_all_to_all_million, "connection_rule", "1,000,000,000,000 edges"),
    "selector_unknown_property": (_unknown_property, "layer", "known properties: ei"),
}


@pytest.mark.parametrize("case", sorted(BUILDER))
def test_builder_misuse_is_one_config_error(case):
    make, field, needle = BUILDER[case]
    with pytest.raises(ConfigError) as info:
        make()
    text = str(info.value)
    assert info.value.field == field and needle in text and "\n" not in text, text


def test_builder_misuse_through_bmtoolkit_build(tmp_path, capsys):
    script = tmp_path / "build.py"
    script.write_text(
        "from bmtoolkit.builder import NetworkBuilder\n"
        "net = NetworkBuilder('net')\nnet.add_nodes(N=2.7)\n"
    )
    before = checksums(tmp_path)
    code, _, err = _run(capsys, "build", str(script))
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines() == [
        "bmtoolkit build: error: N: N must be a whole number of nodes, got 2.7"
    ]
    assert checksums(tmp_path) == before


def test_info_on_a_types_csv_without_id_column_says_what_is_missing(pristine, tmp_path, capsys):
    csv = tmp_path / "internal_node_types.csv"
    lines = (pristine / "net/network/internal_node_types.csv").read_text().splitlines()
    csv.write_text("\n".join(" ".join(line.split()[1:]) for line in lines) + "\n")
    before = checksums(tmp_path)
    code, _, err = _run(capsys, "info", str(csv))
    assert code == 1 and "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert str(csv) in line and "node_type_id" in line and "types table" in line
    assert "spikes" not in line
    assert checksums(tmp_path) == before


def test_run_log_names_the_thread_count_results_depend_on(pristine, tmp_path, capsys):
    root = _case(pristine, tmp_path)
    _config(root, lambda c: c["output"].update(log_file="log.txt"))
    code, _, err = _run(capsys, "run", str(root / "config.json"), "--quiet", "--threads", "2")
    assert code == 0, err
    log = (root / "output" / "log.txt").read_text()
    assert "2 thread(s) x 1 process(es)" in log and "another thread or process count" in log
