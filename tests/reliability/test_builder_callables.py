"""Bad results of BMTK-style callables: one clear line from ``bmtoolkit build``, exit code 1.

Each case is a small build script whose connection function returns something that is not a
synapse count (or one count per node); the CLI must name the problem in one line, without a
traceback, and leave no edges file behind.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SCRIPT = """
import numpy as np
from bmtoolkit.builder import NetworkBuilder

net = NetworkBuilder("v1")
net.add_nodes(N=6, x=np.arange(6.0), ei="e")

def rule(source, target):
    {body}

net.add_edges(connection_rule=rule, iterator="{iterator}")
net.build(seed=1)
net.save("{out}")
"""

CASES = {
    "wrong_length": ("one_to_all", "return np.ones(len(target) - 1, dtype=int)", "5 values"),
    "negative": ("one_to_all", "return -np.ones(len(target), dtype=int)", "negative count -1"),
    "float_count": ("one_to_all", "return np.full(len(target), 0.7)", "non-integer count 0.7"),
    "nan": ("one_to_all", "return np.full(len(target), np.nan)", "NaN"),
    "generator": ("one_to_all", "return (1 for _ in target)", "generator"),
    "none_for_some": (
        "one_to_all",
        "return [None if t.node_id % 2 else 1 for t in target]",
        "None for targets[1]",
    ),
    "all_to_one_none": (
        "all_to_one",
        "return [1] * (len(source) - 1) + [None]",
        "None for sources[5]",
    ),
    "array_for_pair": ("one_to_one", "return np.array([1, 2])", "where a synapse count"),
    "string": ("one_to_one", "return 'two'", "the string 'two'"),
    "pair_float": ("one_to_one", "return 0.7", "non-integer synapse count 0.7"),
    "pair_negative": ("one_to_one", "return -2", "negative synapse count -2"),
    "pair_nan": ("one_to_one", "return float('nan')", "NaN"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_callable_result_is_one_line_error(tmp_path, case):
    iterator, body, expected = CASES[case]
    out = tmp_path / "net"
    script = tmp_path / "build.py"
    script.write_text(textwrap.dedent(SCRIPT).format(body=body, iterator=iterator, out=out))
    run = subprocess.run(
        [sys.executable, "-m", "bmtoolkit.cli", "build", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("bmtoolkit build: error: "), lines[0]
    assert iterator.split("_")[0] in lines[0] or "connection rule" in lines[0]
    assert expected in lines[0], lines[0]
    assert "Traceback" not in run.stderr
    assert not out.exists() or not list(out.glob("*_edges.h5"))


def test_bad_workers_value_is_one_line_error(tmp_path):
    script = tmp_path / "build.py"
    script.write_text("pass\n")
    run = subprocess.run(
        [sys.executable, "-m", "bmtoolkit.cli", "build", "--workers", "0", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        "bmtoolkit build: error: workers: the number of build workers must be an int >= 1, got 0"
    ]


def test_error_in_a_forked_worker_is_the_same_one_line(tmp_path):
    """With --workers 2 the error raised in a worker process reaches the CLI unchanged."""
    out = tmp_path / "net"
    script = tmp_path / "build.py"
    body = "return np.full(len(target), 0.7) if source.node_id == 5 else np.zeros(len(target))"
    text = textwrap.dedent(SCRIPT).format(body=body, iterator="one_to_all", out=out)
    script.write_text(text.replace("N=6,", "N=600,").replace("arange(6.0)", "arange(600.0)"))
    run = subprocess.run(
        [sys.executable, "-m", "bmtoolkit.cli", "build", "--workers", "2", str(script)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "non-integer count 0.7 for targets[0]" in lines[0], run.stderr
