"""Shared test fixtures: where the conformance examples live, skips that say why, and the
markers of what each test needs.

Markers are applied mechanically at collection (:func:`pytest_collection_modifyitems`): a
test is marked ``nest``, ``neuron``, ``torch``, ``mpi`` or ``interop`` when it imports the
package (``import nest``, ``require_module("nest")``, ``pytest.importorskip("nest")``) in its
own body, at module level, in a fixture it uses or in a helper of the test suite it calls,
or names a backend that needs it (a parameter ``"pointnet"``, an argument
``backend="bionet"``), or is parametrized with another test function that needs it (its
body or its markers); and ``conformance`` when it uses the shared conformance data. Tests that need a simulator
only through a configuration (a NEST run started from a config file) carry the marker in
their module (``pytestmark``). Without the package installed, :func:`require_module` skips a
marked test and fails an unmarked one, so the core-only run of ``scripts/bootstrap.sh test``
finds any marker still missing.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import FunctionType

import pytest

#: helper scripts that are run by tests, not imported (``--doctest-modules`` would run them)
collect_ignore = ["builder/build_script.py"]

if os.environ.get("BMTOOLKIT_HYPOTHESIS_DIR"):  # CI: examples saved in the run's scratch folder
    from hypothesis import settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    settings.register_profile(
        "scratch", database=DirectoryBasedExampleDatabase(os.environ["BMTOOLKIT_HYPOTHESIS_DIR"])
    )
    settings.load_profile("scratch")

_DEFAULT_CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"


def conformance_root() -> Path:
    """Folder of the shared conformance data (``BMTOOLKIT_CONFORMANCE`` overrides)."""
    return Path(os.environ.get("BMTOOLKIT_CONFORMANCE", _DEFAULT_CONFORMANCE))


@pytest.fixture(scope="session")
def sonata_examples() -> Path:
    """Path of ``sonata_examples``; skips with the reason when the data is absent."""
    root = conformance_root() / "sonata_examples"
    if not root.is_dir():
        pytest.skip(
            f"conformance data not found at {root}; set BMTOOLKIT_CONFORMANCE to the folder "
            "holding sonata_examples/ to run these tests"
        )
    return root


#: marker of each optional package a test may need (top-level module name -> marker)
NEEDS: dict[str, str] = {
    "nest": "nest",
    "neuron": "neuron",
    "torch": "torch",
    "mpi4py": "mpi",
    "bmtk": "interop",
    "libsonata": "interop",
    "bluepysnap": "interop",
}
#: marker of each backend whose simulator is optional: a test parametrized with the backend's
#: name, or calling something with ``backend="<name>"``, needs it
BACKEND_NEEDS: dict[str, str] = {"pointnet": "nest", "bionet": "neuron", "torchnet": "torch"}
#: the calls that import an optional package or skip
REQUIRE_CALLS = frozenset({"require_module", "importorskip"})
#: the markers this module applies
KNOWN_MARKS = frozenset({*NEEDS.values(), *BACKEND_NEEDS.values(), "conformance"})
#: calls that mean "this test reads the shared conformance data"
CONFORMANCE_CALLS = frozenset({"conformance_root"})
CONFORMANCE_FIXTURES = frozenset({"sonata_examples"})

_TESTS = Path(__file__).resolve().parent
_current: list[pytest.Item] = []


def require_module(name: str):
    """Import ``name`` or skip the test, saying which package is missing.

    A test that needs one of the packages of :data:`NEEDS` must carry its marker: without the
    package, an unmarked test fails (naming the marker) instead of skipping.
    """
    try:
        __import__(name)
    except ImportError:
        marker = NEEDS.get(name.split(".")[0])
        item = _current[-1] if _current else None
        if marker and item is not None and item.get_closest_marker(marker) is None:
            pytest.fail(
                f"{item.nodeid} needs {name} but is not marked @pytest.mark.{marker}: add the "
                f"marker so that `-m 'not {marker}'` leaves it out",
                pytrace=False,
            )
    return pytest.importorskip(name, reason=f"{name} is not installed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Remember the running test (for :func:`require_module`)."""
    _current.append(item)
    try:
        yield
    finally:
        _current.pop()


def _in_tests(obj: object) -> bool:
    try:
        return Path(inspect.getfile(obj)).resolve().is_relative_to(_TESTS)
    except (TypeError, OSError):
        return False


def _needs_in(tree: ast.AST, *, top_level: bool = False) -> tuple[set[str], set[str]]:
    """Markers named by the imports and calls of ``tree``, and the names it calls.

    With ``top_level``, only statements outside functions and classes count (module code).
    """
    marks: set[str] = set()
    called: set[str] = set()
    nodes = ast.iter_child_nodes(tree) if top_level else ast.walk(tree)
    for node in nodes:
        if top_level and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for sub in ast.walk(node) if top_level else (node,):
            if isinstance(sub, ast.Import):
                marks.update(NEEDS.get(a.name.split(".")[0], "") for a in sub.names)
            elif isinstance(sub, ast.ImportFrom) and sub.module and not sub.level:
                marks.add(NEEDS.get(sub.module.split(".")[0], ""))
                if sub.module.split(".")[0] == "tests":  # a helper of the suite
                    called.update(f"{sub.module}:{a.name}" for a in sub.names)
            elif (  # for mod in ("libsonata", "bmtk"): require_module(mod)
                isinstance(sub, ast.For)
                and isinstance(sub.target, ast.Name)
                and isinstance(sub.iter, ast.Tuple | ast.List)
                and any(
                    isinstance(c, ast.Call)
                    and getattr(c.func, "id", getattr(c.func, "attr", "")) in REQUIRE_CALLS
                    and c.args
                    and isinstance(c.args[0], ast.Name)
                    and c.args[0].id == sub.target.id
                    for c in ast.walk(sub)
                )
            ):
                marks.update(
                    NEEDS.get(str(e.value).split(".")[0], "")
                    for e in sub.iter.elts
                    if isinstance(e, ast.Constant)
                )
            elif isinstance(sub, ast.Call):
                func = sub.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                called.add(name)
                if name in CONFORMANCE_CALLS:
                    marks.add("conformance")
                for kw in sub.keywords:
                    if kw.arg == "backend" and isinstance(kw.value, ast.Constant):
                        marks.add(BACKEND_NEEDS.get(str(kw.value.value), ""))
                if (
                    name in REQUIRE_CALLS
                    and sub.args
                    and isinstance(sub.args[0], ast.Constant)
                    and isinstance(sub.args[0].value, str)
                ):
                    marks.add(NEEDS.get(sub.args[0].value.split(".")[0], ""))
    marks.discard("")
    return marks, called


def _test_module(name: str):
    """The test-suite module ``name`` (imported if needed; None when it cannot be)."""
    if name not in sys.modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an unresolved helper only adds no marker
            return None
    return sys.modules[name]


_FUNCTION_NEEDS: dict[object, set[str]] = {}
_MODULE_NEEDS: dict[str, set[str]] = {}


def _function_needs(func: Callable, depth: int = 0) -> set[str]:
    """Markers a test-suite function needs, through the helpers of the suite it calls."""
    func = inspect.unwrap(func)
    code = getattr(func, "__code__", None)
    if code is None or not _in_tests(func):
        return set()
    if code in _FUNCTION_NEEDS:
        return _FUNCTION_NEEDS[code]
    _FUNCTION_NEEDS[code] = set()  # recursion guard
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, SyntaxError):
        return set()
    marks, called = _needs_in(tree)
    if depth < 6:
        scope = getattr(func, "__globals__", {})
        for name in called:
            module, _, attr = name.rpartition(":")
            helper = getattr(_test_module(module), attr, None) if module else scope.get(name)
            if isinstance(helper, FunctionType):
                marks |= _function_needs(helper, depth + 1)
    _FUNCTION_NEEDS[code] = marks
    return marks


def _module_needs(module) -> set[str]:
    """Markers a test module needs in its own top-level code."""
    path = getattr(module, "__file__", None)
    if path is None:
        return set()
    if path not in _MODULE_NEEDS:
        try:
            tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        except (OSError, SyntaxError):
            tree = ast.Module(body=[], type_ignores=[])
        _MODULE_NEEDS[path] = _needs_in(tree, top_level=True)[0]
    return _MODULE_NEEDS[path]


def item_needs(item: pytest.Item) -> set[str]:
    """Markers a collected test needs (see the module notes)."""
    func = getattr(item, "function", None)
    if func is None or not _in_tests(func):
        return set()
    marks = _module_needs(item.module) | _function_needs(func)
    callspec = getattr(item, "callspec", None)
    for value in callspec.params.values() if callspec else ():
        if isinstance(value, str) and value in BACKEND_NEEDS:
            marks.add(BACKEND_NEEDS[value])
        elif isinstance(value, FunctionType) and _in_tests(value):  # a test run by a test
            marks |= _function_needs(value)
            marks |= {m.name for m in getattr(value, "pytestmark", ()) if m.name in KNOWN_MARKS}
    info = getattr(item, "_fixtureinfo", None)
    for name in getattr(item, "fixturenames", ()):
        if name in CONFORMANCE_FIXTURES:
            marks.add("conformance")
        for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
            marks |= _function_needs(fixturedef.func)
    return marks


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with what it needs (:func:`item_needs`), then put the ``slow`` tests
    first (otherwise in collection order).

    Under ``-n 2`` the few dozen slow tests take two thirds of the suite's time; a 5-minute
    test that started last would run alone at the end while the other worker idles. Started
    first, the many short tests behind them fill in around them (``--dist worksteal`` moves
    the short ones to whichever worker is free).
    """
    for item in items:
        for marker in sorted(item_needs(item)):
            if item.get_closest_marker(marker) is None:
                item.add_marker(marker)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
