"""popnet: populations of LIF neurons simulated as voltage densities, or as rate models.

- :mod:`~bmtoolkit.simulator.popnet.solver`: the population-density solver;
- :mod:`~bmtoolkit.simulator.popnet.transfer`: analytic rates (Siegert, exponential jumps);
- :mod:`~bmtoolkit.simulator.popnet.meanfield`, :mod:`~bmtoolkit.simulator.popnet.ssn`: rate
  modes on the same networks;
- :mod:`~bmtoolkit.simulator.popnet.populations`: the network description they share;
- :mod:`~bmtoolkit.simulator.popnet.backend`: the ``popnet`` backend for SONATA configs;
- :mod:`~bmtoolkit.simulator.popnet.montecarlo`: the same network as NEST spiking neurons.
"""
