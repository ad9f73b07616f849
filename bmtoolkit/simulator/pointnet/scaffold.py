"""The ``bmtoolkit create-environment --backend pointnet`` example folder.

Examples
--------
>>> s = scaffold(100.0)
>>> s.simulation["run"]["tstop"]
100.0
"""

from __future__ import annotations

from bmtoolkit.simulator.core.scaffold import (
    Scaffold,
    backend_scaffold,
    poisson_input,
    spikes_input,
)


def scaffold(tstop: float) -> Scaffold:
    """The example folder of ``bmtoolkit create-environment --backend pointnet``."""
    exc = {"C_m": 250.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": -70.0, "V_th": -55.0,
           "V_reset": -70.0, "tau_syn_ex": 2.0, "tau_syn_in": 2.0}  # fmt: skip
    inh = {**exc, "C_m": 200.0, "tau_m": 10.0, "t_ref": 1.0, "V_th": -52.0}
    network = '''
# 80 excitatory and 20 inhibitory NEST point neurons in a 100 um column
v1 = NetworkBuilder("v1")
for pop_name, ei, n, params in (("exc", "e", 80, "exc_iaf.json"), ("inh", "i", 20, "inh_iaf.json")):
    v1.add_nodes(
        N=n, pop_name=pop_name, ei=ei, model_type="point_neuron",
        model_template="nest:iaf_psc_alpha", dynamics_params=params,
        x=rng.uniform(-50, 50, n), y=rng.uniform(-50, 50, n), z=rng.uniform(0, 100, n),
    )
lgn = NetworkBuilder("lgn")
lgn.add_nodes(N=50, pop_name="lgn", ei="e", model_type="virtual")

syn = {"model_template": "static_synapse", "dynamics_params": "static.json"}
v1.add_edges(source={"ei": "e"}, target=v1.nodes(), connection_rule="fixed_probability",
             connection_params={"p": 0.1}, syn_weight=30.0, delay=1.5, **syn)
v1.add_edges(source={"ei": "i"}, target=v1.nodes(), connection_rule="fixed_probability",
             connection_params={"p": 0.2}, syn_weight=-80.0, delay=1.0, **syn)
v1.add_edges(source=lgn.nodes(), target=v1.nodes(), connection_rule="fixed_probability",
             connection_params={"p": 0.3, "nsyns": (1, 3)}, syn_weight=60.0, delay=2.0, **syn)
lgn.build(seed=2)
v1.build(seed=3)
lgn.save(output_dir=NETWORK_DIR)
v1.save(output_dir=NETWORK_DIR)
''' + poisson_input("lgn", 50, 20.0, tstop / 1000.0, 4)  # fmt: skip
    return backend_scaffold(
        "NEST",
        tstop,
        dt=0.1,
        network=network,
        nodes=("v1", "lgn"),
        edges=("v1_v1", "lgn_v1"),
        components={
            "point_neuron_models/exc_iaf.json": exc,
            "point_neuron_models/inh_iaf.json": inh,
            "synaptic_models/static.json": {},
        },
        component_dirs={
            "point_neuron_models_dir": "point_neuron_models",
            "synaptic_models_dir": "synaptic_models",
        },
        inputs={"lgn_spikes": spikes_input("lgn")},
    )
