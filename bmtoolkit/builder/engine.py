"""The build engine: edge sets -> edge arrays, block by block, reproducibly.

Targets of an edge set are cut into blocks of ``block_size`` nodes (in node id order; rules may
fix their own ``block_rows``, and ``one_to_all`` callables cut the sources instead). Block ``b``
of edge set ``k`` draws every random number from a generator seeded by
``SeedSequence([seed, k, b])``; rules and property rules that use ``numpy.random``/``random`` (BMTK
callables) get those global generators seeded from ``SeedSequence([seed, k, b, 1])`` first. A
block's edges therefore depend only on (seed, edge set, block), never on which process builds it
or in which order, so an MPI build or a build with ``workers=K`` forked processes (see
:mod:`bmtoolkit.builder.parallel`) gives the same edges as a serial one, whatever K.

An unseeded serial build (``serial_globals``) instead makes each edge set that calls Python
functions in one block, without seeding the global generators, calling the functions in
BMTK's order (see :mod:`bmtoolkit.builder.script_order`): a script seeding ``numpy.random``
gets the edges BMTK makes.

Examples
--------
>>> a = block_rng(7, 0, 3).random()
>>> b = block_rng(7, 0, 3).random()
>>> a == b
True
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.builder import script_order
from bmtoolkit.builder.properties import EdgeBlock, ValueList
from bmtoolkit.builder.rules.base import NodeBlock, merge_order
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.progress import Progress

if TYPE_CHECKING:  # pragma: no cover
    from bmtoolkit.builder.edge_set import EdgeSet

logger = logging.getLogger("bmtoolkit.builder")

#: default number of target nodes per block
DEFAULT_BLOCK_SIZE = 1024


def block_rng(seed: int, set_index: int, block: int) -> np.random.Generator:
    """Generator of block ``block`` of edge set ``set_index``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, set_index, block])))


def seed_globals(seed: int, set_index: int, block: int) -> None:
    """Seed ``numpy.random`` and ``random`` for callables of this block."""
    state = np.random.SeedSequence([seed, set_index, block, 1]).generate_state(2)
    np.random.seed(int(state[0]))
    random.seed(int(state[1]))


@dataclass
class BlockEdges:
    """Edges made by one block: node ids, ``nsyns`` (None when stored per synapse), props."""

    source_ids: np.ndarray
    target_ids: np.ndarray
    nsyns: np.ndarray | None
    properties: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.source_ids)


def _needs_globals(edge_set: EdgeSet) -> bool:
    if getattr(edge_set.rule, "uses_global_random", False):
        return True
    return any(spec.rule.uses_global_random for spec in edge_set.properties)


def block_bounds(
    n_targets: int, edge_set: EdgeSet, block_size: int, *, serial_globals: bool = False
) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` rows of the blocked selection (targets, or sources) per block.

    A rule's own ``block_rows`` (callables: small blocks) overrides ``block_size``; with
    ``serial_globals``, an edge set calling Python functions is one block.
    """
    rule = edge_set.rule
    whole = serial_globals and _needs_globals(edge_set)
    if whole or not (rule.target_blocks or _source_blocks(edge_set)) or n_targets == 0:
        return [(0, n_targets)]
    size = int(getattr(rule, "block_rows", None) or block_size)
    return [(s, min(s + size, n_targets)) for s in range(0, n_targets, size)]


def _source_blocks(edge_set: EdgeSet) -> bool:
    """Whether the rule's blocks cut the sources (each block seeing every target)."""
    return bool(getattr(edge_set.rule, "source_blocks", False))


def _target_order(result: BlockEdges, n_sources: int, lengths: list[int]) -> BlockEdges:
    """Rows of source-blocked edges reordered by (target, source), ties kept in order.

    Each block (``lengths`` rows, in block order) is sorted by (target, source) already and
    blocks hold increasing sources, so the order is a merge of sorted runs: counting each
    block's edges per target places every row (O(edges + blocks x targets), no sort). Rows
    that break this (none that the engine makes) are put in order with a stable sort.
    """
    if len(result) < 2:
        return result
    key = result.target_ids * max(n_sources, 1)
    key += result.source_ids
    step = key[1:] >= key[:-1]
    if bool(np.all(step)):
        return result
    ends = np.cumsum(lengths)[:-1]
    step[ends[(ends > 0) & (ends < len(key))] - 1] = True  # block boundaries may step down
    if bool(np.all(step)):
        del key, step
        order = merge_order(result.target_ids, lengths)
    else:
        del step
        order = np.argsort(key, kind="stable")
        del key
    return BlockEdges(
        result.source_ids[order],
        result.target_ids[order],
        None if result.nsyns is None else result.nsyns[order],
        {k: v[order] for k, v in result.properties.items()},
    )


def _sorted(conns: Any, n_sources: int) -> Any:
    """Connections ordered by (target, source), ties in rule order.

    Blocks hold increasing target ranges and rows follow node ids, so every edge set comes out
    sorted as SONATA files want it and merging edge sets only merges sorted runs.
    """
    if len(conns) < 2:
        return conns
    key = conns.target * n_sources
    key += conns.source
    if np.all(key[1:] >= key[:-1]):
        return conns
    order = np.argsort(key, kind="stable")
    return type(conns)(conns.source[order], conns.target[order], conns.nsyns[order])


def build_block(
    edge_set: EdgeSet,
    sources: NodeBlock,
    targets: NodeBlock,
    state: Any,
    seed: int,
    set_index: int,
    block: int,
    *,
    serial_globals: bool = False,
) -> BlockEdges:
    """Connections and properties of one block (with ``serial_globals``, of a whole edge set,
    Python functions called in BMTK's order on the global generators as they are)."""
    rng = block_rng(seed, set_index, block)
    if serial_globals:
        conns = script_order.connect(edge_set.rule, sources, targets, rng, state)
    else:
        if _needs_globals(edge_set):
            seed_globals(seed, set_index, block)
        conns = edge_set.rule.connect(sources, targets, rng, state)
    src, trg = conns.source, conns.target
    if len(src) and (src.min() < 0 or src.max() >= len(sources) or trg.max() >= len(targets)):
        raise ConfigError(f"rule {type(edge_set.rule).__name__} returned rows outside its blocks")
    conns = _sorted(conns, len(sources))
    src, trg = conns.source, conns.target
    if not edge_set.properties:
        nsyns = np.asarray(conns.nsyns).astype(np.uint32, copy=False)
        return BlockEdges(sources.index[src], targets.index[trg], nsyns, {})
    if len(src) and not bool(np.all(conns.nsyns == 1)):  # one row per synapse
        src = np.repeat(src, conns.nsyns)
        trg = np.repeat(trg, conns.nsyns)
    edges = EdgeBlock(sources, targets, src, trg)
    props: dict[str, np.ndarray] = {}
    for spec in edge_set.properties:
        if serial_globals:
            values = script_order.property_values(spec.rule, edges, rng)
        else:
            values = spec.rule.values(edges, rng)
        if len(spec.names) == 1:
            values = (values,)
        for name, vals in zip(spec.names, values):
            arr = np.asarray(vals)
            if arr.shape[:1] != (len(src),):
                raise ConfigError(
                    f"property rule for {name!r} returned {arr.shape[:1]} values for "
                    f"{len(src)} edges",
                    field=name,
                )
            props[name] = arr
    return BlockEdges(sources.index[src], targets.index[trg], None, props)


def _take_all(parts: list[Any], attr: str) -> np.ndarray:
    """Concatenate ``attr`` of every part, releasing each part's array (peak memory)."""
    chunks = [getattr(p, attr) for p in parts]
    for p in parts:
        setattr(p, attr, None)
    out = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
    del chunks
    return out


def concat_blocks(parts: list[BlockEdges], edge_set: EdgeSet) -> BlockEdges:
    """Join blocks in block order and apply the requested dtypes.

    The parts are consumed: their arrays are released column by column, so joining needs
    about one column of extra memory rather than a second copy of the edge set.
    """
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        parts = [BlockEdges(z, z, None if edge_set.properties else z.astype(np.uint32), {})]
    src = _take_all(parts, "source_ids").astype(np.int64, copy=False)
    trg = _take_all(parts, "target_ids").astype(np.int64, copy=False)
    nsyns = None
    if not edge_set.properties:
        nsyns = _take_all(parts, "nsyns").astype(np.uint32, copy=False)
    props: dict[str, np.ndarray] = {}
    for spec in edge_set.properties:
        for name, dtype in zip(spec.names, spec.dtypes):
            chunks = [p.properties.pop(name) for p in parts if name in p.properties]
            vals = np.concatenate(chunks) if chunks else np.zeros(0)
            del chunks
            if vals.dtype.kind == "U":
                vals = vals.astype(object)
            if dtype is not None and dtype is not str:
                vals = vals.astype(dtype)
            props[name] = vals
    return BlockEdges(src, trg, nsyns, props)


def fill_value_lists(result: BlockEdges, edge_set: EdgeSet) -> None:
    """Put the values of ``add_properties(values=[...])`` on their edges: value ``i`` on the
    ``i``-th edge in BMTK's order (sources by id, then their targets by id, whatever the
    iterator).

    Raises
    ------
    ConfigError
        The list has another length than the edge set has edges (naming the property).
    """
    specs = [(s, s.rule) for s in edge_set.properties if isinstance(s.rule, ValueList)]
    if not specs:
        return
    n = len(result)
    order = np.lexsort((result.target_ids, result.source_ids))
    for spec, rule in specs:
        columns = rule.columns()
        if len(columns[0]) != n:
            raise ConfigError(
                f"add_properties({list(spec.names)!r}, values=...) got {len(columns[0])} values "
                f"for {n} edges (edge type {edge_set.edge_type_id}); give one per edge, in the "
                "order BMTK's builder makes them",
                field=spec.names[0],
            )
        for name, dtype, col in zip(spec.names, spec.dtypes, columns, strict=True):
            out = np.empty(n, dtype=col.dtype)
            out[order] = col
            if dtype is not None and dtype is not str:
                out = out.astype(dtype)
            result.properties[name] = out


def build_edge_set(
    edge_set: EdgeSet,
    set_index: int,
    seed: int,
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    comm: Any = None,
    progress: bool | None = None,
    workers: int = 1,
    serial_globals: bool = False,
) -> BlockEdges | None:
    """Build one edge set; with an MPI ``comm`` only rank 0 gets the result (others None).

    ``workers > 1`` builds the blocks in that many forked processes (see
    :func:`bmtoolkit.builder.parallel.fork_blocks`); the result is the same as a serial build.
    ``serial_globals`` (serial builds only) calls Python functions in BMTK's order on the global
    generators as they are (see :mod:`bmtoolkit.builder.script_order`).
    """
    if serial_globals and (comm is not None or workers > 1):
        raise ConfigError("serial_globals is for serial builds (no MPI, one worker)")
    from bmtoolkit.builder import parallel

    start = time.perf_counter()
    src_table = edge_set.source.table()
    trg_table = edge_set.target.table()
    sources = NodeBlock(src_table, edge_set.source.indices())
    targets = NodeBlock(trg_table, edge_set.target.indices())
    by_source = _source_blocks(edge_set)
    bounds = block_bounds(
        len(sources if by_source else targets), edge_set, block_size, serial_globals=serial_globals
    )
    serial_globals = serial_globals and _needs_globals(edge_set)
    state = edge_set.rule.prepare(sources)
    mine = parallel.my_blocks(len(bounds), comm)
    label = f"{edge_set.source_network_name}->{edge_set.target_network_name} #{set_index}"

    def one_block(b: int) -> BlockEdges:
        lo, hi = bounds[b]
        if by_source:
            src, trg = sources.slice(lo, hi), targets
        else:
            src, trg = sources, targets.slice(lo, hi)
        return build_block(
            edge_set, src, trg, state, seed, set_index, b, serial_globals=serial_globals
        )

    if workers > 1 and len(mine) > 1:
        if _needs_globals(edge_set):  # callables: node views made once, shared by the forks
            src_table.node_views()
            trg_table.node_views()
        parts = parallel.fork_blocks(one_block, list(mine), workers, label, progress, comm)
    else:
        # one bar over the nodes of this rank's blocks; callable rules report inside a block
        show = progress if parallel.rank(comm) == 0 else False
        work = sum(bounds[b][1] - bounds[b][0] for b in mine)
        unit = "sources" if by_source else "targets"
        parts = []
        with Progress(work, f"build {label}", unit=unit, show=show) as bar:
            for b in mine:
                with bar.share(bounds[b][1] - bounds[b][0]):
                    parts.append(one_block(b))
    gathered = parallel.gather_blocks(parts, comm)
    if gathered is None:
        return None
    lengths = [len(part) for part in gathered]
    result = concat_blocks(gathered, edge_set)
    if by_source and len(bounds) > 1:
        result = _target_order(result, src_table.size, lengths)
    fill_value_lists(result, edge_set)
    n_syn = int(result.nsyns.sum()) if result.nsyns is not None else len(result)
    logger.info(
        "edge set %d (%s, %s): %d edges, %d synapses from %d sources onto %d targets "
        "in %d block(s), %d worker(s), %.2f s",
        set_index,
        label,
        type(edge_set.rule).__name__,
        len(result),
        n_syn,
        len(sources),
        len(targets),
        len(bounds),
        max(1, workers),
        time.perf_counter() - start,
    )
    return result
