: Spike source for virtual cells and spike-train inputs.
: Every event it receives (queued with NetCon.event at initialisation) is re-emitted as a
: spike of this cell, so it can be registered with a gid on a ParallelContext.

NEURON {
    ARTIFICIAL_CELL SpikeSource
}

NET_RECEIVE (w) {
    net_event(t)
}
