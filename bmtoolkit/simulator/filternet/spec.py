"""What the ``filternet`` backend (LGN filters, numpy) is, as data read by core.

Examples
--------
>>> SPEC.accepts_input("spikes"), SPEC.stepped
(False, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.core.spec import BackendSpec


@dataclass(frozen=True)
class FilterNetOptions:
    """What filternet reads from the config.

    Attributes
    ----------
    n_trials : int
        ``run.n_trials``: spike trains drawn from the rates (extra trials go to
        ``<spikes>_trial<k>.h5``).
    n_workers : int
        ``run.n_workers``: processes evaluating the filters.
    nonlinearity : str
        ``run.nonlinearity`` applied to the filter output (default ``rectify``).
    spatial_kernel : str
        ``run.spatial_kernel``: how receptive fields are put on the movie's pixels
        (``pixel``, as BMTK, or ``sampled``; see :mod:`bmtoolkit.simulator.filternet.spatial`).
    rates_h5, rates_csv, spikes_csv : str or None
        ``output.rates_h5`` (or ``rates_file``), ``output.rates_csv`` and
        ``output.spikes_file_csv`` (or ``spikes_csv``).
    """

    n_trials: int = 1
    n_workers: int = 1
    nonlinearity: str = "rectify"
    spatial_kernel: str = "pixel"
    rates_h5: str | None = None
    rates_csv: str | None = None
    spikes_csv: str | None = None

    @classmethod
    def from_plan(cls, plan: Any) -> FilterNetOptions:
        """The options of ``plan``; ``run.n_trials < 1`` is a ConfigError."""
        extra = plan.extra
        n_trials = int(extra.get("n_trials", 1))
        if n_trials < 1:
            raise ConfigError(
                "run.n_trials must be >= 1", path=plan.config_path, field="run.n_trials"
            )
        from bmtoolkit.exceptions import UnknownModelError
        from bmtoolkit.simulator.filternet.spatial import SPATIAL_KERNELS

        spatial_kernel = str(extra.get("spatial_kernel", "pixel"))
        try:
            SPATIAL_KERNELS.get(spatial_kernel)
        except UnknownModelError as err:
            raise ConfigError(str(err), path=plan.config_path,
                              field="run.spatial_kernel") from None  # fmt: skip
        out = dict(getattr(getattr(plan.config, "output", None), "extra", {}) or {})
        return cls(
            n_trials=n_trials,
            n_workers=int(extra.get("n_workers", 1)),
            nonlinearity=str(extra.get("nonlinearity", "rectify")),
            spatial_kernel=spatial_kernel,
            rates_h5=out.get("rates_h5", out.get("rates_file")),
            rates_csv=out.get("rates_csv"),
            spikes_csv=out.get("spikes_file_csv", out.get("spikes_csv")),
        )


SPEC = BackendSpec(
    name="filternet",
    backend="bmtoolkit.simulator.filternet.backend:FilterNetBackend",
    requires=("numpy", "scipy"),
    description="LGN spatio-temporal filters driven by movies, then Poisson spikes",
    target_simulators=("FILTERNET", "LGNMODEL"),
    model_templates=("lgnmodel",),
    simulates=("virtual",),  # BMTK's LGN filter units are virtual nodes
    template_populations=True,  # other populations (the cortex they drive) are passed over
    inputs=("movie",),
    reports=(),
    registers=("bmtoolkit.simulator.filternet.inputs",),
    options=FilterNetOptions,
    delay=None,  # reads no edges: a circuit may hold the cortex the LGN cells drive
    stepped=False,
    node_type_models=False,
    scaffold="bmtoolkit.simulator.filternet.scaffold:scaffold",
)
