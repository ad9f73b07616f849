"""BMTK's function-registration API: weight functions, cell models, synapse models, processors.

BMTK scripts register Python functions that replace parts of a simulation; the same calls work
here. :class:`PyFunctions` holds BMTK's spellings bound to the backends they register for:
:mod:`bmtoolkit.simulator` exports an instance that registers for every backend (``"*"``),
and each backend folder's ``pyfunction_cache`` module one of its own, with its name and its
default weight-function convention, made by :func:`backend_module`.

=========================================  =================================================
BMTK call                                  registers
=========================================  =================================================
``@synaptic_weight`` / ``add_weight_function(fn, name)``
                                           a weight function, for edge types whose
                                           ``weight_function`` names it (both calling
                                           conventions: :mod:`.weight_functions`)
``@cell_model(directive=, model_type=)`` / ``add_cell_model(fn, directive, model_type)``
                                           a cell model: ``fn(cell, template_name,
                                           dynamics_params)`` building the cells of a node
                                           type, as the backend documents
``@synapse_model`` / ``add_synapse_model(fn, name)``
                                           a synapse model, ``fn(syn_params, sec_x,
                                           section)``, for edges whose ``model_template`` is
                                           ``name``
``@model_processing`` / ``add_cell_processor(fn, name)``
                                           a processor ``fn(hobj, cell, dynamics_params)``
                                           for nodes whose ``model_processing`` is ``name``
=========================================  =================================================

``directive`` is the part of ``model_template`` before the colon (``"nest"``, ``"ctdb"``,
``"hoc"``) or the whole template; ``model_type="*"`` (default) matches every model type, as
in BMTK. Registrations live in :data:`~bmtoolkit.simulator.core.registries.CELL_MODELS`,
:data:`~bmtoolkit.simulator.core.registries.SYNAPSE_MODELS` and :data:`PROCESSORS` under
``"<backend>:<name>"``; the ``find_*`` functions look up a backend's own name first, then
``"*"``. Which backends call which kind is said in each backend's documentation.

Examples
--------
>>> per_edge_first = PyFunctions(("mynet",), per_edge_default=True)
>>> @per_edge_first.synaptic_weight
... def halved(edge_props, src_node, trg_node):  # one edge at a time
...     return 0.5 * edge_props["syn_weight"]
>>> from bmtoolkit.simulator.core.registries import WEIGHT_FUNCTIONS
>>> WEIGHT_FUNCTIONS.get("halved").per_edge
True
>>> unregister("halved")
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from bmtoolkit.simulator.core.registries import (
    CELL_MODELS,
    SYNAPSE_MODELS,
)
from bmtoolkit.simulator.core.registries import (
    add_weight_function as _add_weight,
)
from bmtoolkit.simulator.core.weight_functions import Row

__all__ = [
    "ALL",
    "EVERY_BACKEND",
    "NAMES",
    "PROCESSORS",
    "PyFunctions",
    "backend_module",
    "find_cell_model",
    "find_cell_processor",
    "find_synapse_model",
    "unregister",
]

#: backend name of registrations that apply to every backend
EVERY_BACKEND = "*"
#: ``"<backend>:<name>"`` -> BMTK-style cell processor (``model_processing``)
PROCESSORS: dict[str, Callable[..., Any]] = {}
#: BMTK's registration functions, as its ``pyfunction_cache`` modules name them
NAMES: tuple[str, ...] = (
    "synaptic_weight",
    "add_weight_function",
    "cell_model",
    "add_cell_model",
    "synapse_model",
    "add_synapse_model",
    "model_processing",
    "add_cell_processor",
)


def _cell_key(backend: str, directive: str, model_type: str | None) -> str:
    return f"{backend}:{directive}@{model_type or '*'}"


def find_cell_model(
    backend: str, model_template: str | None, model_type: str | None
) -> Callable[..., Any] | None:
    """The user cell model for a node type, or ``None``: the whole template first, then its
    directive (the part before ``:``), each for the model type and then for ``*``.

    Examples
    --------
    >>> find_cell_model("mynet", "nest:iaf_psc_alpha", "point_process") is None
    True
    """
    template = str(model_template or "")
    directive = template.partition(":")[0]
    for owner in (backend, EVERY_BACKEND):
        for name in dict.fromkeys((template, directive)):
            if not name:
                continue
            for mtype in dict.fromkeys((model_type or "*", "*")):
                key = _cell_key(owner, name, mtype)
                if key in CELL_MODELS:
                    return CELL_MODELS.get(key)
    return None


def find_synapse_model(backend: str, name: Any) -> Callable[..., Any] | None:
    """The user synapse model registered as ``name`` for ``backend`` (or every backend), or
    ``None``."""
    if not isinstance(name, str):
        return None
    for owner in (backend, EVERY_BACKEND):
        if f"{owner}:{name}" in SYNAPSE_MODELS:
            return SYNAPSE_MODELS.get(f"{owner}:{name}")
    return None


def find_cell_processor(backend: str, name: Any) -> Callable[..., Any] | None:
    """The user ``model_processing`` function registered as ``name``, or ``None``."""
    if not isinstance(name, str):
        return None
    return PROCESSORS.get(f"{backend}:{name}", PROCESSORS.get(f"{EVERY_BACKEND}:{name}"))


def _decorator(register: Callable[..., None], wargs: tuple, wkwargs: dict, key: str):
    """BMTK's decorator forms: ``@deco``, ``@deco(name=...)``, ``@deco("name")``."""
    if len(wargs) == 1 and callable(wargs[0]) and not wkwargs:
        func = wargs[0]
        register(func, func.__name__)
        return func
    name = wkwargs.pop(key, None) or wkwargs.pop("name", None)
    if name is None and wargs and isinstance(wargs[0], str):
        name = wargs[0]

    def deco(func: Callable[..., Any]) -> Callable[..., Any]:
        register(func, name or func.__name__, **wkwargs)

        @wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return wrapper

    return deco


class PyFunctions:
    """BMTK's registration functions bound to the backends they register for.

    Parameters
    ----------
    backends : tuple of str
        Backends the registrations apply to.
    per_edge_default : bool
        How a weight function whose parameter names say nothing is called: per edge
        (``True``, as BMTK's NEURON simulator calls them) or vectorized (as its NEST one does).
    """

    def __init__(self, backends: tuple[str, ...], per_edge_default: bool) -> None:
        self.backends = backends
        self.per_edge_default = per_edge_default

    # weight functions -------------------------------------------------------------------
    def add_weight_function(
        self,
        func: Callable[..., Any],
        name: str | None = None,
        overwrite: bool = True,
        *,
        per_edge: bool | None = None,
    ) -> None:
        """BMTK's ``add_weight_function(func, name=None, overwrite=True)``."""
        from bmtoolkit.simulator.core.weight_functions import is_per_edge

        if per_edge is None:
            per_edge = is_per_edge(func, default=self.per_edge_default)
        _add_weight(func, name, overwrite, per_edge=per_edge)

    def synaptic_weight(self, *wargs: Any, **wkwargs: Any) -> Any:
        """BMTK's ``@synaptic_weight`` / ``@synaptic_weight(name=...)`` decorator."""

        def register(func: Callable[..., Any], name: str, **kw: Any) -> None:
            self.add_weight_function(func, name, **kw)

        return _decorator(register, wargs, dict(wkwargs), "name")

    # cell models -------------------------------------------------------------------------
    def add_cell_model(
        self,
        func: Callable[..., Any],
        directive: str,
        model_type: str | None = "*",
        overwrite: bool = True,
    ) -> None:
        """BMTK's ``add_cell_model(func, directive, model_type='*', overwrite=True)``."""
        _check_callable(func, "cell model")
        for backend in self.backends:
            key = _cell_key(backend, directive, model_type)
            if overwrite or key not in CELL_MODELS:
                CELL_MODELS.register(key, func, replace=True)

    def cell_model(self, *wargs: Any, **wkwargs: Any) -> Any:
        """BMTK's ``@cell_model`` / ``@cell_model(directive=..., model_type=...)``."""

        def register(func: Callable[..., Any], name: str, **kw: Any) -> None:
            self.add_cell_model(func, name, kw.get("model_type", "*"), kw.get("overwrite", True))

        return _decorator(register, wargs, dict(wkwargs), "directive")

    # synapse models ----------------------------------------------------------------------
    def add_synapse_model(
        self, func: Callable[..., Any], name: str | None = None, overwrite: bool = True
    ) -> None:
        """BMTK's ``add_synapse_model(func, name=None, overwrite=True)``."""
        _check_callable(func, "synapse model")
        for backend in self.backends:
            key = f"{backend}:{name or func.__name__}"
            if overwrite or key not in SYNAPSE_MODELS:
                SYNAPSE_MODELS.register(key, func, replace=True)

    def synapse_model(self, *wargs: Any, **wkwargs: Any) -> Any:
        """BMTK's ``@synapse_model`` / ``@synapse_model(name=...)``."""

        def register(func: Callable[..., Any], name: str, **kw: Any) -> None:
            self.add_synapse_model(func, name, kw.get("overwrite", True))

        return _decorator(register, wargs, dict(wkwargs), "name")

    # cell processors ---------------------------------------------------------------------
    def add_cell_processor(
        self, func: Callable[..., Any], name: str | None = None, overwrite: bool = True
    ) -> None:
        """BMTK's ``add_cell_processor(func, name=None, overwrite=True)``: a
        ``model_processing`` function ``fn(hobj, cell, dynamics_params)``."""
        _check_callable(func, "cell processor")
        for backend in self.backends:
            key = f"{backend}:{name or func.__name__}"
            if overwrite or key not in PROCESSORS:
                PROCESSORS[key] = func

    def model_processing(self, *wargs: Any, **wkwargs: Any) -> Any:
        """BMTK's ``@model_processing`` / ``@model_processing(name=...)``."""

        def register(func: Callable[..., Any], name: str, **kw: Any) -> None:
            self.add_cell_processor(func, name, kw.get("overwrite", True))

        return _decorator(register, wargs, dict(wkwargs), "name")

    def exports(self) -> dict[str, Callable[..., Any]]:
        """The names a module exports, BMTK's spellings (:data:`NAMES`)."""
        return {name: getattr(self, name) for name in NAMES}


def _check_callable(func: Any, what: str) -> None:
    if not callable(func):
        raise TypeError(f"{what} must be callable, got {func!r}")


def unregister(name: str) -> None:
    """Remove every registration made under ``name`` (weight function, cell model keys
    ``<directive>@<type>``, synapse model, processor) for every backend; for tests and
    notebooks that register twice."""
    from bmtoolkit.simulator.core.registries import WEIGHT_FUNCTIONS

    WEIGHT_FUNCTIONS.unregister(name)
    for key in [k for k in SYNAPSE_MODELS.names() if k.partition(":")[2] == name]:
        SYNAPSE_MODELS.unregister(key)  # type: ignore[attr-defined]
    for key in [k for k in PROCESSORS if k.partition(":")[2] == name]:
        del PROCESSORS[key]
    for key in [k for k in CELL_MODELS.names() if k.partition(":")[2].startswith(f"{name}@")]:
        CELL_MODELS.unregister(key)  # type: ignore[attr-defined]


#: the registrations of :mod:`bmtoolkit.simulator`: every backend, vectorized by default
ALL = PyFunctions((EVERY_BACKEND,), per_edge_default=False)


def backend_module(
    module: str, backend: str, *, per_edge_default: bool
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """The ``__getattr__``, ``__dir__`` and ``__all__`` of a backend's ``pyfunction_cache``
    module: BMTK's registration functions (:data:`NAMES`) registering for ``backend``.

    Parameters
    ----------
    module : str
        The module's name (``__name__``), for the error of an unknown attribute.
    backend : str
        Backend the registrations apply to.
    per_edge_default : bool
        How the backend calls a weight function whose parameter names say nothing (see
        :class:`PyFunctions`).

    Examples
    --------
    >>> getattr_, dir_, all_ = backend_module("mynet.pyfunction_cache", "mynet",
    ...                                       per_edge_default=True)
    >>> getattr_("add_cell_model").__self__.backends, all_ == list(NAMES)
    (('mynet',), True)
    >>> getattr_("nothing")
    Traceback (most recent call last):
    AttributeError: module 'mynet.pyfunction_cache' has no attribute 'nothing'
    """
    exports = PyFunctions((backend,), per_edge_default=per_edge_default).exports()

    def __getattr__(name: str) -> Any:
        try:
            return exports[name]
        except KeyError:
            raise AttributeError(f"module {module!r} has no attribute {name!r}") from None

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__, list(exports)


class NodeView(Row):
    """A node (or a batch of nodes) as BMTK hands it to cell models and processors:
    ``view["x"]``, ``view.node_id``, ``view.morphology_file``, ``view.model_template`` ...

    Parameters
    ----------
    values : mapping
        Property values (scalars for one node, arrays for a batch).
    """
