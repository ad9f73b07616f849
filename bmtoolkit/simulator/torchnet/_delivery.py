"""Differentiable ring-buffer delivery that keeps no per-edge tensor per time step.

Written with autograd's own operations, delivering one step's spikes keeps, for the backward
pass, the gathered source spikes of every edge and the flat ring index of every edge: 12 to
16 bytes per edge per step, 55-70 GiB for 50 ms of a 9.4 M-edge network at 0.1 ms steps. The
two functions here keep only the step's spike vector ``(batch, n_sources)`` and compute the
per-edge quantities again in the backward pass:

- :class:`Arrive` reads and empties the slot of the current step *in place*;
- :class:`Deliver` adds the step's spikes into the ring *in place* (event-driven on the CPU,
  dense on other devices, as without gradients). Its backward rotates the ring's gradient so
  that row ``d`` is the slot ``d`` steps ahead; the gradient of the spikes is then one sparse
  matrix product over the edges (CPU) or a gather and ``index_add`` (other devices), and the
  weights' gradient needs only the edges of the sources that spiked.

The weights' gradients of all steps of one forward call are summed into one buffer
(:class:`WeightTap`) and handed to autograd once, instead of one weight-sized tensor per
step.

Examples
--------
>>> import numpy as np, torch
>>> from bmtoolkit.simulator.torchnet.synapses import Synapses
>>> syn = Synapses(np.array([0, 1]), np.array([1, 0]), np.zeros(2, int), np.array([2.0, 3.0]),
...                np.array([1, 2]), n_sources=2, n_targets=2, n_receptors=1, dt=1.0,
...                dtype=torch.float64)
>>> syn.weight.requires_grad_(True)  # doctest: +ELLIPSIS
Parameter containing:...
>>> tap = WeightTap.of(syn.weight)
>>> state = syn.initial_state(1)
>>> s = torch.tensor([[1.0, 1.0]], dtype=torch.float64, requires_grad=True)
>>> state = syn.deliver(state, s, 0, tap=tap)
>>> state, now = syn.arrivals(state, 1)
>>> now.sum().backward()
>>> syn.weight.grad.tolist(), s.grad.tolist()
([1.0, 0.0], [[2.0, 0.0]])
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.simulator.torchnet._torch import torch

if TYPE_CHECKING:
    from bmtoolkit.simulator.torchnet.synapses import Synapses


class _Tap(torch.autograd.Function):
    """Identity on the weights whose backward returns what the steps accumulated."""

    @staticmethod
    def forward(ctx, weight, tap):  # type: ignore[override]
        ctx.tap = tap
        ctx.set_materialize_grads(False)
        return weight.view_as(weight)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        buf, ctx.tap.buf = ctx.tap.buf, None  # a second backward starts from zero again
        if grad is not None:
            buf = grad if buf is None else buf + grad
        return buf, None


class WeightTap:
    """The weights as one forward call sees them, with a buffer for their gradient.

    Every :class:`Deliver` of the call adds its share of ``d loss / d weight`` to ``buf``
    (only the edges of the sources that spiked, on the CPU) and autograd receives the sum
    once, when it reaches the tap.
    """

    def __init__(self) -> None:
        self.buf: torch.Tensor | None = None
        self.weight: torch.Tensor | None = None

    @classmethod
    def of(cls, weight: torch.Tensor) -> WeightTap | None:
        """A tap on ``weight``, or None when no gradient is wanted."""
        if not (torch.is_grad_enabled() and weight.requires_grad):
            return None
        tap = cls()
        tap.weight = _Tap.apply(weight, tap)
        return tap

    def add_(self, index: torch.Tensor | None, values: torch.Tensor, size: int) -> None:
        """``buf[index] += values`` (``index`` None: ``buf += values``)."""
        if self.buf is None:
            self.buf = torch.zeros(size, dtype=values.dtype, device=values.device)
        if index is None:
            self.buf.add_(values)
        else:
            self.buf.index_add_(0, index, values)


class Arrive(torch.autograd.Function):
    """``(ring[slot], ring with ring[slot] = 0)``, the ring changed in place."""

    @staticmethod
    def forward(ctx, ring, slot):  # type: ignore[override]
        ctx.slot = slot
        ctx.mark_dirty(ring)
        current = ring[slot].clone()
        ring[slot] = 0.0
        return current, ring

    @staticmethod
    def backward(ctx, g_current, g_ring):  # type: ignore[override]
        g = g_ring.clone()
        g[ctx.slot] = g_current
        return g, None


class Deliver(torch.autograd.Function):
    """The ring with the spikes of ``step`` added (in place); see the module docstring."""

    @staticmethod
    def forward(ctx, ring, spikes, weight, eff, syn, step, tap):  # type: ignore[override]
        ctx.mark_dirty(ring)
        ctx.syn, ctx.step, ctx.tap = syn, step, tap
        ctx.save_for_backward(spikes, weight, eff)
        if ring.device.type == "cpu":
            syn._deliver_events_cpu(ring, spikes, eff, step)
        else:  # no data-dependent shapes off the host (nonzero would synchronise)
            syn._deliver_dense(ring, spikes, eff, step)
        return ring

    @staticmethod
    def backward(ctx, g_ring):  # type: ignore[override]
        spikes, weight, eff = ctx.saved_tensors
        syn: Synapses = ctx.syn
        need_s, need_w, need_eff = ctx.needs_input_grad[1:4]
        slots, batch, width = g_ring.shape
        # row d of `ahead` is the slot d steps after this one: an edge of delay d reads
        # column d * width + port of its batch row
        ahead = torch.roll(g_ring, -(ctx.step % slots), 0).transpose(0, 1).reshape(batch, -1)
        cols = syn._grad_columns(width)
        stp = eff.shape[1] > 1
        g_s = g_w = g_eff = None
        if need_s:
            g_s = _spike_grad(syn, ahead, cols, weight, eff, stp, spikes.shape[1])
        if need_w or need_eff:
            part, g_eff = _weight_grad(syn, ahead, cols, spikes, weight, eff, stp, need_eff)
            if need_w and ctx.tap is not None:
                if part is not None:
                    ctx.tap.add_(*part, size=weight.shape[0])
            elif need_w:
                g_w = torch.zeros_like(weight)
                if part is not None and part[0] is None:
                    g_w += part[1]
                elif part is not None:
                    g_w.index_add_(0, *part)
        return g_ring, g_s, g_w, g_eff, None, None, None


def _spike_grad(syn, ahead, cols, weight, eff, stp, n_sources):
    """``d loss / d spikes``: for each source, its out-edges' weights times the gradient of
    the ring cell each edge writes to."""
    batch = ahead.shape[0]
    if ahead.device.type == "cpu" and not stp:
        matrix = syn._grad_matrix(weight, cols, ahead.shape[1])
        return (matrix @ ahead.T).T.contiguous()
    if ahead.device.type == "cpu":
        # edges as rows: gathering and adding whole rows of `batch` values is about twice as
        # fast on the CPU as columns of the (batch, edges) layout, and sums in the same order
        vals = ahead.T[cols] * weight[:, None] * eff.T[syn.pair_of_edge]
        out = torch.zeros(n_sources, batch, dtype=ahead.dtype, device=ahead.device)
        return out.index_add_(0, syn.src, vals).T.contiguous()
    vals = ahead[:, cols] * weight
    if stp:
        vals = vals * eff[:, syn.pair_of_edge]
    out = torch.zeros(batch, n_sources, dtype=ahead.dtype, device=ahead.device)
    return out.index_add_(1, syn.src, vals)


def _weight_grad(syn, ahead, cols, spikes, weight, eff, stp, need_eff):
    """``(index, values)`` of ``d loss / d weight`` (index None: every edge; the pair None:
    no edge) and ``d loss / d eff``; only the edges of sources that spiked contribute."""
    g_eff = torch.zeros_like(eff) if need_eff else None
    if ahead.device.type != "cpu":
        contrib = ahead[:, cols] * spikes[:, syn.src]
        g_w = contrib * eff[:, syn.pair_of_edge] if stp else contrib
        if g_eff is not None and stp:
            g_eff.index_add_(1, syn.pair_of_edge, contrib * weight)
        return (None, g_w.sum(0)), g_eff
    e, b, s_vals = syn._spiking_edges(spikes.detach())
    if e is None:
        return None, g_eff
    et = torch.from_numpy(e)
    rows: Any = 0 if b is None else torch.from_numpy(b)
    g = ahead[rows, cols[et]]
    if s_vals is not None:
        g = g * torch.from_numpy(s_vals).to(g.dtype)
    values = g
    if stp:
        pair = syn.pair_of_edge[et]
        values = g * eff[rows, pair]
        if g_eff is not None:
            flat = pair if b is None else rows * eff.shape[1] + pair
            g_eff.view(-1).index_add_(0, flat, g * weight[et])
    return (et, values), g_eff


def csr_matrix(crow: Any, cols: Any, values: Any, shape: tuple[int, int]) -> Any:
    """A torch sparse CSR matrix, without torch's one-time notice that CSR is in beta."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, cols, values, size=shape)


def spiking_edges(
    csr: np.ndarray, spikes: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Edges (CSR by source) of the nonzero entries of ``spikes`` ``(batch, n_sources)``:
    ``(edge index, batch row or None when batch is 1, spike count or None when all 1)``.

    Examples
    --------
    >>> e, b, s = spiking_edges(np.array([0, 2, 3, 5]), np.array([[1.0, 0.0, 2.0]]))
    >>> e.tolist(), b, s.tolist()
    ([0, 1, 3, 4], None, [1.0, 1.0, 2.0, 2.0])
    """
    b_idx, j_idx = np.nonzero(spikes)
    if b_idx.size == 0:
        return None, None, None
    starts = csr[j_idx]
    counts = csr[j_idx + 1] - starts
    total = int(counts.sum())
    if total == 0:
        return None, None, None
    offsets = np.cumsum(counts) - counts
    e = np.arange(total) + np.repeat(starts - offsets, counts)
    s_vals = spikes[b_idx, j_idx]
    s_out = np.repeat(s_vals, counts) if (s_vals != 1).any() else None
    b_out = np.repeat(b_idx, counts) if spikes.shape[0] > 1 else None
    return e, b_out, s_out
