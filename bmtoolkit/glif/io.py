"""Read and write sweeps: numpy ``.npz``, CSV and NWB (pynwb, optional ``nwb`` extra).

Formats, one reader per file suffix in :data:`SWEEP_READERS`:

- **.npz**: one sweep as arrays ``stimulus`` (A), ``voltage`` (V), scalar ``dt`` (s) and
  optional ``kind`` and ``spike_times`` (s); or several, each key prefixed with the sweep
  name and a dot (``noise1.stimulus`` ...), as :func:`write_npz` writes them.
- **.csv**: columns for time, stimulus and voltage, the unit in the header
  (``time_s``/``time_ms``, ``stimulus_A``/``stimulus_nA``/``stimulus_pA``,
  ``voltage_V``/``voltage_mV``; a bare name means SI). An optional first line
  ``# kind: noise`` sets the protocol kind.
- **.nwb**: every ``CurrentClampSeries`` in ``acquisition`` paired with the
  ``CurrentClampStimulusSeries`` of the same ``sweep_number`` (or the same name) in
  ``stimulus``; units from the series' ``conversion``, ``dt`` from its ``rate``, the kind
  from the stimulus description (``Long Square``, ``Short Square``, ``Ramp``, ``Noise``).

Writers go through a temporary file renamed into place, so a failed write leaves nothing.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> sw = Sweep(np.zeros(4), np.full(4, -0.07), 1e-4, kind="noise", name="a")
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_npz(d / "a.npz", [sw]); write_csv(d / "a.csv", sw)
>>> [s.kind for s in read_sweeps(d / "a.npz")], read_sweeps(d / "a.csv")[0].dt
(['noise'], 0.0001)
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bmtoolkit.exceptions import BackendNotAvailableError, ConfigError, MissingFileError
from bmtoolkit.glif.sweeps import SWEEP_KINDS, Sweep
from bmtoolkit.registry import Registry

SWEEP_READERS: Registry[Callable[[Path], list[Sweep]]] = Registry("sweep file format")

#: CSV header -> (quantity, factor to SI)
CSV_COLUMNS: dict[str, tuple[str, float]] = {
    "time": ("time", 1.0), "time_s": ("time", 1.0), "time_ms": ("time", 1e-3),
    "stimulus": ("stimulus", 1.0), "stimulus_a": ("stimulus", 1.0),
    "stimulus_na": ("stimulus", 1e-9), "stimulus_pa": ("stimulus", 1e-12),
    "voltage": ("voltage", 1.0), "voltage_v": ("voltage", 1.0), "voltage_mv": ("voltage", 1e-3),
}  # fmt: skip

#: words in an NWB stimulus description -> sweep kind
NWB_KIND_WORDS: dict[str, str] = {"long square": "long_square", "short square": "short_square",
                                  "ramp": "ramp", "noise": "noise"}  # fmt: skip


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    path = Path(path)
    if not path.parent.is_dir():
        raise MissingFileError("output folder does not exist", path=path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_npz(path: str | os.PathLike[str], sweeps: Sequence[Sweep]) -> None:
    """Write sweeps to one ``.npz`` (keys ``<name>.stimulus`` ...; see the module docstring)."""
    arrays: dict[str, np.ndarray] = {}
    for k, s in enumerate(sweeps):
        name = s.name or f"sweep{k}"
        if f"{name}.stimulus" in arrays:
            name = f"{name}_{k}"
        arrays.update({f"{name}.stimulus": s.stimulus, f"{name}.voltage": s.voltage,
                       f"{name}.dt": np.asarray(s.dt), f"{name}.kind": np.asarray(s.kind)})  # fmt: skip
        if s.spike_times is not None:
            arrays[f"{name}.spike_times"] = s.spike_times

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    _atomic(Path(path), write)


def write_csv(path: str | os.PathLike[str], sweep: Sweep) -> None:
    """Write one sweep as CSV (``time_s,stimulus_pA,voltage_mV`` and a ``# kind:`` line)."""
    table = np.column_stack([sweep.times, sweep.stimulus * 1e12, sweep.voltage * 1e3])

    def write(tmp: Path) -> None:
        np.savetxt(tmp, table, delimiter=",", fmt="%.10g", comments="",
                   header=f"# kind: {sweep.kind}\ntime_s,stimulus_pA,voltage_mV")  # fmt: skip

    _atomic(Path(path), write)


def _kind(value: object, path: Path, field: str) -> str:
    kind = str(value)
    if kind not in SWEEP_KINDS:
        raise ConfigError(f"unknown sweep kind {kind!r}; expected one of {', '.join(SWEEP_KINDS)}",
                          path=path, field=field)  # fmt: skip
    return kind


@SWEEP_READERS.register("npz")
def read_npz(path: Path) -> list[Sweep]:
    """Sweeps of a ``.npz`` file (see the module docstring)."""
    with np.load(path, allow_pickle=False) as data:
        keys = set(data.files)
        names = list(dict.fromkeys(k.rsplit(".", 1)[0] for k in data.files
                                   if k.endswith(".stimulus")))  # fmt: skip
        prefixes = [f"{n}." for n in names] or [""]
        out = []
        for pre in prefixes:
            for need in ("stimulus", "voltage", "dt"):
                if pre + need not in keys:
                    raise ConfigError(f"missing array {pre + need!r} (have {sorted(keys)})",
                                      path=path, field=pre + need)  # fmt: skip
            kind = _kind(data[pre + "kind"][()] if pre + "kind" in keys else "other", path,
                         pre + "kind")  # fmt: skip
            spikes = data[pre + "spike_times"] if pre + "spike_times" in keys else None
            out.append(Sweep(data[pre + "stimulus"], data[pre + "voltage"],
                             float(data[pre + "dt"]), kind=kind,
                             name=f"{path.name}:{pre.rstrip('.') or 'sweep'}",
                             spike_times=spikes))  # fmt: skip
    return out


@SWEEP_READERS.register("csv")
def read_csv(path: Path) -> list[Sweep]:
    """One sweep from a CSV file (see the module docstring)."""
    lines = path.read_text().splitlines()
    kind = "other"
    while lines and lines[0].startswith("#"):
        head = lines.pop(0).lstrip("#").strip()
        if head.lower().startswith("kind:"):
            kind = _kind(head.split(":", 1)[1].strip(), path, "# kind")
    if not lines:
        raise ConfigError("no header line", path=path)
    header = [h.strip().lower() for h in lines[0].split(",")]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise ConfigError(f"unknown column {unknown[0]!r}; expected time, stimulus and voltage "
                          f"columns named one of {', '.join(CSV_COLUMNS)}", path=path,
                          field="header")  # fmt: skip
    try:
        table = np.loadtxt(lines[1:], delimiter=",", ndmin=2)
    except ValueError as err:
        raise ConfigError(f"not a numeric table: {err}", path=path) from err
    cols = {CSV_COLUMNS[h][0]: table[:, j] * CSV_COLUMNS[h][1] for j, h in enumerate(header)}
    missing = {"time", "stimulus", "voltage"} - set(cols)
    if missing:
        raise ConfigError(f"missing column(s) {sorted(missing)}", path=path, field="header")
    steps = np.diff(cols["time"])
    if steps.size == 0 or np.ptp(steps) > 1e-6 * abs(steps.mean()) or steps.mean() <= 0:
        raise ConfigError("time must increase in equal steps", path=path, field="time")
    dt = float(f"{steps.mean():.9g}")  # the printed times carry ~10 digits
    return [Sweep(cols["stimulus"], cols["voltage"], dt, kind=kind,
                  name=path.name)]  # fmt: skip


def _nwb_kind(*texts: object) -> str:
    joined = " ".join(str(t) for t in texts if t).lower().replace("_", " ")
    return next((k for w, k in NWB_KIND_WORDS.items() if w in joined), "other")


@SWEEP_READERS.register("nwb")
def read_nwb(path: Path) -> list[Sweep]:
    """Current-clamp sweeps of an NWB file (needs ``pynwb``: ``pip install bmtoolkit[nwb]``)."""
    try:
        from pynwb import NWBHDF5IO
        from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries
    except ImportError as err:
        raise BackendNotAvailableError(
            "reading NWB files needs pynwb: pip install 'bmtoolkit[nwb]'", path=path
        ) from err
    out = []
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        stims = [s for s in nwb.stimulus.values() if isinstance(s, CurrentClampStimulusSeries)]
        for name, resp in sorted(nwb.acquisition.items()):
            if not isinstance(resp, CurrentClampSeries):
                continue
            match = [s for s in stims if s.sweep_number is not None
                     and s.sweep_number == resp.sweep_number] or [
                s for s in stims if s.name in (name, name.replace("response", "stimulus"))]  # fmt: skip
            if not match:
                raise ConfigError(f"no CurrentClampStimulusSeries for sweep {name!r}", path=path,
                                  field=f"acquisition/{name}")  # fmt: skip
            stim = match[0]
            if not resp.rate or resp.rate <= 0:
                raise ConfigError("the series has no sampling rate", path=path,
                                  field=f"acquisition/{name}/rate")  # fmt: skip
            v = np.asarray(resp.data[:], float) * resp.conversion + (resp.offset or 0.0)
            i = np.asarray(stim.data[:], float) * stim.conversion + (stim.offset or 0.0)
            out.append(Sweep(i, v, 1.0 / resp.rate, name=f"{path.name}:{name}",
                             kind=_nwb_kind(stim.description, getattr(resp, "stimulus_description",
                                                                      None), name)))  # fmt: skip
    return out


def read_sweeps(path: str | os.PathLike[str]) -> list[Sweep]:
    """All sweeps in a file, by its suffix (``.npz``, ``.csv``, ``.nwb``)."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError("sweep file does not exist", path=path)
    return SWEEP_READERS.get(path.suffix.lstrip(".").lower())(path)
