import numpy as np
from bmtk.builder.auxi.edge_connectors import distance_connector
from bmtk.builder.auxi.node_params import positions_columinar, xiter_random
from bmtk.builder.networks import NetworkBuilder

np.random.seed(111)

net = NetworkBuilder("V1")
net.add_nodes(
    N=30,
    pop_name="Scnn1a",
    positions=positions_columinar(N=30, center=[0, 50.0, 0], max_radius=30.0, height=100.0),
    rotation_angle_yaxis=xiter_random(N=30, min_x=0.0, max_x=2 * np.pi),
    tuning_angle=np.linspace(0.0, 360.0, 30, endpoint=False),
    location="VisL4",
    ei="e",
    model_type="point_process",
    model_template="nest:iaf_psc_alpha",
    dynamics_params="472363762_point.json",
)
net.add_nodes(
    N=10,
    pop_name="PV",
    positions=positions_columinar(N=10, center=[0, 50.0, 0], max_radius=30.0, height=100.0),
    rotation_angle_yaxis=xiter_random(N=10, min_x=0.0, max_x=2 * np.pi),
    location="VisL4",
    ei="i",
    model_type="point_process",
    model_template="nest:iaf_psc_alpha",
    dynamics_params="472912177_point.json",
)


def every_seventh(source, target, nsyns):
    # a deterministic rule: the same pairs connect in every run
    sid = source["node_id"]
    tid = target["node_id"]
    if sid == tid or (sid + tid) % 7 != 0:
        return None
    return nsyns


def random_connections(source, target, p=0.1):
    if source["node_id"] == target["node_id"]:
        return None
    return np.random.binomial(1, p)


def weight_by_distance(source, target, w_max):
    d = np.linalg.norm(np.array(source["positions"]) - np.array(target["positions"]))
    return w_max * np.exp(-d / 100.0)


net.add_edges(
    source={"ei": "i"},
    target={"ei": "e"},
    connection_rule=every_seventh,
    connection_params={"nsyns": 2},
    syn_weight=-60.0,
    delay=2.0,
    dynamics_params="InhToExc.json",
    model_template="static_synapse",
)

cm = net.add_edges(
    source={"ei": "e"},
    target={"pop_name": "Scnn1a"},
    connection_rule=random_connections,
    connection_params={"p": 0.15},
    syn_weight=3.0,
    delay=2.0,
    dynamics_params="ExcToExc.json",
    model_template="static_synapse",
)
cm.add_properties("syn_weight", rule=weight_by_distance, rule_params={"w_max": 30.0}, dtypes=float)

net.add_edges(
    source={"ei": "e"},
    target={"ei": "i"},
    connection_rule=distance_connector,
    connection_params={
        "d_weight_min": 0.0,
        "d_weight_max": 0.34,
        "d_max": 300.0,
        "nsyn_min": 1,
        "nsyn_max": 3,
    },
    syn_weight=40.0,
    delay=2.0,
    dynamics_params="ExcToInh.json",
    model_template="static_synapse",
)

net.build()
net.save_nodes(output_dir="network")
net.save_edges(output_dir="network")

lgn = NetworkBuilder("LGN")
lgn.add_nodes(N=20, pop_name="tON", potential="exc", model_type="virtual")
lgn.add_edges(
    source=lgn.nodes(),
    target=net.nodes(pop_name="Scnn1a"),
    connection_rule=every_seventh,
    connection_params={"nsyns": 3},
    syn_weight=220.0,
    delay=2.0,
    dynamics_params="ExcToExc.json",
    model_template="static_synapse",
)
lgn.add_edges(
    source=lgn.nodes(),
    target=net.nodes(pop_name="PV"),
    connection_rule=5,
    syn_weight=120.0,
    delay=2.0,
    dynamics_params="ExcToInh.json",
    model_template="static_synapse",
)
lgn.build()
lgn.save(output_dir="network")

print("V1 nodes:", net.nnodes, "edges:", net.nedges)
print("LGN nodes:", lgn.nnodes, "edges:", lgn.nedges)
