"""Cell networks clustered into population networks (the multi-resolution workflow).

BMTK simulates a network built for BioNet or PointNet at the population level by grouping its
cells into populations (its DiPDE popnet groups nodes by ``node_type_id``). Here the grouping
is explicit: :func:`cluster_circuit` reads a cell-level SONATA circuit, groups every node
population's cells by a property (``node_type_id``, ``pop_name``, ``model_type`` ...) and
writes a population-level circuit that ``bmtoolkit run`` simulates with popnet:

- one node per group, in a node population of the same name: ``model_type`` ``population``
  (``virtual`` when every cell of the group is virtual), ``model_template``
  ``dipde:Internal``, ``dynamics_params`` from ``population_params[group]``, the group value
  under the grouping property's name and ``pop_name``, and ``n_cells`` (its size);
- one edge per (source group, target group) pair that has synapses, in an edge population of
  the same name: ``nsyns`` = synapses per target cell (all synapses between the groups
  divided by the number of cells of the target group), ``syn_weight`` = the mean weight of a
  synapse times ``weight_scale`` and ``delay`` = the mean delay, both weighted by ``nsyns``.

Examples
--------
>>> import numpy as np
>>> agg = aggregate_edges(np.array([0, 0, 1]), np.array([0, 1, 1]),
...                       nsyns=np.array([2.0, 1.0, 1.0]), weights=np.array([1.0, 4.0, 2.0]),
...                       delays=np.array([1.0, 1.0, 3.0]), n_target_cells=np.array([1, 2]))
>>> agg[["source", "target", "nsyns", "syn_weight", "delay"]].values.tolist()
[[0.0, 0.0, 2.0, 1.0, 1.0], [0.0, 1.0, 0.5, 4.0, 1.0], [1.0, 1.0, 0.5, 2.0, 3.0]]
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError

__all__ = ["PopulationGroups", "aggregate_edges", "cluster_circuit", "group_nodes"]

#: first node/edge type id written
FIRST_TYPE_ID = 100


@dataclass(frozen=True)
class PopulationGroups:
    """The groups of one node population.

    Attributes
    ----------
    population : str
        Node population name.
    keys : tuple
        Group value of each group (sorted).
    group_of : np.ndarray
        Group index of every node (indexed by node id).
    n_cells : np.ndarray
        Number of cells in each group.
    virtual : np.ndarray of bool
        Whether each group is made of virtual cells.
    """

    population: str
    keys: tuple
    group_of: np.ndarray
    n_cells: np.ndarray
    virtual: np.ndarray


def group_nodes(population: str, values: np.ndarray, model_types: np.ndarray,
                *, where: str = "") -> PopulationGroups:  # fmt: skip
    """Group the nodes of ``population`` by ``values`` (one per node, in node-id order).

    Raises
    ------
    ConfigError
        A group mixes virtual and non-virtual cells.

    Examples
    --------
    >>> g = group_nodes("v1", np.array(["e", "i", "e"]), np.array(["point_neuron"] * 3))
    >>> g.keys, g.group_of.tolist(), g.n_cells.tolist()
    (('e', 'i'), [0, 1, 0], [2, 1])
    """
    keys, group_of = np.unique(np.asarray(values), return_inverse=True)
    is_virtual = np.asarray(model_types).astype(str) == "virtual"
    n_cells = np.bincount(group_of, minlength=len(keys))
    n_virtual = np.bincount(group_of, weights=is_virtual, minlength=len(keys))
    mixed = (n_virtual > 0) & (n_virtual < n_cells)
    if mixed.any():
        raise ConfigError(
            f"group {keys[np.argmax(mixed)]!r} of population {population!r} mixes virtual and "
            "simulated cells; group by a property that separates them (e.g. model_type)",
            field=where or "group_by",
        )
    return PopulationGroups(population, tuple(k.item() if hasattr(k, "item") else k
                                              for k in keys),
                            group_of.ravel(), n_cells, n_virtual > 0)  # fmt: skip


def aggregate_edges(source_group: np.ndarray, target_group: np.ndarray, *, nsyns: np.ndarray,
                    weights: np.ndarray, delays: np.ndarray,
                    n_target_cells: np.ndarray) -> pd.DataFrame:  # fmt: skip
    """One row per (source group, target group) pair with synapses.

    ``nsyns`` is the number of synapses per cell of the target group; ``syn_weight`` and
    ``delay`` are means over synapses (each edge counts ``nsyns`` times).
    """
    df = pd.DataFrame({
        "source": np.asarray(source_group, np.int64),
        "target": np.asarray(target_group, np.int64),
        "n": np.asarray(nsyns, float),
    })  # fmt: skip
    df["wn"] = df["n"] * np.asarray(weights, float)
    df["dn"] = df["n"] * np.asarray(delays, float)
    agg = df.groupby(["source", "target"], sort=True)[["n", "wn", "dn"]].sum().reset_index()
    agg = agg[agg["n"] > 0]
    out = pd.DataFrame({
        "source": agg["source"].to_numpy(),
        "target": agg["target"].to_numpy(),
        "nsyns": agg["n"].to_numpy() / np.asarray(n_target_cells)[agg["target"].to_numpy()],
        "syn_weight": agg["wn"].to_numpy() / agg["n"].to_numpy(),
        "delay": agg["dn"].to_numpy() / agg["n"].to_numpy(),
    })  # fmt: skip
    return out.astype(float)


def _column(pop: Any, name: str) -> np.ndarray | None:
    if name == "node_type_id":
        return np.asarray(pop.node_type_ids())
    if name in pop.property_names:
        return np.asarray(pop.column(name))
    return None


def _edge_column(edges: Any, name: str, default: float) -> np.ndarray:
    if name not in edges.property_names:
        return np.full(len(edges.source_node_ids()), default)
    vals = pd.to_numeric(pd.Series(edges.column(name)), errors="coerce").to_numpy(float)
    return np.where(np.isnan(vals), default, vals)


def _params_for(population_params: Any, key: Any, where: str) -> Any:
    if population_params is None:
        return None
    if callable(population_params):
        return population_params(key)
    if isinstance(population_params, Mapping):
        for k in (key, str(key)):
            if k in population_params:
                return population_params[k]
        raise ConfigError(
            f"population_params has no entry for group {key!r} ({where}); known: "
            f"{', '.join(map(str, population_params))}",
            field="population_params",
        )
    return population_params  # one file or dict for every group


def cluster_circuit(
    config: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    group_by: str | Mapping[str, str] = "node_type_id",
    population_params: Any = None,
    weight_scale: float = 1.0,
    components: Mapping[str, str | os.PathLike[str]] | None = None,
) -> Path:
    """Write the population-level version of a cell-level circuit; return its config path.

    Parameters
    ----------
    config : path-like
        Circuit or simulation config of the cell network.
    output_dir : path-like
        Folder for ``<population>_nodes.h5``, ``<population>_node_types.csv``, the edge files
        and ``circuit_config.json``.
    group_by : str or mapping
        Node property that defines the groups (``node_type_id`` as BMTK's popnet, or
        ``pop_name``, ``model_type`` ...), or one per node population.
    population_params : mapping, callable, str or dict, optional
        ``dynamics_params`` of each population group: a mapping group value -> JSON file name
        or dict, a callable of the group value, or one value for all. Dicts are written as
        JSON files into ``output_dir``, which then becomes ``population_models_dir``.
    weight_scale : float
        Factor turning a cell synapse's ``syn_weight`` into the population jump size (the
        units of the population models, mV or BMTK's V).
    components : mapping, optional
        ``components`` of the written circuit config (e.g. ``population_models_dir``).

    Raises
    ------
    ConfigError
        The grouping property is missing from a population, a group mixes virtual and
        simulated cells, or ``population_params`` lacks a group.

    Examples
    --------
    >>> cluster_circuit("network/circuit_config.json", "pop_network",
    ...                 group_by="pop_name", population_params={"exc": "exc.json",
    ...                 "inh": "inh.json"}, weight_scale=1e-4)  # doctest: +SKIP
    """
    from bmtoolkit.sonata import (
        Circuit,
        EdgePopulationData,
        GroupData,
        NodePopulationData,
        write_circuit_config,
        write_edges,
        write_nodes,
        write_types_csv,
    )

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    circuit = Circuit(config)
    groups: dict[str, PopulationGroups] = {}
    node_files = []
    wrote_params = False
    for name, pop in circuit.nodes.items():
        key = group_by.get(name, "node_type_id") if isinstance(group_by, Mapping) else group_by
        values = _column(pop, key)
        if values is None:
            raise ConfigError(
                f"node population {name!r} has no property {key!r} to group by; known: "
                f"node_type_id, {', '.join(pop.property_names)}",
                path=getattr(pop, "h5_path", None),
                field="group_by",
            )
        model_types = _column(pop, "model_type")
        if model_types is None:  # no model_type anywhere: simulated cells
            model_types = np.full(pop.size, "biophysical")
        g = group_nodes(name, values, model_types, where=f"{name}.{key}")
        groups[name] = g
        type_ids = FIRST_TYPE_ID + np.arange(len(g.keys))
        rows = []
        for k, (value, virtual) in enumerate(zip(g.keys, g.virtual, strict=True)):
            row = {"node_type_id": int(type_ids[k]), "pop_name": str(value),
                   "model_type": "virtual" if virtual else "population"}  # fmt: skip
            if key not in ("node_type_id", "pop_name", "model_type"):
                row[key] = value
            if not virtual:
                row["model_template"] = "dipde:Internal"
                params = _params_for(population_params, value, f"population {name}")
                if isinstance(params, Mapping):
                    fname = f"{name}_{value}_pop.json"
                    (out / fname).write_text(json.dumps(dict(params), indent=2))
                    params, wrote_params = fname, True
                if params is not None:
                    row["dynamics_params"] = str(params)
            rows.append(row)
        write_types_csv(pd.DataFrame(rows), out / f"{name}_node_types.csv")
        write_nodes(out / f"{name}_nodes.h5", [NodePopulationData.single_group(
            name, type_ids, {"n_cells": g.n_cells.astype(np.int64)})])  # fmt: skip
        node_files.append({"nodes_file": str(out / f"{name}_nodes.h5"),
                           "node_types_file": str(out / f"{name}_node_types.csv")})  # fmt: skip
    edge_files = []
    for name, edges in circuit.edges.items():
        src_g, tgt_g = groups[edges.source_population], groups[edges.target_population]
        agg = aggregate_edges(
            src_g.group_of[np.asarray(edges.source_node_ids(), np.int64)],
            tgt_g.group_of[np.asarray(edges.target_node_ids(), np.int64)],
            nsyns=_edge_column(edges, "nsyns", 1.0),
            weights=_edge_column(edges, "syn_weight", 0.0) * weight_scale,
            delays=_edge_column(edges, "delay", 0.0),
            n_target_cells=tgt_g.n_cells,
        )
        type_ids = FIRST_TYPE_ID + np.arange(len(agg))
        write_types_csv(pd.DataFrame({"edge_type_id": type_ids}), out / f"{name}_edge_types.csv")
        data = EdgePopulationData(
            name, edges.source_population, edges.target_population,
            agg["source"].to_numpy(np.int64), agg["target"].to_numpy(np.int64), type_ids,
            {0: GroupData({c: agg[c].to_numpy() for c in ("nsyns", "syn_weight", "delay")})},
        )  # fmt: skip
        write_edges(out / f"{name}_edges.h5", [data],
                    n_source_nodes=len(src_g.keys), n_target_nodes=len(tgt_g.keys))  # fmt: skip
        edge_files.append({"edges_file": str(out / f"{name}_edges.h5"),
                           "edge_types_file": str(out / f"{name}_edge_types.csv")})  # fmt: skip
    comps = {k: str(v) for k, v in (components or {}).items()}
    if wrote_params:
        comps.setdefault("population_models_dir", str(out))
    path = out / "circuit_config.json"
    write_circuit_config(path, nodes=node_files, edges=edge_files, components=comps)
    return path
