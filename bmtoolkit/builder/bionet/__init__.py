"""BMTK's ``bmtk.builder.bionet`` helpers for detailed cells, vectorized.

BMTK scripts that place synapses with ``rand_syn_locations`` run unchanged after switching the
import to this module::

    from bmtoolkit.builder.bionet import rand_syn_locations

    cm.add_properties(
        ["afferent_section_id", "afferent_section_pos", "afferent_swc_id", "afferent_swc_pos"],
        rule=rand_syn_locations,
        rule_params={"sections": ["basal", "apical"], "distance_range": [0.0, 150.0],
                     "morphology_dir": "components/morphologies"},
        dtypes=[np.int32, np.float32, np.int64, np.float32],
    )

``add_properties`` recognises the function and uses
:class:`~bmtoolkit.builder.synapses.SynapseLocations` (with ``swc=True``) on whole blocks of
edges instead of calling it once per edge. Locations are uniform by length along the allowed
sections (BMTK draws segment centres); ``dL`` is accepted and ignored for that reason.

Examples
--------
>>> from bmtoolkit.builder.properties import make_property_rule
>>> rule = make_property_rule(rand_syn_locations, {"morphology_dir": "."}, ["a", "b", "c", "d"])
>>> type(rule).__name__, rule.n_values
('SynapseLocations', 4)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bmtoolkit.builder.synapses import SynapseLocations
from bmtoolkit.exceptions import ConfigError

__all__ = ["rand_syn_locations"]

_BMTK_SECTIONS = ("soma", "apical", "basal")


def _rule(
    sections: Sequence[str] = _BMTK_SECTIONS,
    distance_range: Sequence[float] = (0.0, 1.0e20),
    morphology_dir: str | os.PathLike[str] = "./components/morphologies",
    return_coords: bool = False,
    dL: float | None = None,  # noqa: N803, ARG001 - BMTK's name; placement is continuous
) -> SynapseLocations:
    if return_coords:
        raise ConfigError(
            "rand_syn_locations(return_coords=True) is not supported; synapse coordinates "
            "follow from the section id and position",
            field="return_coords",
        )
    return SynapseLocations(morphology_dir, list(sections), distance_range, swc=True)


def rand_syn_locations(
    src: Mapping[str, Any],  # noqa: ARG001 - BMTK's per-edge signature
    trg: Mapping[str, Any],
    sections: Sequence[str] = _BMTK_SECTIONS,
    distance_range: Sequence[float] = (0.0, 1.0e20),
    morphology_dir: str | os.PathLike[str] = "./components/morphologies",
    return_coords: bool = False,
    dL: float | None = None,  # noqa: N803 - BMTK's name
) -> list[Any]:
    """One synapse location on ``trg``: ``[sec_id, sec_x, swc_id, swc_pos]``.

    Called directly it draws with ``numpy.random``; passed as an ``add_properties`` rule it is
    replaced by a vectorized :class:`~bmtoolkit.builder.synapses.SynapseLocations`.
    """
    rule = _rule(sections, distance_range, morphology_dir, return_coords, dL)
    from bmtoolkit.builder.synapses import bionet_axon

    axon = bionet_axon(trg.get("model_template"), trg.get("model_processing"))
    table, tree = rule.table(trg["morphology"], axon, f"node {trg.get('node_id')} ")
    sec, x = table.locate(np.random.random(1))
    swc_id, swc_pos = tree.swc_point(sec, x)
    return [int(sec[0]), float(x[0]), int(swc_id[0]), float(swc_pos[0])]


#: ``add_properties`` builds this vectorized rule from ``rule_params`` instead of calling the
#: function per edge
rand_syn_locations.vectorized_rule = _rule  # type: ignore[attr-defined]


from .swc_reader import SWCReader, get_swc  # noqa: E402 - BMTK's names

__all__ += ["SWCReader", "get_swc"]
