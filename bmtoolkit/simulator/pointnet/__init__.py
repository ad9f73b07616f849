"""The NEST backend: SONATA point-neuron networks, Allen GLIF models, MPI runs.

Modules: :mod:`.backend` (:class:`PointNet`), :mod:`.cells`, :mod:`.synapses`,
:mod:`.inputs`, :mod:`.recording`, :mod:`.translations` (every unit conversion). NEST is
imported only when a run starts.

Examples
--------
>>> from bmtoolkit.simulator.pointnet import PointNet  # doctest: +SKIP
>>> PointNet.from_config("config.json").run()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "PointNet":
        from bmtoolkit.simulator.pointnet.backend import PointNet

        return PointNet
    raise AttributeError(f"module 'bmtoolkit.simulator.pointnet' has no attribute {name!r}")
