"""Which edges onto point-process cells take the synapse model's ``sign``: BMTK 1.2.0's rule.

BMTK applies ``sign * nsyns`` to an artificial cell's NetCon weight only for edges of groups
it treats as rule-placed (``nsyns`` present, no section placement column); BMTK's
``bio_450cells`` example has inhibitory edges onto IntFire1 cells without ``nsyns``, which
BMTK connects with a positive weight. The mask is compared with BMTK's own edge adaptor on
the same files, and the weights we connect are checked on the built example.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import conformance_root, require_module

os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

pytestmark = [pytest.mark.neuron]


def _example(name: str):
    root = conformance_root()
    for sub in ("bmtk_examples", "sonata_examples"):
        if (root / sub / name).is_dir():
            return root / sub / name
    pytest.skip(f"example {name} not found under {root}; set BMTOOLKIT_CONFORMANCE")


CASES = [
    ("bio_450cells", "internal_internal"),
    ("bio_450cells", "external_internal"),
    ("300_intfire", "v1_v1"),
    ("300_intfire", "lgn_v1"),
]


@pytest.mark.parametrize(("case", "prefix"), CASES)
def test_point_sign_mask_follows_bmtk_edge_adaptor(case, prefix):
    require_module("bmtk")
    from bmtk.simulator.core.sonata_reader.edge_adaptor import EdgeAdaptor
    from bmtk.utils.sonata import File

    from bmtoolkit.simulator.bionet.synapses import point_sign_mask
    from bmtoolkit.sonata.edges import read_edges

    net = _example(case) / "network"
    h5, csv = net / f"{prefix}_edges.h5", net / f"{prefix}_edge_types.csv"
    peer = File(data_files=[str(h5)], data_type_files=[str(csv)])
    (pop_name,) = peer.edges.population_names
    peer_pop = peer.edges[pop_name]
    # BMTK: signed <=> not preselected_targets, decided per edge group
    network = SimpleNamespace(py_function_caches=None)  # the adaptor only stores it
    peer_signed = {
        grp.group_id: not EdgeAdaptor.patch_adaptor(EdgeAdaptor(network), grp).preselected_targets
        for grp in peer_pop.groups
    }
    ours_pop = read_edges(h5, csv)[pop_name]
    mask = point_sign_mask(ours_pop)
    group_ids, _ = ours_pop.group_rows()
    expected = np.array([peer_signed[int(g)] for g in group_ids])
    np.testing.assert_array_equal(mask, expected)
    if case == "bio_450cells":
        assert not mask.any()  # no nsyns anywhere: BMTK signs none of these edges
    else:
        assert mask.all()  # 300_intfire writes nsyns: inhibition stays inhibitory


def test_inhibitory_edges_onto_intfire_connect_as_bmtk_does(tmp_path):
    """bio_450cells built by bmtoolkit: NetCons onto IntFire1 cells from PV (inhibitory)
    sources carry +syn_weight, as BMTK 1.2.0 connects them."""
    neuron = require_module("neuron")
    from bmtoolkit.simulator.bionet.backend import BioNetBackend
    from bmtoolkit.simulator.core.plan import RunPlan

    case = _example("bio_450cells")
    circuit = json.loads((case / "config.circuit.json").read_text())
    circuit["manifest"]["$BASE_DIR"] = str(case)
    circuit["components"].pop("mechanisms_dir", None)
    (tmp_path / "circuit.json").write_text(json.dumps(circuit))
    sim = json.loads((case / "config.simulation.json").read_text())
    sim["manifest"]["$BASE_DIR"] = str(case)
    sim["manifest"]["$OUTPUT_DIR"] = str(tmp_path / "out")
    sim["network"] = str(tmp_path / "circuit.json")
    sim["output"].pop("log_file", None)
    sim["run"]["tstop"] = 1.0
    (tmp_path / "simulation.json").write_text(json.dumps(sim))
    backend = BioNetBackend(RunPlan.from_config(tmp_path / "simulation.json"))
    backend.setup()
    backend.build_network()
    h = neuron.h
    weights = [
        nc.weight[0]
        for nc in h.List("NetCon")
        if nc.syn() is not None and nc.syn().hname().startswith("IntFire1")
    ]
    assert len(weights) > 0
    values = np.unique(np.round(weights, 12))
    # external 0.045, internal excitatory and inhibitory (instantaneousInh, sign -1) 0.0019
    assert (values > 0).all(), values
    assert 0.0019 in values
