"""Synapses and connections on NEURON.

Targets that are detailed cells get a synapse point process per edge (``Exp2Syn`` and any
mechanism named by ``model_template``) at ``sec_id``/``sec_x`` (or
``afferent_section_id``/``afferent_section_pos``); without placement columns, ``nsyns``
synapses are placed by rule (section types and distance range from the synapse JSON, seeded).
Point-process targets receive a NetCon per edge. As in BMTK 1.2.0, its weight carries the
``sign`` of the synapse JSON only where the edge's group (its H5 datasets plus the columns of
the edge types table) has an ``nsyns`` column and no section placement column
(:func:`point_sign_mask`); elsewhere the weight is ``syn_weight`` as written, so an
``instantaneousInh`` edge without ``nsyns`` excites, as it does in BMTK. Weights and delays
come from :func:`bmtoolkit.simulator.core.models.edge_table`.

Examples
--------
>>> synapse_parameters({"tau1": 1.0, "tau2": 3.0, "erev": 0.0, "level_of_detail": "exp2syn"})
{'tau1': 1.0, 'tau2': 3.0, 'e': 0.0}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import MissingFileError, SonataFormatError, UnknownModelError
from bmtoolkit.simulator.bionet.translations import SYNAPSE_PARAMETER_NAMES
from bmtoolkit.simulator.core.catalogue import params_path

if TYPE_CHECKING:
    from bmtoolkit.simulator.core.models import EdgeTable

__all__ = [
    "Connector",
    "place_synapses",
    "point_sign_mask",
    "read_synapse_json",
    "segment_table",
    "synapse_parameters",
]


@lru_cache(maxsize=128)
def read_synapse_json(path: str) -> dict[str, Any]:
    """Read a synaptic model JSON (``tau1``, ``tau2``, ``erev``, ``sign`` ...)."""
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError as err:
        raise MissingFileError("synaptic model file not found", path=path) from err
    except json.JSONDecodeError as err:
        raise SonataFormatError(f"invalid JSON: {err}", path=path) from err


def synapse_parameters(params: Mapping[str, Any]) -> dict[str, float]:
    """NEURON point-process attributes from a synapse JSON (``erev`` -> ``e``)."""
    out = {}
    for key, value in params.items():
        name = SYNAPSE_PARAMETER_NAMES.get(key, key)
        if name is None or not isinstance(value, int | float):
            continue
        out[name] = float(value)
    return out


def _placement_rule(params: Mapping[str, Any]) -> tuple[tuple[str, ...], float, float]:
    types = params.get("sec_type", params.get("target_sections", ["soma", "dend"]))
    types = [types] if isinstance(types, str) else list(types)
    lo, hi = params.get("distance_range", [0.0, 1e9])
    return tuple(str(t) for t in types), float(lo), float(hi)


def segment_table(
    cell: Any, types: tuple[str, ...], lo: float, hi: float
) -> list[tuple[int, float]]:
    """``(section index, x)`` of every segment centre of ``cell`` in sections of ``types``
    whose path distance from the soma centre lies in ``[lo, hi]`` um, in ``all`` order.

    Cells of the same morphology, model and ``dL`` share the table (see :class:`Connector`).
    """
    from neuron import h

    from bmtoolkit.simulator.bionet.morphology import section_type

    h.distance(0, 0.5, sec=cell.soma)
    return [
        (i, seg.x)
        for i, sec in enumerate(cell.sections)
        if section_type(sec) in types
        for seg in sec
        if lo <= h.distance(seg.x, sec=sec) <= hi
    ]


def place_synapses(
    cell: Any,
    n: int,
    rng: np.random.Generator,
    params: Mapping[str, Any],
    table: list[tuple[int, float]] | None = None,
) -> list[tuple[Any, float]]:
    """Choose ``n`` (section, x) sites on a detailed cell by rule.

    ``target_sections`` (default ``["soma", "dend"]``) and ``distance_range`` (um from the
    soma centre, default ``[0, 1e9]``) come from the synapse JSON; sites are segment centres
    drawn uniformly with ``rng``. ``table`` is the cell's :func:`segment_table` for that
    rule, when already known.
    """
    types, lo, hi = _placement_rule(params)
    sites = segment_table(cell, types, lo, hi) if table is None else table
    if not sites:
        raise SonataFormatError(
            f"no segment of node {cell.spec.node_id} ({cell.spec.population}) in sections "
            f"{list(types)} within {lo}-{hi} um for synapse placement",
            path=cell.spec.where,
        )
    picks = rng.integers(0, len(sites), size=n)
    return [(cell.sections[sites[i][0]], sites[i][1]) for i in picks]


#: synapse names BMTK's edge ``model_template`` may use for NEURON's point processes
BMTK_SYNAPSE_NAMES: dict[str, str] = {"exp2syn": "Exp2Syn"}


#: columns whose presence in an edge group means synapse locations are given per edge
PLACEMENT_COLUMNS = ("sec_id", "afferent_section_id")


def point_sign_mask(edges: Any) -> np.ndarray:
    """Per edge, whether a point-process target gets the synapse JSON's ``sign`` (BMTK's rule).

    BMTK 1.2.0 multiplies the weight onto an artificial cell by ``sign * nsyns`` only for
    edges it considers rule-placed: the edge's group (H5 datasets and edge types table
    columns together) has ``nsyns`` and neither ``sec_id`` nor ``afferent_section_id``.
    Edges of other groups keep ``syn_weight`` unsigned.

    Parameters
    ----------
    edges : bmtoolkit.sonata.EdgePopulation
        The edge population.

    Returns
    -------
    numpy.ndarray
        Boolean mask, one entry per edge.

    Examples
    --------
    >>> point_sign_mask(circuit.edges["internal_to_internal"]).any()  # doctest: +SKIP
    False
    """
    type_columns = set(edges.types.columns)
    signed_groups = []
    for gid, grp in edges.groups.items():
        columns = set(grp.attribute_names) | type_columns
        if "nsyns" in columns and not columns.intersection(PLACEMENT_COLUMNS):
            signed_groups.append(gid)
    group_ids, _ = edges.group_rows()
    return np.isin(group_ids, signed_groups)


class Connector:
    """Creates synapses and NetCons for one edge population on this rank."""

    def __init__(self, h: Any, pc: Any, layout: Any, cells: Mapping[tuple[str, int], Any]):
        self.h = h
        self.pc = pc
        self.layout = layout
        self.cells = cells
        self.keep: list[Any] = []
        self._rngs: dict[Any, np.random.Generator] = {}
        self._tables: dict[Any, list[tuple[int, float]]] = {}
        self._models: dict[Any, tuple[Mapping[str, Any], dict[str, float]]] = {}
        self._attributes: dict[tuple[str, tuple[str, ...]], tuple[str, ...]] = {}

    def _synapse_model(
        self, name: Any, components: Mapping[str, Any], where: str
    ) -> tuple[Mapping[str, Any], Any]:
        """(synapse JSON, point-process parameters) of a ``dynamics_params`` value (cached);
        a file name is looked up in ``synaptic_models_dir``
        (:func:`~bmtoolkit.simulator.core.catalogue.params_path`)."""
        if name not in self._models:
            syn_json: Mapping[str, Any] = {}
            if isinstance(name, str) and name:
                path = params_path(name, components, "synapse", who="edges", where=where)
                syn_json = read_synapse_json(str(path))
            self._models[name] = (syn_json, synapse_parameters(syn_json))
        return self._models[name]

    def _make_synapse(self, template: str, seg: Any, params: Mapping[str, float], where: str):
        h = self.h
        template = BMTK_SYNAPSE_NAMES.get(template, template)
        names = tuple(params)
        known = self._attributes.get((template, names))
        if known is None:
            if not hasattr(h, template):
                raise UnknownModelError(
                    f"NEURON has no synapse model {template!r} (edge model_template)", path=where
                )
            syn = getattr(h, template)(seg)
            known = tuple(key for key in names if hasattr(syn, key))
            self._attributes[(template, names)] = known
        else:
            syn = getattr(h, template)(seg)
        for key in known:
            setattr(syn, key, params[key])
        return syn

    def connect(
        self,
        table: EdgeTable,
        components: Mapping[str, Any],
        where: str,
        *,
        seed: tuple[int, int] = (0, 0),
        signed: np.ndarray | None = None,
    ) -> int:
        """Connect every edge of ``table`` whose target lives on this rank; return count.

        Rule-placed synapses draw from a generator seeded by ``seed`` and the target's gid,
        so placement does not depend on how cells are spread over MPI ranks. ``signed``
        (:func:`point_sign_mask`; ``None``: every edge) says which edges onto point-process
        cells take the synapse JSON's ``sign``.
        """
        from bmtoolkit.simulator.bionet.cells import BioCell

        props = {key: np.asarray(table.properties[key]) for key in table.properties}
        dyn = props.get("dynamics_params")
        templates = props.get("model_template")
        src_gids = self.layout.gids(table.source_population, table.source_ids).tolist()
        targets = np.asarray(table.target_ids).tolist()
        weights = np.asarray(table.weights, dtype=float).tolist()
        delays = np.asarray(table.delays, dtype=float).tolist()
        pop = table.target_population
        n_made = 0
        for i, target in enumerate(targets):
            cell = self.cells.get((pop, int(target)))
            if cell is None:
                continue
            syn_json, syn_params = self._synapse_model(
                dyn[i] if dyn is not None else None, components, where
            )
            src_gid, weight, delay = src_gids[i], weights[i], delays[i]
            if isinstance(cell, BioCell):
                template = templates[i] if templates is not None else None
                template = template if isinstance(template, str) and template else "Exp2Syn"
                sites, preselected = self._sites(cell, props, i, syn_json, seed, where)
                for sec, x in sites:
                    syn = self._make_synapse(template, sec(x), syn_params, where)
                    nc = self.pc.gid_connect(src_gid, syn)
                    # rule-placed: nsyns synapses of syn_weight each (table weight is the sum)
                    nc.weight[0] = weight if preselected else weight / len(sites)
                    nc.delay = delay
                    self.keep.extend((syn, nc))
                    n_made += 1
            else:
                signs = signed is None or bool(signed[i])
                sign = float(syn_json.get("sign", 1.0)) if signs else 1.0
                nc = self.pc.gid_connect(src_gid, cell.hobj)
                nc.weight[0] = weight * sign
                nc.delay = delay
                self.keep.append(nc)
                n_made += 1
        return n_made

    def _rng(self, cell: Any, seed: tuple[int, int]) -> np.random.Generator:
        key = (seed, cell.spec.population, cell.spec.node_id)
        if key not in self._rngs:
            gid = self.layout.gid(cell.spec.population, cell.spec.node_id)
            self._rngs[key] = np.random.default_rng([*seed, gid])
        return self._rngs[key]

    def _table(self, cell: Any, syn_json: Mapping[str, Any]) -> list[tuple[int, float]]:
        """The segment table of a placement rule, shared by cells of one morphology, model
        and ``dL`` (they have the same sections and segments)."""
        rule = _placement_rule(syn_json)
        spec = cell.spec
        if spec.morphology is None or str(spec.model_template or "").startswith("hoc:"):
            shape: Any = (spec.population, spec.node_id)  # a template may shape each cell
        else:
            shape = (str(spec.morphology), spec.model_template, spec.model_processing, spec.dL)
        key = (shape, rule)
        if key not in self._tables:
            self._tables[key] = segment_table(cell, *rule)
        return self._tables[key]

    def _sites(self, cell, props, i, syn_json, seed, where):
        """``([(section, x), ...], preselected)`` for edge ``i``."""
        for sid_col, x_col in (
            ("afferent_section_id", "afferent_section_pos"),
            ("sec_id", "sec_x"),
        ):
            if sid_col in props and x_col in props and not np.isnan(float(props[sid_col][i])):
                sec = cell.section(int(props[sid_col][i]), where)
                return [(sec, float(props[x_col][i]))], True
        nsyns = int(props["nsyns"][i]) if "nsyns" in props else 1
        rng = self._rng(cell, seed)
        table = self._table(cell, syn_json)
        return place_synapses(cell, max(nsyns, 1), rng, syn_json, table), False
