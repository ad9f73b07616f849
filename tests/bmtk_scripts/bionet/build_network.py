from bmtk.builder.networks import NetworkBuilder

cortex = NetworkBuilder("mcortex")
cortex.add_nodes(
    cell_name="Scnn1a_473845048",
    potental="exc",
    model_type="biophysical",
    model_template="ctdb:Biophys1.hoc",
    model_processing="aibs_perisomatic",
    dynamics_params="472363762_fit.json",
    morphology="Scnn1a_473845048_m.swc",
)
cortex.build()
cortex.save_nodes(output_dir="network")

thalamus = NetworkBuilder("mthalamus")
thalamus.add_nodes(N=5, pop_name="tON", potential="exc", model_type="virtual")
thalamus.add_edges(
    source={"pop_name": "tON"},
    target=cortex.nodes(),
    connection_rule=5,
    syn_weight=0.002,
    delay=2.0,
    weight_function=None,
    target_sections=["basal", "apical"],
    distance_range=[0.0, 150.0],
    dynamics_params="AMPA_ExcToExc.json",
    model_template="exp2syn",
)
thalamus.build()
thalamus.save_edges(output_dir="network")
thalamus.save_nodes(output_dir="network")

print("mcortex nodes:", cortex.nnodes)
print("mthalamus nodes:", thalamus.nnodes, "edges:", thalamus.nedges)
