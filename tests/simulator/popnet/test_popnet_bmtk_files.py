"""A DiPDE-style network written by BMTK's own builder runs unchanged with ``bmtoolkit run``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmtoolkit.simulator import run
from bmtoolkit.simulator.popnet.inputs import ConstantRate
from bmtoolkit.simulator.popnet.populations import (
    Connection,
    ExternalPopulation,
    LIFPopulation,
    PopulationNetwork,
)
from bmtoolkit.simulator.popnet.solver import DensitySolver
from bmtoolkit.sonata.rates import read_rates
from tests.conftest import require_module

# DiPDE/BMTK population model: seconds and volts
MODEL_SI = {"tau_m": 0.02, "v_min": -0.01, "v_max": 0.02, "v_reset": 0.01, "tau_ref": 0.002,
            "dv": 0.0001}  # fmt: skip


def bmtk_network(folder):
    """V1 (two population nodes, E->E edges) and a virtual LGN node, built by BMTK."""
    builder = require_module("bmtk.builder")
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "lif.json").write_text(json.dumps(MODEL_SI))
    v1 = builder.NetworkBuilder("V1")
    for name, ei in (("exc", "e"), ("inh", "i")):
        v1.add_nodes(
            pop_name=name, ei=ei, model_type="population", model_template="dipde:Internal",
            dynamics_params="lif.json",
        )  # fmt: skip
    v1.add_edges(source={"ei": "e"}, target={"ei": "e"}, syn_weight=1e-4, nsyns=100, delay=0.0015)
    v1.add_edges(source={"ei": "e"}, target={"ei": "i"}, syn_weight=2e-4, nsyns=50, delay=0.001)
    v1.build()
    lgn = builder.NetworkBuilder("LGN")
    lgn.add_nodes(pop_name="drive", model_type="virtual")
    lgn.add_edges(target=v1.nodes(ei="e"), syn_weight=5e-4, nsyns=1, delay=0.0)
    lgn.build()
    for net in (v1, lgn):
        net.save_nodes(output_dir=str(folder / "network"))
        net.save_edges(output_dir=str(folder / "network"))
    (folder / "lgn_rates.csv").write_text("gid firing_rate\n0 2000.0\n")
    files = [("V1_nodes", "V1_node_types"), ("LGN_nodes", "LGN_node_types")]
    edges = [("V1_V1_edges", "V1_V1_edge_types"), ("LGN_V1_edges", "LGN_V1_edge_types")]
    config = {
        "manifest": {"$BASE_DIR": ".", "$NETWORK_DIR": "$BASE_DIR/network"},
        "target_simulator": "DiPDE",
        "run": {"tstop": 150.0, "dt": 0.0001},  # BMTK's DiPDE: tstop in ms, dt in s
        "inputs": {
            "LGN_pop_rates": {
                "input_type": "csv",
                "module": "pop_rates",
                "node_set": "LGN",
                "rates": "${BASE_DIR}/lgn_rates.csv",
            }
        },  # fmt: skip
        "output": {"output_dir": "$BASE_DIR/output", "rates_file": "firing_rates.csv"},
        "components": {"population_models_dir": "$BASE_DIR/models"},
        "networks": {
            "nodes": [
                {"nodes_file": f"$NETWORK_DIR/{n}.h5", "node_types_file": f"$NETWORK_DIR/{t}.csv"}
                for n, t in files
            ],
            "edges": [
                {"edges_file": f"$NETWORK_DIR/{n}.h5", "edge_types_file": f"$NETWORK_DIR/{t}.csv"}
                for n, t in edges
            ],
        },
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


@pytest.mark.interop
def test_bmtk_built_dipde_network_runs(tmp_path):
    result = run(bmtk_network(tmp_path))
    assert result.outputs["rates"].endswith("output/firing_rates.h5")
    got = read_rates(result.outputs["rates"])["V1"]
    assert got.node_ids.tolist() == [0, 1]
    assert got.data.shape == (1500, 2)  # dt read as 0.1 ms
    lif = dict(v_min=-10.0, v_reset=10.0, tau_ref=2.0, dv=0.1)
    reference = PopulationNetwork(
        (LIFPopulation("exc", **lif), LIFPopulation("inh", **lif)),
        (ExternalPopulation("lgn", ConstantRate(2000.0)),),
        (
            Connection("lgn", "exc", weight=0.5),
            Connection("exc", "exc", weight=0.1, nsyns=100, delay=1.5),
            Connection("exc", "inh", weight=0.2, nsyns=50, delay=1.0),
        ),
    )
    want = DensitySolver(reference, dt=0.1).run(150.0).rates
    np.testing.assert_allclose(got.data, want, rtol=1e-4, atol=1e-3)
    assert want[-1, 0] > 5.0 and want[-1, 1] > 1.0
