"""What the ``bionet`` backend (NEURON) is, as data read by core; NEURON is not imported here.

Examples
--------
>>> SPEC.delay.value(dt=0.1) is None, SPEC.accepts_input("SEClamp")
(True, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from bmtoolkit.simulator.core.spec import BackendSpec, DelayPolicy

#: environment variable that turns CoreNEURON on for every run (documented override)
CORENEURON_ENV = "BMTOOLKIT_CORENEURON"


def wants_coreneuron(plan: Any) -> bool:
    """True when the run asks for CoreNEURON: ``target_simulator: "CORENEURON"`` in the
    config, or ``BMTOOLKIT_CORENEURON=1`` in the environment."""
    target = str(getattr(plan, "target_simulator", None) or "").upper()
    return target == "CORENEURON" or os.environ.get(CORENEURON_ENV, "") == "1"


@dataclass(frozen=True)
class BioNetOptions:
    """What bionet reads from the config (and one documented environment override).

    Attributes
    ----------
    spike_threshold : float
        Somatic voltage (mV) counted as a spike (``run.spike_threshold``, default -15).
    dL : float or None
        Maximum segment length (um) for ``nseg`` (``run.dL``).
    coreneuron : bool
        Run on CoreNEURON: ``target_simulator: "CORENEURON"``, or ``BMTOOLKIT_CORENEURON=1``
        in the environment.
    """

    spike_threshold: float = -15.0
    dL: float | None = None
    coreneuron: bool = False

    @classmethod
    def from_plan(cls, plan: Any) -> BioNetOptions:
        """The options of ``plan``."""
        run = getattr(plan.config, "run", None)
        threshold = getattr(run, "spike_threshold", None)
        return cls(
            spike_threshold=-15.0 if threshold is None else float(threshold),
            dL=getattr(run, "dL", None),
            coreneuron=wants_coreneuron(plan),
        )


SPEC = BackendSpec(
    name="bionet",
    backend="bmtoolkit.simulator.bionet.backend:BioNetBackend",
    requires=("neuron",),
    description="detailed multi-compartment cells on NEURON",
    target_simulators=("NEURON", "CORENEURON"),
    model_templates=("nrn", "hoc", "ctdb", "nml"),
    model_types=("biophysical",),
    simulates=("biophysical", "point_process", "point_neuron", "virtual"),
    inputs=(
        "sonata",
        "poisson",
        "IClamp",
        "SEClamp",
        "nwb",
        "ecephys_probe",
        "function",
        "replay",
        "xstim",
        "comsol",
        "syn_activity",
    ),
    reports=("membrane_report", "extracellular", "netcon_report", "clamp_report", "save_synapses"),
    registers=(
        "bmtoolkit.simulator.bionet.inputs",
        "bmtoolkit.simulator.bionet.recording",
        "bmtoolkit.simulator.bionet.netcon_report",
        "bmtoolkit.simulator.bionet.clamp_report",
        "bmtoolkit.simulator.bionet.xstim",
        "bmtoolkit.simulator.bionet.comsol",
        "bmtoolkit.simulator.bionet.spontaneous",
        "bmtoolkit.simulator.bionet.save_synapses",
    ),
    options=BioNetOptions,
    delay=DelayPolicy(None, "a NetCon delay is part of every BMTK/NEURON connection"),
    node_type_models=False,
    scaffold="bmtoolkit.simulator.bionet.scaffold:scaffold",
    scaffold_tstop=500.0,
)
