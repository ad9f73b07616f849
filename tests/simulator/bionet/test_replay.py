"""``replay`` inputs on bionet: recorded spikes driving the edges a network was split from.

The 300_intfire example is run whole; then its recurrent ``v1 -> v1`` edges are left out of
the circuit and replayed from the first run's spikes instead. Each cell then receives exactly
the input it had in the whole network, so every spike is the same.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmtoolkit.exceptions import BmtkWarning, ConfigError
from tests.conftest import require_module

pytestmark = pytest.mark.conformance

TSTOP = 600.0


def _config(example, tmp_path, name, *, recurrent=True, inputs=None):
    net = example / "network"
    pops = ("v1", "lgn", "tw")
    edges = [("lgn", "v1"), ("tw", "v1")] + ([("v1", "v1")] if recurrent else [])
    doc = {
        "target_simulator": "NEURON",
        "run": {"tstop": TSTOP, "dt": 0.1, "spike_threshold": -15},
        "conditions": {"celsius": 34.0, "v_init": -80},
        "components": {
            "synaptic_models_dir": str(example.parent / "shared_components" / "synaptic_models"),
            "point_neuron_models_dir": str(
                example.parent / "shared_components" / "point_neuron_models_dir"
            ),
        },
        "networks": {
            "nodes": [
                {"nodes_file": str(net / f"{p}_nodes.h5"),
                 "node_types_file": str(net / f"{p}_node_types.csv")} for p in pops
            ],
            "edges": [
                {"edges_file": str(net / f"{s}_{t}_edges.h5"),
                 "edge_types_file": str(net / f"{s}_{t}_edge_types.csv")} for s, t in edges
            ],
        },
        "node_sets_file": str(example / "node_sets.json"),
        "inputs": {
            "LGN_spikes": {"input_type": "spikes", "module": "h5", "node_set": "lgn",
                           "input_file": str(example / "inputs" / "lgn_spikes.h5")},
            "TW_spikes": {"input_type": "spikes", "module": "h5", "node_set": "tw",
                          "input_file": str(example / "inputs" / "tw_spikes.h5")},
            **(inputs or {}),
        },
        "output": {"output_dir": str(tmp_path / name), "spikes_file": "spikes.h5",
                   "spikes_file_csv": "spikes.csv"},
    }  # fmt: skip
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return path


def _replay(example, spikes, **extra):
    net = example / "network"
    return {
        "replay_v1": {
            "input_type": "replay",
            "module": "replay",
            "spikes_file": str(spikes),
            "edges": {
                "edges_file": str(net / "v1_v1_edges.h5"),
                "edge_types_file": str(net / "v1_v1_edge_types.csv"),
            },
            **extra,
        }
    }


def _spikes(path):
    from bmtoolkit.sonata import read_spikes

    df = read_spikes(path)
    df = df[df["population"] == "v1"]
    return df.sort_values(["node_id", "timestamp"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def whole_run(sonata_examples, tmp_path_factory):
    require_module("neuron")
    from bmtoolkit.simulator import run

    example = sonata_examples / "300_intfire"
    tmp = tmp_path_factory.mktemp("replay")
    result = run(_config(example, tmp, "whole"), backend="bionet", progress=False)
    return example, tmp, result.outputs["spikes"]


def test_replayed_recurrent_edges_give_the_whole_network_spikes(whole_run):
    from bmtoolkit.simulator import run

    example, tmp, whole = whole_run
    cfg = _config(example, tmp, "split", recurrent=False, inputs=_replay(example, whole))
    split = run(cfg, backend="bionet", progress=False).outputs["spikes"]
    cut = run(_config(example, tmp, "cut", recurrent=False), progress=False).outputs["spikes"]
    ref, ours, without = _spikes(whole), _spikes(split), _spikes(cut)
    assert len(ref) > 200
    assert not without.equals(ref)  # the recurrent edges matter in this window
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(ours, ref)
    # output.spikes_file_csv: the same spikes as CSV (BMTK's columns)
    assert _spikes(tmp / "split" / "spikes.csv").equals(ours)
    header = (tmp / "split" / "spikes.csv").read_text().splitlines()[0]
    assert header == "timestamps population node_ids"


def test_replay_source_node_set_selects_edges(whole_run):
    """With no source node selected no edge is replayed: the spikes are the cut network's."""
    from bmtoolkit.simulator import run

    example, tmp, whole = whole_run
    none = {"population": "v1", "node_id": []}
    cfg = _config(example, tmp, "nosrc", recurrent=False,
                  inputs=_replay(example, whole, source_node_set=none))  # fmt: skip
    cut = _config(example, tmp, "cut2", recurrent=False)
    with pytest.warns(BmtkWarning, match="matches no node"):
        ours = _spikes(run(cfg, backend="bionet", progress=False).outputs["spikes"])
    ref = _spikes(run(cut, backend="bionet", progress=False).outputs["spikes"])
    assert np.array_equal(ours["timestamp"].to_numpy(), ref["timestamp"].to_numpy())


def test_replay_on_pointnet_is_refused_before_the_run(whole_run):
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.simulator.core.preflight import check

    example, tmp, whole = whole_run
    plan = RunPlan.from_config(
        _config(example, tmp, "pn", recurrent=False, inputs=_replay(example, whole))
    )
    with pytest.raises(
        ConfigError, match="module 'replay'.* is not an input pointnet accepts"
    ) as err:
        check(plan, "pointnet")
    assert "\n" not in str(err.value)
