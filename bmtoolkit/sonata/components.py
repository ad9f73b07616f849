"""Where the files a types table names are looked up: the components-folder rule.

A node or edge type's ``dynamics_params`` file name is relative to a ``components`` folder of
the circuit config chosen by the kind of model: :data:`COMPONENT_DIRS` lists, for each
``model_type`` (and ``"synapse"`` for edge types, ``"filter"`` for filternet's LGN cells), the
folders searched in order; the first one the config defines is used. Kinds not listed use
``point_neuron_models_dir``. Absolute file names are used as they are.

The rule is data so that the validator (:mod:`bmtoolkit.sonata.validation`) and the
simulator's model catalogue (:mod:`bmtoolkit.simulator.core.catalogue`) apply the same one.

Examples
--------
>>> component_folders("population")
('population_models_dir', 'point_neuron_models_dir')
>>> folder_key({"point_neuron_models_dir": "/m"}, "population")
'point_neuron_models_dir'
>>> folder_key({}, "synapse")
'synaptic_models_dir'
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["COMPONENT_DIRS", "component_folders", "folder_key"]

#: components folders searched, in order, for the ``dynamics_params`` files of each kind
COMPONENT_DIRS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "point_process": ("point_neuron_models_dir", "point_models_dir"),
        "point_neuron": ("point_neuron_models_dir", "point_models_dir"),
        "biophysical": ("biophysical_neuron_models_dir",),
        "population": ("population_models_dir", "point_neuron_models_dir"),
        "virtual": (),
        "synapse": ("synaptic_models_dir",),
        "filter": ("filter_models_dir",),
    }
)
#: folders of kinds :data:`COMPONENT_DIRS` does not list
DEFAULT_DIRS: tuple[str, ...] = ("point_neuron_models_dir",)


def component_folders(kind: str | None) -> tuple[str, ...]:
    """The ``components`` keys searched for a ``dynamics_params`` file of ``kind``, in order.

    Examples
    --------
    >>> component_folders(None)
    ('point_neuron_models_dir',)
    >>> component_folders("virtual")
    ()
    """
    return COMPONENT_DIRS.get(str(kind), DEFAULT_DIRS)


def folder_key(components: Mapping[str, Any], kind: str | None) -> str | None:
    """The ``components`` key whose folder holds ``kind``'s files: the first of
    :func:`component_folders` that ``components`` defines, else the first (the one to
    set); ``None`` for kinds without files (``virtual``)."""
    keys = component_folders(kind)
    return next((k for k in keys if k in components), keys[0] if keys else None)
