"""Splitting edge generation across MPI ranks (mpi4py) or forked workers, and progress display.

Run a build script under ``mpiexec -n K``: ``NetworkBuilder.build()`` detects ``COMM_WORLD``
(or takes ``comm=``), every rank builds the nodes, the blocks of each edge set are split into
``K`` contiguous ranges of block indices, rank 0 receives them block by block in block order and
alone writes the files. Since each block's random numbers depend only on (seed, edge set, block) (see
:mod:`bmtoolkit.builder.engine`), the files equal those of a serial build byte for byte.

Without MPI, ``NetworkBuilder.build(workers=K)`` (``bmtoolkit build --workers K``) forks ``K``
worker processes (:func:`fork_blocks`): worker ``k`` builds blocks ``k, k + K, k + 2K, ...`` and
sends each back as soon as it is made. Forking means user functions and closures are inherited,
never pickled. Results depend on the seed and on the block layout (``block_size``, and each
rule's own ``block_rows``: 128 targets, or 128 sources for ``one_to_all`` callables), never on
``K``: a given seed gives bit-identical files with 1, 2 or 16 workers, as under MPI. Platforms
without ``fork`` build serially.

mpi4py is imported only when a build runs under MPI.

Examples
--------
>>> list(my_blocks(5, None))
[0, 1, 2, 3, 4]
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable, Sequence
from typing import Any, cast

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


#: environment variable giving the default number of build workers (``bmtoolkit build --workers``)
WORKERS_ENV = "BMTOOLKIT_BUILD_WORKERS"


def resolve_workers(workers: Any = None) -> int:
    """``workers``, else ``$BMTOOLKIT_BUILD_WORKERS``, else 1, checked to be an int >= 1.

    Examples
    --------
    >>> resolve_workers(3)
    3
    """
    from bmtoolkit.exceptions import ConfigError

    value = workers if workers is not None else os.environ.get(WORKERS_ENV) or 1
    try:
        n = int(value)
        ok = n >= 1 and float(value) == n and not isinstance(value, bool)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        where = "workers" if workers is not None else WORKERS_ENV
        raise ConfigError(
            f"the number of build workers must be an int >= 1, got {value!r}", field=where
        )
    return n


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


def _bar(total: int, label: str, show: bool | None, comm: Any) -> Any:
    if show is False or rank(comm) != 0 or total < 2:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="block", disable=None if show is None else False)


def _fork_worker(build: Callable[[int], Any], blocks: Sequence[int], conn: Any) -> None:
    """Child: build ``blocks`` one by one and send each; an error is sent, then stops."""
    try:
        for b in blocks:
            conn.send(("block", b, build(b)))
        conn.send(("done", None, None))
    except BaseException as err:  # noqa: BLE001 (handed to the parent, which re-raises)
        try:
            pickle.loads(pickle.dumps(err))
        except Exception:  # noqa: BLE001 (an exception that does not pickle)
            err = RuntimeError(f"{type(err).__name__}: {err}")
        conn.send(("error", None, err))
    finally:
        conn.close()


def fork_blocks(
    build: Callable[[int], Any],
    blocks: Sequence[int],
    workers: int,
    label: str = "",
    show: bool | None = False,
    comm: Any = None,
) -> list[Any]:
    """``[build(b) for b in blocks]`` computed by ``workers`` forked processes.

    Parameters
    ----------
    build : callable
        ``build(block) -> result``; runs in the children (inherited by ``fork``, not pickled).
        Results are pickled back.
    blocks : sequence of int
        Block indices; worker ``k`` takes ``blocks[k::workers]``.
    workers : int
        Number of processes (at most one per block).
    label, show, comm
        Progress bar as in :func:`progress`.

    Returns
    -------
    list
        Results in the order of ``blocks``.

    Raises
    ------
    Exception
        The first error a worker raised (the others are stopped).

    Examples
    --------
    >>> fork_blocks(lambda b: b * b, [0, 1, 2, 3], 2)
    [0, 1, 4, 9]
    """
    import multiprocessing as mp
    from multiprocessing.connection import Connection, wait

    blocks = list(blocks)
    workers = max(1, min(int(workers), len(blocks)))
    if workers == 1 or "fork" not in mp.get_all_start_methods():
        return [build(b) for b in blocks]
    ctx = mp.get_context("fork")
    procs, pending = [], {}
    for k in range(workers):
        recv, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_fork_worker, args=(build, blocks[k::workers], send))
        proc.daemon = True
        proc.start()
        send.close()
        procs.append(proc)
        pending[recv] = proc
    results: dict[int, Any] = {}
    error: BaseException | None = None
    bar = _bar(len(blocks), label, show, comm)
    try:
        while pending and error is None:
            for ready in wait(list(pending)):
                conn = cast(Connection, ready)  # wait() hands back what it was given
                try:
                    kind, b, payload = conn.recv()
                except EOFError:
                    proc = pending.pop(conn)
                    proc.join()
                    error = RuntimeError(f"a build worker stopped (exit code {proc.exitcode})")
                    break
                if kind == "block":
                    results[b] = payload
                    if bar is not None:
                        bar.update(1)
                    continue
                pending.pop(conn).join()
                if kind == "error":
                    error = payload
                    break
    finally:
        if bar is not None:
            bar.close()
        for proc in procs:
            if proc.is_alive() and error is not None:
                proc.terminate()
            proc.join()
        for conn in pending:
            conn.close()
    if error is not None:
        raise error
    return [results[b] for b in blocks]
