"""Detailed cells made from prepared morphologies: each SWC file is read once per run.

Reading an SWC file with Import3d and rounding its points costs tens of milliseconds, and
the axon stub of the Allen models ends with NEURON's ``define_shape``, which visits every
section of the model, so building cell after cell that way grows with the square of the
network. A :class:`CellFactory` builds one *prototype* per (morphology file, axon
treatment), reads back its section tree, 3D points, lengths and section lists into a
:class:`PreparedMorphology`, lets the prototype go, and makes every cell of that morphology
from the arrays: the section arrays, one ``pt3dadd`` from vectors per section (the axon
stub gets ``L`` and ``diam``, and its 3D points from one ``define_shape`` for all cells in
:meth:`CellFactory.finish`), the
connections replayed so that each parent lists its children in the prototype's order (NEURON
orders a cell's nodes, and so its arithmetic, from those lists), and the section lists in the
prototype's order (SONATA ``sec_id`` values index ``all``). A made cell has the prototype's
points, lengths, areas and node order exactly; biophysics and segment counts are then applied
as they were to the prototype.

Examples
--------
>>> factory = CellFactory()  # doctest: +SKIP
>>> hobj, sections = factory.make("Scnn1a_473845048_m.swc", axon="perisomatic")  # doctest: +SKIP
>>> len(sections), factory.prepared  # doctest: +SKIP
(95, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.simulator.bionet.morphology import (
    SECTION_TYPES,
    _ensure_template,
    load_swc,
    n_segments,
    stub_axon,
)

__all__ = ["SECTION_LISTS", "CellFactory", "PreparedMorphology", "prepare_morphology"]

#: section lists of the ``BmtkCell`` template besides ``all``
SECTION_LISTS = ("somatic", "basal", "apical", "axonal")


@dataclass(frozen=True)
class PreparedMorphology:
    """A cell's section tree and 3D points as arrays, in the order of its ``all`` list.

    Attributes
    ----------
    arrays : tuple of (str, int)
        Size of each section array (``soma``, ``dend``, ``apic``, ``axon``) that has sections.
    names : tuple of (str, int)
        Array name and index of every section, in ``all`` order.
    lists : tuple of (str, tuple of int)
        Members of ``somatic``, ``basal``, ``apical``, ``axonal`` (indices into ``names``).
    connects : tuple of (int, int, float, float)
        ``(child, parent, parent_x, child_end)`` in the order to replay them.
    points : ndarray
        ``(n, 4)`` x, y, z, diameter of all 3D points; section ``i`` holds rows
        ``bounds[i]:bounds[i + 1]``.
    bounds : ndarray
        Row offsets into ``points`` (length ``len(names) + 1``).
    styles : tuple of (int, float, float, float)
        Logical connection points (``pt3dstyle``) by section index.
    lengths, diams : ndarray
        ``L`` of every section; ``diam`` used for sections without 3D points.
    source : str
        Where it came from (for messages).
    """

    arrays: tuple[tuple[str, int], ...]
    names: tuple[tuple[str, int], ...]
    lists: tuple[tuple[str, tuple[int, ...]], ...]
    connects: tuple[tuple[int, int, float, float], ...]
    points: np.ndarray
    bounds: np.ndarray
    styles: tuple[tuple[int, float, float, float], ...]
    lengths: np.ndarray
    diams: np.ndarray
    source: str = ""

    @property
    def n_sections(self) -> int:
        """Number of sections."""
        return len(self.names)

    def n_segments(self, dL: float) -> np.ndarray:
        """``nseg`` of every section for a maximum segment length ``dL`` (um).

        The same odd counts as :func:`~bmtoolkit.simulator.bionet.morphology.n_segments`.
        """
        return np.array([n_segments(float(length), dL) for length in self.lengths], dtype=int)


def _array_index(sec: Any) -> tuple[str, int]:
    tail = sec.name().rsplit(".", 1)[-1]
    array, _, index = tail.partition("[")
    return array, int(index.rstrip("]")) if index else 0


def prepare_morphology(
    hobj: Any, styles: dict[str, tuple[float, float, float]] | None = None, source: str = ""
) -> PreparedMorphology | None:
    """Read back the sections of an instantiated ``BmtkCell`` as a :class:`PreparedMorphology`.

    Returns ``None`` when the cell cannot be remade from arrays (a section connected to it
    but outside ``all``, or outside the four section arrays); such cells are then built one
    by one.
    """
    sections = list(hobj.all)
    index = {sec: i for i, sec in enumerate(sections)}
    names = [_array_index(sec) for sec in sections]
    arrays = []
    for array in SECTION_TYPES:
        indices = sorted(i for name, i in names if name == array)
        if indices != list(range(len(indices))):
            return None
        if indices:
            arrays.append((array, len(indices)))
    if not sections or sum(n for _, n in arrays) != len(sections):  # outside the arrays
        return None
    tree = _ensure_template().SectionList()
    tree.wholetree(sec=sections[0])
    if len(list(tree)) != len(sections):  # a section connected to the cell but not in all
        return None
    connects = []
    for i, sec in enumerate(sections):
        for child in reversed(list(sec.children())):  # a connect puts the child first
            if child not in index:
                return None
            connects.append((index[child], i, float(child.parentseg().x), child.orientation()))
    lists = tuple(
        (name, tuple(index[sec] for sec in getattr(hobj, name))) for name in SECTION_LISTS
    )
    blocks, bounds = [], [0]
    for sec in sections:
        n = int(sec.n3d())
        block = np.array(
            [[sec.x3d(k), sec.y3d(k), sec.z3d(k), sec.diam3d(k)] for k in range(n)], dtype=float
        )
        blocks.append(block.reshape(n, 4))
        bounds.append(bounds[-1] + n)
    by_name = {sec.name(): i for i, sec in enumerate(sections)}
    style_rows = tuple(
        (by_name[name], *map(float, point))
        for name, point in (styles or {}).items()
        if name in by_name
    )
    return PreparedMorphology(
        arrays=tuple(arrays),
        names=tuple(names),
        lists=lists,
        connects=tuple(connects),
        points=np.concatenate(blocks) if blocks else np.zeros((0, 4)),
        bounds=np.asarray(bounds, dtype=np.int64),
        styles=style_rows,
        lengths=np.array([sec.L for sec in sections], dtype=float),
        diams=np.array([sec.diam for sec in sections], dtype=float),
        source=source,
    )


class CellFactory:
    """Makes detailed cells from morphologies prepared once per (file, axon treatment).

    One factory serves one network build; it holds the prepared arrays (and the NEURON
    vectors made from them), never a live cell.

    Examples
    --------
    >>> factory = CellFactory()  # doctest: +SKIP
    >>> a, _ = factory.make(path, axon="perisomatic")  # doctest: +SKIP
    >>> b, _ = factory.make(path, axon="perisomatic")  # doctest: +SKIP
    >>> factory.prepared  # one Import3d read for both cells  # doctest: +SKIP
    1
    """

    def __init__(self) -> None:
        self._prepared: dict[tuple[str, str | None, int | None], PreparedMorphology | None] = {}
        self._vectors: dict[int, list[tuple[Any, ...] | None]] = {}
        self._pending = False

    @property
    def prepared(self) -> int:
        """How many morphologies were read and prepared so far."""
        return len(self._prepared)

    def morphology(
        self, path: str | Path, axon: str | None, digits: int | None = None
    ) -> PreparedMorphology | None:
        """The prepared morphology of an SWC file with ``axon`` stub style (None: keep it)
        and 3D points of ``digits`` significant digits (see
        :func:`~bmtoolkit.simulator.bionet.morphology.load_swc`).

        ``None`` when the file cannot be remade from arrays (see :func:`prepare_morphology`).
        """
        key = (str(path), axon, digits)
        if key not in self._prepared:
            styles: dict[str, tuple[float, float, float]] = {}
            proto = load_swc(path, digits=digits, styles=styles)
            if axon is not None:  # its 3D points come from define_shape, see finish()
                stub_axon(proto, style=axon, shape=False)
            self._prepared[key] = prepare_morphology(proto, styles, source=str(path))
            _delete(proto)
        return self._prepared[key]

    def make(
        self, path: str | Path, axon: str | None, digits: int | None = None
    ) -> tuple[Any, list[Any]]:
        """A new ``BmtkCell`` of the morphology and its sections in ``all`` order.

        Falls back to reading the file (and stubbing the axon) for this cell alone when the
        morphology cannot be prepared.
        """
        prep = self.morphology(path, axon, digits)
        self._pending = True
        if prep is None:
            hobj = load_swc(path, digits=digits)
            if axon is not None:
                stub_axon(hobj, style=axon, shape=False)
            return hobj, list(hobj.all)
        return self.instantiate(prep)

    def finish(self) -> None:
        """Give the sections made without 3D points (axon stubs) theirs: one NEURON
        ``define_shape`` for all cells made since the last call, instead of one per cell."""
        if self._pending:
            _ensure_template().define_shape()
            self._pending = False

    def instantiate(self, prep: PreparedMorphology) -> tuple[Any, list[Any]]:
        """Create a cell from a prepared morphology; returns ``(hobj, sections)``."""
        h = _ensure_template()
        hobj = h.BmtkCell()
        for array, count in prep.arrays:
            h.execute(f"create {array}[{count}]", hobj)
        arrays = {array: getattr(hobj, array) for array, _ in prep.arrays}
        sections = [arrays[array][i] for array, i in prep.names]
        for child, parent, x, end in prep.connects:
            sections[child].connect(sections[parent](x), end)
        for sec, vectors in zip(sections, self._point_vectors(prep), strict=True):
            if vectors is not None:
                h.pt3dadd(*vectors, sec=sec)
        for i, x, y, z in prep.styles:
            h.pt3dstyle(1, x, y, z, sec=sections[i])
        for i in np.flatnonzero(np.diff(prep.bounds) == 0):
            sections[i].L, sections[i].diam = float(prep.lengths[i]), float(prep.diams[i])
        append = hobj.all.append
        for sec in sections:
            append(sec=sec)
        for name, members in prep.lists:
            append = getattr(hobj, name).append
            for i in members:
                append(sec=sections[i])
        return hobj, sections

    def _point_vectors(self, prep: PreparedMorphology) -> list[tuple[Any, ...] | None]:
        """NEURON vectors of each section's x, y, z, diam (made once per morphology)."""
        key = id(prep)
        if key not in self._vectors:
            h = _ensure_template()
            columns = np.ascontiguousarray(prep.points.T)
            self._vectors[key] = [
                tuple(h.Vector(columns[c, lo:hi]) for c in range(4)) if hi > lo else None
                for lo, hi in zip(prep.bounds[:-1], prep.bounds[1:], strict=True)
            ]
        return self._vectors[key]


def _delete(hobj: Any) -> None:
    """Delete the sections of a prototype cell (the hoc object goes with its last reference)."""
    h = _ensure_template()
    for sec in list(hobj.all):
        h.delete_section(sec=sec)
