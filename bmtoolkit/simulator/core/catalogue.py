"""The model catalogue: a run's node type and edge type models, resolved once.

Every backend needs the same facts about a circuit's types tables: a node type's
``model_type``, ``model_template`` and ``dynamics_params`` (loaded from the right components
folder), an edge type's synapse model, parameters and ``weight_function``, and whether a
population is made of spike sources. :class:`ModelCatalogue` resolves them once per run
(``plan.catalogue``) into frozen records, so backends read records instead of types tables.

Rules kept here and nowhere else:

- **Empty cells** (:func:`is_empty`): ``None``, NaN (how pandas reads ``NULL``/``NONE`` and
  missing CSV fields) and ``""`` are no value; records hold ``None`` for them.
- **Components folders** (:data:`~bmtoolkit.sonata.components.COMPONENT_DIRS`,
  :func:`params_path`): a relative ``dynamics_params`` file name is looked up in the first
  folder of its kind that the config's ``components`` define; an absolute name is used as it
  is. The validator applies the same table.
- **Virtual populations** (:meth:`ModelCatalogue.is_virtual`): a population is simulated or
  made of spike sources (``model_type: virtual``), never both.

Examples
--------
>>> is_empty(float("nan")), is_empty(""), is_empty(0.0)
(True, True, False)
>>> cell_value(float("nan")) is None, cell_value("nest:iaf_psc_alpha")
(True, 'nest:iaf_psc_alpha')
>>> params_path("exc.json", {"point_neuron_models_dir": "/m"}, "point_process").as_posix()
'/m/exc.json'
>>> COMPONENT_DIRS["synapse"]
('synaptic_models_dir',)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.sonata.components import COMPONENT_DIRS, component_folders

if TYPE_CHECKING:
    from bmtoolkit.sonata.edges import EdgePopulation
    from bmtoolkit.sonata.nodes import NodePopulation

__all__ = [
    "COMPONENT_DIRS",
    "EdgeTypeModel",
    "ModelCatalogue",
    "NodeTypeModel",
    "cell_value",
    "component_folders",
    "is_empty",
    "load_json_params",
    "params_path",
    "weight_function_of",
    "split_template",
]


def is_empty(value: object) -> bool:
    """Whether a types-table or HDF5 cell holds no value: ``None``, NaN or ``""``.

    Examples
    --------
    >>> [is_empty(v) for v in (None, np.nan, np.float32("nan"), "", "0", 0)]
    [True, True, True, True, False, False]
    """
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, float | np.floating):
        return bool(np.isnan(value))
    return False


def cell_value(value: Any) -> Any:
    """``value``, or ``None`` where :func:`is_empty` says the cell holds nothing.

    Examples
    --------
    >>> cell_value(""), cell_value(2.5)
    (None, 2.5)
    """
    return None if is_empty(value) else value


def split_template(template: object) -> tuple[str | None, str | None]:
    """Split ``"nest:iaf_psc_alpha"`` into ``("nest", "iaf_psc_alpha")``.

    Examples
    --------
    >>> split_template("nest:iaf_psc_alpha"), split_template("Exp2Syn"), split_template(None)
    (('nest', 'iaf_psc_alpha'), (None, 'Exp2Syn'), (None, None))
    """
    if is_empty(template):
        return None, None
    text = str(template)
    if ":" not in text:
        return None, text
    prefix, name = text.split(":", 1)
    return prefix.strip().lower(), name.strip()


def params_path(
    name: str | os.PathLike[str],
    components: Mapping[str, Any],
    kind: str | None,
    *,
    who: str = "",
    where: str | os.PathLike[str] | None = None,
) -> Path:
    """Where the ``dynamics_params`` file ``name`` of a ``kind`` model lies (the one rule).

    Parameters
    ----------
    name : str or PathLike
        The file name from the types table (absolute names are returned as they are).
    components : Mapping
        The config's merged ``components`` (absolute folders).
    kind : str or None
        ``model_type`` of a node type, ``"synapse"`` or ``"filter"``.
    who, where : optional
        Named in the error: the type (``"node type 100 (point_process)"``) and the file.

    Raises
    ------
    ConfigError
        ``name`` is relative and ``components`` has none of the folders of ``kind``.

    Examples
    --------
    >>> comps = {"point_neuron_models_dir": "/p", "population_models_dir": "/q"}
    >>> params_path("a.json", comps, "population").as_posix()
    '/q/a.json'
    >>> params_path("/abs/a.json", {}, "biophysical").as_posix()
    '/abs/a.json'
    """
    path = Path(name)
    if path.is_absolute():
        return path
    keys = component_folders(kind)
    for key in keys:
        if key in components:
            return Path(components[key]) / path
    who = f"{who} " if who else ""
    raise ConfigError(
        f"{who}names dynamics_params file {str(name)!r} but components has no "
        f"{' or '.join(keys) or 'folder for it'}",
        path=where,
        field=f"components.{keys[0]}" if keys else "components",
    )


def load_json_params(
    path: Path, *, node_type: object = None, types_file: str | os.PathLike[str] | None = None
) -> dict:
    """Read a ``dynamics_params`` JSON file; errors name the type and the types file.

    Raises
    ------
    MissingFileError
        The file does not exist.
    ConfigError
        It is not valid JSON or not a JSON object.
    """
    who = f"node type {node_type}: " if node_type is not None else ""
    if not path.exists():
        raise MissingFileError(
            f"{who}dynamics_params file {str(path)!r} does not exist",
            path=types_file,
            field="dynamics_params",
        )
    try:
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{who}invalid JSON in dynamics_params file: {err}", path=path) from err
    if not isinstance(data, dict):
        raise ConfigError(f"{who}dynamics_params must be a JSON object", path=path)
    return data


@dataclass(frozen=True)
class NodeTypeModel:
    """One node type's model: template, parameters and where they came from.

    Examples
    --------
    >>> NodeTypeModel(100, "virtual", None).is_virtual
    True
    """

    node_type_id: int
    model_type: str | None
    model_template: str | None
    params: Mapping[str, Any] = field(default_factory=dict)
    params_file: Path | None = None
    types_file: Path | None = None

    @property
    def is_virtual(self) -> bool:
        """Whether nodes of this type are spike sources only."""
        return self.model_type == "virtual"


@dataclass(frozen=True)
class EdgeTypeModel:
    """One edge type's synapse: template, ``dynamics_params`` and ``weight_function``.

    Examples
    --------
    >>> et = EdgeTypeModel(7, "nest:tsodyks2_synapse", {"U": 0.5})
    >>> et.synapse_model, et.params["U"], et.weight_function
    ('tsodyks2_synapse', 0.5, None)
    >>> EdgeTypeModel(8, None).synapse_model is None
    True
    """

    edge_type_id: int
    model_template: str | None
    params: Mapping[str, Any] = field(default_factory=dict)
    params_file: Path | None = None
    weight_function: str | None = None
    types_file: Path | None = None

    @property
    def synapse_model(self) -> str | None:
        """The model name of ``model_template`` without its ``nest:`` prefix."""
        return split_template(self.model_template)[1]


def _row(types: Any, type_id: int) -> Mapping[str, Any]:
    """``{column: value}`` of one types-table row (empty when the id is not in the table)."""
    if type_id not in types.index:
        return {}
    row = types.loc[type_id]
    return {str(k): cell_value(v) for k, v in row.items()}


class ModelCatalogue:
    """Node type and edge type models of one run, each population resolved once.

    Built from the run's ``components`` and config file (``plan.catalogue`` builds it for a
    :class:`~bmtoolkit.simulator.core.plan.RunPlan`); records are frozen and cached by
    population name, so backends, preflight checks and recorders share one resolution.

    Examples
    --------
    >>> catalogue = plan.catalogue  # doctest: +SKIP
    >>> catalogue.node_types(plan.circuit.nodes["v1"])[100].params_file.name  # doctest: +SKIP
    'exc.json'
    >>> catalogue.is_virtual(plan.circuit.nodes["lgn"])  # doctest: +SKIP
    True
    """

    def __init__(self, components: Mapping[str, Any], config_path: Path | None = None) -> None:
        self.components: Mapping[str, Any] = MappingProxyType(dict(components))
        self.config_path = config_path
        self._nodes: dict[str, Mapping[int, NodeTypeModel]] = {}
        self._edges: dict[tuple[str, int], EdgeTypeModel] = {}

    # ------------------------------------------------------------------ nodes
    def node_types(self, population: NodePopulation) -> Mapping[int, NodeTypeModel]:
        """``{node_type_id: NodeTypeModel}`` of the node types ``population`` uses.

        Raises
        ------
        ConfigError
            Inline JSON that does not parse, or no components folder for a file name.
        MissingFileError
            A ``dynamics_params`` file does not exist (names the node type and types file).
        """
        name = population.name
        if name not in self._nodes:
            self._nodes[name] = MappingProxyType(self._resolve_nodes(population))
        return self._nodes[name]

    def _resolve_nodes(self, population: NodePopulation) -> dict[int, NodeTypeModel]:
        from bmtoolkit.simulator.core.models import present_types

        types = population.types
        types_file = population.types_path
        out: dict[int, NodeTypeModel] = {}
        for nt in present_types(population.node_type_ids()):
            nt = int(nt)
            row = _row(types, nt)
            model_type = None if row.get("model_type") is None else str(row["model_type"])
            template = None if row.get("model_template") is None else str(row["model_template"])
            dyn = row.get("dynamics_params")
            params: dict = {}
            params_file = None
            if dyn is not None and model_type != "virtual":
                if isinstance(dyn, str) and dyn.strip().startswith("{"):
                    try:
                        params = json.loads(dyn)
                    except ValueError as err:
                        raise ConfigError(
                            f"node type {nt}: invalid inline JSON: {err}",
                            path=types_file,
                            field="dynamics_params",
                        ) from err
                else:
                    params_file = params_path(
                        str(dyn),
                        self.components,
                        model_type,
                        who=f"node type {nt} ({model_type})",
                        where=self.config_path or types_file,
                    )
                    params = load_json_params(params_file, node_type=nt, types_file=types_file)
            out[nt] = NodeTypeModel(nt, model_type, template, params, params_file, types_file)
        return out

    def is_virtual(self, population: NodePopulation) -> bool:
        """Whether every node type of ``population`` is ``virtual`` (spike sources only).

        Raises
        ------
        ConfigError
            The population mixes virtual and non-virtual node types (backends need them in
            separate populations).
        """
        kinds = {m.is_virtual for m in self.node_types(population).values()}
        if len(kinds) > 1:
            raise ConfigError(
                f"population {population.name!r} mixes virtual and non-virtual node types; "
                "put the spike sources in a population of their own",
                path=population.types_path,
                field="model_type",
            )
        return kinds == {True}

    # ------------------------------------------------------------------ edges
    def edge_type(self, edges: EdgePopulation, edge_type_id: int) -> EdgeTypeModel:
        """The record of one edge type (resolved on first use; an empty record when the
        types table lacks the id). Its synapse ``dynamics_params`` file is looked up in
        ``synaptic_models_dir``.

        Raises
        ------
        ConfigError
            A file name but no ``synaptic_models_dir``, or a file that is not a JSON object.
        MissingFileError
            A synapse ``dynamics_params`` file does not exist (names the edge type).
        """
        key = (edges.name, int(edge_type_id))
        if key not in self._edges:
            self._edges[key] = self._resolve_edge(edges, int(edge_type_id))
        return self._edges[key]

    def _resolve_edge(self, edges: EdgePopulation, et: int) -> EdgeTypeModel:
        types_file = edges.types_path
        row = _row(edges.types, et)
        template = row.get("model_template")
        dyn = row.get("dynamics_params")
        params: dict = {}
        params_file = None
        if dyn is not None:
            params_file = params_path(
                str(dyn),
                self.components,
                "synapse",
                who=f"edge type {et}",
                where=self.config_path or types_file,
            )
            if not params_file.exists():
                raise MissingFileError(
                    f"edge type {et}: synapse dynamics_params file {str(params_file)!r} "
                    "does not exist",
                    path=types_file,
                    field="dynamics_params",
                )
            params = load_json_params(params_file, types_file=types_file)
        return EdgeTypeModel(
            et,
            None if template is None else str(template),
            params,
            params_file,
            weight_function_of(edges, et),
            types_file,
        )


def weight_function_of(edges: EdgePopulation, edge_type_id: int) -> str | None:
    """The ``weight_function`` named by an edge type's row (``None`` where there is none)."""
    types = edges.types
    if "weight_function" not in types.columns or edge_type_id not in types.index:
        return None
    value = cell_value(types.loc[edge_type_id, "weight_function"])
    return None if value is None else str(value)
