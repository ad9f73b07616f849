"""Optional CoreNEURON execution: same outputs as NEURON, chosen by ``target_simulator``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron]


def test_coreneuron_is_asked_for_by_target_simulator_or_environment(monkeypatch):
    from bmtoolkit.simulator.bionet.backend import wants_coreneuron

    monkeypatch.delenv("BMTOOLKIT_CORENEURON", raising=False)
    assert wants_coreneuron(SimpleNamespace(target_simulator="CORENEURON"))
    assert wants_coreneuron(SimpleNamespace(target_simulator="CoreNEURON"))
    assert not wants_coreneuron(SimpleNamespace(target_simulator="NEURON"))
    assert not wants_coreneuron(SimpleNamespace(target_simulator=None))
    monkeypatch.setenv("BMTOOLKIT_CORENEURON", "1")
    assert wants_coreneuron(SimpleNamespace(target_simulator="NEURON"))


def test_coreneuron_library_is_a_separate_single_build(tmp_path):
    require_module("neuron")
    from bmtoolkit.exceptions import SimulationError
    from bmtoolkit.simulator.bionet import mechanisms

    files = mechanisms.builtin_mod_files()
    assert mechanisms.mechanism_hash(files) != mechanisms.mechanism_hash(files, coreneuron=True)
    mechanisms.load_mechanisms()  # a NEURON-only library is now loaded in this process
    if mechanisms.loaded_coreneuron_library() is None:
        with pytest.raises(SimulationError, match="fresh process"):
            mechanisms.load_mechanisms(coreneuron=True)


_RUN = """
import json, sys, warnings
import numpy as np
from bmtoolkit.simulator.core.runner import run
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    result = run(sys.argv[1], output_dir=sys.argv[2])
print(json.dumps({"outputs": result.outputs, "warnings": [str(w.message) for w in caught]}))
"""


@pytest.mark.slow
@pytest.mark.conformance
def test_5_cells_on_coreneuron_equal_neuron(sonata_examples, tmp_path):
    """First use compiles the library with ``nrnivmodl -coreneuron`` (cached afterwards)."""
    require_module("neuron")
    from neuron import config

    if not config.arguments.get("NRN_ENABLE_CORENEURON"):
        pytest.skip("this NEURON build has no CoreNEURON")
    from bmtoolkit.sonata import read_frame_report, read_spikes

    case = sonata_examples / "5_cells_iclamp"
    doc = json.loads((case / "simulation_config.json").read_text())
    doc["manifest"]["$BASE_DIR"] = str(case)
    doc["run"]["tstop"] = 1000.0
    doc["reports"] = {
        "v": {"cells": "biophys_cells", "variable_name": "v", "module": "membrane_report"},
        "v_coarse": {
            "cells": "biophys_cells",
            "variable_name": "v",
            "module": "membrane_report",
            "dt": 0.5,
            "start_time": 100.0,
        },
    }
    outputs = {}
    for target in ("NEURON", "CORENEURON"):
        config_path = tmp_path / f"{target}.json"
        config_path.write_text(json.dumps(dict(doc, target_simulator=target)))
        proc = subprocess.run(
            [sys.executable, "-c", _RUN, str(config_path), str(tmp_path / target)],
            capture_output=True,
            text=True,
            timeout=900,
            env=dict(os.environ, NEURON_MODULE_OPTIONS="-nogui"),
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        assert not [w for w in info["warnings"] if "CoreNEURON" in w], info["warnings"]
        outputs[target] = info["outputs"]
    neuron, core = outputs["NEURON"], outputs["CORENEURON"]
    a, b = read_spikes(neuron["spikes"]), read_spikes(core["spikes"])
    assert len(a) > 10
    np.testing.assert_array_equal(np.sort(a["timestamp"]), np.sort(b["timestamp"]))
    for name, frames in (("v", 10000), ("v_coarse", 1800)):
        (x,) = read_frame_report(neuron[name]).values()
        (y,) = read_frame_report(core[name]).values()
        assert x.data().shape == y.data().shape == (frames, 5)
        np.testing.assert_allclose(y.data(), x.data(), atol=1e-4)


@pytest.mark.slow
@pytest.mark.conformance
@pytest.mark.parametrize(("case", "fallback"), [("9_cells", False), ("300_intfire", True)])
def test_networks_on_coreneuron(sonata_examples, tmp_path, bionet_run, case, fallback):
    """Virtual cells and synapses run on CoreNEURON; IntFire1 cells (which CoreNEURON lacks)
    make the run stay on NEURON with a warning. Spikes equal the NEURON run either way."""
    require_module("neuron")
    from neuron import config

    if not config.arguments.get("NRN_ENABLE_CORENEURON"):
        pytest.skip("this NEURON build has no CoreNEURON")
    from bmtoolkit.sonata import read_spikes

    proc = subprocess.run(
        [sys.executable, "-c", _RUN, str(sonata_examples / case / "config.json"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        env=dict(os.environ, NEURON_MODULE_OPTIONS="-nogui", BMTOOLKIT_CORENEURON="1"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    warned = [w for w in info["warnings"] if "instead of CoreNEURON" in w]
    assert bool(warned) == fallback, info["warnings"]
    if fallback:
        assert "IntFire1" in warned[0]

    def load(path):
        df = read_spikes(path)
        return df.sort_values(["population", "node_id", "timestamp"]).reset_index(drop=True)

    ours = load(info["outputs"]["spikes"])
    assert len(ours) > 0 and ours.equals(load(bionet_run(case).outputs["spikes"]))
