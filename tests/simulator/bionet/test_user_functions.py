"""BMTK's user functions on bionet: a cell model, a processor, a synapse model and a per-edge
weight function registered as BMTK's run_bionet.py scripts register them, all called by a run."""

from __future__ import annotations

import json

import pytest

from tests.conftest import require_module

BALL = """
begintemplate UserBall
public soma, all, somatic, basal, apical, axonal, init
create soma[1]
objref all, somatic, basal, apical, axonal
proc init() {
    all = new SectionList()
    somatic = new SectionList()
    basal = new SectionList()
    apical = new SectionList()
    axonal = new SectionList()
    soma[0] {
        L = 20 diam = 20 nseg = 1
        insert hh
        all.append()
        somatic.append()
    }
}
endtemplate UserBall
"""


@pytest.fixture
def network(tmp_path):
    from bmtoolkit.builder import NetworkBuilder
    from bmtoolkit.utils.reports.spike_trains import SpikeTrains

    (tmp_path / "UserBall.hoc").write_text(BALL)
    net = NetworkBuilder("v1")
    net.add_nodes(N=2, model_type="biophysical", model_template="hoc:UserBall",
                  model_processing="boost_sodium", gain=[1.0, 2.0])  # fmt: skip
    inp = NetworkBuilder("inp")
    inp.add_nodes(N=1, model_type="virtual")
    net.add_edges(source=inp.nodes(), target=net.nodes(), connection_rule=1,
                  model_template="UserExpSyn", syn_weight=0.01, delay=1.0,
                  weight_function="per_edge_gain", afferent_section_id=0,
                  afferent_section_pos=0.5, dynamics_params="exc.json")  # fmt: skip
    net.build()
    inp.build()
    for n in (net, inp):
        n.save(output_dir=str(tmp_path / "network"))
    (tmp_path / "syn").mkdir()
    (tmp_path / "syn" / "exc.json").write_text(json.dumps({"tau": 2.0, "e": 0.0}))
    st = SpikeTrains(population="inp")
    st.add_spikes(node_ids=[0] * 5, timestamps=[10.0, 30.0, 50.0, 70.0, 90.0])
    st.to_sonata(tmp_path / "inp.h5")
    cfg = {
        "run": {"tstop": 120.0, "dt": 0.025, "spike_threshold": -15.0, "dL": 20.0},
        "target_simulator": "NEURON",
        "conditions": {"celsius": 6.3, "v_init": -65.0},
        "components": {"templates_dir": str(tmp_path), "synaptic_models_dir": str(tmp_path / "syn")},
        "output": {"output_dir": str(tmp_path / "out"), "spikes_file": "spikes.h5"},
        "inputs": {"inp": {"input_type": "spikes", "module": "sonata",
                           "input_file": str(tmp_path / "inp.h5"), "node_set": "inp"}},
        "networks": {
            "nodes": [{"nodes_file": str(tmp_path / "network" / f"{p}_nodes.h5"),
                       "node_types_file": str(tmp_path / "network" / f"{p}_node_types.csv")}
                      for p in ("v1", "inp")],
            "edges": [{"edges_file": str(tmp_path / "network" / "inp_v1_edges.h5"),
                       "edge_types_file": str(tmp_path / "network" / "inp_v1_edge_types.csv")}],
        },
    }  # fmt: skip
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def test_bmtk_style_functions_build_cells_and_synapses(network):
    require_module("neuron")
    from neuron import h

    from bmtoolkit.simulator import bionet
    from bmtoolkit.simulator.core.pyfunctions import unregister

    calls: dict[str, list] = {"cell": [], "proc": [], "syn": [], "weight": []}

    @bionet.cell_model(directive="hoc", model_type="biophysical")
    def load_ball(cell, template_name, dynamics_params):
        calls["cell"].append((cell.node_id, template_name, cell["gain"]))
        if not hasattr(h, template_name):
            h.load_file(str(network.parent / f"{template_name}.hoc"))
        return getattr(h, template_name)()

    @bionet.model_processing
    def boost_sodium(hobj, cell, dynamics_params):
        calls["proc"].append(cell.node_id)
        hobj.soma[0].gnabar_hh = 0.12 * cell["gain"]
        return hobj

    @bionet.synapse_model(name="UserExpSyn")
    def user_exp_syn(syn_params, sec_x, section):
        calls["syn"].append((sec_x, section.name()))
        syn = h.ExpSyn(section(sec_x))
        syn.tau, syn.e = syn_params["tau"], syn_params["e"]
        return syn

    @bionet.synaptic_weight
    def per_edge_gain(edge_props, src_node, trg_node):
        calls["weight"].append(trg_node.node_id)
        return edge_props["syn_weight"] * trg_node["gain"]

    try:
        conf = bionet.Config.from_json(str(network))
        sim = bionet.BioSimulator.from_config(conf, bionet.BioNetwork.from_config(conf))
        sim.run()
    finally:
        for name in ("hoc", "boost_sodium", "UserExpSyn", "per_edge_gain"):
            unregister(name)
    assert sorted(c[0] for c in calls["cell"]) == [0, 1]
    assert {c[1] for c in calls["cell"]} == {"UserBall"} and sorted(calls["proc"]) == [0, 1]
    assert len(calls["syn"]) == 2 and all(x == 0.5 for x, _ in calls["syn"])
    assert sorted(calls["weight"]) == [0, 1]
    spikes = _spikes(network.parent / "out" / "spikes.h5")
    # node 1 has twice the synaptic weight: it follows the input; node 0 does not fire at all
    assert len(spikes.get(1, [])) >= 4 and len(spikes.get(1, [])) > len(spikes.get(0, []))


def _spikes(path):
    from bmtoolkit.sonata.spikes import read_spikes

    df = read_spikes(path)
    return {int(i): g["timestamp"].tolist() for i, g in df.groupby("node_id")}
