"""Morphologies on NEURON: SWC import, axon stubs, segmentation, rotations, segment geometry.

SWC files are read with NEURON's own ``Import3d`` reader into a small hoc template
(``BmtkCell``) that exposes the section arrays ``soma``, ``dend``, ``apic``, ``axon`` and the
lists ``all``, ``somatic``, ``basal``, ``apical``, ``axonal`` that fit files refer to.

3D points are handed to NEURON as this NEURON's ``Import3d`` reads them, as BMTK does with
it. The Import3d of older NEURON releases, which built the cells of the published SONATA
reference runs, handed every point to ``pt3dadd`` through ``"%g"`` (six significant digits,
:data:`POINT_DIGITS`); current releases pass eight. The difference only shows for
coordinates of 100 um and more (an SWC value such as ``237.4944`` becomes ``237.494``), but
there it changes segment areas by up to ~1e-4 relative, which is enough to move spikes by
one or two 0.1 ms steps after a few seconds of simulated time. ``load_swc(path, digits=6)``
(or ``"run": {"swc_point_digits": 6}`` in a simulation config) reproduces the older reader.

Examples
--------
>>> from bmtoolkit.simulator.bionet.morphology import section_type, n_segments
>>> n_segments(95.0, 20.0)
5
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import MissingFileError
from bmtoolkit.models.morphology import IMPORT3D_DIGITS, POINT_DIGITS, round_significant

__all__ = [
    "IMPORT3D_DIGITS",
    "POINT_DIGITS",
    "SECTION_TYPES",
    "SegmentGeometry",
    "load_swc",
    "n_segments",
    "quaternion_matrix",
    "rotation_matrix",
    "round_points",
    "section_type",
    "segment_geometry",
    "set_segments",
    "stub_axon",
]

#: section array names in SWC type order (1 soma, 2 axon, 3 basal, 4 apical)
SECTION_TYPES = ("soma", "axon", "dend", "apic")

_TEMPLATE = """
begintemplate BmtkCell
public init, soma, dend, apic, axon, all, somatic, basal, apical, axonal, import3d, drop_import3d
objref all, somatic, basal, apical, axonal, import3d, this
create soma[1], dend[1], apic[1], axon[1]
proc init() { localobj reader, gui
    all = new SectionList()
    somatic = new SectionList()
    basal = new SectionList()
    apical = new SectionList()
    axonal = new SectionList()
    forall delete_section()
    if (numarg() == 0) {
        return
    }
    reader = new Import3d_SWC_read()
    reader.quiet = 1
    reader.input($s1)
    gui = new Import3d_GUI(reader, 0)
    gui.instantiate(this)
    import3d = gui
}
proc drop_import3d() { localobj none
    import3d = none
}
endtemplate BmtkCell
"""


@cache
def _ensure_template() -> Any:
    """NEURON's ``h`` with Import3d and the ``BmtkCell`` template loaded (once per process)."""
    from neuron import h

    if not hasattr(h, "BmtkCell"):
        h.load_file("stdrun.hoc")
        h.load_file("import3d.hoc")
        h(_TEMPLATE)
    return h


def section_type(sec: Any) -> str:
    """Section array name (``soma``, ``dend``, ``apic``, ``axon``) of a NEURON section."""
    name = sec.name()
    return name.rsplit(".", 1)[-1].split("[", 1)[0]


def load_swc(
    path: str | Path,
    *,
    digits: int | None = None,
    styles: dict[str, tuple[float, float, float]] | None = None,
) -> Any:
    """Instantiate an SWC morphology as a ``BmtkCell`` hoc object.

    ``BmtkCell()`` without a file gives an empty cell (no sections, empty lists) that
    :mod:`bmtoolkit.simulator.bionet.prototypes` fills from prepared arrays.

    Parameters
    ----------
    path : str or Path
        SWC file.
    digits : int or None
        Significant digits kept of every 3D point coordinate and diameter (see the module
        notes; :data:`POINT_DIGITS` for the older Import3d); ``None`` (default) keeps what
        this NEURON's Import3d passes to NEURON, as BMTK does.
    styles : dict, optional
        Filled with the logical connection point (``pt3dstyle``) set on each section, by
        section name (NEURON cannot report it back).

    Raises
    ------
    MissingFileError
        If the file does not exist.

    Examples
    --------
    >>> cell = load_swc("Scnn1a_473845048_m.swc")  # doctest: +SKIP
    >>> len(list(cell.all))  # doctest: +SKIP
    95
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError("morphology file not found", path=str(path))
    h = _ensure_template()
    hobj = h.BmtkCell(str(path))
    if digits is not None:
        round_points(hobj, hobj.import3d, digits, styles=styles)
    elif styles is not None:  # the same points again, to learn the connection points
        round_points(hobj, hobj.import3d, IMPORT3D_DIGITS, styles=styles)
    hobj.drop_import3d()  # the reader's copy of the file is no longer needed
    return hobj


def round_points(
    hobj: Any,
    gui: Any,
    digits: int = POINT_DIGITS,
    *,
    styles: dict[str, tuple[float, float, float]] | None = None,
) -> int:
    """Rewrite the 3D points of an instantiated cell from Import3d's data, rounded.

    Every section that Import3d created from a list of points gets those points (the values
    Import3d read, not NEURON's single-precision copies of them) rounded to ``digits`` significant
    digits, as is its logical connection point (``pt3dstyle``); a single-point section gets
    the three-point cylinder along x that Import3d makes of it. Sections outlined by contours
    are left as they are. Returns the number of sections rewritten; ``styles`` (optional)
    receives the connection points set, by section name.

    Examples
    --------
    >>> h = _ensure_template()  # doctest: +SKIP
    >>> cell = h.BmtkCell("Pvalb_470522102_m.swc")  # doctest: +SKIP
    >>> round_points(cell, cell.import3d, 6)  # doctest: +SKIP
    38
    """
    h = _ensure_template()
    name = h.ref("")
    targets, blocks, style_rows = [], [], []
    for isec in gui.swc.sections:
        if isec.is_subsidiary or isec.iscontour_:
            continue
        gui.name(isec, name)
        array, _, index = name[0].partition("[")
        sec = getattr(hobj, array)[int(index.rstrip("]")) if index else 0]
        first = int(isec.first)
        raw = isec.raw
        vectors = [raw.getrow(k) for k in range(3)] + [isec.d]  # alive while viewed
        rows = [v.as_numpy() for v in vectors]
        points = np.column_stack(rows)[first:]
        if len(points) == 1:  # Import3d's cylinder of length and diameter d along x
            x, y, z, d = points[0]
            points = np.array([[x - d / 2, y, z, d], [x, y, z, d], [x + d / 2, y, z, d]])
        if len(points) != int(h.n3d(sec=sec)):
            continue
        targets.append(sec)
        blocks.append(points)
        style_rows.append([float(r[0]) for r in rows[:3]] if first == 1 else None)
    if not targets:
        return 0
    columns = np.ascontiguousarray(round_significant(np.concatenate(blocks), digits).T)
    bounds = np.cumsum([0] + [len(b) for b in blocks])
    style_values = round_significant([v for v in style_rows if v is not None], digits).tolist()
    styled = iter(style_values)
    for sec, lo, hi, style in zip(targets, bounds[:-1], bounds[1:], style_rows, strict=True):
        xs, ys, zs, ds = (h.Vector(columns[c, lo:hi]) for c in range(4))
        h.pt3dclear(sec=sec)
        h.pt3dadd(xs, ys, zs, ds, sec=sec)
        if style is not None:
            point = next(styled)
            h.pt3dstyle(1, *point, sec=sec)
            if styles is not None:
                styles[sec.name()] = tuple(point)
    return len(targets)


def stub_axon(hobj: Any, *, style: str = "perisomatic", shape: bool = True) -> None:
    """Replace the reconstructed axon by two 30 um sections, as the Allen models do.

    ``perisomatic``: diameter 1 um, attached at the soma centre. ``allactive``: the first
    and last reconstructed axon diameters, attached at the soma end (x = 1). The stub gets
    its 3D points from NEURON's ``define_shape``, which visits every section of the model;
    ``shape=False`` leaves that to one call after many cells are built.
    """
    h = _ensure_template()
    axons = list(hobj.axon) if _has_sections(hobj, "axon") else []
    diams = [1.0, 1.0]
    if style == "allactive" and axons:
        diams = [axons[0].diam, axons[-1].diam]
    for sec in axons:
        h.delete_section(sec=sec)
    h.execute("create axon[2]", hobj)
    for sec, diam in zip(hobj.axon, diams, strict=True):
        sec.L = 30
        sec.diam = diam
        hobj.axonal.append(sec=sec)
        hobj.all.append(sec=sec)
    at = 1.0 if style == "allactive" else 0.5
    hobj.axon[0].connect(hobj.soma[0](at), 0)
    hobj.axon[1].connect(hobj.axon[0](1), 0)
    if shape:
        h.define_shape()


def _has_sections(hobj: Any, name: str) -> bool:
    try:
        return len(list(getattr(hobj, name))) > 0
    except (AttributeError, RuntimeError):
        return False


def n_segments(length: float, dL: float) -> int:
    """Odd segment count ``1 + 2*int(L/(2*dL))`` so every segment is at most about ``dL``."""
    return 1 + 2 * int(length / (2.0 * dL))


def set_segments(hobj: Any, dL: float) -> int:
    """Set ``nseg`` of every section from ``dL`` (um); return the total segment count."""
    total = 0
    for sec in hobj.all:
        sec.nseg = n_segments(sec.L, dL)
        total += sec.nseg
    return total


def rotation_matrix(rx: float = 0.0, ry: float = 0.0, rz: float = 0.0) -> np.ndarray:
    """Rotation about the world axes, z first, then y, then x (angles in radians).

    Examples
    --------
    >>> np.round(rotation_matrix(rz=np.pi / 2) @ [1.0, 0.0, 0.0], 12).tolist()
    [0.0, 1.0, 0.0]
    """
    cx, sx, cy, sy, cz, sz = np.cos(rx), np.sin(rx), np.cos(ry), np.sin(ry), np.cos(rz), np.sin(rz)
    mx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    my = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    mz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return mx @ my @ mz


def quaternion_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    """Rotation matrix of the (normalised) quaternion ``w + xi + yj + zk``.

    Examples
    --------
    >>> np.round(quaternion_matrix(np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)) @ [1, 0, 0], 12)
    array([0., 1., 0.])
    """
    q = np.array([w, x, y, z], dtype=float)
    norm = np.linalg.norm(q)
    if norm == 0:
        return np.eye(3)
    w, x, y, z = q / norm
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


@dataclass(frozen=True)
class SegmentGeometry:
    """Start/end points (um) and diameters of every segment of a cell, in ``all`` order."""

    p0: np.ndarray  # (n_seg, 3)
    p1: np.ndarray  # (n_seg, 3)
    diam: np.ndarray  # (n_seg,)
    #: segment centres on the section's path (half way along its arc length), (n_seg, 3)
    centre: np.ndarray | None = None

    @property
    def mid(self) -> np.ndarray:
        """Segment midpoints, (n_seg, 3)."""
        return 0.5 * (self.p0 + self.p1)


def segment_geometry(
    hobj: Any, *, position: np.ndarray | None = None, rotation: np.ndarray | None = None
) -> SegmentGeometry:
    """Segment end points from the 3D points, soma-centred, rotated, then moved to ``position``."""
    h = _ensure_template()
    starts, ends, centres, diams = [], [], [], []
    soma = hobj.soma[0]
    n = int(h.n3d(sec=soma))
    origin = np.zeros(3)
    if n:
        origin = np.array(
            [np.mean([f(i, sec=soma) for i in range(n)]) for f in (h.x3d, h.y3d, h.z3d)]
        )
    for sec in hobj.all:
        npt = int(h.n3d(sec=sec))
        if npt < 2:
            continue
        pts = np.array(
            [[h.x3d(i, sec=sec), h.y3d(i, sec=sec), h.z3d(i, sec=sec)] for i in range(npt)]
        )
        arc = np.array([h.arc3d(i, sec=sec) for i in range(npt)])
        arc = arc / arc[-1] if arc[-1] > 0 else np.linspace(0, 1, npt)
        edges = np.linspace(0, 1, sec.nseg + 1)
        xyz = np.column_stack([np.interp(edges, arc, pts[:, k]) for k in range(3)])
        starts.append(xyz[:-1])
        ends.append(xyz[1:])
        halves = 0.5 * (edges[:-1] + edges[1:])
        centres.append(np.column_stack([np.interp(halves, arc, pts[:, k]) for k in range(3)]))
        diams.extend(seg.diam for seg in sec)
    p0 = np.concatenate(starts) - origin
    p1 = np.concatenate(ends) - origin
    mid = np.concatenate(centres) - origin
    if rotation is not None:
        p0, p1, mid = p0 @ rotation.T, p1 @ rotation.T, mid @ rotation.T
    if position is not None:
        p0, p1, mid = p0 + position, p1 + position, mid + position
    return SegmentGeometry(p0=p0, p1=p1, diam=np.asarray(diams, dtype=float), centre=mid)
