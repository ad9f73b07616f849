"""Small C kernels compiled on first use, cached by content, loaded with :mod:`ctypes`.

Some inner loops (a GLIF model stepped sample by sample in the calibration searches) run
hundreds of millions of scalar steps; in numpy each step is a dozen array operations on
small arrays, dominated by call overhead. Such a loop is written once in plain C (no Python
API, so one build serves every interpreter) next to the module that uses it, and
:func:`load_kernel` compiles it with the system C compiler (``$CC``, default ``cc``; ``gcc``
when that names no program) into::

    ~/.cache/bmtoolkit/native/<hash>/lib<name>.so

where ``<hash>`` covers the source text, the flags and the machine type. The library is
written under a temporary name and renamed into place, so concurrent processes never load a
half-written file. Every caller keeps a numpy version of the same loop that computes the
same numbers (numpy, or plain Python floats); :func:`load_kernel` returns ``None`` (and the
caller uses that version) when no compiler is found, compilation fails, or
``BMTOOLKIT_NATIVE=0`` is set. The kernels are compiled without floating-point contraction
(``-ffp-contract=off``), so every product and sum is rounded as numpy and Python round it.

Examples
--------
>>> from bmtoolkit.native import native_enabled
>>> isinstance(native_enabled(), bool)
True
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "FLAGS",
    "cache_dir",
    "kernel_path",
    "load_function",
    "load_kernel",
    "native_enabled",
    "why_unavailable",
]

#: compiler flags of every kernel (IEEE rounding of each operation: no contraction, no
#: fast-math)
FLAGS: tuple[str, ...] = ("-O2", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math")

# loaded libraries by path, and the reason a kernel is unavailable, per process
_LOADED: dict[str, ctypes.CDLL | None] = {}
_WHY_NOT: dict[str, str] = {}


def cache_dir(kind: str) -> Path:
    """Folder ``kind`` of bmtoolkit's cache: ``$BMTOOLKIT_CACHE_DIR/kind``, else
    ``$XDG_CACHE_HOME/bmtoolkit/kind``, else ``~/.cache/bmtoolkit/kind``.

    Examples
    --------
    >>> cache_dir("native").name
    'native'
    """
    base = os.environ.get("BMTOOLKIT_CACHE_DIR")
    if base:
        return Path(base) / kind
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "bmtoolkit" / kind


def native_enabled() -> bool:
    """Whether compiled kernels may be used (``BMTOOLKIT_NATIVE`` unset, or not ``0``)."""
    return os.environ.get("BMTOOLKIT_NATIVE", "1").strip().lower() not in ("0", "false", "no")


def _compiler() -> str | None:
    """``$CC`` (default ``cc``) if it names a program, else ``gcc`` if there is one."""
    return shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")


def kernel_path(source: Path) -> Path:
    """Where the library compiled from ``source`` is cached (it may not exist yet)."""
    digest = hashlib.sha256(Path(source).read_bytes())
    digest.update(" ".join(FLAGS).encode())
    digest.update(f"{platform.system()}-{platform.machine()}".encode())
    return cache_dir("native") / digest.hexdigest()[:16] / f"lib{Path(source).stem}.so"


def _build(source: Path, target: Path) -> str | None:
    """Compile ``source`` into ``target`` (atomically); the reason it failed, or ``None``."""
    cc = _compiler()
    if cc is None:
        return "no C compiler found (set CC or install gcc)"
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        done = subprocess.run([cc, *FLAGS, "-o", tmp, str(source), "-lm"],
                              capture_output=True, text=True, check=False)  # fmt: skip
        if done.returncode != 0:
            return f"{cc} failed on {source.name}: {done.stderr.strip()[-500:]}"
        os.replace(tmp, target)
        return None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_kernel(source: str | os.PathLike[str]) -> ctypes.CDLL | None:
    """The C library built from ``source`` (compiled on first use, then from the cache), or
    ``None`` where it cannot be had (:func:`why_unavailable` says why).

    Parameters
    ----------
    source : path-like
        A self-contained C file (standard headers and ``libm`` only).
    """
    src = Path(source)
    key = str(src)
    if not native_enabled():
        _WHY_NOT[key] = "BMTOOLKIT_NATIVE=0"
        return None
    if key in _LOADED:
        return _LOADED[key]
    lib: ctypes.CDLL | None = None
    try:
        target = kernel_path(src)
        reason = None if target.is_file() else _build(src, target)
        if reason is None:
            lib = ctypes.CDLL(str(target))
            _WHY_NOT.pop(key, None)
        else:
            _WHY_NOT[key] = reason
    except OSError as exc:  # unreadable source, unwritable cache, unloadable library
        _WHY_NOT[key] = f"{type(exc).__name__}: {exc}"
    _LOADED[key] = lib
    return lib


def load_function(source: str | os.PathLike[str], name: str, argtypes: Sequence[Any],
                  restype: Any) -> Any | None:  # fmt: skip
    """Function ``name`` of the library built from ``source`` (:func:`load_kernel`), with its
    :mod:`ctypes` argument and result types set, or ``None`` where the library cannot be had.
    """
    lib = load_kernel(source)
    if lib is None:
        return None
    fn = getattr(lib, name)
    if fn.argtypes is None:
        fn.argtypes = list(argtypes)
        fn.restype = restype
    return fn


def why_unavailable(source: str | os.PathLike[str]) -> str | None:
    """Why :func:`load_kernel` returned ``None`` for ``source`` in this process, else ``None``."""
    return _WHY_NOT.get(str(Path(source)))
