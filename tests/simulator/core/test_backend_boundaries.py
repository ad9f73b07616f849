"""No module outside a backend's folder names that backend.

What a backend is lives in its own folder (``spec.py`` and the rest); core reads the
declarations. Two checks:

- the simulation core (``bmtoolkit/simulator/core``) names no backend at all, not even in
  prose or doctests;
- no other module outside a backend's folder names it in code: no import of
  ``bmtoolkit.simulator.<backend>`` and no string holding its name. Prose (docstrings and
  comments) may mention backends to users. The few applications that run one particular
  backend by design are listed in :data:`APPLICATIONS` with the reason.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "bmtoolkit"
SIMULATOR = PACKAGE / "simulator"


def _backends() -> list[str]:
    """Every built-in backend: the simulator folders that declare a spec."""
    return sorted(
        p.name for p in SIMULATOR.iterdir() if (p / "spec.py").is_file() and p.name != "core"
    )


#: (module, backend) -> why this module names that backend in code
APPLICATIONS: dict[tuple[str, str], str] = {
    ("demo.py", "filternet"): "the demo runs LGN filters, then NEST, by design",
    ("demo.py", "pointnet"): "the demo runs LGN filters, then NEST, by design",
    ("commands/demo.py", "filternet"): "help text of the demo command",
    ("commands/demo.py", "pointnet"): "help text of the demo command",
    ("recipes/v1/pipeline.py", "filternet"): "the V1 recipe turns the stimulus into LGN spikes",
    ("recipes/v1/pipeline.py", "pointnet"): "the V1 recipe simulates the GLIF network on NEST",
    ("commands/convert_to_point.py", "bionet"): "converts a detailed network to point neurons",
    ("commands/convert_to_point.py", "pointnet"): "converts a detailed network to point neurons",
    ("glif/convert.py", "bionet"): "fits GLIF models by simulating the detailed cells",
    ("builder/__init__.py", "bionet"): "bmtoolkit.builder.bionet is BMTK's builder module "
    "of that name (rand_syn_locations), not the backend",
    ("sonata/config_keys.py", "torchnet"): "run.torchnet is a config key (torchnet's options)",
    ("glif/gradient/fit.py", "torchnet"): "the gradient fit runs torchnet's differentiable GLIF "
    "cells on the sweeps, by design",
    ("glif/gradient/_backend.py", "torchnet"): "the gradient fit runs torchnet's differentiable "
    "GLIF cells on the sweeps, by design",
    ("commands/fit_glif.py", "torchnet"): "help text of fit-glif --method gradient",
}


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        kinds = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        if isinstance(node, kinds) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


@cache
def _code_texts(path: Path) -> tuple[tuple[int, str], ...]:
    """``(line, text)`` of every import and non-docstring string of a module (parsed once)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            texts = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            texts = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts = [] if id(node) in docs else [node.value]
        else:
            continue
        out += [(node.lineno, t) for t in texts]
    return tuple(out)


def code_mentions(path: Path, name: str) -> list[str]:
    """Imports of ``bmtoolkit.simulator.<name>`` and non-docstring strings naming ``name``."""
    word = re.compile(rf"\b{re.escape(name)}\b")
    return [f"{path}:{n}: {t[:70]!r}" for n, t in _code_texts(path) if word.search(t)]


def test_the_built_in_backends_are_found():
    assert {"pointnet", "bionet", "popnet", "filternet", "torchnet", "numpynet"} <= set(_backends())


@pytest.mark.parametrize("backend", _backends())
def test_simulation_core_never_names_a_backend(backend):
    word = re.compile(rf"\b{backend}\b")
    found = [
        f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}"
        for path in sorted((SIMULATOR / "core").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if word.search(line)
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("backend", _backends())
def test_no_module_outside_a_backend_folder_names_it_in_code(backend):
    own = SIMULATOR / backend
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if own in path.parents:
            continue
        rel = path.relative_to(PACKAGE).as_posix()
        if (rel, backend) in APPLICATIONS:
            continue
        found += code_mentions(path, backend)
    assert not found, "\n".join(found)


@pytest.mark.parametrize(("module", "backend"), sorted(APPLICATIONS))
def test_every_listed_application_still_names_its_backend(module, backend):
    """An entry whose module no longer names the backend is removed from the list."""
    assert code_mentions(PACKAGE / module, backend)


def test_the_check_sees_a_mention(tmp_path):
    """The check finds an import and a string, and ignores prose."""
    path = tmp_path / "m.py"
    path.write_text(
        '"""Runs on popnet."""\n'
        "# popnet too\n"
        "import bmtoolkit.simulator.popnet.backend\n"
        'NAME = "popnet"\n'
    )
    hits = code_mentions(path, "popnet")
    assert len(hits) == 2 and ":3:" in hits[0] and ":4:" in hits[1]
