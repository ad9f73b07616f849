"""PyTorch for the gradient fit, imported when a fit runs (``import bmtoolkit.glif.gradient``
works without it)."""

from __future__ import annotations

from typing import Any


def torch_module() -> Any:
    """The ``torch`` module; :class:`~bmtoolkit.exceptions.BackendNotAvailableError` naming
    what to install when PyTorch is missing."""
    from bmtoolkit.simulator.torchnet._torch import torch

    return torch
