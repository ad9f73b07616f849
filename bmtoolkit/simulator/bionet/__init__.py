"""NEURON backend (``bionet``): detailed and point cells, synapses, inputs and reports.

NEURON is imported lazily, so importing this package works without it.

BMTK's run-script names (``Config``, ``BioNetwork``, ``BioSimulator``, ``io`` and
``nrn.quit_execution``) are here too, from :mod:`.run_scripts`, so
``run_bionet.py`` scripts run with ``bmtk`` replaced by ``bmtoolkit`` in their imports.

Examples
--------
>>> import bmtoolkit.simulator.bionet as bionet
>>> bionet.__name__
'bmtoolkit.simulator.bionet'
>>> bionet.BioSimulator.backend
'bionet'
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any

_SCRIPTS = "bmtoolkit.simulator.bionet.run_scripts"
_EXPORTS: dict[str, str] = {
    "Config": _SCRIPTS,
    "BioNetwork": _SCRIPTS,
    "BioSimulator": _SCRIPTS,
    "io": _SCRIPTS,
}

#: BMTK's registration functions (``synaptic_weight``, ``add_cell_model`` ...) are those of
#: this module (:func:`~bmtoolkit.simulator.core.pyfunctions.backend_module`)
_PYFUNCTION_CACHE = "bmtoolkit.simulator.bionet.pyfunction_cache"


def _pyfunction_names() -> tuple[str, ...]:
    from bmtoolkit.simulator.core.pyfunctions import NAMES

    return NAMES


def __getattr__(name: str) -> Any:
    if name in _pyfunction_names():
        return getattr(importlib.import_module(_PYFUNCTION_CACHE), name)
    if name == "nrn":
        # BMTK's ``bionet.nrn`` module: run scripts end with ``nrn.quit_execution()``
        scripts = importlib.import_module(_SCRIPTS)
        return SimpleNamespace(quit_execution=scripts.quit_execution)
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bmtoolkit.simulator.bionet' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_pyfunction_names(), "nrn"])
