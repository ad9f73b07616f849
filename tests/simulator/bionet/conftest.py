"""Fixtures of the bionet tests: one serial run per conformance example, shared by tests."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")


@pytest.fixture(scope="session")
def bionet_run(sonata_examples, tmp_path_factory) -> Callable[[str], Any]:
    """``bionet_run("9_cells")``: the RunResult of the example's config on one process
    (run once per session, outputs in a session temporary folder)."""
    done: dict[str, Any] = {}

    def run_case(case: str) -> Any:
        if case not in done:
            require_module("neuron")
            from bmtoolkit.simulator.core.runner import run

            out = tmp_path_factory.mktemp(f"bionet_{case}")
            done[case] = run(
                sonata_examples / case / "config.json", backend="bionet", output_dir=out
            )
        return done[case]

    return run_case
