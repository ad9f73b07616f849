"""Fixtures for BMTK's own examples (``bmtk_examples`` of the shared conformance data).

The shared copy holds BMTK's example folders without their NMODL files, so the common
``bio_components/mechanisms`` folder the bio examples name is absent (bmtoolkit compiles its
own mechanism library). :func:`bmtk_examples_tree` gives a folder that mirrors the examples
with links to every file, in which that folder exists, so each config is read unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import conformance_root


def mirror_examples(source: Path, target: Path) -> Path:
    """Mirror ``source`` into ``target``: real folders, links to every file; add the empty
    ``bio_components/mechanisms`` folder the shared copy leaves out. Returns ``target``."""
    for folder, _dirs, files in os.walk(source):
        rel = Path(folder).relative_to(source)
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            (target / rel / name).symlink_to(Path(folder) / name)
    (target / "bio_components" / "mechanisms").mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture(scope="session")
def bmtk_examples_tree(tmp_path_factory) -> Path:
    """A linked mirror of ``bmtk_examples``; skips with the reason when the data is absent."""
    root = conformance_root() / "bmtk_examples"
    if not root.is_dir():
        pytest.skip(
            f"BMTK examples not found at {root}; set BMTOOLKIT_CONFORMANCE to the folder "
            "holding bmtk_examples/ to run these tests"
        )
    return mirror_examples(root, tmp_path_factory.mktemp("bmtk_examples"))
