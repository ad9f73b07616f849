import matplotlib.pyplot as plt
from bmtk.analyzer.compartment import plot_traces
from bmtk.analyzer.spike_trains import plot_raster, to_dataframe

spikes_df = to_dataframe(config_file="config.json")
print(spikes_df)
spikes_df.to_csv("spikes_table.csv", index=False)

plot_raster(config_file="config.json", show=False, save_as="raster.png")
plot_traces(
    config_file="config.json",
    node_ids=[0],
    report_name="membrane_potential",
    show=False,
    save_as="traces.png",
)
plt.close("all")
