"""Sections of an SWC morphology, numbered as the bionet backend numbers them, without NEURON.

Synapse locations in SONATA edge files are ``(afferent_section_id, afferent_section_pos)``: the
index of a section in the cell's ``all`` section list and a position ``0..1`` along it. The bionet
backend builds cells with NEURON's ``Import3d`` SWC reader, so the builder must cut an SWC file
into the same sections, in the same order, with the same lengths. :func:`read_sections` does
that in numpy:

- points are sorted by id; a section is a maximal run of consecutive points, each the only child
  of the previous one and of the same SWC type (a change of type ends a section);
- the first section holds the root points (the soma); a one-point soma becomes a cylinder whose
  length equals its diameter; every other section starts at its parent point, except branches
  joined to the soma "by a wire" (a one-point soma, or an interior point of a multi-point soma),
  which start at their own first point; a neuromorpho three-point soma counts as one point;
- sections left with one point, or two equal points, are dropped (their children move to the
  parent), as NEURON does;
- ``all`` lists the sections by SWC type (1 soma, 2 axon, 3 dend, 4 apic, then ``dend_<t>``),
  each type in file order;
- with ``axon="stub"`` (what bionet's Allen model processing and NeuroML cells do) the axon
  sections are removed and two 30 um axon sections are appended at the end of ``all``.

3D points are rounded to :data:`IMPORT3D_DIGITS` significant digits with
:func:`round_significant`, as NEURON's Import3d hands them to the bionet backend, so section
lengths agree to the last bit.

Path distances are measured from the middle of the first soma section, like
``h.distance(0, 0.5, sec=soma[0])``. ``tests/builder/test_synapse_locations.py`` checks section
names, lengths, parents and distances against NEURON for every conformance morphology.

Examples
--------
>>> import pathlib, tempfile
>>> swc = pathlib.Path(tempfile.mkdtemp()) / "ball_stick.swc"
>>> _ = swc.write_text("1 1 0 0 0 5 -1\\n2 3 0 10 0 1 1\\n3 3 0 60 0 1 2\\n")
>>> tree = read_sections(swc)
>>> tree.names
('soma[0]', 'dend[0]', 'axon[0]', 'axon[1]')
>>> tree.length.round(1).tolist()
[10.0, 50.0, 30.0, 30.0]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from bmtoolkit.exceptions import ConfigError, MissingFileError, SonataFormatError

__all__ = [
    "AXON_MODES",
    "IMPORT3D_DIGITS",
    "POINT_DIGITS",
    "SECTION_ALIASES",
    "SectionTree",
    "read_sections",
    "read_swc_points",
    "round_significant",
]

#: SWC type of each accepted section-type name (BMTK and NEURON spellings)
SECTION_ALIASES = {
    "soma": 1,
    "somatic": 1,
    "axon": 2,
    "axonal": 2,
    "dend": 3,
    "basal": 3,
    "apic": 4,
    "apical": 4,
}
_TYPE_NAMES = {1: "soma", 2: "axon", 3: "dend", 4: "apic"}
#: length (um) of each of the two stub axon sections
STUB_AXON_LENGTH = 30.0
#: significant digits of the 3D points that older Import3d releases kept (``"%g"``)
POINT_DIGITS = 6
#: significant digits Import3d of current NEURON releases passes (``"%.8g"``)
IMPORT3D_DIGITS = 8


@dataclass(frozen=True)
class SectionTree:
    """Unbranched sections of a morphology in ``all`` order.

    Attributes
    ----------
    swc_type : np.ndarray
        SWC type of each section (1 soma, 2 axon, 3 basal, 4 apical).
    length : np.ndarray
        Section length (um).
    parent : np.ndarray
        Index of the parent section (-1 for the root soma).
    parent_x : np.ndarray
        Position on the parent where the section's 0 end attaches.
    names : tuple of str
        NEURON names (``soma[0]``, ``dend[3]`` ...).
    start_distance : np.ndarray
        Path distance (um) from the soma centre to each section's 0 end (``inf`` when a section
        is not connected to the soma).
    swc_offsets, swc_ids : np.ndarray
        SWC point ids of section ``s`` (its own points, without the parent point) are
        ``swc_ids[swc_offsets[s]:swc_offsets[s + 1]]`` (none for stub axon sections).
    """

    swc_type: np.ndarray
    length: np.ndarray
    parent: np.ndarray
    parent_x: np.ndarray
    names: tuple[str, ...]
    start_distance: np.ndarray
    swc_offsets: np.ndarray
    swc_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.length)

    def distance(self, section: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Path distance (um) from the soma centre to points ``x`` of sections ``section``."""
        section = np.asarray(section, dtype=np.int64)
        x = np.asarray(x, dtype=float)
        length = self.length[section]
        along = self.start_distance[section] + x * length
        root = self.parent[section] < 0
        return np.where(root, np.abs(x - 0.5) * length, along)

    def swc_point(self, section: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """BMTK's ``(afferent_swc_id, afferent_swc_pos)`` of points ``x`` of ``section``.

        With ``n`` SWC points in the section, ``place = max(0, x n - 1)``, the point is number
        ``ceil(place)`` of the section and the position is ``ceil(place) - place``; a section
        of one point gives that point and ``x``; stub axon sections give id -1 and ``x``.
        """
        section = np.asarray(section, dtype=np.int64)
        x = np.asarray(x, dtype=float)
        start = self.swc_offsets[section]
        n = self.swc_offsets[section + 1] - start
        place = np.maximum(0.0, x * n - 1.0)
        k = np.minimum(np.ceil(place).astype(np.int64), np.maximum(n - 1, 0))
        many = n > 1
        ids = np.where(n > 0, self.swc_ids[np.minimum(start + k, len(self.swc_ids) - 1)], -1)
        pos = np.where(many, k - place, x)
        return ids.astype(np.int64), pos

    def intervals(
        self, types: tuple[int, ...], d_min: float, d_max: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Parts of sections of ``types`` whose distance from the soma is in ``[d_min, d_max]``.

        Returns
        -------
        section, x_lo, x_hi : np.ndarray
            One row per part (a root section may give two parts, one on each side of 0.5).
        """
        keep = np.isin(self.swc_type, types) & np.isfinite(self.start_distance)
        idx = np.flatnonzero(keep)
        length = np.maximum(self.length[idx], 1e-300)
        root = self.parent[idx] < 0
        secs, los, his = [], [], []
        # non-root sections: distance grows linearly from start_distance
        d0 = self.start_distance[idx]
        lo = np.clip((d_min - d0) / length, 0.0, 1.0)
        hi = np.clip((d_max - d0) / length, 0.0, 1.0)
        secs.append(idx[~root])
        los.append(lo[~root])
        his.append(hi[~root])
        # root sections: distance |x - 0.5| * L on each side of the middle
        half_lo, half_hi = d_min / length[root], d_max / length[root]
        for sign in (-1.0, 1.0):
            a = np.clip(0.5 + sign * half_lo, 0.0, 1.0)
            b = np.clip(0.5 + sign * half_hi, 0.0, 1.0)
            secs.append(idx[root])
            los.append(np.minimum(a, b))
            his.append(np.maximum(a, b))
        section = np.concatenate(secs)
        x_lo, x_hi = np.concatenate(los), np.concatenate(his)
        nonempty = (x_hi - x_lo) * self.length[section] > 0
        order = np.argsort(section[nonempty], kind="stable")
        return section[nonempty][order], x_lo[nonempty][order], x_hi[nonempty][order]


def round_significant(values: ArrayLike, digits: int) -> np.ndarray:
    """Every value as ``float(f"{v:.{digits}g}")``, bit for bit, without formatting each one.

    The value is scaled by a power of ten to ``digits`` integer digits and rounded; dividing
    that integer by the (exact) power of ten is correctly rounded, so it gives the double
    nearest to the decimal ``%g`` prints. Values whose scaled fraction lies near one half,
    or whose decade is uncertain, are formatted as text instead.

    Examples
    --------
    >>> round_significant([237.4944, -0.00123456789, 0.0, 1e300], 6).tolist()
    [237.494, -0.00123457, 0.0, 1e+300]
    """
    x = np.array(values, dtype=np.float64).ravel()
    out = x.copy()
    idx = np.flatnonzero(np.isfinite(x) & (x != 0))
    ax = np.abs(x[idx])
    e = np.floor(np.log10(ax)).astype(np.int64)
    k = digits - 1 - e
    ok = np.abs(k) <= 22  # 10**k is exact
    kk = np.where(ok, k, 0)
    scale = 10.0 ** np.abs(kk)
    y = np.where(kk >= 0, ax * scale, ax / scale)
    n = np.rint(y)
    # the decade must be right (log10 can be off next to powers of ten) and no near tie
    ok &= (y >= 10.0 ** (digits - 1)) & (n <= 10.0**digits)
    ok &= np.abs(y - np.floor(y) - 0.5) > 1e-6
    r = np.where(kk >= 0, n / scale, n * scale)
    out[idx] = np.copysign(r, x[idx])
    for i in idx[~ok]:
        out[i] = float(f"{x[i]:.{digits}g}")
    return out.reshape(np.shape(values))


def read_swc_points(path: str | os.PathLike[str]) -> np.ndarray:
    """The ``(n, 7)`` rows ``id, type, x, y, z, radius, parent`` of an SWC file, sorted by id.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    SonataFormatError
        If a line is not 7 numbers or the points do not form a tree (parent id >= id).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError("morphology file not found", path=str(path))
    rows = []
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            fields = text.split()
            try:
                values = [float(v) for v in fields[:7]]
            except ValueError:
                values = []
            if len(values) != 7:
                raise SonataFormatError(
                    f"line {lineno}: expected 7 numbers 'id type x y z radius parent', "
                    f"got {text!r}",
                    path=str(path),
                )
            rows.append(values)
    if not rows:
        raise SonataFormatError("no points in SWC file", path=str(path))
    pts = np.array(rows)
    pts = pts[np.argsort(pts[:, 0], kind="stable")]
    if np.any(pts[:, 6] >= pts[:, 0]):
        bad = int(pts[np.argmax(pts[:, 6] >= pts[:, 0]), 0])
        raise SonataFormatError(
            f"point {bad}: parent id must be smaller than the point id", path=str(path)
        )
    if np.any(np.diff(pts[:, 0]) == 0):
        raise SonataFormatError("duplicate point ids", path=str(path))
    return pts


@dataclass
class _RawSection:
    first_point: int  # index of the section's first own point
    n_points: int  # own points
    swc_type: int
    parent: int  # index in the reader's section list (-1: root)
    parent_x: float
    wire: bool  # geometry starts at the own first point (no copy of the parent point)
    points: np.ndarray  # (k, 3) 3-D points, parent copy included when not a wire


def _mark_branches(typ: np.ndarray, pix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Child counts (``+0.01`` for a non-contiguous child or a type change) and proximal flags."""
    n = len(typ)
    nchild = np.zeros(n)
    to_proximal = np.zeros(n, dtype=bool)
    for i in range(n):
        p = pix[i]
        if p < 0:
            continue
        nchild[p] += 1
        if p != i - 1:
            nchild[p] += 0.01
            if p > 1:
                pp = pix[p]
                if typ[p] != 1 and pp >= 0 and typ[pp] == 1:
                    to_proximal[i] = True
                    nchild[p] = 1
            elif p == 0 and typ[p] != 1:
                to_proximal[i] = True
                nchild[p] = 1
        if typ[p] != typ[i]:
            nchild[p] += 0.01
    return nchild, to_proximal


def _three_point_soma(pts: np.ndarray, pix: np.ndarray, nchild: np.ndarray) -> bool:
    """Neuromorpho's 3-point soma (a sphere drawn as a cylinder of length = diameter)."""
    if len(pts) < 3 or pix[1] != 0 or pix[2] != 0 or nchild[1] != 0 or nchild[2] != 0:
        return False
    diam = 2.0 * pts[:3, 5]
    if diam[1] != diam[0] or diam[2] != diam[0] or diam[0] == 0:
        return False
    span = np.linalg.norm(pts[1:3, 2:5] - pts[0, 2:5], axis=1).sum()
    return abs(span / diam[0] - 1.0) < 0.01


def _raw_sections(pts: np.ndarray, where: str) -> list[_RawSection]:
    """Cut the points into sections, in point order (the reader's section list)."""
    ids = pts[:, 0].astype(np.int64)
    typ = pts[:, 1].astype(np.int64)
    xyz = pts[:, 2:5]
    pid = pts[:, 6].astype(np.int64)
    lookup = {int(v): k for k, v in enumerate(ids)}
    pix = np.array([lookup.get(int(p), -1) for p in pid], dtype=np.int64)
    if int((pix < 0).sum()) != 1 or pix[0] >= 0:
        raise SonataFormatError("the points must form a single tree with one root", path=where)
    nchild, to_proximal = _mark_branches(typ, pix)
    n = len(typ)
    soma_children = np.zeros(n, dtype=np.int64)
    is_soma = typ == 1
    for i in (np.flatnonzero(is_soma[1:]) + 1).tolist():
        p = pix[i]
        if p >= 0 and is_soma[p]:
            soma_children[p] += 1
    sphere3 = int(is_soma.sum()) == 3 and _three_point_soma(pts, pix, nchild)
    if sphere3:
        pix[2] = 1
    for i in range(n - 1):
        if is_soma[i] and is_soma[i + 1] and pix[i + 1] == i:
            if not (i != 0 and soma_children[i] > 1):
                nchild[i] = 1
    ends = np.flatnonzero(nchild != 1)
    point_sec = np.searchsorted(ends, np.arange(n), side="left")
    starts = np.concatenate([[0], ends[:-1] + 1])
    sections: list[_RawSection] = []
    for k, (first, last) in enumerate(zip(starts.tolist(), ends.tolist())):
        npts = last - first + 1
        if k == 0:
            count = 1 if sphere3 else npts
            sections.append(
                _RawSection(
                    first, count, int(typ[first]), -1, 1.0, False, xyz[first : first + count]
                )
            )
            continue
        pp = int(pix[first])
        ps = int(point_sec[pp])
        psec = sections[ps]
        psize = psec.n_points + (0 if psec.parent < 0 else 1)
        den_con_soma = psec.swc_type == 1 and typ[first] != 1
        con_soma = psec.swc_type == 1
        parent_x, wire, handled = 1.0, False, False
        if ps == 0:
            handled = True
            if den_con_soma and psize == 1:
                parent_x, wire = 0.5, npts > 1
            elif pp == psec.first_point:
                parent_x = 0.0
                wire = typ[first] != 1 and soma_children[pp] > 1
            else:
                handled = False
        if not handled and con_soma:
            offset = -1 if psec.first_point == 0 else -2
            if pp < psec.first_point + psize + offset:
                parent_x = 0.5
                wire = den_con_soma and npts > 1
            elif npts > 1 and soma_children[pp] > 1 and typ[first] != 1:
                wire = True
        if to_proximal[first]:
            parent_x = 0.0
        geom = xyz[first : last + 1] if wire else np.vstack([xyz[pp], xyz[first : last + 1]])
        sections.append(_RawSection(first, npts, int(typ[first]), ps, parent_x, wire, geom))
    return _drop_degenerate(sections)


def _drop_degenerate(sections: list[_RawSection]) -> list[_RawSection]:
    """Remove one-point and zero-length two-point sections, moving their children up."""
    alive = list(range(len(sections)))
    for k in range(len(sections) - 1, 0, -1):
        sec = sections[k]
        pts = sec.points
        if len(pts) > 2 or (len(pts) == 2 and not np.array_equal(pts[0], pts[1])):
            continue
        alive.remove(k)
        for j in range(k + 1, len(sections)):
            if sections[j].parent == k:
                sections[j].parent, sections[j].parent_x = sec.parent, sec.parent_x
    renumber = {old: new for new, old in enumerate(alive)}
    out = []
    for k in alive:
        sec = sections[k]
        sec.parent = renumber.get(sec.parent, -1)
        out.append(sec)
    return out


def _length(points: np.ndarray) -> float:
    if len(points) < 2:
        return 0.0
    # Import3d hands NEURON eight significant digits of every point (as bionet builds cells),
    # kept in single precision
    p = round_significant(points, IMPORT3D_DIGITS).astype(np.float32).astype(np.float64)
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum())


def _type_name(t: int) -> str:
    if t in _TYPE_NAMES:
        return _TYPE_NAMES[t]
    return f"minus_{-t}" if t < 0 else f"dend_{t}"


@lru_cache(maxsize=256)
def _read_cached(path: str, axon: str, mtime: float) -> SectionTree:  # noqa: ARG001 - cache key
    pts = read_swc_points(path)
    # Import3d reads the numbers of an SWC file in single precision (sscanf "%f")
    pts[:, 2:6] = pts[:, 2:6].astype(np.float32)
    raw = _raw_sections(pts, path)
    if raw[0].swc_type != 1:
        raise SonataFormatError(
            "the root point of the morphology is not a soma (type 1)", path=path
        )
    if len(raw[0].points) == 1:
        # a one-point soma is a cylinder along x whose length is its diameter
        half = np.array([float(pts[0, 5]), 0.0, 0.0])
        raw[0].points = raw[0].points[0] + np.array([-half, 0.0 * half, half])
    length = np.array([_length(s.points) for s in raw])
    swc_type = np.array([s.swc_type for s in raw], dtype=np.int64)
    parent = np.array([s.parent for s in raw], dtype=np.int64)
    parent_x = np.array([s.parent_x for s in raw])
    start = np.zeros(len(raw))
    removed = (swc_type == 2) if axon != "full" else np.zeros(len(raw), dtype=bool)
    for k in range(1, len(raw)):
        p = parent[k]
        if removed[k] or removed[p] or not np.isfinite(start[p]):
            start[k] = np.inf
        elif parent[p] < 0:
            start[k] = abs(parent_x[k] - 0.5) * length[p]
        else:
            start[k] = start[p] + parent_x[k] * length[p]
    # ``all`` order: by type, each type in reader order; removed axon sections left out
    kept = np.flatnonzero(~removed)
    order = kept[np.argsort(swc_type[kept], kind="stable")]
    new_index = np.full(len(raw), -1, dtype=np.int64)
    new_index[order] = np.arange(len(order))
    counters: dict[int, int] = {}
    names = []
    for k in order:
        t = int(swc_type[k])
        names.append(f"{_type_name(t)}[{counters.get(t, 0)}]")
        counters[t] = counters.get(t, 0) + 1
    par = np.where(parent[order] >= 0, new_index[np.maximum(parent[order], 0)], -1)
    own = [pts[s.first_point : s.first_point + s.n_points, 0].astype(np.int64) for s in raw]
    counts = [len(own[k]) for k in order]
    tree = dict(
        swc_type=swc_type[order],
        length=length[order],
        parent=par,
        parent_x=parent_x[order],
        start=start[order],
        swc_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
    )
    swc_ids = np.concatenate([own[k] for k in order]) if len(order) else np.zeros(0, np.int64)
    if axon != "full":
        at = 1.0 if axon == "stub_allactive" else 0.5
        soma = int(np.flatnonzero(tree["swc_type"] == 1)[0])
        root_start = abs(at - 0.5) * tree["length"][soma]
        tree = {
            "swc_type": np.append(tree["swc_type"], [2, 2]),
            "length": np.append(tree["length"], [STUB_AXON_LENGTH, STUB_AXON_LENGTH]),
            "parent": np.append(tree["parent"], [soma, len(order)]),
            "parent_x": np.append(tree["parent_x"], [at, 1.0]),
            "start": np.append(tree["start"], [root_start, root_start + STUB_AXON_LENGTH]),
            "swc_offsets": np.append(tree["swc_offsets"], [len(swc_ids)] * 2),
        }
        names += ["axon[0]", "axon[1]"]
    return SectionTree(
        swc_type=tree["swc_type"],
        length=tree["length"],
        parent=tree["parent"],
        parent_x=tree["parent_x"],
        names=tuple(names),
        start_distance=tree["start"],
        swc_offsets=tree["swc_offsets"],
        swc_ids=swc_ids,
    )


#: accepted ``axon`` modes of :func:`read_sections`
AXON_MODES = ("stub", "stub_allactive", "full")


def read_sections(path: str | os.PathLike[str], axon: str = "stub") -> SectionTree:
    """Sections of the SWC file ``path`` in bionet's ``all`` order (cached per file).

    Parameters
    ----------
    path : path-like
        SWC file.
    axon : {"stub", "stub_allactive", "full"}
        ``"stub"``: the reconstructed axon is replaced by two 30 um sections attached at the
        soma middle (Allen perisomatic models, NeuroML cells); ``"stub_allactive"``: the same
        attached at the soma end (Allen all-active models); ``"full"``: the reconstructed axon is
        kept (cells built from the SWC file alone).

    Raises
    ------
    ConfigError
        If ``axon`` is not one of the modes.
    MissingFileError, SonataFormatError
        If the file is missing or not a valid single-tree SWC file with a soma root.
    """
    if axon not in AXON_MODES:
        raise ConfigError(f"axon must be one of {AXON_MODES}, got {axon!r}", field="axon")
    path = Path(path)
    if not path.is_file():
        raise MissingFileError("morphology file not found", path=str(path))
    return _read_cached(str(path.resolve()), axon, path.stat().st_mtime)
