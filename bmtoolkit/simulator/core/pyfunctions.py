"""BMTK's function-registration API: weight functions, cell models, synapse models, processors.

BMTK scripts register Python functions that replace parts of a simulation; the same calls work
here, from :mod:`bmtoolkit.simulator`, :mod:`bmtoolkit.simulator.bionet` and
:mod:`bmtoolkit.simulator.pointnet`:

=========================================  =================================================
BMTK call                                  used by
=========================================  =================================================
``@synaptic_weight`` / ``add_weight_function(fn, name)``
                                           every backend, for edge types whose
                                           ``weight_function`` names ``fn`` (see
                                           :mod:`.weight_functions` for both conventions)
``@cell_model(directive=, model_type=)`` / ``add_cell_model(fn, directive, model_type)``
                                           bionet: ``fn(cell, template_name,
                                           dynamics_params) -> hoc object``; pointnet:
                                           ``fn(nodes, model_name, dynamics_params) ->
                                           NodeCollection`` for one node type at a time
``@synapse_model`` / ``add_synapse_model(fn, name)``
                                           bionet: ``fn(syn_params, sec_x, section) ->
                                           point process`` for edges whose
                                           ``model_template`` is ``name``
``@model_processing`` / ``add_cell_processor(fn, name)``
                                           bionet: ``fn(hobj, cell, dynamics_params)`` for
                                           nodes whose ``model_processing`` is ``name``
=========================================  =================================================

``directive`` is the part of ``model_template`` before the colon (``"nest"``, ``"ctdb"``,
``"hoc"``) or the whole template; ``model_type="*"`` (default) matches every model type, as
in BMTK. The functions register in the registries of
:mod:`~bmtoolkit.simulator.core.registries` under ``"<backend>:<name>"``; names imported
from a backend's module register for that backend only, those of
:mod:`bmtoolkit.simulator` for every backend. Pointnet ignores synapse models and processors,
as BMTK's PointNet does.

Examples
--------
>>> from bmtoolkit.simulator.bionet import synaptic_weight
>>> @synaptic_weight
... def halved(edge_props, src_node, trg_node):  # BMTK bionet: one edge at a time
...     return 0.5 * edge_props["syn_weight"]
>>> from bmtoolkit.simulator.core.registries import WEIGHT_FUNCTIONS
>>> WEIGHT_FUNCTIONS.get("halved").per_edge
True
>>> WEIGHT_FUNCTIONS.unregister("halved")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from bmtoolkit.simulator.core.registries import (
    CELL_MODELS,
    SYNAPSE_MODELS,
)
from bmtoolkit.simulator.core.registries import (
    add_weight_function as _add_weight,
)

__all__ = [
    "BACKEND_NAMES",
    "PyFunctions",
    "find_cell_model",
    "find_cell_processor",
    "find_synapse_model",
]

#: backends that call user cell models / synapse models / processors
BACKEND_NAMES: tuple[str, ...] = ("bionet", "pointnet")
#: ``"<backend>:<name>"`` -> BMTK-style cell processor (bionet's ``model_processing``)
_PROCESSORS: dict[str, Callable[..., Any]] = {}


def _cell_key(backend: str, directive: str, model_type: str | None) -> str:
    return f"{backend}:{directive}@{model_type or '*'}"


def find_cell_model(
    backend: str, model_template: str | None, model_type: str | None
) -> Callable[..., Any] | None:
    """The user cell model for a node type, or ``None``: the whole template first, then its
    directive (the part before ``:``), each for the model type and then for ``*``.

    Examples
    --------
    >>> find_cell_model("pointnet", "nest:iaf_psc_alpha", "point_process") is None
    True
    """
    template = str(model_template or "")
    directive = template.partition(":")[0]
    for name in dict.fromkeys((template, directive)):
        if not name:
            continue
        for mtype in dict.fromkeys((model_type or "*", "*")):
            key = _cell_key(backend, name, mtype)
            if key in CELL_MODELS:
                return CELL_MODELS.get(key)
    return None


def find_synapse_model(backend: str, name: Any) -> Callable[..., Any] | None:
    """The user synapse model registered as ``name`` for ``backend``, or ``None``."""
    key = f"{backend}:{name}"
    return SYNAPSE_MODELS.get(key) if isinstance(name, str) and key in SYNAPSE_MODELS else None


def find_cell_processor(backend: str, name: Any) -> Callable[..., Any] | None:
    """The user ``model_processing`` function registered as ``name``, or ``None``."""
    return _PROCESSORS.get(f"{backend}:{name}") if isinstance(name, str) else None


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
        (``True``, BMTK's bionet) or vectorized (BMTK's pointnet).
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
            if overwrite or key not in _PROCESSORS:
                _PROCESSORS[key] = func

    def model_processing(self, *wargs: Any, **wkwargs: Any) -> Any:
        """BMTK's ``@model_processing`` / ``@model_processing(name=...)``."""

        def register(func: Callable[..., Any], name: str, **kw: Any) -> None:
            self.add_cell_processor(func, name, kw.get("overwrite", True))

        return _decorator(register, wargs, dict(wkwargs), "name")

    def exports(self) -> dict[str, Callable[..., Any]]:
        """The names a module exports, BMTK's spellings."""
        return {
            "synaptic_weight": self.synaptic_weight,
            "add_weight_function": self.add_weight_function,
            "cell_model": self.cell_model,
            "add_cell_model": self.add_cell_model,
            "synapse_model": self.synapse_model,
            "add_synapse_model": self.add_synapse_model,
            "model_processing": self.model_processing,
            "add_cell_processor": self.add_cell_processor,
        }


def _check_callable(func: Any, what: str) -> None:
    if not callable(func):
        raise TypeError(f"{what} must be callable, got {func!r}")


def unregister(name: str) -> None:
    """Remove every registration made under ``name`` (weight function, cell model keys
    ``<directive>@<type>``, synapse model, processor) for all backends; for tests and
    notebooks that register twice."""
    from bmtoolkit.simulator.core.registries import WEIGHT_FUNCTIONS

    WEIGHT_FUNCTIONS.unregister(name)
    for backend in BACKEND_NAMES:
        SYNAPSE_MODELS.unregister(f"{backend}:{name}")  # type: ignore[attr-defined]
        _PROCESSORS.pop(f"{backend}:{name}", None)
        for key in [k for k in CELL_MODELS.names() if k.startswith(f"{backend}:{name}@")]:
            CELL_MODELS.unregister(key)  # type: ignore[attr-defined]


#: the registrations of :mod:`bmtoolkit.simulator` (every backend, vectorized by default)
ALL = PyFunctions(BACKEND_NAMES, per_edge_default=False)
#: :mod:`bmtoolkit.simulator.bionet`'s (per-edge weight functions by default, as BMTK's bionet)
BIONET = PyFunctions(("bionet",), per_edge_default=True)
#: :mod:`bmtoolkit.simulator.pointnet`'s
POINTNET = PyFunctions(("pointnet",), per_edge_default=False)


class NodeView(Mapping):
    """A node (or a batch of nodes) as BMTK hands it to cell models and processors:
    ``view["x"]``, ``view.node_id``, ``view.morphology_file``, ``view.model_template`` ...

    Parameters
    ----------
    values : mapping
        Property values (scalars for one node, arrays for a batch).
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError as err:
            raise AttributeError(f"node has no {name!r}; known: {', '.join(self._values)}") from err
