"""SONATA in and out: build a :class:`~.model.TorchNet` from a config, write trained values back.

Reading follows pointnet exactly, so both backends simulate the same network:

- cells: each node type's ``model_template`` (``nest:glif_psc``, ``nest:iaf_psc_alpha`` ...)
  and ``dynamics_params`` file (NEST names, NEST 2 GLIF names or Allen ``neuron_config``,
  translated by :func:`bmtoolkit.models.allen_glif.nest_point_params`), overridden
  node by node by the HDF5 ``dynamics_params``; virtual populations become input channels;
- edges: weights ``syn_weight x nsyns`` (or the registered ``weight_function``), delays in
  ms, ``receptor_type`` (NEST's 1-based port) from the synapse ``dynamics_params`` or a
  per-edge column, ``tsodyks2_synapse`` parameters (``U``, ``tau_rec``, ``tau_fac``) per edge
  type or per edge.

:func:`write_trained` writes the trained network as new SONATA files (nodes with per-node
``dynamics_params``, edges with the trained ``syn_weight`` and STP columns) plus circuit and
simulation configs that pointnet (NEST) runs directly.

Examples
--------
>>> from bmtoolkit.simulator.torchnet.io import build_network, write_trained
>>> net = build_network("config.json")  # doctest: +SKIP
>>> write_trained(net, "trained/")  # doctest: +SKIP
PosixPath('trained/simulation_config.json')
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.models.allen_glif import nest_point_params
from bmtoolkit.simulator.core.capabilities import delay_steps
from bmtoolkit.simulator.core.catalogue import NodeTypeModel, cell_value, is_empty, split_template
from bmtoolkit.simulator.core.models import (
    DEFAULT_WEIGHT_NAMES,
    EdgeTable,
    edge_table,
    node_dynamics,
)
from bmtoolkit.simulator.torchnet._torch import torch
from bmtoolkit.simulator.torchnet.cells import GLIFCells
from bmtoolkit.simulator.torchnet.model import NetworkInfo, TorchNet
from bmtoolkit.simulator.torchnet.spec import SPEC
from bmtoolkit.simulator.torchnet.surrogate import SurrogateSpike
from bmtoolkit.simulator.torchnet.synapses import Synapses
from bmtoolkit.simulator.torchnet.translations import (
    STP_MODELS,
    CellParams,
    StpParams,
    cell_params_from_nest,
)

if TYPE_CHECKING:
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.sonata.config import SimulationConfig
    from bmtoolkit.sonata.edges import EdgePopulation
    from bmtoolkit.sonata.nodes import NodePopulation

#: synapse models torchnet simulates
SUPPORTED_SYNAPSES = ("static_synapse", *STP_MODELS)
_STP_COLUMNS = ("U", "tau_rec", "tau_fac", "u", "x")


@dataclass(frozen=True)
class EdgeOrigin:
    """Where a block of the network's edges came from (for writing weights back)."""

    population: str
    start: int
    stop: int
    nsyns: np.ndarray
    invertible: bool
    spec_index: int


def as_plan(
    config: RunPlan | SimulationConfig | str | os.PathLike[str], **overrides: Any
) -> RunPlan:
    """A :class:`~bmtoolkit.simulator.core.plan.RunPlan` from a path, config or plan."""
    from bmtoolkit.simulator.core.plan import RunPlan

    if isinstance(config, RunPlan):
        return config
    return RunPlan.from_config(config, backend="torchnet", **overrides)


def _population_cells(pop: NodePopulation, models: Mapping[int, NodeTypeModel]):
    """CellParams of every node (deduplicated) and the NEST parameters they came from."""
    type_ids = np.asarray(pop.node_type_ids(), dtype=np.int64)
    per_type: dict[int, tuple[str, dict[str, Any]]] = {}
    for nt_id, nt in models.items():
        prefix, model = split_template(nt.model_template)
        if prefix not in (None, "nest"):
            raise ConfigError(
                f"node type {nt_id}: torchnet simulates NEST point models ('nest:<model>'), "
                f"got {nt.model_template!r}",
                path=nt.types_file,
                field="model_template",
            )
        if model is None:
            raise ConfigError("empty model_template", path=nt.types_file, field="model_template")
        per_type[nt_id] = nest_point_params(model, nt.params)
    overrides = node_dynamics(pop, np.arange(pop.size))
    cols = [c for c in overrides.columns if not overrides[c].isna().all()]
    cache: dict[Any, int] = {}
    cells: list[CellParams] = []
    nest_params: list[tuple[str, dict[str, Any]]] = []
    index = np.empty(pop.size, dtype=np.int64)
    rows = overrides[cols].to_numpy(dtype=object) if cols else None
    for i in range(pop.size):
        nt_id = int(type_ids[i])
        row = () if rows is None else tuple(rows[i])
        key = (nt_id, row)
        if key not in cache:
            model, params = per_type[nt_id]
            params = dict(params)
            for col, value in zip(cols, row, strict=True):
                if not is_empty(value):
                    params[col] = value
            try:
                cell = cell_params_from_nest(model, params)
            except ConfigError as err:
                raise ConfigError(
                    f"node type {nt_id}: {err.message}",
                    path=models[nt_id].params_file or models[nt_id].types_file,
                    field=err.field,
                ) from None
            cache[key] = len(cells)
            cells.append(cell)
            nest_params.append((model, params))
        index[i] = cache[key]
    return cells, index, nest_params


def _edge_columns(
    plan: RunPlan,
    edges: EdgePopulation,
    table: EdgeTable,
    n_rec_of_target: np.ndarray,
    sign_mode: np.ndarray,
    tgt_index: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Receptor index and (U, tau_rec, tau_fac, u, x) (NaN = static) of every edge."""
    n = len(table.source_ids)
    receptor = np.zeros(n, dtype=np.int64)
    stp = np.full((n, len(_STP_COLUMNS)), np.nan)
    props = table.properties
    for et in np.unique(table.edge_type_ids):
        mask = table.edge_type_ids == et
        synapse = plan.catalogue.edge_type(edges, int(et))
        model = synapse.synapse_model or "static_synapse"
        if model not in SUPPORTED_SYNAPSES:
            raise ConfigError(
                f"edge type {int(et)}: torchnet supports synapse models "
                f"{', '.join(SUPPORTED_SYNAPSES)}, got {model!r}",
                path=edges.types_path,
                field="model_template",
            )
        params = synapse.params
        port = np.full(mask.sum(), float(params.get("receptor_type", 1)))
        if "receptor_type" in props:
            col = np.asarray(props["receptor_type"], dtype=float)[mask]
            port = np.where(np.isnan(col), port, col)
        receptor[mask] = port.astype(np.int64) - 1
        if model in STP_MODELS:
            defaults = StpParams()
            for k, name in enumerate(_STP_COLUMNS):
                vals = np.full(mask.sum(), float(params.get(name, getattr(defaults, name))))
                if name in props:
                    col = np.asarray(props[name], dtype=float)[mask]
                    vals = np.where(np.isnan(col), vals, col)
                stp[mask, k] = vals
    tgt = tgt_index
    signed = sign_mode[tgt]
    receptor = np.where(signed, (table.weights < 0).astype(np.int64), receptor)
    bad = (receptor < 0) | (receptor >= n_rec_of_target[tgt])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ConfigError(
            f"edge {i}: receptor_type {receptor[i] + 1} does not exist on its target "
            f"(which has {n_rec_of_target[tgt[i]]} receptor port(s), numbered from 1)",
            path=edges.types_path or edges.h5_path,
            field="receptor_type",
        )
    return receptor, stp


@dataclass
class _CellLayout:
    """Where each population's nodes sit in the network (simulated first, then virtual)."""

    populations: dict[str, tuple[int, int]] = field(default_factory=dict)
    virtual: dict[str, tuple[int, int]] = field(default_factory=dict)
    cells: list[CellParams] = field(default_factory=list)
    index: list[np.ndarray] = field(default_factory=list)
    sources: dict[str, Any] = field(default_factory=dict)
    n_sim: int = 0
    n_virt: int = 0

    def offset_of(self, pop_name: str) -> int | None:
        """Index of the population's first node (virtual nodes follow the simulated ones)."""
        if pop_name in self.populations:
            return self.populations[pop_name][0]
        if pop_name in self.virtual:
            return self.n_sim + self.virtual[pop_name][0]
        return None


def _layout_cells(plan: RunPlan) -> _CellLayout:
    """The cell parameters of every simulated node and the offsets of every population."""
    layout = _CellLayout()
    for name, pop in plan.circuit.nodes.items():
        if plan.catalogue.is_virtual(pop):
            layout.virtual[name] = (layout.n_virt, pop.size)
            layout.n_virt += pop.size
            continue
        cells, index, nest_params = _population_cells(pop, plan.catalogue.node_types(pop))
        layout.populations[name] = (layout.n_sim, pop.size)
        layout.index.append(index + len(layout.cells))
        layout.cells.extend(cells)
        layout.sources[name] = (index, nest_params, cells)
        layout.n_sim += pop.size
    if layout.n_sim == 0:
        raise ConfigError("the circuit has no non-virtual nodes to simulate", path=plan.config_path)
    return layout


def _gather_edges(
    plan: RunPlan, layout: _CellLayout, type_index: np.ndarray, step: float
) -> tuple[dict[str, np.ndarray], list[EdgeOrigin]]:
    """Sources, targets, receptors, weights, delays (steps) and STP rows of every edge onto a
    simulated population, concatenated, and where each edge population's block lies."""
    n_rec = np.array([len(c.tau_syn) for c in layout.cells])[type_index]
    sign_mode = np.array([c.receptor_mode == "sign" for c in layout.cells])[type_index]
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("src", "tgt", "rec", "w", "d", "stp")}
    origins: list[EdgeOrigin] = []
    n_edges = 0
    specs = {p: i for i, spec in enumerate(circuit_edge_specs(plan)) for p in spec}
    for name, edges in plan.circuit.edges.items():
        src_off = layout.offset_of(edges.source_population)
        if src_off is None or edges.target_population not in layout.populations:
            continue
        table = edge_table(
            plan,
            edges,
            default_delay=SPEC.default_delay(plan.dt),
            extra=("receptor_type", *_STP_COLUMNS),
        )
        tgt = table.target_ids + layout.populations[edges.target_population][0]
        receptor, stp = _edge_columns(plan, edges, table, n_rec, sign_mode, tgt)
        where = edges.types_path or edges.h5_path
        steps = delay_steps(table.delays, step, edges=name, path=where)
        for key, values in zip(
            parts, (table.source_ids + src_off, tgt, receptor, table.weights, steps, stp)
        ):
            parts[key].append(values)
        names = types_weight_functions(edges)
        invertible = all(n is None or n in DEFAULT_WEIGHT_NAMES for n in names)
        nsyns = np.asarray(table.properties["nsyns"], dtype=float)
        origins.append(
            EdgeOrigin(name, n_edges, n_edges + len(steps), nsyns, invertible, specs.get(name, -1))
        )
        n_edges += len(steps)
    width = len(_STP_COLUMNS)
    cat = {
        k: (np.concatenate(v) if v else np.zeros((0, width) if k == "stp" else 0))
        for k, v in parts.items()
    }
    cat["stp"] = cat["stp"].reshape(-1, width)
    return cat, origins


def _stp_types(stp_rows: np.ndarray) -> tuple[np.ndarray, list[StpParams]]:
    """Index of each edge's distinct STP parameter row (-1: static) and those rows."""
    plastic = ~np.isnan(stp_rows[:, 0])
    stp_type = np.full(len(stp_rows), -1, dtype=np.int64)
    stp_params: list[StpParams] = []
    if plastic.any():
        uniq, inv = np.unique(stp_rows[plastic], axis=0, return_inverse=True)
        stp_type[plastic] = inv.reshape(-1)
        stp_params = [StpParams(*map(float, row)) for row in uniq]
    return stp_type, stp_params


def build_network(
    config: RunPlan | SimulationConfig | str | os.PathLike[str],
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device | None = None,
    surrogate: SurrogateSpike | None = None,
    integrator: str = "exact",
    dt: float | None = None,
) -> TorchNet:
    """Build the :class:`TorchNet` of a SONATA simulation config.

    Node and edge type models come from the run's
    :class:`~bmtoolkit.simulator.core.catalogue.ModelCatalogue`.

    Parameters
    ----------
    config : str, PathLike, SimulationConfig or RunPlan
        The simulation config (its ``run.dt`` is the step unless ``dt`` is given).
    dtype, device
        Of every tensor (``torch.float64`` for exact comparisons with NEST).
    surrogate : SurrogateSpike, optional
        Spike function for training.
    integrator : {"exact", "exp_euler"}
        Membrane integration scheme.
    """
    plan = as_plan(config)
    step = float(dt or plan.dt)
    layout = _layout_cells(plan)
    type_index = np.concatenate(layout.index)
    glif = GLIFCells.from_params(
        layout.cells,
        type_index,
        dt=step,
        dtype=dtype,
        device=device,
        surrogate=surrogate,
        integrator=integrator,
    )
    cat, origins = _gather_edges(plan, layout, type_index, step)
    stp_type, stp_params = _stp_types(cat["stp"])
    syn = Synapses(
        cat["src"].astype(np.int64),
        cat["tgt"].astype(np.int64),
        cat["rec"].astype(np.int64),
        cat["w"].astype(float),
        cat["d"].astype(np.int64),
        n_sources=layout.n_sim + layout.n_virt,
        n_targets=layout.n_sim,
        n_receptors=glif.n_receptors,
        dt=step,
        stp_type=stp_type,
        stp_params=stp_params,
        dtype=dtype,
        device=device,
    )
    extra = {
        "plan": plan,
        "cells": layout.sources,
        "edges": origins,
        "stp_type": stp_type,
        "type_index": type_index,
        "cell_params": layout.cells,
    }
    info = NetworkInfo(populations=layout.populations, virtual=layout.virtual, extra=extra)
    return TorchNet(glif, syn, n_virtual=layout.n_virt, info=info)


def circuit_edge_specs(plan: RunPlan) -> list[list[str]]:
    """Edge population names of each ``edges`` entry of the circuit config, in order."""
    from bmtoolkit.sonata import read_edges

    out = []
    for spec in plan.config.circuit.edges:
        pops = spec.populations or read_edges(spec.edges_file, spec.edge_types_file)
        out.append(list(pops))
    return out


def types_weight_functions(edges: EdgePopulation) -> list[str | None]:
    """``weight_function`` of each edge type (None when absent)."""
    types = edges.types
    if "weight_function" not in types.columns:
        return [None]
    return [None if cell_value(v) is None else str(v) for v in types["weight_function"].tolist()]


# ---------------------------------------------------------------------- writing back
def trained_cell_params(net: TorchNet) -> list[CellParams]:
    """The CellParams of every neuron with the network's current (trained) values."""
    cells = net.cells
    base: list[CellParams] = net.info.extra["cell_params"]
    index: np.ndarray = net.info.extra["type_index"]

    def arr(name: str) -> np.ndarray:
        return getattr(cells, name).detach().cpu().double().numpy()

    th_inf, g, tau_syn = arr("th_inf"), arr("g"), arr("tau_syn")
    asc_amps, asc_decay = arr("asc_amps"), arr("asc_decay")
    th_sd, th_vd = arr("th_spike_decay"), arr("th_voltage_decay")
    out = []
    for i, t in enumerate(index):
        c = base[t]
        n_asc, n_rec = len(c.asc_decay), len(c.tau_syn)
        out.append(
            replace(
                c,
                th_inf=float(th_inf[i]),
                g=float(g[i]),
                tau_syn=tuple(map(float, tau_syn[i, :n_rec])),
                asc_amps=tuple(map(float, asc_amps[i, :n_asc])),
                asc_decay=tuple(map(float, asc_decay[i, :n_asc])),
                th_spike_decay=float(th_sd[i]) if c.glif_level in (2, 4, 5) else c.th_spike_decay,
                th_voltage_decay=float(th_vd[i]) if c.glif_level == 5 else c.th_voltage_decay,
            )
        )
    return out


def write_trained(net: TorchNet, output_dir: str | os.PathLike[str]) -> Path:
    """Write the network with its current parameters as SONATA files that pointnet runs.

    New files go to ``output_dir/network`` (nodes with per-node ``dynamics_params``, node
    types and one parameter file per distinct trained cell, edges with the trained
    ``syn_weight`` and STP columns); ``output_dir`` gets ``circuit_config.json`` and
    ``simulation_config.json`` (run, inputs and node sets of the original config; outputs in
    ``output_dir/output``). Returns the simulation config path.

    Raises
    ------
    ConfigError
        The network was not built from SONATA, or an edge type computes weights with a
        custom ``weight_function`` (whose inverse is unknown).
    """
    from bmtoolkit.simulator.torchnet._writeback import write_network_files

    if "plan" not in net.info.extra:
        raise ConfigError("write_trained needs a network built by TorchNet.from_config")
    return write_network_files(net, Path(output_dir), trained_cell_params(net))
