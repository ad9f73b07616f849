"""Extracellular stimulation by point electrodes (BMTK's ``xstim`` input module).

Config entry (BMTK's keys)::

    "Extracellular_Stim": {
        "input_type": "lfp", "module": "xstim", "node_set": "all",
        "positions_file": "$STIM_DIR/485058595_0000.csv", "mesh_files_dir": "$STIM_DIR",
        "resistance": 300.0,
        "waveform": {"shape": "sin", "del": 1000.0, "amp": 0.1, "dur": 2000.0, "freq": 8.0}
    }

``positions_file`` is a space-separated table with ``pos_x pos_y pos_z`` (um) and
``rotation_x rotation_y rotation_z`` (radians) per electrode and optionally
``electrode_mesh_file``: a table ``x_pos y_pos z_pos`` of the points of that electrode (read from
``mesh_files_dir``, default the folder of the positions file). Without it an electrode is one
point. Each mesh is rotated (x, then y, then z, about the world axes), then moved so its mean
lies on the electrode position; the current of an electrode is shared equally by its points.

The extracellular medium has resistivity ``resistance`` (ohm cm, default 300). Every section
of the stimulated cells gets NEURON's ``extracellular`` mechanism, and after each time step the
potential at each segment centre is set to ``amp(t) * sum over points of
resistance / (4 pi r) * 0.01 * 1e6`` (r in um, to mV for ``amp`` in mA), as BMTK sets it;
``amp(t)`` is the waveform at the time reached, so the potential applies to the next step.
Waveforms: ``dc`` (``amp`` between ``del`` and ``del + dur``, exclusive), ``sin`` (``amp *
sin(2 pi freq t + phase) + offset`` in that window; ``freq`` Hz, ``phase`` default pi), or a
file: ``.csv`` (``time amplitude``, interpolated) or ``.json`` (one of the above).

Examples
--------
>>> wave = Waveform.from_config({"shape": "dc", "amp": 0.5, "del": 10.0, "dur": 5.0})
>>> [wave(t) for t in (10.0, 12.0, 15.0)]
[0.0, 0.5, 0.0]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.simulator.core.registries import INPUT_MODULES

__all__ = [
    "ElectrodeField",
    "Electrodes",
    "ExtracellularDriver",
    "ExtracellularStimInput",
    "Waveform",
    "XStim",
]

#: an electrode point closer than this (um) to a segment centre is refused, as in BMTK
MIN_DISTANCE_UM = 10.0


@dataclass(frozen=True)
class Waveform:
    """Stimulus amplitude as a function of time (ms)."""

    shape: str
    amp: float = 0.0
    delay: float = 0.0
    duration: float = 0.0
    freq: float = 0.0
    phase: float = math.pi
    offset: float = 0.0
    table: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_config(cls, value: Any, where: Mapping[str, Any] | None = None) -> Waveform:
        """From a dict (``shape`` ``dc``/``sin``) or a ``.csv``/``.json`` file path."""
        where = dict(where or {})
        if isinstance(value, str | Path):
            path = Path(value)
            if not path.is_file():
                raise MissingFileError(f"waveform file {str(path)!r} not found", **where)
            if path.suffix == ".csv":
                import pandas as pd

                df = pd.read_csv(path, sep=r"\s+")
                if not {"time", "amplitude"} <= set(df.columns):
                    raise ConfigError(
                        f"waveform table needs columns 'time amplitude', has {list(df.columns)}",
                        path=path,
                    )
                return cls(
                    "table", table=(df["time"].to_numpy(float), df["amplitude"].to_numpy(float))
                )
            if path.suffix == ".json":
                value = json.loads(path.read_text())
            else:
                raise ConfigError(f"waveform file {path.name!r}: expected .csv or .json", **where)
        if not isinstance(value, Mapping):
            raise ConfigError("waveform must be a dict or a .csv/.json file", **where)
        shape = str(value.get("shape", "")).lower()
        if shape not in ("dc", "sin"):
            raise ConfigError(f"waveform shape {value.get('shape')!r}; expected dc or sin", **where)
        try:
            return cls(
                shape,
                amp=float(value["amp"]),
                delay=float(value["del"]),
                duration=float(value["dur"]),
                freq=float(value.get("freq", 0.0)) if shape == "sin" else 0.0,
                phase=float(value.get("phase", math.pi)),
                offset=float(value.get("offset", 0.0)),
            )
        except KeyError as err:
            raise ConfigError(f"waveform needs {err.args[0]!r}", **where) from err

    def __call__(self, t: float) -> float:
        """Amplitude at time ``t`` (ms)."""
        if self.table is not None:
            return float(np.interp(t, *self.table))
        if not self.delay < t < self.delay + self.duration:
            return 0.0
        if self.shape == "dc":
            return self.amp
        return self.amp * math.sin(2 * math.pi * self.freq / 1000.0 * t + self.phase) + self.offset


@dataclass(frozen=True)
class Electrodes:
    """Points of every electrode (world coordinates, um): ``points[i]`` is ``(n_i, 3)``."""

    points: tuple[np.ndarray, ...]

    @classmethod
    def read(cls, positions_file: Path, mesh_dir: Path | None = None) -> Electrodes:
        """Read a positions table and the mesh files it names."""
        import pandas as pd

        from bmtoolkit.simulator.bionet.morphology import rotation_matrix

        table = pd.read_csv(positions_file, sep=r"\s+")
        needed = ["pos_x", "pos_y", "pos_z", "rotation_x", "rotation_y", "rotation_z"]
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise ConfigError(f"electrode table lacks columns {missing}", path=positions_file)
        mesh_dir = Path(mesh_dir) if mesh_dir is not None else Path(positions_file).parent
        points = []
        for _, row in table.iterrows():
            mesh = np.zeros((1, 3))
            name = row.get("electrode_mesh_file")
            if isinstance(name, str) and name:
                path = Path(name) if Path(name).is_absolute() else mesh_dir / name
                if not path.is_file():
                    raise MissingFileError(f"electrode mesh file {name!r} not found", path=path)
                df = pd.read_csv(path, sep=r"\s+")
                mesh = df[["x_pos", "y_pos", "z_pos"]].to_numpy(float)
            rot = rotation_matrix(row["rotation_x"], row["rotation_y"], row["rotation_z"])
            mesh = mesh @ rot.T
            position = row[["pos_x", "pos_y", "pos_z"]].to_numpy(float)
            points.append(mesh - mesh.mean(axis=0) + position)
        return cls(tuple(points))

    def transfer(self, centres: np.ndarray, rho: float, where: str = "") -> np.ndarray:
        """Potential (mV) at each of ``centres`` (n, 3) per mA of waveform amplitude."""
        out = np.zeros(len(centres))
        for points in self.points:
            r = np.linalg.norm(centres[None, :, :] - points[:, None, :], axis=2)
            if (r < MIN_DISTANCE_UM).any():
                raise ConfigError(
                    f"an xstim electrode is {r.min():.1f} um from a segment of {where}; "
                    f"it must be at least {MIN_DISTANCE_UM} um away"
                )
            out += (1.0 / r).sum(axis=0) / len(points)
        return out * rho / (4.0 * math.pi) * 0.01 * 1e6


@dataclass(frozen=True)
class ExtracellularStimInput:
    """An ``xstim`` input: electrodes, waveform and medium resistivity."""

    name: str
    node_set: Any
    electrodes: Electrodes
    waveform: Waveform
    resistance: float = 300.0
    params: Mapping[str, Any] = field(default_factory=dict)


def _load_xstim(cfg: Any, plan: Any) -> ExtracellularStimInput:
    params = dict(getattr(cfg, "params", None) or {})
    where = {"path": getattr(plan, "config_path", None), "field": f"inputs.{cfg.name}"}
    positions = params.get("positions_file")
    if positions is None:
        raise ConfigError("xstim needs 'positions_file'", **where)
    if not Path(positions).is_file():
        raise MissingFileError(
            f"positions_file {str(positions)!r} of input {cfg.name!r} does not exist", **where
        )
    mesh_dir = params.get("mesh_files_dir")
    if "waveform" not in params:
        raise ConfigError("xstim needs 'waveform'", **where)
    return ExtracellularStimInput(
        cfg.name,
        getattr(cfg, "node_set", None) or "all",
        Electrodes.read(Path(positions), None if mesh_dir is None else Path(mesh_dir)),
        Waveform.from_config(params["waveform"], where),
        float(params.get("resistance", 300.0)),
        params,
    )


class ExtracellularDriver:
    """Sets ``e_extracellular`` of the segments of ``cells`` after every time step to
    ``field(step, centres)`` (mV), ``step`` counting the steps taken (1 after the first).

    ``field`` has ``prepare(centres)`` (segment centres, (n, 3) um, ``all`` order of each cell
    in turn) and ``values(step) -> (n,)``. Every section gets the ``extracellular`` mechanism.
    """

    def __init__(self, h: Any, cells: list[Any], field: Any) -> None:
        self.h, self.field = h, field
        self.segments: list[Any] = []
        centres = []
        for cell in cells:
            for sec in cell.sections:
                sec.insert("extracellular")
            segs = cell.segments()
            geometry = cell.geometry()
            mid = geometry.centre if geometry.centre is not None else geometry.mid
            if len(mid) != len(segs):
                raise ConfigError(
                    f"node {cell.spec.node_id} of {cell.spec.population!r}: sections without 3D "
                    "points cannot be placed in an extracellular field",
                    path=cell.spec.where,
                )
            field.prepare_cell(mid, f"node {cell.spec.node_id} of {cell.spec.population!r}")
            centres.append(mid)
            self.segments.extend(segs)
        field.prepare(np.concatenate(centres) if centres else np.zeros((0, 3)))
        self.ptr = h.PtrVector(max(len(self.segments), 1))
        update = getattr(self.ptr, "ptr_update_callback", None)  # NEURON < 9 moves pointers
        if update is not None:
            update(self._set_pointers)
        self._set_pointers()
        self.values = h.Vector(max(len(self.segments), 1))
        self.step = 0

    def _set_pointers(self) -> None:
        for i, seg in enumerate(self.segments):
            self.ptr.pset(i, seg._ref_e_extracellular)

    def start(self) -> None:
        """Register the per-step update (after ``finitialize``)."""
        self.step = 0
        self.h.CVode().extra_scatter_gather(0, self._after_step)

    def stop(self) -> None:
        """Remove the per-step update."""
        self.h.CVode().extra_scatter_gather_remove(self._after_step)

    def _after_step(self) -> None:
        self.step += 1
        if not self.segments:
            return
        self.values.from_python(self.field.values(self.step))
        self.ptr.scatter(self.values)


class ElectrodeField:
    """The potential of :class:`ExtracellularStimInput`'s electrodes: after step ``k`` the
    waveform at ``tstart + k dt`` times each segment's transfer potential (as BMTK)."""

    def __init__(self, stim: ExtracellularStimInput, dt: float, tstart: float = 0.0) -> None:
        self.stim, self.dt, self.tstart = stim, float(dt), float(tstart)
        self._parts: list[np.ndarray] = []
        self.weights = np.zeros(0)

    def prepare_cell(self, centres: np.ndarray, where: str) -> None:
        """Transfer potentials of one cell's segments (checks the minimum distance)."""
        self._parts.append(self.stim.electrodes.transfer(centres, self.stim.resistance, where))

    def prepare(self, centres: np.ndarray) -> None:  # noqa: ARG002 - per cell already
        """All cells prepared."""
        self.weights = np.concatenate(self._parts) if self._parts else np.zeros(0)

    def values(self, step: int) -> np.ndarray:
        """Potentials (mV) after ``step`` steps."""
        return self.stim.waveform(self.tstart + step * self.dt) * self.weights


def XStim(h: Any, cells: list[Any], stim: ExtracellularStimInput, dt: float) -> ExtracellularDriver:  # noqa: N802
    """The driver of an ``xstim`` input on ``cells``."""
    return ExtracellularDriver(h, cells, ElectrodeField(stim, dt))


if "xstim" not in INPUT_MODULES:
    INPUT_MODULES.register("xstim", _load_xstim)
