"""Stimulus sweeps of Allen Cell Types NWB files (the current clamps BMTK replays).

An Allen ephys NWB (1.x) file keeps each sweep's injected current in
``/epochs/Sweep_<n>/stimulus/timeseries``: ``data`` in amperes and ``starting_time`` whose
``rate`` attribute is the sampling rate in Hz. :func:`read_nwb_sweep` returns the
samples in nA and the sampling interval in ms.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "cell.nwb")
>>> _ = write_nwb_sweep(path, 3, np.array([0.0, 1e-10, 1e-10, 0.0]), rate=10000.0)
>>> amps, dt = read_nwb_sweep(path, 3)
>>> amps.round(6).tolist(), dt
([0.0, 0.1, 0.1, 0.0], 0.1)
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from bmtoolkit.exceptions import MissingFileError, SonataFormatError

__all__ = ["read_nwb_sweep", "sweep_name", "write_clamp_report", "write_nwb_sweep"]


def sweep_name(sweep_id: int | str) -> str:
    """``Sweep_<n>`` for a number (``55``, ``"55"``, ``55.0``), else the name as given."""
    try:
        return f"Sweep_{int(float(sweep_id))}"
    except (TypeError, ValueError):
        return str(sweep_id)


def read_nwb_sweep(path: str | Path, sweep_id: int | str) -> tuple[np.ndarray, float]:
    """``(amplitudes in nA, sampling interval in ms)`` of one stimulus sweep.

    Raises
    ------
    MissingFileError
        The file does not exist.
    SonataFormatError
        The sweep (or its ``data``/``starting_time`` rate) is missing; the message lists the
        sweeps the file has.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError("NWB stimulus file not found", path=str(path))
    name = sweep_name(sweep_id)
    with h5py.File(path, "r") as h5:
        epochs = h5.get("epochs")
        if epochs is None or name not in epochs:
            have = sorted(epochs) if epochs is not None else []
            shown = ", ".join(have[:10]) + (" ..." if len(have) > 10 else "")
            raise SonataFormatError(
                f"no sweep {name!r} in /epochs (has: {shown or 'none'})", path=str(path)
            )
        grp = epochs[name].get("stimulus/timeseries")
        if grp is None or "data" not in grp or "starting_time" not in grp:
            raise SonataFormatError(
                f"sweep {name!r} has no stimulus/timeseries with data and starting_time",
                path=str(path),
            )
        rate = grp["starting_time"].attrs.get("rate")
        if rate is None or float(rate) <= 0:
            raise SonataFormatError(
                f"sweep {name!r}: starting_time has no positive 'rate' attribute", path=str(path)
            )
        amps = np.asarray(grp["data"][()], dtype=float) * 1.0e9
    return amps, 1000.0 / float(rate)


def write_nwb_sweep(
    path: str | Path, sweep_id: int | str, amps_amperes: np.ndarray, rate: float
) -> Path:
    """Write (or add) one stimulus sweep in the Allen NWB layout (for tests and examples)."""
    path = Path(path)
    with h5py.File(path, "a") as h5:
        grp = h5.require_group(f"epochs/{sweep_name(sweep_id)}/stimulus/timeseries")
        if "data" in grp:
            del grp["data"]
        grp.create_dataset("data", data=np.asarray(amps_amperes, dtype=float))
        start = grp.require_dataset("starting_time", shape=(), dtype=float, data=0.0)
        start.attrs["rate"] = float(rate)
    return path


def write_clamp_report(
    path: str | Path, data: np.ndarray, *, tstart: float, tstop: float, dt: float
) -> Path:
    """Write clamp currents in BMTK's clamp-report layout: ``data`` ``(n_steps, n_clamps)``
    in nA, with ``tstart``/``tstop``/``dt`` attributes; written to a temporary file first.

    Examples
    --------
    >>> import os, tempfile
    >>> p = write_clamp_report(os.path.join(tempfile.mkdtemp(), "c.h5"), np.zeros((3, 2)),
    ...                        tstart=0.0, tstop=0.3, dt=0.1)
    >>> h5py.File(p, "r")["data"].shape
    (3, 2)
    """
    from bmtoolkit.sonata._h5 import atomic_write

    path = Path(path)
    with atomic_write(path) as h5:
        dset = h5.create_dataset("data", data=np.asarray(data, dtype=float))
        dset.attrs["units"] = "nA"
        for key, value in (("tstart", tstart), ("tstop", tstop), ("dt", dt)):
            dset.attrs[key] = float(value)
    return path
