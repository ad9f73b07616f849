"""Low-level HDF5 helpers shared by the SONATA readers and writers.

- :func:`atomic_write` yields an ``h5py.File`` open on a temporary file next to the
  destination and renames it into place only when the block succeeds, so a failed write
  leaves no half-written file (and keeps any previous file intact). Temporary files are named
  ``.<name>.<pid>.<random>.tmp``; those of a process that no longer runs (a killed save) are
  removed by the next write of the same file. A destination that is not a regular file (a
  folder, a symbolic link, a named pipe, a device) is refused, never replaced.
- :func:`file_set` groups writes: inside it every file goes to its temporary name and all are
  renamed together when the block ends well (one network save replaces its files as a set);
  the temporary files are removed in every case.
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
import contextvars
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from bmtoolkit._process import pid_alive
from bmtoolkit.exceptions import MissingFileError, SonataFormatError
from bmtoolkit.sonata._files import check_writable

SONATA_MAGIC = 0x0A7A
SONATA_VERSION = (0, 1)
#: variable-length UTF-8 string dtype used for every string we write
STR_DTYPE = h5py.string_dtype("utf-8")


class FileSet:
    """Files written under temporary names, renamed into place together by :meth:`commit`.

    Examples
    --------
    >>> FileSet().pending
    {}
    """

    def __init__(self) -> None:
        self.pending: dict[Path, Path] = {}  # destination -> temporary file

    def add(self, tmp: str | os.PathLike[str], dest: Path) -> None:
        """Register a finished temporary file for ``dest`` (a newer one replaces an older)."""
        old = self.pending.pop(dest, None)
        if old is not None:
            with contextlib.suppress(OSError):
                os.unlink(old)
        self.pending[dest] = Path(tmp)

    def commit(self) -> None:
        """Rename every temporary file to its destination, in the order they were written.

        Every destination is checked first (:func:`check_writable`): none is replaced when
        one of them is not a regular file.
        """
        for dest in self.pending:
            check_writable(dest)
        while self.pending:
            dest, tmp = next(iter(self.pending.items()))
            os.replace(tmp, dest)
            del self.pending[dest]

    def discard(self) -> None:
        """Remove the temporary files not renamed yet."""
        for tmp in self.pending.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.pending.clear()


_FILE_SET: contextvars.ContextVar[FileSet | None] = contextvars.ContextVar(
    "bmtoolkit_file_set", default=None
)


@contextlib.contextmanager
def file_set() -> Iterator[FileSet]:
    """Write every file of the block under a temporary name; rename them all at the end.

    Nested blocks join the outermost one. When the block raises, no destination is touched
    and the temporary files are removed.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> d = tempfile.mkdtemp()
    >>> with file_set():
    ...     with atomic_write(os.path.join(d, "a.h5")) as h5:
    ...         _ = h5.create_dataset("x", data=np.arange(2))
    ...     os.path.exists(os.path.join(d, "a.h5"))
    False
    >>> sorted(os.listdir(d))
    ['a.h5']
    """
    outer = _FILE_SET.get()
    if outer is not None:
        yield outer
        return
    fs = FileSet()
    token = _FILE_SET.set(fs)
    try:
        yield fs
        fs.commit()
    finally:
        _FILE_SET.reset(token)
        fs.discard()


def remove_stale_temps(dest: Path) -> list[Path]:
    """Remove temporary files of ``dest`` left by processes that no longer run.

    Recognised by name: ``.<name>.<pid>.<random>.tmp`` with a dead ``pid``, and the
    ``.<name>.<random>.tmp`` of earlier versions. Returns what was removed.
    """
    name = re.escape(dest.name)
    ours = re.compile(rf"^\.{name}\.(\d+)\.[a-z0-9_]+\.tmp$")
    legacy = re.compile(rf"^\.{name}\.[a-z0-9_]{{8}}\.tmp$")
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(dest.parent):
            m = ours.match(entry.name)
            stale = (m is not None and not pid_alive(int(m.group(1)))) or (
                m is None and legacy.match(entry.name) is not None
            )
            if stale and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _temp_beside(dest: Path) -> tuple[int, str]:
    check_writable(dest)  # before any work: never a folder, a link, a pipe or /dev/null
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(dest)
    return tempfile.mkstemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=".tmp", dir=dest.parent)


def _finish(tmp: str, dest: Path) -> None:
    os.chmod(tmp, _umask_mode())
    fs = _FILE_SET.get()
    if fs is not None:
        fs.add(tmp, dest)
    else:
        check_writable(dest)  # again: it may have appeared while the file was written
        os.replace(tmp, dest)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, root_attrs: bool = True) -> Iterator[h5py.File]:
    """Open a temporary HDF5 file beside ``path``; rename it to ``path`` on success.

    Inside a :func:`file_set` the rename waits for the end of the set.

    Parameters
    ----------
    path : path-like
        Final destination. Its folder is created if needed.
    root_attrs : bool
        Write the SONATA ``magic``/``version`` root attributes.
    """
    dest = Path(path)
    fd, tmp = _temp_beside(dest)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as h5:
            if root_attrs:
                write_root_attrs(h5)
            yield h5
        _finish(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_text(path: str | os.PathLike[str], *, newline: str = "\n") -> Iterator:
    """Like :func:`atomic_write` for text files (CSV, JSON)."""
    dest = Path(path)
    fd, tmp = _temp_beside(dest)
    try:
        with os.fdopen(fd, "w", newline=newline, encoding="utf-8") as fh:
            yield fh
        _finish(tmp, dest)
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
