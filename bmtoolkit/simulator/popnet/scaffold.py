"""The ``bmtoolkit create-environment --backend popnet`` example folder.

Examples
--------
>>> s = scaffold(100.0)
>>> s.simulation["run"]["tstop"]
100.0
"""

from __future__ import annotations

from bmtoolkit.simulator.core.scaffold import Scaffold, backend_scaffold


def scaffold(tstop: float) -> Scaffold:
    """The example folder of ``bmtoolkit create-environment --backend popnet``."""
    network = '''
# an excitatory and an inhibitory population density, driven by an external population
cortex = NetworkBuilder("cortex")
cortex.add_nodes(pop_name="exc", ei="e", model_type="population",
                 model_template="dipde:Internal", dynamics_params="exc_population.json")
cortex.add_nodes(pop_name="inh", ei="i", model_type="population",
                 model_template="dipde:Internal", dynamics_params="inh_population.json")
external = NetworkBuilder("external")
external.add_nodes(pop_name="bkg", ei="e", model_type="virtual")
syn = {"connection_rule": 1, "delay": 0.002, "dynamics_params": "population_synapse.json"}
cortex.add_edges(source={"ei": "e"}, target=cortex.nodes(), syn_weight=0.0005, nsyns=20, **syn)
cortex.add_edges(source={"ei": "i"}, target=cortex.nodes(), syn_weight=-0.001, nsyns=10, **syn)
external.add_edges(source=external.nodes(), target=cortex.nodes(), syn_weight=0.001,
                   nsyns=100, **syn)
cortex.build(seed=2)
external.build(seed=3)
cortex.save(output_dir=NETWORK_DIR)
external.save(output_dir=NETWORK_DIR)
'''  # fmt: skip
    pop = {"tau_m": 0.02, "v_min": -0.002, "v_max": 0.02, "dv": 0.0002, "tau_ref": 0.002,
           "update_method": "gmres", "approx_order": None, "tol": 1e-12}  # fmt: skip
    return backend_scaffold(
        "DiPDE",
        tstop,
        dt=0.1,
        network=network,
        nodes=("cortex", "external"),
        edges=("cortex_cortex", "external_cortex"),
        components={
            "population_models/exc_population.json": pop,
            "population_models/inh_population.json": {**pop, "tau_m": 0.01},
            "synaptic_models/population_synapse.json": {},
        },
        component_dirs={
            "population_models_dir": "population_models",
            # older readers (and `bmtoolkit validate`) look for population parameters here
            "point_neuron_models_dir": "population_models",
            "synaptic_models_dir": "synaptic_models",
        },
        files={"inputs/external_rates.csv": "gid firing_rate\n0 10.0\n"},
        inputs={
            "bkg_rate": {
                "input_type": "csv",
                "module": "pop_rates",
                "rates": "$INPUT_DIR/external_rates.csv",
                "node_set": {"population": "external"},
            },
        },
        output={"rates_file": "rates.csv"},
    )
