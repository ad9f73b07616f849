"""Registries shared by every backend: backends, inputs, reports, models, weight functions.

Every extension point of the simulator is a :class:`~bmtoolkit.registry.Registry`: a name
maps to an object, and an unknown name raises
:class:`~bmtoolkit.exceptions.UnknownModelError` listing the known ones.

- :data:`BACKENDS`: backend name -> :class:`~bmtoolkit.simulator.core.base.Backend` subclass.
  Built-in backends are registered *by import path* and imported only when asked for, so
  ``import bmtoolkit`` needs no simulator. Third-party packages add backends through the
  ``bmtoolkit.backends`` entry-point group (value ``package.module:BackendClass``).
- :data:`INPUT_MODULES`: config ``module``/``input_type`` -> loader turning an
  :class:`~bmtoolkit.sonata.config.InputConfig` into a typed input
  (see :mod:`bmtoolkit.simulator.core.inputs`).
- :data:`REPORT_MODULES`: report ``module`` -> loader turning a report config into a typed
  report (see :mod:`bmtoolkit.simulator.core.reports`).
- :data:`CELL_MODELS`, :data:`SYNAPSE_MODELS`: ``"<backend>:<name>"`` -> backend-specific
  loader (``"pointnet:nest"``, ``"bionet:ctdb"`` ...). The backend prefix keeps backends from
  colliding on the same template prefix.
- :data:`WEIGHT_FUNCTIONS`: edge-type ``weight_function`` -> vectorized function
  ``fn(edges, source, target) -> np.ndarray`` (see :func:`synaptic_weight`).

Examples
--------
>>> from bmtoolkit.simulator.core.registries import WEIGHT_FUNCTIONS, synaptic_weight
>>> @synaptic_weight(name="half_weight")
... def half_weight(edges, source, target):
...     return 0.5 * edges["syn_weight"] * edges["nsyns"]
>>> "half_weight" in WEIGHT_FUNCTIONS
True
>>> WEIGHT_FUNCTIONS.unregister("half_weight")
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from bmtoolkit.exceptions import BackendNotAvailableError, UnknownModelError
from bmtoolkit.registry import Registry
from bmtoolkit.simulator.core.catalogue import is_empty

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from bmtoolkit.simulator.core.base import Backend
    from bmtoolkit.sonata.nodes import NodePopulation

F = TypeVar("F", bound=Callable[..., Any])

#: entry-point group third-party backends use: ``name = "package.module:BackendClass"``
ENTRY_POINT_GROUP = "bmtoolkit.backends"


class _ScopedRegistry(Registry):
    """Registry with :meth:`unregister` so user functions can be scoped to a test or script."""

    def unregister(self, name: str) -> None:
        """Remove ``name`` (no error if absent)."""
        self._entries.pop(name, None)
        for alias, target in list(self._aliases.items()):
            if target == name:
                del self._aliases[alias]


#: backend name -> Backend subclass, or ``"module:Class"`` / ``"module"`` import path
BACKENDS: Registry = Registry("backend")
#: input ``module`` or ``input_type`` -> loader(InputConfig, RunPlan) -> typed input
INPUT_MODULES: Registry = Registry("input module")
#: report ``module`` -> loader(ReportConfig, RunPlan) -> typed report
REPORT_MODULES: Registry = Registry("report module")
#: ``"<backend>:<template prefix or model>"`` -> backend-specific cell-model loader
CELL_MODELS: Registry = _ScopedRegistry("cell model")
#: ``"<backend>:<synapse model>"`` -> backend-specific synapse-model loader
SYNAPSE_MODELS: Registry = _ScopedRegistry("synapse model")
#: weight-function name -> ``fn(edges, source, target) -> np.ndarray``
WEIGHT_FUNCTIONS: _ScopedRegistry = _ScopedRegistry("weight function")

_BUILTIN_BACKENDS: dict[str, str] = {
    "pointnet": "bmtoolkit.simulator.pointnet.backend",
    "bionet": "bmtoolkit.simulator.bionet.backend",
    "popnet": "bmtoolkit.simulator.popnet.backend",
    "filternet": "bmtoolkit.simulator.filternet.backend",
    "torchnet": "bmtoolkit.simulator.torchnet.backend",
    "numpynet": "bmtoolkit.simulator.core.numpynet",
}
for _name, _path in _BUILTIN_BACKENDS.items():
    BACKENDS.register(_name, _path)

_entry_points_loaded = False


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    from importlib import metadata  # scanning installed packages is done once, on demand

    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in BACKENDS:
            BACKENDS.register(ep.name, ep.value)


def register_backend(name: str, target: type[Backend] | str, *, replace: bool = False) -> None:
    """Register a backend class, or its import path for lazy loading.

    Parameters
    ----------
    name : str
        Name used by ``--backend`` and :func:`bmtoolkit.simulator.run`.
    target : type or str
        A :class:`Backend` subclass, ``"package.module:Class"`` or ``"package.module"`` (the
        module's Backend subclass whose ``name`` equals ``name`` is used).
    replace : bool
        Allow replacing an existing registration.

    Examples
    --------
    >>> from bmtoolkit.simulator.core.registries import register_backend, backend_names
    >>> register_backend("mynet", "mypackage.backend:MyBackend")
    >>> "mynet" in backend_names()
    True
    >>> BACKENDS._entries.pop("mynet") and None
    """
    BACKENDS.register(name, target, replace=replace)


def backend_names() -> list[str]:
    """Names of every registered backend (built-in, registered, entry points).

    Examples
    --------
    >>> "pointnet" in backend_names()
    True
    """
    _load_entry_points()
    return BACKENDS.names()


def get_backend(name: str) -> type[Backend]:
    """Return the backend class registered as ``name``, importing it on first use.

    Raises
    ------
    UnknownModelError
        ``name`` is not registered (the message lists the known backends).
    BackendNotAvailableError
        The backend's module (or the simulator it imports) is not installed.

    Examples
    --------
    >>> get_backend("numpynet").name
    'numpynet'
    """
    from bmtoolkit.simulator.core.base import Backend

    if name not in BACKENDS:  # entry points never replace a registered name
        _load_entry_points()
    target = BACKENDS.get(name)
    if isinstance(target, type):
        return target
    module_name, _, attr = str(target).partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise BackendNotAvailableError(
            f"backend {name!r} cannot be imported from {module_name!r}: {err}"
        ) from err
    if attr:
        cls = getattr(module, attr, None)
    else:
        cls = next(
            (
                obj
                for obj in vars(module).values()
                if inspect.isclass(obj)
                and issubclass(obj, Backend)
                and obj is not Backend
                and getattr(obj, "name", "") == name
            ),
            None,
        )
    if cls is None or not (inspect.isclass(cls) and issubclass(cls, Backend)):
        raise BackendNotAvailableError(
            f"backend {name!r}: {target!r} does not define a Backend subclass named {name!r}"
        )
    BACKENDS.register(name, cls, replace=True)
    return cls


def synaptic_weight(func: F | None = None, *, name: str | None = None, replace: bool = True):
    """Register a vectorized synaptic weight function under its name (or ``name``).

    The function receives all edges of one edge type at once and returns their weights::

        fn(edges, source, target) -> np.ndarray  # shape (n_edges,)

    ``edges`` is a :class:`pandas.DataFrame` of edge properties (edge-type CSV merged with
    the H5 group; ``nsyns`` is always present, 1 when absent from the files); ``source`` and
    ``target`` are :class:`NodeColumns`: ``source["x"]`` gives the source node's ``x`` for each
    edge. The result is the final weight handed to the simulator (no further ``nsyns``
    multiplication).

    Examples
    --------
    >>> import numpy as np
    >>> @synaptic_weight
    ... def distance_scaled(edges, source, target):
    ...     return edges["syn_weight"].to_numpy() * np.exp(-np.abs(target["x"] - source["x"]))
    >>> WEIGHT_FUNCTIONS.get("distance_scaled") is distance_scaled
    True
    >>> WEIGHT_FUNCTIONS.unregister("distance_scaled")
    """

    def _add(fn: F) -> F:
        WEIGHT_FUNCTIONS.register(name or fn.__name__, fn, replace=replace)
        return fn

    if func is not None:
        return _add(func)
    return _add


class NodeColumns:
    """Per-edge view of node properties: ``view["x"]`` = property of each edge's node.

    Parameters
    ----------
    population : NodePopulation
        The source or target node population.
    node_ids : np.ndarray
        Node id of each edge (source or target ids).

    Examples
    --------
    >>> import numpy as np
    >>> class Pop:  # anything with column(name, ids)
    ...     def column(self, name, ids=None):
    ...         return np.array([10.0, 20.0, 30.0])[ids]
    >>> NodeColumns(Pop(), np.array([2, 0, 2]))["x"]
    array([30., 10., 30.])
    """

    def __init__(self, population: NodePopulation, node_ids: np.ndarray) -> None:
        self.population = population
        self.node_ids = np.asarray(node_ids, dtype=np.int64)
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name == "node_id":
            return self.node_ids
        if name not in self._cache:
            uniq, inverse = np.unique(self.node_ids, return_inverse=True)
            values = np.asarray(self.population.column(name, uniq))
            self._cache[name] = values[inverse]
        return self._cache[name]

    def __len__(self) -> int:
        return len(self.node_ids)


def _default_weight(edges: pd.DataFrame, source: NodeColumns, target: NodeColumns) -> np.ndarray:
    """``syn_weight * nsyns`` for every edge (``nsyns`` 1 when absent)."""
    weight = np.asarray(edges["syn_weight"], dtype=float)
    if "nsyns" in edges:
        weight = weight * np.asarray(edges["nsyns"], dtype=float)
    return weight


#: BMTK's built-in names, all meaning ``syn_weight * nsyns``
DEFAULT_WEIGHT_NAMES: tuple[str, ...] = ("default_weight_fnc", "set_syn_weight", "wmax")
for _wname in DEFAULT_WEIGHT_NAMES:
    WEIGHT_FUNCTIONS.register(_wname, _default_weight)


def get_weight_function(name: str | None, *, edge_type: Any = None, path: Any = None) -> Callable:
    """Weight function for an edge type; ``None``/NaN/empty means the default.

    Raises
    ------
    UnknownModelError
        Naming the edge type and the file, and listing the registered functions.

    Examples
    --------
    >>> import pandas as pd
    >>> get_weight_function("wmax")(pd.DataFrame({"syn_weight": [2.0], "nsyns": [3]}), None, None)
    array([6.])
    """
    if is_empty(name):
        return _default_weight
    try:
        return WEIGHT_FUNCTIONS.get(str(name))
    except UnknownModelError as err:
        where = f"edge type {edge_type}: " if edge_type is not None else ""
        raise UnknownModelError(
            f"{where}weight_function {name!r} is not registered; known: "
            f"{', '.join(WEIGHT_FUNCTIONS.names())}. Register it with "
            "@bmtoolkit.simulator.synaptic_weight",
            path=path,
            field="weight_function",
        ) from err
