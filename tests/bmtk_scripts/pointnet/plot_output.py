import matplotlib.pyplot as plt
from bmtk.analyzer.compartment import plot_traces
from bmtk.analyzer.spike_trains import plot_raster, plot_rates, plot_rates_boxplot, to_dataframe

spikes_df = to_dataframe(config_file="config.json")
print(spikes_df.head())
spikes_df.to_csv("spikes_table.csv", index=False)

plot_raster(config_file="config.json", group_by="pop_name", show=False, save_as="raster.png")
plot_rates(config_file="config.json", show=False, save_as="rates.png")
plot_rates_boxplot(
    config_file="config.json", group_by="pop_name", show=False, save_as="rates_box.png"
)
plot_traces(
    config_file="config.json",
    report_name="membrane_potential",
    node_ids=[0, 5],
    show=False,
    save_as="traces.png",
)
plt.close("all")
