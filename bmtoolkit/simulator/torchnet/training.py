"""Training torchnet networks: truncated BPTT, parameter groups and constraints.

A :class:`Trainer` makes chosen parameter groups trainable (``weights``, ``time_constants``,
``asc_amps``, ``thresholds``, ``stp``; see :data:`~.model.PARAMETER_GROUPS`), runs trials in
a batch, back-propagates through time (optionally truncated every ``truncation`` steps:
the state is carried over but cut from the graph, and the gradients of all chunks are
accumulated before one optimizer step) and then projects the parameters back onto their
constraints:

- ``dale`` / ``sign``: every weight keeps the sign it started with (Dale's law when the
  initial signs follow the source cell classes);
- ``positive``: time constants, rates and conductances stay above a small positive floor,
  STP ``U`` stays in [0, 1] and ``tau_fac`` >= 0; thresholds stay above the reset potential.

Examples
--------
>>> import torch
>>> from bmtoolkit.simulator.torchnet.training import Trainer
>>> def loss_fn(out, target, readout):
...     return ((out["spikes"].mean(0) - target) ** 2).mean()
>>> trainer = Trainer(net, loss_fn, groups=("weights",), lr=1e-2)  # doctest: +SKIP
>>> history = trainer.fit([(inputs, target)], epochs=10)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.registry import Registry
from bmtoolkit.simulator.torchnet._torch import torch
from bmtoolkit.simulator.torchnet.model import PARAMETER_GROUPS, TorchNet

nn = torch.nn

#: smallest value kept by the positivity constraint (1/ms, ms or nS)
POSITIVE_FLOOR = 1e-3

#: constraint name -> function(net) applied after every optimizer step
CONSTRAINTS: Registry[Callable[[TorchNet], None]] = Registry("torchnet constraint")


@CONSTRAINTS.register("dale", aliases=("sign",))
def _dale(net: TorchNet) -> None:
    net.synapses.apply_sign_constraint()


@CONSTRAINTS.register("positive", aliases=("positivity",))
@torch.no_grad()
def _positive(net: TorchNet) -> None:
    cells = net.cells
    for name in ("g", "tau_syn", "asc_decay", "th_spike_decay", "th_voltage_decay"):
        getattr(cells, name).clamp_(min=POSITIVE_FLOOR)
    cells.th_inf.copy_(torch.maximum(cells.th_inf, cells.V_reset + 0.1))
    stp = net.synapses.stp
    if stp is not None:
        stp.U.clamp_(0.0, 1.0)
        stp.tau_rec.clamp_(min=POSITIVE_FLOOR)
        stp.tau_fac.clamp_(min=0.0)


#: optimizer name -> class
OPTIMIZERS: Registry[type] = Registry("optimizer")
OPTIMIZERS.register("adam", torch.optim.Adam)
OPTIMIZERS.register("sgd", torch.optim.SGD)
OPTIMIZERS.register("adamw", torch.optim.AdamW)


@dataclass
class History:
    """Loss per optimizer step and per epoch."""

    step_loss: list[float] = field(default_factory=list)
    epoch_loss: list[float] = field(default_factory=list)


LossFn = Callable[[dict[str, "torch.Tensor"], Any, "nn.Module | None"], "torch.Tensor"]


class Trainer:
    """Gradient-descent training of a :class:`TorchNet` (and an optional readout).

    Parameters
    ----------
    net : TorchNet
        The network; its spike function's surrogate shape/scale drive the gradients.
    loss_fn : callable
        ``loss_fn(outputs, target, readout) -> scalar tensor``; ``outputs`` holds the
        recorded ``(T_chunk, batch, n)`` tensors of one chunk, ``target`` is the matching
        chunk of the target when the target is a tensor with the time axis first (else the
        whole target).
    groups : sequence of str
        Trainable parameter groups.
    readout : nn.Module, optional
        Extra trainable module (e.g. a linear readout of filtered spikes).
    lr : float or mapping
        Learning rate, or one per group name (and ``"readout"``) with ``"default"`` for the
        rest, since weights (pA), thresholds (mV) and readouts live on different scales.
    optimizer : str
        ``adam``, ``adamw`` or ``sgd``.
    truncation : int, optional
        Truncated-BPTT window in steps (default: the whole trial).
    constraints : sequence of str
        Names in :data:`CONSTRAINTS` applied after each step.
    record : sequence of str
        What the network records for the loss (``spikes``, ``v``, ``i_syn``, ``threshold``).
    clip_grad : float, optional
        Clip the global gradient norm.
    """

    def __init__(
        self,
        net: TorchNet,
        loss_fn: LossFn,
        *,
        groups: Sequence[str] = ("weights",),
        readout: nn.Module | None = None,
        lr: float | Mapping[str, float] = 1e-3,
        optimizer: str = "adam",
        truncation: int | None = None,
        constraints: Sequence[str] = ("dale", "positive"),
        record: Sequence[str] = ("spikes",),
        clip_grad: float | None = None,
    ) -> None:
        unknown = [g for g in groups if g not in PARAMETER_GROUPS]
        if unknown:
            raise ConfigError(
                f"unknown parameter group(s) {unknown}; known: {sorted(PARAMETER_GROUPS)}"
            )
        if truncation is not None and truncation < 1:
            raise ConfigError(f"truncation must be >= 1 step, got {truncation}")
        self.net, self.loss_fn, self.readout = net, loss_fn, readout
        self.groups = tuple(groups)
        net.set_trainable(self.groups)
        rates = dict(lr) if isinstance(lr, Mapping) else {"default": float(lr)}
        default = rates.get("default", 1e-3)
        param_groups = [
            {"params": net.parameter_group(g), "lr": rates.get(g, default)} for g in self.groups
        ]
        if readout is not None:
            param_groups.append(
                {"params": list(readout.parameters()), "lr": rates.get("readout", default)}
            )
        param_groups = [g for g in param_groups if g["params"]]
        if not param_groups:
            raise ConfigError(f"no trainable parameters in groups {list(groups)}")
        self.params = [p for g in param_groups for p in g["params"]]
        self.optimizer = OPTIMIZERS.get(optimizer)(param_groups)
        self.truncation = truncation
        self.constraints = [CONSTRAINTS.get(c) for c in constraints]
        self.record = tuple(record)
        self.clip_grad = clip_grad
        self.history = History()

    def apply_constraints(self) -> None:
        """Project parameters onto the constraints."""
        for fn in self.constraints:
            fn(self.net)

    def step(
        self,
        inputs: torch.Tensor | None,
        target: Any,
        *,
        current: torch.Tensor | None = None,
        steps: int | None = None,
    ) -> float:
        """One optimizer step on a batch of trials; returns the mean loss over chunks."""
        losses = self._update(inputs, target, current=current, steps=steps).tolist()
        value = sum(losses) / len(losses)
        self.history.step_loss.append(value)
        return value

    def _update(
        self,
        inputs: torch.Tensor | None,
        target: Any,
        *,
        current: torch.Tensor | None = None,
        steps: int | None = None,
    ) -> torch.Tensor:
        """:meth:`step` without reading back: the loss of every chunk, detached, on the
        network's device (one transfer at the end rather than a synchronisation per chunk)."""
        ref = inputs if inputs is not None else current
        total = steps if steps is not None else (None if ref is None else ref.shape[0])
        if total is None:
            raise ConfigError("give inputs, current or steps")
        batch = ref.shape[1] if ref is not None else 1
        window = self.truncation or total
        self.optimizer.zero_grad(set_to_none=True)
        state = self.net.initial_state(batch)
        losses = []
        for start in range(0, total, window):
            stop = min(total, start + window)
            inp = None if inputs is None else inputs[start:stop]
            cur = None if current is None else current[start:stop]
            out, state = self.net(
                inp,
                steps=stop - start,
                current=cur,
                state=state,
                record=self.record,
                return_state=True,
            )
            tgt = target
            if isinstance(target, torch.Tensor) and target.dim() >= 1 and target.shape[0] == total:
                tgt = target[start:stop]
            loss = self.loss_fn(out, tgt, self.readout)
            loss.backward()
            losses.append(loss.detach().reshape(()))
            state = state.detach()
        if self.clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.clip_grad)
        self.optimizer.step()
        self.apply_constraints()
        return torch.stack(losses)

    def fit(
        self,
        data: Iterable[tuple[torch.Tensor, Any]],
        epochs: int = 1,
        *,
        callback: Callable[[int, float], None] | None = None,
    ) -> History:
        """Train for ``epochs`` over ``data`` (an iterable of ``(inputs, target)`` batches,
        re-iterated every epoch)."""
        batches = list(data) if not callable(data) else None
        for epoch in range(epochs):
            items = batches if batches is not None else data()
            losses = [self.step(x, y) for x, y in items]
            mean = sum(losses) / max(1, len(losses))
            self.history.epoch_loss.append(mean)
            if callback is not None:
                callback(epoch, mean)
        return self.history
