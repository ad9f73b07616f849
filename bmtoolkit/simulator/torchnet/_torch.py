"""Import PyTorch once for the torchnet modules, with an actionable error when it is missing."""

from __future__ import annotations

from bmtoolkit.exceptions import BackendNotAvailableError

try:
    import torch
except ImportError as err:  # pragma: no cover - exercised only without torch
    raise BackendNotAvailableError(
        "the torchnet backend needs PyTorch; install it with `pip install torch` "
        f"(import failed: {err})",
        field="torchnet",
    ) from err

__all__ = ["torch"]
