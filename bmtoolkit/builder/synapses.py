"""Synapse locations on the sections of biophysical target cells.

:class:`SynapseLocations` is a property rule that gives every synapse (every edge row once
``add_properties`` stores edges per synapse) a section id and a position on that section, in
the numbering the bionet backend uses when it builds the target cell from the same SWC file
(see :mod:`bmtoolkit.models.morphology`).

For a target cell with morphology ``M``, let ``S`` be the set of points ``(s, x)`` of sections
``s`` of the allowed types whose path distance from the soma centre ``d(s, x)`` lies in
``[d_min, d_max]``. Locations are drawn uniformly by length on ``S``: with ``u ~ U(0, 1)`` per
synapse, the point at arc length ``u * |S|`` along the sections of ``S`` laid end to end (in
section order). Non-root sections have ``d(s, x) = d(s, 0) + x L_s``; the soma has
``d = |x - 0.5| L_soma``.

Typical use (BMTK's column names ``sec_id``/``sec_x`` work the same way)::

    cm.add_properties(
        ["afferent_section_id", "afferent_section_pos"],
        rule=SynapseLocations(morphologies_dir, sections=["basal", "apical"],
                              distance_range=(50.0, 450.0)),
        dtypes=[np.int32, np.float32],
    )

Without ``sections``/``distance_range``, the rule takes BMTK's edge-type properties
``target_sections`` and ``distance_range`` of the edge set (``add_edges(..., target_sections=
["somatic", "basal"], distance_range=[0.0, 1e20])``), else soma and basal dendrites at any
distance.

Examples
--------
>>> import pathlib, tempfile
>>> from bmtoolkit.builder import NetworkBuilder
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "cell.swc").write_text("1 1 0 0 0 5 -1\\n2 3 0 10 0 1 1\\n3 3 0 110 0 1 2\\n")
>>> net = NetworkBuilder("v1")
>>> net.add_nodes(N=2, model_type="biophysical", morphology="cell.swc")
>>> cm = net.add_edges(connection_rule=3, model_template="exp2syn")
>>> cm.add_properties(SONATA_NAMES, rule=SynapseLocations(d, "dend", (20.0, 60.0)))
>>> net.build(seed=1)
>>> e = net.edges_table()
>>> sorted(set(e["afferent_section_id"].tolist()))
[1]
>>> bool(e["afferent_section_pos"].between(0.2, 0.6).all())
True
"""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.builder.properties import PROPERTY_RULES, EdgeBlock, PropertyRule
from bmtoolkit.exceptions import ConfigError, MissingFileError, SonataFormatError
from bmtoolkit.models.morphology import AXON_MODES, SECTION_ALIASES, read_sections

__all__ = [
    "BMTK_NAMES",
    "BMTK_SWC_NAMES",
    "SONATA_NAMES",
    "PlacementTable",
    "SynapseLocations",
    "bionet_axon",
]

#: SONATA column names of a synapse location
SONATA_NAMES = ("afferent_section_id", "afferent_section_pos")
#: BMTK's column names of a synapse location
BMTK_NAMES = ("sec_id", "sec_x")
#: the four columns of BMTK's ``rand_syn_locations`` (``swc=True``)
BMTK_SWC_NAMES = (*SONATA_NAMES, "afferent_swc_id", "afferent_swc_pos")
_DEFAULT_SECTIONS = ("soma", "dend")


@dataclass(frozen=True)
class PlacementTable:
    """The allowed parts of one morphology laid end to end.

    Attributes
    ----------
    section : np.ndarray
        Section id of each part.
    x_lo : np.ndarray
        Section position where the part starts.
    length : np.ndarray
        Section length (um) of each part's section.
    cumulative : np.ndarray
        Arc length (um) at the end of each part; the last value is the total.
    """

    section: np.ndarray
    x_lo: np.ndarray
    length: np.ndarray
    cumulative: np.ndarray

    @property
    def total(self) -> float:
        """Total allowed length (um)."""
        return float(self.cumulative[-1]) if len(self.cumulative) else 0.0

    def locate(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Section ids and positions of the points at fractions ``u`` of the total length."""
        arc = np.asarray(u) * self.total
        part = np.minimum(np.searchsorted(self.cumulative, arc, side="right"), len(self) - 1)
        start = np.where(part > 0, self.cumulative[np.maximum(part - 1, 0)], 0.0)
        x = self.x_lo[part] + (arc - start) / self.length[part]
        return self.section[part], np.clip(x, 0.0, 1.0)

    def __len__(self) -> int:
        return len(self.section)


def _parse_list(value: Any) -> Any:
    """Edge-type values read back from CSV may be strings such as ``"['basal', 'apical']"``."""
    if isinstance(value, str) and value.strip().startswith(("[", "(")):
        try:
            return ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            return value
    return value


def _section_types(sections: str | int | Sequence[str | int]) -> tuple[int, ...]:
    items = [sections] if isinstance(sections, (str, int)) else list(sections)
    if not items:
        raise ConfigError("sections must name at least one section type", field="sections")
    out = []
    for item in items:
        if isinstance(item, (int, np.integer)):
            out.append(int(item))
        elif str(item).lower() in SECTION_ALIASES:
            out.append(SECTION_ALIASES[str(item).lower()])
        else:
            raise ConfigError(
                f"unknown section type {item!r}; expected one of {sorted(SECTION_ALIASES)} "
                "or an SWC type number",
                field="sections",
            )
    return tuple(sorted(set(out)))


def _distance_range(value: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"distance_range must be (min, max) in um, got {value!r}", field="distance_range"
        ) from None
    if not (0.0 <= lo <= hi):
        raise ConfigError(
            f"distance_range must satisfy 0 <= min <= max, got {value!r}", field="distance_range"
        )
    return lo, hi


def bionet_axon(model_template: Any, model_processing: Any) -> str:
    """The ``axon`` mode of :func:`~bmtoolkit.models.morphology.read_sections` that matches
    how the bionet backend builds a cell with this template and processing.

    NeuroML cells and Allen perisomatic models (``ctdb`` templates default to it) get the
    perisomatic stub, all-active models the all-active stub, anything else (``fullaxon``, hoc
    templates without processing) the full axon. A hoc template is assumed to load its SWC file
    with NEURON's ``Import3d``, as bionet's own cell template does; pass ``axon`` explicitly to
    :class:`SynapseLocations` for templates that build their sections otherwise.

    Examples
    --------
    >>> bionet_axon("nml:Cell_472363762.cell.nml", None), bionet_axon("ctdb:Biophys1.hoc", "")
    ('stub', 'stub')
    >>> bionet_axon("ctdb:Biophys1.hoc", "aibs_allactive"), bionet_axon("hoc:Cell", "fullaxon")
    ('stub_allactive', 'full')
    """
    template = "" if _missing(model_template) else str(model_template)
    processing = "" if _missing(model_processing) else str(model_processing)
    if processing == "aibs_allactive":
        return "stub_allactive"
    if processing == "aibs_perisomatic" or template.startswith("nml:"):
        return "stub"
    if template.startswith("ctdb:") and processing == "":
        return "stub"
    return "full"


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == ""


@PROPERTY_RULES.register("synapse_locations")
class SynapseLocations(PropertyRule):
    """Section id and position of each synapse on its biophysical target (see module docs).

    Parameters
    ----------
    morphologies_dir : path-like, optional
        Folder of the SWC files named by the targets' ``morphology`` column (absolute names
        need none); a name without extension gets ``.swc``.
    sections : str or list, optional
        Allowed section types: ``soma``/``somatic``, ``dend``/``basal``, ``apic``/``apical``,
        ``axon``/``axonal`` or SWC type numbers. Default: the edge type's ``target_sections``,
        else soma and basal dendrites.
    distance_range : (float, float), optional
        Path distance from the soma centre (um). Default: the edge type's ``distance_range``,
        else any distance.
    axon : {"auto", "stub", "stub_allactive", "full"}
        How bionet builds the axon of these cells (:func:`~bmtoolkit.models.morphology.
        read_sections`), which fixes the section numbering. ``"auto"``: per target, from its
        ``model_template`` and ``model_processing`` (:func:`bionet_axon`).
    morphology_column : str
        Target node property naming the morphology file.
    swc : bool
        Also return BMTK's ``afferent_swc_id``/``afferent_swc_pos``
        (:meth:`~bmtoolkit.models.morphology.SectionTree.swc_point`).

    Returns (from :meth:`values`) section ids (int32) and positions (float32), then with
    ``swc=True`` SWC point ids (int64) and positions (float32): one array per property name,
    e.g. :data:`SONATA_NAMES` or :data:`BMTK_NAMES`.
    """

    def __init__(
        self,
        morphologies_dir: str | os.PathLike[str] | None = None,
        sections: str | int | Sequence[str | int] | None = None,
        distance_range: Sequence[float] | None = None,
        axon: str = "auto",
        morphology_column: str = "morphology",
        swc: bool = False,
    ) -> None:
        if axon != "auto" and axon not in AXON_MODES:
            raise ConfigError(
                f"axon must be 'auto' or one of {AXON_MODES}, got {axon!r}", field="axon"
            )
        self.morphologies_dir = None if morphologies_dir is None else Path(morphologies_dir)
        self.sections = sections
        self.distance_range = distance_range
        self.section_types = _section_types(sections if sections is not None else _DEFAULT_SECTIONS)
        self.d_range = _distance_range(
            distance_range if distance_range is not None else (0.0, np.inf)
        )
        self.axon = axon
        self.morphology_column = morphology_column
        self.swc = bool(swc)
        self._tables: dict[tuple[str, str], tuple[PlacementTable, Any]] = {}

    @property
    def n_values(self) -> int:
        """Number of property names this rule fills (2, or 4 with ``swc``)."""
        return 4 if self.swc else 2

    def for_edge_type(self, type_properties: Mapping[str, Any]) -> SynapseLocations:
        """This rule with unset parameters taken from BMTK-style edge-type properties."""
        sections = self.sections
        if sections is None:
            sections = _parse_list(type_properties.get("target_sections"))
        d_range = self.distance_range
        if d_range is None:
            d_range = _parse_list(type_properties.get("distance_range"))
        if sections is self.sections and d_range is self.distance_range:
            return self
        return SynapseLocations(
            self.morphologies_dir,
            sections,
            d_range,
            self.axon,
            self.morphology_column,
            self.swc,
        )

    def resolve(self, name: Any, where: str = "") -> Path:
        """The SWC file of morphology ``name``."""
        if _missing(name):
            raise ConfigError(
                f"{where}has no {self.morphology_column!r}; synapse locations need a "
                "morphology per target",
                field=self.morphology_column,
            )
        path = Path(str(name))
        if not path.is_absolute():
            if self.morphologies_dir is None:
                raise ConfigError(
                    f"morphology {name!r} is a relative name: give morphologies_dir",
                    field="morphologies_dir",
                )
            path = self.morphologies_dir / path
        if not path.suffix and not path.is_file():
            path = path.with_name(path.name + ".swc")
        if path.suffix.lower() != ".swc":
            raise ConfigError(
                f"morphology {name!r}: only SWC files are supported for synapse placement",
                path=str(path),
                field=self.morphology_column,
            )
        if not path.is_file():
            raise MissingFileError(
                f"morphology {name!r} of {where or 'a target'}not found", path=str(path)
            )
        return path

    def table(self, name: Any, axon: str = "stub", where: str = "") -> tuple[PlacementTable, Any]:
        """Placement table and section tree of morphology ``name`` built with ``axon`` (cached)."""
        key = (str(name), axon)
        if key not in self._tables:
            path = self.resolve(name, where)
            tree = read_sections(path, axon=axon)
            sec, lo, hi = tree.intervals(self.section_types, *self.d_range)
            length = tree.length[sec]
            if len(sec) == 0:
                raise ConfigError(
                    f"morphology {path.name} has no section of types {self.section_types} "
                    f"within {self.d_range[0]}-{self.d_range[1]} um of the soma",
                    path=str(path),
                    field="distance_range",
                )
            table = PlacementTable(sec.astype(np.int32), lo, length, np.cumsum((hi - lo) * length))
            self._tables[key] = (table, tree)
        return self._tables[key]

    def _target_keys(self, edges: EdgeBlock) -> tuple[np.ndarray, np.ndarray]:
        """Morphology name and axon mode of each target of the block."""
        targets = edges.targets
        try:
            names = targets.column(self.morphology_column)
        except SonataFormatError as err:
            raise ConfigError(
                f"synapse locations need a {self.morphology_column!r} per target node; "
                f"population {targets.population!r} has none ({err})",
                field=self.morphology_column,
            ) from None
        if self.axon != "auto":
            return names, np.full(len(targets), self.axon, dtype=object)
        cols = []
        for col in ("model_template", "model_processing"):
            try:
                cols.append(targets.column(col))
            except SonataFormatError:
                cols.append(np.full(len(targets), None, dtype=object))
        modes = np.array([bionet_axon(t, p) for t, p in zip(*cols)], dtype=object)
        return names, modes

    def values(self, edges: EdgeBlock, rng: np.random.Generator) -> tuple[np.ndarray, ...]:  # noqa: D102
        u = rng.random(len(edges))
        sec_id = np.zeros(len(edges), dtype=np.int32)
        sec_x = np.zeros(len(edges), dtype=np.float64)
        swc_id = np.full(len(edges), -1, dtype=np.int64)
        swc_pos = np.zeros(len(edges), dtype=np.float64)
        if len(edges):
            names, modes = self._target_keys(edges)
            keys = np.array([f"{m}\0{a}" for m, a in zip(names, modes)], dtype=object)
            uniq, per_target = np.unique(keys, return_inverse=True)
            per_edge = per_target[edges.target]
            by_key = np.argsort(per_edge, kind="stable")
            bounds = np.searchsorted(per_edge[by_key], np.arange(len(uniq) + 1))
            for k in range(len(uniq)):
                rows = by_key[bounds[k] : bounds[k + 1]]
                if len(rows) == 0:
                    continue
                first = np.flatnonzero(per_target == k)[0]
                node = int(edges.targets.index[first])
                where = f"target node {node} of population {edges.targets.population!r} "
                table, tree = self.table(names[first], modes[first], where)
                sec_id[rows], sec_x[rows] = table.locate(u[rows])
                if self.swc:
                    swc_id[rows], swc_pos[rows] = tree.swc_point(sec_id[rows], sec_x[rows])
        out: tuple[np.ndarray, ...] = (sec_id, sec_x.astype(np.float32))
        if self.swc:
            out += (swc_id, swc_pos.astype(np.float32))
        return out
