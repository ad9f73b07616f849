"""Shared test fixtures: where the conformance examples live, and skips that say why."""

from __future__ import annotations

import os
from pathlib import Path

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


def require_module(name: str):
    """Import ``name`` or skip the test, saying which package is missing."""
    return pytest.importorskip(name, reason=f"{name} is not installed")
