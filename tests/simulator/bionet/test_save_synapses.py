"""``save_synapses`` on bionet: the synapses a run made, written as SONATA edges files.

The 9_cells example (nine detailed cells driven by virtual cells) is run with the report;
every synapse it made is in the files, and a second run whose edges are those files (with the
example's edge types) gives the same spikes.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import require_module

pytestmark = pytest.mark.conformance

TSTOP = 400.0


def _config(example, tmp_path, name, edges=None, reports=None):
    doc = json.loads((example / "simulation_config.json").read_text())
    circuit = json.loads((example / "circuit_config.json").read_text())
    doc["manifest"]["$BASE_DIR"] = str(example)
    doc["manifest"]["$OUTPUT_DIR"] = str(tmp_path / name)
    circuit["manifest"] = {
        "$NETWORK_DIR": str(example / "network"),
        "$COMPONENT_DIR": str(example.parent / "shared_components"),
    }
    circuit["components"].pop("mechanisms_dir")
    if edges is not None:
        circuit["networks"]["edges"] = edges
    (tmp_path / f"{name}_circuit.json").write_text(json.dumps(circuit))
    doc["network"] = str(tmp_path / f"{name}_circuit.json")
    doc["run"]["tstop"] = TSTOP
    doc["reports"] = reports or {}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


def test_saved_synapses_rebuild_the_same_network(sonata_examples, tmp_path):
    require_module("neuron")
    from bmtoolkit.simulator import run
    from bmtoolkit.sonata import read_spikes
    from bmtoolkit.sonata.edges import read_edges

    example = sonata_examples / "9_cells"
    report = {"syns": {"module": "save_synapses", "network_dir": "synapses"}}
    first = run(_config(example, tmp_path, "first", reports=report), progress=False)
    folder = tmp_path / "first" / "synapses"
    assert first.outputs["syns"] == str(folder)
    files = sorted(p.name for p in folder.glob("*_edges.h5"))
    assert files == ["excvirt_cortex_edges.h5", "inhvirt_cortex_edges.h5"]

    net = example / "network"
    edges = []
    for name in ("excvirt", "inhvirt"):
        original = next(iter(read_edges(net / f"{name}_cortex_edges.h5").values()))
        (saved,) = read_edges(folder / f"{name}_cortex_edges.h5").values()
        assert saved.name == f"{name}_cortex"
        n_expected = (
            int(np.sum(original.column("nsyns")))
            if "nsyns" in original.property_names
            else original.size
        )
        assert saved.size == n_expected
        sec_x = np.asarray(saved.column("sec_x"))
        assert ((sec_x > 0) & (sec_x < 1)).all()
        edges.append({"edges_file": str(folder / f"{name}_cortex_edges.h5"),
                      "edge_types_file": str(net / f"{name}_cortex_edge_types.csv")})  # fmt: skip
    second = run(_config(example, tmp_path, "second", edges=edges), progress=False)
    a = read_spikes(first.outputs["spikes"]).sort_values(["node_id", "timestamp"])
    b = read_spikes(second.outputs["spikes"]).sort_values(["node_id", "timestamp"])
    assert len(a) > 5
    assert a.reset_index(drop=True).equals(b.reset_index(drop=True))
