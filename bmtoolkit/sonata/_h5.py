"""Low-level HDF5 helpers shared by the SONATA readers and writers.

- :func:`atomic_write` yields an ``h5py.File`` open on a temporary file next to the
  destination and renames it into place only when the block succeeds, so a failed write
  leaves no half-written file (and keeps any previous file intact).
- :func:`open_h5` opens a file for reading and turns missing, truncated or non-HDF5 files
  into :class:`~bmtoolkit.exceptions.MissingFileError` / :class:`SonataFormatError`.
- :func:`require` fetches a dataset or group by path with an error naming file and path.
- :func:`write_root_attrs` writes the SONATA ``magic`` and ``version`` attributes.

Examples
--------
>>> import tempfile, os, numpy as np
>>> from bmtoolkit.sonata._h5 import atomic_write, open_h5, require
>>> path = os.path.join(tempfile.mkdtemp(), "x.h5")
>>> with atomic_write(path) as h5:
...     _ = h5.create_dataset("a", data=np.arange(3))
>>> with open_h5(path) as h5:
...     require(h5, "a", path)[()].tolist()
[0, 1, 2]
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from bmtoolkit.exceptions import MissingFileError, SonataFormatError

SONATA_MAGIC = 0x0A7A
SONATA_VERSION = (0, 1)
#: variable-length UTF-8 string dtype used for every string we write
STR_DTYPE = h5py.string_dtype("utf-8")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, root_attrs: bool = True) -> Iterator[h5py.File]:
    """Open a temporary HDF5 file beside ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : path-like
        Final destination. Its folder is created if needed.
    root_attrs : bool
        Write the SONATA ``magic``/``version`` root attributes.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as h5:
            if root_attrs:
                write_root_attrs(h5)
            yield h5
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_text(path: str | os.PathLike[str], *, newline: str = "\n") -> Iterator:
    """Like :func:`atomic_write` for text files (CSV, JSON)."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", newline=newline, encoding="utf-8") as fh:
            yield fh
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask_mode() -> int:
    """Permissions a new file gets from the process umask (``mkstemp`` would leave 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_root_attrs(h5: h5py.File) -> None:
    """Write ``magic`` (uint32 0x0A7A) and ``version`` (uint32[2]) on the root group."""
    h5.attrs["magic"] = np.uint32(SONATA_MAGIC)
    h5.attrs["version"] = np.asarray(SONATA_VERSION, dtype=np.uint32)


def open_h5(path: str | os.PathLike[str]) -> h5py.File:
    """Open an HDF5 file read-only with clear errors.

    Raises
    ------
    MissingFileError
        The file does not exist.
    SonataFormatError
        The file exists but is not a readable HDF5 file (truncated, another format ...).
    """
    p = Path(path)
    if not p.exists():
        raise MissingFileError("file does not exist", path=p)
    if p.is_dir():
        raise SonataFormatError("expected an HDF5 file, found a folder", path=p)
    try:
        return h5py.File(p, "r")
    except OSError as err:
        raise SonataFormatError(
            f"not a readable HDF5 file (truncated or another format): {err}", path=p
        ) from None


def require(node: h5py.Group, name: str, path: str | os.PathLike[str] | None = None):
    """Return ``node[name]`` or raise :class:`SonataFormatError` naming file and HDF5 path."""
    try:
        return node[name]
    except KeyError:
        where = f"{node.name.rstrip('/')}/{name}"
        raise SonataFormatError(
            "required dataset or group is missing", path=path or node.file.filename, field=where
        ) from None


def decode_str(value) -> str:
    """Decode an HDF5 string attribute/scalar (bytes or str) to ``str``."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        return decode_str(value[()])
    return str(value)
