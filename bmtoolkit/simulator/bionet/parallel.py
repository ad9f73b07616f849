"""Cells over MPI ranks with NEURON's ``ParallelContext``.

Every node gets a global id (``gid``): populations are ordered by name and numbered one after
the other. Node ``i`` of the run (in that order) lives on rank ``i % nhost``. Spikes of every
cell are exchanged through ``gid_connect``; outputs are gathered on rank 0.

Examples
--------
>>> layout = GidLayout({"cortex": 9, "excvirt": 10})
>>> layout.gid("excvirt", 3), layout.node(12)
(12, ('excvirt', 3))
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["GidLayout", "parallel_context"]


class GidLayout:
    """Map ``(population, node_id)`` to a global id and back."""

    def __init__(self, sizes: Mapping[str, int]) -> None:
        self.names = sorted(sizes)
        self.sizes = {n: int(sizes[n]) for n in self.names}
        self.offsets: dict[str, int] = {}
        start = 0
        for name in self.names:
            self.offsets[name] = start
            start += self.sizes[name]
        self.total = start

    def gid(self, population: str, node_id: int) -> int:
        """Global id of one node."""
        return self.offsets[population] + int(node_id)

    def gids(self, population: str, node_ids: np.ndarray) -> np.ndarray:
        """Global ids of many nodes of one population."""
        return self.offsets[population] + np.asarray(node_ids, dtype=np.int64)

    def node(self, gid: int) -> tuple[str, int]:
        """``(population, node_id)`` of a global id."""
        for name in reversed(self.names):
            if gid >= self.offsets[name]:
                return name, int(gid - self.offsets[name])
        raise IndexError(gid)

    def owner(self, gid: int, nhost: int) -> int:
        """Rank that builds the node (round robin)."""
        return int(gid) % max(nhost, 1)


def parallel_context() -> Any:
    """The process's ParallelContext, starting MPI first when launched by ``mpiexec``."""
    from neuron import h

    launched = any(
        int(os.environ.get(k, "1")) > 1
        for k in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS")
        if os.environ.get(k, "").isdigit()
    )
    if launched and not getattr(parallel_context, "_mpi", False):
        try:
            import mpi4py.MPI  # noqa: F401 - initialises MPI for NEURON to reuse
        except ImportError:
            pass
        h.nrnmpi_init()
        parallel_context._mpi = True  # type: ignore[attr-defined]
    return h.ParallelContext()
