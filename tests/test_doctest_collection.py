"""``pytest --doctest-modules bmtoolkit`` collects without PyTorch (or any simulator).

A subprocess runs the collection with a ``-p`` plugin that makes ``torch``, ``nest``,
``neuron`` and ``mpi4py`` unimportable, as on a machine with only the core install: the
modules made of PyTorch code are left out and named in the summary, everything else is
collected, and nothing fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BLOCKER = textwrap.dedent(
    """
    import sys

    BLOCKED = ("torch", "nest", "neuron", "mpi4py")

    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Block())
    """
)


def test_doctest_collection_survives_missing_simulators(tmp_path):
    (tmp_path / "block_simulators.py").write_text(BLOCKER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "block_simulators", "-p", "no:cacheprovider",
         "--collect-only", "-q", "--doctest-modules", "bmtoolkit"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    summary = out.strip().splitlines()[-1]
    assert "tests collected" in summary and "error" not in summary, out[-4000:]
    left_out = out.split("doctests left out: simulator not installed", 1)[1]
    assert "bmtoolkit.simulator.torchnet.model: " in left_out
    assert "torch" in left_out
    # the rest of the package is collected, the torch backend's importable modules included
    assert "bmtoolkit/sonata/nodes.py::bmtoolkit.sonata.nodes" in out
    assert "bmtoolkit/simulator/torchnet/translations.py::" in out
