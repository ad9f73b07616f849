"""Advancing a simulation in blocks with a progress bar.

Backends call :func:`run_in_blocks` from their ``simulate`` step with a function that
advances their simulator by a given number of ms; the bar (``tqdm``) shows simulated time and
becomes periodic progress lines when stderr is neither a terminal nor a notebook, and is
disabled by ``progress=False`` (see :mod:`bmtoolkit.progress`).

Examples
--------
>>> done = []
>>> run_in_blocks(0.0, 100.0, lambda t0, t1: done.append((t0, t1)), block=40.0,
...               progress=False)
>>> done
[(0.0, 40.0), (40.0, 80.0), (80.0, 100.0)]
"""

from __future__ import annotations

from collections.abc import Callable


def run_in_blocks(
    tstart: float,
    tstop: float,
    advance: Callable[[float, float], None],
    *,
    block: float | None = None,
    progress: bool | None = None,
    desc: str = "simulate",
) -> None:
    """Call ``advance(t0, t1)`` on consecutive blocks covering ``[tstart, tstop]``.

    Parameters
    ----------
    block : float, optional
        Block length in ms (default: 1/100 of the run, at least 1 ms).
    progress : bool, optional
        ``False``: no bar; ``None``: a bar in a terminal or notebook, progress lines on any
        other stderr (see :class:`bmtoolkit.progress.Progress`); the log gets lines always.
    """
    total = tstop - tstart
    if total <= 0:
        return
    if block is None or block <= 0:
        block = max(total / 100.0, 1.0)
    from bmtoolkit.progress import Progress

    with Progress(round(total, 6), desc, unit="ms", show=progress) as bar:
        t0 = tstart
        while t0 < tstop - 1e-9:
            t1 = min(t0 + block, tstop)
            # snap to the end when the remainder is a rounding artefact
            if tstop - t1 < 1e-9:
                t1 = tstop
            advance(t0, t1)
            bar.update(round(t1 - t0, 6))
            t0 = t1


def resident_gib() -> float:
    """Resident memory of this process now, in GiB (``nan`` where ``/proc`` is absent).

    Examples
    --------
    >>> resident_gib() > 0 or resident_gib() != resident_gib()
    True
    """
    import os

    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
    except (OSError, IndexError, ValueError):
        return float("nan")
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**30


def release_freed_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``; no-op elsewhere).

    Large arrays freed after use can stay in the process's heap (glibc raises its mmap
    threshold after the first big free), so the resident memory would keep counting them
    while NEST allocates its own tables next to them.

    Examples
    --------
    >>> release_freed_memory()
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
