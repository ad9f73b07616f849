"""What the ``numpynet`` backend is, as data read by core (no import beyond the standard library).

Examples
--------
>>> SPEC.accepts_input("poisson"), SPEC.accepts_report("weight_recorder")
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bmtoolkit.simulator.core.spec import BackendSpec, DelayPolicy


@dataclass(frozen=True)
class NumpyNetOptions:
    """``run`` keys numpynet reads.

    Attributes
    ----------
    precise_times : bool
        Spike inputs keep their off-grid times (``run.precise_times``, default true; false
        with ``run.allow_offgrid_spikes``), as NEST's spike generators do.
    """

    precise_times: bool = True

    @classmethod
    def from_plan(cls, plan: Any) -> NumpyNetOptions:
        """The options of ``plan``'s ``run`` block."""
        from bmtoolkit.simulator.core.inputs import precise_times

        return cls(precise_times=precise_times(plan.extra))


SPEC = BackendSpec(
    name="numpynet",
    backend="bmtoolkit.simulator.numpynet.backend:NumpyNetBackend",
    requires=("numpy",),
    description="a tiny numpy LIF (iaf_psc_delta) for tests and as the smallest example",
    simulates=("point_process", "point_neuron", "virtual"),
    inputs=("sonata", "poisson", "IClamp", "nwb", "ecephys_probe", "function"),
    reports=("membrane_report",),
    options=NumpyNetOptions,
    delay=DelayPolicy("dt", "the shortest delay a step-based spike exchange can have"),
)
