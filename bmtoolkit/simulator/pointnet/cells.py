"""NEST neurons from SONATA node populations.

For every node type of a population the model comes from ``model_template``
(``nest:<model>``, any model NEST knows) and the parameters from the node type's
``dynamics_params`` JSON (under ``point_neuron_models_dir``), overridden node by node by the
HDF5 ``dynamics_params`` group. Allen Cell Types ``neuron_config`` files and NEST 2 GLIF
names are translated by :mod:`bmtoolkit.models.allen_glif`. Virtual nodes
become ``spike_generator`` devices.

Nodes of one population are created type by type with one ``nest.Create`` call each
(per-node parameter arrays included); :class:`NestPopulation` keeps the SONATA id -> NEST id
map both ways as arrays.

Examples
--------
>>> resolve_nest_model("nest:glif_lif_asc_psc", {"k": [0.1]})[0]
'glif_psc'
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bmtoolkit.exceptions import BmtkError, ConfigError, UnknownModelError
from bmtoolkit.models.allen_glif import nest_point_params, with_asc_state
from bmtoolkit.simulator.core.models import (
    NodeTypeModel,
    node_dynamics,
    node_type_models,
    split_template,
)
from bmtoolkit.simulator.core.pyfunctions import find_cell_model
from bmtoolkit.simulator.core.registries import CELL_MODELS
from bmtoolkit.sonata.validation import Problem


@dataclass
class NestPopulation:
    """NEST nodes of one SONATA population.

    Attributes
    ----------
    name : str
        Population name.
    nest_ids : np.ndarray
        NEST node id of each SONATA node id (0 where not created).
    virtual : bool
        Whether the nodes are spike generators.
    models : dict
        NEST model of each node type.
    """

    name: str
    size: int
    virtual: bool
    nest_ids: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    models: dict[int, str] = field(default_factory=dict)
    #: NEST ids used as sources of edges: ``parrot_neuron`` relays of virtual nodes whose
    #: edges use plastic synapses (NEST devices only drive static synapses), else ``nest_ids``
    relay_ids: np.ndarray | None = None
    #: ms subtracted from input spike times so relayed spikes keep their timing
    spike_time_shift: float = 0.0

    @property
    def source_ids(self) -> np.ndarray:
        """NEST ids to connect edges from."""
        return self.nest_ids if self.relay_ids is None else self.relay_ids

    def add_relays(self, delay: float, *, keep_times: bool = True) -> None:
        """Relay the generators through ``parrot_neuron`` nodes connected with ``delay``
        (ms), which the input spike times make up for when ``keep_times`` (else the relayed
        spikes arrive ``delay`` later, as with BMTK's ``use_parrot_neurons``)."""
        import nest

        if self.relay_ids is not None or not self.virtual or self.size == 0:
            return
        self.relay_ids = created_ids(nest.Create("parrot_neuron", self.size))
        nest.Connect(
            self.nest_ids,
            self.relay_ids,
            "one_to_one",
            syn_spec={"delay": np.full(self.size, float(delay))},
        )
        self.spike_time_shift = float(delay) if keep_times else 0.0

    def sonata_ids(self, nest_ids: np.ndarray) -> np.ndarray:
        """SONATA node ids of NEST node ids (which must belong to this population)."""
        order = np.argsort(self.nest_ids, kind="stable")
        pos = np.searchsorted(self.nest_ids, nest_ids, sorter=order)
        return order[pos]

    def collection(self, ids: np.ndarray | None = None) -> Any:
        """A NEST ``NodeCollection`` of the given SONATA ids (all when ``None``)."""
        import nest

        sel = self.nest_ids if ids is None else self.nest_ids[np.asarray(ids, dtype=np.int64)]
        sel = np.asarray(sel, dtype=np.int64)
        if len(sel) and np.all(np.diff(sel) == 1):
            return nest.NodeCollection(list(range(int(sel[0]), int(sel[-1]) + 1)))
        return nest.NodeCollection(sorted(set(sel.tolist())))


def created_ids(nodes: Any) -> np.ndarray:
    """NEST ids of the ``NodeCollection`` one ``nest.Create`` call returned, as int64.

    ``Create`` returns consecutive ids, so the first and last id give them all
    (``NodeCollection.tolist`` asks NEST for each node's status instead: ~0.15 s for 16k
    nodes). A collection with gaps (e.g. from a registered cell creator) is listed.

    Examples
    --------
    >>> created_ids(nest.Create("iaf_psc_alpha", 3))  # doctest: +SKIP
    array([1, 2, 3])
    """
    n = len(nodes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    first = int(nodes[0].get("global_id"))
    last = int(nodes[n - 1].get("global_id"))
    if last - first + 1 != n:
        return np.asarray(nodes.tolist(), dtype=np.int64)
    return np.arange(first, first + n, dtype=np.int64)


def resolve_nest_model(template: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """NEST model name and NEST-ready parameters of a ``nest:<model>`` template.

    The parameters go through :func:`bmtoolkit.models.allen_glif.nest_point_params`: Allen
    ``neuron_config`` parameters are translated to ``glif_psc``/``glif_cond``; NEST 2
    ``glif_lif_*`` names map to ``glif_psc``/``glif_cond`` with the level's flags.

    Examples
    --------
    >>> resolve_nest_model("nest:iaf_psc_alpha", {"V_th": -50.0, "comment": "x"})
    ('iaf_psc_alpha', {'V_th': -50.0})
    """
    _, model = split_template(template)
    if model is None:
        raise ConfigError("empty model_template")
    return nest_point_params(model, params)


_KNOWN_MODELS: dict[str, frozenset[str]] = {}


def known_models(kind: str, model: str | None = None) -> frozenset[str]:
    """NEST's ``node_models`` or ``synapse_models`` (each query of the kernel is slow, so the
    list is kept and refreshed only when ``model`` is not in it)."""
    import nest

    names = _KNOWN_MODELS.get(kind)
    if names is None or (model is not None and model not in names):
        names = frozenset(getattr(nest, f"{kind}_models"))
        _KNOWN_MODELS[kind] = names
    return names


def _check_model(model: str, nt: NodeTypeModel) -> None:
    models = known_models("node", model)
    if model not in models:
        close = difflib.get_close_matches(model, sorted(models), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"node type {nt.node_type_id}: NEST has no neuron model {model!r}{hint}",
            path=nt.types_file,
            field="model_template",
        )


def _kind(value: Any) -> str | None:
    """What a NEST parameter holds, judged by its default: ``number``, ``boolean`` ..."""
    if isinstance(value, bool | np.bool_):
        return "boolean"
    if isinstance(value, int | float | np.number):
        return "number"
    if isinstance(value, list | tuple | np.ndarray):
        return "list of numbers"
    return "string" if isinstance(value, str) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def _fits(value: Any, kind: str) -> bool:
    if kind == "number":
        return _is_number(value)
    if kind == "boolean":
        return isinstance(value, bool | np.bool_) or (_is_number(value) and value in (0, 1))
    if kind == "list of numbers":
        items = np.asarray(value, dtype=object).ravel() if not _is_number(value) else [value]
        return not isinstance(value, str | Mapping) and all(_is_number(v) for v in items)
    return isinstance(value, str)


def _check_params(
    model: str, params: Mapping[str, Any], nt: NodeTypeModel, source: Any, types: bool = True
) -> None:
    import nest

    defaults = nest.GetDefaults(model)
    accepted = set(defaults)
    bad = sorted(set(params) - accepted)
    if bad:
        hints = []
        for name in bad:
            close = difflib.get_close_matches(name, sorted(accepted), n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError(
            f"node type {nt.node_type_id}: NEST model {model!r} does not accept parameter(s) "
            f"{', '.join(hints)}",
            path=source,
            field="dynamics_params",
        )
    for name, value in params.items() if types else ():
        kind = _kind(defaults[name])
        if kind is not None and not _fits(value, kind):
            raise ConfigError(
                f"node type {nt.node_type_id}: NEST model {model!r} expects a {kind} for "
                f"{name!r}, got {value!r}",
                path=source,
                field=f"dynamics_params.{name}",
            )


def _nest_value(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_node_types(plan: Any) -> list[Problem]:
    """Model names, parameter names and parameter types of every NEST node type of ``plan``.

    What :func:`create_nest_nodes` checks, without creating anything (``bmtoolkit validate``
    runs it through the backend's preflight). Empty when NEST is not installed.

    Examples
    --------
    >>> check_node_types(plan)  # doctest: +SKIP
    []
    """
    try:
        import nest  # noqa: F401 - only to know whether the checks can run
    except ImportError:
        return []
    from bmtoolkit.simulator.core.preflight import problem_from_error

    problems: list[Problem] = []
    for pop in plan.circuit.nodes.values():
        for nt in node_type_models(plan, pop).values():
            if nt.is_virtual or split_template(nt.model_template)[0] != "nest":
                continue
            try:
                model, params = resolve_nest_model(str(nt.model_template), nt.params)
                _check_model(model, nt)
                _check_params(model, params, nt, nt.params_file or nt.types_file)
            except BmtkError as err:
                problems.append(problem_from_error(err))
    return problems


@CELL_MODELS.register("pointnet:nest")
def create_nest_nodes(
    population: Any, ids: np.ndarray, nt: NodeTypeModel, node_overrides: Any
) -> tuple[str, Any]:
    """Create the nodes ``ids`` of one node type; return the model and the NodeCollection."""
    import nest

    model, params = with_asc_state(*resolve_nest_model(str(nt.model_template), nt.params))
    _check_model(model, nt)
    source = nt.params_file or nt.types_file
    _check_params(model, params, nt, source)
    per_node: dict[str, Any] = {}
    if node_overrides is not None and len(node_overrides.columns):
        sub = node_overrides.loc[ids]
        _check_params(model, dict.fromkeys(sub.columns, 0), nt, population.h5_path, False)
        for col in sub.columns:
            vals = sub[col].to_numpy()
            if vals.dtype.kind == "f" and np.isnan(vals).all():
                continue
            per_node[col] = vals
    nodes = nest.Create(model, len(ids))
    if params:
        try:
            nodes.set({k: _nest_value(v) for k, v in params.items()})
        except nest.NESTError as err:
            raise ConfigError(
                f"node type {nt.node_type_id}: NEST rejected parameters for {model!r}: {err}",
                path=source,
                field="dynamics_params",
            ) from err
    for col, vals in per_node.items():
        base = params.get(col, nest.GetDefaults(model)[col])
        filled = (
            np.where(np.isnan(vals.astype(float)), base, vals) if vals.dtype.kind == "f" else vals
        )
        try:
            nodes.set({col: [_nest_value(v) for v in filled]})
        except nest.NESTError as err:
            raise ConfigError(
                f"node type {nt.node_type_id}: NEST rejected per-node {col!r}: {err}",
                path=population.h5_path,
                field=f"dynamics_params/{col}",
            ) from err
    return model, nodes


def _user_nodes(user: Any, population: Any, ids: np.ndarray, nt: NodeTypeModel) -> tuple[str, Any]:
    """Nodes of one node type made by a user ``cell_model`` function, called as BMTK's
    PointNet calls it: ``fn(nodes, model_name, dynamics_params)`` with ``nodes`` giving
    ``n_nodes``, ``node_ids`` and ``nodes["<property>"]`` arrays of the batch."""
    from bmtoolkit.simulator.core.pyfunctions import NodeView

    model = str(nt.model_template or "").partition(":")[2]
    values: dict[str, Any] = {
        "n_nodes": len(ids),
        "node_ids": ids,
        "node_id": ids,
        "node_type_id": np.full(len(ids), nt.node_type_id),
        "model_template": nt.model_template,
        "model_type": nt.model_type,
        "dynamics_params": dict(nt.params),
        "population": population.name,
    }
    for name in population.property_names:
        values.setdefault(name, np.asarray(population.column(name, ids)))
    nodes = user(NodeView(values), model, dict(nt.params))
    n = len(created_ids(nodes)) if nodes is not None else 0
    if n != len(ids):
        raise ConfigError(
            f"node type {nt.node_type_id}: the cell_model function {user.__name__!r} returned "
            f"{n} NEST nodes for {len(ids)} nodes; expected a NodeCollection of {len(ids)}",
            path=nt.types_file,
            field="model_template",
        )
    return model, nodes


def create_population(
    population: Any,
    models: Mapping[int, NodeTypeModel],
    *,
    virtual: bool,
    generator_params: Mapping[str, Any] | None = None,
) -> NestPopulation:
    """Create every node of ``population`` in NEST (spike generators with
    ``generator_params``, default ``{"precise_times": True}`` as BMTK, when ``virtual``)."""
    import nest

    size = int(population.size)
    out = NestPopulation(population.name, size, virtual, np.zeros(size, dtype=np.int64))
    if size == 0:
        return out
    if virtual:
        params = dict(generator_params or {"precise_times": True})
        gens = nest.Create("spike_generator", size, params=params)
        out.nest_ids[:] = created_ids(gens)
        return out
    node_types = population.node_type_ids()
    overrides = node_dynamics(population, np.arange(size))
    for nt_id, nt in models.items():
        prefix, _ = split_template(nt.model_template)
        if prefix is None:
            raise UnknownModelError(
                f"node type {nt_id}: model_template {nt.model_template!r} is not of the form "
                "'nest:<model>'",
                path=nt.types_file,
                field="model_template",
            )
        ids = np.flatnonzero(node_types == nt_id)
        user = find_cell_model("pointnet", nt.model_template, nt.model_type)
        if user is not None:  # a BMTK cell_model function: fn(nodes, model, params)
            model, nodes = _user_nodes(user, population, ids, nt)
        else:
            creator = CELL_MODELS.get(f"pointnet:{prefix}")
            model, nodes = creator(population, ids, nt, overrides)
        out.nest_ids[ids] = created_ids(nodes)
        out.models[nt_id] = model
    return out
