"""NeuroML2 cell files (``nml:`` templates): biophysical properties per segment group.

Only the ``biophysicalProperties`` of a ``<cell>`` are used; the morphology comes from the
node's SWC file. Values are converted to NEURON units in :mod:`.translations`.

Examples
--------
>>> from bmtoolkit.simulator.bionet.nml import parse_quantity
>>> parse_quantity("0.5 S_per_cm2")
(0.5, 'S_per_cm2')
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from bmtoolkit.exceptions import MissingFileError, SonataFormatError
from bmtoolkit.simulator.bionet.translations import to_neuron

__all__ = ["ChannelDensity", "ConcentrationModel", "NmlCell", "parse_quantity", "read_nml_cell"]


def parse_quantity(text: str) -> tuple[float, str]:
    """Split ``"1.5 mV"`` into ``(1.5, "mV")``; a bare number has unit ``""``."""
    parts = str(text).split()
    try:
        value = float(parts[0])
    except (IndexError, ValueError) as err:
        raise SonataFormatError(f"not a NeuroML quantity: {text!r}") from err
    return value, (parts[1] if len(parts) > 1 else "")


@dataclass(frozen=True)
class ChannelDensity:
    """One ``channelDensity``/``channelDensityNernst`` element (NEURON units)."""

    id: str
    ion_channel: str
    ion: str
    segment_group: str
    cond_density: float  # S/cm2
    erev: float | None  # mV; None for Nernst channels
    nernst: bool = False


@dataclass(frozen=True)
class ConcentrationModel:
    """A ``concentrationModel`` (e.g. ``CaDynamics``) with its parameters in NEURON units."""

    id: str
    type: str
    ion: str
    segment_group: str
    params: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class NmlCell:
    """Biophysics of one NeuroML2 cell, grouped by segment group (``soma``, ``all``, ...)."""

    path: Path
    channels: tuple[ChannelDensity, ...]
    concentration_models: tuple[ConcentrationModel, ...]
    capacitance: dict[str, float]  # uF/cm2 by segment group
    resistivity: dict[str, float]  # ohm cm by segment group

    def for_section(self, sec_type: str) -> NmlCell:
        """Properties applying to one section type (its own group and ``all``)."""

        def keep(group: str) -> bool:
            return group in (sec_type, "all")

        return NmlCell(
            path=self.path,
            channels=tuple(c for c in self.channels if keep(c.segment_group)),
            concentration_models=tuple(
                m for m in self.concentration_models if keep(m.segment_group)
            ),
            capacitance={g: v for g, v in self.capacitance.items() if keep(g)},
            resistivity={g: v for g, v in self.resistivity.items() if keep(g)},
        )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _q(elem: ET.Element, attr: str, path: Path) -> float:
    raw = elem.get(attr)
    if raw is None:
        raise SonataFormatError(
            f"<{_local(elem.tag)} id={elem.get('id')!r}> has no {attr!r}", path=str(path)
        )
    value, unit = parse_quantity(raw)
    return to_neuron(value, unit)


@lru_cache(maxsize=64)
def read_nml_cell(path: str | Path) -> NmlCell:
    """Parse the biophysics of the (first) ``<cell>`` in a NeuroML2 file.

    Raises
    ------
    MissingFileError
        If the file does not exist.
    SonataFormatError
        If the XML is malformed or a required attribute is missing.

    Examples
    --------
    >>> cell = read_nml_cell("Cell_472363762.cell.nml")  # doctest: +SKIP
    >>> cell.resistivity  # doctest: +SKIP
    {'all': 138.28}
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError("NeuroML cell file not found", path=str(path))
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise SonataFormatError(f"invalid XML: {err}", path=str(path)) from err
    channels: list[ChannelDensity] = []
    models: list[ConcentrationModel] = []
    cap: dict[str, float] = {}
    res: dict[str, float] = {}
    for elem in root.iter():
        tag = _local(elem.tag)
        group = elem.get("segmentGroup", "all")
        if tag in ("channelDensity", "channelDensityNernst"):
            nernst = tag == "channelDensityNernst"
            channels.append(
                ChannelDensity(
                    id=elem.get("id", ""),
                    ion_channel=elem.get("ionChannel", ""),
                    ion=elem.get("ion", ""),
                    segment_group=group,
                    cond_density=_q(elem, "condDensity", path),
                    erev=None if nernst else _q(elem, "erev", path),
                    nernst=nernst,
                )
            )
        elif tag == "concentrationModel":
            params = {
                key: to_neuron(*parse_quantity(elem.get(key)))
                for key in ("decay", "gamma", "depth", "minCai")
                if elem.get(key) is not None
            }
            models.append(
                ConcentrationModel(
                    id=elem.get("id", ""),
                    type=elem.get("type", elem.get("id", "")),
                    ion=elem.get("ion", ""),
                    segment_group=group,
                    params=params,
                )
            )
        elif tag == "specificCapacitance":
            cap[group] = _q(elem, "value", path)
        elif tag == "resistivity":
            res[group] = _q(elem, "value", path)
    return NmlCell(path, tuple(channels), tuple(models), cap, res)
