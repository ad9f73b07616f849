"""Gap junctions (electrical synapses) as BMTK's builder declares them.

A gap junction is an edge whose edge type has ``is_gap_junction`` true and ``syn_weight`` the
junction conductance (uS); :meth:`bmtoolkit.builder.NetworkBuilder.add_gap_junctions` declares
them and :meth:`~bmtoolkit.builder.NetworkBuilder.save` writes BMTK's ``<network>_gap_juncs.h5``
id file from :func:`junction_pairs`.

Examples
--------
>>> props = type_properties(500.0, None, (0.0, 300.0), ("somatic",), {})
>>> props["syn_weight"], props["is_gap_junction"], props["target_sections"]
(0.002, True, ['somatic'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError

__all__ = ["junction_pairs", "type_properties"]


def type_properties(
    resistance: float,
    conductance: float | None,
    distance_range: Sequence[float],
    target_sections: Sequence[str] | None,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """Edge-type properties of a gap junction: ``syn_weight`` is ``conductance`` (uS), else
    ``1 / resistance`` (MOhm), with ``distance_range`` and ``target_sections`` placing it.

    Raises
    ------
    ConfigError
        A non-positive resistance or a negative conductance.
    """
    if conductance is None:
        if not float(resistance) > 0.0:
            raise ConfigError(f"resistance must be > 0 MOhm, got {resistance}", field="resistance")
        weight = 1.0 / float(resistance)
    else:
        if float(conductance) < 0.0:
            raise ConfigError(
                f"conductance must be >= 0 uS, got {conductance}", field="conductance"
            )
        weight = float(conductance)
    props = dict(extra)
    props.update(syn_weight=weight, is_gap_junction=True, distance_range=list(distance_range))
    if target_sections is not None:
        props["target_sections"] = list(target_sections)
    return props


def junction_pairs(edge_sets: Sequence[Any], edges: Mapping[Any, Any] | None) -> Any:
    """(source ids, target ids) of every gap junction among the built ``edges``, one row per
    junction (an edge of ``nsyns`` n counts n times, as BMTK counts it); None without any."""
    gap_types = {es.edge_type_id for es in edge_sets if es.type_properties.get("is_gap_junction")}
    if not gap_types or not edges:
        return None
    src, trg = [], []
    for arrays in edges.values():
        mask = np.isin(arrays.edge_type_ids, list(gap_types))
        if not mask.any():
            continue
        n = arrays.columns.get("nsyns")
        reps = np.ones(int(mask.sum()), dtype=np.int64) if n is None else np.asarray(n)[mask]
        src.append(np.repeat(arrays.source_ids[mask], reps))
        trg.append(np.repeat(arrays.target_ids[mask], reps))
    if not src:
        return None
    return np.concatenate(src), np.concatenate(trg)
