"""What is at a path we are about to write: files are written only over regular files.

Kept free of h5py so that the simulator's output checks can use it without loading HDF5.

Examples
--------
>>> from pathlib import Path
>>> file_kind(Path("/dev/null"))
'a character device'
>>> file_kind(Path("/no/such/file")) is None
True
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from bmtoolkit.exceptions import ConfigError

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFLNK: "a symbolic link",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def file_kind(path: str | os.PathLike[str]) -> str | None:
    """What is at ``path`` when it is not a regular file (None: a regular file or nothing).

    Symbolic links are not followed: a link is reported as a link.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    if stat.S_ISREG(mode):
        return None
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def check_writable(path: str | os.PathLike[str], field: str | None = None) -> None:
    """Refuse to write over anything but a regular file (or a new path).

    Raises
    ------
    ConfigError
        ``path`` is a folder, symbolic link, named pipe, device or socket; the message names
        it and ``field``.

    Examples
    --------
    >>> check_writable("/dev/null", "output.spikes_file")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    bmtoolkit.exceptions.ConfigError: /dev/null: output.spikes_file: is a character device; ...
    """
    kind = file_kind(path)
    if kind is not None:
        raise ConfigError(
            f"is {kind}; files are written only over regular files or new paths",
            path=Path(path),
            field=field,
        )
