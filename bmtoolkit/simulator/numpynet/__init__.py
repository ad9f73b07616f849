"""``numpynet``: a tiny leaky integrate-and-fire backend in pure numpy.

It tests the code every backend shares without any simulator installed and is the smallest
worked example of a backend folder: :mod:`.spec` (what it is, read by core without importing
the rest) and :mod:`.backend` (the :class:`~bmtoolkit.simulator.core.base.Backend` steps).

Examples
--------
>>> from bmtoolkit.simulator.numpynet.spec import SPEC
>>> SPEC.name, SPEC.delay.describe()
('numpynet', 'one time step (run.dt)')
"""
