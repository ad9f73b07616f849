"""The import rules between the layers of the package, checked on the source of every module.

bmtoolkit is layered; each layer imports only the layers below it::

    application  cli, commands, glif, utils, demo (may import everything)
    builder | simulator | analyzer   (siblings: none imports another)
    models       domain knowledge shared by the layers above, no simulator
    sonata       the file format, the only package touching h5py
    foundation   exceptions, registry, progress, _process, native, the package root

Inside ``bmtoolkit.simulator``, ``core`` is the shared base and every other package is a
backend: a backend imports ``core`` (and the layers below), never another backend, and
``core`` imports no backend. ``bmtoolkit.models`` also never imports a simulator (NEST,
NEURON, PyTorch, mpi4py), not even inside a function.

Every ``import`` and ``from ... import`` statement of every module is read with :mod:`ast`
(inside functions too, where the heavy imports live), as are ``importlib.import_module``
calls with a literal name; the test lists every violation with its file and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bmtoolkit"

#: modules every layer may import
FOUNDATION = {"exceptions", "registry", "progress", "_process", "native", ""}
#: layers in order; each may import itself, the foundation and the layers listed for it
ALLOWED: dict[str, set[str]] = {
    "foundation": {"foundation"},
    "sonata": {"foundation", "sonata"},
    "models": {"foundation", "sonata", "models"},
    "builder": {"foundation", "sonata", "models", "builder"},
    "analyzer": {"foundation", "sonata", "models", "analyzer"},
    # ``bmtoolkit.simulator`` itself (the lazy front), its ``core`` and every backend
    "simulator": {"foundation", "sonata", "models", "simulator"},
}
#: third-party simulators that bmtoolkit.models must never import
SIMULATORS = ("nest", "neuron", "torch", "mpi4py")


def layer(module: str) -> str:
    """Layer of a ``bmtoolkit`` module name (``"application"`` when unrestricted)."""
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else ""
    if head in FOUNDATION:
        return "foundation"
    if head in ALLOWED:
        return head
    return "application"


def backend(module: str) -> str | None:
    """``core`` or the backend package of a ``bmtoolkit.simulator`` module (else None)."""
    parts = module.split(".")
    if len(parts) > 2 and parts[:2] == ["bmtoolkit", "simulator"]:
        return parts[2]
    return None


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """``(line, imported module)`` of every import in a file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # ``from bmtoolkit.simulator import pointnet``
                yield node.lineno, f"{target}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def is_package(module: str) -> bool:
    """Whether ``module`` names a module or package of bmtoolkit (not an attribute)."""
    rel = Path(*module.split("."))
    root = PACKAGE.parent
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def violation(source: str, target: str) -> str | None:
    """Why ``source`` may not import ``target`` (None when it may)."""
    if target.split(".")[0] in SIMULATORS and layer(source) == "models":
        return "bmtoolkit.models never imports a simulator"
    if not target.startswith("bmtoolkit") or not is_package(target):
        return None
    src, dst = layer(source), layer(target)
    if src != "application" and dst not in ALLOWED[src]:
        return f"{src} may import only {sorted(ALLOWED[src])}, not {dst}"
    a, b = backend(source), backend(target)
    if a and b and a != b and b != "core":
        if a == "core":
            return "simulator.core is the shared base and imports no backend"
        return f"backend {a!r} imports backend {b!r}; share code through core or models"
    return None


def all_violations() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        for line, target in imports(path):
            reason = violation(source, target)
            if reason:
                rel = path.relative_to(PACKAGE.parent)
                found.append(f"{rel}:{line}: {source} imports {target}: {reason}")
    return sorted(set(found))


def test_every_module_follows_the_layer_rules():
    found = all_violations()
    assert not found, "import rules broken:\n" + "\n".join(found)


def test_the_rules_see_every_kind_of_import(tmp_path, monkeypatch):
    """The checker itself: each kind of statement is found and judged."""
    src = tmp_path / "bmtoolkit"
    for pkg in ("models", "sonata", "builder", "simulator/core", "simulator/a", "simulator/b"):
        (src / pkg).mkdir(parents=True)
        (src / pkg / "__init__.py").write_text("")
    (src / "__init__.py").write_text("")
    (src / "exceptions.py").write_text("")
    (src / "models" / "x.py").write_text(
        "def f():\n    import torch\n    from bmtoolkit.builder import network\n"
    )
    (src / "sonata" / "y.py").write_text("from ..models import x\n")
    (src / "simulator" / "a" / "m.py").write_text(
        "import importlib\nfrom bmtoolkit.simulator.core import base\n"
        "importlib.import_module('bmtoolkit.simulator.b')\n"
    )
    (src / "simulator" / "core" / "base.py").write_text("from bmtoolkit.simulator import a\n")
    (src / "builder" / "ok.py").write_text(
        "from bmtoolkit.models import x\nfrom bmtoolkit.exceptions import ConfigError\n"
    )
    monkeypatch.setitem(globals(), "PACKAGE", src)
    found = "\n".join(all_violations())
    assert "models/x.py:2: bmtoolkit.models.x imports torch: bmtoolkit.models never" in found
    assert "models/x.py:3: bmtoolkit.models.x imports bmtoolkit.builder" in found
    assert "sonata/y.py:1: bmtoolkit.sonata.y imports bmtoolkit.models" in found
    assert "backend 'a' imports backend 'b'" in found
    assert "simulator.core is the shared base" in found
    assert "builder/ok.py" not in found
    assert "simulator/a/m.py:2" not in found


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        ("bmtoolkit.builder.synapses", "bmtoolkit.models.morphology", True),
        ("bmtoolkit.builder.lgn", "bmtoolkit.simulator.filternet.cells", False),
        ("bmtoolkit.simulator.torchnet.io", "bmtoolkit.simulator.pointnet.cells", False),
        ("bmtoolkit.simulator.torchnet.io", "bmtoolkit.simulator.core.models", True),
        ("bmtoolkit.analyzer.plots", "bmtoolkit.builder.network", False),
        ("bmtoolkit.models.lgn", "bmtoolkit.sonata.nodes", True),
        ("bmtoolkit.sonata.nodes", "bmtoolkit.models.lgn", False),
        ("bmtoolkit.commands.run", "bmtoolkit.simulator.pointnet.backend", True),
        ("bmtoolkit.glif.convert", "bmtoolkit.simulator.bionet.cells", True),
    ],
)
def test_rules_on_known_pairs(source, target, allowed):
    assert (violation(source, target) is None) == allowed
