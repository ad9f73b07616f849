"""Collection rules for the whole checkout (``pytest --doctest-modules bmtoolkit`` included).

A few modules consist of simulator code (the PyTorch backend's ``torch.nn.Module`` classes)
and refuse to import without their simulator, raising
:class:`~bmtoolkit.exceptions.BackendNotAvailableError`. Their docstring examples cannot run
there either, so ``--doctest-modules`` leaves those modules out instead of failing the whole
collection, and the summary names each one with what to install. Any other import error
still fails the collection.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent / "bmtoolkit"

_LEFT_OUT = pytest.StashKey[list[str]]()


def _module_name(path: Path) -> str | None:
    """``bmtoolkit.x.y`` of a source file of the package (None outside it)."""
    try:
        rel = path.resolve().relative_to(PACKAGE.parent)
    except ValueError:
        return None
    if rel.parts[0] != PACKAGE.name or rel.suffix != ".py":
        return None
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_LEFT_OUT] = []


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave out the doctests of a module whose simulator is not installed."""
    if not config.getoption("doctestmodules", False):
        return None
    name = _module_name(collection_path)
    if name is None or name.rsplit(".", 1)[-1] == "conftest":
        return None
    from bmtoolkit.exceptions import BackendNotAvailableError

    try:
        importlib.import_module(name)
    except BackendNotAvailableError as err:
        config.stash[_LEFT_OUT].append(f"{name}: {err}")
        return True
    except Exception:  # noqa: BLE001 - the doctest collector reports it as usual
        return None
    return None


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    left_out = config.stash.get(_LEFT_OUT, [])
    if left_out:
        terminalreporter.section("doctests left out: simulator not installed")
        for line in left_out:
            terminalreporter.write_line(line)
