"""Import PyTorch once for the torchnet modules, with an actionable error when it is missing,
and check that a requested device exists on this machine.

Examples
--------
>>> check_device("cpu")
device(type='cpu')
>>> check_device("gpu0")
Traceback (most recent call last):
...
bmtoolkit.exceptions.ConfigError: device: unknown PyTorch device 'gpu0'; use 'cpu', 'cuda' or 'cuda:N' (an NVIDIA GPU), 'mps' (Apple) or another device name PyTorch knows
"""

from __future__ import annotations

import os

from bmtoolkit.exceptions import BackendNotAvailableError, ConfigError

try:
    import torch
except ImportError as err:  # pragma: no cover - exercised only without torch
    raise BackendNotAvailableError(
        "the torchnet backend needs PyTorch; install it with `pip install torch` "
        f"(import failed: {err})",
        field="torchnet",
    ) from err

__all__ = ["check_device", "torch"]


def _cuda_missing(name: str) -> str:
    built = torch.version.cuda
    why = (
        f"this PyTorch ({torch.__version__}) is built without CUDA"
        if built is None
        else f"this PyTorch ({torch.__version__}, CUDA {built}) sees no CUDA device"
    )
    return (
        f"device {name!r} asked for, but {why}; run on a machine with an NVIDIA GPU and a "
        "CUDA build of PyTorch, or use device 'cpu'"
    )


def check_device(
    device: str | torch.device | None,
    *,
    path: str | os.PathLike[str] | None = None,
    field: str = "device",
) -> torch.device:
    """The :class:`torch.device` named by ``device`` (None: the CPU), refusing one that
    this machine cannot use before any tensor is made there.

    Raises
    ------
    ConfigError
        The name is not a device PyTorch knows.
    BackendNotAvailableError
        A CUDA (or MPS) device is asked for and this PyTorch or machine has none, or
        ``cuda:N`` names a device past the last one.
    """
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(
            f"unknown PyTorch device {str(device)!r}; use 'cpu', 'cuda' or 'cuda:N' (an NVIDIA "
            "GPU), 'mps' (Apple) or another device name PyTorch knows",
            path=path,
            field=field,
        ) from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BackendNotAvailableError(_cuda_missing(str(device)), path=path, field=field)
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise BackendNotAvailableError(
                f"device {str(device)!r} asked for, but this machine has {count} CUDA "
                f"device(s), cuda:0 to cuda:{count - 1}",
                path=path,
                field=field,
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise BackendNotAvailableError(
            f"device {str(device)!r} asked for, but this PyTorch or machine has no MPS "
            "(Apple GPU) support; use device 'cpu'",
            path=path,
            field=field,
        )
    return dev
