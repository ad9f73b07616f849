"""Cells on NEURON: biophysical (SWC + fit/NML), point-process (``nrn:IntFire1``) and virtual.

A :class:`CellSpec` says what to build for one node; :func:`build_cell` turns it into a live
NEURON cell. ``model_template`` schemes are registered in :data:`TEMPLATES`. Detailed cells of
``nml:`` and ``ctdb:`` templates are made by a
:class:`~bmtoolkit.simulator.bionet.prototypes.CellFactory`, which reads each morphology once
per build; pass the same factory to every :func:`build_cell` call of a network.

Examples
--------
>>> sorted(TEMPLATES.names())
['ctdb', 'hoc', 'nml', 'nrn']
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError, SonataFormatError, UnknownModelError
from bmtoolkit.registry import Registry
from bmtoolkit.simulator.bionet.biophysics import MODEL_PROCESSING, PROCESSING_STEPS, apply_nml
from bmtoolkit.simulator.bionet.morphology import (
    load_swc,
    n_segments,
    quaternion_matrix,
    rotation_matrix,
    segment_geometry,
    set_segments,
)
from bmtoolkit.simulator.bionet.prototypes import CellFactory
from bmtoolkit.simulator.bionet.translations import point_parameters
from bmtoolkit.simulator.core.catalogue import is_empty

__all__ = [
    "BioCell",
    "CHECKS",
    "CellSpec",
    "PointCell",
    "TEMPLATES",
    "VirtualCell",
    "build_cell",
    "check_cell",
]

#: model_template scheme (``nml``, ``ctdb``, ``hoc``, ``nrn``) -> builder(spec, name, factory)
TEMPLATES = Registry("model_template")
#: model_template scheme -> check(spec, name) of everything :data:`TEMPLATES` needs
#: (files, parameters, mechanisms), run before any cell is built
CHECKS = Registry("model_template check")


@dataclass(frozen=True)
class CellSpec:
    """Everything needed to build one node on NEURON.

    Parameters
    ----------
    population, node_id, node_type_id : str, int, int
        Identity (used in error messages and as the gid source).
    model_type : str
        ``biophysical``, ``point_process``/``point_neuron`` or ``virtual``.
    model_template : str or None
        ``nml:Cell_1.cell.nml``, ``ctdb:Biophys1.hoc``, ``hoc:Name``, ``nrn:IntFire1``.
    morphology : Path or None
        Resolved SWC path.
    dynamics_params : Path or dict or None
        Fit JSON file (resolved) or inline parameters.
    model_processing : str or None
        ``aibs_perisomatic``, ``aibs_allactive``, ``fullaxon`` ...
    templates_dir : Path or None
        Folder of ``nml:``/``hoc:`` templates (``biophysical_neuron_models_dir``).
    position, rotation : ndarray
        Soma position (um) and rotation angles about x, y, z (radians).
    orientation : ndarray or None
        Quaternion ``(w, x, y, z)``; used instead of ``rotation`` when given.
    dL : float or None
        Maximum segment length (um).
    types_file : str
        Where the node type is defined (for error messages).
    point_digits : int or None
        Significant digits of the SWC 3D points (``None``: as this NEURON's Import3d reads
        them, as BMTK does; 6 reproduces older NEURON releases, see
        :mod:`~bmtoolkit.simulator.bionet.morphology`).
    """

    population: str
    node_id: int
    node_type_id: int
    model_type: str
    model_template: str | None = None
    morphology: Path | None = None
    dynamics_params: Any = None
    model_processing: str | None = None
    templates_dir: Path | None = None
    position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    rotation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    dL: float | None = None
    orientation: np.ndarray | None = None
    types_file: str = ""
    point_digits: int | None = None
    #: every property of the node as read from the files (for user cell models and
    #: processors, which BMTK lets read any of them)
    properties: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def where(self) -> str:
        """Short description naming node type, population and file."""
        return (
            f"{self.types_file} (population {self.population!r}, node_type_id {self.node_type_id})"
        )


@lru_cache(maxsize=256)
def _read_json(path: str) -> dict[str, Any]:
    try:
        with open(path) as fh:
            return json.load(fh)
    except FileNotFoundError as err:
        raise MissingFileError("dynamics_params file not found", path=path) from err
    except json.JSONDecodeError as err:
        raise SonataFormatError(f"invalid JSON: {err}", path=path) from err


def _params(spec: CellSpec) -> dict[str, Any] | None:
    dp = spec.dynamics_params
    if is_empty(dp):
        return None
    if isinstance(dp, dict):
        return dp
    return _read_json(str(dp))


class BioCell:
    """A multi-compartment cell; ``hobj`` is the NEURON template object.

    Examples
    --------
    >>> cell = build_cell(spec)  # doctest: +SKIP
    >>> cell.soma(0.5).v  # doctest: +SKIP
    -80.0
    """

    def __init__(self, spec: CellSpec, hobj: Any, sections: list[Any] | None = None) -> None:
        self.spec = spec
        self.hobj = hobj
        self.sections = list(hobj.all) if sections is None else sections
        self._geometry = None

    @property
    def soma(self) -> Any:
        """The first soma section."""
        return self.hobj.soma[0]

    def spike_source(self, threshold: float) -> Any:
        """A NetCon watching the soma voltage (for ParallelContext.cell)."""
        from neuron import h

        nc = h.NetCon(self.soma(0.5)._ref_v, None, sec=self.soma)
        nc.threshold = threshold
        return nc

    def section(self, sec_id: int, where: str = "") -> Any:
        """Section by SONATA ``sec_id`` (index into ``all``)."""
        if not 0 <= int(sec_id) < len(self.sections):
            raise SonataFormatError(
                f"section id {int(sec_id)} out of range for node {self.spec.node_id} of "
                f"population {self.spec.population!r} ({len(self.sections)} sections)",
                path=where or None,
            )
        return self.sections[int(sec_id)]

    def geometry(self) -> Any:
        """Segment end points in world coordinates (cached)."""
        if self._geometry is None:
            if self.spec.orientation is not None:
                rot = quaternion_matrix(*self.spec.orientation)
            else:
                rot = rotation_matrix(*self.spec.rotation)
            self._geometry = segment_geometry(self.hobj, position=self.spec.position, rotation=rot)
        return self._geometry

    def segments(self) -> list[Any]:
        """All segments in ``all`` order."""
        return [seg for sec in self.sections for seg in sec]


class PointCell:
    """An artificial point-process cell (``nrn:IntFire1`` ...)."""

    def __init__(self, spec: CellSpec, hobj: Any) -> None:
        self.spec = spec
        self.hobj = hobj

    def spike_source(self, threshold: float) -> Any:  # noqa: ARG002 - same signature as BioCell
        """A NetCon from the artificial cell."""
        from neuron import h

        return h.NetCon(self.hobj, None)


class VirtualCell:
    """A spike source replaying given times (``SpikeSource`` mechanism)."""

    def __init__(self, spec: CellSpec) -> None:
        from neuron import h

        self.spec = spec
        self.hobj = h.SpikeSource()
        self._feed = h.NetCon(None, self.hobj)
        self.times = np.zeros(0)

    def spike_source(self, threshold: float) -> Any:  # noqa: ARG002
        """A NetCon from the replaying source."""
        from neuron import h

        return h.NetCon(self.hobj, None)

    def set_times(self, times: np.ndarray) -> None:
        """Spike times (ms) replayed after every ``finitialize``."""
        self.times = np.sort(np.asarray(times, dtype=float))

    def queue(self) -> None:
        """Queue the spike events; called from an FInitializeHandler."""
        for t in self.times:
            self._feed.event(float(t))


def _check_morphology(spec: CellSpec) -> Path:
    if spec.morphology is None:
        raise ConfigError(f"biophysical node {spec.node_id} has no morphology", path=spec.where)
    if not Path(spec.morphology).is_file():
        raise MissingFileError(
            f"morphology {Path(spec.morphology).name!r} of node {spec.node_id} not found "
            f"(node type {spec.node_type_id} in {spec.types_file})",
            path=str(spec.morphology),
        )
    return Path(spec.morphology)


def _biophysical(spec: CellSpec, apply: Any) -> BioCell:
    """A cell read from its own SWC file, ``apply(hobj)`` doing all the rest."""
    hobj = load_swc(_check_morphology(spec), digits=spec.point_digits)
    apply(hobj)
    if spec.dL:
        set_segments(hobj, spec.dL)
    return BioCell(spec, hobj)


def _from_factory(spec: CellSpec, factory: CellFactory, axon: str | None, fit: Any) -> BioCell:
    """A cell made from the factory's prepared morphology, then ``fit(hobj)`` and ``nseg``."""
    hobj, sections = factory.make(_check_morphology(spec), axon, spec.point_digits)
    fit(hobj)
    if spec.dL:
        for sec in sections:
            sec.nseg = n_segments(sec.L, spec.dL)
    return BioCell(spec, hobj, sections)


def _template_path(spec: CellSpec, name: str) -> Path:
    path = Path(name)
    if not path.is_absolute() and spec.templates_dir is not None:
        path = Path(spec.templates_dir) / path
    if not path.is_file():
        raise MissingFileError(
            f"model_template file {name!r} of node type {spec.node_type_id} not found "
            f"(defined in {spec.types_file})",
            path=str(path),
        )
    return path


@TEMPLATES.register("nml")
def _nml(spec: CellSpec, name: str, factory: CellFactory) -> BioCell:
    from bmtoolkit.simulator.bionet.nml import read_nml_cell

    path = _template_path(spec, name)
    cell = read_nml_cell(path)
    where = f"{path} ({spec.where})"
    return _from_factory(spec, factory, "perisomatic", lambda hobj: apply_nml(hobj, cell, where))


def node_view(spec: CellSpec) -> Any:
    """The node as BMTK hands it to user cell models and processors (``cell["x"]``,
    ``cell.node_id``, ``cell.morphology_file`` ...)."""
    from bmtoolkit.simulator.core.pyfunctions import NodeView

    x, y, z = (float(v) for v in spec.position)
    return NodeView(
        {
            **{k: _plain(v) for k, v in (spec.properties or {}).items()},
            "node_id": spec.node_id,
            "population": spec.population,
            "population_name": spec.population,
            "node_type_id": spec.node_type_id,
            "model_type": spec.model_type,
            "model_template": spec.model_template,
            "model_processing": spec.model_processing,
            "morphology": None if spec.morphology is None else str(spec.morphology),
            "morphology_file": None if spec.morphology is None else str(spec.morphology),
            "dynamics_params": _params(spec),
            "x": x,
            "y": y,
            "z": z,
            "position": np.asarray(spec.position, dtype=float),
        }
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _directives(spec: CellSpec) -> list[str]:
    """The node's ``model_processing`` directives in order: BMTK reads the field as a
    comma-separated list (``aibs_perisomatic,extracellular``); ``aibs_perisomatic`` when empty.
    """
    names = [d.strip() for d in str(spec.model_processing or "").split(",") if d.strip()]
    return names or ["aibs_perisomatic"]


def _user_processor(spec: CellSpec, name: str | None = None) -> Any:
    """A BMTK-style ``model_processing`` function registered by the user under ``name`` (the
    node's first directive by default), adapted to the ``(hobj, params, where)`` form, or
    ``None``."""
    from bmtoolkit.simulator.core.pyfunctions import find_cell_processor

    user = find_cell_processor("bionet", name or _directives(spec)[0])
    if user is None:
        return None
    return lambda hobj, params, where: user(hobj, node_view(spec), params)  # noqa: ARG005


def _user_cell(spec: CellSpec) -> BioCell | PointCell | None:
    """The cell made by a user ``cell_model`` function (BMTK's ``fn(cell, template_name,
    dynamics_params) -> hobj``) and its ``model_processing``, or ``None``."""
    from bmtoolkit.simulator.core.pyfunctions import find_cell_model

    user = find_cell_model("bionet", spec.model_template, spec.model_type)
    if user is None:
        return None
    params = _params(spec)
    name = str(spec.model_template or "").partition(":")[2]
    hobj = user(node_view(spec), name, params)
    if hobj is None:
        raise ConfigError(
            f"the cell_model function {getattr(user, '__name__', user)!r} returned None for "
            f"node {spec.node_id}; expected a NEURON cell object",
            path=spec.where,
            field="model_template",
        )
    if spec.model_type in ("point_process", "point_neuron") and not hasattr(hobj, "all"):
        return PointCell(spec, hobj)
    if spec.model_processing:
        _processor(spec)(hobj, params, f"{spec.dynamics_params} ({spec.where})")
    return BioCell(spec, hobj)


def _one_processor(spec: CellSpec, name: str) -> Any:
    """The processing function of one directive; one registered by the user with BMTK's
    ``add_cell_processor`` comes first."""
    user = _user_processor(spec, name)
    if user is not None:
        return user
    try:
        return MODEL_PROCESSING.get(name)
    except KeyError as err:
        raise UnknownModelError(str(err), path=spec.where, field="model_processing") from err


def _processor(spec: CellSpec) -> Any:
    """The ``model_processing`` of a node as one function: its directives applied in order
    (``aibs_perisomatic`` by default)."""
    procs = [_one_processor(spec, name) for name in _directives(spec)]
    if len(procs) == 1:
        return procs[0]

    def chained(hobj: Any, params: Any, where: str) -> None:
        for proc in procs:
            proc(hobj, params, where)

    return chained


@TEMPLATES.register("ctdb")
def _ctdb(spec: CellSpec, name: str, factory: CellFactory) -> BioCell:  # noqa: ARG001 - Biophys1
    params = _params(spec)
    where = f"{spec.dynamics_params} ({spec.where})"
    first, *rest = _directives(spec)
    after = [_one_processor(spec, name) for name in rest]
    if first not in PROCESSING_STEPS or _user_processor(spec, first) is not None:
        # a directive known only as a whole (a user's BMTK processor included)
        proc = _processor(spec)
        return _biophysical(spec, lambda hobj: proc(hobj, params, where))
    steps = PROCESSING_STEPS.get(first)

    def fit(hobj: Any) -> None:
        if params is not None:
            steps.fit(hobj, params, where)
        for later in after:
            later(hobj, params, where)

    return _from_factory(spec, factory, steps.axon, fit)


@TEMPLATES.register("hoc")
def _hoc(spec: CellSpec, name: str, factory: CellFactory) -> BioCell:  # noqa: ARG001
    from neuron import h

    tname = Path(name).stem
    if not hasattr(h, tname):
        path = _template_path(spec, name if name.endswith(".hoc") else f"{name}.hoc")
        h.load_file(str(path))
    if spec.morphology is None:
        hobj = getattr(h, tname)()
        return BioCell(spec, hobj)
    hobj = getattr(h, tname)(str(spec.morphology))
    params = _params(spec)
    if spec.model_processing:
        _processor(spec)(hobj, params, f"{spec.dynamics_params} ({spec.where})")
    if spec.dL:
        set_segments(hobj, spec.dL)
    return BioCell(spec, hobj)


@TEMPLATES.register("nrn")
def _nrn(spec: CellSpec, name: str, factory: CellFactory) -> PointCell:  # noqa: ARG001
    from neuron import h

    if not hasattr(h, name):
        raise UnknownModelError(
            f"NEURON has no point process {name!r} (model_template nrn:{name})", path=spec.where
        )
    hobj = getattr(h, name)()
    for key, value in point_parameters(name, _params(spec) or {}).items():
        if not hasattr(hobj, key):
            raise UnknownModelError(
                f"{name} has no parameter {key!r} (dynamics_params {spec.dynamics_params})",
                path=spec.where,
            )
        setattr(hobj, key, value)
    return PointCell(spec, hobj)


@CHECKS.register("nml")
def _check_nml(spec: CellSpec, name: str) -> None:
    from bmtoolkit.simulator.bionet.biophysics import check_mechanisms
    from bmtoolkit.simulator.bionet.nml import read_nml_cell

    _check_morphology(spec)
    path = _template_path(spec, name)
    cell = read_nml_cell(path)
    mechanisms = [c.ion_channel for c in cell.channels]
    check_mechanisms(mechanisms + [m.type for m in cell.concentration_models], str(path))


@CHECKS.register("ctdb")
def _check_ctdb(spec: CellSpec, name: str) -> None:  # noqa: ARG001 - template is Biophys1
    from bmtoolkit.simulator.bionet.biophysics import check_mechanisms

    _check_morphology(spec)
    _processor(spec)
    params = _params(spec)
    genome = params.get("genome", []) if isinstance(params, dict) else []
    mechanisms = [g.get("mechanism", "") for g in genome if hasattr(g, "get")]
    check_mechanisms(mechanisms, f"{spec.dynamics_params} ({spec.where})")


@CHECKS.register("hoc")
def _check_hoc(spec: CellSpec, name: str) -> None:
    from neuron import h

    if not hasattr(h, Path(name).stem):
        _template_path(spec, name if name.endswith(".hoc") else f"{name}.hoc")
    if spec.morphology is not None:
        _check_morphology(spec)
    if spec.model_processing:
        _processor(spec)
    _params(spec)


@CHECKS.register("nrn")
def _check_nrn(spec: CellSpec, name: str) -> None:
    from neuron import h

    if not hasattr(h, name):
        raise UnknownModelError(
            f"NEURON has no point process {name!r} (model_template nrn:{name})", path=spec.where
        )
    _params(spec)


def _scheme(spec: CellSpec) -> tuple[str, str]:
    template = spec.model_template
    if not template or not isinstance(template, str):
        if spec.model_type == "biophysical":
            template = "ctdb:Biophys1.hoc"
        else:
            raise ConfigError(
                f"node type {spec.node_type_id} ({spec.model_type}) has no model_template",
                path=spec.where,
            )
    scheme, _, name = template.partition(":")
    if scheme not in TEMPLATES:
        try:
            TEMPLATES.get(scheme)
        except KeyError as err:
            raise UnknownModelError(str(err), path=spec.where, field="model_template") from err
    return scheme, name


def check_cell(spec: CellSpec) -> None:
    """Check that :func:`build_cell` has all it needs for ``spec``, without building it.

    Files (morphology, template, parameters) exist and parse, the template scheme and the
    ``model_processing`` are known, and NEURON knows every mechanism and point process.

    Raises
    ------
    BmtkError
        The same errors :func:`build_cell` would raise for this node.

    Examples
    --------
    >>> check_cell(CellSpec(population="v", node_id=0, node_type_id=1, model_type="virtual"))
    """
    from bmtoolkit.simulator.core.pyfunctions import find_cell_model

    if spec.model_type == "virtual":
        return
    if find_cell_model("bionet", spec.model_template, spec.model_type) is not None:
        return  # the user's function builds it; only it knows what it needs
    scheme, name = _scheme(spec)
    if scheme in CHECKS:
        CHECKS.get(scheme)(spec, name)


def build_cell(
    spec: CellSpec, factory: CellFactory | None = None
) -> BioCell | PointCell | VirtualCell:
    """Build one node on NEURON according to its model type and template.

    Parameters
    ----------
    spec : CellSpec
        The node.
    factory : CellFactory, optional
        Prepared morphologies shared by the cells of a network; call its
        :meth:`~bmtoolkit.simulator.bionet.prototypes.CellFactory.finish` once all are built
        (gives axon stubs their 3D points). Default: a factory for this cell alone.

    Raises
    ------
    UnknownModelError
        Unknown template scheme, mechanism or point process; the message lists known names.
    MissingFileError
        Missing morphology, template or parameter file (naming node type and file).
    """
    if spec.model_type == "virtual":
        return VirtualCell(spec)
    user = _user_cell(spec)
    if user is not None:
        return user
    scheme, name = _scheme(spec)
    builder = TEMPLATES.get(scheme)
    if factory is not None:
        return builder(spec, name, factory)
    own = CellFactory()
    cell = builder(spec, name, own)
    own.finish()
    return cell
