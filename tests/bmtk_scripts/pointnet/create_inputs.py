from bmtk.utils.reports.spike_trains import PoissonSpikeGenerator

psg = PoissonSpikeGenerator(population="LGN", seed=100)
psg.add(node_ids=range(20), firing_rate=15.0, times=(0.0, 0.5))
psg.to_sonata("inputs/lgn_spikes.h5")
psg.to_csv("inputs/lgn_spikes.csv")

print(f"Number of spikes: {psg.n_spikes()}")
print(psg.to_dataframe().head())
