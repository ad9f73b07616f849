"""Numeric edge columns as BMTK reads them, checked before any simulator sees them.

An edge population may keep its edges in several HDF5 groups with different columns: BMTK's
builder writes ``nsyns`` only in the group of edge types made by a connection rule that
returns counts, and ``syn_weight`` only where ``add_properties`` set it per edge. BMTK reads a
column group by group: the group's dataset, else the edge type's value in the types table,
else a default (``nsyns`` 1; no ``syn_weight`` is an error; no ``delay`` is the simulator's
default). :func:`absent_rows` marks the edges for which neither the group nor the types table
holds a column.

Values that are present but not finite (NaN, inf: a ``NULL`` in the types table reads as
NaN) or columns with more than one value per edge are refused by :func:`check_values` with a
:class:`~bmtoolkit.exceptions.ConfigError` naming the file, the group (or edge type) and the
column, before any connection is made.

Examples
--------
>>> import numpy as np
>>> class Grp:  # stands for a bmtoolkit.sonata group
...     def __init__(self, names):
...         self.attribute_names = names
>>> class Edges:  # stands for a bmtoolkit.sonata.EdgePopulation
...     name, h5_path, types_path = "v1_to_v1", "edges.h5", "edge_types.csv"
...     groups = {0: Grp(["nsyns"]), 1: Grp(["syn_weight"])}
...     class types_table:
...         properties = ("delay",)
...     def group_rows(self):
...         return np.array([0, 0, 1]), np.array([0, 1, 0])
...     def edge_type_ids(self):
...         return np.array([100, 100, 101])
>>> absent_rows(Edges(), "nsyns").tolist()
[False, False, True]
>>> check_values(Edges(), "syn_weight", np.array([np.nan, np.nan, np.inf]),
...              absent_rows(Edges(), "syn_weight"))
Traceback (most recent call last):
...
bmtoolkit.exceptions.ConfigError: edges.h5: /edges/v1_to_v1/1/syn_weight: 1 edge(s) of group 1 have a non-finite syn_weight (inf at edge 2); expected finite numbers
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from bmtoolkit.exceptions import ConfigError

if TYPE_CHECKING:
    from bmtoolkit.sonata.edges import EdgePopulation

#: value BMTK gives a column neither an edge's group nor its edge type holds
ABSENT_DEFAULTS: dict[str, float] = {"nsyns": 1.0}

#: columns every backend turns into weights and delays: NaN is refused in them. In other
#: numeric columns (synapse-model parameters) NaN means "not set for this edge" and only
#: infinities are refused.
CORE_COLUMNS = ("syn_weight", "nsyns", "delay")


def absent_rows(
    edges: EdgePopulation, name: str, values: np.ndarray | None = None
) -> np.ndarray | None:
    """Boolean mask of the edges whose group has no ``name`` dataset and whose types table has
    no ``name`` value (``None`` when every edge has a value from one of them).

    A ``NULL`` in the types table counts as no value for the columns of
    :data:`ABSENT_DEFAULTS` (given ``values``, the column as read), and as a bad value for
    the others.

    Parameters
    ----------
    edges : bmtoolkit.sonata.EdgePopulation
        The edge population.
    name : str
        Column name.
    values : numpy.ndarray, optional
        The column as :meth:`~bmtoolkit.sonata.EdgePopulation.column` reads it.

    Returns
    -------
    numpy.ndarray or None
    """
    lacking = [g for g, grp in edges.groups.items() if name not in grp.attribute_names]
    if not lacking:
        return None
    gid, _ = edges.group_rows()
    absent = np.isin(gid, lacking)
    if name in edges.types_table.properties:
        if values is None or name not in ABSENT_DEFAULTS or np.asarray(values).dtype.kind != "f":
            return None
        absent &= np.isnan(values)
    return absent if absent.any() else None


def _group_field(edges: EdgePopulation, group: int, name: str) -> str:
    return f"/edges/{edges.name}/{group}/{name}"


def check_shapes(edges: EdgePopulation, name: str) -> None:
    """Refuse a group dataset ``name`` with more than one value per edge, before it is read.

    Raises
    ------
    ConfigError
        Naming the HDF5 file, the group dataset and its shape.
    """
    for group, grp in edges.groups.items():
        shape = tuple(getattr(grp, "shapes", {}).get(name, ()))
        if len(shape) > 1:
            raise ConfigError(
                f"edge property {name!r} of group {group} has shape {shape}; a simulator "
                "takes one number per edge",
                path=edges.h5_path,
                field=_group_field(edges, group, name),
            )


def check_values(
    edges: EdgePopulation, name: str, values: np.ndarray, absent: np.ndarray | None = None
) -> None:
    """Refuse a column a simulator cannot take: more than one value per edge, or a present
    value that is not finite (in :data:`CORE_COLUMNS`; infinite in the others).

    Parameters
    ----------
    edges : bmtoolkit.sonata.EdgePopulation
        The edge population the values belong to (for the file, group and edge type named in
        the error).
    name : str
        Column name.
    values : numpy.ndarray
        One value per edge (non-numeric columns are not checked for finiteness).
    absent : numpy.ndarray, optional
        Edges that have no value at all (:func:`absent_rows`); they are not checked.

    Raises
    ------
    ConfigError
        Naming the HDF5 file and group dataset (or the types table and edge type) and the
        column.
    """
    arr = np.asarray(values)
    if arr.ndim > 1:
        group = next(
            (g for g, grp in edges.groups.items() if name in grp.attribute_names),
            next(iter(edges.groups), 0),
        )
        raise ConfigError(
            f"edge property {name!r} has {arr.shape[1:]} values per edge in group {group}; "
            "a simulator takes one number per edge",
            path=edges.h5_path,
            field=_group_field(edges, group, name),
        )
    if arr.dtype.kind != "f":
        return
    bad = ~np.isfinite(arr) if name in CORE_COLUMNS else np.isinf(arr)
    if absent is not None:
        bad &= ~absent
    if not bad.any():
        return
    row = int(np.flatnonzero(bad)[0])
    gid, _ = edges.group_rows()
    group = int(gid[row])
    if name in edges.groups[group].attribute_names:
        n_bad = int(np.count_nonzero(bad & (gid == group)))
        raise ConfigError(
            f"{n_bad} edge(s) of group {group} have a non-finite {name} ({float(arr[row])!r} at edge "
            f"{row}); expected finite numbers",
            path=edges.h5_path,
            field=_group_field(edges, group, name),
        )
    edge_type = int(np.asarray(edges.edge_type_ids())[row])
    raise ConfigError(
        f"edge type {edge_type} (edges of group {group}) has {name} = {float(arr[row])!r} (NULL or "
        "not finite); expected a finite number",
        path=edges.types_path or edges.h5_path,
        field=name,
    )


def check_weights(
    edges: EdgePopulation, weights: np.ndarray, edge_type: int, function: str
) -> None:
    """Refuse non-finite weights returned by the weight function of ``edge_type``."""
    arr = np.asarray(weights)
    if arr.size and not np.isfinite(arr).all():
        bad = arr[~np.isfinite(arr)][0]
        raise ConfigError(
            f"edge type {edge_type}: weight_function {function!r} returned "
            f"{int(np.count_nonzero(~np.isfinite(arr)))} non-finite weight(s) (first {float(bad)!r}); "
            "expected finite numbers",
            path=edges.types_path or edges.h5_path,
            field="weight_function",
        )
