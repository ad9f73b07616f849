"""Synapses and connections on NEURON.

Targets that are detailed cells get a synapse point process per edge (``Exp2Syn`` and any
mechanism named by ``model_template``) at ``sec_id``/``sec_x`` (or
``afferent_section_id``/``afferent_section_pos``); without placement columns, ``nsyns``
synapses are placed by rule as BMTK places them (edge type ``target_sections`` and
``distance_range``, segments weighted by length, BMTK's random stream per cell: see
:mod:`~bmtoolkit.simulator.bionet.placement`).
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
import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import BmtkWarning, MissingFileError, SonataFormatError, UnknownModelError
from bmtoolkit.simulator.bionet.placement import PlacementRule, SegmentProps, placement_rule
from bmtoolkit.simulator.bionet.translations import SYNAPSE_PARAMETER_NAMES
from bmtoolkit.simulator.core.catalogue import params_path

if TYPE_CHECKING:
    from bmtoolkit.simulator.core.models import EdgeTable

__all__ = [
    "Connector",
    "point_sign_mask",
    "read_synapse_json",
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


#: edge columns the connector reads besides weights and delays: explicit synapse sites,
#: synapse models and the placement rule of rule-placed synapses
EDGE_COLUMNS: tuple[str, ...] = (
    "sec_id",
    "sec_x",
    "afferent_section_id",
    "afferent_section_pos",
    "dynamics_params",
    "model_template",
    "target_sections",
    "distance_range",
)


class Connector:
    """Creates synapses and NetCons for one edge population on this rank."""

    def __init__(
        self,
        h: Any,
        pc: Any,
        layout: Any,
        cells: Mapping[tuple[str, int], Any],
        seed_offsets: Mapping[str, int] | None = None,
    ):
        self.h = h
        self.pc = pc
        self.layout = layout
        self.cells = cells
        #: population -> offset of BMTK's gids (seeds of the placement streams)
        self.seed_offsets = dict(seed_offsets) if seed_offsets is not None else None
        self.keep: list[Any] = []
        self._rngs: dict[Any, np.random.RandomState] = {}
        self._props: dict[Any, SegmentProps] = {}
        self._rules: dict[Any, PlacementRule] = {}
        self._warned: set[Any] = set()
        #: ``(population, node_id) -> [(point process, NetCon, section, x), ...]`` of the
        #: synapses made onto detailed cells, in connection order (for netcon_report)
        self.synapses: dict[tuple[str, int], list[tuple[Any, Any, Any, float]]] = {}
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
        signed: np.ndarray | None = None,
    ) -> int:
        """Connect every edge of ``table`` whose target lives on this rank; return count.

        Rule-placed synapses draw from the target cell's stream (BMTK's: a
        ``RandomState`` seeded with its BMTK gid), so placement does not depend on how cells
        are spread over MPI ranks; call this for the edge populations in the order BMTK
        connects them (recurrent ones, then those of virtual sources). ``signed``
        (:func:`point_sign_mask`; ``None``: every edge) says which edges onto point-process
        cells take the synapse JSON's ``sign``. Table weights are connection totals (weight
        functions included, see :mod:`bmtoolkit.simulator.core.weight_functions`); each of
        the ``nsyns`` synapses gets ``total / nsyns``, BMTK's weight of one synapse.
        """
        from bmtoolkit.simulator.bionet.cells import BioCell
        from bmtoolkit.simulator.core.pyfunctions import find_synapse_model

        props = {key: np.asarray(table.properties[key]) for key in table.properties}
        dyn = props.get("dynamics_params")
        templates = props.get("model_template")
        src_gids = self.layout.gids(table.source_population, table.source_ids).tolist()
        targets = np.asarray(table.target_ids).tolist()
        weights_arr = np.asarray(table.weights, dtype=float)
        nsyns_arr = np.asarray(props.get("nsyns", np.ones(len(weights_arr))), dtype=float)
        # BMTK's weight of one synapse: syn_weight (or the weight function's value)
        per_syn = weights_arr.copy()
        scaled = nsyns_arr > 0
        per_syn[scaled] = weights_arr[scaled] / nsyns_arr[scaled]
        weights = per_syn.tolist()
        nsyns_list = nsyns_arr.tolist()
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
                sites, _ = self._sites(cell, props, i, syn_json, dyn, where)
                made = self.synapses.setdefault((pop, int(target)), [])
                for sec, x in sites:
                    user = find_synapse_model("bionet", template)
                    if user is not None:  # BMTK's synapse_model: fn(syn_params, sec_x, sec)
                        syn = user(dict(syn_json), x, sec)
                    else:
                        syn = self._make_synapse(template, sec(x), syn_params, where)
                    nc = self.pc.gid_connect(src_gid, syn)
                    nc.weight[0] = weight  # every synapse of the edge: one synapse's weight
                    nc.delay = delay
                    made.append((syn, nc, sec, float(x)))
                    n_made += 1
            else:
                signs = signed is None or bool(signed[i])
                # BMTK: a rule-placed edge onto a point process weighs sign * nsyns synapses
                factor = float(syn_json.get("sign", 1.0)) * nsyns_list[i] if signs else 1.0
                nc = self.pc.gid_connect(src_gid, cell.hobj)
                nc.weight[0] = weight * factor
                nc.delay = delay
                self.keep.append(nc)
                n_made += 1
        return n_made

    def _rng(self, cell: Any) -> np.random.RandomState:
        """The placement stream of a cell: BMTK's ``RandomState(gid)``, made once."""
        key = (cell.spec.population, cell.spec.node_id)
        if key not in self._rngs:
            if self.seed_offsets is not None and cell.spec.population in self.seed_offsets:
                gid = self.seed_offsets[cell.spec.population] + int(cell.spec.node_id)
            else:
                gid = self.layout.gid(cell.spec.population, cell.spec.node_id)
            self._rngs[key] = np.random.RandomState(gid)
        return self._rngs[key]

    def _segment_props(self, cell: Any) -> SegmentProps:
        """The segment table of a cell, shared by cells of one morphology, model and ``dL``
        (they have the same sections and segments)."""
        from bmtoolkit.simulator.bionet.placement import segment_props

        spec = cell.spec
        if spec.morphology is None or str(spec.model_template or "").startswith("hoc:"):
            shape: Any = (spec.population, spec.node_id)  # a template may shape each cell
        else:
            shape = (
                str(spec.morphology),
                spec.model_template,
                spec.model_processing,
                spec.dL,
                spec.point_digits,
            )
        if shape not in self._props:
            self._props[shape] = segment_props(cell.sections, cell.soma)
        return self._props[shape]

    def _rule(self, props: Mapping[str, Any], i: int, syn_json: Any, dyn: Any, where: str):
        """The placement rule of edge ``i`` (parsed once per distinct column values)."""
        sections = props["target_sections"][i] if "target_sections" in props else None
        drange = props["distance_range"][i] if "distance_range" in props else None
        key = (str(sections), str(drange), None if dyn is None else str(dyn[i]))
        rule = self._rules.get(key)
        if rule is None:
            rule = placement_rule(sections, drange, syn_json, where)
            self._rules[key] = rule
        return rule

    def _sites(self, cell, props, i, syn_json, dyn, where):
        """``([(section, x), ...], preselected)`` for edge ``i``."""
        for sid_col, x_col in (
            ("afferent_section_id", "afferent_section_pos"),
            ("sec_id", "sec_x"),
        ):
            if sid_col in props and x_col in props and not np.isnan(float(props[sid_col][i])):
                sec = cell.section(int(props[sid_col][i]), where)
                return [(sec, float(props[x_col][i]))], True
        nsyns = int(props["nsyns"][i]) if "nsyns" in props else 1
        if nsyns < 1:
            return [], False
        rule = self._rule(props, i, syn_json, dyn, where)
        seg_props = self._segment_props(cell)
        ix, prob = seg_props.find(rule.sections, rule.distance_range)
        if len(ix) == 0:
            key = (where, rule)
            if key not in self._warned:
                self._warned.add(key)
                warnings.warn(
                    f"{where}: no segment of node {cell.spec.node_id} "
                    f"({cell.spec.population}) in sections {list(rule.sections)} within "
                    f"{rule.distance_range[0]}-{rule.distance_range[1]} um; its synapses of "
                    "this rule are left out (as BMTK does)",
                    BmtkWarning,
                    stacklevel=3,
                )
            return [], False
        picks = self._rng(cell).choice(ix, nsyns, p=prob)
        sections = cell.sections
        return [(sections[seg_props.sec_id[k]], float(seg_props.x[k])) for k in picks], False
