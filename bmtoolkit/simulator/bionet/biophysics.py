"""Biophysics from Allen fit files (``*_fit.json``) and NeuroML2 cells.

``model_processing`` directives are looked up in :data:`MODEL_PROCESSING`:

- ``aibs_perisomatic``: axon replaced by a 1 um stub at the soma centre, then passive
  properties, genome mechanism densities and reversal potentials of the fit file;
- ``aibs_allactive``: stub with the original axon diameters at the soma end, the all-active
  parameter layout (``ek``/``ena`` only where the ion exists);
- ``fullaxon``: keep the reconstructed axon, apply the perisomatic parameter layout.

Examples
--------
>>> sorted(MODEL_PROCESSING.names())
['aibs_allactive', 'aibs_perisomatic', 'extracellular', 'fullaxon']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bmtoolkit.exceptions import SonataFormatError, UnknownModelError
from bmtoolkit.registry import Registry
from bmtoolkit.simulator.bionet.morphology import section_type, stub_axon

if TYPE_CHECKING:  # NeuroML parsing (xml) is imported only by nml: templates
    from bmtoolkit.simulator.bionet.nml import NmlCell

__all__ = [
    "MODEL_PROCESSING",
    "PROCESSING_STEPS",
    "ProcessingSteps",
    "apply_fit_allactive",
    "apply_fit_perisomatic",
    "apply_nml",
    "check_mechanisms",
    "known_mechanisms",
]

#: name -> function(hobj, params, where) applying a fit file to a cell
MODEL_PROCESSING = Registry("model_processing")

# mechanism names by mechanism count (new libraries only ever add mechanisms)
_KNOWN: dict[str, Any] = {}

Processor = Callable[[Any, Mapping[str, Any], str], None]


def known_mechanisms() -> set[str]:
    """Names of the density mechanisms NEURON knows in this process."""
    from neuron import h

    mt = h.MechanismType(0)
    count = int(mt.count())
    if _KNOWN.get("count") == count:
        return _KNOWN["names"]
    names: set[str] = set()
    name = h.ref("")
    for i in range(count):
        mt.select(i)
        mt.selected(name)
        names.add(name[0])
    _KNOWN.update(count=count, names=names)
    return names


def check_mechanisms(mechs: Iterable[str], where: str) -> None:
    """Raise :class:`~bmtoolkit.exceptions.UnknownModelError` naming ``where`` when NEURON
    does not know one of the density mechanisms ``mechs`` (empty names are skipped)."""
    known = known_mechanisms()
    unknown = sorted({m for m in mechs if m and m not in known})
    if unknown:
        raise UnknownModelError(
            f"unknown mechanism(s) {unknown}; compiled mechanisms are {sorted(known)} "
            "(add .mod files to components.mechanisms_dir)",
            path=where,
        )


def _by_type(hobj: Any) -> dict[str, list[Any]]:
    groups: dict[str, list[Any]] = {}
    for sec in hobj.all:
        groups.setdefault(section_type(sec), []).append(sec)
    return groups


def _first(params: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    try:
        value = params[key]
    except KeyError as err:
        raise SonataFormatError(f"fit file has no {key!r} entry", path=where, field=key) from err
    return value[0] if isinstance(value, list) else value


def _get(entry: Any, key: str, where: str, block: str) -> Any:
    """``entry[key]`` of a fit-file block, or a SonataFormatError naming block and file."""
    try:
        return entry[key]
    except (KeyError, TypeError, IndexError) as err:
        raise SonataFormatError(
            f"fit file {block} entry {entry!r} has no {key!r}", path=where, field=f"{block}.{key}"
        ) from err


def _number(value: Any, where: str, field: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise SonataFormatError(
            f"fit file {field} must be a number, got {value!r}", path=where, field=field
        ) from err


def _set_range(sec: Any, name: str, value: float, where: str) -> None:
    try:
        setattr(sec, name, float(value))
    except (AttributeError, NameError, LookupError, ValueError, TypeError) as err:
        raise UnknownModelError(
            f"section {sec.name()} has no range variable {name!r}", path=where, field=name
        ) from err


def _set_reversals(sec: Any, erev: Mapping[str, Any], where: str) -> None:
    """Set ``e<ion>`` entries (``ena``, ``ek``, ...) of one ``conditions.erev`` block.

    As in the Allen models, a reversal potential is set only where its ion exists (a
    mechanism using it is inserted); elsewhere the entry does not apply.
    """
    from neuron import h

    for key, value in erev.items():
        if key == "section":
            continue
        if not (isinstance(key, str) and key.startswith("e") and len(key) > 1):
            raise SonataFormatError(
                f"conditions.erev entry {key!r} is not a reversal potential (ena, ek, eca ...)",
                path=where,
                field="conditions.erev",
            )
        if not h.ismembrane(f"{key[1:]}_ion", sec=sec):
            continue
        setattr(sec, key, _number(value, where, f"conditions.erev.{key}"))


def _apply_genome(groups: dict[str, list[Any]], genome: Iterable[Any], where: str) -> None:
    for gene in genome:
        mech = gene.get("mechanism", "") if hasattr(gene, "get") else ""
        name = str(_get(gene, "name", where, "genome"))
        value = _number(_get(gene, "value", where, "genome"), where, f"genome.{name}")
        for sec in groups.get(str(_get(gene, "section", where, "genome")), []):
            if mech:
                sec.insert(mech)
            _set_range(sec, name, value, where)


def _apply_erev(groups: dict[str, list[Any]], conditions: Mapping[str, Any], where: str) -> None:
    for erev in conditions.get("erev", []):
        for sec in groups.get(str(_get(erev, "section", where, "conditions.erev")), []):
            _set_reversals(sec, erev, where)


def _cm_by_section(passive: Mapping[str, Any], where: str) -> dict[str, float]:
    return {
        str(_get(c, "section", where, "passive.cm")): _number(
            _get(c, "cm", where, "passive.cm"), where, "passive.cm"
        )
        for c in passive.get("cm", [])
    }


def apply_fit_perisomatic(hobj: Any, params: Mapping[str, Any], where: str) -> None:
    """Apply an Allen perisomatic fit (passive, genome, conditions.erev) to ``hobj``.

    Reversal potentials (``conditions.erev``) are set only in sections where the ion exists.

    Raises
    ------
    SonataFormatError
        A missing or non-numeric entry (the message names the fit file and node type).
    UnknownModelError
        A mechanism or range variable NEURON does not know.
    """
    passive = _first(params, "passive", where)
    conditions = _first(params, "conditions", where)
    genome = params.get("genome", [])
    check_mechanisms((g.get("mechanism", "") for g in genome if hasattr(g, "get")), where)
    cm = _cm_by_section(passive, where)
    ra = _number(_get(passive, "ra", where, "passive"), where, "passive.ra")
    e_pas = _number(_get(passive, "e_pas", where, "passive"), where, "passive.e_pas")
    groups = _by_type(hobj)
    for stype, secs in groups.items():
        for sec in secs:
            sec.Ra = ra
            if stype in cm:
                sec.cm = cm[stype]
            sec.insert("pas")
            for seg in sec:
                seg.pas.e = e_pas
    _apply_genome(groups, genome, where)
    _apply_erev(groups, conditions, where)


def apply_fit_allactive(hobj: Any, params: Mapping[str, Any], where: str) -> None:
    """Apply an Allen all-active fit to ``hobj`` (reversal potentials only where the ion is).

    ``section: "glob"`` genome entries (global settings) are ignored; genome values override
    the passive block.
    """
    passive = _first(params, "passive", where)
    conditions = _first(params, "conditions", where)
    genome = [
        g for g in params.get("genome", []) if not hasattr(g, "get") or g.get("section") != "glob"
    ]
    check_mechanisms((g.get("mechanism", "") for g in genome if hasattr(g, "get")), where)
    groups = _by_type(hobj)
    e_pas = passive.get("e_pas")
    ra = passive.get("ra")
    for sec in hobj.all:
        sec.insert("pas")
        if e_pas is not None:
            for seg in sec:
                seg.pas.e = _number(e_pas, where, "passive.e_pas")
        if ra is not None:
            sec.Ra = _number(ra, where, "passive.ra")
    for stype, value in _cm_by_section(passive, where).items():
        for sec in groups.get(stype, []):
            sec.cm = value
    _apply_genome(groups, genome, where)
    _apply_erev(groups, conditions, where)


@dataclass(frozen=True)
class ProcessingSteps:
    """A ``model_processing`` directive split into what it does to the morphology and
    what it applies on top, so that the morphology part is prepared once per file.

    Attributes
    ----------
    axon : str or None
        :func:`~bmtoolkit.simulator.bionet.morphology.stub_axon` style, or ``None`` to keep
        the reconstructed axon.
    fit : callable
        ``fit(hobj, params, where)`` applying the fit file to the cell.

    Examples
    --------
    >>> PROCESSING_STEPS.get("aibs_allactive").axon
    'allactive'
    """

    axon: str | None
    fit: Processor


#: model_processing name -> :class:`ProcessingSteps`; a directive registered only in
#: :data:`MODEL_PROCESSING` is applied to each cell as a whole instead
PROCESSING_STEPS: Registry[ProcessingSteps] = Registry("model_processing steps")
PROCESSING_STEPS.register("aibs_perisomatic", ProcessingSteps("perisomatic", apply_fit_perisomatic))
PROCESSING_STEPS.register("aibs_allactive", ProcessingSteps("allactive", apply_fit_allactive))
PROCESSING_STEPS.register("fullaxon", ProcessingSteps(None, apply_fit_perisomatic))


def _run_steps(name: str, hobj: Any, params: Mapping[str, Any] | None, where: str) -> None:
    steps = PROCESSING_STEPS.get(name)
    if steps.axon is not None:
        stub_axon(hobj, style=steps.axon)
    if params is not None:
        steps.fit(hobj, params, where)


@MODEL_PROCESSING.register("aibs_perisomatic")
def aibs_perisomatic(hobj: Any, params: Mapping[str, Any] | None, where: str) -> None:
    """Perisomatic Allen model: 1 um axon stub, then the fit parameters."""
    _run_steps("aibs_perisomatic", hobj, params, where)


@MODEL_PROCESSING.register("aibs_allactive")
def aibs_allactive(hobj: Any, params: Mapping[str, Any] | None, where: str) -> None:
    """All-active Allen model: axon stub with the original diameters, then the fit."""
    _run_steps("aibs_allactive", hobj, params, where)


@MODEL_PROCESSING.register("fullaxon")
def fullaxon(hobj: Any, params: Mapping[str, Any] | None, where: str) -> None:
    """Keep the reconstructed axon; apply the perisomatic parameter layout."""
    _run_steps("fullaxon", hobj, params, where)


@MODEL_PROCESSING.register("extracellular")
def extracellular(hobj: Any, params: Mapping[str, Any] | None, where: str) -> None:  # noqa: ARG001
    """Insert NEURON's ``extracellular`` mechanism in every section (BMTK's directive of that
    name, listed after the cell's own, e.g. ``aibs_perisomatic,extracellular``)."""
    for sec in hobj.all:
        sec.insert("extracellular")


def apply_nml(hobj: Any, cell: NmlCell, where: str | Path) -> None:
    """Insert channels and set passive properties of a NeuroML2 cell, section by section.

    Conductance densities are set as ``<id>`` (``gbar_NaTs``); a ``pas`` channel sets
    ``g_pas``/``e_pas``; ``na``/``k`` channels set ``ena``/``ek`` from their ``erev``;
    concentration models set ``<param>_<type>`` (``gamma_CaDynamics``, ``decay_CaDynamics``).
    """
    where = str(where)
    check_mechanisms(
        [c.ion_channel for c in cell.channels] + [m.type for m in cell.concentration_models],
        where,
    )
    for stype, secs in _by_type(hobj).items():
        props = cell.for_section(stype)
        for sec in secs:
            for value in props.resistivity.values():
                sec.Ra = value
            for value in props.capacitance.values():
                sec.cm = value
            for chan in props.channels:
                sec.insert(chan.ion_channel)
                if chan.ion_channel == "pas":
                    sec.g_pas = chan.cond_density
                    for seg in sec:
                        seg.pas.e = chan.erev
                    continue
                _set_range(sec, chan.id, chan.cond_density, where)
                if chan.erev is not None and chan.ion == "na":
                    sec.ena = chan.erev
                elif chan.erev is not None and chan.ion == "k":
                    sec.ek = chan.erev
                elif chan.erev is not None and chan.ion == "hcn" and hasattr(sec, "ehcn_Ih"):
                    sec.ehcn_Ih = chan.erev
            for model in props.concentration_models:
                sec.insert(model.type)
                for key, value in model.params.items():
                    _set_range(sec, f"{key}_{model.type}", value, where)
