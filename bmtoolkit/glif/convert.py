"""Biophysical -> point in one step: fit a GLIF level to each cell model of a bionet network.

:func:`convert_to_point` reads a bionet simulation config, drives one node of each unique
biophysical model (same ``model_template``, ``dynamics_params``, ``morphology`` and
``model_processing``) in NEURON with the protocol of :mod:`bmtoolkit.glif.protocol`,
integrated as the network run integrates it (the config's ``dt``, ``v_init`` and
``celsius``, the cell built by bionet itself, spikes counted at ``spike_threshold``), fits
the requested GLIF level so that it fires as the cell does (:func:`fit_cell_sweeps`: the
spike counts of the long squares, from rest and as a series, and of suprathreshold noise;
:func:`~bmtoolkit.glif.calibrate.calibrate_adaptation`), scores every fit on a held-out
noise sweep, and writes a pointnet network into the output folder.

With ``network_inputs`` (the default) the node is also driven by the current clamps the
network itself gives it (:func:`network_clamp_stimulus`, from the start of the run), and
that record joins the training sweeps: the point model is fitted to fire as the cell does
in the regime the network drives it, including what earlier clamps leave behind (a cell
whose excitability grows with each depolarisation fires under a later clamp where the
same clamp from rest leaves it silent). The spike counts under those clamps are then a
fitted quantity; the held-out noise sweep is the independent check. ``level="auto"``
fits each level of :data:`AUTO_LEVELS` and writes, per cell, the lowest one unless a
higher one matches the training spike counts clearly better (:data:`AUTO_MARGIN`).
What is written:

- **nodes**: the node files are copied unchanged (same ids, positions, properties); the
  node types table is rewritten so each biophysical type becomes ``model_type
  point_neuron``, ``model_template nest:glif_psc`` and ``dynamics_params`` the fitted Allen
  ``neuron_config`` (in ``components/point_neuron_models/``); morphology and
  ``model_processing`` are emptied. Other node types are kept as they are.
- **inputs**: current clamps keep their timing; amplitudes go from nA (NEURON configs) to pA
  (NEST configs). Spike-train inputs are kept as they are.
- **reports**: soma ``v`` becomes NEST's ``V_m``; other variables
  (``cai``, extracellular) have no point-neuron equivalent and are left out (listed in the
  result).
- **edges**: synaptic weights of bionet are peak conductances (uS) of each of ``nsyns``
  synapses; the point-neuron weight is the peak current they would inject at the target's
  fitted rest, ``w (pA) = syn_weight (uS) * nsyns * (E_rev - El) (mV) * 1e3`` (see
  :func:`conductance_to_current_weight`; ``E_rev`` is the ``erev`` of the edge type's
  synaptic model JSON), written as ``static_synapse`` onto ``glif_psc`` port 1 with the
  delays kept (:mod:`bmtoolkit.glif.convert_edges`).

Examples
--------
>>> conductance_to_current_weight(0.002, nsyns=3, e_rev=0.0, el=-70.0)
420.0
>>> clamp_stimulus([(500.0, 1000.0, 0.15)], dt=0.1, units=1e-9).shape  # ms, nA -> A
(11000,)
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.convert_edges import check_edges
from bmtoolkit.glif.fit import evaluate
from bmtoolkit.glif.parameters import LEVEL_NAMES, GlifParameters, level_has
from bmtoolkit.glif.protocol import (
    CellProtocol,
    NeuronCellDriver,
    ProtocolSweeps,
    record_stimulus,
    run_protocol,
)

#: node type columns that define a biophysical model
MODEL_KEYS: tuple[str, ...] = (
    "model_template",
    "dynamics_params",
    "morphology",
    "model_processing",
)


#: levels ``level="auto"`` fits and chooses from, per cell
AUTO_LEVELS: tuple[int, ...] = (3, 5)
#: ``level="auto"`` writes a higher level only when its count loss on the training sweeps is
#: at least this fraction lower than the lower level's
AUTO_MARGIN: float = 0.1
#: weight of the network's clamp record in the count loss (:attr:`Sweep.weight`): each of
#: its counts weighs as much as this many protocol counts
NETWORK_WEIGHT: float = 4.0
#: seconds recorded after the last network clamp ends
CLAMP_TAIL: float = 0.1


def conductance_to_current_weight(syn_weight: float, *, nsyns: float = 1.0, e_rev: float,
                                  el: float) -> float:  # fmt: skip
    """Point-neuron weight (pA) of a bionet synapse: ``g (uS) * nsyns * (E_rev - El) (mV)``.

    ``uS * mV = nA``, hence the factor 1000 to pA. Inhibitory synapses (``E_rev < El``) get
    negative weights, as NEST's current-based ``glif_psc`` expects.
    """
    return float(syn_weight) * float(nsyns) * (float(e_rev) - float(el)) * 1e3


def clamp_stimulus(steps: Sequence[tuple[float, float, float]], *, dt: float, units: float,
                   tstart: float = 0.0, tail: float = CLAMP_TAIL) -> np.ndarray:  # fmt: skip
    """The current (A) of current-clamp ``steps`` ``(start ms, stop ms, amplitude)``, one
    value per ``dt`` ms from ``tstart`` to ``tail`` s after the last step ends (overlapping
    steps add up); ``units`` converts the amplitudes to A (1e-9 for a NEURON config's nA)."""
    end = max(stop for _, stop, _ in steps) + tail * 1e3
    stim = np.zeros(int(round((end - tstart) / dt)))
    for start, stop, amp in steps:
        a, b = (int(round((max(t, tstart) - tstart) / dt)) for t in (start, stop))
        stim[a:b] += amp * units
    return stim


def network_clamp_stimulus(plan: Any, population: str, node_id: int,
                           dt: float | None = None) -> np.ndarray | None:  # fmt: skip
    """The soma current (A) the network's current-clamp inputs give one node, sampled every
    ``dt`` ms (default: the run's) from the start of the run (:func:`clamp_stimulus`); ``None`` when
    none reaches it. Clamps placed away from the soma are left out (the protocol drives the
    soma)."""
    from bmtoolkit.simulator.core.inputs import CurrentClampInput

    steps: list[tuple[float, float, float]] = []
    for inp in plan.loaded_inputs:
        if not isinstance(inp, CurrentClampInput) or str(inp.section) != "soma":
            continue
        ids = plan.resolve_node_set(inp.node_set).get(population)
        if ids is not None and int(node_id) in set(np.asarray(ids).tolist()):
            steps.extend(inp.steps())
    steps = [s for s in steps if s[2] != 0.0 and s[1] > s[0]]
    if not steps:
        return None
    step = float(plan.dt if dt is None else dt)
    return clamp_stimulus(steps, dt=step, units=1e-9, tstart=float(plan.tstart))


def record_cell_sweeps(cell: Any, backend: Any, protocol: CellProtocol, *,
                       clamps_of: tuple[Any, str, int] | None = None) -> ProtocolSweeps:  # fmt: skip
    """Record ``protocol`` on a bionet ``cell`` integrated as ``backend`` runs it
    (:meth:`NeuronCellDriver.from_backend`), and with ``clamps_of = (plan, population,
    node_id)`` also the node's record under the network's current clamps
    (:func:`network_clamp_stimulus`, from the start of the run as the network integrates it,
    no settling), added to the training sweeps with weight :data:`NETWORK_WEIGHT`."""
    sweeps = run_protocol(NeuronCellDriver.from_backend(cell, backend), protocol)
    if clamps_of is None:
        return sweeps
    drive = NeuronCellDriver.from_backend(cell, backend, settle=0.0)
    plan, population, node_id = clamps_of
    stim = network_clamp_stimulus(plan, population, node_id,
                                  dt=protocol.sample_dt(drive) * 1e3)  # fmt: skip
    if stim is None:
        return sweeps
    net = record_stimulus(drive, protocol, stim, name="network_clamps", weight=NETWORK_WEIGHT)
    return replace(sweeps, train=(*sweeps.train, net))


@dataclass(frozen=True)
class CellConversion:
    """One converted model: its node types, fitted parameters (``params.level`` is the
    level written) and scores."""

    name: str
    node_type_ids: tuple[int, ...]
    params: GlifParameters
    explained_variance: float
    rheobase: float
    levels_explained_variance: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ConversionResult:
    """What :func:`convert_to_point` wrote."""

    config: Path
    cells: tuple[CellConversion, ...]
    dropped_reports: tuple[str, ...] = ()


def _model_key(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple("" if row.get(k) is None or (isinstance(row.get(k), float) and np.isnan(row[k]))
                 else str(row[k]) for k in MODEL_KEYS)  # fmt: skip


def _model_name(row: dict[str, Any]) -> str:
    for key in ("model_name", "pop_name"):
        if row.get(key) is not None and str(row[key]) not in ("", "nan"):
            return str(row[key])
    return Path(str(row.get("model_template", "cell"))).stem.replace(":", "_")


def fit_cell_sweeps(sweeps: ProtocolSweeps, level: int | str, *,
                    score_levels: Sequence[int] = (),
                    calibrate: str = "adaptation") -> tuple[GlifParameters, float, dict]:  # fmt: skip
    """Fit ``level`` (1-5, or ``"auto"``) to protocol sweeps for a network that must fire as
    the cell does.

    Every candidate level (``level``, or each of :data:`AUTO_LEVELS`), every level of
    ``score_levels`` and those they contain are fitted with the ``"f-i"`` calibration and
    selected as nested models (:func:`~bmtoolkit.glif.nested.fit_levels`) by the spike
    counts of the training sweeps (:func:`~bmtoolkit.glif.calibrate.count_score`: every long
    square, from rest and in the series, every suprathreshold noise sweep and any other
    training sweep, e.g. the network's own clamps), so that no level fires less like the
    cell than a level it contains. The lowest candidate is also fitted with ``calibrate``
    (default ``"adaptation"``: slow after-spike current and, at level 5, the
    voltage-dependent threshold fitted to the counts, see
    :func:`~bmtoolkit.glif.calibrate.calibrate_adaptation`), kept when its count score is at
    least the selected one's. A higher candidate with a voltage-dependent threshold (level 5
    of ``"auto"``) is instead the lower one's result with that threshold fitted on top
    (:func:`~bmtoolkit.glif.calibrate.calibrate_voltage_threshold`), kept when it beats the
    nested fit. With ``"auto"`` the lowest candidate wins unless a higher one lowers the
    count loss by :data:`AUTO_MARGIN` or more. Returns the parameters of the chosen level,
    their explained variance on the held-out sweep, and that of every level of
    ``score_levels``.
    """
    from bmtoolkit.glif.calibrate import calibrate_voltage_threshold, count_score
    from bmtoolkit.glif.fit import fit_glif
    from bmtoolkit.glif.nested import contains, embed, fit_levels

    candidates = AUTO_LEVELS if level == "auto" else (int(level),)
    train = list(sweeps.train)
    score = count_score(train)
    fits = fit_levels(train, sorted({*candidates, *score_levels}), calibrate="f-i", score=score)
    params: GlifParameters | None = None
    loss = np.inf
    done: dict[int, GlifParameters] = {}
    for lv in sorted(candidates):
        found = fits[lv].params
        inner = [p for k, p in done.items() if contains(lv, k)]
        if inner and level_has(lv)["voltage_threshold"]:
            # the chosen lower candidate with only a threshold that follows the voltage added
            for low in inner:
                grown = calibrate_voltage_threshold(embed(low, lv), train)
                if score(grown) > score(found):
                    found = grown
        elif calibrate != "f-i":
            adapted = fit_glif(train, lv, calibrate=calibrate).params
            if score(adapted) >= score(found):
                found = adapted
        done[lv] = found
        found_loss = -score(found)
        if params is None or found_loss < (1.0 - AUTO_MARGIN) * loss:
            params, loss = found, found_loss
    assert params is not None
    held = list(sweeps.held_out)
    scores = {lv: evaluate(f.params, held).explained_variance
              for lv, f in fits.items() if lv in score_levels}  # fmt: skip
    ev = evaluate(params, held).explained_variance
    scores[params.level] = ev
    return params, ev, scores


def convert_to_point(config: str | os.PathLike[str], output_dir: str | os.PathLike[str], *,
                     level: int | str = "auto", protocol: CellProtocol | None = None,
                     score_levels: Sequence[int] = (), network_inputs: bool = True,
                     overwrite: bool = False, log: Any = None) -> ConversionResult:  # fmt: skip
    """Convert the bionet network of ``config`` into a pointnet one in ``output_dir``.

    Parameters
    ----------
    config : path-like
        Bionet simulation config (or BMTK's combined ``config.json``).
    output_dir : path-like
        New folder for the point network (must not exist unless ``overwrite``; only files
        this function writes are replaced).
    level : int or "auto"
        GLIF level to fit (1-5), or ``"auto"`` (default): per cell, level 3 (after-spike
        currents, with the slow one of the ``"adaptation"`` calibration) unless level 5
        (also a threshold that moves with the voltage) matches the training spike counts
        clearly better (:func:`fit_cell_sweeps`; docs/glif.md has the ``5_cells_iclamp``
        results).
    protocol : CellProtocol, optional
        Stimulus protocol (default :class:`CellProtocol`).
    score_levels : sequence of int
        Also fit and score these levels (reported, not written).
    network_inputs : bool
        Also record each cell under the network's own current clamps and fit to that
        record (see the module docstring).
    log : callable, optional
        Called with progress lines.
    """
    from bmtoolkit.simulator.bionet.backend import BioNetBackend
    from bmtoolkit.simulator.bionet.cells import build_cell
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.sonata import read_types_csv

    if level != "auto" and (not isinstance(level, int) or not 1 <= level <= 5):
        raise ConfigError(f"level must be 1-5 or 'auto', got {level!r}")
    say = log or (lambda _msg: None)
    out = Path(output_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ConfigError("output folder exists and is not empty (use overwrite)", path=out)
    plan = RunPlan.from_config(config, output_dir=out / "output")
    sim = plan.config
    circuit_cfg = sim.circuit
    # what is converted, and refusal of what is not supported, before anything is written
    bio_types: dict[str, dict[tuple[str, ...], list[int]]] = {}
    for spec in circuit_cfg.nodes:
        if spec.node_types_file is None:
            raise ConfigError("node files without a node types table are not supported",
                              path=spec.nodes_file)  # fmt: skip
        table = read_types_csv(spec.node_types_file)
        for _, row in table.iterrows():
            if str(row.get("model_type")) == "biophysical":
                groups = bio_types.setdefault(str(spec.node_types_file), {})
                groups.setdefault(_model_key(row.to_dict()), []).append(int(row["node_type_id"]))
    if not bio_types:
        raise ConfigError("the network has no biophysical node types to convert", path=config)
    check_edges(circuit_cfg)
    backend = BioNetBackend(plan)
    backend.setup()
    # sample at the network's dt and count spikes as the network run does
    proto = protocol or CellProtocol()
    if proto.spike_threshold is None:
        proto = replace(proto, spike_threshold=float(backend.threshold) * 1e-3)
    cells: list[CellConversion] = []
    fitted: dict[tuple[str, tuple[str, ...]], tuple[str, GlifParameters]] = {}
    for pop in plan.circuit.nodes.values():
        specs = backend._specs(pop)
        types_file = str(pop.types_path) if pop.types_path else None
        groups = bio_types.get(types_file or "", {})
        cols = pop.columns()
        for key, type_ids in groups.items():
            if (types_file, key) in fitted:
                continue
            node = next((s for s in specs if s.node_type_id in type_ids), None)
            if node is None:
                continue
            row = {name: values[node.node_id] for name, values in cols.items()}
            name = _model_name(row)
            say(f"{name}: driving node {node.node_id} of {pop.name!r} in NEURON")
            clamps_of = (plan, pop.name, node.node_id) if network_inputs else None
            sweeps = record_cell_sweeps(build_cell(node), backend, proto, clamps_of=clamps_of)
            params, ev, scores = fit_cell_sweeps(sweeps, level, score_levels=score_levels)
            say(f"{name}: GLIF{params.level} explained variance {ev:.3f}")
            fitted[(types_file, key)] = (name, params)
            cells.append(CellConversion(name, tuple(type_ids), params, ev, sweeps.rheobase,
                                        scores))  # fmt: skip
    dropped = _write_point_network(sim, out, fitted)
    return ConversionResult(config=out / "config.json", cells=tuple(cells),
                            dropped_reports=tuple(dropped))  # fmt: skip


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def _point_node_sets(value: Any) -> Any:
    """Node sets with ``model_type: biophysical`` selecting the converted ``point_neuron`` s."""
    if isinstance(value, dict):
        return {k: ("point_neuron" if k == "model_type" and v == "biophysical" else
                    ["point_neuron" if x == "biophysical" else x for x in v]
                    if k == "model_type" and isinstance(v, list) else _point_node_sets(v))
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [_point_node_sets(v) for v in value]
    return value


def _write_point_network(sim: Any, out: Path, fitted: dict) -> list[str]:
    from bmtoolkit.glif.convert_edges import write_point_edges
    from bmtoolkit.sonata import (
        read_nodes,
        read_types_csv,
        write_circuit_config,
        write_simulation_config,
    )

    net = out / "network"
    models = out / "components" / "point_neuron_models"
    net.mkdir(parents=True, exist_ok=True)
    models.mkdir(parents=True, exist_ok=True)
    files, fitted_el, el_of = {}, {}, {}
    for (types_file, key), (name, params) in fitted.items():
        fname = f"{name}_{LEVEL_NAMES[params.level]}.json"
        _write_json(models / fname, params.to_neuron_config())
        files[(types_file, key)] = fname
        fitted_el[fname] = params.El * 1e3  # mV
    node_specs = []
    for spec in sim.circuit.nodes:
        h5 = net / Path(spec.nodes_file).name
        shutil.copyfile(spec.nodes_file, h5)
        table = read_types_csv(spec.node_types_file)
        for i, row in table.iterrows():
            fname = files.get((str(spec.node_types_file), _model_key(row.to_dict())))
            if fname is None or str(row.get("model_type")) != "biophysical":
                continue
            table.loc[i, "model_type"] = "point_neuron"
            table.loc[i, "model_template"] = "nest:glif_psc"
            table.loc[i, "dynamics_params"] = fname
            for col in ("morphology", "model_processing"):
                if col in table.columns:
                    table.loc[i, col] = "NULL"
        csv = net / Path(spec.node_types_file).name
        tmp = csv.with_name(f".{csv.name}.tmp")
        table.to_csv(tmp, sep=" ", index=False)
        os.replace(tmp, csv)
        node_specs.append({"nodes_file": h5, "node_types_file": csv})
        el_by_type = {int(r["node_type_id"]): fitted_el[fname]
                      for _, r in table.iterrows() if (fname := r["dynamics_params"]) in fitted_el}  # fmt: skip
        for pname, npop in read_nodes(spec.nodes_file, spec.node_types_file).items():
            tids = np.asarray(npop.node_type_ids(), np.int64)
            el_of[pname] = np.array([el_by_type.get(int(t), np.nan) for t in tids])
    edge_specs = write_point_edges(sim.circuit, net, out / "components" / "synaptic_models",
                                   el_of)  # fmt: skip
    node_sets = None
    if sim.node_sets_file:
        node_sets = out / "node_sets.json"
        _write_json(node_sets, _point_node_sets(json.loads(Path(sim.node_sets_file).read_text())))
    write_circuit_config(out / "circuit_config.json", nodes=node_specs, edges=edge_specs,
                         components={"point_neuron_models_dir": models,
                                     "synaptic_models_dir": out / "components" / "synaptic_models"},
                         node_sets_file=node_sets)  # fmt: skip
    inputs = {}
    for name, inp in sim.inputs.items():
        params = dict(inp.params)
        if inp.input_type == "current_clamp":
            params["amp"] = (np.asarray(params["amp"], float) * 1e3).tolist()  # nA -> pA
        inputs[name] = {"input_type": inp.input_type, "module": inp.module,
                        "node_set": inp.node_set, **params}  # fmt: skip
    reports, dropped = {}, []
    for name, rep in sim.reports.items():
        if rep.module == "membrane_report" and rep.variable_name == "v":
            reports[name] = {"module": "membrane_report", "cells": rep.cells,
                             "variable_name": "V_m", "sections": "soma"}  # fmt: skip
        else:
            dropped.append(name)
    run = {"tstop": sim.run.tstop, "dt": sim.run.dt, "tstart": sim.run.tstart}
    write_simulation_config(out / "simulation_config.json", network=out / "circuit_config.json",
                            run=run, output={"output_dir": out / "output",
                                             "spikes_file": "spikes.h5"},
                            inputs=inputs, reports=reports, node_sets_file=node_sets,
                            target_simulator="NEST")  # fmt: skip
    _write_json(out / "config.json", {"network": "./circuit_config.json",
                                      "simulation": "./simulation_config.json"})  # fmt: skip
    return dropped
