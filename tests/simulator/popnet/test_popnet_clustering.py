"""A cell network clustered into populations (BMTK's multi-resolution workflow) and simulated."""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.popnet.clustering import cluster_circuit, group_nodes

N_EXC, N_INH, N_LGN = 80, 20, 50
# population models in BMTK's DiPDE units (seconds, volts)
EXC = {"tau_m": 0.02, "v_min": -0.05, "v_max": 0.02, "dv": 0.0001}
INH = {"tau_m": 0.01, "v_min": -0.05, "v_max": 0.02, "dv": 0.0001}


def _cell_network(tmp):
    from bmtoolkit.builder import NetworkBuilder, write_circuit

    rng = np.random.default_rng(3)
    v1 = NetworkBuilder("v1")
    v1.add_nodes(N=N_EXC, pop_name="exc", ei="e", model_type="point_neuron",
                 model_template="nest:iaf_psc_alpha", dynamics_params="exc.json")  # fmt: skip
    v1.add_nodes(N=N_INH // 2, pop_name="inh", ei="i", model_type="point_neuron",
                 model_template="nest:iaf_psc_alpha", dynamics_params="pv.json")  # fmt: skip
    v1.add_nodes(N=N_INH // 2, pop_name="inh", ei="i", model_type="point_neuron",
                 model_template="nest:iaf_psc_alpha", dynamics_params="sst.json")  # fmt: skip

    def rule(source, target):  # 0-3 synapses, 20 % of pairs
        return int(rng.random() < 0.2) * int(rng.integers(1, 4))

    v1.add_edges(source={"ei": "e"}, target={"ei": "e"}, connection_rule=rule,
                 syn_weight=2.0, delay=1.5)  # fmt: skip
    v1.add_edges(source={"ei": "e"}, target={"ei": "i"}, connection_rule=rule,
                 syn_weight=4.0, delay=1.0)  # fmt: skip
    v1.add_edges(source={"ei": "i"}, target={"ei": "e"}, connection_rule=rule,
                 syn_weight=-5.0, delay=1.0)  # fmt: skip
    lgn = NetworkBuilder("lgn")
    lgn.add_nodes(N=N_LGN, pop_name="lgn", model_type="virtual")
    lgn.add_edges(source=lgn.nodes(), target=v1.nodes(ei="e"), connection_rule=rule,
                  syn_weight=3.0, delay=2.0)  # fmt: skip
    v1.build()
    lgn.build()
    return write_circuit([v1, lgn], tmp / "cells")


def _expected(cell_config):
    """Per (source group, target group): synapses per target cell, mean weight and delay,
    accumulated edge by edge."""
    from bmtoolkit.sonata import Circuit

    circuit = Circuit(cell_config)
    pop_of = {name: np.asarray(pop.column("pop_name")) for name, pop in circuit.nodes.items()}
    sums: dict = defaultdict(lambda: [0.0, 0.0, 0.0])
    for edges in circuit.edges.values():
        src = pop_of[edges.source_population][edges.source_node_ids()]
        tgt = pop_of[edges.target_population][edges.target_node_ids()]
        for s, t, n, w, d in zip(src, tgt, edges.column("nsyns"), edges.column("syn_weight"),
                                 edges.column("delay"), strict=True):  # fmt: skip
            acc = sums[(s, t)]
            acc[0] += n
            acc[1] += n * w
            acc[2] += n * d
    size = {"exc": N_EXC, "inh": N_INH}
    return {k: (v[0] / size[k[1]], v[1] / v[0], v[2] / v[0]) for k, v in sums.items()}


def test_cluster_by_pop_name_aggregates_edges(tmp_path):
    from bmtoolkit.sonata import Circuit

    cell_config = _cell_network(tmp_path)
    pop_config = cluster_circuit(cell_config, tmp_path / "pops", group_by="pop_name",
                                 population_params={"exc": EXC, "inh": INH})  # fmt: skip
    circuit = Circuit(pop_config)
    v1, lgn = circuit.nodes["v1"], circuit.nodes["lgn"]
    assert list(v1.column("pop_name")) == ["exc", "inh"]  # the two inh node types merged
    assert v1.column("n_cells").tolist() == [N_EXC, N_INH]
    assert list(v1.column("model_type")) == ["population", "population"]
    assert list(lgn.column("model_type")) == ["virtual"] and lgn.column("n_cells")[0] == N_LGN
    params = json.loads((tmp_path / "pops" / v1.column("dynamics_params")[0]).read_text())
    assert params == EXC
    names = {"v1": ["exc", "inh"], "lgn": ["lgn"]}
    got = {}
    for edges in circuit.edges.values():
        for s, t, n, w, d in zip(edges.source_node_ids(), edges.target_node_ids(),
                                 edges.column("nsyns"), edges.column("syn_weight"),
                                 edges.column("delay"), strict=True):  # fmt: skip
            got[(names[edges.source_population][s], names[edges.target_population][t])] = (n, w, d)
    want = _expected(cell_config)
    assert set(got) == set(want) == {("exc", "exc"), ("exc", "inh"), ("inh", "exc"),
                                     ("lgn", "exc")}  # fmt: skip
    for key, (n, w, d) in want.items():
        np.testing.assert_allclose(got[key], (n, w, d), rtol=1e-12)
        assert n > 1.0  # ~0.2 * 2 synapses from each of the source cells


def test_clustered_network_runs_with_popnet(tmp_path):
    from bmtoolkit.simulator import run

    cell_config = _cell_network(tmp_path)
    # weights become jumps in volts; the default groups are the node types (as BMTK's popnet)
    pop_config = cluster_circuit(
        cell_config, tmp_path / "pops",
        population_params=lambda type_id: EXC if type_id == 100 else INH,
        weight_scale=1e-3,
    )  # fmt: skip
    circuit = json.loads(pop_config.read_text())
    (tmp_path / "lgn_rates.csv").write_text("gid firing_rate\n100 10.0\n")
    config = {
        **circuit,
        "target_simulator": "DiPDE",
        "run": {"tstop": 300.0, "dt": 0.0005},
        "inputs": {"lgn": {"input_type": "csv", "module": "pop_rates", "node_set": "lgn",
                           "rates": str(tmp_path / "lgn_rates.csv")}},
        "output": {"output_dir": str(tmp_path / "out"), "rates_file": "rates.csv"},
    }  # fmt: skip
    config["manifest"] = {"$BASE_DIR": str(tmp_path / "pops")}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    result = run(path)
    rates = pd.read_csv(result.outputs["rates_csv"], sep=" ")
    late = rates[rates["time"] >= 200.0].groupby("node_id")["rate"].mean()
    assert len(late) == 3  # exc and the two inhibitory node types
    assert late[0] > 1.0 and np.all(np.isfinite(late))


def test_grouping_errors():
    with pytest.raises(ConfigError, match="mixes virtual"):
        group_nodes("v1", np.array([1, 1]), np.array(["virtual", "point_neuron"]))
