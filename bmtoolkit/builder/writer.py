"""Turn built node tables and edge arrays into SONATA files through :mod:`bmtoolkit.sonata`.

Conventions (those of BMTK's builder, so its users find the files where they expect them):

- nodes: ``<name>_nodes.h5`` and ``<name>_node_types.csv``; scalar ``add_nodes`` properties are
  node types CSV columns, per-node arrays are HDF5 datasets of group ``0``; ``positions`` is
  written as the reserved ``x``, ``y``, ``z`` datasets every reader understands;
- edges: ``<source>_<target>_edges.h5`` with population ``<source>_to_<target>`` and
  ``<source>_<target>_edge_types.csv`` (``edge_type_id``, ``target_query``, ``source_query``, then
  the type properties); one HDF5 group. Edge sets without per-edge properties store ``nsyns``; a
  column missing from some edge sets is filled with that set's edge-type value when it has one
  (``nsyns`` with 1 for sets stored per synapse), else ``NaN``.

Examples
--------
>>> import tempfile
>>> from bmtoolkit.builder import NetworkBuilder
>>> net = NetworkBuilder("v1")
>>> net.add_nodes(N=4, model_type="point_neuron", ei="e")
>>> _ = net.add_edges(connection_rule=1, syn_weight=2.0)
>>> net.build(seed=0)
>>> out = tempfile.mkdtemp()
>>> _ = net.save(out)
>>> sorted(p.name for p in __import__("pathlib").Path(out).iterdir())
['v1_node_types.csv', 'v1_nodes.h5', 'v1_v1_edge_types.csv', 'v1_v1_edges.h5']
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.builder.node_table import POSITION_COLUMNS, NodeTable
from bmtoolkit.exceptions import ConfigError

if TYPE_CHECKING:  # pandas only for edges_table(); saving does without it
    import pandas as pd

#: SONATA population ``type`` for each ``model_type`` value
POPULATION_TYPES = {
    "virtual": "virtual",
    "biophysical": "biophysical",
    "point_process": "point_neuron",
    "point_neuron": "point_neuron",
    "single_compartment": "point_neuron",
}


@dataclass
class EdgeArrays:
    """Edges of one population pair, in memory.

    Attributes
    ----------
    source_population, target_population : str
    source_ids, target_ids, edge_type_ids : np.ndarray
        int64, one per row.
    columns : dict[str, np.ndarray]
        Per-row properties (``nsyns`` included when present).
    types : list[dict]
        Edge type rows (:attr:`EdgeSet.edge_type_properties`).
    """

    source_population: str
    target_population: str
    source_ids: np.ndarray
    target_ids: np.ndarray
    edge_type_ids: np.ndarray
    columns: dict[str, np.ndarray]
    types: list[dict[str, Any]]
    population: str | None = None

    @property
    def name(self) -> str:
        """Edge population name (``<source>_to_<target>`` unless ``population`` is set)."""
        return self.population or f"{self.source_population}_to_{self.target_population}"

    def __len__(self) -> int:
        return len(self.source_ids)


def _fill(edge_set: Any, name: str, n: int, dtype: np.dtype) -> np.ndarray:
    if name == "nsyns":
        return np.ones(n, dtype=dtype)
    value = edge_set.type_properties.get(name)
    kind = "O" if dtype.kind in "OUS" else "f"
    if value is None or (kind == "f" and not isinstance(value, (int, float, np.number))):
        value = "" if kind == "O" else np.nan
    return np.full(n, value, dtype=object if kind == "O" else np.result_type(dtype, np.float64))


def merge_edge_sets(
    parts: Sequence[tuple[Any, Any]], tables: Mapping[str, NodeTable]
) -> EdgeArrays:
    """Merge the built edge sets of one population pair, sorted by (target, source).

    The blocks' arrays are consumed (released as they are merged).

    Each edge set is sorted already (see the engine), so often nothing moves. Otherwise the
    target id, source id and row number of every edge are packed into one int64 (when they
    fit in 63 bits), sorted by value and read back: the same order as a stable argsort of
    ``(target, source)`` at a fraction of its cost, and the sorted ids come out of the keys
    without a gathered copy.

    Parameters
    ----------
    parts : sequence of (EdgeSet, BlockEdges)
        In declaration order; the sort is stable, so ties keep that order.
    tables : Mapping[str, NodeTable]
        Node tables by population name (sizes the sort key).
    """
    first = parts[0][0]
    src_pop, trg_pop = first.source_network_name, first.target_network_name
    sizes = [len(b) for _, b in parts]
    names: dict[str, np.dtype] = {}
    for _, block in parts:
        if block.nsyns is not None:
            names.setdefault("nsyns", block.nsyns.dtype)
        for key, vals in block.properties.items():
            prev = names.get(key)
            names[key] = vals.dtype if prev is None else _merge_dtype(prev, vals.dtype)
    # the blocks are consumed column by column so that merging needs about one column of
    # extra memory, not a second copy of every edge set
    columns = {}
    for key, dtype in names.items():
        chunks = []
        for (edge_set, block), n in zip(parts, sizes):
            if key == "nsyns":
                vals, block.nsyns = block.nsyns, None
            else:
                vals = block.properties.pop(key, None)
            chunks.append(vals if vals is not None else _fill(edge_set, key, n, dtype))
        columns[key] = np.concatenate(chunks)
        del chunks
    type_ids = np.repeat(np.array([es.edge_type_id for es, _ in parts], dtype=np.int64), sizes)
    n_src = max(tables[src_pop].size, 1)
    packed = _pack_ids(parts, n_src)
    if packed is not None:
        src, trg, order = packed
    else:
        src = _consume(parts, "source_ids")
        trg = _consume(parts, "target_ids")
        sort_key = trg * n_src
        sort_key += src
        ordered = len(sort_key) < 2 or bool(np.all(sort_key[1:] >= sort_key[:-1]))
        order = None if ordered else np.argsort(sort_key, kind="stable")
        del sort_key
        if order is not None:
            src = src[order]
            trg = trg[order]
    if order is not None:
        type_ids = type_ids[order]
        for k in list(columns):
            columns[k] = columns[k][order]
    del order
    return EdgeArrays(
        src_pop,
        trg_pop,
        src,
        trg,
        type_ids,
        columns,
        [es.edge_type_properties for es, _ in parts],
    )


def _pack_ids(
    parts: Sequence[tuple[Any, Any]], n_src: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    """Sorted source and target ids of the consumed parts and the gather order (None when
    the rows are in order already), from one packed int64 key per edge; None (nothing
    consumed) when target, source and row do not fit in 63 bits or an id is negative.
    """
    n = sum(len(b) for _, b in parts)
    if n == 0:
        return None
    lows = [int(b.source_ids.min()) for _, b in parts if len(b)]
    lows += [int(b.target_ids.min()) for _, b in parts if len(b)]
    if min(lows) < 0:
        return None
    top_src = max(int(b.source_ids.max()) for _, b in parts if len(b))
    top_trg = max(int(b.target_ids.max()) for _, b in parts if len(b))
    src_bits = max(n_src - 1, top_src).bit_length()
    row_bits = (n - 1).bit_length()
    if top_trg.bit_length() + src_bits + row_bits > 63:
        return None
    key = np.empty(n, dtype=np.int64)
    at = 0
    for _, block in parts:
        seg = key[at : at + len(block)]
        np.left_shift(block.target_ids, src_bits, out=seg)
        seg |= block.source_ids
        at += len(block)
        block.source_ids = block.target_ids = None
    src_mask = (1 << src_bits) - 1
    order = None
    if not _ascending(key):
        key <<= row_bits
        for lo in range(0, n, _PIECE):
            key[lo : lo + _PIECE] |= np.arange(lo, min(lo + _PIECE, n), dtype=np.int64)
        key.sort()
        order = key & ((1 << row_bits) - 1)
        key >>= row_bits
    src = key & src_mask
    key >>= src_bits
    return src, key, order


#: rows per piece of the checks and fills that go over every edge
_PIECE = 1 << 22


def _ascending(values: np.ndarray) -> bool:
    """Whether ``values`` never decreases (checked piecewise)."""
    for lo in range(0, len(values) - 1, _PIECE):
        hi = min(lo + _PIECE, len(values) - 1)
        if not bool(np.all(values[lo + 1 : hi + 1] >= values[lo:hi])):
            return False
    return True


def _consume(parts: Sequence[tuple[Any, Any]], attr: str) -> np.ndarray:
    chunks = [getattr(block, attr) for _, block in parts]
    for _, block in parts:
        setattr(block, attr, None)
    out = np.concatenate(chunks)
    del chunks
    return out


def _merge_dtype(a: np.dtype, b: np.dtype) -> np.dtype:
    if a.kind in "OUS" or b.kind in "OUS":
        return np.dtype(object)
    return np.result_type(a, b)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float | np.floating) and value != value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def types_rows(
    records: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """Rows of a types table, ``records[i].get(column)`` for each column.

    A column of numbers with a float or a missing value among them is made float, as a
    DataFrame column would be (so an integer property next to a float one reads back the
    same); other values are kept as they are and missing ones are ``None``.

    Examples
    --------
    >>> types_rows([{"a": 1, "b": "x"}, {"a": 2.5}], ["a", "b"])
    [(1.0, 'x'), (2.5, None)]
    """
    cols = []
    for name in columns:
        values: list[Any] = [r.get(name) for r in records]
        present = [v for v in values if not _missing(v)]
        if (
            present
            and all(_number(v) for v in present)
            and (
                len(present) < len(values)
                or any(isinstance(v, float | np.floating) for v in present)
            )
        ):
            values = [None if _missing(v) else float(v) for v in values]
        cols.append(values)
    return list(zip(*cols, strict=True)) if cols else [() for _ in records]


def node_types_columns(table: NodeTable) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of the node types CSV of ``table``."""
    cols = ["node_type_id", *[c for c in table.type_columns if c != "node_type_id"]]
    records = [{"node_type_id": tid, **props} for tid, props in table.types.items()]
    return cols, types_rows(records, cols)


def node_attributes(table: NodeTable) -> dict[str, np.ndarray]:
    """Per-node HDF5 columns of ``table`` (``positions`` split into ``x``, ``y``, ``z``)."""
    out: dict[str, np.ndarray] = {}
    for name, values in table.arrays.items():
        if name == "positions":
            for i, axis in enumerate(POSITION_COLUMNS):
                out.setdefault(axis, np.ascontiguousarray(values[:, i]))
        else:
            out[name] = values
    return out


def population_type(table: NodeTable) -> str | None:
    """SONATA population type from the node types' ``model_type`` (None if mixed/unknown)."""
    found = {POPULATION_TYPES.get(str(p.get("model_type")).lower()) for p in table.types.values()}
    return found.pop() if len(found) == 1 else None


def node_population(table: NodeTable) -> Any:
    """The :class:`~bmtoolkit.sonata.NodePopulationData` that :func:`save_nodes` writes."""
    from bmtoolkit.sonata import NodePopulationData

    return NodePopulationData.single_group(table.name, table.node_type_ids, node_attributes(table))


def node_fingerprint(table: NodeTable) -> str | None:
    """Fingerprint of the nodes file :func:`save_nodes` writes for ``table``.

    None for nodes imported from an existing file (not written by this save).
    """
    from bmtoolkit.sonata import population_fingerprint

    if table.source_file is not None:
        return None
    return population_fingerprint(node_population(table))


def save_nodes(
    table: NodeTable, nodes_file: Path, node_types_file: Path, compression: Any = "scaleoffset"
) -> None:
    """Write ``table`` to a nodes HDF5 file and a node types CSV (see ``write_nodes``)."""
    from bmtoolkit.sonata import write_nodes, write_types_rows

    write_nodes(nodes_file, [node_population(table)], compression=compression)
    write_types_rows(*node_types_columns(table), node_types_file)


def edge_types_columns(types: Sequence[Mapping[str, Any]]) -> list[str]:
    """Edge types CSV column names: id and queries first, then every property once."""
    cols = ["edge_type_id", "target_query", "source_query"]
    for row in types:
        cols.extend(k for k in row if k not in cols)
    return cols


def edge_types_frame(types: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The edge types CSV rows as a DataFrame."""
    import pandas as pd

    return pd.DataFrame([dict(r) for r in types], columns=edge_types_columns(types))


def save_edges(
    edges: EdgeArrays,
    edges_file: Path,
    edge_types_file: Path,
    n_source_nodes: int,
    n_target_nodes: int,
    node_fingerprints: Mapping[str, str] | None = None,
    compression: Any = "scaleoffset",
) -> None:
    """Write one edge population and its edge types CSV (see ``write_edges``).

    ``node_fingerprints`` (:func:`node_fingerprint` by node population) record which nodes
    the edges were built on, so ``bmtoolkit validate`` detects files of different saves.
    """
    from bmtoolkit.sonata import EdgePopulationData, write_edges, write_types_rows

    pop = EdgePopulationData.single_group(
        edges.name,
        edges.source_population,
        edges.target_population,
        edges.source_ids,
        edges.target_ids,
        edges.edge_type_ids,
        edges.columns,
    )
    write_edges(
        edges_file,
        [pop],
        sort=True,
        n_source_nodes=n_source_nodes,
        n_target_nodes=n_target_nodes,
        node_fingerprints=node_fingerprints,
        compression=compression,
    )
    cols = edge_types_columns(edges.types)
    write_types_rows(cols, types_rows(edges.types, cols), edge_types_file)


def write_circuit(
    networks: Sequence[Any],
    output_dir: str | os.PathLike[str],
    *,
    config_name: str = "circuit_config.json",
    components: Mapping[str, str | os.PathLike[str]] | None = None,
    **save_options: Any,
) -> Path:
    """Save several built networks into ``output_dir`` and write a circuit config for them.

    Parameters
    ----------
    networks : sequence of NetworkBuilder
        Every network whose nodes or edges belong to the circuit.
    output_dir : path-like
        Folder for all files. They are written under temporary names and renamed together
        at the end, so a failed or killed save leaves the previous circuit as it was.
    config_name : str
        File name of the circuit config.
    components : Mapping, optional
        ``components`` section (``point_neuron_models_dir``, ...).
    **save_options
        Passed to every ``NetworkBuilder.save`` (``compression=...``).

    Returns
    -------
    Path
        The circuit config written.
    """
    from bmtoolkit.sonata import file_set, write_circuit_config

    out = Path(output_dir)
    node_specs: list[dict[str, Any]] = []
    edge_specs: list[dict[str, Any]] = []
    with file_set():  # every file of the circuit, its config included, replaced as one set
        for net in networks:
            files = net.save(out, **save_options)
            for kind, h5, csv, pops in files:
                entry = {f"{kind}_file": h5, f"{kind[:-1]}_types_file": csv, "populations": pops}
                (node_specs if kind == "nodes" else edge_specs).append(entry)
        if not node_specs:
            raise ConfigError("write_circuit needs at least one network with nodes")
        path = out / config_name
        write_circuit_config(path, nodes=node_specs, edges=edge_specs, components=components)
    from bmtoolkit.builder import parallel

    parallel.barrier(parallel.world_comm())  # every rank sees the renamed files
    return path
