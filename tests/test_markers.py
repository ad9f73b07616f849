"""Tests are marked with what they need, mechanically (see ``tests/conftest.py``).

``pytest -m "not nest and not neuron and not torch"`` must select only tests that run without
those simulators: the collection hook marks tests by what they import, directly or through
fixtures and helpers of the suite, and by the backends they name.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import _needs_in

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = textwrap.dedent(
    """
    import sys

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "nest", "neuron", "mpi4py"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    """
)


def _collect(tmp_path: Path, *args: str, block: bool = False) -> tuple[int, str]:
    plugins = []
    if block:
        (tmp_path / "block_simulators.py").write_text(BLOCKER)
        plugins = ["-p", "block_simulators"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, "-p", "no:cacheprovider", "--collect-only",
         "-q", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def _marks(src: str, *, top_level: bool = False) -> set[str]:
    return _needs_in(ast.parse(textwrap.dedent(src)), top_level=top_level)[0]


def test_imports_and_requirements_name_their_marker():
    assert _marks("import nest\nfrom neuron import h\nimport torch.nn") == {
        "nest",
        "neuron",
        "torch",
    }
    assert _marks("require_module('mpi4py')\npytest.importorskip('bmtk.builder')") == {
        "mpi",
        "interop",
    }
    assert _marks("run(cfg, backend='bionet')\nconformance_root()") == {"neuron", "conformance"}
    assert _marks("for m in ('libsonata', 'h5py'):\n    require_module(m)") == {"interop"}
    assert _marks("import numpy\nrun(cfg, backend='numpynet')\nrequire_module(name)") == set()
    # module level: code inside functions belongs to the tests that call it
    assert _marks("import nest\ndef f():\n    import torch\n", top_level=True) == {"nest"}


def test_marks_follow_fixtures_helpers_and_backend_parameters(tmp_path):
    rc, out = _collect(
        tmp_path, "-m", "nest", "tests/bmtk_scripts/test_aliases.py",
        "tests/conformance/test_cross_backend.py",
    )  # fmt: skip
    assert rc == 0, out[-3000:]
    # session fixture -> helper imported inside it from another test module -> require_module
    assert "test_aliases.py::test_to_dataframe_and_traces_of_a_run" in out
    # parametrized with the backend's name
    assert "test_clamp_spikes_match_analytic_lif[glif1-pointnet]" in out
    assert "test_clamp_spikes_match_analytic_lif[iaf_psc_delta-numpynet]" not in out


def test_tests_left_after_deselecting_simulators_collect_without_them(tmp_path):
    rc, out = _collect(tmp_path, "-m", "not (nest or neuron or torch or mpi)", "tests", block=True)
    summary = out.strip().splitlines()[-1]
    assert rc == 0 and "error" not in summary, out[-3000:]
    assert "deselected" in summary
