"""``python -m build`` makes a wheel and an sdist that install and work in a clean venv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import require_module

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = ("Could not find a version", "No matching distribution", "Failed to establish")


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    # no PYTHONPATH: the checkout must not stand in for the installed package
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env, **kw)


@pytest.mark.slow
def test_wheel_and_sdist_install_in_a_clean_venv(tmp_path):
    require_module("build")
    require_module("wheel")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to list the tracked files")
    # build from the tracked files only, as a release would, without touching the checkout
    files = _run(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0")
    src = tmp_path / "src"
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    proc = _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = next(dist.glob("bmtoolkit-*-py3-none-any.whl"))
    sdist = next(dist.glob("bmtoolkit-*.tar.gz"))
    inside = zipfile.ZipFile(wheel).namelist()
    assert "bmtoolkit/sonata/schemas/simulation_config.schema.json" in inside
    assert any(n.startswith("bmtoolkit/simulator/bionet/nmodl/") and n.endswith(".mod")
               for n in inside)  # fmt: skip
    assert not any(n.startswith("tests/") for n in inside)
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    assert any(n.endswith("/setup.cfg") for n in names) and any(
        n.endswith("/README.md") for n in names
    )

    venv = tmp_path / "venv"
    assert _run([sys._base_executable, "-m", "venv", str(venv)]).returncode == 0
    py = venv / "bin" / "python"
    proc = _run([str(py), "-m", "pip", "install", "-q", str(wheel)])
    if proc.returncode != 0 and any(s in proc.stderr for s in OFFLINE):
        pytest.skip(f"package index unreachable for the dependencies: {proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _run([str(venv / "bin" / "bmtoolkit"), "show-versions"], cwd=tmp_path)
    assert out.returncode == 0 and "bmtoolkit" in out.stdout, out.stderr
    check = _run([str(py), "-c", "import bmtoolkit, bmtoolkit.sonata.schemas as s; "
                  "print(bmtoolkit.__file__)"], cwd=tmp_path)  # fmt: skip
    assert check.returncode == 0 and str(venv) in check.stdout, check.stderr
    # the sdist builds and installs too (with the build requirements of pyproject.toml)
    proc = _run([str(py), "-m", "pip", "install", "-q", "setuptools>=68", "wheel"])
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = _run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                 "--force-reinstall", str(sdist)])  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _run([str(venv / "bin" / "bmtoolkit"), "--version"], cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("bmtoolkit "), out.stderr
