"""What the ``popnet`` backend (population density, numpy) is, as data read by core.

Examples
--------
>>> SPEC.delay.value(dt=0.1), SPEC.simulates
(0.0, ('population', 'virtual'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.spec import BackendSpec, DelayPolicy


@dataclass(frozen=True)
class PopnetOptions:
    """What popnet reads from the config.

    Attributes
    ----------
    mode : str
        ``run.popnet_mode`` (or ``run.mode``): ``density`` (default), ``meanfield`` or ``ssn``.
    rates_file : str
        ``output.rates_file``: where the population rates go (default ``rates.h5``).
    """

    mode: str = "density"
    rates_file: str = "rates.h5"

    @classmethod
    def from_plan(cls, plan: Any) -> PopnetOptions:
        """The options of ``plan``; an unknown mode is a ConfigError naming ``run.popnet_mode``."""
        from bmtoolkit.simulator.popnet.backend import MODES

        extra = plan.extra
        mode = str(extra.get("popnet_mode", extra.get("mode", "density")))
        if mode not in MODES:
            raise ConfigError(
                f"unknown popnet mode {mode!r}; known: {', '.join(MODES.names())}",
                path=plan.config_path,
                field="run.popnet_mode",
            )
        output = getattr(plan.config, "output", None)
        out_extra = getattr(output, "extra", {}) or {}
        return cls(mode=mode, rates_file=str(out_extra.get("rates_file", "rates.h5")))


SPEC = BackendSpec(
    name="popnet",
    backend="bmtoolkit.simulator.popnet.backend:PopnetBackend",
    requires=("numpy", "scipy"),
    description="population-density (DiPDE), mean-field and SSN rate models in numpy",
    target_simulators=("DIPDE", "POPNET"),
    model_templates=("dipde",),
    model_types=("population",),
    simulates=("population", "virtual"),
    inputs=("rates",),
    reports=("population_density",),
    registers=("bmtoolkit.simulator.popnet.inputs", "bmtoolkit.simulator.popnet.recording"),
    options=PopnetOptions,
    delay=DelayPolicy(0.0, "rates couple without delay unless the edges give one, as in DiPDE"),
    scaffold="bmtoolkit.simulator.popnet.scaffold:scaffold",
    scaffold_tstop=500.0,
)
