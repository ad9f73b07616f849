"""torchnet: differentiable simulation of heterogeneous GLIF networks with short-term plasticity.

A SONATA network of point neurons (GLIF1-5, NEST units) is turned into a PyTorch
:class:`torch.nn.Module` (:class:`~bmtoolkit.simulator.torchnet.model.TorchNet`) that can be
simulated on CPU or CUDA and trained with surrogate gradients. PyTorch is imported lazily:
``import bmtoolkit.simulator.torchnet`` works without it, and using any torch-backed name
raises :class:`~bmtoolkit.exceptions.BackendNotAvailableError` when it is missing.

Examples
--------
>>> from bmtoolkit.simulator import torchnet
>>> net = torchnet.TorchNet.from_config("config.json")  # doctest: +SKIP
>>> spikes = net.simulate(tstop=1000.0)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "TorchNet": "model",
    "GLIFCells": "cells",
    "Synapses": "synapses",
    "TsodyksMarkram": "synapses",
    "spike_fn": "surrogate",
    "Trainer": "training",
    "poisson_spikes": "inputs",
    "TorchNetBackend": "backend",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
