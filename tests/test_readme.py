"""The README's Python example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import require_module

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_starts_with_the_two_commands():
    lines = [ln for ln in README.read_text().splitlines() if ln.startswith("bash ")]
    assert [ln.split("#")[0].strip() for ln in lines[:2]] == [
        "bash scripts/bootstrap.sh demo",
        "bash scripts/bootstrap.sh test",
    ]


@pytest.mark.nest
def test_readme_python_example_runs(tmp_path, monkeypatch):
    require_module("nest")
    require_module("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - the README's own example
    spikes = namespace["load_spikes"](namespace["result"].outputs["spikes"])
    assert len(spikes) > 100
    assert (tmp_path / "raster.png").stat().st_size > 5_000
