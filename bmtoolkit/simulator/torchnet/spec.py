"""What the ``torchnet`` backend (PyTorch) is, as data read by core; torch is not imported here.

Examples
--------
>>> SPEC.delay.value(dt=0.1), SPEC.accepts_report("weight_recorder")
(1.0, False)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.spec import BackendSpec, DelayPolicy

#: environment variables giving the device and dtype when the config names none
#: (documented overrides, e.g. ``TORCHNET_DEVICE=cuda bmtoolkit run ...``)
DEVICE_ENV, DTYPE_ENV = "TORCHNET_DEVICE", "TORCHNET_DTYPE"
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class TorchNetOptions:
    """What torchnet reads from the config.

    Attributes
    ----------
    device : str
        ``run.torchnet.device``, else ``$TORCHNET_DEVICE``, else ``"cpu"``.
    dtype : str
        ``run.torchnet.dtype``, else ``$TORCHNET_DTYPE``, else ``"float64"`` (so results
        agree with NEST to the last spike); ``float32`` or ``float64``.
    nsteps_block : int
        ``run.nsteps_block``: most steps simulated per forward call (default 1000).
    """

    device: str = "cpu"
    dtype: str = "float64"
    nsteps_block: int = 1000

    @classmethod
    def from_plan(cls, plan: Any) -> TorchNetOptions:
        """The options of ``plan``; an unknown dtype is a ConfigError."""
        opts = dict(plan.extra.get("torchnet", {}) or {})
        device = str(opts.get("device", os.environ.get(DEVICE_ENV, "cpu")))
        dtype = str(opts.get("dtype", os.environ.get(DTYPE_ENV, "float64")))
        if dtype not in DTYPES:
            raise ConfigError(
                f"torchnet dtype must be float32 or float64, got {dtype!r}",
                path=plan.config_path,
                field="run.torchnet.dtype",
            )
        return cls(device, dtype, int(plan.extra.get("nsteps_block") or 1000))


SPEC = BackendSpec(
    name="torchnet",
    backend="bmtoolkit.simulator.torchnet.backend:TorchNetBackend",
    requires=("torch",),
    description="differentiable GLIF and LIF point neurons with STP on PyTorch",
    target_simulators=("PYTORCH", "TORCH"),
    simulates=("point_process", "point_neuron", "virtual"),
    inputs=("sonata", "poisson", "IClamp", "nwb", "ecephys_probe", "function"),
    reports=("membrane_report",),
    options=TorchNetOptions,
    delay=DelayPolicy(1.0, "NEST's default delay, so a network runs as it does on NEST"),
)
