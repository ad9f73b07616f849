"""Node sets: named selections of nodes, resolved to ``{population: sorted node ids}``.

A node set rule is one of

- a **name**: a set of the node sets file, ``"all"`` (every node), or the name of a
  population (all its nodes), as BMTK provides implicitly;
- a **dict** (basic rule): keys are ANDed; ``population``/``populations`` (a name or a list)
  restrict the populations, ``node_id`` (an id or a list; BMTK's older ``gids`` means the
  same) restricts the ids, any other key is a node attribute read from the HDF5 groups and
  the node types CSV (HDF5 wins). An attribute value is a scalar (equality), a list (any
  of them), or a dict of operators ``$regex`` (full match), ``$gt``, ``$lt``, ``$gte``,
  ``$lte`` (all must hold), as in libsonata;
- a **list of names** (compound rule: the union of those sets, recursively), as in the spec;
- a **list of integers**: node ids in every population (BMTK's id lists).

A population that does not have an attribute named by a rule contributes no nodes; a rule
naming an attribute no candidate population has is an error, so typos do not pass silently.

Examples
--------
>>> import numpy as np
>>> class Pop:  # any object with ``size``, ``property_names`` and ``column(name)``
...     def __init__(self, size, **cols):
...         self.size, self.cols = size, {k: np.asarray(v) for k, v in cols.items()}
...         self.property_names = list(cols)
...     def column(self, name):
...         return self.cols[name]
>>> net = {"v1": Pop(4, ei=["e", "i", "e", "i"]), "lgn": Pop(2, ei=["e", "e"])}
>>> sets = NodeSets({"exc": {"ei": "e"}, "both": ["exc", "lgn"]})
>>> {k: v.tolist() for k, v in sets.resolve("exc", net).items()}
{'v1': [0, 2], 'lgn': [0, 1]}
>>> {k: v.tolist() for k, v in sets.resolve({"population": "v1", "node_id": [3, 1]}, net).items()}
{'v1': [1, 3]}
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, UnknownModelError

if TYPE_CHECKING:
    from bmtoolkit.sonata.circuit import Circuit
    from bmtoolkit.sonata.nodes import NodePopulation

__all__ = ["NodeSets"]

_POPULATION_KEYS = ("population", "populations")
_ID_KEYS = ("node_id", "node_ids", "gids")
_OPERATORS = ("$regex", "$gt", "$lt", "$gte", "$lte")


def _populations_of(circuit: Circuit | Mapping[str, NodePopulation]) -> Mapping[str, Any]:
    nodes = getattr(circuit, "nodes", circuit)
    if not isinstance(nodes, Mapping):
        raise ConfigError(
            f"expected a Circuit or a mapping of node populations, got {type(circuit).__name__}"
        )
    return nodes


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


class NodeSets:
    """The node sets of a config (file or mapping) and their resolution against a network.

    Parameters
    ----------
    mapping : mapping
        ``{name: rule}`` as in a node sets JSON file.
    path : path-like, optional
        The file the sets come from, named in error messages.

    Examples
    --------
    >>> NodeSets({"exc": {"ei": "e"}}).names
    ['exc']
    """

    def __init__(
        self, mapping: Mapping[str, Any] | None = None, *, path: str | os.PathLike | None = None
    ):
        self.path = Path(path) if path is not None else None
        self._sets: dict[str, Any] = dict(mapping or {})
        for name, rule in self._sets.items():
            if rule is None or not isinstance(rule, Mapping | list | str | int):
                raise ConfigError(
                    f"a node set must be an object, a list or a name, got {rule!r}",
                    path=self.path,
                    field=name,
                )

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> NodeSets:
        """Read a node sets JSON file.

        Raises
        ------
        MissingFileError, ConfigError
        """
        from bmtoolkit.sonata.schemas import read_json

        return cls(read_json(path), path=path)

    @property
    def names(self) -> list[str]:
        """Names defined explicitly (not the implicit ``all`` and population names)."""
        return list(self._sets)

    def __contains__(self, name: object) -> bool:
        return name in self._sets

    def __getitem__(self, name: str) -> Any:
        return self._sets[name]

    def __len__(self) -> int:
        return len(self._sets)

    def merged(self, other: NodeSets) -> NodeSets:
        """A new :class:`NodeSets` with ``other``'s definitions overriding these."""
        return NodeSets({**self._sets, **other._sets}, path=other.path or self.path)

    def is_defined(self, spec: Any, population_names: Sequence[str] = ()) -> bool:
        """Whether a node set name is known (explicit, ``all`` or a population name).

        Inline rules (dicts and lists) count as defined when every name they use is.
        """
        if isinstance(spec, str):
            return spec in self._sets or spec == "all" or spec in population_names
        if isinstance(spec, list):
            return all(self.is_defined(s, population_names) for s in spec if isinstance(s, str))
        return isinstance(spec, Mapping)

    def resolve(
        self, spec: Any, circuit: Circuit | Mapping[str, NodePopulation]
    ) -> dict[str, np.ndarray]:
        """Resolve a node set to ``{population: sorted unique int64 node ids}``.

        Parameters
        ----------
        spec : str, dict or list
            A node set name, an inline rule, a list of names or a list of node ids.
        circuit : Circuit or mapping
            A :class:`~bmtoolkit.sonata.circuit.Circuit` or ``{name: NodePopulation}``.

        Returns
        -------
        dict
            Only populations with at least one selected node appear.

        Raises
        ------
        UnknownModelError
            A name is neither a node set nor ``all`` nor a population.
        ConfigError
            A malformed rule, a cycle, or an attribute no candidate population has.
        """
        pops = _populations_of(circuit)
        selected = self._resolve(spec, pops, ())
        return {name: ids for name, ids in selected.items() if ids.size}

    # ------------------------------------------------------------------------------------
    def _resolve(self, spec: Any, pops: Mapping[str, Any], stack: tuple[str, ...]):
        if isinstance(spec, str):
            return self._resolve_name(spec, pops, stack)
        if isinstance(spec, Mapping):
            return self._resolve_rule(spec, pops, stack[-1] if stack else "(inline)")
        if isinstance(spec, list | tuple):
            if spec and all(
                isinstance(s, int | np.integer) and not isinstance(s, bool) for s in spec
            ):
                ids = np.unique(np.asarray(spec, dtype=np.int64))
                return {name: ids[(ids >= 0) & (ids < pop.size)] for name, pop in pops.items()}
            if all(isinstance(s, str) for s in spec):
                out: dict[str, np.ndarray] = {}
                for sub in spec:
                    for name, ids in self._resolve_name(sub, pops, stack).items():
                        out[name] = np.union1d(out.get(name, ids[:0]), ids)
                return out
        raise ConfigError(
            f"a node set must be a name, an object, a list of names or a list of node ids; "
            f"got {spec!r}",
            path=self.path,
            field=stack[-1] if stack else None,
        )

    def _resolve_name(self, name: str, pops: Mapping[str, Any], stack: tuple[str, ...]):
        if name in stack:
            cycle = " -> ".join((*stack[stack.index(name) :], name))
            raise ConfigError(f"node sets refer to each other in a cycle: {cycle}", path=self.path)
        if name in self._sets:
            return self._resolve(self._sets[name], pops, (*stack, name))
        if name == "all":
            return {p: np.arange(pop.size, dtype=np.int64) for p, pop in pops.items()}
        if name in pops:
            return {name: np.arange(pops[name].size, dtype=np.int64)}
        known = sorted({*self._sets, "all", *pops})
        raise UnknownModelError(
            f"unknown node set {name!r}; known: {', '.join(known)}", path=self.path
        )

    def _resolve_rule(self, rule: Mapping[str, Any], pops: Mapping[str, Any], where: str):
        candidates = list(pops)
        for key in _POPULATION_KEYS:
            if key in rule:
                wanted = [str(v) for v in _as_list(rule[key])]
                candidates = [p for p in candidates if p in wanted]
        id_keys = [k for k in _ID_KEYS if k in rule]
        attrs = {k: v for k, v in rule.items() if k not in _POPULATION_KEYS and k not in id_keys}
        missing = [a for a in attrs if not any(a in pops[p].property_names for p in candidates)]
        if missing and candidates:
            raise ConfigError(
                f"attribute(s) {missing} are not properties of population(s) {candidates}",
                path=self.path,
                field=where,
            )
        out = {}
        for name in candidates:
            pop = pops[name]
            mask = np.ones(pop.size, dtype=bool)
            for key in id_keys:
                ids = np.asarray(_as_list(rule[key]), dtype=np.int64)
                outside = ids[(ids < 0) | (ids >= pop.size)]
                # ids meant for one population (named, or the only one) must lie in it
                single = any(k in rule for k in _POPULATION_KEYS) or len(pops) == 1
                if outside.size and single and len(candidates) == 1:
                    raise ConfigError(
                        f"{key} {outside[:10].tolist()} outside population {name!r} "
                        f"(ids 0..{pop.size - 1})",
                        path=self.path,
                        field=f"{where}.{key}" if where else key,
                    )
                keep = np.zeros(pop.size, dtype=bool)
                keep[ids[(ids >= 0) & (ids < pop.size)]] = True
                mask &= keep
            for attr, expected in attrs.items():
                if attr not in pop.property_names:
                    mask[:] = False
                    break
                mask &= _match(pop.column(attr), expected, attr, self.path, where)
            out[name] = np.flatnonzero(mask).astype(np.int64)
        return out


def _match(values: np.ndarray, expected: Any, attr: str, path, where: str) -> np.ndarray:
    """Boolean mask of ``values`` satisfying one attribute clause."""
    if isinstance(expected, Mapping):
        mask = np.ones(len(values), dtype=bool)
        for op, operand in expected.items():
            if op not in _OPERATORS:
                raise ConfigError(
                    f"unknown operator {op!r} for attribute {attr!r}; known: {_OPERATORS}",
                    path=path,
                    field=where,
                )
            if op == "$regex":
                codes, texts = _texts(values)
                pattern = re.compile(str(operand))
                hits = np.array([pattern.fullmatch(t) is not None for t in texts], dtype=bool)
                mask &= hits[codes]
                continue
            numeric = np.asarray(values, dtype=np.float64)
            compare = {
                "$gt": np.greater,
                "$lt": np.less,
                "$gte": np.greater_equal,
                "$lte": np.less_equal,
            }[op]
            mask &= compare(numeric, float(operand))
        return mask
    if expected is None:
        raise ConfigError(f"null is not a valid value for {attr!r}", path=path, field=where)
    options = _as_list(expected)
    mask = np.zeros(len(values), dtype=bool)
    if values.dtype.kind in "biuf":
        numbers = [o for o in options if isinstance(o, int | float) or _is_number(o)]
        if numbers:
            mask |= np.isin(values.astype(np.float64), np.asarray(numbers, dtype=np.float64))
        return mask
    wanted = {_text(o) for o in options}
    codes, texts = _texts(values)
    return np.array([t in wanted for t in texts], dtype=bool)[codes]


#: columns up to this length are factorized without pandas
_SMALL = 20_000


def _texts(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(code per value, text of each distinct value): rules are evaluated once per distinct
    value, since columns mostly repeat type-level values."""
    values = np.asarray(values, dtype=object)
    if values.size <= _SMALL:
        uniques: dict[Any, int] = {}
        codes = np.fromiter((uniques.setdefault(v, len(uniques)) for v in values.tolist()), np.intp)
        return codes, [_text(u) for u in uniques]
    import pandas as pd  # its hash table factorizes large object columns fastest

    codes, found = pd.factorize(values, use_na_sentinel=False)
    return codes, [_text(u) for u in found]


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
