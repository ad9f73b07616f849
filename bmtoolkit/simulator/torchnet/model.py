"""The torchnet network: GLIF cells, sparse synapses and virtual input sources in one module.

Source indices ``0 .. n-1`` are the network's own neurons and ``n .. n + n_virtual - 1`` the
virtual (input) nodes whose spikes come from a tensor. One simulation step ``k`` covers
``(k dt, (k+1) dt]``; a spike in step ``k`` has the time stamp ``(k+1) dt`` (NEST's
convention) and an input spike at time ``t`` belongs to step ``round(t / dt) - 1``.

Examples
--------
>>> import numpy as np, torch
>>> from bmtoolkit.simulator.torchnet.cells import GLIFCells
>>> from bmtoolkit.simulator.torchnet.synapses import Synapses
>>> from bmtoolkit.simulator.torchnet.translations import CellParams
>>> cells = GLIFCells.from_params([CellParams()] * 2, dt=0.5)
>>> syn = Synapses(np.array([2, 2]), np.array([0, 1]), np.zeros(2, int), np.full(2, 900.0),
...                np.ones(2, int), n_sources=3, n_targets=2, n_receptors=1, dt=0.5)
>>> net = TorchNet(cells, syn, n_virtual=1)
>>> inputs = torch.zeros(40, 1, 1); inputs[5] = 1.0
>>> out = net(inputs)
>>> out["spikes"].shape, int(out["spikes"].sum())
(torch.Size([40, 1, 2]), 2)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.capabilities import delay_steps
from bmtoolkit.simulator.torchnet._delivery import WeightTap
from bmtoolkit.simulator.torchnet._torch import check_device, torch
from bmtoolkit.simulator.torchnet.cells import CELL_GROUPS, GLIFCells, GLIFState
from bmtoolkit.simulator.torchnet.synapses import Synapses, SynState

nn = torch.nn

#: trainable group -> (submodule, parameter names)
PARAMETER_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    **{group: ("cells", names) for group, names in CELL_GROUPS.items()},
    "weights": ("synapses", ("weight",)),
    "stp": ("synapses.stp", ("U", "tau_rec", "tau_fac")),
}


#: recordable name -> function(net, spikes, cell state) -> (batch, n) tensor
RECORDABLES: dict[str, Any] = {
    "spikes": lambda net, s, st: s,
    "v": lambda net, s, st: st.v + net.cells.E_L,
    "i_syn": lambda net, s, st: st.y[:, net.cells.n_receptors :].sum(1),
    "threshold": lambda net, s, st: st.th_spike + st.th_voltage + net.cells.th_inf + net.cells.E_L,
}


class NetState(NamedTuple):
    """Cell and synapse state between calls (for truncated BPTT or chunked runs)."""

    cells: GLIFState
    synapses: SynState
    step: int

    def detach(self) -> NetState:
        """Cut the state from the autograd graph."""
        return NetState(self.cells.detach(), self.synapses.detach(), self.step)


@dataclass
class NetworkInfo:
    """Where the neurons came from, for reading inputs and writing results.

    ``populations`` maps each simulated SONATA population to ``(offset, size)`` in the
    neuron axis, ``virtual`` each virtual population to ``(offset, size)`` in the input axis;
    ``extra`` holds what :mod:`.io` needs to write trained parameters back.
    """

    populations: dict[str, tuple[int, int]] = field(default_factory=dict)
    virtual: dict[str, tuple[int, int]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def spikes_by_population(
        self, index: np.ndarray, times: np.ndarray
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Split ``(neuron index, time)`` spikes into ``{population: (node_ids, times)}``."""
        out = {}
        for name, (offset, size) in self.populations.items():
            sel = (index >= offset) & (index < offset + size)
            out[name] = (index[sel] - offset, times[sel])
        return out


class TorchNet(nn.Module):
    """A differentiable network of GLIF neurons.

    Parameters
    ----------
    cells : GLIFCells
        The ``n`` simulated neurons.
    synapses : Synapses
        Edges from ``n + n_virtual`` sources to the neurons' receptor ports.
    n_virtual : int
        Number of virtual input nodes (source indices ``n ...``).
    info : NetworkInfo, optional
        SONATA provenance used when writing results and trained parameters.
    """

    def __init__(
        self,
        cells: GLIFCells,
        synapses: Synapses,
        n_virtual: int = 0,
        info: NetworkInfo | None = None,
    ) -> None:
        super().__init__()
        if synapses.n_sources != cells.n + n_virtual or synapses.n_targets != cells.n:
            raise ConfigError(
                f"synapses connect {synapses.n_sources} sources to {synapses.n_targets} targets;"
                f" expected {cells.n + n_virtual} sources and {cells.n} targets"
            )
        self.cells = cells
        self.synapses = synapses
        self.n_virtual = int(n_virtual)
        self.info = info or NetworkInfo(
            populations={"internal": (0, cells.n)},
            virtual={"external": (0, self.n_virtual)} if self.n_virtual else {},
        )

    @classmethod
    def from_config(cls, config: str | os.PathLike[str] | Any, **kwargs: Any) -> TorchNet:
        """Build from a SONATA simulation/circuit config (see :func:`.io.build_network`).

        Examples
        --------
        >>> net = TorchNet.from_config("config.json", dtype=torch.float64)  # doctest: +SKIP
        """
        from bmtoolkit.simulator.torchnet.io import build_network

        return build_network(config, **kwargs)

    @classmethod
    def from_arrays(
        cls,
        cells: Sequence[Any],
        src: np.ndarray,
        tgt: np.ndarray,
        weight: np.ndarray,
        delay: np.ndarray,
        *,
        dt: float,
        n_virtual: int = 0,
        type_index: np.ndarray | None = None,
        receptor: np.ndarray | None = None,
        stp_type: np.ndarray | None = None,
        stp_params: Sequence[Any] = (),
        dtype: torch.dtype = torch.float32,
        device: str | torch.device | None = None,
        **cell_options: Any,
    ) -> TorchNet:
        """Build a network from plain arrays (no SONATA files).

        Parameters
        ----------
        cells : sequence of CellParams
            Per neuron, or per type with ``type_index``.
        src, tgt, weight, delay : arrays (E,)
            Source index (``>= n`` for virtual node ``src - n``), target index, weight (pA)
            and delay (ms, rounded to the nearest step as NEST rounds it; a delay under half
            a step is refused, see :func:`~bmtoolkit.simulator.core.capabilities.delay_steps`).
        receptor : array (E,), optional
            Receptor port (0-based); default 0, or the sign rule of ``iaf_psc_*`` cells.
        stp_type, stp_params
            Plasticity type of each edge (-1 static) and the parameters of each type.
        **cell_options
            Passed to :class:`GLIFCells` (``surrogate``, ``integrator``, ``detach_reset``).

        Examples
        --------
        >>> from bmtoolkit.simulator.torchnet.translations import CellParams
        >>> net = TorchNet.from_arrays([CellParams()] * 3, np.array([0, 3]), np.array([1, 2]),
        ...                            np.array([50.0, 80.0]), np.array([1.0, 2.0]), dt=0.5,
        ...                            n_virtual=1)
        >>> net.n, net.synapses.n_edges
        (3, 2)
        """
        device = check_device(device)
        glif = GLIFCells.from_params(
            cells, type_index, dt=dt, dtype=dtype, device=device, **cell_options
        )
        idx = np.arange(len(cells)) if type_index is None else np.asarray(type_index)
        weight = np.asarray(weight, dtype=float)
        tgt = np.asarray(tgt, dtype=np.int64)
        if receptor is None:
            sign_mode = np.array([c.receptor_mode == "sign" for c in cells])[idx]
            receptor = np.where(sign_mode[tgt], (weight < 0).astype(np.int64), 0)
        steps = delay_steps(np.asarray(delay, dtype=float), dt)
        syn = Synapses(
            np.asarray(src, dtype=np.int64),
            tgt,
            np.asarray(receptor, dtype=np.int64),
            weight,
            steps,
            n_sources=glif.n + n_virtual,
            n_targets=glif.n,
            n_receptors=glif.n_receptors,
            dt=dt,
            stp_type=stp_type,
            stp_params=stp_params,
            dtype=dtype,
            device=device,
        )
        return cls(glif, syn, n_virtual=n_virtual)

    # ------------------------------------------------------------------ properties
    @property
    def n(self) -> int:
        """Number of simulated neurons."""
        return self.cells.n

    @property
    def dt(self) -> float:
        """Time step (ms)."""
        return self.cells.dt

    def parameter_group(self, group: str) -> list[nn.Parameter]:
        """Parameters of a trainable group (``weights``, ``time_constants``, ``asc_amps``,
        ``thresholds``, ``stp``)."""
        if group not in PARAMETER_GROUPS:
            raise ConfigError(
                f"unknown parameter group {group!r}; known: {', '.join(sorted(PARAMETER_GROUPS))}"
            )
        module_path, names = PARAMETER_GROUPS[group]
        module: Any = self
        for part in module_path.split("."):
            module = getattr(module, part, None)
            if module is None:
                return []
        return [getattr(module, name) for name in names]

    def set_trainable(self, groups: Sequence[str]) -> list[nn.Parameter]:
        """Make exactly ``groups`` trainable; return their parameters."""
        for p in self.parameters():
            p.requires_grad_(False)
        params = [p for g in groups for p in self.parameter_group(g)]
        for p in params:
            p.requires_grad_(True)
        return params

    # ------------------------------------------------------------------ simulation
    def initial_state(self, batch: int = 1) -> NetState:
        """Network at rest."""
        return NetState(self.cells.initial_state(batch), self.synapses.initial_state(batch), 0)

    def forward(
        self,
        inputs: torch.Tensor | None = None,
        *,
        steps: int | None = None,
        current: torch.Tensor | None = None,
        state: NetState | None = None,
        batch: int | None = None,
        record: Sequence[str] = ("spikes",),
        return_state: bool = False,
    ) -> dict[str, torch.Tensor] | tuple[dict[str, torch.Tensor], NetState]:
        """Simulate ``steps`` time steps.

        Parameters
        ----------
        inputs : torch.Tensor, optional
            ``(T, batch, n_virtual)`` spikes of the virtual nodes per step (moved to the
            network's device and dtype when they are elsewhere).
        steps : int, optional
            Number of steps (default ``T`` of ``inputs`` or ``current``).
        current : torch.Tensor, optional
            ``(T, batch, n)`` injected current (pA), acting from the step after it is given
            (moved to the network's device when it is elsewhere).
        state : NetState, optional
            State to continue from (default: at rest).
        batch : int, optional
            Number of trials when neither inputs nor state fix it (default 1).
        record : sequence of str
            Any of ``spikes``, ``v`` (mV, absolute), ``i_syn`` (pA, summed PSCs),
            ``threshold`` (mV, absolute).
        return_state : bool
            Also return the final :class:`NetState`.

        Returns
        -------
        dict of str -> torch.Tensor
            Each ``(T, batch, n)``.
        """
        for t in (inputs, current):
            if t is not None and t.dim() != 3:
                raise ConfigError(
                    f"inputs and currents must be (T, batch, n), got {tuple(t.shape)}"
                )
        if steps is None:
            ref = inputs if inputs is not None else current
            if ref is None:
                raise ConfigError("give `steps` or an input tensor")
            steps = ref.shape[0]
        if inputs is not None and inputs.shape[2] != self.n_virtual:
            raise ConfigError(
                f"inputs have {inputs.shape[2]} channels, network has "
                f"{self.n_virtual} virtual nodes"
            )
        unknown = [name for name in record if name not in RECORDABLES]
        if unknown:
            raise ConfigError(
                f"cannot record {unknown}; known: {', '.join(sorted(RECORDABLES))}",
                field="record",
            )
        if state is None:
            b = batch or next((t.shape[1] for t in (inputs, current) if t is not None), 1)
            state = self.initial_state(b)
        for name, t in (("inputs", inputs), ("current", current)):
            if t is not None and (t.shape[0] < steps or t.shape[1] != state.cells.v.shape[0]):
                raise ConfigError(
                    f"{name} has shape {tuple(t.shape)}; need at least {steps} steps and "
                    f"batch {state.cells.v.shape[0]}",
                    field=name,
                )
        cstate, sstate, step0 = state
        sstate = sstate._replace(ring=sstate.ring.clone())  # runs update it in place
        b = cstate.v.shape[0]
        dtype, device = self.cells.E_L.dtype, self.cells.E_L.device
        # moved to the network's device once (no copy when already there)
        if inputs is not None:
            inputs = inputs[:steps].to(device=device, dtype=dtype)
        if current is not None:
            current = current[:steps].to(device=device)
        consts = self.cells.constants()
        mech = self.cells.mechanisms()
        stp = self.synapses.stp_constants()
        no_input = torch.zeros(b, self.n_virtual, dtype=dtype, device=device)
        records: dict[str, list[torch.Tensor]] = {name: [] for name in record}
        tap = WeightTap.of(self.synapses.weight)  # one weight gradient for all the steps
        for k in range(steps):
            n = step0 + k
            sstate, arriving = self.synapses.arrivals(sstate, n)
            ext = None if current is None else current[k]
            cstate, s = self.cells.step(cstate, arriving, ext, consts, mech)
            virt = no_input if inputs is None else inputs[k]
            spikes = torch.cat([s, virt], dim=1)
            sstate = self.synapses.deliver(sstate, spikes, n, tap=tap, stp=stp)
            for name, vals in records.items():
                vals.append(RECORDABLES[name](self, s, cstate))
        out = {
            name: torch.stack(vals)
            if vals
            else torch.zeros(0, b, self.n, dtype=dtype, device=device)
            for name, vals in records.items()
        }
        final = NetState(cstate, sstate, step0 + steps)
        return (out, final) if return_state else out

    @torch.inference_mode()
    def simulate(
        self,
        tstop: float,
        inputs: torch.Tensor | None = None,
        current: torch.Tensor | None = None,
        chunk: int = 1000,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Run without gradients for ``tstop`` ms; return ``(neuron_index, spike_time_ms)``.

        Inputs are ``(T, 1, n_virtual)``; the run proceeds in chunks so memory stays bounded.

        Examples
        --------
        >>> ids, times = net.simulate(1000.0)  # doctest: +SKIP
        """
        steps = int(round(tstop / self.dt))
        state = self.initial_state(1)
        ids, times = [], []
        for start in range(0, steps, chunk):
            stop = min(steps, start + chunk)
            inp = None if inputs is None else inputs[start:stop]
            cur = None if current is None else current[start:stop]
            out, state = self.forward(
                inp, steps=stop - start, current=cur, state=state, batch=1, return_state=True
            )
            k, _, i = torch.nonzero(out["spikes"], as_tuple=True)
            ids.append(i.cpu().numpy())
            times.append((k.cpu().numpy() + start + 1) * self.dt)
        node = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        t = np.concatenate(times) if times else np.zeros(0)
        order = np.lexsort((node, t))
        return node[order], t[order]
