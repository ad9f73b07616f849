"""A bionet run reports what it cannot do before it builds a single cell.

Timer-free: each run happens in a fresh process that, on the error, reports how many NEURON
sections exist (none may, since building cells is the first thing that creates sections).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron, pytest.mark.conformance]

_RUN = r"""
import json, sys
from bmtoolkit.exceptions import BmtkError
from bmtoolkit.simulator.core.runner import run
out = {}
for name, config in json.loads(sys.argv[1]).items():
    try:
        run(config, backend="bionet")
        out[name] = {"error": None}
    except BmtkError as err:
        from neuron import h
        out[name] = {"error": type(err).__name__, "message": str(err),
                     "sections": len(list(h.allsec()))}
print(json.dumps(out))
"""


def _config(case, tmp_path, name, *, inputs=None, reports=None, components=None):
    """5_cells_iclamp's configs with absolute paths and the given changes."""
    circuit = json.loads((case / "circuit_config.json").read_text())
    circuit["manifest"]["$BASE_DIR"] = str(case)
    circuit["components"].update(components or {})
    sim = json.loads((case / "simulation_config.json").read_text())
    sim["manifest"]["$BASE_DIR"] = str(case)
    sim["manifest"]["$OUTPUT_DIR"] = str(tmp_path / f"out_{name}")
    sim["network"] = str(tmp_path / f"circuit_{name}.json")
    sim["inputs"].update(inputs or {})
    sim["reports"].update(reports or {})
    (tmp_path / f"circuit_{name}.json").write_text(json.dumps(circuit))
    path = tmp_path / f"simulation_{name}.json"
    path.write_text(json.dumps(sim))
    return str(path)


def test_unsupported_inputs_reports_and_missing_files_fail_before_any_cell(
    sonata_examples, tmp_path
):
    require_module("neuron")
    case = sonata_examples / "5_cells_iclamp"
    empty = tmp_path / "no_morphologies"
    empty.mkdir()
    configs = {
        "replay": _config(
            case,
            tmp_path,
            "replay",
            inputs={"replayed": {"input_type": "spikes", "module": "replay", "node_set": "all"}},
        ),
        "weights": _config(
            case,
            tmp_path,
            "weights",
            reports={"w": {"module": "weight_recorder", "cells": "biophys_cells"}},
        ),
        "node_set": _config(
            case,
            tmp_path,
            "node_set",
            reports={
                "v2": {"module": "membrane_report", "cells": "no_such_set", "variable_name": "v"}
            },
        ),
        "morphology": _config(
            case, tmp_path, "morphology", components={"morphologies_dir": str(empty)}
        ),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(configs)],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, NEURON_MODULE_OPTIONS="-nogui"),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, result in got.items():
        assert result["error"] is not None, name
        assert result["sections"] == 0, (name, result)
    # the shared checks read an unknown module by its input_type (spikes), which then lacks
    # its input_file; either way the input is named and no cell was built
    assert got["replay"]["error"] in ("UnknownModelError", "ConfigError")
    assert "inputs.replayed" in got["replay"]["message"]
    assert got["weights"]["error"] == "ConfigError"
    assert "weight" in got["weights"]["message"].lower()
    assert "reports.w" in got["weights"]["message"]
    assert "no_such_set" in got["node_set"]["message"]  # names the node sets file
    assert got["morphology"]["error"] == "MissingFileError"
    assert "Scnn1a_473845048_m" in got["morphology"]["message"]
    for name in ("replay", "weights"):
        assert os.path.basename(configs[name]) in got[name]["message"], got[name]["message"]
    assert not (tmp_path / "out_replay" / "spikes.h5").exists()


def test_preflight_checks_mechanisms_and_parameter_files(sonata_examples, tmp_path):
    """Node types whose channels are not compiled or whose fit file is missing are reported
    by the checks alone, once per node type (nothing is built here)."""
    require_module("neuron")
    from bmtoolkit.exceptions import MissingFileError, UnknownModelError
    from bmtoolkit.simulator.bionet.cells import CellSpec
    from bmtoolkit.simulator.bionet.mechanisms import load_mechanisms
    from bmtoolkit.simulator.bionet.preflight import check_cells

    load_mechanisms()
    comp = sonata_examples / "shared_components"
    bad = tmp_path / "bad_fit.json"
    bad.write_text(
        json.dumps(
            {
                "passive": [{"ra": 100.0, "e_pas": -80.0, "cm": []}],
                "conditions": [{"erev": []}],
                "genome": [
                    {
                        "section": "soma",
                        "name": "gbar_X",
                        "value": 1.0,
                        "mechanism": "NoSuchChannel",
                    }
                ],
            }
        )
    )
    spec = dict(
        population="cortex",
        node_id=0,
        node_type_id=7,
        model_type="biophysical",
        model_template="ctdb:Biophys1.hoc",
        morphology=comp / "morphologies" / "Scnn1a_473845048_m.swc",
        model_processing="aibs_perisomatic",
        types_file="types.csv",
    )
    with pytest.raises(UnknownModelError, match="NoSuchChannel"):
        check_cells([CellSpec(**spec, dynamics_params=bad)] * 3)
    with pytest.raises(MissingFileError, match="missing_fit.json"):
        check_cells([CellSpec(**spec, dynamics_params=tmp_path / "missing_fit.json")])
    assert (
        check_cells(
            [
                CellSpec(population="v", node_id=i, node_type_id=1, model_type="virtual")
                for i in range(5)
            ]
        )
        == 1
    )
