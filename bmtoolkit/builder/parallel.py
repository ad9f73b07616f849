"""Splitting edge generation across MPI ranks (mpi4py).

Run a build script under ``mpiexec -n K``: ``NetworkBuilder.build()`` detects ``COMM_WORLD``
(or takes ``comm=``), every rank builds the nodes, the blocks of each edge set are split into
``K`` contiguous ranges of block indices, rank 0 receives them block by block in block order and
alone writes the files. Since each block's random numbers depend only on (seed, edge set, block) (see
:mod:`bmtoolkit.builder.engine`), the files equal those of a serial build byte for byte.

mpi4py is imported only when a build runs under MPI.

Examples
--------
>>> list(my_blocks(5, None))
[0, 1, 2, 3, 4]
"""

from __future__ import annotations

import os
from typing import Any

from bmtoolkit.exceptions import BackendNotAvailableError

_MPI_ENV = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")


def world_comm() -> Any:
    """``MPI.COMM_WORLD`` when running under an MPI launcher with >1 ranks, else None."""
    if not any(k in os.environ for k in _MPI_ENV):
        return None
    try:
        from mpi4py import MPI
    except ImportError as err:
        raise BackendNotAvailableError(
            "running under mpiexec but mpi4py is not installed; pip install mpi4py"
        ) from err
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None


def rank(comm: Any) -> int:
    """Rank in ``comm`` (0 without MPI)."""
    return 0 if comm is None else comm.Get_rank()


def my_blocks(n_blocks: int, comm: Any) -> range:
    """The contiguous range of block indices this rank builds."""
    if comm is None:
        return range(n_blocks)
    size, me = comm.Get_size(), comm.Get_rank()
    per, extra = divmod(n_blocks, size)
    start = me * per + min(me, extra)
    return range(start, start + per + (1 if me < extra else 0))


_BLOCK_TAG = 7301


def gather_blocks(parts: list[Any], comm: Any) -> list[Any] | None:
    """All ranks' blocks, in block order, on rank 0 (None elsewhere).

    Blocks travel one message each, rank after rank, so rank 0 never holds more than one
    serialized block on top of the edges themselves and no message approaches MPI's 2 GiB
    count limit, whatever the size of the edge set.
    """
    if comm is None:
        return parts
    if comm.Get_rank() != 0:
        comm.send(len(parts), dest=0, tag=_BLOCK_TAG)
        for part in parts:
            comm.send(part, dest=0, tag=_BLOCK_TAG)
        return None
    out = list(parts)
    for source in range(1, comm.Get_size()):
        n_parts = comm.recv(source=source, tag=_BLOCK_TAG)
        out.extend(comm.recv(source=source, tag=_BLOCK_TAG) for _ in range(n_parts))
    return out


def broadcast(value: Any, comm: Any) -> Any:
    """Rank 0's ``value`` on every rank."""
    return value if comm is None else comm.bcast(value, root=0)


def barrier(comm: Any) -> None:
    """Wait for every rank."""
    if comm is not None:
        comm.Barrier()
