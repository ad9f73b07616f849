"""What the ``pointnet`` backend (NEST) is, as data read by core; NEST is not imported here.

Examples
--------
>>> SPEC.delay.value(dt=0.1), SPEC.accepts_report("weight_recorder")
(1.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bmtoolkit.simulator.core.spec import BackendSpec, DelayPolicy


@dataclass(frozen=True)
class PointNetOptions:
    """``run`` keys pointnet reads.

    Attributes
    ----------
    precise_times : bool
        NEST ``spike_generator`` ``precise_times`` (``run.precise_times``, default true).
    allow_offgrid_spikes : bool
        NEST ``allow_offgrid_times`` (``run.allow_offgrid_spikes``; BMTK's name).
    """

    precise_times: bool = True
    allow_offgrid_spikes: bool = False

    @classmethod
    def from_plan(cls, plan: Any) -> PointNetOptions:
        """The options of ``plan``'s ``run`` block."""
        run = plan.extra
        return cls(
            precise_times=bool(run.get("precise_times", True)),
            allow_offgrid_spikes=bool(run.get("allow_offgrid_spikes", False)),
        )

    def generator_params(self) -> dict[str, bool]:
        """NEST parameters of the spike generators standing for virtual nodes."""
        from bmtoolkit.simulator.pointnet.inputs import spike_generator_params

        return spike_generator_params(
            {"precise_times": self.precise_times, "allow_offgrid_spikes": self.allow_offgrid_spikes}
        )


SPEC = BackendSpec(
    name="pointnet",
    backend="bmtoolkit.simulator.pointnet.backend:PointNet",
    requires=("nest",),
    description="point neurons on NEST 3",
    target_simulators=("NEST",),
    model_templates=("nest",),
    simulates=("point_process", "point_neuron", "virtual"),
    inputs=("sonata", "poisson", "IClamp", "nwb", "ecephys_probe", "function"),
    reports=("membrane_report", "weight_recorder"),
    options=PointNetOptions,
    delay=DelayPolicy(1.0, "NEST's own default delay, which BMTK leaves edges without one to"),
    scaffold="bmtoolkit.simulator.pointnet.scaffold:scaffold",
    exports={"PointNet": "bmtoolkit.simulator.pointnet.backend"},
)
