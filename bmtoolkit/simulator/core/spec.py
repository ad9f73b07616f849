"""What a backend is, as plain data: :class:`BackendSpec`, read by core without importing it.

Every backend folder has a light ``spec.py`` (no simulator import) whose ``SPEC`` says what
the backend is called, what it needs installed, which configs it claims, which inputs and
reports it accepts, how it reads its options, what delay an edge without one gets, and how
``bmtoolkit create-environment`` lays out an example folder for it. Core reads these
declarations to choose a backend (:func:`backend_for_simulator`, :func:`backend_votes`), to
refuse before setup what a backend cannot do (:mod:`~bmtoolkit.simulator.core.preflight`),
and to list backends; no module outside a backend's folder names it.

Built-in backends are found by their folders (``bmtoolkit/simulator/<name>/spec.py``, read
without importing the backend); other packages add theirs through the ``bmtoolkit.backends``
entry-point group, whose value names a ``BackendSpec`` (``"mypkg.spec:SPEC"``) or, as before,
a :class:`~bmtoolkit.simulator.core.base.Backend` subclass.

Examples
--------
>>> from bmtoolkit.simulator.core.spec import BackendSpec, DelayPolicy
>>> spec = BackendSpec("toynet", "toynet.backend:ToyBackend", target_simulators=("TOY",),
...                    inputs=("IClamp",), reports=(), delay=DelayPolicy(default="dt"))
>>> spec.accepts_input("IClamp"), spec.accepts_report("membrane_report")
(True, False)
>>> spec.default_delay(dt=0.1)
0.1
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bmtoolkit.exceptions import BackendNotAvailableError, ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from bmtoolkit.simulator.core.plan import RunPlan

log = logging.getLogger("bmtoolkit.simulator")

#: entry-point group third-party backends use: ``name = "package.spec:SPEC"``
ENTRY_POINT_GROUP = "bmtoolkit.backends"


@dataclass(frozen=True)
class DelayPolicy:
    """What delay an edge gets when its files give none (no ``delay`` in its group or types).

    The one rule every backend follows (see the config reference): the edge takes the
    backend's declared :attr:`default`; a backend that declares ``None`` needs a delay on
    every edge, and a network without one is refused before the run with a
    :class:`~bmtoolkit.exceptions.ConfigError`.

    Attributes
    ----------
    default : float, "dt" or None
        Delay in ms, ``"dt"`` for one time step of the run, or ``None`` (a delay is required).
    reason : str
        Why this default (shown in the docs and in ``bmtoolkit validate``'s message).

    Examples
    --------
    >>> DelayPolicy(1.0).value(dt=0.1), DelayPolicy("dt").value(dt=0.25), DelayPolicy().value(0.1)
    (1.0, 0.25, None)
    """

    default: float | Literal["dt"] | None = None
    reason: str = ""

    def value(self, dt: float) -> float | None:
        """The default delay in ms for a run with step ``dt`` (``None``: delays are required)."""
        if self.default is None:
            return None
        if self.default == "dt":
            return float(dt)
        return float(self.default)

    def describe(self) -> str:
        """One phrase for messages and docs (``"1.0 ms"``, ``"one time step"``, ``"none"``)."""
        if self.default is None:
            return "none (a delay is required)"
        if self.default == "dt":
            return "one time step (run.dt)"
        return f"{float(self.default)} ms"


class OptionsClass(Protocol):
    """What a spec's ``options`` is: a class whose ``from_plan(plan)`` parses the config."""

    def from_plan(self, plan: RunPlan) -> Any:
        """The typed options of ``plan`` (raises ConfigError for bad values)."""
        ...


class NoOptions:
    """Options of a backend that reads none (:meth:`from_plan` gives the one instance)."""

    @classmethod
    def from_plan(cls, plan: RunPlan) -> NoOptions:
        """The (empty) options of ``plan``."""
        return cls()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoOptions)

    def __hash__(self) -> int:
        return 0


@dataclass(frozen=True)
class BackendSpec:
    """A backend's declaration: everything core needs to know without importing it.

    Attributes
    ----------
    name : str
        Registry name (``--backend NAME``).
    backend : str
        Import path of the :class:`~bmtoolkit.simulator.core.base.Backend` subclass,
        ``"package.module:Class"``; imported only when a run needs it.
    requires : tuple of str
        Python modules the backend needs (skips and ``show-versions`` name them).
    description : str
        One line for listings.
    target_simulators : tuple of str
        ``target_simulator`` values of a config that choose this backend (any case).
    model_templates : tuple of str
        ``model_template`` prefixes (``"nest"`` of ``"nest:iaf_psc_alpha"``) that vote for
        this backend when neither ``--backend`` nor ``target_simulator`` decide.
    model_types : tuple of str
        Node ``model_type`` values that vote for this backend in the same case.
    simulates : tuple of str or None
        Node ``model_type`` values it can simulate; any other one in the run's node set is
        refused before the run. ``None``: not declared (the backend decides while building).
    template_populations : bool
        Simulates only the populations with a ``model_template`` starting with one of
        :attr:`model_templates` and passes over the others (an LGN filter backend evaluates the
        LGN nodes of a circuit that also holds the cortex they drive); only the populations it
        takes are checked against :attr:`simulates` (:meth:`takes_population`).
    inputs : tuple of str or None
        Input modules it accepts (names registered in
        :data:`~bmtoolkit.simulator.core.registries.INPUT_MODULES`, aliases included).
        ``None``: not declared (every registered input is handed to the backend).
    reports : tuple of str or None
        Report modules it accepts (names in
        :data:`~bmtoolkit.simulator.core.registries.REPORT_MODULES`); ``None`` as above.
    registers : tuple of str
        Light modules to import before reading the config: they register the backend's own
        input and report loaders (``"pkg.inputs"``).
    options : type
        Frozen options class with ``from_plan(plan) -> options`` raising
        :class:`~bmtoolkit.exceptions.ConfigError`; the backend reads ``self.options``.
    delay : DelayPolicy or None
        The default delay of edges without one; ``None`` for a backend that reads no edges.
    stepped : bool
        Integrates on a ``run.dt`` grid (a config without ``run.dt`` is warned about).
    node_type_models : bool
        Reads node parameters through
        :func:`~bmtoolkit.simulator.core.models.node_type_models` (their files are checked
        before the run).
    scaffold : str or None
        ``"package.module:function"``: ``function(tstop) -> Scaffold`` for
        ``bmtoolkit create-environment``.
    scaffold_tstop : float
        Default simulated time (ms) of that scaffold.
    exports : mapping
        ``{name: module}`` re-exported lazily by :mod:`bmtoolkit.simulator`
        (``from bmtoolkit.simulator import PointNet``).
    """

    name: str
    backend: str
    requires: tuple[str, ...] = ()
    description: str = ""
    target_simulators: tuple[str, ...] = ()
    model_templates: tuple[str, ...] = ()
    model_types: tuple[str, ...] = ()
    simulates: tuple[str, ...] | None = None
    template_populations: bool = False
    inputs: tuple[str, ...] | None = None
    reports: tuple[str, ...] | None = None
    registers: tuple[str, ...] = ()
    options: OptionsClass = NoOptions
    delay: DelayPolicy | None = field(default_factory=DelayPolicy)
    stepped: bool = True
    node_type_models: bool = True
    scaffold: str | None = None
    scaffold_tstop: float = 1000.0
    exports: Mapping[str, str] = field(default_factory=dict)

    def default_delay(self, dt: float) -> float | None:
        """Delay (ms) of edges without one in a run of step ``dt`` (``None``: required)."""
        return None if self.delay is None else self.delay.value(dt)

    def takes_population(self, templates: Iterable[Any] | None) -> bool:
        """Whether a population with these ``model_template`` values is one the backend
        simulates (always, unless :attr:`template_populations`; a population without
        templates is taken).

        Examples
        --------
        >>> spec = BackendSpec("lgnnet", "x:Y", model_templates=("lgnmodel",),
        ...                    template_populations=True)
        >>> spec.takes_population(["lgnmodel:sON_TF4"]), spec.takes_population(["nest:iaf"])
        (True, False)
        """
        if not self.template_populations or templates is None:
            return True
        prefixes = tuple(self.model_templates)
        return any(str(t).startswith(prefixes) for t in templates)

    def accepts_input(self, module: str) -> bool:
        """Whether an input of registered module ``module`` (or an alias) is accepted."""
        return self.inputs is None or _canonical("input", module) in _canonicals(
            "input", self.inputs
        )

    def accepts_report(self, module: str) -> bool:
        """Whether a report of registered module ``module`` (or an alias) is accepted."""
        return self.reports is None or _canonical("report", module) in _canonicals(
            "report", self.reports
        )

    def load_registrations(self) -> None:
        """Import :attr:`registers` so the backend's input and report loaders are known."""
        for module in self.registers:
            try:
                importlib.import_module(module)
            except ImportError as err:
                raise BackendNotAvailableError(
                    f"backend {self.name!r}: cannot import {module!r}: {err}"
                ) from err

    def parse_options(self, plan: RunPlan) -> Any:
        """This backend's typed options for ``plan`` (``options.from_plan(plan)``)."""
        return self.options.from_plan(plan)

    def make_scaffold(self, tstop: float) -> Any:
        """The ``create-environment`` scaffold, or a ConfigError when the backend has none."""
        if self.scaffold is None:
            raise ConfigError(
                f"backend {self.name!r} has no create-environment scaffold", field="--backend"
            )
        return _load(self.scaffold)(float(tstop))


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def _canonical(kind: str, name: str) -> str:
    from bmtoolkit.simulator.core.registries import INPUT_MODULES, REPORT_MODULES

    return (INPUT_MODULES if kind == "input" else REPORT_MODULES).canonical(name)


def _canonicals(kind: str, names: tuple[str, ...]) -> set[str]:
    return {_canonical(kind, n) for n in names}


# ---------------------------------------------------------------------- discovery
_SPECS: dict[str, BackendSpec] = {}
_discovered = False


def _builtin_spec_modules() -> list[str]:
    """``bmtoolkit.simulator.<folder>.spec`` of every folder that has one (nothing imported)."""
    import bmtoolkit.simulator as simulator

    out = []
    for folder in simulator.__path__:
        for sub in sorted(Path(folder).iterdir()):
            if (sub / "__init__.py").is_file() and (sub / "spec.py").is_file():
                out.append(f"{simulator.__name__}.{sub.name}.spec")
    return out


def _from_entry_point(name: str, obj: Any, value: str) -> BackendSpec:
    if isinstance(obj, BackendSpec):
        return obj
    declared = getattr(obj, "spec", None)
    if isinstance(declared, BackendSpec):
        return declared
    # a Backend subclass without a spec: known by name, nothing declared
    target = value if ":" in value else f"{value}:{getattr(obj, '__name__', '')}"
    return BackendSpec(name, target, requires=tuple(getattr(obj, "requires", ()) or ()))


def discover(*, refresh: bool = False) -> None:
    """Read the built-in specs and the ``bmtoolkit.backends`` entry points (once).

    ``refresh`` reads the entry points again (a package installed while the process runs).
    """
    global _discovered
    if _discovered and not refresh:
        return
    _discovered = True
    for module in _builtin_spec_modules():
        spec = getattr(importlib.import_module(module), "SPEC", None)
        if isinstance(spec, BackendSpec):  # core's own spec.py (this module) declares none
            _SPECS.setdefault(spec.name, spec)
    from importlib import metadata

    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _SPECS:
            continue
        if ":" not in ep.value:  # a module holding a Backend subclass: loaded when run
            _SPECS[ep.name] = BackendSpec(ep.name, ep.value)
            continue
        try:
            obj = ep.load()
        except ImportError as err:
            log.warning("backend entry point %s = %s cannot be loaded: %s", ep.name, ep.value, err)
            continue
        _SPECS[ep.name] = _from_entry_point(ep.name, obj, ep.value)


def register_spec(spec: BackendSpec, *, replace: bool = False) -> None:
    """Add ``spec`` (a backend declared in code rather than by an entry point).

    Examples
    --------
    >>> register_spec(BackendSpec("doctestnet", "mypkg.backend:Doc"))
    >>> get_spec("doctestnet").backend
    'mypkg.backend:Doc'
    >>> unregister_spec("doctestnet")
    """
    discover()
    if spec.name in _SPECS and not replace and _SPECS[spec.name] != spec:
        raise ValueError(f"backend {spec.name!r} is already declared")
    _SPECS[spec.name] = spec


def unregister_spec(name: str) -> None:
    """Forget the spec ``name`` (no error if absent)."""
    _SPECS.pop(name, None)


def specs() -> dict[str, BackendSpec]:
    """Every declared backend: ``{name: BackendSpec}``, built-in ones first."""
    discover()
    return dict(_SPECS)


def get_spec(name: str) -> BackendSpec | None:
    """The spec of backend ``name``, or ``None`` when it declares none.

    A backend registered only as a class (:func:`register_backend` with a class) has no
    spec unless the class carries one as ``spec``.
    """
    discover()
    if name in _SPECS:
        return _SPECS[name]
    from bmtoolkit.simulator.core.registries import BACKENDS

    if name in BACKENDS:
        target = BACKENDS.get(name)
        declared = getattr(target, "spec", None)
        if isinstance(declared, BackendSpec):
            return declared
    return None


def backend_for_simulator(target: str) -> str | None:
    """The backend a config's ``target_simulator`` names (any case), if one claims it.

    Examples
    --------
    >>> backend_for_simulator("no such simulator") is None
    True
    """
    wanted = str(target).upper()
    for spec in specs().values():
        if wanted in (t.upper() for t in spec.target_simulators):
            return spec.name
    return None


def claimed_simulators() -> dict[str, str]:
    """``{TARGET_SIMULATOR: backend}`` of every declared backend."""
    out: dict[str, str] = {}
    for spec in specs().values():
        for t in spec.target_simulators:
            out.setdefault(t.upper(), spec.name)
    return out


def backend_votes(templates: set[str], model_types: set[str]) -> set[str]:
    """Backends whose declared template prefixes or model types occur in a circuit.

    Examples
    --------
    >>> backend_votes(set(), set())
    set()
    """
    votes: set[str] = set()
    prefixes = {t.split(":", 1)[0].lower() for t in templates if ":" in t}
    for spec in specs().values():
        if prefixes & {p.lower() for p in spec.model_templates}:
            votes.add(spec.name)
        if model_types & set(spec.model_types):
            votes.add(spec.name)
    return votes


def describe_options(spec: BackendSpec) -> Mapping[str, Any]:
    """The option fields of ``spec`` and their defaults (for docs and listings)."""
    from dataclasses import MISSING, fields, is_dataclass

    if not is_dataclass(spec.options):
        return {}
    return {f.name: (f.default if f.default is not MISSING else None) for f in fields(spec.options)}
