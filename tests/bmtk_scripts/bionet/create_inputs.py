from bmtk.utils.reports.spike_trains import PoissonSpikeGenerator

psg = PoissonSpikeGenerator(population="mthalamus", seed=7)
psg.add(
    node_ids="network/mthalamus_nodes.h5",
    firing_rate=20.0,
    times=(0.0, 0.3),
    population="mthalamus",
)
psg.to_sonata("inputs/mthalamus_spikes.h5")
print(f"Number of spikes: {psg.n_spikes()}")
