"""Compile and load NMODL mechanism libraries, cached by content.

The channel library shipped in ``bmtoolkit/simulator/bionet/mechanisms/`` and any user folder
from ``components.mechanisms_dir`` are compiled with ``nrnivmodl`` into a cache folder whose
name is a hash of the ``.mod`` contents and the NEURON version::

    ~/.cache/bmtoolkit/mechanisms/<hash>/<arch>/libnrnmech.so

Compilation happens once per content; concurrent processes (MPI ranks, parallel test
workers) serialise on a file lock and reuse the finished library.

Examples
--------
>>> from bmtoolkit.simulator.bionet.mechanisms import builtin_mod_files
>>> sorted(p.stem for p in builtin_mod_files())[:3]
['CaDynamics', 'Ca_HVA', 'Ca_LVA']
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from bmtoolkit.exceptions import BackendNotAvailableError, MissingFileError, SimulationError

__all__ = [
    "BUILTIN_DIR",
    "builtin_mod_files",
    "cache_root",
    "compile_mechanisms",
    "load_mechanisms",
    "mechanism_hash",
]

#: folder of the shipped NMODL files
BUILTIN_DIR = Path(__file__).with_name("mechanisms")

# libraries already loaded into this process (NEURON cannot load one twice)
_LOADED: set[str] = set()


def builtin_mod_files() -> list[Path]:
    """Return the ``.mod`` files shipped with bmtoolkit, sorted by name."""
    return sorted(BUILTIN_DIR.glob("*.mod"))


def cache_root() -> Path:
    """Folder holding compiled libraries.

    ``$BMTOOLKIT_CACHE_DIR`` wins, then ``$XDG_CACHE_HOME/bmtoolkit``, then
    ``~/.cache/bmtoolkit``; mechanisms go to its ``mechanisms`` subfolder.
    """
    base = os.environ.get("BMTOOLKIT_CACHE_DIR")
    if base:
        return Path(base) / "mechanisms"
    xdg = os.environ.get("XDG_CACHE_HOME")
    root = Path(xdg) if xdg else Path.home() / ".cache"
    return root / "bmtoolkit" / "mechanisms"


def _neuron_version() -> str:
    try:
        from importlib.metadata import version

        return version("neuron")
    except Exception:  # noqa: BLE001 - metadata lookups fail in many ways; version is a hint
        return "unknown"


def mechanism_hash(mod_files: Iterable[Path]) -> str:
    """Hash of file names, contents and the NEURON version (16 hex digits)."""
    digest = hashlib.sha256(_neuron_version().encode())
    for path in sorted(Path(p) for p in mod_files):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _nrnivmodl() -> str:
    local = Path(sys.executable).with_name("nrnivmodl")
    if local.exists():
        return str(local)
    found = shutil.which("nrnivmodl")
    if found is None:
        raise BackendNotAvailableError(
            "nrnivmodl not found: install NEURON (pip install neuron) to compile mechanisms"
        )
    return found


def _find_library(folder: Path) -> Path | None:
    for candidate in sorted(folder.glob("*/libnrnmech.so")) + sorted(folder.glob("*/.libs/*.so")):
        return candidate
    return None


def compile_mechanisms(mod_files: Sequence[Path], *, cache_dir: Path | None = None) -> Path:
    """Compile ``mod_files`` (once per content) and return the shared library path.

    Parameters
    ----------
    mod_files : sequence of Path
        NMODL files; names must be unique.
    cache_dir : Path, optional
        Root of the cache (default :func:`cache_root`).

    Returns
    -------
    Path
        The compiled ``libnrnmech.so``.

    Raises
    ------
    SimulationError
        If ``nrnivmodl`` fails; the message holds the tail of its output.

    Examples
    --------
    >>> lib = compile_mechanisms(builtin_mod_files())  # doctest: +SKIP
    """
    files = [Path(p) for p in mod_files]
    for path in files:
        if not path.is_file():
            raise MissingFileError(f"mechanism file not found: {path}", path=str(path))
    names = [p.name for p in files]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SimulationError(f"mechanism files with the same name in several folders: {dupes}")
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    target = root / mechanism_hash(files)
    lib = _find_library(target) if target.exists() else None
    if lib is not None:
        return lib
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            lib = _find_library(target) if target.exists() else None
            if lib is not None:
                return lib
            work = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=root))
            for path in files:
                shutil.copy2(path, work / path.name)
            proc = subprocess.run(
                [_nrnivmodl(), "."], cwd=work, capture_output=True, text=True, check=False
            )
            built = _find_library(work)
            if proc.returncode != 0 or built is None:
                tail = (proc.stdout + proc.stderr)[-3000:]
                shutil.rmtree(work, ignore_errors=True)
                raise SimulationError(f"nrnivmodl failed for {sorted(names)}:\n{tail}")
            work.rename(target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    lib = _find_library(target)
    assert lib is not None
    return lib


def load_mechanisms(extra_dirs: Sequence[Path | str] = (), *, builtin: bool = True) -> Path:
    """Compile (if needed) and load the mechanism library into NEURON.

    Parameters
    ----------
    extra_dirs : sequence of path
        User folders (``components.mechanisms_dir``); ``.mod`` files there and in a
        ``modfiles`` subfolder are added. A user file replaces a shipped one of the same name.
    builtin : bool
        Include the shipped channel library.

    Returns
    -------
    Path
        The loaded library.

    Examples
    --------
    >>> load_mechanisms()  # doctest: +SKIP
    PosixPath('.../libnrnmech.so')
    """
    files: dict[str, Path] = {}
    if builtin:
        files.update({p.name: p for p in builtin_mod_files()})
    for folder in extra_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.mod")) + sorted(folder.glob("modfiles/*.mod")):
            files[path.name] = path
    lib = compile_mechanisms(list(files.values()))
    key = str(lib.resolve())
    if key in _LOADED:
        return lib
    from neuron import h

    if not h.nrn_load_dll(key):
        raise SimulationError(f"NEURON could not load the mechanism library {lib}", path=key)
    _LOADED.add(key)
    return lib
