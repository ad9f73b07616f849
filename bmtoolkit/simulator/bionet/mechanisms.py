"""Compile and load NMODL mechanism libraries, cached by content.

The channel library shipped in ``bmtoolkit/simulator/bionet/nmodl/`` and any user folder
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
from bmtoolkit.progress import notify

__all__ = [
    "BUILTIN_DIR",
    "CORENEURON_BUILTINS",
    "builtin_mod_files",
    "cache_root",
    "compile_mechanisms",
    "coreneuron_library",
    "coreneuron_mechanisms",
    "load_mechanisms",
    "loaded_coreneuron_library",
    "mechanism_hash",
    "mod_names",
]

#: folder of the shipped NMODL files
BUILTIN_DIR = Path(__file__).with_name("nmodl")

# libraries and .mod file names already loaded into this process (NEURON cannot load a
# mechanism twice); process-wide because NEURON's own mechanism table is
_LOADED: set[str] = set()
_LOADED_FILES: set[str] = set()
# the CoreNEURON library matching the loaded mechanisms, when built that way
_CORENEURON: list[Path] = []
_CORENEURON_NAMES: set[str] = set()


def builtin_mod_files() -> list[Path]:
    """Return the ``.mod`` files shipped with bmtoolkit, sorted by name."""
    return sorted(BUILTIN_DIR.glob("*.mod"))


def cache_root() -> Path:
    """Folder holding compiled libraries.

    ``$BMTOOLKIT_CACHE_DIR`` wins, then ``$XDG_CACHE_HOME/bmtoolkit``, then
    ``~/.cache/bmtoolkit``; mechanisms go to its ``mechanisms`` subfolder.
    """
    from bmtoolkit.native import cache_dir

    return cache_dir("mechanisms")


def _neuron_version() -> str:
    loaded = sys.modules.get("neuron")
    if isinstance(getattr(loaded, "__version__", None), str):
        return loaded.__version__  # no package-metadata scan when NEURON is already imported
    try:
        from importlib.metadata import version

        return version("neuron")
    except Exception:  # noqa: BLE001 - metadata lookups fail in many ways; version is a hint
        return "unknown"


def mechanism_hash(mod_files: Iterable[Path], *, coreneuron: bool = False) -> str:
    """Hash of file names, contents, the NEURON version and the build kind (16 hex digits)."""
    digest = hashlib.sha256(_neuron_version().encode())
    if coreneuron:
        digest.update(b"coreneuron")
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


def _compiler_env() -> dict[str, str]:
    """Environment for ``nrnivmodl``: this process's, less a ``NMODLHOME`` that does not hold
    NMODL's unit table.

    Importing ``neuron.nmodl`` (NEURON's transpiler bindings, which tools such as test runners
    and documentation builders may import) sets ``NMODLHOME`` to a folder without
    ``share/nmodl/nrnunits.lib``; every ``nmodl`` started from this process would then abort
    ("Could not find nrnunits.lib"), failing ``nrnivmodl -coreneuron``. Without the variable
    ``nmodl`` finds the table next to itself.
    """
    env = dict(os.environ)
    home = env.get("NMODLHOME")
    if home is not None and not (Path(home) / "share" / "nmodl" / "nrnunits.lib").is_file():
        del env["NMODLHOME"]
    return env


def _find_library(folder: Path) -> Path | None:
    for candidate in sorted(folder.glob("*/libnrnmech.so")) + sorted(folder.glob("*/.libs/*.so")):
        return candidate
    return None


def compile_mechanisms(
    mod_files: Sequence[Path], *, cache_dir: Path | None = None, coreneuron: bool = False
) -> Path:
    """Compile ``mod_files`` (once per content) and return the shared library path.

    Parameters
    ----------
    mod_files : sequence of Path
        NMODL files; names must be unique.
    cache_dir : Path, optional
        Root of the cache (default :func:`cache_root`).
    coreneuron : bool
        Build for CoreNEURON too (``nrnivmodl -coreneuron``): the folder then also holds
        ``libcorenrnmech.so`` (see :func:`coreneuron_library`).

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
    target = root / mechanism_hash(files, coreneuron=coreneuron)
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
            notify(
                f"compiling {len(files)} NEURON mechanism file(s) with nrnivmodl into {target}; "
                "this happens once (later runs reuse the compiled library) and can take a minute"
            )
            work = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=root))
            for path in files:
                shutil.copy2(path, work / path.name)
            cmd = [_nrnivmodl(), *(["-coreneuron"] if coreneuron else []), "."]
            proc = subprocess.run(
                cmd, cwd=work, env=_compiler_env(), capture_output=True, text=True, check=False
            )
            built = _find_library(work)
            if coreneuron and built is not None and coreneuron_library(built) is None:
                built = None
            if proc.returncode != 0 or built is None:
                shutil.rmtree(work, ignore_errors=True)
                raise SimulationError(_compile_failure(cmd, proc, names, root / target.name))
            work.rename(target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    lib = _find_library(target)
    assert lib is not None
    return lib


def _compile_failure(
    cmd: list[str], proc: subprocess.CompletedProcess[str], names: list[str], stem: Path
) -> str:
    """Message for a failed ``nrnivmodl``: the compiler's error lines, and the whole output
    saved beside the cache (``<hash>.failed.log``) for reading in full."""
    kind = "nrnivmodl -coreneuron" if "-coreneuron" in cmd else "nrnivmodl"
    output = f"$ {' '.join(cmd)}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    log_path = stem.with_name(f"{stem.name}.failed.log")
    try:
        log_path.write_text(output)
        saved = f" (full output: {log_path})"
    except OSError:
        saved = ""
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    # the lines that say what went wrong, else the end of the output
    errors = [ln for ln in lines if "error" in ln.lower() or "Error" in ln]
    detail = "\n".join((errors or lines)[-25:]) or f"exit status {proc.returncode}, no output"
    return f"{kind} failed for {sorted(names)} with exit status {proc.returncode}{saved}:\n{detail}"


#: mechanisms CoreNEURON always has (besides those compiled into its library)
CORENEURON_BUILTINS = frozenset(
    {"pas", "hh", "IClamp", "SEClamp", "ExpSyn", "Exp2Syn", "NetStim", "PatternStim"}
)


def mod_names(mod_files: Iterable[Path]) -> set[str]:
    """Mechanism names (``SUFFIX``, ``POINT_PROCESS``, ``ARTIFICIAL_CELL``) of NMODL files.

    Examples
    --------
    >>> sorted(mod_names(builtin_mod_files()))[:3]
    ['CaDynamics', 'Ca_HVA', 'Ca_LVA']
    """
    names = set()
    for path in mod_files:
        words = Path(path).read_text(errors="replace").split()
        for key, value in zip(words, words[1:], strict=False):
            if key in ("SUFFIX", "POINT_PROCESS", "ARTIFICIAL_CELL"):
                names.add(value)
    return names


def coreneuron_library(lib: Path) -> Path | None:
    """The CoreNEURON library built next to ``lib`` by ``nrnivmodl -coreneuron`` (or None)."""
    candidate = Path(lib).with_name("libcorenrnmech.so")
    return candidate if candidate.is_file() else None


def coreneuron_mechanisms() -> frozenset[str]:
    """Mechanisms the loaded CoreNEURON library can simulate (empty when none is loaded)."""
    return frozenset(_CORENEURON_NAMES)


def loaded_coreneuron_library() -> Path | None:
    """CoreNEURON library of the mechanisms loaded in this process, when they were built for
    CoreNEURON as one library (:func:`load_mechanisms` with ``coreneuron=True``)."""
    return _CORENEURON[0] if _CORENEURON else None


def load_mechanisms(
    extra_dirs: Sequence[Path | str] = (), *, builtin: bool = True, coreneuron: bool = False
) -> list[Path]:
    """Compile (if needed) and load mechanism libraries into NEURON.

    The shipped channel library and the ``.mod`` files of each user folder are compiled
    as separate, content-keyed libraries, so a run that adds a user folder reuses the
    shipped library already compiled (and already loaded in this process).

    Parameters
    ----------
    extra_dirs : sequence of path
        User folders (``components.mechanisms_dir``); ``.mod`` files there and in a
        ``modfiles`` subfolder are used. A user file named like a shipped one replaces it
        (possible only before the shipped library is loaded in this process).
    builtin : bool
        Include the shipped channel library.
    coreneuron : bool
        Build everything as one library for NEURON and CoreNEURON (CoreNEURON loads a
        single mechanism library); only possible while no mechanism library is loaded in
        this process (else :class:`SimulationError`).

    Returns
    -------
    list of Path
        The libraries now loaded (shipped first).

    Raises
    ------
    SimulationError
        A user file replaces a shipped mechanism that this process has already loaded.

    Examples
    --------
    >>> load_mechanisms()  # doctest: +SKIP
    [PosixPath('.../libnrnmech.so')]
    """
    user: dict[str, Path] = {}
    for folder in extra_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.mod")) + sorted(folder.glob("modfiles/*.mod")):
            user[path.name] = path
    groups: list[list[Path]] = []
    if builtin:
        shipped = [p for p in builtin_mod_files() if p.name not in user]
        groups.append(shipped)
    new_user = [p for name, p in sorted(user.items()) if name not in _LOADED_FILES]
    clash = sorted(p.name for p in new_user if p.name in {b.name for b in builtin_mod_files()})
    if clash and _LOADED_FILES & {b.name for b in builtin_mod_files()}:
        raise SimulationError(
            f"user mechanism files {clash} replace shipped ones already loaded in this process; "
            "run in a fresh process"
        )
    if new_user:
        groups.append(new_user)
    if coreneuron:
        return _load_for_coreneuron([p for g in groups for p in g])
    libs = []
    for files in groups:
        files = [p for p in files if p.name not in _LOADED_FILES]
        if not files:
            continue
        lib = compile_mechanisms(files)
        _load(lib)
        _LOADED_FILES.update(p.name for p in files)
        libs.append(lib)
    return libs


def _load_for_coreneuron(files: list[Path]) -> list[Path]:
    if _CORENEURON and not any(p.name not in _LOADED_FILES for p in files):
        return []
    if _LOADED_FILES:
        raise SimulationError(
            "CoreNEURON needs all mechanisms in one library, but this process has already "
            "loaded mechanism libraries; run in a fresh process"
        )
    lib = compile_mechanisms(files, coreneuron=True)
    _load(lib)
    _LOADED_FILES.update(p.name for p in files)
    core = coreneuron_library(lib)
    assert core is not None
    _CORENEURON.append(core)
    _CORENEURON_NAMES.update(CORENEURON_BUILTINS | mod_names(files))
    return [lib]


def _load(lib: Path) -> None:
    key = str(lib.resolve())
    if key in _LOADED:
        return
    from neuron import h

    if not h.nrn_load_dll(key):
        raise SimulationError(f"NEURON could not load the mechanism library {lib}", path=key)
    _LOADED.add(key)
