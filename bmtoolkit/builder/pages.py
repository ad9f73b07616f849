"""Builds and saves run with NumPy's huge-page advice off.

NumPy asks the kernel for transparent huge pages (``madvise(MADV_HUGEPAGE)``) on every array
of 4 MiB or more. Where the kernel grants them only on request (``/sys/kernel/mm/
transparent_hugepage/enabled`` set to ``madvise``, the default of many distributions), each
first touch of such an array makes the kernel clear a whole 2 MiB page, out of the caches,
and often compact memory first. A build makes and drops many edge-sized arrays, so that
clearing took about as much CPU time as the connection rules themselves (the V1 model at
fraction 0.05: 1.4 to 4.5 s of system time against 0.5 to 0.7 s with the advice off, same
files). :func:`small_pages` turns the advice off for one call and restores it after.
Setting ``NUMPY_MADVISE_HUGEPAGE`` (NumPy's own switch, ``1`` or ``0``) keeps the user's
choice: then nothing is changed.

Examples
--------
>>> @small_pages
... def total(n):
...     return int(np.ones(n).sum())
>>> total(3)
3
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

#: NumPy's environment switch; when set, the user's choice is kept
NUMPY_ENV = "NUMPY_MADVISE_HUGEPAGE"


def _setter() -> Callable[[bool], bool] | None:
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    return getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)


@contextmanager
def huge_page_advice(enabled: bool) -> Iterator[None]:
    """Within the block NumPy gives (or does not give) the huge-page advice.

    Nothing changes when ``NUMPY_MADVISE_HUGEPAGE`` is set or this NumPy has no switch.
    """
    setter = _setter() if NUMPY_ENV not in os.environ else None
    if setter is None:
        yield
        return
    previous = setter(enabled)
    try:
        yield
    finally:
        setter(previous)


def small_pages(func: F) -> F:
    """Decorator: ``func`` runs inside ``huge_page_advice(False)``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with huge_page_advice(False):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
