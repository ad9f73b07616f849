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
