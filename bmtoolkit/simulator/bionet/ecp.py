"""Extracellular potential with the line-source approximation.

Each segment is a line of uniform transmembrane current ``I`` (nA) from ``p0`` to ``p1``
(um) in a homogeneous medium of conductivity ``sigma`` (S/m). At an electrode a distance
``r`` from the line's axis, with ``h`` the signed axial distance from ``p1`` and
``l = h + L``::

    phi = I / (4 pi sigma L) * ln((sqrt(h^2 + r^2) - h) / (sqrt(l^2 + r^2) - l))

(Holt & Koch 1999). The potential of all segments adds linearly, so a transfer matrix
``T`` (electrodes x segments) maps the currents of one time step to the electrode
potentials: ``phi = T @ I``.

Examples
--------
>>> import numpy as np
>>> T = line_source_matrix(np.array([[0.0, 0, 0]]), np.array([[1e-3, 0, 0]]),
...                        np.array([[0.0, 100.0, 0.0]]))
>>> round(float(T[0, 0]) * 4 * np.pi * 0.3 * 100.0, 6)  # point-source limit: 1/(4 pi sigma r)
1.0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import MissingFileError, SonataFormatError
from bmtoolkit.simulator.bionet.translations import ECP_SCALE

__all__ = ["EcpRecorder", "line_source_matrix", "read_electrodes"]


def read_electrodes(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an electrode positions file (``channel x_pos y_pos z_pos``, space separated).

    Returns
    -------
    channel_ids : ndarray of int, positions : ndarray (n, 3) in um
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError("electrode positions file not found", path=str(path))
    try:
        table = np.genfromtxt(path, names=True, dtype=None, encoding="utf-8")
        table = np.atleast_1d(table)
        ids = np.asarray(table["channel"], dtype=np.int64)
        pos = np.column_stack(
            [np.asarray(table[c], dtype=float) for c in ("x_pos", "y_pos", "z_pos")]
        )
    except (ValueError, KeyError) as err:
        raise SonataFormatError(
            f"expected columns 'channel x_pos y_pos z_pos': {err}", path=str(path)
        ) from err
    return ids, pos


def line_source_matrix(
    p0: np.ndarray, p1: np.ndarray, electrodes: np.ndarray, *, sigma: float = 0.3
) -> np.ndarray:
    """Transfer matrix (n_electrodes, n_segments): mV per nA of segment current.

    Parameters
    ----------
    p0, p1 : ndarray (n_seg, 3)
        Segment end points in um.
    electrodes : ndarray (n_el, 3)
        Electrode positions in um.
    sigma : float
        Extracellular conductivity in S/m.
    """
    p0 = np.asarray(p0, dtype=float)
    p1 = np.asarray(p1, dtype=float)
    el = np.asarray(electrodes, dtype=float)
    axis = p1 - p0
    length = np.linalg.norm(axis, axis=1)
    length = np.where(length > 1e-9, length, 1e-9)
    unit = axis / length[:, None]
    rel = el[:, None, :] - p1[None, :, :]  # (n_el, n_seg, 3)
    hh = np.einsum("esk,sk->es", rel, unit)  # axial distance from p1
    r2 = np.maximum(np.einsum("esk,esk->es", rel, rel) - hh**2, 0.0)
    r2 = np.maximum(r2, 1e-6)  # electrodes on the axis: avoid log(0)
    ll = hh + length[None, :]
    num = np.sqrt(hh**2 + r2) - hh
    den = np.sqrt(ll**2 + r2) - ll
    return ECP_SCALE * np.log(num / den) / (4.0 * np.pi * sigma * length[None, :])


class EcpRecorder:
    """Sum the line-source potentials of this rank's cells after every time step.

    Uses NEURON's fast ``i_membrane_`` (nA per segment) gathered through a ``PtrVector``.
    """

    def __init__(
        self,
        h: Any,
        cells: list[Any],
        electrodes: np.ndarray,
        n_steps: int,
        *,
        contributions: bool = False,
    ) -> None:
        self.h = h
        h.CVode().use_fast_imem(1)
        segs, p0, p1 = [], [], []
        #: ``(first, end)`` segment range of each cell in the gathered currents
        self.bounds: list[tuple[int, int]] = []
        for cell in cells:
            geo = cell.geometry()
            first = len(segs)
            segs.extend(cell.segments())
            self.bounds.append((first, len(segs)))
            p0.append(geo.p0)
            p1.append(geo.p1)
        self.n_seg = len(segs)
        self.ptr = h.PtrVector(max(self.n_seg, 1))
        for i, seg in enumerate(segs):
            self.ptr.pset(i, seg._ref_i_membrane_)
        self.buf = h.Vector(max(self.n_seg, 1))
        self.T = (
            line_source_matrix(np.concatenate(p0), np.concatenate(p1), electrodes)
            if segs
            else np.zeros((len(electrodes), 1))
        )
        self.data = np.zeros((n_steps, len(electrodes)))
        #: per cell (``cells`` order), its own contribution when ``contributions`` is set
        self.cell_data: list[np.ndarray] = (
            [np.zeros((n_steps, len(electrodes))) for _ in cells] if contributions else []
        )
        self.step = 0
        self._handle = None

    def start(self) -> None:
        """Register the per-step callback (after ``finitialize``)."""
        self.step = 0
        self.h.CVode().extra_scatter_gather(0, self._after_step)

    def stop(self) -> None:
        """Remove the per-step callback."""
        self.h.CVode().extra_scatter_gather_remove(self._after_step)

    def _after_step(self) -> None:
        if self.step >= len(self.data) or self.n_seg == 0:
            self.step += 1
            return
        self.ptr.gather(self.buf)
        currents = self.buf.as_numpy()
        if self.cell_data:
            for (first, end), out in zip(self.bounds, self.cell_data, strict=True):
                out[self.step] = self.T[:, first:end] @ currents[first:end]
            self.data[self.step] = np.sum([d[self.step] for d in self.cell_data], axis=0)
        else:
            self.data[self.step] = self.T @ currents
        self.step += 1
