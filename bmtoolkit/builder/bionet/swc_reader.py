"""BMTK's ``bmtk.builder.bionet.swc_reader``: segments of an SWC morphology for build scripts.

BMTK scripts choose synapse sites with ``get_swc(target)`` and ``SWCReader`` methods inside
their ``add_properties`` rules::

    from bmtoolkit.builder.bionet.swc_reader import get_swc

    def set_synapses(src, trg, section_names=("soma", "apical", "basal"),
                     distance_range=(0.0, 1.0e20)):
        swc = get_swc(trg, morphology_dir="components/morphologies", use_cache=True)
        sec_ids, seg_xs = swc.choose_sections(section_names, distance_range, n_sections=1)
        swc_id, swc_pos = swc.get_swc_id(sec_ids[0], seg_xs[0])
        return [sec_ids[0], seg_xs[0], swc_id, swc_pos]

:class:`SWCReader` reads the file without NEURON (:func:`bmtoolkit.models.morphology.read_sections`
cuts it into the sections NEURON's ``Import3d`` makes, in the same ``all`` order) and keeps
BMTK's meaning of every method it offers:

- segments: ``nseg`` per section (1, as ``Import3d`` leaves it, or ``1 + 2 int(L / 2 dL)``
  after :meth:`SWCReader.set_segment_dl`), each at its centre ``x``, with its path distance
  from the *0 end* of the first soma section (NEURON's ``h.distance`` origin in BMTK);
- :meth:`SWCReader.find_sections`: the segments of the named section types overlapping
  ``distance_range``, each with probability proportional to its length inside the range;
- :meth:`SWCReader.choose_sections`: ``n_sections`` of them drawn with those probabilities;
- :meth:`SWCReader.fix_axon` (the two 30 um axon sections joined to the soma's 1 end, as
  BMTK's ``aibs_perisomatic`` processing makes them) and :meth:`SWCReader.delete_axon`;
- :meth:`SWCReader.get_swc_id`: BMTK's ``(afferent_swc_id, afferent_swc_pos)``.

The draws come from the reader's own ``numpy.random.RandomState(rng_seed)``, as in BMTK, so
they do not move the global generators a script's connection rules draw from. BMTK seeds an
unseeded reader from the operating system (other sites every run); here it is seeded from
NumPy's global state (without drawing from it) and the number of readers made since that
state was last seen, so ``np.random.seed(n)`` at the top of a script makes the sites
reproducible too.

3D segment coordinates (``seg_coords``, ``get_coords``, the coordinates ``move_and_rotate``
computes) are not supported: they raise :class:`~bmtoolkit.exceptions.ConfigError`.

Examples
--------
>>> import pathlib, tempfile
>>> swc = pathlib.Path(tempfile.mkdtemp()) / "ball_stick.swc"
>>> _ = swc.write_text("1 1 0 0 0 5 -1\\n2 3 0 10 0 1 1\\n3 3 0 110 0 1 2\\n")
>>> reader = SWCReader(swc, rng_seed=1)
>>> reader.set_segment_dl(20.0)
>>> reader.seg_props.x.round(2).tolist()
[0.5, 0.1, 0.3, 0.5, 0.7, 0.9]
>>> sec_ids, xs = reader.choose_sections(["basal"], [0.0, 50.0], n_sections=3)
>>> sorted(set(sec_ids.tolist()))
[1]
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.models.morphology import SECTION_ALIASES, SectionTree, read_sections

__all__ = ["SWCReader", "SegmentProps", "get_swc", "swc_cache"]

#: the global state the last unseeded reader saw and how many readers saw it before
_READERS: list[int] = [-1, 0]
#: readers made by :func:`get_swc` with ``use_cache=True``, by population and node id
swc_cache: dict[str, dict[int, SWCReader]] = {}


@dataclass(frozen=True)
class SegmentProps:
    """Per segment, in ``all`` order: BMTK's ``SWCReader.seg_props``.

    Attributes
    ----------
    type : np.ndarray
        SWC type of the segment's section (1 soma, 2 axon, 3 basal, 4 apical).
    x : np.ndarray
        Centre of the segment on its section (0..1).
    dist : np.ndarray
        Path distance (um) of the centre from the 0 end of the first soma section.
    length : np.ndarray
        Segment length (um).
    dist0, dist1 : np.ndarray
        Distances of the segment's two ends.
    sec_id : np.ndarray
        Section id (index in ``all``).
    """

    type: np.ndarray
    x: np.ndarray
    dist: np.ndarray
    length: np.ndarray
    dist0: np.ndarray
    dist1: np.ndarray
    sec_id: np.ndarray


def _distance_from_soma0(tree: SectionTree) -> np.ndarray:
    """Path distance (um) from the soma's 0 end to each section's 0 end (inf: unconnected)."""
    n = len(tree)
    start = np.full(n, np.nan)
    for s in range(n):
        chain = []
        k = s
        while np.isnan(start[k]):
            chain.append(k)
            p = int(tree.parent[k])
            if p < 0 or not np.isfinite(tree.start_distance[k]):
                start[k] = 0.0 if p < 0 else np.inf
                chain.pop()
                break
            k = p
        for k in reversed(chain):
            p = int(tree.parent[k])
            start[k] = start[p] + tree.parent_x[k] * tree.length[p]
    return start


def _section_types(section_names: str | Sequence[str]) -> list[int]:
    names = [section_names] if isinstance(section_names, str) else list(section_names)
    try:
        return [SECTION_ALIASES[str(name)] for name in names]
    except KeyError as err:
        raise ConfigError(
            f"unknown section name {err.args[0]!r}; expected one of {sorted(SECTION_ALIASES)}",
            field="section_names",
        ) from None


class SWCReader:
    """Segments of an SWC morphology, with BMTK's ``SWCReader`` methods (see the module notes).

    Parameters
    ----------
    swc_path : path-like
        The SWC file.
    rng_seed : int, optional
        Seed of the reader's own generator (:meth:`choose_sections`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> swc = pathlib.Path(tempfile.mkdtemp()) / "cell.swc"
    >>> _ = swc.write_text("1 1 0 0 0 5 -1\\n2 3 0 10 0 1 1\\n3 3 0 60 0 1 2\\n")
    >>> r = SWCReader(swc)
    >>> r.n_sections, r.seg_props.dist.round(1).tolist()  # from the soma's 0 end
    (2, [5.0, 30.0])
    >>> r.fix_axon()  # two 30 um sections at the soma's 1 end, last in the list
    >>> r.sections, r.seg_props.dist.round(1).tolist()
    (('soma[0]', 'dend[0]', 'axon[0]', 'axon[1]'), [5.0, 30.0, 25.0, 55.0])
    """

    def __init__(self, swc_path: str | os.PathLike[str], rng_seed: int | None = None) -> None:
        path = Path(swc_path)
        if not path.is_file():
            raise MissingFileError(f"morphology {str(swc_path)!r} not found", path=str(path))
        self.swc_path = str(swc_path)
        self.rng_seed = rng_seed
        if rng_seed is None:
            from bmtoolkit.builder.script_order import state_seed

            state = state_seed()
            # readers made while the global state stays the same get consecutive streams
            count = _READERS[1] + 1 if _READERS[0] == state else 0
            _READERS[:] = [state, count]
            seq = np.random.SeedSequence([state, count])
            self._prng = np.random.RandomState(int(seq.generate_state(1)[0]))
        else:
            self._prng = np.random.RandomState(rng_seed)
        self._axon = "full"
        self._tree: SectionTree = read_sections(path, axon="full")
        self._nseg = np.ones(len(self._tree), dtype=np.int64)
        self._seg_props: SegmentProps | None = None
        self.soma_coords: np.ndarray | None = None
        self.rotation_angles: np.ndarray | None = None

    # sections --------------------------------------------------------------------------
    @property
    def tree(self) -> SectionTree:
        """The sections (:class:`~bmtoolkit.models.morphology.SectionTree`)."""
        return self._tree

    @property
    def n_sections(self) -> int:
        """Number of sections."""
        return len(self._tree)

    @property
    def sections(self) -> tuple[str, ...]:
        """Section names (``soma[0]``, ``dend[3]`` ...) in ``all`` order."""
        return self._tree.names

    @property
    def nseg(self) -> int:
        """Number of segments of the cell."""
        return int(self._nseg.sum())

    def _set_tree(self, axon: str, drop_axon: bool = False) -> None:
        tree = read_sections(self.swc_path, axon=axon)
        if drop_axon:
            keep = np.flatnonzero(tree.swc_type != 2)
            if len(keep) < len(tree) and not np.array_equal(keep, np.arange(len(keep))):
                raise ConfigError(
                    f"{self.swc_path}: axon sections are not last in the section list"
                )
            tree = SectionTree(
                swc_type=tree.swc_type[keep],
                length=tree.length[keep],
                parent=tree.parent[keep],
                parent_x=tree.parent_x[keep],
                names=tuple(tree.names[k] for k in keep),
                start_distance=tree.start_distance[keep],
                swc_offsets=tree.swc_offsets[: len(keep) + 1],
                swc_ids=tree.swc_ids,
            )
        # sections kept keep their segments; the new axon sections have one each
        before = dict(zip(self._tree.names, self._nseg.tolist(), strict=True))
        self._nseg = np.array(
            [1 if t == 2 else before.get(name, 1) for name, t in zip(tree.names, tree.swc_type)],
            dtype=np.int64,
        )
        self._tree = tree
        self._axon = "none" if drop_axon else axon
        self._seg_props = None

    def fix_axon(self) -> None:
        """Replace the axon by two 30 um sections joined to the soma's 1 end (BMTK's
        ``aibs_perisomatic`` axon)."""
        self._set_tree("stub_allactive")

    def delete_axon(self) -> None:
        """Remove the axon sections."""
        self._set_tree("stub_allactive", drop_axon=True)

    def set_segment_dl(self, dl: float) -> None:
        """``nseg = 1 + 2 int(L / (2 dl))`` per section, as BMTK sets it.

        Raises
        ------
        ConfigError
            ``dl`` is not positive.
        """
        if not float(dl) > 0.0:
            raise ConfigError(f"dL must be > 0 um, got {dl}", field="dL")
        self._nseg = 1 + 2 * (self._tree.length / (2.0 * float(dl))).astype(np.int64)
        self._seg_props = None

    # segments --------------------------------------------------------------------------
    @property
    def seg_props(self) -> SegmentProps:
        """Type, centre, distance and length of every segment (see :class:`SegmentProps`)."""
        if self._seg_props is None:
            tree, nseg = self._tree, self._nseg
            sec_id = np.repeat(np.arange(len(tree)), nseg)
            first = np.concatenate([[0], np.cumsum(nseg)[:-1]])
            k = np.arange(len(sec_id)) - np.repeat(first, nseg)
            x = (k + 0.5) / nseg[sec_id]
            length = tree.length[sec_id] / nseg[sec_id]
            dist = _distance_from_soma0(tree)[sec_id] + x * tree.length[sec_id]
            self._seg_props = SegmentProps(
                type=tree.swc_type[sec_id],
                x=x,
                dist=dist,
                length=length,
                dist0=dist - length / 2.0,
                dist1=dist + length / 2.0,
                sec_id=sec_id,
            )
        return self._seg_props

    def find_sections(
        self, section_names: str | Sequence[str], distance_range: Sequence[float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Segments of the named section types overlapping ``distance_range`` (um from the
        soma's 0 end) and the probability of each, proportional to its length in range.

        Returns
        -------
        segments, probabilities : np.ndarray
            Segment indices (into :attr:`seg_props`) and their probabilities.
        """
        dmin, dmax = float(distance_range[0]), float(distance_range[1])
        props = self.seg_props
        overlap = np.maximum(0.0, np.minimum(props.dist1, dmax) - np.maximum(props.dist0, dmin))
        frac = overlap / props.length
        in_range = np.flatnonzero(frac > 0)
        labelled = np.flatnonzero(np.isin(props.type, _section_types(section_names)))
        segments = np.intersect1d(in_range, labelled)
        weight = props.length[segments] * frac[segments]
        return segments, weight / np.sum(weight) if len(segments) else weight

    def choose_sections(
        self, section_names: str | Sequence[str], distance_range: Sequence[float], n_sections=1
    ) -> tuple[np.ndarray, np.ndarray]:
        """``n_sections`` segments drawn from :meth:`find_sections` (with replacement).

        Returns
        -------
        sec_ids, seg_xs : np.ndarray
            Section id and segment centre of each draw.

        Raises
        ------
        ConfigError
            No segment of those types lies in the range.
        """
        segments, probs = self.find_sections(section_names, distance_range)
        if len(segments) == 0:
            raise ConfigError(
                f"{self.swc_path}: no segment of {list(np.atleast_1d(section_names))} within "
                f"{list(distance_range)} um of the soma",
                path=self.swc_path,
                field="distance_range",
            )
        chosen = self._prng.choice(segments, n_sections, p=probs)
        return self.seg_props.sec_id[chosen], self.seg_props.x[chosen]

    def get_swc_id(self, sec_id: int, sec_x: float) -> tuple[int, float]:
        """The SWC point id at ``sec_x`` of section ``sec_id`` and the position towards it
        (BMTK's ``afferent_swc_id``/``afferent_swc_pos``; -1 on the stub axon)."""
        ids, pos = self._tree.swc_point(np.array([int(sec_id)]), np.array([float(sec_x)]))
        return int(ids[0]), float(pos[0])

    # placement -------------------------------------------------------------------------
    def move_and_rotate(
        self,
        soma_coords: Sequence[float] | None = None,
        rotation_angles: Sequence[float] | None = None,
        inplace: bool = False,
    ) -> SWCReader:
        """Record the soma position and rotation angles of the cell (the 3D coordinates of
        the segments are not computed; see the module notes)."""
        out = self if inplace else self._copy()
        if soma_coords is not None:
            out.soma_coords = np.asarray(soma_coords, dtype=float)
        if rotation_angles is not None:
            out.rotation_angles = np.asarray(rotation_angles, dtype=float)
        return out

    def _copy(self) -> SWCReader:
        new = object.__new__(SWCReader)
        new.__dict__.update(self.__dict__)
        return new

    def _no_coordinates(self, what: str) -> ConfigError:
        return ConfigError(
            f"SWCReader.{what}: 3D segment coordinates are not supported by bmtoolkit's "
            "builder (see 'Not supported' in docs/differences_from_bmtk.md)",
            path=self.swc_path,
        )

    @property
    def seg_coords(self) -> Any:
        """Not supported (raises :class:`~bmtoolkit.exceptions.ConfigError`)."""
        raise self._no_coordinates("seg_coords")

    def get_coords(self, sec_id: int, sec_x: float) -> Any:
        """Not supported (raises :class:`~bmtoolkit.exceptions.ConfigError`)."""
        raise self._no_coordinates("get_coords")


def get_swc(
    cell: Mapping[str, Any],
    morphology_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = False,
    dL: float | None = None,  # noqa: N803 - BMTK's name
) -> SWCReader:
    """The :class:`SWCReader` of a node's ``morphology`` (BMTK's ``get_swc``).

    ``.swc`` is appended to a name without it when needed; ``dL`` sets the segments;
    ``model_processing == "aibs_perisomatic"`` replaces the axon (:meth:`SWCReader.fix_axon`);
    the node's ``x``/``y``/``z`` and ``rotation_angle_*axis`` are recorded. With
    ``use_cache`` the reader of each (population, node id) is made once.

    Raises
    ------
    MissingFileError
        The morphology file does not exist.
    """
    pop = str(cell.get("population", "default"))
    node_id = int(cell["node_id"])
    if use_cache and node_id in swc_cache.get(pop, {}):
        return swc_cache[pop][node_id]
    path = str(cell["morphology"])
    if morphology_dir:
        path = os.path.join(morphology_dir, path)
    if not os.path.exists(path) and not path.endswith(".swc"):
        path += ".swc"
    if not os.path.exists(path):
        raise MissingFileError(f"morphology of node {node_id} not found", path=path)
    swc = SWCReader(path)
    if dL:
        swc.set_segment_dl(dL)
    if cell.get("model_processing", "NULL") == "aibs_perisomatic":
        swc.fix_axon()
    soma = None
    if any(c in cell for c in ("x", "y", "z")):
        soma = [float(cell.get(c, 0.0)) for c in ("x", "y", "z")]
    axes = ("rotation_angle_xaxis", "rotation_angle_yaxis", "rotation_angle_zaxis")
    angles = [float(cell.get(a, 0.0)) for a in axes] if any(a in cell for a in axes) else None
    swc = swc.move_and_rotate(soma_coords=soma, rotation_angles=angles)
    if use_cache:
        swc_cache.setdefault(pop, {})[node_id] = swc
    return swc
