"""One ``add_edges`` call: who connects to whom, by which rule, with which properties.

:class:`EdgeSet` is what ``NetworkBuilder.add_edges`` returns (BMTK's ``ConnectionMap``): call
:meth:`EdgeSet.add_properties` on it to give every edge its own values. As in BMTK, an edge set
without per-edge properties is stored one row per connected pair with an ``nsyns`` column; once
properties are added, it is stored one row per synapse.

Examples
--------
>>> from bmtoolkit.builder import NetworkBuilder
>>> net = NetworkBuilder("v1")
>>> net.add_nodes(N=3, ei="e")
>>> es = net.add_edges(source={"ei": "e"}, target={"ei": "e"}, connection_rule=2, delay=1.5)
>>> es.add_properties("syn_weight", rule=lambda s, t: 0.1 * s.node_id, dtypes=float)
>>> es.property_names
['syn_weight']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.builder.properties import PropertyRule, ValueList, make_property_rule
from bmtoolkit.builder.rules.base import ConnectionRule
from bmtoolkit.builder.selectors import NodeSelection
from bmtoolkit.exceptions import ConfigError


@dataclass(frozen=True)
class PropertySpec:
    """One ``add_properties`` call."""

    names: tuple[str, ...]
    rule: PropertyRule
    dtypes: tuple[Any, ...]


class EdgeSet:
    """Edges between two node selections (see the module docstring).

    Parameters
    ----------
    source, target : NodeSelection
        Pre- and post-synaptic nodes.
    rule : ConnectionRule
        Makes the connections.
    edge_type_id : int
        Edge type of every edge of the set.
    type_properties : Mapping
        Edge type columns (edge types CSV).
    """

    def __init__(
        self,
        source: NodeSelection,
        target: NodeSelection,
        rule: ConnectionRule,
        edge_type_id: int,
        type_properties: Mapping[str, Any],
    ) -> None:
        self.source = source
        self.target = target
        self.rule = rule
        self.edge_type_id = int(edge_type_id)
        self.type_properties = dict(type_properties)
        self.properties: list[PropertySpec] = []

    @property
    def source_network_name(self) -> str:
        """Source population."""
        return self.source.network_name

    @property
    def target_network_name(self) -> str:
        """Target population."""
        return self.target.network_name

    @property
    def property_names(self) -> list[str]:
        """Per-edge properties added with :meth:`add_properties`."""
        return [n for spec in self.properties for n in spec.names]

    @property
    def edge_type_properties(self) -> dict[str, Any]:
        """The edge type row: id, BMTK-style queries and the type properties."""
        return {
            "edge_type_id": self.edge_type_id,
            "target_query": self.target.filter_str,
            "source_query": self.source.filter_str,
            **self.type_properties,
        }

    def add_properties(
        self,
        names: str | Sequence[str],
        rule: Any = None,
        rule_params: Mapping[str, Any] | None = None,
        values: Any = None,
        dtypes: Any = None,
    ) -> None:
        """Give each edge (synapse) its own value of ``names``.

        Parameters
        ----------
        names : str or list of str
            Property name(s); a rule for several names returns a tuple per edge.
        rule : PropertyRule, str, callable or scalar
            A property rule, a registered rule name (with ``rule_params``), a BMTK-style
            ``func(source, target, **rule_params)``, or a constant.
        rule_params : Mapping, optional
            Parameters of a named rule or callable.
        values : scalar or sequence, optional
            Alternative to ``rule``: a constant, or one value per edge (per synapse) in the
            order BMTK's builder makes the edges (:class:`~bmtoolkit.builder.properties.ValueList`);
            a list of the wrong length is refused when the network is built.
        dtypes : dtype or list of dtypes, optional
            Storage types (default: inferred).

        Raises
        ------
        ConfigError
            If both or neither of ``rule`` and ``values`` are given, a name is repeated, or
            the dtypes do not match the names.
        """
        if (rule is None) == (values is None):
            raise ConfigError("add_properties needs exactly one of 'rule' and 'values'")
        name_list = [names] if isinstance(names, str) else list(names)
        if values is not None:
            if isinstance(values, (list, tuple, np.ndarray)):
                # one value per edge in BMTK's build order (see ValueList)
                values = ValueList(values, len(name_list))
            rule = values
        for name in name_list:
            if name in self.property_names or name in ("nsyns", "edge_type_id"):
                raise ConfigError(f"edge property {name!r} is already set", field=name)
        if dtypes is None:
            dtype_list: list[Any] = [None] * len(name_list)
        elif isinstance(dtypes, (list, tuple)):
            dtype_list = list(dtypes)
        else:
            dtype_list = [dtypes]
        if len(dtype_list) != len(name_list):
            raise ConfigError(f"{len(dtype_list)} dtypes given for {len(name_list)} names")
        prop_rule = make_property_rule(rule, rule_params, name_list)
        n_values = getattr(prop_rule, "n_values", None)
        if n_values is not None and n_values != len(name_list):
            raise ConfigError(
                f"{type(prop_rule).__name__} sets {n_values} properties; "
                f"{len(name_list)} names given: {name_list}"
            )
        for_edge_type = getattr(prop_rule, "for_edge_type", None)
        if for_edge_type is not None:
            # rules may take defaults from edge-type columns (BMTK's target_sections, ...)
            prop_rule = for_edge_type(self.type_properties)
        self.properties.append(PropertySpec(tuple(name_list), prop_rule, tuple(dtype_list)))

    def __repr__(self) -> str:
        return (
            f"EdgeSet({self.source_network_name}->{self.target_network_name}, "
            f"type {self.edge_type_id}, {type(self.rule).__name__})"
        )
