"""Run SONATA simulation configs on pluggable backends.

Backends (``pointnet`` = NEST, ``bionet`` = NEURON, ``popnet`` = population density,
``filternet`` = LGN filters, ``torchnet`` = PyTorch, ``numpynet`` = a tiny numpy LIF used in
tests) declare themselves in their folder's ``spec.py``
(:class:`~bmtoolkit.simulator.core.spec.BackendSpec`); other packages add theirs through the
``bmtoolkit.backends`` entry points. Their simulators are imported only when a run needs them.

- :func:`run` runs a config (``bmtoolkit run CONFIG`` on the command line);
- :class:`PointNet` (``PointNet.from_config(config).run()``) runs the NEST backend;
- :func:`synaptic_weight` / :func:`add_weight_function` register a weight function, and
  ``cell_model``, ``synapse_model``, ``model_processing`` (``add_cell_model`` ...) BMTK's
  other user functions (:mod:`bmtoolkit.simulator.core.pyfunctions`);
- :func:`spikes_generator` registers a spike-train function for ``module: "function"`` inputs;
- :class:`PoissonSpikeGenerator` writes Poisson spike trains as SONATA spikes;
- :class:`RunPlan` is the typed form of a simulation config.

Examples
--------
>>> from bmtoolkit.simulator import run  # doctest: +SKIP
>>> run("config.json", backend="mynet")  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "run": "bmtoolkit.simulator.core.runner",
    "RunPlan": "bmtoolkit.simulator.core.plan",
    "RunResult": "bmtoolkit.simulator.core.base",
    "Backend": "bmtoolkit.simulator.core.base",
    "synaptic_weight": "bmtoolkit.simulator.core.registries",
    "add_weight_function": "bmtoolkit.simulator.core.registries",
    "spikes_generator": "bmtoolkit.simulator.core.registries",
    "add_spikes_generator": "bmtoolkit.simulator.core.registries",
    "PoissonSpikeGenerator": "bmtoolkit.simulator.core.spike_generators",
}


def _pyfunction_names() -> tuple[str, ...]:
    """BMTK's cell / synapse / processor registration functions, for every backend (the
    weight-function ones are the registries', in :data:`_EXPORTS`)."""
    from bmtoolkit.simulator.core.pyfunctions import NAMES

    return tuple(name for name in NAMES if name not in _EXPORTS)


def _backend_exports() -> dict[str, str]:
    """What the backends' specs re-export here (``PointNet`` ...)."""
    from bmtoolkit.simulator.core.spec import specs

    return {k: v for spec in specs().values() for k, v in spec.exports.items()}


def __getattr__(name: str) -> Any:
    if name == "__all__":  # the backends' exports are known once their specs are read
        return sorted({*_EXPORTS, *_pyfunction_names(), *_backend_exports()})
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _pyfunction_names():
        from bmtoolkit.simulator.core.pyfunctions import ALL

        return ALL.exports()[name]
    module = _EXPORTS.get(name) or _backend_exports().get(name)
    if module is None:
        raise AttributeError(f"module 'bmtoolkit.simulator' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_pyfunction_names(), *_backend_exports()])
