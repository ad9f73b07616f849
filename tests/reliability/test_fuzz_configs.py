"""Fuzzed configs: validate, info and run raise only bmtoolkit errors, and agree.

Hypothesis mutates the simulation config of a tiny network (replacing, deleting or adding
values anywhere in the JSON) and calls the in-process entry points of ``bmtoolkit validate``,
``bmtoolkit info`` and ``bmtoolkit run`` (numpy backend, a few ms of simulated time). Only
:class:`~bmtoolkit.exceptions.BmtkError` may escape, and a config that ``validate`` accepts
must not be rejected by ``run``: the run's checks before simulating are the ones ``validate``
makes (:mod:`bmtoolkit.simulator.core.preflight`).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmtoolkit.exceptions import BmtkError, BmtkWarning
from tests.reliability.tiny_network import make_network

ODD_VALUES = [
    None, "abc", "", -1, 0, 1, 2.7, -0.5, 1e308, math.inf, -math.inf, math.nan, True, [], {},
    [1, 2], {"a": 1}, "$BASE_DIR/nothing", "$NOPE/x", "by_id", "NEST", "all", "internal",
    "V_m", "spikes", "sonata", "membrane_report", "inputs", 0.1, 10.0,
]  # fmt: skip


@pytest.fixture(scope="module")
def network(tmp_path_factory) -> tuple[Path, dict]:
    config = make_network(tmp_path_factory.mktemp("fuzz") / "net")
    doc = json.loads(config.read_text())
    doc["run"]["tstop"] = 3.0
    return config.parent, doc


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            out.extend(_paths(value, (*prefix, i)))
    return out


def _mutate(doc: Any, path: tuple, action: str, value: Any) -> Any:
    if not path:
        return value if action == "replace" else doc
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "add" and isinstance(parent, dict):
        parent[f"{key}_extra"] = value
    else:
        parent[key] = value
    return doc


@st.composite
def mutated(draw, doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        # a copy: a list or dict value is mutated by later steps, and must not carry those
        # changes into the next example (hypothesis replays must draw the same way)
        value = json.loads(json.dumps(draw(st.sampled_from(ODD_VALUES))))
        doc = _mutate(doc, path, action, value)
    return doc


def _validate(config: Path) -> bool:
    """Whether ``bmtoolkit validate`` (in process) finds an error."""
    from bmtoolkit.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(["validate", "--quiet", str(config)]) != 0


def _info(config: Path) -> None:
    from bmtoolkit.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        main(["info", str(config)])


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_configs_give_bmtoolkit_errors_only_and_validate_agrees_with_run(network, data):
    from bmtoolkit.simulator.core.runner import run

    root, doc = network
    cfg = data.draw(mutated(doc))
    work = Path(tempfile.mkdtemp(dir=root))
    config = work / "config.json"
    config.write_text(json.dumps(cfg) if isinstance(cfg, dict | list) else json.dumps(cfg))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BmtkWarning)
        rejected = _validate(config)
        _info(config)
        try:
            run(str(config), backend="numpynet", output_dir=work / "out", progress=False)
        except BmtkError as err:
            if _kind(cfg) == "circuit":
                return  # a valid circuit config that is not a simulation: nothing to agree on
            assert rejected, f"validate accepted a config that run rejects: {err}"


def _kind(doc: Any) -> str | None:
    from bmtoolkit.sonata.config import config_kind

    if not isinstance(doc, dict):
        return None
    try:
        return config_kind(doc)
    except BmtkError:
        return None
