"""Extracellular potentials computed by COMSOL, imposed on detailed cells (BMTK's ``comsol``).

Config entry::

    "Extracellular_Stim": {
        "input_type": "lfp", "module": "comsol", "node_set": "all",
        "comsol_files": ["$STIM_DIR/COMSOL_1c.txt"], "waveforms": ["$STIM_DIR/waveform.csv"],
        "amplitudes": [1.0]
    }

A COMSOL file is COMSOL's text export: ``%`` header lines, the last naming the columns
(``x y z V (mV)`` for a stationary study, ``x y z V (mV) @ t=0 V (mV) @ t=0.005 ...`` for a
time-dependent one, times in s; potentials in V are converted to mV), then one row per mesh
node (coordinates in um).

- With ``waveforms`` (stationary studies, one per file): each file's potential is interpolated
  linearly at every segment centre (0 outside the mesh), multiplied by its waveform (a ``time
  amplitude`` table, repeated with its own period, or a ``dc``/``sin`` dict) and its amplitude
  (default 1), and the files add up.
- Without (one time-dependent study): each segment takes the potential of its nearest mesh
  node, resampled to the run's ``dt`` and repeated with the study's period, times
  ``amplitudes`` (default 1).

As in BMTK, the potential set after step ``k`` (1 after the first) is the one at time
``(k - 1) dt`` of the (repeated) stimulus, and every section of the stimulated cells gets
NEURON's ``extracellular`` mechanism. BMTK's example configs spell the keys ``comsol_file`` and
``waveform``; both spellings are read. Needs scipy.

Examples
--------
>>> import io
>>> text = "% x   y   z   V (V)\\n0 0 0 0.5\\n1 0 0 1.0\\n"
>>> times, table = read_comsol(io.StringIO(text))
>>> times, table[:, 3].tolist()
(None, [500.0, 1000.0])
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError, SonataFormatError
from bmtoolkit.simulator.bionet.xstim import Waveform
from bmtoolkit.simulator.core.registries import INPUT_MODULES

__all__ = ["ComsolField", "ComsolInput", "read_comsol"]

_TIME = re.compile(r"t\s*=\s*([-+0-9.eE]+)")


def read_comsol(source: Any) -> tuple[np.ndarray | None, np.ndarray]:
    """Read a COMSOL text export.

    Returns
    -------
    times : numpy.ndarray or None
        Times of the potential columns (ms) for a time-dependent study, else ``None``.
    table : numpy.ndarray
        ``(n_nodes, 3 + n_columns)``: x, y, z (um) and the potentials (mV).
    """
    text = source.read() if hasattr(source, "read") else Path(source).read_text(errors="replace")
    lines = text.splitlines()
    header = [ln for ln in lines if ln.lstrip().startswith("%")]
    rows = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith("%")]
    if not header or not rows:
        raise SonataFormatError("not a COMSOL export: no '%' header or no data rows", path=None)
    columns = [c for c in re.split(r"\s{3,}", header[-1].lstrip("% ").strip()) if c]
    table = np.loadtxt(io.StringIO("\n".join(rows)), ndmin=2)
    if table.shape[1] < 4:
        raise SonataFormatError("a COMSOL export needs x, y, z and potential columns", path=None)
    potentials = columns[3:] if len(columns) >= table.shape[1] else ["V (mV)"]
    if potentials and re.search(r"\(\s*V\s*\)", potentials[0]):
        table[:, 3:] *= 1000.0  # V -> mV
    if table.shape[1] == 4:
        return None, table
    times = []
    for name in potentials:
        match = _TIME.search(name)
        if match is None:
            raise SonataFormatError(f"COMSOL column {name!r} names no time 't='", path=None)
        times.append(1000.0 * float(match.group(1)))
    return np.asarray(times), table


@dataclass(frozen=True)
class ComsolInput:
    """A ``comsol`` input: the studies, their waveforms (``None``: one time-dependent study)
    and amplitudes."""

    name: str
    node_set: Any
    files: tuple[Path, ...]
    waveforms: tuple[Waveform, ...] | None
    amplitudes: tuple[float, ...]
    params: Mapping[str, Any] = field(default_factory=dict)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _load(cfg: Any, plan: Any) -> ComsolInput:
    params = dict(getattr(cfg, "params", None) or {})
    where = {"path": getattr(plan, "config_path", None), "field": f"inputs.{cfg.name}"}
    files = params.get("comsol_files", params.get("comsol_file"))
    if files is None:
        raise ConfigError("comsol needs 'comsol_files' (COMSOL text exports)", **where)
    paths = []
    for f in _as_list(files):
        if not Path(f).is_file():
            raise MissingFileError(
                f"COMSOL file {str(f)!r} of input {cfg.name!r} not found", **where
            )
        paths.append(Path(f))
    waves = params.get("waveforms", params.get("waveform"))
    waveforms = None
    if waves is not None:
        waveforms = tuple(Waveform.from_config(w, where) for w in _as_list(waves))
        if len(waveforms) != len(paths):
            raise ConfigError(f"{len(paths)} COMSOL files but {len(waveforms)} waveforms", **where)
    elif len(paths) != 1:
        raise ConfigError("without waveforms, give one time-dependent COMSOL file", **where)
    amps = [float(a) for a in _as_list(params.get("amplitudes", 1.0))]
    if len(amps) == 1:
        amps = amps * len(paths)
    if len(amps) != len(paths):
        raise ConfigError(f"{len(paths)} COMSOL files but {len(amps)} amplitudes", **where)
    return ComsolInput(
        cfg.name,
        getattr(cfg, "node_set", None) or "all",
        tuple(paths),
        waveforms,
        tuple(amps),
        params,
    )


class ComsolField:
    """The extracellular potential of a :class:`ComsolInput` at the segment centres."""

    def __init__(self, stim: ComsolInput, dt: float) -> None:
        self.stim, self.dt = stim, float(dt)
        self.patterns: list[np.ndarray] = []
        self.periods: list[int | None] = []
        self.series: np.ndarray | None = None

    def prepare_cell(self, centres: np.ndarray, where: str) -> None:  # noqa: ARG002
        """Nothing per cell (all segments are interpolated at once)."""

    def prepare(self, centres: np.ndarray) -> None:
        """Interpolate every study at the segment centres."""
        try:
            from scipy.interpolate import LinearNDInterpolator
            from scipy.spatial import cKDTree
        except ImportError as err:  # pragma: no cover - scipy ships with the test environment
            raise ConfigError("the comsol input needs scipy: pip install scipy") from err
        if self.stim.waveforms is None:
            times, table = read_comsol(self.stim.files[0])
            if times is None:
                raise ConfigError(
                    f"{self.stim.files[0]}: a stationary study needs 'waveforms'",
                    field=f"inputs.{self.stim.name}",
                )
            nearest = cKDTree(table[:, :3]).query(centres)[1] if len(centres) else []
            grid = np.arange(times[0], times[-1] + self.dt / 2, self.dt)
            used = table[nearest, 3:] if len(centres) else np.zeros((0, len(times)))
            self.series = (
                np.array([np.interp(grid, times, row) for row in used]).reshape(
                    len(centres), len(grid)
                )
                * self.stim.amplitudes[0]
            )
            self.periods = [max(int((grid[-1] - grid[0]) / self.dt), 1)]
            return
        for path, wave in zip(self.stim.files, self.stim.waveforms, strict=True):
            times, table = read_comsol(path)
            if times is not None:
                raise ConfigError(
                    f"{path}: with waveforms each COMSOL file must be a stationary study",
                    field=f"inputs.{self.stim.name}",
                )
            values = LinearNDInterpolator(table[:, :3], table[:, 3])(centres)
            self.patterns.append(np.nan_to_num(np.asarray(values, dtype=float), nan=0.0))
            period = None
            if wave.table is not None:
                duration = wave.table[0][-1] - wave.table[0][0]
                period = int(round(duration / self.dt)) + 1
            self.periods.append(period)

    def values(self, step: int) -> np.ndarray:
        """Potentials (mV) after ``step`` steps (BMTK's step index is ``step - 1``)."""
        k = step - 1
        if self.series is not None:
            return self.series[:, k % self.periods[0]]
        out = np.zeros(len(self.patterns[0]) if self.patterns else 0)
        for pattern, wave, amp, period in zip(
            self.patterns,
            self.stim.waveforms or (),
            self.stim.amplitudes,
            self.periods,
            strict=True,
        ):
            t = (k % period if period else k) * self.dt
            out += pattern * wave(t) * amp
        return out


if "comsol" not in INPUT_MODULES:
    INPUT_MODULES.register("comsol", _load)
