"""Fixtures of the BMTK-example tests: BMTK's shipped examples, run in place.

Each run gets a folder of its own whose entries link to the example's files (network,
components, inputs, scripts), so the example's configs run unchanged and write their outputs
(``${configdir}/output...``) into the temporary folder, never into the shared data. A config
may get a shorter ``tstop`` (the only change) to keep the suite quick.

The shared copy holds BMTK's example folders without their NMODL files, so the common
``bio_components/mechanisms`` folder the bio examples name is absent (bmtoolkit compiles its
own mechanism library). :func:`bmtk_examples_tree` gives a folder that mirrors the examples
with links to every file, in which that folder exists, so each config is read unchanged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import conformance_root


def examples_root() -> Path:
    """``bmtk_examples`` of the conformance data; skips (with the reason) when absent."""
    root = conformance_root() / "bmtk_examples"
    if not root.is_dir():
        pytest.skip(
            f"BMTK examples not found at {root}; set BMTOOLKIT_CONFORMANCE to the folder "
            "holding bmtk_examples/"
        )
    return root


def stage(example: str, config: str, root: Path, tstop: float | None = None) -> Path:
    """Link ``example``'s files into ``root/example`` (its sibling folders, such as
    ``point_components``, into ``root``) and copy ``config`` there (``tstop`` replaced when
    given, nothing else changed); return the config path."""
    src = examples_root() / example
    dest = root / example
    dest.mkdir(parents=True, exist_ok=True)
    for sibling in src.parent.iterdir():
        if sibling.is_dir() and sibling.name != example and not (root / sibling.name).exists():
            os.symlink(sibling, root / sibling.name)
    for entry in src.iterdir():
        if entry.name.startswith("output") or entry.name == config:
            continue
        link = dest / entry.name
        if not link.exists():
            os.symlink(entry, link)
    doc = json.loads((src / config).read_text())
    if tstop is not None:
        doc["run"]["tstop"] = float(tstop)
    (dest / config).write_text(json.dumps(doc, indent=2))
    return dest / config


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
    return mirror_examples(examples_root(), tmp_path_factory.mktemp("bmtk_examples"))
