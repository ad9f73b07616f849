"""Builder features BMTK scripts use: ``add_properties(values=[...])``, gap junctions,
``save(compression=...)``; each compared with BMTK 1.2.0's builder on the same script."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.exceptions import ConfigError
from tests.conftest import require_module


def _pairs(source, target):
    """Deterministic synapse counts 0, 1 or 2."""
    return (source.node_id * 7 + target.node_id * 3) % 4 // 2 * (1 + source.node_id % 2)


def _per_source(source, targets):
    return [_pairs(source, t) for t in targets]


def _per_target(sources, target):
    return [_pairs(s, target) for s in sources]


class _Node:
    def __init__(self, node_id):
        self.node_id = node_id


#: synapses the rule makes on 6 nodes, all pairs
N_SYNAPSES = sum(_pairs(_Node(s), _Node(t)) for s in range(6) for t in range(6))


def _build(builder_cls, tmp_path, iterator):
    net = builder_cls("v1")
    net.add_nodes(N=6, model_type="point_process", model_template="nest:iaf_psc_alpha",
                  dynamics_params="p.json")  # fmt: skip
    rule = {"one_to_one": _pairs, "one_to_all": _per_source, "all_to_one": _per_target}[iterator]
    cm = net.add_edges(source={"node_id": [0, 1, 2, 3, 4, 5]}, target={"node_id": [0, 1, 2, 3, 4, 5]},
                       connection_rule=rule, iterator=iterator, model_template="static_synapse",
                       dynamics_params="s.json", delay=1.0)  # fmt: skip
    n = N_SYNAPSES
    cm.add_properties("syn_weight", values=np.arange(n) * 1.5 + 0.25, dtypes=float)
    cm.add_properties(["tag", "delay_x"], values=[(i * 2.0, i * 0.5) for i in range(n)],
                      dtypes=[float, float])  # fmt: skip
    net.build()
    net.save(output_dir=str(tmp_path))
    return tmp_path


def _edges(net_dir):
    from bmtoolkit.sonata import read_edges

    (pop,) = read_edges(net_dir / "v1_v1_edges.h5", net_dir / "v1_v1_edge_types.csv").values()
    df = pd.DataFrame({"s": pop.source_node_ids(), "t": pop.target_node_ids(),
                       "w": pop.column("syn_weight"), "tag": pop.column("tag"),
                       "dx": pop.column("delay_x")})  # fmt: skip
    return df.sort_values(["s", "t", "w"]).reset_index(drop=True)


@pytest.mark.parametrize("iterator", ["one_to_one", "one_to_all", "all_to_one"])
def test_add_properties_values_list_lands_where_bmtk_puts_it(tmp_path, iterator):
    require_module("bmtk")
    from bmtk.builder import NetworkBuilder as BmtkBuilder

    from bmtoolkit.builder import NetworkBuilder

    ours = _edges(_build(NetworkBuilder, tmp_path / "ours", iterator))
    peer = _edges(_build(BmtkBuilder, tmp_path / "bmtk", iterator))
    assert len(peer) == N_SYNAPSES > 20
    pd.testing.assert_frame_equal(ours, peer)


def test_values_list_of_the_wrong_length_is_refused(tmp_path):
    from bmtoolkit.builder import NetworkBuilder

    net = NetworkBuilder("v1")
    net.add_nodes(N=3, model_type="virtual")
    cm = net.add_edges(source={"node_id": [0]}, target={"node_id": [1, 2]}, connection_rule=1)
    cm.add_properties("syn_weight", values=[1.0, 2.0, 3.0])
    with pytest.raises(ConfigError, match=r"3 values for 2 edges"):
        net.build()
    with pytest.raises(ConfigError, match="one row of 2 values"):
        cm.add_properties(["a", "b"], values=[1.0, 2.0])


def _gap_network(builder_cls, out):
    net = builder_cls("v1")
    net.add_nodes(N=4, model_type="point_process", model_template="nrn:IntFire1")
    net.add_gap_junctions(source={"node_id": [0, 1]}, target={"node_id": [2, 3]},
                          resistance=500.0, target_sections=["somatic"])  # fmt: skip
    net.add_edges(source={"node_id": [0]}, target={"node_id": [1]}, connection_rule=2,
                  syn_weight=1e-4, delay=1.0, model_template="Exp2Syn")  # fmt: skip
    net.build()
    net.save(output_dir=str(out))
    return out


def test_gap_junctions_are_written_as_bmtk_writes_them(tmp_path):
    require_module("bmtk")
    from bmtk.builder import NetworkBuilder as BmtkBuilder

    from bmtoolkit.builder import NetworkBuilder
    from bmtoolkit.sonata import read_edges, read_gap_junction_ids

    ours = _gap_network(NetworkBuilder, tmp_path / "ours")
    peer = _gap_network(BmtkBuilder, tmp_path / "bmtk")
    for path in (ours, peer):
        (pop,) = read_edges(path / "v1_v1_edges.h5", path / "v1_v1_edge_types.csv").values()
        gap = np.asarray(pop.column("is_gap_junction")).astype(str) == "True"
        pairs = sorted(
            zip(pop.source_node_ids()[gap].tolist(), pop.target_node_ids()[gap].tolist())
        )
        assert pairs == [(0, 2), (0, 3), (1, 2), (1, 3)]
        assert np.allclose(np.asarray(pop.column("syn_weight"))[gap], 1 / 500.0)
    ids = {k: read_gap_junction_ids(p / "v1_gap_juncs.h5") for k, p in (("o", ours), ("b", peer))}
    for k in ("o", "b"):  # one junction per pair, ids 2k and 2k + 1
        got = ids[k]
        assert sorted(zip(got["source_ids"].tolist(), got["target_ids"].tolist())) == pairs
        assert sorted(got["src_gap_ids"].tolist() + got["trg_gap_ids"].tolist()) == list(range(8))
        assert (got["trg_gap_ids"] == got["src_gap_ids"] + 1).all()


def test_gap_junction_files_are_read_by_other_sonata_tools(tmp_path):
    import subprocess
    import sys

    from bmtoolkit.builder import NetworkBuilder
    from bmtoolkit.sonata import write_circuit_config
    from tests.conftest import conformance_root

    tool = conformance_root().parent / "tools" / "check_interop.py"
    if not tool.exists():
        pytest.skip(f"{tool} not found (shared tools are not part of a user's clone)")
    for mod in ("libsonata", "bluepysnap", "bmtk"):
        require_module(mod)
    net = _gap_network(NetworkBuilder, tmp_path / "net")
    write_circuit_config(tmp_path / "circuit.json",
                         nodes=[{"nodes_file": net / "v1_nodes.h5", "node_types_file": net / "v1_node_types.csv"}],
                         edges=[{"edges_file": net / "v1_v1_edges.h5", "edge_types_file": net / "v1_v1_edge_types.csv"}])  # fmt: skip
    proc = subprocess.run([sys.executable, str(tool), str(tmp_path / "circuit.json")],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    last = proc.stdout.strip().splitlines()[-1]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    passed, total = last.split()[-3].split("/")
    assert passed == total and int(total) >= 4, last


def test_gap_junctions_across_networks_or_with_bad_resistance_are_refused():
    from bmtoolkit.builder import NetworkBuilder

    a, b = NetworkBuilder("a"), NetworkBuilder("b")
    a.add_nodes(N=2, model_type="biophysical")
    b.add_nodes(N=2, model_type="biophysical")
    with pytest.raises(ConfigError, match="one network"):
        a.add_gap_junctions(source=b.nodes(), target=a.nodes())
    with pytest.raises(ConfigError, match="resistance must be > 0"):
        a.add_gap_junctions(source={"node_id": 0}, target={"node_id": 1}, resistance=0.0)


def test_bionet_refuses_gap_junctions_in_one_line(tmp_path):
    import json
    import subprocess
    import sys

    require_module("neuron")
    from bmtoolkit.builder import NetworkBuilder
    from tests.bmtk_parity.conftest import _env

    net = _gap_network(NetworkBuilder, tmp_path / "net")
    cfg = {
        "run": {"tstop": 10.0, "dt": 0.1},
        "target_simulator": "NEURON",
        "output": {"output_dir": str(tmp_path / "out")},
        "components": {"synaptic_models_dir": str(tmp_path)},
        "networks": {
            "nodes": [{"nodes_file": str(net / "v1_nodes.h5"), "node_types_file": str(net / "v1_node_types.csv")}],
            "edges": [{"edges_file": str(net / "v1_v1_edges.h5"), "edge_types_file": str(net / "v1_v1_edge_types.csv")}],
        },
    }  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    proc = subprocess.run([sys.executable, "-m", "bmtoolkit.cli", "run", "--quiet",
                           str(tmp_path / "config.json")], env=_env(), capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if "error" in ln]
    assert len(lines) == 1 and "gap junctions" in lines[0] and "v1_v1_edge_types.csv" in lines[0]
    assert not (tmp_path / "out" / "spikes.h5").exists()


@pytest.mark.parametrize(("choice", "expected"), [("gzip", "gzip"), ("none", None)])
def test_save_compression_reaches_the_files(tmp_path, choice, expected):
    """``save(compression=...)`` as in BMTK scripts: gzip is applied, not ignored."""
    import h5py

    from bmtoolkit.builder import NetworkBuilder

    net = NetworkBuilder("v1")
    net.add_nodes(N=20000, model_type="point_process", x=np.arange(20000) * 1.5)
    net.add_edges(source={"node_id": list(range(200))}, target={"node_id": list(range(200))},
                  connection_rule=1, syn_weight=1.0, delay=1.0)  # fmt: skip
    net.build()
    net.save(output_dir=str(tmp_path), compression=choice)
    with h5py.File(tmp_path / "v1_nodes.h5", "r") as h5:
        assert h5["nodes/v1/0/x"].compression == expected
    with h5py.File(tmp_path / "v1_v1_edges.h5", "r") as h5:
        assert h5["edges/v1_to_v1/source_node_id"].compression == expected


def test_node_views_hold_only_the_properties_of_their_own_add_nodes_call():
    """As BMTK's nodes: ``"tuning_angle" in node`` is False for nodes added without it
    (bio_14cells' rules branch on it), though the saved column has a fill value there."""
    from bmtoolkit.builder import NetworkBuilder

    net = NetworkBuilder("v1")
    net.add_nodes(N=2, tuning_angle=[0.0, 25.0], x=[1.0, 2.0], y=[0.0, 0.0], z=[0.0, 0.0])
    net.add_nodes(N=1, pop_name="PV1")
    net.add_nodes(N=1, tuning_angle=[90.0], model_type="biophysical")
    views = net.node_table().node_views()
    assert ["tuning_angle" in v for v in views] == [True, True, False, True]
    assert views[2].get("tuning_angle", "none") == "none" and "x" not in views[2]
    assert "positions" not in views[2] and list(views[0]["positions"]) == [1.0, 0.0, 0.0]
    assert np.isnan(net.node_table().column("tuning_angle")[2])
    assert "pop_name" in views[2] and "pop_name" not in views[0]


def test_a_tuple_is_one_node_type_value():
    from bmtoolkit.builder import NetworkBuilder

    net = NetworkBuilder("lgn")
    net.add_nodes(N=25, sigma_on=(2.0, 2.0), model_type="virtual")
    assert net.node_table().types[100]["sigma_on"] == (2.0, 2.0)
    assert "sigma_on" not in net.node_table().arrays
