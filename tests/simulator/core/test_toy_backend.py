"""The backend of ``docs/design/adding_a_backend.md``, added from outside bmtoolkit.

``toynet`` (the package next to this file) is copied into a temporary site folder with a
``dist-info`` whose ``entry_points.txt`` declares it in the ``bmtoolkit.backends`` group, as
``pip install`` of a package would. Nothing in bmtoolkit changes: bmtoolkit finds it, reads its
spec without importing the backend, refuses what it does not declare, and runs it through the
cross-backend conformance table (the same checks as ``tests/conformance``, with pointnet as
the reference).
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from pathlib import Path

import pytest

from bmtoolkit.simulator.core import spec as spec_module
from bmtoolkit.simulator.core.registries import BACKENDS, backend_names, get_backend
from tests.conformance import _cross_scenarios as sc
from tests.conformance import test_cross_backend as table

TOY = Path(__file__).with_name("toynet")
MODEL = "iaf_psc_delta"


@pytest.fixture(scope="module")
def toynet(tmp_path_factory):
    """``toynet`` installed in a site folder on ``sys.path``; forgotten afterwards."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(TOY, site / "toynet")
    dist = site / "toynet-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toynet\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[bmtoolkit.backends]\ntoynet = toynet.spec:SPEC\n")
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    spec_module.discover(refresh=True)
    try:
        yield "toynet"
    finally:
        sys.path.remove(str(site))
        spec_module.unregister_spec("toynet")
        BACKENDS._entries.pop("toynet", None)
        for name in [m for m in sys.modules if m == "toynet" or m.startswith("toynet.")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def simulate(toynet, tmp_path_factory):
    """``simulate(scenario, model, backend)`` as in tests/conformance, cached per module."""
    from bmtoolkit.simulator import run

    configs: dict = {}
    results: dict = {}

    def go(scenario, model, backend, threads=None, **options):
        if backend != toynet:
            table.require_backend(backend)
        key = (scenario, model, tuple(sorted(options.items())))
        if key not in configs:
            folder = tmp_path_factory.mktemp(f"{scenario}-{model}")
            configs[key] = table.WRITERS[scenario](folder, sc.MODELS.get(model), **options)
        rkey = (*key, backend, threads)
        if rkey not in results:
            out = configs[key].parent / f"out-{backend}-{threads}"
            results[rkey] = run(configs[key], backend=backend, threads=threads, output_dir=out,
                                progress=False)  # fmt: skip
        return results[rkey]

    return go


def test_found_through_its_entry_point_without_importing_it(toynet):
    assert toynet in backend_names()
    declared = spec_module.get_spec(toynet)
    assert declared.backend == "toynet.backend:ToyNet" and declared.accepts_input("IClamp")
    assert "toynet.backend" not in sys.modules
    assert spec_module.backend_for_simulator("toynet") == toynet
    cls = get_backend(toynet)
    assert cls.name == toynet and "toynet.backend" in sys.modules


def test_refuses_what_it_does_not_declare(toynet, tmp_path):
    from bmtoolkit.exceptions import ConfigError
    from bmtoolkit.simulator import run

    config = table.WRITERS["clamp"](tmp_path, sc.MODELS[MODEL])
    doc = json.loads(config.read_text())
    doc["reports"] = {"w": {"module": "weight_recorder", "cells": {"population": "cells"}}}
    config.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="toynet backend cannot run this config: reports.w"):
        run(config, backend=toynet, progress=False)
    assert not Path(doc["output"]["output_dir"], "spikes.h5").exists()


@pytest.mark.parametrize(
    "check",
    [
        table.test_clamp_spikes_match_analytic_lif,
        table.test_clamp_spikes_match_reference,
        table.test_clamp_report_rows_match_analytic_v,
        table.test_network_spikes_match_reference,
        table.test_input_spike_times_act_on_the_reference_step,
    ],
    ids=lambda f: f.__name__.removeprefix("test_"),
)
def test_passes_the_cross_backend_table(simulate, toynet, check):
    check(simulate, MODEL, toynet)


def test_the_walkthrough_shows_this_spec_and_entry_point():
    """docs/design/adding_a_backend.md shows the spec and entry point this test installs."""
    doc = (Path(__file__).parents[3] / "docs" / "design" / "adding_a_backend.md").read_text()
    source = (TOY / "spec.py").read_text()
    code = source[source.index("from bmtoolkit") :].strip()
    assert f"```python\n{code}\n```" in doc
    assert '[project.entry-points."bmtoolkit.backends"]\ntoynet = "toynet.spec:SPEC"' in doc
