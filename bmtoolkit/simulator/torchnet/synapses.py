"""Sparse synaptic transmission with per-edge delays and Tsodyks-Markram short-term plasticity.

Edges are stored as flat tensors sorted by (source, delay); no dense ``N x N`` matrix is ever
built. A spike emitted in step ``n`` reaches its target at the end of step ``n + d`` (``d``
the edge delay in steps, at least 1) through a ring buffer of ``max(d) + 1`` slots, each
``(batch, n_receptors * n_targets)``, which matches NEST's delivery of an event stamped
``t_spike`` at ``t_spike + delay``.

Two delivery paths give the same numbers:

* **event-driven** (no autograd): only the out-edges of the sources that spiked are gathered
  (CSR by source) and added with ``index_add_``; cost ~ spikes x
  fan-out, like an event-driven simulator;
* **dense** (autograd): every edge contributes ``w * s[src] * eff`` with ``index_add``, so
  surrogate gradients reach the weights and the sources that did not spike.

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
from bmtoolkit.simulator.torchnet._torch import torch
from bmtoolkit.simulator.torchnet.translations import StpParams

nn = torch.nn


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
        src = np.asarray(src, dtype=np.int64)
        n_edges = src.size
        tgt = np.asarray(tgt, dtype=np.int64)
        receptor = np.asarray(receptor, dtype=np.int64)
        delay = np.asarray(delay_steps, dtype=np.int64)
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
        order = np.lexsort((delay, src))
        kw = {"device": device}
        self.register_buffer("edge_order", torch.as_tensor(order, **kw))
        self.register_buffer("src", torch.as_tensor(src[order], **kw))
        self.register_buffer("tgt", torch.as_tensor(tgt[order], **kw))
        self.register_buffer("port", torch.as_tensor((receptor * n_targets + tgt)[order], **kw))
        self.register_buffer("delay", torch.as_tensor(delay[order], **kw))
        self.weight = nn.Parameter(
            torch.as_tensor(weight[order], dtype=dtype, device=device), requires_grad=False
        )
        sgn = np.sign(weight) if sign is None else np.sign(np.asarray(sign, dtype=float))
        self.register_buffer("sign", torch.as_tensor(sgn[order], dtype=dtype, device=device))
        # CSR offsets of each source's out-edges (edges sorted by source, then delay)
        counts = np.bincount(src, minlength=n_sources)
        ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.register_buffer("csr", torch.as_tensor(ptr, **kw))
        self.ring_size = (int(delay.max()) if n_edges else 1) + 1
        # STP: one state per (source, type) pair; static edges point at a constant-1 column
        stp_sorted = stp[order]
        plastic = stp_sorted >= 0
        keys = src[order][plastic] * max(1, len(stp_params)) + stp_sorted[plastic]
        pairs, inverse = np.unique(keys, return_inverse=True)
        pair_of_edge = np.full(n_edges, pairs.size, np.int64)
        pair_of_edge[plastic] = inverse
        self.n_pairs = int(pairs.size)
        n_types = max(1, len(stp_params))
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

        The slot is emptied for reuse.
        """
        slot = step % self.ring_size
        ring = state.ring
        if ring.requires_grad:
            current = ring[slot]
            ring = ring.index_fill(0, torch.tensor([slot], device=ring.device), 0.0)
        else:
            current = ring[slot].clone()
            ring[slot] = 0.0
        out = current.view(current.shape[0], self.n_receptors, self.n_targets)
        return SynState(ring, state.u, state.x, state.fresh), out

    def _efficacy(self, state: SynState, spikes: torch.Tensor) -> tuple[SynState, torch.Tensor]:
        """``x u`` each pair would transmit now and the state after this step's spikes."""
        if self.stp is None or self.n_pairs == 0:
            ones = torch.ones(spikes.shape[0], 1, dtype=spikes.dtype, device=spikes.device)
            return state, ones
        t = self.pair_type
        big_u = self.stp.U[t]
        fresh = state.fresh
        u_used = state.u + big_u * (1.0 - state.u)
        u_used = u_used + fresh * (self.stp.u0[t] - u_used)
        x_used = state.x + fresh * (self.stp.x0[t] - state.x)
        eff = u_used * x_used
        s = spikes[:, self.pair_src]
        u_after = state.u + s * (u_used - state.u)
        x_after = state.x + s * (x_used - eff - state.x)
        u_decay, x_decay = self.stp.decay_factors()
        u_new = u_after * u_decay[t]
        x_new = 1.0 + (x_after - 1.0) * x_decay[t]
        ones = torch.ones(eff.shape[0], 1, dtype=eff.dtype, device=eff.device)
        new = SynState(state.ring, u_new, x_new, fresh * (1.0 - s.detach()))
        return new, torch.cat([eff, ones], dim=1)

    def deliver(
        self, state: SynState, spikes: torch.Tensor, step: int, *, events: bool | None = None
    ) -> SynState:
        """Send the spikes of ``step`` (``(batch, n_sources)``) into the ring buffer.

        Parameters
        ----------
        events : bool, optional
            Force the event-driven (True) or dense (False) path; by default event-driven
            unless autograd needs gradients.
        """
        state, eff = self._efficacy(state, spikes)
        if events is None:
            events = not (
                torch.is_grad_enabled()
                and (spikes.requires_grad or eff.requires_grad or self.weight.requires_grad)
            )
        if events:
            ring = self._deliver_events(state.ring, spikes, eff, step)
        else:
            ring = self._deliver_dense(state.ring, spikes, eff, step)
        return SynState(ring, state.u, state.x, state.fresh)

    def _flat_index(self, ring: torch.Tensor, b: torch.Tensor, e: torch.Tensor, step: int):
        slots, batch, width = ring.shape
        slot = torch.remainder(self.delay[e] + step, slots)
        return (slot * batch + b) * width + self.port[e]

    def _deliver_dense(self, ring: torch.Tensor, spikes: torch.Tensor, eff: torch.Tensor, step):
        vals = spikes[:, self.src] * self.weight
        if eff.shape[1] > 1:
            vals = vals * eff[:, self.pair_of_edge]
        slots, batch, width = ring.shape
        base = self.__dict__.get("_dense_base")
        if base is None or base.shape[0] != batch or base.device != ring.device:
            e = torch.arange(self.n_edges, device=ring.device).expand(batch, -1)
            b = torch.arange(batch, device=ring.device)[:, None].expand_as(e)
            base = self._flat_index(ring, b, e, 0)
            self.__dict__["_dense_base"] = base
        size = slots * batch * width
        idx = torch.remainder(base + (step % slots) * batch * width, size).reshape(-1)
        return ring.reshape(-1).index_add(0, idx, vals.reshape(-1)).view(ring.shape)

    def _deliver_events(self, ring: torch.Tensor, spikes: torch.Tensor, eff: torch.Tensor, step):
        if ring.device.type == "cpu":
            return self._deliver_events_cpu(ring, spikes, eff, step)
        return self._deliver_events_torch(ring, spikes, eff, step)

    def _deliver_events_torch(self, ring, spikes, eff, step):
        """The event path in tensor operations, on the ring's device (accelerators)."""
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
            vals = vals * eff.detach()[b, self.pair_of_edge[e]]
        vals = vals * spikes.detach()[b, self.src[e]]
        idx = self._flat_index(ring, b, e, step)
        if ring.requires_grad:
            return ring.reshape(-1).index_add(0, idx, vals).view(ring.shape)
        ring.view(-1).index_add_(0, idx, vals)
        return ring

    def _host_arrays(self) -> dict[str, np.ndarray]:
        cache = self.__dict__.get("_host")
        if cache is None or cache["csr"].shape[0] != self.csr.shape[0]:
            cache = {
                k: getattr(self, k).cpu().numpy()
                for k in ("csr", "delay", "port", "src", "pair_of_edge")
            }
            self.__dict__["_host"] = cache
        return cache

    def _deliver_events_cpu(self, ring, spikes, eff, step):
        """The event path with the index arithmetic in numpy (no thread-pool round trips)."""
        h = self._host_arrays()
        slots, batch, width = ring.shape
        if h.get("dp_shape") != ring.shape:  # delay slot and port folded into one offset
            h["dp"] = h["delay"] * (batch * width) + h["port"]
            h["dp_shape"] = ring.shape
        s = spikes.detach().numpy()
        b_idx, j_idx = np.nonzero(s)
        if b_idx.size == 0:
            return ring
        starts = h["csr"][j_idx]
        counts = h["csr"][j_idx + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return ring
        offsets = np.cumsum(counts) - counts
        e = np.arange(total) + np.repeat(starts - offsets, counts)
        vals = self.weight.detach().numpy()[e]
        s_vals = s[b_idx, j_idx]
        if (s_vals != 1).any():
            vals = vals * np.repeat(s_vals, counts)
        base = (step % slots) * batch * width
        if batch > 1:
            b = np.repeat(b_idx, counts)
            idx = h["dp"][e] + (base + b * width)
        else:
            b = None
            idx = h["dp"][e] + base
        size = slots * batch * width
        idx[idx >= size] -= size
        if eff.shape[1] > 1:
            rows = 0 if b is None else b
            vals = vals * eff.detach().numpy()[rows, h["pair_of_edge"][e]]
        idx = torch.from_numpy(idx)
        vals = torch.from_numpy(vals)
        if ring.requires_grad:
            return ring.reshape(-1).index_add(0, idx, vals).view(ring.shape)
        ring.view(-1).index_add_(0, idx, vals)
        return ring

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
