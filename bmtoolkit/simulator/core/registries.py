"""Registries shared by every backend: backends, inputs, reports, models, weight functions.

Every extension point of the simulator is a :class:`~bmtoolkit.registry.Registry`: a name
maps to an object, and an unknown name raises
:class:`~bmtoolkit.exceptions.UnknownModelError` listing the known ones.

- :data:`BACKENDS`: backend name -> :class:`~bmtoolkit.simulator.core.base.Backend` subclass.
  Backends are registered *by import path* from their declarations
  (:mod:`~bmtoolkit.simulator.core.spec`: each backend folder's ``spec.py``, and the
  ``bmtoolkit.backends`` entry-point group for other packages) and imported only when asked
  for, so ``import bmtoolkit`` needs no simulator.
- :data:`INPUT_MODULES`: config ``module``/``input_type`` -> loader turning an
  :class:`~bmtoolkit.sonata.config.InputConfig` into a typed input
  (see :mod:`bmtoolkit.simulator.core.inputs`).
- :data:`REPORT_MODULES`: report ``module`` -> loader turning a report config into a typed
  report (see :mod:`bmtoolkit.simulator.core.reports`).
- :data:`UNSUPPORTED_INPUTS`, :data:`UNSUPPORTED_REPORTS`: BMTK module names bmtoolkit knowingly
  does not run, with the reason; asking for one raises
  :class:`~bmtoolkit.exceptions.UnsupportedFeatureError` (one line naming the module), see
  :func:`unsupported_module`.
- :data:`SPIKES_GENERATORS`: ``spikes_function`` name of a ``module: "function"`` spike input ->
  ``fn(node, sim) -> spike times (ms)`` (see :func:`spikes_generator`).
- :data:`CELL_MODELS`: ``"<backend>:<name>"`` -> backend-specific loader (``"<backend>:nest"``,
  ``"<backend>:ctdb"`` ...). The backend prefix keeps backends from colliding on the same
  template prefix.
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

from bmtoolkit.exceptions import (
    BackendNotAvailableError,
    UnknownModelError,
    UnsupportedFeatureError,
)
from bmtoolkit.registry import Registry
from bmtoolkit.simulator.core.catalogue import is_empty

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from bmtoolkit.simulator.core.base import Backend
    from bmtoolkit.sonata.nodes import NodePopulation

F = TypeVar("F", bound=Callable[..., Any])

#: entry-point group third-party backends use (see :mod:`~bmtoolkit.simulator.core.spec`)
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
#: ``spikes_function`` name -> ``fn(node, sim) -> spike times (ms)``
SPIKES_GENERATORS: _ScopedRegistry = _ScopedRegistry("spikes generator")

#: page of the documentation listing what is not supported
UNSUPPORTED_DOC = "docs/differences_from_bmtk.md#not-supported"

#: BMTK input modules (``module`` of an ``inputs`` entry) bmtoolkit does not run -> why
UNSUPPORTED_INPUTS: dict[str, str] = {}
#: BMTK report modules (``module`` of a ``reports`` entry) bmtoolkit does not write -> why
UNSUPPORTED_REPORTS: dict[str, str] = {}


def unsupported_module(
    kind: str, module: Any, *, path: Any = None, field: str | None = None
) -> UnsupportedFeatureError | None:
    """The error for an input (``kind="input"``) or report module documented as not
    supported, or ``None`` when ``module`` is not one of them.

    Examples
    --------
    >>> UNSUPPORTED_INPUTS["teleport"] = "not built"
    >>> unsupported_module("input", "teleport").message.split(" (see")[0]
    "input module 'teleport' is not supported: not built"
    >>> del UNSUPPORTED_INPUTS["teleport"]
    >>> unsupported_module("input", "sonata") is None
    True
    """
    table = UNSUPPORTED_INPUTS if kind == "input" else UNSUPPORTED_REPORTS
    if not isinstance(module, str) or module not in table:
        return None
    return UnsupportedFeatureError(
        f"{kind} module {module!r} is not supported: {table[module]} (see {UNSUPPORTED_DOC})",
        path=path,
        field=field,
    )


def spikes_generator(func: F | None = None, *, name: str | None = None, replace: bool = True):
    """Register a spike-train function for ``module: "function"`` inputs (BMTK's
    ``@spikes_generator``).

    The function is called once per node of the input's node set as ``fn(node, sim)`` and
    returns that node's spike times in ms. ``node`` reads node properties (``node["x"]``,
    ``node.node_id``, ``node.population_name``); ``sim`` has ``tstart``, ``tstop`` and ``dt``.

    Examples
    --------
    >>> import numpy as np
    >>> @spikes_generator
    ... def regular_10hz(node, sim):
    ...     return np.arange(sim.tstart, sim.tstop, 100.0)
    >>> SPIKES_GENERATORS.get("regular_10hz") is regular_10hz
    True
    >>> SPIKES_GENERATORS.unregister("regular_10hz")
    """

    def _add(fn: F) -> F:
        SPIKES_GENERATORS.register(name or fn.__name__, fn, replace=replace)
        return fn

    if func is not None:
        return _add(func)
    return _add


def add_spikes_generator(func: Callable, name: str | None = None, overwrite: bool = True) -> None:
    """Register ``func`` as a spike-train function (BMTK's ``add_spikes_generator``).

    Examples
    --------
    >>> add_spikes_generator(lambda node, sim: [10.0], name="one_spike")
    >>> "one_spike" in SPIKES_GENERATORS
    True
    >>> SPIKES_GENERATORS.unregister("one_spike")
    """
    if overwrite or (name or func.__name__) not in SPIKES_GENERATORS:
        SPIKES_GENERATORS.register(name or func.__name__, func, replace=True)


#: ``"<backend>:<template prefix or model>"`` -> backend-specific cell-model loader
CELL_MODELS: Registry = _ScopedRegistry("cell model")
#: ``"<backend>:<model_template>"`` -> a user's BMTK-style synapse model function
#: (registered by :mod:`~bmtoolkit.simulator.core.pyfunctions`)
SYNAPSE_MODELS: Registry = _ScopedRegistry("synapse model")
#: weight-function name -> ``fn(edges, source, target) -> np.ndarray``
WEIGHT_FUNCTIONS: _ScopedRegistry = _ScopedRegistry("weight function")


def _load_entry_points() -> None:
    """Register every declared backend (built-in folders and entry points) by import path."""
    from bmtoolkit.simulator.core.spec import specs

    for name, spec in specs().items():
        if name not in BACKENDS:
            BACKENDS.register(name, spec.backend)


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
    >>> backend_names() == sorted(backend_names())
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
    >>> from bmtoolkit.simulator.core.spec import specs
    >>> name = next(n for n, s in specs().items() if s.requires == ("numpy",))
    >>> get_backend(name).name == name
    True
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


def synaptic_weight(
    func: F | None = None,
    *,
    name: str | None = None,
    replace: bool = True,
    per_edge: bool | None = None,
):
    """Register a synaptic weight function under its name (or ``name``).

    A vectorized function receives all edges of one edge type at once and returns their
    weights::

        fn(edges, source, target) -> np.ndarray  # shape (n_edges,)

    ``edges`` is a :class:`pandas.DataFrame` of every edge column (H5 group columns,
    edge-type CSV columns such as ``weight_sigma``, ``source_node_id``, ``target_node_id``,
    ``edge_type_id``; ``nsyns`` is always present, 1 when absent from the files); ``source``
    and ``target`` are :class:`NodeColumns`: ``source["x"]`` is a :class:`pandas.Series` of
    the source node's ``x`` for each edge (so BMTK functions calling ``.values`` work). The
    result is the final weight handed to the simulator (no further ``nsyns`` multiplication).

    A per-edge function ``fn(edge_props, src_node, trg_node)`` (BMTK's NEURON convention,
    told apart by its parameter names or ``per_edge=True``) is called once per edge and
    returns one synapse's weight; see
    :class:`~bmtoolkit.simulator.core.weight_functions.PerEdgeWeight`.

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
        add_weight_function(fn, name, overwrite=replace, per_edge=per_edge)
        return fn

    if func is not None:
        return _add(func)
    return _add


def add_weight_function(
    func: Callable[..., Any],
    name: str | None = None,
    overwrite: bool = True,
    *,
    per_edge: bool | None = None,
) -> None:
    """Register ``func`` as weight function ``name`` (default its ``__name__``), as BMTK's
    ``add_weight_function(func, name=None, overwrite=True)``.

    ``per_edge`` (default: told by the parameter names, see
    :func:`~bmtoolkit.simulator.core.weight_functions.is_per_edge`) marks a function called
    once per edge, ``fn(edge_props, src_node, trg_node)``. With ``overwrite=False`` an existing
    registration is kept.

    Examples
    --------
    >>> add_weight_function(lambda edge_props, src, trg: edge_props["syn_weight"], "one_by_one")
    >>> WEIGHT_FUNCTIONS.get("one_by_one")
    PerEdgeWeight(<lambda>)
    >>> WEIGHT_FUNCTIONS.unregister("one_by_one")
    """
    from bmtoolkit.simulator.core.weight_functions import PerEdgeWeight, is_per_edge

    if not callable(func):
        raise TypeError(f"weight function {name!r} must be callable, got {func!r}")
    key = name or func.__name__
    if not overwrite and key in WEIGHT_FUNCTIONS:
        return
    flag = is_per_edge(func) if per_edge is None else per_edge
    entry = PerEdgeWeight(func) if flag and not isinstance(func, PerEdgeWeight) else func
    WEIGHT_FUNCTIONS.register(key, entry, replace=True)


class NodeColumns:
    """Per-edge view of node properties: ``view["x"]`` = property of each edge's node.

    Columns are :class:`pandas.Series` with one row per edge (a default 0..n-1 index, so
    arithmetic between source, target and edge columns lines up by position).

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
    >>> NodeColumns(Pop(), np.array([2, 0, 2]))["x"].values
    array([30., 10., 30.])
    """

    def __init__(self, population: NodePopulation, node_ids: np.ndarray) -> None:
        self.population = population
        self.node_ids = np.asarray(node_ids, dtype=np.int64)
        self._cache: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        import pandas as pd

        if name not in self._cache:
            if name == "node_id":
                values = self.node_ids
            else:
                uniq, inverse = np.unique(self.node_ids, return_inverse=True)
                values = np.asarray(self.population.column(name, uniq))[inverse]
            self._cache[name] = pd.Series(values, name=name)
        return self._cache[name]

    def __contains__(self, name: object) -> bool:
        return name == "node_id" or name in self.columns

    @property
    def columns(self) -> list[str]:
        """Names of the node properties (``node_id`` first)."""
        names = getattr(self.population, "property_names", None)
        return ["node_id", *(n for n in (names or ()) if n != "node_id")]

    def to_dataframe(self, columns: Any = None) -> Any:
        """The view as a :class:`pandas.DataFrame` (one row per edge)."""
        import pandas as pd

        return pd.DataFrame({c: self[c].to_numpy() for c in (columns or self.columns)})

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


def _register_builtin_weights() -> None:
    """``gaussianLL`` and the V1 model's names (:mod:`.weight_functions`)."""
    from bmtoolkit.simulator.core.weight_functions import BUILTIN

    for key, fn in BUILTIN.items():
        WEIGHT_FUNCTIONS.register(key, fn, replace=True)


_register_builtin_weights()


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
