"""The documentation builds without warnings and the config reference lists every key."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_module

DOCS = Path(__file__).resolve().parents[1] / "docs"
SCHEMAS = Path(__file__).resolve().parents[1] / "bmtoolkit" / "sonata" / "schemas"


def _keys(schema: dict, prefix: str = "") -> list[str]:
    out = []
    for name, sub in (schema.get("properties") or {}).items():
        out.append(prefix + name)
        out += _keys(sub, prefix + name + ".")
    return out


@pytest.mark.parametrize("schema", ["circuit_config", "simulation_config"])
def test_config_reference_lists_every_schema_key(schema):
    text = (DOCS / "config_reference.md").read_text()
    doc = json.loads((SCHEMAS / f"{schema}.schema.json").read_text())
    missing = [k for k in _keys(doc) if f"`{k}" not in text and f"`{k.split('.')[-1]}`" not in text]
    assert not missing, f"config_reference.md does not describe {missing}"


@pytest.mark.slow
def test_sphinx_build_has_no_warnings(tmp_path):
    require_module("sphinx")
    require_module("myst_parser")
    require_module("myst_nb")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(tmp_path / "html"),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    index = (tmp_path / "html" / "index.html").read_text()
    assert "bmtoolkit" in index
    api = (tmp_path / "html" / "api" / "analyzer.html").read_text()
    assert "plot_raster" in api and "selectivity" in api
    tutorials = {p.stem for p in (DOCS.parent / "tutorials").glob("*.ipynb")}
    assert {p.stem for p in (DOCS / "notebooks").glob("*.ipynb")} == tutorials, "every tutorial"
    for page in (DOCS / "notebooks").glob("*.ipynb"):  # rendered with their stored outputs
        html = (tmp_path / "html" / "notebooks" / f"{page.stem}.html").read_text()
        assert "cell_output" in html and "<img" in html, page.name
    assert (tmp_path / "html" / "design" / "adding_a_backend.html").is_file()
    assert "Troubleshooting" in (tmp_path / "html" / "workshop.html").read_text()
