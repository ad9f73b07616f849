"""``torchnet`` as a :class:`~bmtoolkit.simulator.core.base.Backend`: ``bmtoolkit run`` on PyTorch.

- ``setup``: imports torch, seeds it from ``run.random_seed``, sets the thread count;
- ``build_network``: :func:`.io.build_network` (float64 on CPU by default, so results agree
  with NEST to the last spike; ``run.torchnet = {"dtype": "float32", "device": "cuda"}`` in the
  config, or ``TORCHNET_DEVICE`` / ``TORCHNET_DTYPE`` in the environment, change that);
- ``add_inputs``: spike trains and current clamps as tensors (:func:`.inputs.inputs_from_plan`);
- ``add_reports``: membrane reports of ``V_m`` (and ``I_syn``, ``threshold``) on simulated nodes,
  row ``j`` holding the state at ``start_time + (j + 1) dt`` as pointnet writes them;
- ``simulate``: one forward pass without gradients, in chunks;
- ``write_outputs``: spikes and reports through :mod:`bmtoolkit.sonata`.

Examples
--------
>>> from bmtoolkit.simulator import run
>>> run("config.json", backend="torchnet")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np

from bmtoolkit.exceptions import BackendNotAvailableError
from bmtoolkit.simulator.core.base import Backend
from bmtoolkit.simulator.core.plan import RunPlan
from bmtoolkit.simulator.torchnet.spec import SPEC

log = logging.getLogger("bmtoolkit.simulator.torchnet")


def device_field(plan: RunPlan) -> str:
    """Where the run's device was given, for error messages: the config's
    ``run.torchnet.device``, else ``$TORCHNET_DEVICE``."""
    from bmtoolkit.simulator.torchnet.spec import DEVICE_ENV

    given = dict(plan.extra.get("torchnet", {}) or {})
    return "run.torchnet.device" if "device" in given else f"${DEVICE_ENV}"


#: report variable -> (what the network records, offset added to get the reported value)
REPORT_VARIABLES = {"V_m": "v", "v": "v", "I_syn": "i_syn", "threshold": "threshold"}


class TorchNetBackend(Backend):
    """Run a SONATA point-neuron network on PyTorch (see the module docstring)."""

    name: ClassVar[str] = SPEC.name
    requires: ClassVar[tuple[str, ...]] = SPEC.requires

    @classmethod
    def preflight(cls, plan: RunPlan) -> list[Any]:
        """Membrane reports of variables torchnet does not record (errors, before setup)."""
        from bmtoolkit.simulator.core.reports import MembraneReport
        from bmtoolkit.sonata.validation import Problem

        problems = cls._device_problems(plan)
        for rep in plan.reports():
            bad = [v for v in getattr(rep, "variables", ()) if v not in REPORT_VARIABLES]
            if isinstance(rep, MembraneReport) and bad:
                problems.append(
                    Problem(
                        str(plan.config_path or ""),
                        f"reports.{rep.name}.variable_name",
                        f"torchnet cannot record {bad}; it records {sorted(REPORT_VARIABLES)}",
                        "capability",
                    )
                )
        return problems

    @classmethod
    def _device_problems(cls, plan: RunPlan) -> list[Any]:
        """A device this machine lacks (``cuda`` without a GPU) or does not know."""
        from bmtoolkit.exceptions import BmtkError
        from bmtoolkit.simulator.core.preflight import problem_from_error

        try:
            from bmtoolkit.simulator.torchnet._torch import check_device
        except BackendNotAvailableError:
            return []  # no PyTorch: reported as a missing backend module
        try:
            check_device(
                SPEC.parse_options(plan).device, path=plan.config_path, field=device_field(plan)
            )
        except BmtkError as err:
            return [problem_from_error(err, str(plan.config_path or ""))]
        return []

    @classmethod
    def from_config(cls, config: Any, **overrides: Any) -> TorchNetBackend:
        """A backend ready to :meth:`run` for a config path or ``SimulationConfig``."""
        return cls(RunPlan.from_config(config, backend=cls.name, **overrides))

    def setup(self) -> None:
        """Import torch, seed it and set threads."""
        try:
            import torch
        except ImportError as err:
            raise BackendNotAvailableError(
                f"the torchnet backend needs PyTorch: pip install torch ({err})"
            ) from err
        self.torch = torch
        from bmtoolkit.simulator.torchnet._torch import check_device

        self.dtype = getattr(torch, self.options.dtype)
        self.device = check_device(
            self.options.device, path=self.plan.config_path, field=device_field(self.plan)
        )
        if self.plan.seed is not None:
            torch.manual_seed(int(self.plan.seed))
        torch.set_num_threads(int(self.plan.threads))
        self.records: dict[str, Any] = {}
        self.result.extra["torch_version"] = torch.__version__
        self.result.extra["device"] = str(self.device)

    def build_network(self) -> None:
        """Cells and synapses from the plan's circuit."""
        from bmtoolkit.simulator.torchnet.io import build_network

        self.net = build_network(self.plan, dtype=self.dtype, device=self.device)
        self.result.extra["n_connections"] = self.net.synapses.n_edges

    def add_inputs(self) -> None:
        """Spike trains and current clamps as tensors."""
        from bmtoolkit.simulator.torchnet.inputs import inputs_from_plan

        self.inputs, self.current = inputs_from_plan(
            self.plan, self.net.info, dtype=self.dtype, device=self.device
        )

    def add_reports(self) -> None:
        """Membrane reports of simulated nodes (the spec and :meth:`preflight` refuse others)."""
        self.reports = list(self.plan.reports())

    def simulate(self) -> None:
        """Forward pass from 0 to ``tstop`` in chunks (bounded memory), without gradients."""
        torch = self.torch
        plan, net = self.plan, self.net
        steps = int(round(plan.tstop / plan.dt))
        variables = sorted({REPORT_VARIABLES[v] for r in self.reports for v in r.variables})
        cols = [np.zeros(0, dtype=np.int64)]
        for rep in self.reports:
            for pop, ids in plan.resolve_node_set(rep.node_set).items():
                if pop in net.info.populations:
                    cols.append(np.asarray(ids, dtype=np.int64) + net.info.populations[pop][0])
        self.report_cols = np.unique(np.concatenate(cols))
        sel = torch.as_tensor(self.report_cols, device=net.cells.E_L.device)
        block = self.options.nsteps_block
        chunk = max(1, min(block, (1 << 25) // max(1, net.n)))
        state = net.initial_state(1)
        ids, times, traces = [], [], {v: [] for v in variables}
        with torch.inference_mode():
            for start in range(0, steps, chunk):
                stop = min(steps, start + chunk)
                inp = None if self.inputs is None else self.inputs[start:stop]
                cur = None if self.current is None else self.current[start:stop]
                out, state = net(
                    inp,
                    steps=stop - start,
                    current=cur,
                    state=state,
                    record=["spikes", *variables],
                    return_state=True,
                )
                k, _, i = torch.nonzero(out["spikes"], as_tuple=True)
                ids.append(i.cpu().numpy())
                times.append((k.cpu().numpy() + start + 1) * plan.dt)
                for v in variables:
                    traces[v].append(out[v][:, 0].index_select(1, sel).cpu().numpy())
        self.spike_index = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        self.spike_times = np.concatenate(times) if times else np.zeros(0)
        keep = self.spike_times >= plan.tstart
        self.spike_index, self.spike_times = self.spike_index[keep], self.spike_times[keep]
        self.records = {v: np.concatenate(t) for v, t in traces.items() if t}

    def write_outputs(self) -> None:
        """Spikes per population and membrane reports."""
        plan = self.plan
        spikes = self.net.info.spikes_by_population(self.spike_index, self.spike_times)
        self.result.extra["n_spikes"] = int(len(self.spike_times))
        self.hand_back_spikes(spikes)
        for rep in self.reports:
            targets = plan.resolve_node_set(rep.node_set)
            for var in rep.variables:
                trace = self.records[REPORT_VARIABLES[var]]  # (T, n) at t = (k + 1) dt
                end = min(rep.end_time, plan.tstop)
                # row j holds the state at start + (j + 1) dt (BMTK's and pointnet's rows)
                grid = np.arange(rep.start_time, end - 1e-9, rep.dt) + rep.dt
                rows = np.round(grid / plan.dt).astype(int) - 1
                data = {}
                for pop, ids in targets.items():
                    if pop not in self.net.info.populations or len(ids) == 0:
                        continue
                    offset, _ = self.net.info.populations[pop]
                    cols = np.asarray(ids, dtype=np.int64) + offset
                    pos = np.searchsorted(self.report_cols, cols)
                    block = np.where(
                        (rows >= 0)[:, None],
                        trace[np.clip(rows, 0, None)][:, pos],
                        self._initial(var, cols),
                    )
                    data[pop] = (np.asarray(ids), block)
                self.hand_back_trace(rep, var, data, tstop=end)

    def _initial(self, var: str, cols: np.ndarray) -> np.ndarray:
        """Value of a variable at t = 0 (before the first step)."""
        cells = self.net.cells
        if REPORT_VARIABLES[var] == "v":
            return (cells.V_m + cells.E_L).detach().cpu().numpy()[cols][None, :]
        if REPORT_VARIABLES[var] == "threshold":
            return (cells.th_inf + cells.E_L).detach().cpu().numpy()[cols][None, :]
        return np.zeros((1, len(cols)))
