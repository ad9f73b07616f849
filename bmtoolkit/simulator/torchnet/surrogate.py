"""Surrogate-gradient spike functions.

The forward pass is the Heaviside step ``x > 0`` (a spike when the membrane potential exceeds
the threshold); the backward pass replaces its derivative by a smooth pseudo-derivative whose
shape and scale are selectable. ``x`` is the distance to threshold divided by a width in mV,
so ``scale`` is the peak height of the pseudo-derivative and ``width`` its spread.

Shapes are registered by name in :data:`SURROGATES`:

=================  =============================================  ====================
name               pseudo-derivative of ``H(x)``                  reference shape
=================  =============================================  ====================
``fast_sigmoid``   ``scale / (1 + |x|)**2``                        SuperSpike
``sigmoid``        ``scale * 4 sig(4x) (1 - sig(4x))``             logistic
``triangle``       ``scale * max(0, 1 - |x|)``                     piecewise linear
``gaussian``       ``scale * exp(-x**2 / 2)``                      Gaussian
``arctan``         ``scale / (1 + (pi x)**2)``                     arctan
``exponential``    ``scale * exp(-|x|)``                           double exponential
=================  =============================================  ====================

Examples
--------
>>> import torch
>>> from bmtoolkit.simulator.torchnet.surrogate import spike_fn
>>> v = torch.tensor([-1.0, 0.5], requires_grad=True)
>>> s = spike_fn(v, shape="triangle", scale=1.0, width=1.0)
>>> s.tolist()
[0.0, 1.0]
>>> s.sum().backward(); v.grad.tolist()
[0.0, 0.5]
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bmtoolkit.registry import Registry
from bmtoolkit.simulator.torchnet._torch import torch

#: name -> pseudo-derivative ``f(x)`` with peak 1 at ``x = 0``
SURROGATES: Registry[Callable[[torch.Tensor], torch.Tensor]] = Registry("surrogate shape")


@SURROGATES.register("fast_sigmoid", aliases=("superspike",))
def _fast_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return 1.0 / (1.0 + x.abs()) ** 2


@SURROGATES.register("sigmoid")
def _sigmoid(x: torch.Tensor) -> torch.Tensor:
    sig = torch.sigmoid(4.0 * x)
    return 4.0 * sig * (1.0 - sig)


@SURROGATES.register("triangle", aliases=("piecewise_linear",))
def _triangle(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(1.0 - x.abs(), min=0.0)


@SURROGATES.register("gaussian")
def _gaussian(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-0.5 * x * x)


@SURROGATES.register("arctan")
def _arctan(x: torch.Tensor) -> torch.Tensor:
    return 1.0 / (1.0 + (math.pi * x) ** 2)


@SURROGATES.register("exponential")
def _exponential(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(-x.abs())


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, shape, scale):  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.shape = shape
        ctx.scale = scale
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad_out * ctx.scale * SURROGATES.get(ctx.shape)(x), None, None


def spike_fn(
    v_minus_threshold: torch.Tensor,
    *,
    shape: str = "fast_sigmoid",
    scale: float = 1.0,
    width: float = 1.0,
) -> torch.Tensor:
    """Heaviside spike with a surrogate derivative.

    Parameters
    ----------
    v_minus_threshold : torch.Tensor
        Membrane potential minus threshold (mV).
    shape : str
        A name registered in :data:`SURROGATES`.
    scale : float
        Peak height of the pseudo-derivative (per unit of ``x``).
    width : float
        Distance to threshold (mV) that maps to ``x = 1``.

    Returns
    -------
    torch.Tensor
        ``1.0`` where ``v_minus_threshold > 0``, else ``0.0``; same dtype and shape.

    Examples
    --------
    >>> import torch
    >>> spike_fn(torch.tensor([0.1, -0.1])).tolist()
    [1.0, 0.0]
    """
    if not (torch.is_grad_enabled() and v_minus_threshold.requires_grad):
        return (v_minus_threshold > 0).to(v_minus_threshold.dtype)
    SURROGATES.get(shape)  # fail early with the list of known shapes
    if width <= 0:
        raise ValueError(f"surrogate width must be > 0 mV, got {width}")
    return _Spike.apply(v_minus_threshold / width, shape, float(scale))


class SurrogateSpike:
    """A configured spike function: ``SurrogateSpike("gaussian", 0.5, 2.0)(v - th)``.

    Examples
    --------
    >>> import torch
    >>> SurrogateSpike("arctan")(torch.tensor([1.0])).item()
    1.0
    """

    def __init__(self, shape: str = "fast_sigmoid", scale: float = 1.0, width: float = 1.0):
        SURROGATES.get(shape)
        self.shape, self.scale, self.width = shape, float(scale), float(width)

    def __call__(self, v_minus_threshold: torch.Tensor) -> torch.Tensor:
        return spike_fn(v_minus_threshold, shape=self.shape, scale=self.scale, width=self.width)

    def __repr__(self) -> str:
        return f"SurrogateSpike({self.shape!r}, scale={self.scale}, width={self.width})"
