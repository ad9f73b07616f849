"""``bmtoolkit validate`` on every config of BMTK's own examples, read unchanged.

Each config is validated from its example folder (BMTK's run scripts start there, and some
configs name files relative to it). A config passes, or each error it gets is one line that
either names a BMTK module documented as not supported (``docs/differences_from_bmtk.md``,
*Not supported*) or names a file the shared copy of the examples lacks (NWB sessions and
recordings the examples download, files their scripts write first): :data:`ABSENT` lists
those, and only those may be reported.
"""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import pytest

from bmtoolkit.cli import main
from bmtoolkit.commands.validate import run_checks
from bmtoolkit.simulator.core.registries import UNSUPPORTED_INPUTS, UNSUPPORTED_REPORTS
from bmtoolkit.sonata.validation import validate_config
from tests.conftest import conformance_root

pytestmark = pytest.mark.conformance

DOC = Path(__file__).resolve().parents[2] / "docs" / "differences_from_bmtk.md"

_EXAMPLES = conformance_root() / "bmtk_examples"
CONFIGS = (
    sorted(str(p.relative_to(_EXAMPLES)) for p in _EXAMPLES.glob("*/config*.json"))
    if _EXAMPLES.is_dir()
    else []
)

_NEUROPIXELS = ("ecephys_cache_dir/session_",)
#: example -> names (path suffixes) of the files the shared copy lacks
ABSENT: dict[str, tuple[str, ...]] = {
    "bio_neuropixels": _NEUROPIXELS,
    "point_neuropixels": _NEUROPIXELS,
    "bio_advanced_stimuli": ("inputs/483111427_ephys.nwb",),  # NWB sweeps, downloaded
    "point_iclamp": ("inputs/483111427_ephys.nwb",),
    "point_120cells": ("/local1/Downloads/483111427_ephys.nwb", "thalamus_spikes.csv"),
    # cell model and stimulus waveform of the example, absent from the shared copy
    "bio_comsol": ("472363762_fit.json", "stimulations/waveform.csv"),
    "filter_movie": ("movie_files/test_scene.npy",),  # absent from the shared copy
    "pop_2pops": ("population_components/pop_models", "population_components/synaptic_models"),
}


#: configs expected to fail validation for a feature still missing (none today); strict xfail,
#: so a fix shows
KNOWN_OPEN: dict[str, str] = {}


def _params(configs: list[str]) -> list:
    return [
        pytest.param(
            c, marks=pytest.mark.xfail(reason=KNOWN_OPEN[c], strict=True) if c in KNOWN_OPEN else ()
        )
        for c in configs
    ]


def _not_supported_section() -> str:
    text = DOC.read_text()
    start = text.index("## Not supported")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def _problems(config: Path) -> list:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        problems = validate_config(config, include_warnings=True)
        problems += [p for p in run_checks(str(config), problems) if p not in problems]
    return [p for p in problems if p.severity == "error"]


def _acceptable(problem, example: str, documented: str) -> bool:
    text = str(problem)
    if "\n" in text:
        return False
    if problem.kind == "unsupported":
        names = re.findall(r"module '([^']+)'|\((\w+Input)\)", problem.message)
        modules = [a or b for a, b in names]
        return bool(modules) and all(f"`{m}`" in documented or m in documented for m in modules)
    if problem.kind == "missing_file":
        return any(name in problem.message for name in ABSENT.get(example, ()))
    return False


def test_every_unsupported_module_is_documented():
    documented = _not_supported_section()
    for name in (*UNSUPPORTED_INPUTS, *UNSUPPORTED_REPORTS):
        assert f"`{name}`" in documented, name


@pytest.mark.parametrize("config", _params(CONFIGS))
def test_config_validates_or_names_a_documented_limit(bmtk_examples_tree, config, monkeypatch):
    path = bmtk_examples_tree / config
    example = config.split("/")[0]
    monkeypatch.chdir(path.parent)
    errors = _problems(path)
    documented = _not_supported_section()
    bad = [str(p) for p in errors if not _acceptable(p, example, documented)]
    assert not bad, bad
    # the command line says the same, one line per problem
    out = io.StringIO()
    with contextlib.redirect_stdout(out), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["validate", "--quiet", str(path)])
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert code == (1 if errors else 0)
    assert len(lines) == len({str(p) for p in errors}), lines


def test_missing_nwb_session_fails_with_one_line_naming_it(bmtk_examples_tree, monkeypatch):
    """The Neuropixels examples need sessions their scripts download: a run stops on one
    line naming the missing file, before any simulator starts."""
    from bmtoolkit.exceptions import MissingFileError
    from bmtoolkit.simulator import run

    path = bmtk_examples_tree / "point_neuropixels" / "config.simulation.units_map.json"
    monkeypatch.chdir(path.parent)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(MissingFileError) as err:
            run(path, progress=False)
    assert "session_798911424.nwb" in str(err.value) and "\n" not in str(err.value)
