"""Each MPI rank reads only the edges onto its own cells.

NEST 3 places neuron ``n`` on virtual process ``n % (ranks x threads)`` and virtual process
``v`` on rank ``v % ranks``, so rank ``r`` holds the neurons with ``n % ranks == r``; every
other rank holds a proxy of them. A connection lives on its target's rank, and NEST's array
``Connect`` skips the pairs whose target is not local, so a rank given only its own targets'
edges builds exactly the connections it would keep from all of them, in the same order.

:func:`rank_edges` therefore reduces an edge population to the edges onto this rank's
targets (found through the file's ``target_to_source`` index, or by scanning the targets
slab by slab) and :meth:`~bmtoolkit.sonata.EdgePopulation.select` reads those rows only: the
edge arrays of a rank are about ``1/ranks`` of the population's. With one process nothing
changes.

Examples
--------
>>> local_node_mask(np.array([1, 2, 3, 4, 0]), rank=1, processes=2).tolist()
[True, False, True, False, False]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from bmtoolkit.simulator.pointnet.cells import NestPopulation
    from bmtoolkit.sonata.edges import EdgePopulation

log = logging.getLogger("bmtoolkit.simulator.pointnet")


def local_node_mask(nest_ids: np.ndarray, *, rank: int, processes: int) -> np.ndarray:
    """Which of ``nest_ids`` (NEST neuron ids; 0 for nodes not created) live on ``rank``.

    Examples
    --------
    >>> local_node_mask(np.array([5, 6]), rank=0, processes=1).tolist()
    [True, True]
    """
    ids = np.asarray(nest_ids, dtype=np.int64)
    if processes <= 1:
        return ids > 0
    return (ids > 0) & (ids % processes == rank)


def _nest_agrees(nest: Any, nest_ids: np.ndarray, mask: np.ndarray) -> bool:
    """Whether NEST's own ``GetLocalNodeCollection`` agrees with :func:`local_node_mask` on
    the first nodes of a population (a guard against another placement in a later NEST)."""
    sample = np.asarray(nest_ids[: 4 * int(nest.NumProcesses())], dtype=np.int64)
    keep = sample > 0
    sample, expect = sample[keep], mask[: keep.size][keep]
    if sample.size == 0:
        return True
    local = nest.GetLocalNodeCollection(nest.NodeCollection(sorted(set(sample.tolist()))))
    mine = set(np.asarray(local.tolist() if len(local) else [], dtype=np.int64).tolist())
    return [int(i) in mine for i in sample] == expect.tolist()


@dataclass(frozen=True)
class RankEdges:
    """The edges of one population this rank connects.

    Attributes
    ----------
    edges : EdgePopulation
        The population itself (one process) or its selection onto local targets.
    read : int
        Edges read by this rank.
    total : int
        Edges of the population.
    seconds : float
        Time spent finding the rows.
    """

    edges: Any
    read: int
    total: int
    seconds: float


def rank_edges(edges: EdgePopulation, target: NestPopulation, nest: Any) -> RankEdges:
    """The edges of ``edges`` onto the targets NEST placed on this rank (all with one
    process).

    Examples
    --------
    >>> part = rank_edges(circuit.edges["v1_to_v1"], populations["v1"], nest)  # doctest: +SKIP
    >>> part.read, part.total  # doctest: +SKIP
    (4712231, 9424406)
    """
    import time

    processes, rank = int(nest.NumProcesses()), int(nest.Rank())
    if processes <= 1:
        return RankEdges(edges, edges.size, edges.size, 0.0)
    t0 = time.perf_counter()
    mask = local_node_mask(target.nest_ids, rank=rank, processes=processes)
    if not _nest_agrees(nest, target.nest_ids, mask):
        log.warning("NEST places nodes otherwise than by id modulo ranks; asking NEST")
        created = sorted(set(target.nest_ids[target.nest_ids > 0].tolist()))
        mine = np.zeros(0, dtype=np.int64)
        if created:
            local = nest.GetLocalNodeCollection(nest.NodeCollection(created))
            mine = np.asarray(local.tolist() if len(local) else [], dtype=np.int64)
        mask = (target.nest_ids > 0) & np.isin(target.nest_ids, mine)
    rows = edges.edges_onto(np.flatnonzero(mask))
    part = edges.select(rows)
    seconds = time.perf_counter() - t0
    log.info("%s: rank %d reads %d of %d edges", edges.name, rank, part.size, edges.size)
    return RankEdges(part, part.size, edges.size, seconds)


def smallest_over_ranks(value: float) -> float:
    """The smallest ``value`` over all MPI ranks (``value`` itself with one process).

    Examples
    --------
    >>> smallest_over_ranks(1.5)  # one process  # doctest: +SKIP
    1.5
    """
    import nest

    if int(nest.NumProcesses()) <= 1:
        return value
    try:
        from mpi4py import MPI
    except ImportError as err:  # pragma: no cover - only with an MPI build of NEST
        from bmtoolkit.exceptions import BackendNotAvailableError

        raise BackendNotAvailableError("NEST runs under MPI but mpi4py is missing") from err

    return float(MPI.COMM_WORLD.allreduce(float(value), op=MPI.MIN))
