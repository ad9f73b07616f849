"""filternet: LGN filter models turning visual stimuli into firing rates and spike trains.

Modules: :mod:`~.filters` (spatial Gaussians, raised-cosine temporal kernels),
:mod:`~.cells` (cell types from SONATA node properties), :mod:`~.stimuli` (movies and the
stimulus registry), :mod:`~.nonlinearity`, :mod:`~.evaluate` (fast vectorized evaluation),
:mod:`~.spiking` (inhomogeneous Poisson spikes) and :mod:`~.backend` (``bmtoolkit run``).
Only numpy, scipy and pandas are needed.
"""
