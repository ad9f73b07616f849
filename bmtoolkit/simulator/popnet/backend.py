"""The ``popnet`` backend: SONATA population networks simulated as voltage densities.

SONATA mapping
--------------
- Every node with ``model_type: population`` is one LIF population. Its parameters
  (``tau_m``, ``v_min``, ``v_max``/``threshold``/``v_th``, ``v_reset``, ``tau_ref``, ``dv``,
  ``e_l``, ``n_neurons`` and the rate-mode ``rate_scale``, ``rate_exponent``, ``tau_rate``) come
  from the node type's ``dynamics_params`` JSON, overridden by node columns (HDF5 attributes or
  node-types CSV) and then by per-node HDF5 ``dynamics_params``. Units follow
  :mod:`~bmtoolkit.simulator.popnet.translations` (ms/mV, or BMTK's s/V).
- Every ``virtual`` node is an external population whose rate comes from an input of the
  simulation config (``module``: ``constant`` with ``firing_rate``, ``piecewise`` with
  ``times``/``rates``, ``timeseries`` with ``times``/``rates`` or ``rates_file``; BMTK's
  ``"rates"`` CSV with ``gid``/``node_id`` and ``firing_rate`` columns, whose ``gid`` is the
  node's population id in BMTK, its ``node_type_id``, or else its node id) or from a
  ``firing_rate`` node column; otherwise it is silent.
- Every edge from node ``a`` to node ``b`` is a connection: ``syn_weight`` is the jump size (mV,
  the mean for distributed jumps), ``nsyns`` the number of synapses per target neuron, ``delay``
  the delay; an optional ``jump_distribution`` edge column picks ``delta`` (default),
  ``exponential`` or ``uniform``.

Modes (``run.popnet_mode``): ``density`` (default, :mod:`~bmtoolkit.simulator.popnet.solver`),
``meanfield`` (:mod:`~bmtoolkit.simulator.popnet.meanfield`) and ``ssn``
(:mod:`~bmtoolkit.simulator.popnet.ssn`); all share the same network.

Outputs: ``output.rates_file`` (default ``rates.h5``, plus a CSV beside it) with
``/rates/<node population>``; a report with ``module: population_density`` writes density
snapshots every ``dt`` ms to its file.

Examples
--------
>>> from bmtoolkit.simulator.core.registries import get_backend
>>> get_backend("popnet").name
'popnet'
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import ConfigError, SonataFormatError
from bmtoolkit.registry import Registry
from bmtoolkit.simulator.core.base import Backend
from bmtoolkit.simulator.core.catalogue import is_empty
from bmtoolkit.simulator.core.models import edge_table, node_dynamics, node_type_models
from bmtoolkit.simulator.core.progress import run_in_blocks
from bmtoolkit.simulator.popnet.inputs import ConstantRate
from bmtoolkit.simulator.popnet.meanfield import MeanFieldModel
from bmtoolkit.simulator.popnet.populations import (
    Connection,
    ExternalPopulation,
    LIFPopulation,
    PopulationNetwork,
)
from bmtoolkit.simulator.popnet.recording import RateRecorder
from bmtoolkit.simulator.popnet.solver import DensitySolver
from bmtoolkit.simulator.popnet.spec import SPEC
from bmtoolkit.simulator.popnet.ssn import SSNModel
from bmtoolkit.simulator.popnet.translations import (
    PARAM_NAMES,
    connection_units,
    population_params,
    run_dt,
    unit_system,
)

log = logging.getLogger("bmtoolkit.simulator.popnet")

#: popnet modes: name -> model class (density solver, mean field, SSN)
MODES: Registry[type] = Registry("popnet mode")
MODES.register("density", DensitySolver, aliases=("dipde", "population_density"))
MODES.register("meanfield", MeanFieldModel, aliases=("mean_field", "siegert"))
MODES.register("ssn", SSNModel)

_PARAM_KEYS = tuple({k for names in PARAM_NAMES.values() for k in names}) + ("units",)


def _name(pop: str, node: int) -> str:
    return f"{pop}:{int(node)}"


class PopnetBackend(Backend):
    """Population-density (and rate-model) backend; see the module docstring."""

    name: ClassVar[str] = SPEC.name
    requires: ClassVar[tuple[str, ...]] = SPEC.requires

    def setup(self) -> None:
        """Pick the mode and prepare containers."""
        self.mode = self.options.mode
        self.model_cls = MODES.get(self.mode)
        self.internal: dict[str, LIFPopulation] = {}
        self.columns: dict[str, tuple[str, int]] = {}
        self.units: dict[str, str] = {}
        self.external_nodes: dict[str, tuple[str, int]] = {}
        self.external_rates: dict[str, Any] = {}
        self.connections: list[Connection] = []
        self.density_every: float | None = None
        self.density_file: Path | None = None

    # ------------------------------------------------------------------ network
    def build_network(self) -> None:
        """Create one population per ``population`` node and one connection per edge."""
        plan = self.plan
        selected = plan.resolve_node_set(None)
        for pop_name, pop in plan.circuit.nodes.items():
            ids = np.asarray(selected.get(pop_name, []), dtype=np.int64)
            if ids.size == 0:
                continue
            self._add_nodes(pop_name, pop, ids)
        for edges in plan.circuit.edges.values():
            self._add_edges(edges)

    def _node_table(self, pop: Any, ids: np.ndarray) -> tuple[pd.DataFrame, dict]:
        models = node_type_models(self.plan, pop)
        props = set(pop.property_names)
        cols = {k: pop.column(k, ids) for k in _PARAM_KEYS + ("firing_rate",) if k in props}
        table = pd.DataFrame(cols, index=ids)
        table["node_type_id"] = pop.node_type_ids()[ids]
        if "model_type" in props:
            table["model_type"] = pop.column("model_type", ids)
        else:
            table["model_type"] = [models[int(t)].model_type for t in table["node_type_id"]]
        return table, models

    def _add_nodes(self, pop_name: str, pop: Any, ids: np.ndarray) -> None:
        table, models = self._node_table(pop, ids)
        overrides = node_dynamics(pop, ids)
        for node in ids:
            row = table.loc[node]
            model_type = str(row["model_type"])
            name = _name(pop_name, node)
            if model_type == "virtual":
                self.external_nodes[name] = (pop_name, int(node))
                rate = row.get("firing_rate")
                if not is_empty(rate):
                    self.external_rates[name] = ConstantRate(float(rate))
                continue
            if model_type != "population":
                raise ConfigError(
                    f"popnet simulates nodes with model_type 'population' (and 'virtual' "
                    f"sources); node {int(node)} has model_type {model_type!r}",
                    path=pop.types_path or pop.h5_path,
                    field=f"{pop_name}.model_type",
                )
            params: dict[str, Any] = dict(models[int(row["node_type_id"])].params)
            params.update(
                {k: row[k] for k in table.columns if k in _PARAM_KEYS and not is_empty(row[k])}
            )
            if node in overrides.index:
                params.update({k: v for k, v in overrides.loc[node].items() if not is_empty(v)})
            where = f"{pop_name}[{int(node)}]"
            try:
                self.units[name] = unit_system(params)
                self.internal[name] = LIFPopulation(name, **population_params(params, where=where))
            except ConfigError as err:
                raise ConfigError(
                    err.message, path=pop.types_path or pop.h5_path, field=where
                ) from None
            self.columns[name] = (pop_name, int(node))

    def _add_edges(self, edges: Any) -> None:
        table = edge_table(self.plan, edges, default_delay=0.0)
        nsyns = np.asarray(table.properties["nsyns"], dtype=float)
        jumps = np.divide(table.weights, nsyns, out=np.zeros_like(table.weights), where=nsyns > 0)
        if "jump_distribution" in edges.property_names:
            dist = np.asarray(edges.column("jump_distribution")).astype(str)
        else:
            dist = np.full(len(jumps), "delta")
        known = set(self.internal) | set(self.external_nodes)
        for k in range(len(jumps)):
            src = _name(table.source_population, table.source_ids[k])
            tgt = _name(table.target_population, table.target_ids[k])
            if src not in known or tgt not in known:
                continue  # outside the simulated node set
            if tgt not in self.internal:
                raise SonataFormatError(
                    f"edge {k} targets {tgt}, which is not a 'population' node",
                    path=edges.h5_path,
                    field=table.population,
                )
            w_factor, d_factor = connection_units(self.units[tgt])
            self.connections.append(
                Connection(
                    src,
                    tgt,
                    weight=float(jumps[k]) * w_factor,
                    nsyns=float(nsyns[k]),
                    delay=float(table.delays[k]) * d_factor,
                    distribution=str(dist[k]),
                )
            )

    # ------------------------------------------------------------------ inputs and reports
    def add_inputs(self) -> None:
        """Attach rate functions to the virtual nodes named by each rate input's node set."""
        plan = self.plan
        for inp in plan.inputs():  # RateInput only: the spec refuses other inputs
            where = f"inputs.{inp.name}"
            targets = plan.resolve_node_set(inp.node_set)
            for pop_name, ids in targets.items():
                ids = np.asarray(ids, dtype=np.int64)
                type_ids = plan.circuit.nodes[pop_name].node_type_ids()[ids]
                for node, type_id in zip(ids, type_ids, strict=True):
                    name = _name(pop_name, node)
                    if name in self.internal:
                        raise ConfigError(
                            f"node {name} is a 'population' node; rates drive virtual nodes only",
                            path=plan.config_path,
                            field=f"{where}.node_set",
                        )
                    rate = inp.rate_of(int(node), int(type_id))
                    if rate is not None:
                        self.external_rates[name] = rate
        self._make_network()

    def _make_network(self) -> None:
        externals = []
        for name in self.external_nodes:
            rate = self.external_rates.get(name)
            if rate is None:
                log.warning("virtual node %s has no rate input; it stays silent", name)
                rate = ConstantRate(0.0)
            externals.append(ExternalPopulation(name, rate))
        if not self.internal:
            raise ConfigError(
                "no 'population' nodes to simulate in the selected node set",
                path=self.plan.config_path,
            )
        self.network = PopulationNetwork(
            tuple(self.internal.values()), tuple(externals), tuple(self.connections)
        )

    def add_reports(self) -> None:
        """Density snapshots for ``population_density`` reports (the only kind it accepts)."""
        self.recorder = RateRecorder(self.network.population_names)
        for rep in self.plan.reports():
            self.density_every = float(rep.dt)
            self.density_file = rep.file_name

    # ------------------------------------------------------------------ run
    def simulate(self) -> None:
        """Run the chosen mode from ``tstart`` to ``tstop``."""
        plan = self.plan
        dt = run_dt(plan.dt, plan.target_simulator)
        if dt != plan.dt:
            log.info("DiPDE config: run.dt %g read in seconds (%g ms)", plan.dt, dt)
        model = self.model_cls(self.network, dt=dt, tstart=plan.tstart)
        if isinstance(model, DensitySolver):

            def advance(_t0: float, t1: float) -> None:
                res = model.run(t1, density_every=self.density_every)
                self.recorder.add(res.times, res.rates)
                if self.density_every is not None:
                    self.recorder.add_densities(res.density_times, res.densities)

            run_in_blocks(plan.tstart, plan.tstop, advance, progress=plan.progress, desc="popnet")
            self.grids = {n: g.edges for n, g in model.grids.items()}
        else:
            res = model.run(plan.tstop)
            self.recorder.add(res.times, res.rates)
        self.result.extra["mode"] = self.mode

    def _rates_path(self, path: Path) -> Path:
        """Where the rates go: like BMTK, a relative ``rates_file`` is inside ``output_dir``.

        The config loader resolves unknown ``*_file`` keys against the config's folder; a
        file that landed directly in that folder is moved into the output folder.
        """
        if path.suffix.lower() == ".csv":
            path = path.with_suffix(".h5")
        cfg = self.plan.config_path
        if path.is_absolute() and cfg is not None and path.parent == cfg.parent.resolve():
            path = Path(path.name)
        return self.plan.output_path(path)

    def write_outputs(self) -> None:
        """Write the rates (h5 + CSV) and any density snapshots."""
        rates_path = self._rates_path(Path(self.options.rates_file))
        path = self.recorder.write_rates(rates_path, self.columns)
        self.result.outputs["rates"] = str(path)
        self.result.outputs["rates_csv"] = str(path.with_suffix(".csv"))
        if self.density_file is not None:
            dens = self.recorder.write_densities(self.density_file, self.columns, self.grids)
            if dens is not None:
                self.result.outputs["density"] = str(dens)
