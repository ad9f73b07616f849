"""Everything a bionet run can check before it builds a cell.

Building a network of detailed cells takes seconds to minutes; a typo in an input module,
an unsupported report, a node set that does not exist, a missing morphology or synapse file,
or a mechanism that is not compiled should not wait for it. :func:`preflight` loads the
inputs and reports, resolves their node sets, checks every node type once
(:func:`~bmtoolkit.simulator.bionet.cells.check_cell`) and every edge type's synapse model,
and hands back what it loaded so the run does not load it twice.

Examples
--------
>>> sorted(SUPPORTED_REPORTS)
['ClampReport', 'ExtracellularReport', 'MembraneReport', 'NetconReport', 'SaveSynapsesReport']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bmtoolkit.exceptions import ConfigError, MissingFileError, UnknownModelError
from bmtoolkit.simulator.core.catalogue import params_path

__all__ = [
    "SUPPORTED_INPUTS",
    "SUPPORTED_REPORTS",
    "Preflight",
    "check_cells",
    "check_plan",
    "preflight",
]

#: typed input class name -> what bionet does with it
SUPPORTED_INPUTS: Mapping[str, str] = {
    "CurrentClampInput": "current clamps into somata",
    "VoltageClampInput": "voltage clamps (SEClamp)",
    "SpikeTrainsInput": "spike trains replayed by virtual cells",
    "ReplayInput": "recorded spikes replayed onto edges (replay)",
    "ExtracellularStimInput": "extracellular stimulation by electrodes (xstim)",
    "ComsolInput": "extracellular potentials computed by COMSOL (comsol)",
    "SpontaneousSynapsesInput": "spontaneously firing recurrent synapses (syn_activity)",
}
#: typed report class name -> what bionet records
SUPPORTED_REPORTS: Mapping[str, str] = {
    "MembraneReport": "membrane reports of range variables",
    "NetconReport": "netcon_report (a variable of each synapse onto the cells)",
    "ClampReport": "clamp_report (the current of every clamp)",
    "ExtracellularReport": "extracellular potentials",
    "SaveSynapsesReport": "the synapses made, as SONATA edges files (save_synapses)",
}


@dataclass(frozen=True)
class Preflight:
    """What :func:`preflight` loaded: typed inputs, typed reports and the cells' specs."""

    inputs: tuple[Any, ...]
    reports: tuple[Any, ...]
    specs: Mapping[str, list[Any]]


def _unsupported(kind: str, name: str, obj: Any, supported: Mapping[str, str], plan: Any):
    listing = "; ".join(supported.values())
    return ConfigError(
        f"the bionet backend does not support {kind} {name!r} ({type(obj).__name__}); "
        f"it supports {listing}",
        path=plan.config_path,
        field=f"{kind}s.{name}",
    )


def check_cells(specs: Iterable[Any]) -> int:
    """Check each distinct node type of ``specs`` once; return how many were checked."""
    from bmtoolkit.simulator.bionet.cells import check_cell

    seen: set[tuple[Any, ...]] = set()
    for spec in specs:
        dyn = spec.dynamics_params
        key = (
            spec.population,
            spec.node_type_id,
            spec.model_type,
            spec.model_template,
            str(spec.morphology),
            dyn if not isinstance(dyn, dict) else id(dyn),
            spec.model_processing,
        )
        if key in seen:
            continue
        seen.add(key)
        check_cell(spec)
    return len(seen)


def _refuse_gap_junctions(types: Any, where: str) -> None:
    """Gap junctions (``is_gap_junction`` edge types) are not simulated: refuse them rather
    than connect them as chemical synapses."""
    if "is_gap_junction" not in types.columns:
        return
    flags = types["is_gap_junction"].map(lambda v: str(v).strip().lower() in ("true", "1", "1.0"))
    if flags.any():
        ids = [int(i) for i in types.index[flags.to_numpy()]]
        raise ConfigError(
            f"edge types {ids} are gap junctions (is_gap_junction), which bionet does not "
            "simulate (see docs/differences_from_bmtk.md)",
            path=where,
            field="is_gap_junction",
        )


def _check_synapses(plan: Any, specs: Mapping[str, list[Any]]) -> None:
    """Every edge type's synapse JSON exists and parses; NEURON knows its model_template
    where the targets are detailed cells (point-process targets take NetCons directly)."""
    from neuron import h

    from bmtoolkit.simulator.bionet.synapses import BMTK_SYNAPSE_NAMES, read_synapse_json
    from bmtoolkit.simulator.core.pyfunctions import find_synapse_model

    for edges in plan.circuit.edges.values():
        types = edges.types
        where = str(edges.types_path or edges.h5_path)
        _refuse_gap_junctions(types, where)
        if "dynamics_params" in types.columns:
            for value in types["dynamics_params"].dropna().unique():
                if not isinstance(value, str) or not value or value == "NULL":
                    continue
                path = params_path(value, plan.components, "synapse", who="edges", where=where)
                if not path.is_file():
                    raise MissingFileError(
                        f"synaptic model {value!r} (edge types of {edges.name!r}) not found",
                        path=str(path),
                    )
                read_synapse_json(str(path))
        targets = specs.get(str(edges.target_population), [])
        detailed = any(spec.model_type == "biophysical" for spec in targets)
        if detailed and "model_template" in types.columns:
            for value in types["model_template"].dropna().unique():
                if not isinstance(value, str) or not value:
                    continue
                if find_synapse_model("bionet", value) is not None:
                    continue  # a user's synapse_model function makes it
                if not hasattr(h, BMTK_SYNAPSE_NAMES.get(value, value)):
                    raise UnknownModelError(
                        f"NEURON has no synapse model {value!r} (edge model_template)",
                        path=where,
                        field="model_template",
                    )


def check_plan(plan: Any) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The checks that need neither NEURON nor a cell: inputs and reports are supported by
    bionet, their node sets resolve and their files exist.

    Returns
    -------
    (inputs, reports)
        The typed inputs and reports of the run.

    Raises
    ------
    BmtkError
        The first problem, naming the file and field.
    """
    from bmtoolkit.simulator.core import inputs as _core_inputs  # noqa: F401 - registers loaders
    from bmtoolkit.simulator.core.registries import INPUT_MODULES, unsupported_module

    for name, cfg in plan.input_configs.items():
        module = getattr(cfg, "module", None)
        error = unsupported_module("input", module, path=plan.config_path, field=f"inputs.{name}")
        if error is not None:
            raise error
        if module is not None and module not in INPUT_MODULES:  # not read as its input_type
            raise UnknownModelError(
                f"input module {module!r} of input {name!r} is not supported; known modules: "
                f"{', '.join(sorted(INPUT_MODULES.names()))}",
                path=plan.config_path,
                field=f"inputs.{name}.module",
            )
    inputs = tuple(plan.inputs())
    for inp in inputs:
        name = getattr(inp, "name", "?")
        if type(inp).__name__ not in SUPPORTED_INPUTS:
            raise _unsupported("input", name, inp, SUPPORTED_INPUTS, plan)
        plan.resolve_node_set(inp.node_set)  # an unknown node set fails here
    reports = tuple(plan.reports())
    for rep in reports:
        name = getattr(rep, "name", "?")
        if type(rep).__name__ not in SUPPORTED_REPORTS:
            raise _unsupported("report", name, rep, SUPPORTED_REPORTS, plan)
        plan.resolve_node_set(rep.node_set)
        positions = getattr(rep, "electrode_positions", False)
        if positions is None:
            raise ConfigError(
                f"extracellular report {name!r} needs 'electrode_positions'",
                path=plan.config_path,
                field=f"reports.{name}.electrode_positions",
            )
        if positions and not Path(positions).is_file():
            raise MissingFileError(
                f"electrode_positions of report {name!r} not found", path=str(positions)
            )
    return inputs, reports


def preflight(backend: Any) -> Preflight:
    """Check a bionet run before building: inputs, reports, node sets, cells, synapses.

    Parameters
    ----------
    backend : BioNetBackend
        After :meth:`~BioNetBackend.setup` (mechanisms loaded), before any cell exists.

    Returns
    -------
    Preflight
        The typed inputs and reports and each population's cell specs, for the run to use.

    Raises
    ------
    BmtkError
        The first problem found, naming the file and field (ConfigError,
        UnknownModelError, MissingFileError, SonataFormatError ...).
    """
    plan = backend.plan
    inputs, reports = check_plan(plan)
    specs = {name: backend._specs(pop) for name, pop in plan.circuit.nodes.items()}
    for pop_specs in specs.values():
        check_cells(pop_specs)
    if plan.circuit.edges:
        _check_synapses(plan, specs)
    return Preflight(inputs=inputs, reports=reports, specs=specs)
