"""What toynet is, as plain data: bmtoolkit reads this module without importing the backend."""

from bmtoolkit.simulator.core.spec import BackendSpec, DelayPolicy

SPEC = BackendSpec(
    name="toynet",
    backend="toynet.backend:ToyNet",
    requires=("numpy",),
    description="leaky integrate-and-fire point neurons (iaf_psc_delta) in plain numpy",
    target_simulators=("TOYNET",),
    inputs=("sonata", "poisson", "IClamp"),  # spike trains and current clamps
    reports=("membrane_report",),  # V_m only
    delay=DelayPolicy("dt", "spikes cross at least one step"),
)
