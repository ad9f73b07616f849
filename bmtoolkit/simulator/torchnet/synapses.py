"""Sparse synaptic transmission with per-edge delays and Tsodyks-Markram short-term plasticity.

Edges are stored as flat tensors sorted by (source, delay); no dense ``N x N`` matrix is ever
built. A spike emitted in step ``n`` reaches its target at the end of step ``n + d`` (``d``
the edge delay in steps, at least 1) through a ring buffer of ``max(d) + 1`` slots, each
``(batch, n_receptors * n_targets)``, which matches NEST's delivery of an event stamped
``t_spike`` at ``t_spike + delay``.

Two delivery paths give the same numbers:

* **event-driven** (the CPU): only the out-edges of the sources that spiked are gathered
  (CSR by source) and added with ``index_add_``; cost ~ spikes x fan-out, like an
  event-driven simulator;
* **dense** (other devices when autograd needs gradients, or ``events=False``): every edge
  adds ``w * s[src] * eff``, without a data-dependent shape.

With gradients, delivery is one :class:`~._delivery.Deliver` step per time step that keeps
only the spike vector for the backward pass; surrogate gradients still reach the weights and
the sources that did not spike (see :mod:`._delivery`). Edge indices are 32-bit where they
fit and signs 8-bit: 21 bytes per edge in float32 (25 in float64), plus 4 for the CPU event
path's folded index and 4 for the gradient columns once trained.

Short-term plasticity follows NEST ``tsodyks2_synapse``: at a spike ``n + 1`` after an
interval ``h``, ``u <- U + u (1 - U) exp(-h / tau_fac)`` and
``x <- 1 + (x - x u - 1) exp(-h / tau_rec)`` (old ``u``, ``x`` on the right), then the weight
``x u w`` is transmitted; the first spike uses the initial ``u`` and ``x`` (NEST's defaults:
0.5 and 1, whatever ``U``). Because the state depends
only on the presynaptic spike train and the parameters, one state is kept per (source,
plasticity type) pair and shared by all of that pair's edges.

Examples
--------
>>> import numpy as np, torch
>>> from bmtoolkit.simulator.torchnet.synapses import Synapses
>>> syn = Synapses(src=np.array([0]), tgt=np.array([0]), receptor=np.array([0]),
...                weight=np.array([5.0]), delay_steps=np.array([2]), n_sources=1,
...                n_targets=1, n_receptors=1, dt=1.0)
>>> state = syn.initial_state(batch=1)
>>> got = []
>>> for n in range(4):
...     state, arriving = syn.arrivals(state, n)
...     got.append(float(arriving.sum()))
...     state = syn.deliver(state, torch.tensor([[1.0 if n == 0 else 0.0]]), n)
>>> got
[0.0, 0.0, 5.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.torchnet._delivery import (
    Arrive,
    Deliver,
    WeightTap,
    csr_matrix,
    spiking_edges,
)
from bmtoolkit.simulator.torchnet._torch import torch
from bmtoolkit.simulator.torchnet.translations import StpParams

nn = torch.nn


def _integers(values: np.ndarray) -> np.ndarray:
    """``values`` as an integer array, keeping an integer type it already has."""
    arr = np.asarray(values)
    return arr if arr.dtype.kind in "iu" else arr.astype(np.int64)


def _index_type(n: int) -> type:
    """The smallest of int32 and int64 that holds indices below ``n``."""
    return np.int32 if n < 2**31 else np.int64


class PairConstants(NamedTuple):
    """Per-step STP constants of every (source, type) pair, ``(n_pairs,)`` each: ``U``, the
    first spike's ``u`` and ``x``, and the one-step decays of ``u`` and of ``1 - x``."""

    U: torch.Tensor
    u0: torch.Tensor
    x0: torch.Tensor
    u_decay: torch.Tensor
    x_decay: torch.Tensor


class SynState(NamedTuple):
    """Ring buffer ``(slots, batch, ports)`` and the STP state ``(batch, n_pairs)`` per
    (source, type) pair."""

    ring: torch.Tensor
    u: torch.Tensor
    x: torch.Tensor
    fresh: torch.Tensor

    def detach(self) -> SynState:
        """The same state cut from the autograd graph."""
        return SynState(self.ring.detach(), self.u.detach(), self.x.detach(), self.fresh)


class TsodyksMarkram(nn.Module):
    """Tsodyks-Markram (NEST ``tsodyks2_synapse``) parameters per connection type.

    Parameters
    ----------
    params : sequence of StpParams
        One entry per plasticity type.
    dt : float
        Time step (ms).

    Examples
    --------
    >>> from bmtoolkit.simulator.torchnet.translations import StpParams
    >>> TsodyksMarkram([StpParams(U=0.2, tau_rec=100.0, tau_fac=50.0)], dt=0.1).tau_rec.tolist()
    [100.0]
    """

    def __init__(
        self,
        params: Sequence[StpParams],
        *,
        dt: float,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        self.dt = float(dt)

        def tensor(name: str) -> nn.Parameter:
            values = [getattr(p, name) for p in params]
            return nn.Parameter(
                torch.tensor(values, dtype=dtype, device=device), requires_grad=False
            )

        self.U, self.tau_rec, self.tau_fac = tensor("U"), tensor("tau_rec"), tensor("tau_fac")
        self.register_buffer("u0", tensor("u").detach())
        self.register_buffer("x0", tensor("x").detach())

    def decay_factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-type one-step decay of ``u`` (0 when ``tau_fac == 0``) and of ``1 - x``."""
        fac_on = self.tau_fac > 0
        tau_fac = torch.where(fac_on, self.tau_fac, torch.ones_like(self.tau_fac))
        u_decay = torch.where(fac_on, torch.exp(-self.dt / tau_fac), torch.zeros_like(tau_fac))
        return u_decay, torch.exp(-self.dt / self.tau_rec)

    def extra_repr(self) -> str:
        return f"types={self.U.numel()}, dt={self.dt}"


class Synapses(nn.Module):
    """Current-based synapses from ``n_sources`` to ``n_targets x n_receptors`` ports.

    Parameters
    ----------
    src, tgt, receptor : array of int, shape (E,)
        Source index, target index and receptor port of every edge.
    weight : array of float, shape (E,)
        Weight (pA, peak PSC amplitude), trainable as the ``weights`` group.
    delay_steps : array of int, shape (E,)
        Delay in time steps (>= 1).
    n_sources, n_targets, n_receptors : int
        Sizes.
    dt : float
        Time step (ms).
    stp_type : array of int, shape (E,), optional
        Plasticity type of each edge (index into ``stp_params``) or -1 for static edges.
    stp_params : sequence of StpParams, optional
        Parameters per plasticity type.
    sign : array of float, shape (E,), optional
        Sign that Dale's law / sign constraints keep (default: sign of ``weight``).
    dtype, device
        Of all tensors.
    """

    def __init__(
        self,
        src: np.ndarray,
        tgt: np.ndarray,
        receptor: np.ndarray,
        weight: np.ndarray,
        delay_steps: np.ndarray,
        *,
        n_sources: int,
        n_targets: int,
        n_receptors: int,
        dt: float,
        stp_type: np.ndarray | None = None,
        stp_params: Sequence[StpParams] = (),
        sign: np.ndarray | None = None,
        dtype: torch.dtype = torch.float32,
        device: str | torch.device | None = None,
    ) -> None:
        super().__init__()
        # integer arrays keep their (possibly 32-bit) type: no 8-byte copies per edge
        src, tgt, receptor, delay = map(_integers, (src, tgt, receptor, delay_steps))
        n_edges = src.size
        weight = np.asarray(weight, dtype=float)
        stp = np.full(n_edges, -1, np.int64) if stp_type is None else np.asarray(stp_type, int)
        for name, arr in (("tgt", tgt), ("receptor", receptor), ("delay", delay), ("w", weight)):
            if arr.shape != (n_edges,):
                raise ConfigError(f"edge array {name} has shape {arr.shape}, expected ({n_edges},)")
        if n_edges and (delay.min() < 1):
            raise ConfigError("synaptic delays must be at least one time step", field="delay")
        if n_edges and (src.max() >= n_sources or tgt.max() >= n_targets):
            raise ConfigError("edge source/target index out of range", field="edges")
        if n_edges and receptor.max() >= n_receptors:
            raise ConfigError(
                f"receptor port {receptor.max()} >= {n_receptors} ports of the targets",
                field="receptor_type",
            )
        if n_edges and stp.max() >= len(stp_params):
            raise ConfigError("edge STP type index out of range", field="stp_type")
        self.n_sources, self.n_targets, self.n_receptors = n_sources, n_targets, n_receptors
        self.dt = float(dt)
        kw = {"device": device}
        span = int(delay.max()) + 1 if n_edges else 1
        if n_sources * span < 2**62:  # one stable sort of one key: the order lexsort gives
            order = np.argsort(src.astype(np.int64) * span + delay, kind="stable")
        else:
            order = np.lexsort((delay, src))
        # indices as 32-bit integers where they fit: 4 bytes per edge instead of 8
        self.register_buffer(
            "edge_order", torch.as_tensor(order.astype(_index_type(n_edges)), **kw)
        )
        stp_sorted = stp[order]
        src, delay = src[order], delay[order]
        port_type = _index_type(n_targets * n_receptors)
        port = receptor[order].astype(port_type)
        port *= n_targets
        port += tgt[order]
        del tgt, receptor
        self.register_buffer("src", torch.as_tensor(src.astype(_index_type(n_sources)), **kw))
        self.register_buffer("port", torch.as_tensor(port, **kw))
        del port
        self.register_buffer("delay", torch.as_tensor(delay.astype(np.int32), **kw))
        self.weight = nn.Parameter(
            torch.as_tensor(weight[order], dtype=dtype, device=device), requires_grad=False
        )
        sgn = np.sign(weight if sign is None else np.asarray(sign, dtype=float))[order]
        self.register_buffer("sign", torch.as_tensor(sgn.astype(np.int8), **kw))
        del order, sgn
        # CSR offsets of each source's out-edges (edges sorted by source, then delay)
        counts = np.bincount(src, minlength=n_sources)
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.register_buffer("csr", torch.as_tensor(ptr, **kw))
        self.ring_size = (int(delay.max()) if n_edges else 1) + 1
        # STP: one state per (source, type) pair; static edges point at a constant-1 column
        plastic = stp_sorted >= 0
        n_types = max(1, len(stp_params))
        if plastic.any():
            keys = src[plastic].astype(np.int64) * n_types + stp_sorted[plastic]
            pairs, inverse = np.unique(keys, return_inverse=True)
            pair_of_edge = np.full(n_edges, pairs.size, np.int64)
            pair_of_edge[plastic] = inverse
        else:  # no plastic edge: no per-edge pair index at all
            pairs, pair_of_edge = np.zeros(0, np.int64), np.zeros(0, np.int64)
        self.n_pairs = int(pairs.size)
        self.register_buffer("pair_src", torch.as_tensor(pairs // n_types, **kw))
        self.register_buffer("pair_type", torch.as_tensor(pairs % n_types, **kw))
        self.register_buffer("pair_of_edge", torch.as_tensor(pair_of_edge, **kw))
        self.stp = (
            TsodyksMarkram(stp_params, dt=dt, dtype=dtype, device=device) if stp_params else None
        )

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return int(self.src.numel())

    @property
    def tgt(self) -> torch.Tensor:
        """Target neuron of every edge (in the stored order)."""
        return torch.remainder(self.port, self.n_targets)

    def weights_in_file_order(self) -> torch.Tensor:
        """Current weights in the order the edges were given (for writing back)."""
        out = torch.empty_like(self.weight.detach())
        out[self.edge_order] = self.weight.detach()
        return out

    def initial_state(self, batch: int = 1) -> SynState:
        """Empty ring buffer and STP at rest (``u = U`` at the first spike, ``x = 1``)."""
        ref = self.weight
        size = (self.ring_size, batch, self.n_targets * self.n_receptors)
        ring = torch.zeros(size, dtype=ref.dtype, device=ref.device)
        pairs = (batch, self.n_pairs)
        u = torch.zeros(pairs, dtype=ref.dtype, device=ref.device)
        return SynState(ring, u, torch.ones_like(u), torch.ones_like(u))

    def arrivals(self, state: SynState, step: int) -> tuple[SynState, torch.Tensor]:
        """Input arriving at the end of ``step``: ``(batch, n_receptors, n_targets)``.

        The slot is emptied for reuse (in place: the ring of ``state`` changes).
        """
        slot = step % self.ring_size
        ring = state.ring
        if torch.is_grad_enabled() and ring.requires_grad:
            current, ring = Arrive.apply(ring, slot)
        else:
            current = ring[slot].clone()
            ring[slot] = 0.0
        out = current.view(current.shape[0], self.n_receptors, self.n_targets)
        return SynState(ring, state.u, state.x, state.fresh), out

    def stp_constants(self) -> PairConstants | None:
        """The STP constants of every pair, gathered from the (possibly trainable) type
        parameters; None without plastic edges. Compute them once per run and pass them to
        :meth:`deliver` (as :meth:`~.model.TorchNet.forward` does) instead of once per step."""
        if self.stp is None or self.n_pairs == 0:
            return None
        t = self.pair_type
        u_decay, x_decay = self.stp.decay_factors()
        return PairConstants(self.stp.U[t], self.stp.u0[t], self.stp.x0[t], u_decay[t], x_decay[t])

    def _efficacy(
        self, state: SynState, spikes: torch.Tensor, stp: PairConstants | None = None
    ) -> tuple[SynState, torch.Tensor]:
        """``x u`` each pair would transmit now and the state after this step's spikes."""
        if self.stp is None or self.n_pairs == 0:
            ones = torch.ones(spikes.shape[0], 1, dtype=spikes.dtype, device=spikes.device)
            return state, ones
        c = self.stp_constants() if stp is None else stp
        fresh = state.fresh
        u_used = state.u + c.U * (1.0 - state.u)
        u_used = u_used + fresh * (c.u0 - u_used)
        x_used = state.x + fresh * (c.x0 - state.x)
        eff = u_used * x_used
        s = spikes[:, self.pair_src]
        u_after = state.u + s * (u_used - state.u)
        x_after = state.x + s * (x_used - eff - state.x)
        u_new = u_after * c.u_decay
        x_new = 1.0 + (x_after - 1.0) * c.x_decay
        ones = torch.ones(eff.shape[0], 1, dtype=eff.dtype, device=eff.device)
        new = SynState(state.ring, u_new, x_new, fresh * (1.0 - s.detach()))
        return new, torch.cat([eff, ones], dim=1)

    def deliver(
        self,
        state: SynState,
        spikes: torch.Tensor,
        step: int,
        *,
        events: bool | None = None,
        tap: WeightTap | None = None,
        stp: PairConstants | None = None,
    ) -> SynState:
        """Send the spikes of ``step`` (``(batch, n_sources)``) into the ring buffer.

        The ring of ``state`` is updated in place. When autograd needs gradients (trained
        weights, spikes or STP state with gradients) delivery goes through
        :class:`~._delivery.Deliver`, which keeps only the spike vector for the backward pass.

        Parameters
        ----------
        events : bool, optional
            Without gradients: force the event-driven (True) or dense (False) path; by
            default event-driven. With gradients the CPU delivers events and other devices
            deliver densely.
        tap : WeightTap, optional
            Sums the weights' gradients of many steps into one buffer
            (:meth:`~.model.TorchNet.forward` makes one per call); without one each step
            hands autograd a weight-sized gradient.
        stp : PairConstants, optional
            :meth:`stp_constants`, computed when absent (pass them when stepping in a loop).
        """
        state, eff = self._efficacy(state, spikes, stp)
        weight = self.weight if tap is None else tap.weight
        grad = torch.is_grad_enabled() and (
            spikes.requires_grad
            or eff.requires_grad
            or weight.requires_grad
            or state.ring.requires_grad
        )
        if grad:
            ring = Deliver.apply(state.ring, spikes, weight, eff, self, step, tap)
        elif events is None or events:
            ring = self._deliver_events(state.ring, spikes, eff, step)
        else:
            ring = self._deliver_dense(state.ring, spikes, eff, step)
        return SynState(ring, state.u, state.x, state.fresh)

    def _deliver_dense(self, ring: torch.Tensor, spikes: torch.Tensor, eff: torch.Tensor, step):
        """Every edge adds ``w s[src] eff`` to its slot (in place; one pass over the edges)."""
        vals = spikes.detach()[:, self.src] * self.weight.detach()
        if eff.shape[1] > 1:
            vals = vals * eff.detach()[:, self.pair_of_edge]
        slots, batch, width = ring.shape
        base = self.__dict__.get("_dense_base")
        if base is None or base.shape[0] != batch or base.device != ring.device:
            e = torch.arange(self.n_edges, device=ring.device).expand(batch, -1)
            b = torch.arange(batch, device=ring.device)[:, None].expand_as(e)
            base = (self.delay[e] * batch + b) * width + self.port[e]
            self.__dict__["_dense_base"] = base
        size = slots * batch * width
        idx = torch.remainder(base + (step % slots) * batch * width, size).reshape(-1)
        ring.view(-1).index_add_(0, idx, vals.reshape(-1))
        return ring

    def _deliver_events(self, ring: torch.Tensor, spikes: torch.Tensor, eff: torch.Tensor, step):
        if ring.device.type == "cpu":
            return self._deliver_events_cpu(ring, spikes, eff, step)
        return self._deliver_events_torch(ring, spikes, eff, step)

    def _deliver_events_torch(self, ring, spikes, eff, step):
        """The event path in tensor operations, on the ring's device (accelerators)."""
        spikes, eff = spikes.detach(), eff.detach()
        b_idx, j_idx = torch.nonzero(spikes, as_tuple=True)
        if b_idx.numel() == 0:
            return ring
        starts = self.csr[j_idx]
        counts = self.csr[j_idx + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return ring
        offsets = torch.cumsum(counts, 0) - counts
        e = torch.arange(total, device=counts.device) + torch.repeat_interleave(
            starts - offsets, counts
        )
        b = torch.repeat_interleave(b_idx, counts)
        vals = self.weight.detach()[e]
        if eff.shape[1] > 1:
            vals = vals * eff[b, self.pair_of_edge[e]]
        vals = vals * spikes[b, self.src[e]]
        slots, batch, width = ring.shape
        slot = torch.remainder(self.delay[e] + step, slots)
        idx = (slot * batch + b) * width + self.port[e]
        ring.view(-1).index_add_(0, idx, vals)
        return ring

    def _host_arrays(self) -> dict[str, np.ndarray]:
        """Numpy views of the CPU index buffers (no copies)."""
        cache = self.__dict__.get("_host")
        if cache is None or cache["csr"].shape[0] != self.csr.shape[0]:
            cache = {
                k: getattr(self, k).cpu().numpy()
                for k in ("csr", "delay", "port", "src", "pair_of_edge")
            }
            self.__dict__["_host"] = cache
        return cache

    def _spiking_edges(self, spikes: torch.Tensor):
        """:func:`~._delivery.spiking_edges` of CPU spikes ``(batch, n_sources)``."""
        return spiking_edges(self._host_arrays()["csr"], spikes.numpy())

    def _deliver_events_cpu(self, ring, spikes, eff, step):
        """The event path with the index arithmetic in numpy (no thread-pool round trips)."""
        h = self._host_arrays()
        slots, batch, width = ring.shape
        if h.get("dp_shape") != ring.shape:  # delay slot and port folded into one offset
            size = slots * batch * width
            kind = np.int32 if 2 * size < 2**31 else np.int64
            h["dp"] = h["delay"].astype(kind) * (batch * width) + h["port"].astype(kind)
            h["dp_shape"] = ring.shape
        e, b, s_vals = self._spiking_edges(spikes.detach())
        if e is None:
            return ring
        vals = self.weight.detach().numpy()[e]
        if s_vals is not None:
            vals = vals * s_vals
        base = (step % slots) * batch * width
        idx = h["dp"][e] + (base if b is None else base + b * width)
        size = slots * batch * width
        idx[idx >= size] -= size
        if eff.shape[1] > 1:
            rows = 0 if b is None else b
            vals = vals * eff.detach().numpy()[rows, h["pair_of_edge"][e]]
        ring.view(-1).index_add_(0, torch.from_numpy(idx), torch.from_numpy(vals))
        return ring

    def _grad_columns(self, width: int) -> torch.Tensor:
        """Column ``delay * width + port`` of every edge in the step-aligned ring gradient
        ``(batch, slots * width)`` (cached; 4 bytes per edge)."""
        cache = self.__dict__.get("_grad_cols")
        if cache is None or cache[0] != width or cache[1].device != self.port.device:
            kind = torch.int32 if self.ring_size * width < 2**31 else torch.int64
            cols = self.delay.to(kind) * width + self.port.to(kind)
            cache = (width, cols)
            self.__dict__["_grad_cols"] = cache
        return cache[1]

    def _grad_matrix(self, weight: torch.Tensor, cols: torch.Tensor, n_cols: int):
        """Sparse CSR ``(n_sources, n_cols)`` matrix of the weights (CPU spike gradients)."""
        crow = self.csr if cols.dtype == torch.int64 else self.csr.to(cols.dtype)
        return csr_matrix(crow, cols, weight.detach(), (self.n_sources, n_cols))

    def apply_sign_constraint(self) -> None:
        """Project weights onto their fixed signs (Dale's law); zero-sign edges stay free."""
        with torch.no_grad():
            w = self.weight
            w.copy_(
                torch.where(
                    self.sign > 0, w.clamp(min=0), torch.where(self.sign < 0, w.clamp(max=0), w)
                )
            )

    def extra_repr(self) -> str:
        return (
            f"edges={self.n_edges}, sources={self.n_sources}, targets={self.n_targets}, "
            f"receptors={self.n_receptors}, ring={self.ring_size}, stp_pairs={self.n_pairs}"
        )
