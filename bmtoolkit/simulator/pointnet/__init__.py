"""The NEST backend: SONATA point-neuron networks, Allen GLIF models, MPI runs.

Modules: :mod:`.backend` (:class:`PointNet`), :mod:`.cells`, :mod:`.synapses`,
:mod:`.inputs`, :mod:`.recording`, :mod:`.translations` (every unit conversion). NEST is
imported only when a run starts.

BMTK's run-script names (``Config``, ``PointNetwork``, ``PointSimulator``, ``io``) are here
too, from :mod:`.run_scripts`, so ``run_pointnet.py`` scripts run with
``bmtk`` replaced by ``bmtoolkit`` in their imports.

Examples
--------
>>> from bmtoolkit.simulator.pointnet import PointNet  # doctest: +SKIP
>>> PointNet.from_config("config.json").run()  # doctest: +SKIP
>>> from bmtoolkit.simulator import pointnet
>>> pointnet.PointSimulator.backend
'pointnet'
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "PointNet": "bmtoolkit.simulator.pointnet.backend",
    "Config": "bmtoolkit.simulator.pointnet.run_scripts",
    "PointNetwork": "bmtoolkit.simulator.pointnet.run_scripts",
    "PointSimulator": "bmtoolkit.simulator.pointnet.run_scripts",
    "io": "bmtoolkit.simulator.pointnet.run_scripts",
}

#: BMTK's registration functions (``synaptic_weight``, ``add_cell_model`` ...) are those of
#: this module (:func:`~bmtoolkit.simulator.core.pyfunctions.backend_module`)
_PYFUNCTION_CACHE = "bmtoolkit.simulator.pointnet.pyfunction_cache"


def _pyfunction_names() -> tuple[str, ...]:
    from bmtoolkit.simulator.core.pyfunctions import NAMES

    return NAMES


def __getattr__(name: str) -> Any:
    if name in _pyfunction_names():
        return getattr(importlib.import_module(_PYFUNCTION_CACHE), name)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bmtoolkit.simulator.pointnet' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_pyfunction_names()])
