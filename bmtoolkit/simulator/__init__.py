"""Run SONATA simulation configs on pluggable backends.

Backends (``pointnet`` = NEST, ``bionet`` = NEURON, ``popnet`` = population density,
``filternet`` = LGN filters, ``torchnet`` = PyTorch) register themselves by name in
:data:`bmtoolkit.simulator.core.registries.BACKENDS`; their simulators are imported lazily.

Examples
--------
>>> from bmtoolkit.simulator import run  # doctest: +SKIP
>>> run("config.json", backend="pointnet")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "run":
        from bmtoolkit.simulator.core.runner import run

        return run
    raise AttributeError(f"module 'bmtoolkit.simulator' has no attribute {name!r}")
