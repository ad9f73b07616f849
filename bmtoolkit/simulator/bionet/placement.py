"""Rule-based synapse placement on detailed cells, as BMTK's BioNet places synapses.

An edge without section placement columns (``afferent_section_id``/``sec_id``) gets
``nsyns`` synapses at segment centres chosen at random among the segments that

* belong to the edge type's ``target_sections`` (section list names: ``soma``/``somatic``,
  ``dend``/``basal``, ``apic``/``apical``, ``axon``/``axonal``; a section's kind is the first
  four letters of its array name), and
* overlap the ``distance_range`` ``[min, max]`` (um of path distance, measured by NEURON's
  ``distance`` from the *0 end* of the first soma section, as BMTK measures it).

Each such segment is chosen with probability proportional to its length inside the range
(``L / nseg`` times the fraction of ``[d - L/2nseg, d + L/2nseg]`` that overlaps the range).
Draws come from one ``numpy.random.RandomState`` per target cell seeded with the cell's BMTK
gid (population offsets in circuit order plus the node id), consumed edge by edge in the
order BMTK connects them, so a network placed here puts its synapses on the same segments
as BMTK 1.2.0 does.

The edge type columns are read as BMTK reads them: ``target_sections`` a Python list literal
(``"['basal', 'apical']"``), ``distance_range`` a JSON list or one number (the maximum); the
space-separated values bmtoolkit's builder writes (``"dend apic"``, ``"0.0 300.0"``) too. An
edge type without them falls back to the synapse JSON's ``target_sections``/``sec_type`` and
``distance_range``, then to ``['soma', 'dend']`` and no distance limit (BMTK stops with a
``KeyError`` there).

Examples
--------
>>> parse_target_sections("['basal', 'apical']")
('basal', 'apical')
>>> parse_distance_range("[30.0, 150.0]"), parse_distance_range("50")
((30.0, 150.0), (0.0, 50.0))
>>> parse_target_sections("dend apic"), parse_distance_range("0.0 300.0")
(('dend', 'apic'), (0.0, 300.0))
>>> import numpy as np
>>> props = SegmentProps(type=np.array([1, 3, 3]), x=np.array([0.5, 0.25, 0.75]),
...                      length=np.array([10.0, 20.0, 20.0]), dist=np.array([5.0, 20.0, 40.0]))
>>> ix, p = props.find(("basal",), (0.0, 40.0))
>>> ix.tolist(), p.round(3).tolist()
([1, 2], [0.667, 0.333])
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError

__all__ = [
    "DEFAULT_DISTANCE_RANGE",
    "DEFAULT_TARGET_SECTIONS",
    "SECTION_CODES",
    "PlacementRule",
    "SegmentProps",
    "parse_distance_range",
    "parse_target_sections",
    "placement_rule",
    "segment_props",
]

#: section list names an edge type may target -> SWC type code of the sections they hold
SECTION_CODES: dict[str, int] = {
    "soma": 1,
    "somatic": 1,
    "axon": 2,
    "axonal": 2,
    "dend": 3,
    "basal": 3,
    "apic": 4,
    "apical": 4,
}

#: targets of an edge type that names none (nor does its synapse JSON)
DEFAULT_TARGET_SECTIONS = ("soma", "dend")
#: distance range of an edge type that names none
DEFAULT_DISTANCE_RANGE = (0.0, 1e20)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def parse_target_sections(value: Any, where: str = "") -> tuple[str, ...] | None:
    """Section list names of a ``target_sections`` value (list or its Python literal text).

    ``None`` for a missing value (``NULL``, NaN, empty). Raises :class:`ConfigError` for text
    that is not a list of names, or a name that is not a section list.
    """
    if _missing(value):
        return None
    names = value
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith(("[", "(")):
            names = [n for n in re.split(r"[\s,]+", text) if n]  # "dend apic" (our builder)
        else:
            try:
                names = ast.literal_eval(text)
            except (ValueError, SyntaxError) as err:
                raise ConfigError(
                    f"target_sections {value!r} is not a list of section names "
                    "(e.g. \"['basal', 'apical']\")",
                    path=where or None,
                    field="target_sections",
                ) from err
    if isinstance(names, str):
        names = [names]
    names = tuple(str(n) for n in np.atleast_1d(np.asarray(names, dtype=object)).tolist())
    unknown = [n for n in names if n not in SECTION_CODES]
    if unknown:
        raise ConfigError(
            f"target_sections {list(names)} names {unknown}; expected section lists among "
            f"{sorted(SECTION_CODES)}",
            path=where or None,
            field="target_sections",
        )
    return names


def parse_distance_range(value: Any, where: str = "") -> tuple[float, float] | None:
    """``(min, max)`` um of a ``distance_range`` value (a JSON list, or one number: the max)."""
    if _missing(value):
        return None
    rng = value
    if isinstance(value, str):
        try:
            rng = json.loads(value)
        except json.JSONDecodeError:
            try:  # one number (the maximum) or "min max" as our builder writes lists
                rng = [float(v) for v in re.split(r"[\s,]+", value.strip()) if v]
            except ValueError as err:
                raise ConfigError(
                    f"distance_range {value!r} is neither a [min, max] list nor a number",
                    path=where or None,
                    field="distance_range",
                ) from err
    arr = np.atleast_1d(np.asarray(rng, dtype=float))
    if arr.size == 1:
        arr = np.array([0.0, arr[0]])
    if arr.size != 2 or np.isnan(arr).any():
        raise ConfigError(
            f"distance_range {value!r}: expected [min, max] in um",
            path=where or None,
            field="distance_range",
        )
    return float(arr[0]), float(arr[1])


@dataclass(frozen=True)
class PlacementRule:
    """Where rule-based synapses of an edge may go: section lists and path distance (um)."""

    sections: tuple[str, ...] = DEFAULT_TARGET_SECTIONS
    distance_range: tuple[float, float] = DEFAULT_DISTANCE_RANGE


def placement_rule(
    target_sections: Any, distance_range: Any, syn_json: Mapping[str, Any], where: str = ""
) -> PlacementRule:
    """The :class:`PlacementRule` of one edge: edge (type) columns first, then the synapse
    JSON's ``target_sections``/``sec_type`` and ``distance_range``, then the defaults."""
    sections = parse_target_sections(target_sections, where)
    if sections is None:
        sections = parse_target_sections(
            syn_json.get("target_sections", syn_json.get("sec_type")), where
        )
    drange = parse_distance_range(distance_range, where)
    if drange is None:
        drange = parse_distance_range(syn_json.get("distance_range"), where)
    return PlacementRule(
        sections=sections or DEFAULT_TARGET_SECTIONS,
        distance_range=drange or DEFAULT_DISTANCE_RANGE,
    )


@dataclass
class SegmentProps:
    """Per segment of a cell, in ``all`` order: SWC type code, ``x``, length and path
    distance of its centre from the soma's 0 end (um).

    ``find`` results are cached by rule (cells of one morphology share one instance).
    """

    type: np.ndarray
    x: np.ndarray
    length: np.ndarray
    dist: np.ndarray
    sec_id: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    _found: dict[Any, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    def find(
        self, sections: tuple[str, ...], distance_range: tuple[float, float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the segments a rule allows and the probability of choosing each.

        Empty arrays when no segment qualifies.
        """
        key = (tuple(sections), tuple(distance_range))
        if key in self._found:
            return self._found[key]
        dmin, dmax = distance_range
        d0 = self.dist - self.length / 2.0
        d1 = self.dist + self.length / 2.0
        overlap = np.maximum(0, (np.minimum(d1, dmax) - np.maximum(d0, dmin))) / self.length
        in_range = np.where(overlap > 0)
        labelled = np.array([], dtype=int)
        for name in sections:
            labelled = np.append(labelled, np.where(self.type == SECTION_CODES[name]))
        ix = np.intersect1d(in_range, labelled)
        weight = self.length[ix] * overlap[ix]
        prob = weight / np.sum(weight) if len(ix) else weight
        self._found[key] = (ix, prob)
        return ix, prob


def section_code(sec: Any) -> int:
    """SWC type code of a NEURON section from the first four letters of its array name."""
    name = sec.name().rsplit(".", 1)[-1][:4]
    try:
        return SECTION_CODES[name]
    except KeyError:
        return 0  # sections outside the four arrays are never targeted


def segment_props(sections: list[Any], soma: Any) -> SegmentProps:
    """:class:`SegmentProps` of a cell's sections (``all`` order), distances from ``soma(0)``.

    Examples
    --------
    >>> props = segment_props(cell.sections, cell.soma)  # doctest: +SKIP
    >>> props.dist[0]  # half the soma length  # doctest: +SKIP
    5.44
    """
    from neuron import h

    h.distance(0, soma(0))
    types, xs, lengths, dists, sec_ids = [], [], [], [], []
    for sec_id, sec in enumerate(sections):
        code = section_code(sec)
        seg_len = sec.L / sec.nseg
        for seg in sec:
            sec_ids.append(sec_id)
            types.append(code)
            xs.append(seg.x)
            lengths.append(seg_len)
            dists.append(h.distance(seg))
    return SegmentProps(
        type=np.array(types),
        x=np.array(xs),
        length=np.array(lengths),
        dist=np.array(dists),
        sec_id=np.array(sec_ids, dtype=int),
    )
