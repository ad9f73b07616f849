"""Safe output folders: check before a run, write beside, swap in at the end.

A run never deletes what bmtoolkit did not write and a run that fails leaves the previous
outputs as they were. :class:`OutputStaging` implements both rules for
:class:`~bmtoolkit.simulator.core.output.RunOutput`:

- before the run, :func:`check_output_folder` accepts an output folder only when it is new,
  empty, or holds nothing but files bmtoolkit wrote there (listed in the marker file
  :data:`MARKER_NAME` of a previous run) and files at the paths of this run's outputs; it refuses
  a folder that is, contains or holds an input of the run (config, circuit config, network,
  components, node sets and input files), and an output path that is not a regular file
  (a folder, symlink, named pipe or device);
- the run writes every output into a hidden staging folder beside the output folder
  (``.<name>.bmtoolkit-staging-<host>-<pid>``); outputs that lie outside the output folder go
  to its ``.external`` sub-folder;
- :meth:`OutputStaging.commit` checks the destinations again, writes the marker, then swaps
  the staging folder in with two renames (the previous folder is renamed aside and only the
  files bmtoolkit wrote are removed from it); :meth:`OutputStaging.discard` removes the staging
  folder after a failure.

Staging and set-aside folders left behind by a killed run are recognised by their name, the
machine and the process id in it, and removed by the next run into the same folder on that
machine.

Examples
--------
>>> import pathlib, tempfile
>>> out = pathlib.Path(tempfile.mkdtemp()) / "output"
>>> staging = OutputStaging(out, inputs=())
>>> staging.prepare()
>>> _ = (staging.stage(out / "spikes.h5")).write_text("x")
>>> staging.commit()
>>> sorted(p.name for p in out.iterdir())
['.bmtoolkit-output.json', 'spikes.h5']
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmtoolkit._process import pid_alive
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.sonata._files import check_writable, file_kind

if TYPE_CHECKING:
    from bmtoolkit.sonata.config import SimulationConfig

#: file listing what bmtoolkit wrote into an output folder
MARKER_NAME = ".bmtoolkit-output.json"
#: sub-folder of the staging folder for outputs that lie outside the output folder
EXTERNAL = ".external"
#: this machine's name as it appears in staging folder names
HOST_TAG = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "host"
#: config sections whose paths are outputs (or manifest variables), not inputs
_NOT_INPUTS = ("output", "reports", "manifest")


def check_output_file(path: Path, field: str = "output") -> None:
    """Refuse an output path that holds anything but a regular file.

    Raises
    ------
    ConfigError
        ``path`` is a folder, symlink, named pipe, device or socket.

    Examples
    --------
    >>> check_output_file(Path("/dev/null"))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    bmtoolkit.exceptions.ConfigError: /dev/null: output: ...
    """
    check_writable(path, field)


def run_inputs(config: SimulationConfig) -> list[Path]:
    """Every existing file or folder a run reads: configs, network, components, inputs.

    Every absolute path in the resolved simulation and circuit configs (except the
    ``output``, ``reports`` and ``manifest`` sections) that exists on disk counts, so no
    input kind can be forgotten.

    Examples
    --------
    >>> run_inputs(None)
    []
    """
    found: list[Path] = []
    if config is None:
        return found
    circuit = getattr(config, "circuit", None)
    for obj in (config, circuit):
        path = getattr(obj, "path", None)
        if path is not None:
            found.append(Path(path))
    for obj in (getattr(config, "node_sets_file", None), getattr(circuit, "node_sets_file", None)):
        if obj is not None:
            found.append(Path(obj))
    comps = getattr(config, "components", None) or {}
    found.extend(Path(v) for v in comps.values() if isinstance(v, str | os.PathLike))
    for raw in (getattr(config, "raw", None), getattr(circuit, "raw", None)):
        if isinstance(raw, Mapping):
            found.extend(_paths_in({k: v for k, v in raw.items() if k not in _NOT_INPUTS}))
    out: list[Path] = []
    for p in found:
        if p.is_absolute() and os.path.lexists(p):
            resolved = p.resolve()
            if resolved not in out:
                out.append(resolved)
    return out


def _paths_in(obj: Any) -> Iterable[Path]:
    if isinstance(obj, Mapping):
        for v in obj.values():
            yield from _paths_in(v)
    elif isinstance(obj, list | tuple):
        for v in obj:
            yield from _paths_in(v)
    elif isinstance(obj, str | os.PathLike) and os.path.isabs(obj):
        yield Path(obj)


def _read_marker(folder: Path) -> set[str]:
    try:
        doc = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    files = doc.get("files") if isinstance(doc, dict) else None
    return {str(f) for f in files} if isinstance(files, list) else set()


def _files_below(folder: Path) -> tuple[list[str], list[str]]:
    """Relative paths of every non-folder entry and of every empty sub-folder."""
    files: list[str] = []
    empty: list[str] = []
    for root, dirs, names in os.walk(folder):
        rel = Path(root).relative_to(folder)
        for d in list(dirs):
            if os.path.islink(Path(root) / d):  # a symlink to a folder is not walked into
                dirs.remove(d)
                names.append(d)
        files.extend(str(rel / n) for n in names)
        if not dirs and not names and Path(root) != folder:
            empty.append(str(rel))
    return files, empty


def check_output_folder(
    folder: Path,
    *,
    outputs: Iterable[str] = (),
    inputs: Iterable[Path] = (),
    overwrite: bool = True,
) -> None:
    """Refuse an output folder whose content bmtoolkit may not replace.

    Parameters
    ----------
    folder : Path
        The output folder (absolute, resolved).
    outputs : iterable of str
        Paths, relative to ``folder``, that this run writes.
    inputs : iterable of Path
        Resolved input files and folders of the run.
    overwrite : bool
        ``overwrite_output_dir``; false refuses any non-empty folder.

    Raises
    ------
    ConfigError
        One line naming the folder and what it holds.
    """
    field = "output.output_dir"
    for item in inputs:
        if item == folder or folder in item.parents:
            what = "is" if item == folder else "holds"
            raise ConfigError(
                f"refusing to write outputs here: the folder {what} the run's input {item}",
                path=folder,
                field=field,
            )
    cwd = Path.cwd().resolve()
    if cwd == folder or folder in cwd.parents:
        raise ConfigError(
            "refusing to write outputs here: it is or holds the current directory",
            path=folder,
            field=field,
        )
    if not os.path.lexists(folder):
        return
    if os.path.islink(folder) or not folder.is_dir():
        raise ConfigError(
            f"is {file_kind(folder) or 'a file'}, not a folder", path=folder, field=field
        )
    files, empty = _files_below(folder)
    if not files and not empty:
        return
    if not overwrite:
        raise ConfigError(
            "the folder is not empty and overwrite_output_dir is false", path=folder, field=field
        )
    ours = _read_marker(folder) | set(outputs) | {MARKER_NAME}
    foreign = sorted(f for f in files if f not in ours) + sorted(empty)
    if foreign:
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise ConfigError(
            f"the folder holds files bmtoolkit did not write ({', '.join(foreign[:3])}{more}); "
            "choose a new or empty folder, or move them away",
            path=folder,
            field=field,
        )


class OutputStaging:
    """Outputs of one run written beside the output folder and swapped in at the end.

    Parameters
    ----------
    final_dir : Path
        The output folder the user asked for.
    inputs : iterable of Path
        Input files and folders of the run (never written over).
    overwrite : bool
        ``overwrite_output_dir``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "out"
    >>> s = OutputStaging(out, inputs=())
    >>> s.stage(out / "v.h5").parent.name.startswith(".out.bmtoolkit-staging-")
    True
    """

    def __init__(self, final_dir: Path, inputs: Iterable[Path], *, overwrite: bool = True) -> None:
        self._given = Path(os.path.abspath(final_dir))
        self.final_dir = self._given.resolve()
        self.inputs = [Path(p) for p in inputs]
        self.overwrite = overwrite
        parent, name = self.final_dir.parent, self.final_dir.name
        tag = f"{HOST_TAG}-{os.getpid()}"
        self.dir = parent / f".{name}.bmtoolkit-staging-{tag}"
        self._aside = parent / f".{name}.bmtoolkit-old-{tag}"
        self._external: dict[Path, Path] = {}
        self._created: list[Path] = []
        self._written: set[str] = set()

    # ------------------------------------------------------------------ mapping
    def stage(self, path: str | os.PathLike[str]) -> Path:
        """Where the run writes the output whose final place is ``path``."""
        p = Path(os.path.abspath(path))
        for root in (self.final_dir, self._given):
            if p == root or root in p.parents:
                return self.dir / p.relative_to(root)
        if p == self.dir or self.dir in p.parents:
            return p
        if p not in self._external:
            self._external[p] = self.dir / EXTERNAL / str(len(self._external)) / p.name
        return self._external[p]

    def final(self, path: str | os.PathLike[str]) -> Path:
        """The final place of a staged path (the inverse of :meth:`stage`)."""
        p = Path(os.path.abspath(path))
        for dest, staged in self._external.items():
            if p == staged:
                return dest
        if p == self.dir or self.dir in p.parents:
            return self._given / p.relative_to(self.dir)  # as the user named the folder
        return p

    def _relative_outputs(self, paths: Iterable[Path]) -> list[str]:
        rel = []
        for p in paths:
            p = Path(os.path.abspath(p))
            for root in (self.final_dir, self._given):
                if root in p.parents:
                    rel.append(str(p.relative_to(root)))
                    break
        return rel

    # ------------------------------------------------------------------ checks
    def check(self, outputs: Iterable[Path] | Mapping[Path, str] = ()) -> None:
        """Refuse the folder or an output path (see :func:`check_output_folder`).

        Parameters
        ----------
        outputs : iterable of Path, or mapping of Path to str
            Final paths of the outputs this run writes (known so far), optionally with the
            config field naming each (for the message).
        """
        fields = dict(outputs) if isinstance(outputs, Mapping) else dict.fromkeys(outputs, "output")
        outputs = [Path(os.path.abspath(p)) for p in fields]
        for p, field in zip(outputs, fields.values(), strict=True):
            check_output_file(p, field or "output")
            exists = os.path.lexists(p)
            resolved = p.resolve()
            for item in self.inputs:
                if resolved == item or (exists and item in resolved.parents):
                    raise ConfigError(
                        f"would write over the run's input {item}", path=p, field=field
                    )
        check_output_folder(
            self.final_dir,
            outputs=self._relative_outputs(outputs),
            inputs=self.inputs,
            overwrite=self.overwrite,
        )

    # ------------------------------------------------------------------ life cycle
    def prepare(self, outputs: Iterable[Path] | Mapping[Path, str] = ()) -> None:
        """Check the destinations, clean up after killed runs and create the staging folder."""
        self._remove_stale()  # first: a folder set aside by a killed swap is put back
        self.check(outputs)
        missing = []
        parent = self.final_dir.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        self.dir.mkdir(parents=True)
        self._created = missing

    def prepare_scratch(self) -> None:
        """Create the staging folder only (an MPI rank > 0, whose outputs are discarded)."""
        self.dir.mkdir(parents=True, exist_ok=True)

    def _remove_stale(self) -> None:
        parent, name = self.final_dir.parent, re.escape(self.final_dir.name)
        if not parent.is_dir():
            return
        pattern = re.compile(rf"^\.{name}\.bmtoolkit-(staging|old)-(.+)-(\d+)$")
        for entry in parent.iterdir():
            m = pattern.match(entry.name)
            # only folders of this machine's processes that no longer run (MPI ranks on other
            # machines may share the file system)
            if m is None or m.group(2) != HOST_TAG or pid_alive(int(m.group(3))):
                continue
            if not entry.is_dir():
                continue
            if entry.is_symlink():
                continue
            if m.group(1) == "staging":
                shutil.rmtree(entry, ignore_errors=True)
            elif not os.path.lexists(self.final_dir):  # killed between the two renames
                entry.rename(self.final_dir)
            else:
                self._remove_ours(entry)

    def discard(self) -> None:
        """Remove the staging folder (after a failed run) and the parents made for it."""
        shutil.rmtree(self.dir, ignore_errors=True)
        for folder in self._created:
            with contextlib.suppress(OSError):
                folder.rmdir()

    def commit(self, marker_extra: Mapping[str, Any] | None = None) -> None:
        """Swap the staged outputs in; the previous bmtoolkit outputs are removed.

        Raises
        ------
        ConfigError
            A destination changed during the run and may no longer be replaced (the staging
            folder is removed; nothing at the destinations is touched).
        """
        try:
            files, _ = _files_below(self.dir)
            inside = [f for f in files if not f.startswith(EXTERNAL + os.sep)]
            self._written = set(inside)
            self.check([self.final_dir / f for f in inside] + list(self._external))
            doc = {"written_by": "bmtoolkit", **dict(marker_extra or {}), "files": sorted(inside)}
            (self.dir / MARKER_NAME).write_text(json.dumps(doc, indent=1) + "\n", "utf-8")
            for dest, staged in self._external.items():
                if staged.exists():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(staged, dest)
            shutil.rmtree(self.dir / EXTERNAL, ignore_errors=True)
            self._swap()
        except BaseException:
            self.discard()
            raise

    def _swap(self) -> None:
        final = self.final_dir
        if not os.path.lexists(final):
            os.rename(self.dir, final)
            return
        try:
            os.rename(final, self._aside)
        except OSError:  # a mount point or a folder we may not rename: file by file
            self._merge_into(final)
            return
        try:
            os.rename(self.dir, final)
        except OSError:
            os.rename(self._aside, final)
            raise
        self._remove_ours(self._aside, self._written)

    def _merge_into(self, final: Path) -> None:
        previous = _read_marker(final) & set(_files_below(final)[0])  # never outside
        files, _ = _files_below(self.dir)
        new = set(files)
        last = [MARKER_NAME] if MARKER_NAME in new else []  # the marker goes in last
        for rel in sorted(new - {MARKER_NAME}) + last:
            (final / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.dir / rel, final / rel)
        for rel in previous - new:
            target = final / rel
            if file_kind(target) is None and target.exists():
                target.unlink()
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def _remove_ours(folder: Path, replaced: Iterable[str] = ()) -> None:
        """Remove a set-aside output folder: only what bmtoolkit wrote or this run replaced."""
        allowed = _read_marker(folder) | set(replaced) | {MARKER_NAME}
        files, _ = _files_below(folder)
        for rel in files:
            if rel in allowed and file_kind(folder / rel) is None:
                (folder / rel).unlink()
        for root, _dirs, _names in sorted(os.walk(folder), key=lambda t: -len(t[0])):
            with contextlib.suppress(OSError):
                Path(root).rmdir()
