"""Node sets written inline in the simulation config, as BMTK's examples write them."""

from __future__ import annotations

import json

import numpy as np

from tests.reliability.tiny_network import make_network


def test_inline_node_sets_select_inputs_and_reports(tmp_path):
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.simulator.core.runner import run
    from bmtoolkit.sonata import read_spikes

    config = make_network(tmp_path / "net")
    doc = json.loads(config.read_text())
    doc["node_sets"] = {
        "lgn_inputs": {"population": "inputs", "pop_name": "in"},
        "first_two": {"population": "internal", "node_id": [0, 1]},
    }
    doc["inputs"]["spikes_in"]["node_set"] = "lgn_inputs"
    doc["reports"]["v"]["cells"] = "first_two"
    config.write_text(json.dumps(doc))

    plan = RunPlan.from_config(config)
    assert {k: v.tolist() for k, v in plan.resolve_node_set("first_two").items()} == {
        "internal": [0, 1]
    }
    # the circuit's own sets (population names) still resolve beside the inline ones
    assert "inputs" in plan.resolve_node_set("lgn_inputs")

    result = run(str(config), backend="numpynet", output_dir=tmp_path / "out", progress=False)
    spikes = read_spikes(result.outputs["spikes"])
    assert len(spikes) > 0 and np.all(spikes["population"] == "internal")
