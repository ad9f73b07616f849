"""One policy for what a backend cannot do: every mismatch, before setup, as one ConfigError.

:func:`mismatches` compares a run plan with a backend's
:class:`~bmtoolkit.simulator.core.spec.BackendSpec` and returns one
:class:`~bmtoolkit.sonata.validation.Problem` (kind ``"capability"``) for each

- input whose module the backend does not accept (``"inputs.<name>"``),
- report whose module the backend does not accept (``"reports.<name>"``),
- node ``model_type`` in the run's node set the backend does not simulate (every built-in
  backend declares the ones it does),
- edge population without a ``delay`` where the backend declares no default delay.

:func:`~bmtoolkit.simulator.core.preflight.check` (``bmtoolkit run``) raises them together as
one :class:`~bmtoolkit.exceptions.ConfigError`; ``bmtoolkit validate --backend NAME`` prints
each. Nothing is built and no simulator is imported.

Delays shorter than a time step follow one rule too, NEST's, in every backend that moves
spikes on the ``run.dt`` grid (:func:`delay_steps`): a delay is rounded to the nearest whole
step, and one that rounds to no step at all is refused when the edges are read (NEST refuses
delays below its resolution).

Examples
--------
>>> from bmtoolkit.simulator.core.capabilities import mismatches
>>> from bmtoolkit.simulator.core.spec import get_spec
>>> [str(p) for p in mismatches(plan, get_spec("mynet"))]  # doctest: +SKIP
["config.json: reports.w: module 'weight_recorder' (synaptic-weight snapshots) is not a report ..."]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.sonata.validation import Problem

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from bmtoolkit.registry import Registry
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.simulator.core.spec import BackendSpec
    from bmtoolkit.sonata.config import InputConfig, ReportConfig

#: the kind of every problem :func:`mismatches` returns
KIND = "capability"


def _about(loader: Any) -> str:
    """First sentence of a loader's docstring, as a phrase (``"spike trains from ..."``)."""
    doc = (getattr(loader, "__doc__", None) or "").strip().split("\n\n")[0]
    first = " ".join(doc.split()).split(". ")[0].rstrip(".").replace("``", "")
    return first[:1].lower() + first[1:] if first else ""


def _listing(names: tuple[str, ...] | None) -> str:
    return ", ".join(names) if names else "none"


def input_key(cfg: InputConfig) -> str | None:
    """The registered input module an input config is loaded by (its ``module``, else its
    ``input_type``), or ``None`` when neither is registered."""
    from bmtoolkit.simulator.core.registries import INPUT_MODULES

    for key in (getattr(cfg, "module", None), getattr(cfg, "input_type", None)):
        if key is not None and key in INPUT_MODULES:
            return str(key)
    return None


def report_key(cfg: ReportConfig) -> str:
    """The report module a report config names (``module``, ``type``, else a membrane report)."""
    module = getattr(cfg, "module", None) or getattr(cfg, "type", None)
    params = getattr(cfg, "params", {}) or {}
    if module is None:
        module = params.get("module", params.get("type", "membrane_report"))
    return str(module)


def _refused(
    plan: RunPlan, section: str, keys: dict[str, str | None], registry: Registry,
    accepts: Callable[[str], bool], verb: str, names: tuple[str, ...] | None,
) -> list[Problem]:  # fmt: skip
    """One problem per ``section.<name>`` whose module the backend does not take (modules
    that are not registered at all are reported by the loaders themselves)."""
    out = []
    for name, key in keys.items():
        if key is None or key not in registry or accepts(key):
            continue
        about = _about(registry.get(key))
        out.append(
            Problem(
                str(plan.config_path or ""),
                f"{section}.{name}",
                f"module {key!r}{f' ({about})' if about else ''} is not {verb}: {_listing(names)}",
                KIND,
            )
        )
    return out


def _inputs(plan: RunPlan, spec: BackendSpec) -> list[Problem]:
    from bmtoolkit.simulator.core.registries import INPUT_MODULES

    keys = {name: input_key(cfg) for name, cfg in plan.input_configs.items()}
    verb = f"an input {spec.name} accepts; it accepts"
    return _refused(plan, "inputs", keys, INPUT_MODULES, spec.accepts_input, verb, spec.inputs)


def _reports(plan: RunPlan, spec: BackendSpec) -> list[Problem]:
    from bmtoolkit.simulator.core.registries import REPORT_MODULES

    keys: dict[str, str | None] = {n: report_key(c) for n, c in plan.report_configs.items()}
    verb = f"a report {spec.name} records; it records"
    return _refused(plan, "reports", keys, REPORT_MODULES, spec.accepts_report, verb, spec.reports)


def _model_types(plan: RunPlan, spec: BackendSpec) -> list[Problem]:
    if spec.simulates is None:
        return []
    out = []
    selected = plan.resolve_node_set(None)
    for pop_name, pop in plan.circuit.nodes.items():
        ids = selected.get(pop_name)
        names = set(pop.property_names)
        if ids is None or len(ids) == 0 or "model_type" not in names:
            continue
        templates = pop.column("model_template", ids) if "model_template" in names else None
        if not spec.takes_population(templates):
            continue  # a population the backend passes over
        found = {str(v) for v in pop.column("model_type", ids)}
        other = sorted(found - set(spec.simulates))
        if other:
            out.append(
                Problem(
                    str(pop.types_path or pop.h5_path),
                    f"{pop_name}.model_type",
                    f"{spec.name} does not simulate model_type {other}; it simulates "
                    f"{_listing(spec.simulates)}",
                    KIND,
                )
            )
    return out


def _delays(plan: RunPlan, spec: BackendSpec) -> list[Problem]:
    if spec.delay is None or spec.default_delay(plan.dt) is not None:
        return []
    out = []
    for name, edges in plan.circuit.edges.items():
        if "delay" in edges.property_names:
            continue
        reason = f" ({spec.delay.reason})" if spec.delay.reason else ""
        out.append(
            Problem(
                str(getattr(edges, "types_path", None) or edges.h5_path),
                f"{name}.delay",
                f"edges have no 'delay' and {spec.name} has no default delay{reason}",
                KIND,
            )
        )
    return out


def mismatches(plan: RunPlan, spec: BackendSpec) -> list[Problem]:
    """Every way ``plan`` asks more than ``spec`` declares (see the module docstring)."""
    return [
        *_inputs(plan, spec),
        *_reports(plan, spec),
        *_model_types(plan, spec),
        *_delays(plan, spec),
    ]


def delay_steps(
    delays: np.ndarray, dt: float, *, edges: str = "", path: str | Path | None = None
) -> np.ndarray:
    """Edge delays (ms) as whole steps of ``dt``, by NEST's rule.

    Each delay goes to the nearest step, halves up (NEST's ``ld_round(delay * steps_per_ms)``);
    a delay that comes to less than one step is refused, as NEST refuses delays below its
    resolution, instead of being moved to one step.

    Parameters
    ----------
    delays : array of float
        Delays in ms.
    dt : float
        The run's time step (ms).
    edges, path
        The edge population and its file, named in the error.

    Returns
    -------
    array of int64
        Steps, each at least 1.

    Raises
    ------
    ConfigError
        Some delays are shorter than half a step; names the edges, the file, how many, the
        smallest delay and ``run.dt``.

    Examples
    --------
    >>> delay_steps(np.array([0.05, 0.1, 0.14, 0.25, 1.5]), 0.1)
    array([ 1,  1,  1,  3, 15])
    >>> delay_steps(np.array([1.0, 0.04]), 0.1, edges="lgn_to_v1")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    bmtoolkit.exceptions.ConfigError: delay: edges 'lgn_to_v1': 1 delay shorter than ... 0.04 ms...
    """
    ms = np.asarray(delays, dtype=float)
    steps = np.floor(ms * (1.0 / dt) + 0.5).astype(np.int64)
    short = steps < 1
    if short.any():
        n = int(short.sum())
        raise ConfigError(
            (f"edges {edges!r}: " if edges else "")
            + f"{n} delay{'s' if n > 1 else ''} shorter than the time step "
            f"run.dt = {dt:g} ms (smallest {ms[short].min():g} ms); delays must be at least "
            "one step, as NEST requires",
            path=path,
            field="delay",
        )
    return steps
