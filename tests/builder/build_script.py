"""A BMTK-style build script used by the CLI and MPI tests (writes into argv[1])."""

import sys

import numpy as np

from bmtoolkit.builder import NetworkBuilder
from bmtoolkit.builder.properties import DistanceDelay
from bmtoolkit.builder.rules import DistanceProbability, FixedInDegree

out = sys.argv[1]
rng = np.random.default_rng(0)
net = NetworkBuilder("v1")
net.add_nodes(N=400, positions=rng.uniform(0, 300, (400, 3)), ei="e", model_type="point_neuron")
net.add_nodes(N=100, positions=rng.uniform(0, 300, (100, 3)), ei="i", model_type="point_neuron")


def pair_rule(source, target, p):
    return int(np.random.random() < p) if source.node_id != target.node_id else 0


cm = net.add_edges(
    source={"ei": "e"},
    target=None,
    connection_rule=DistanceProbability(0.2, 80.0, nsyns=(1, 4)),
    syn_weight=1.0,
)
cm.add_properties("delay", rule=DistanceDelay(1.0, 0.3), dtypes=float)
net.add_edges(
    source={"ei": "i"},
    target={"ei": "e"},
    connection_rule=pair_rule,
    connection_params={"p": 0.1},
    syn_weight=-2.0,
)
net.add_edges(source={"ei": "i"}, target={"ei": "i"}, connection_rule=FixedInDegree(7))


def per_target_counts(source, targets, p):
    n = len(targets)
    return np.random.binomial(1, p, n) * np.random.randint(1, 3, n)


net.add_edges(
    source={"ei": "e"},
    target={"ei": "i"},
    connection_rule=per_target_counts,
    connection_params={"p": 0.05},
    iterator="one_to_all",
    syn_weight=0.5,
)
net.build(block_size=37)
net.save(output_dir=out)
