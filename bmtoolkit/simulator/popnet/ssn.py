"""Stabilised supralinear network (SSN) rate mode.

Each internal population ``i`` has a rate ``r_i`` (Hz) driven by its mean input in mV,
``h_i = tau_m sum_j nsyns w r_j`` (the same coupling as the density solver: ``nsyns`` times
the mean jump, external populations included), through a power-law nonlinearity::

    r_i <- relu(r_i + dt * (-r_i + k_i * relu(h_i)^n_i) / tau_i)

with per-population gain ``k_i`` (``rate_scale``, Hz/mV^n), exponent ``n_i``
(``rate_exponent``) and time constant ``tau_i`` (``tau_rate``, ms). Inputs are delayed like in
the density solver.

Examples
--------
>>> from bmtoolkit.simulator.popnet.populations import (
...     LIFPopulation, ExternalPopulation, Connection, PopulationNetwork)
>>> from bmtoolkit.simulator.popnet.inputs import ConstantRate
>>> net = PopulationNetwork(
...     (LIFPopulation("exc", rate_scale=0.04, rate_exponent=2.0, tau_rate=10.0),),
...     (ExternalPopulation("drive", ConstantRate(1000.0)),),
...     (Connection("drive", "exc", weight=0.5),),
... )
>>> res = SSNModel(net, dt=0.5).run(200.0)
>>> round(float(res.rates[-1, 0]), 3)  # 0.04 * (20 ms * 1 /ms * 0.5 mV)^2
4.0
"""

from __future__ import annotations

import numpy as np

from bmtoolkit.simulator.popnet.meanfield import RateModel


class SSNModel(RateModel):
    """Power-law rate dynamics of a :class:`PopulationNetwork` (see the module docstring)."""

    def __init__(self, network, *, dt: float = 0.1, tstart: float = 0.0):
        super().__init__(network, dt=dt, tstart=tstart)
        pops = network.populations
        self.scale = np.array([p.rate_scale for p in pops])
        self.exponent = np.array([p.rate_exponent for p in pops])

    def gain(self, drive: np.ndarray) -> np.ndarray:
        """Steady-state rate ``k relu(drive)^n`` (Hz) for a mean input ``drive`` (mV)."""
        return self.scale * np.maximum(drive, 0.0) ** self.exponent

    def update(self, rates: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
        """One forward step of the SSN equation (``sigma`` is not used)."""
        step = rates + self.dt * (-rates + self.gain(mu)) / self.tau_rate
        return np.maximum(step, 0.0)
