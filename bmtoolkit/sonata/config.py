"""Circuit and simulation configs: load them into frozen dataclasses, write the portable profile.

Loading
    :func:`load_config` sniffs the kind of a JSON file: a circuit config (``networks``), a
    simulation config (``run``) or BMTK's wrapper ``{"network": ..., "simulation": ...}``,
    whose two children are parsed separately (each with its own manifest) and merged.
    Manifest variables (``$VAR``, ``${VAR}``, nested) are expanded in every string value, and
    relative paths are resolved against the folder of the file that names them (the spec
    and libsonata rule); ``cwd_relative=True`` resolves them against the working directory
    instead, as BMTK does. ``output.spikes_file``/``log_file`` and report ``file_name`` that
    are relative are joined onto ``output.output_dir``. Each file is checked against the
    JSON schemas shipped in ``bmtoolkit/sonata/schemas`` unless ``validate=False``.

Writing
    :func:`write_circuit_config` and :func:`write_simulation_config` (in
    :mod:`bmtoolkit.sonata.config_writer`) write the profile that BMTK, libsonata and
    bluepysnap all read.

Examples
--------
>>> import json, os, tempfile
>>> d = tempfile.mkdtemp()
>>> with open(os.path.join(d, "sim.json"), "w") as fh:
...     json.dump({"manifest": {"$OUT": "./out"}, "run": {"tstop": 100.0, "dt": 0.1},
...                "output": {"output_dir": "$OUT", "spikes_sort_order": "time"}}, fh)
>>> cfg = load_config(os.path.join(d, "sim.json"))
>>> cfg.run.tstop, cfg.output.spikes_sort_order, cfg.output.spikes_file.name
(100.0, 'by_time', 'spikes.h5')
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bmtoolkit.exceptions import ConfigError, ValidationError
from bmtoolkit.sonata.manifest import absolute_path, expand_config
from bmtoolkit.sonata.schemas import read_json, schema_problems

__all__ = [
    "CircuitConfig",
    "EdgesFileSpec",
    "InputConfig",
    "NodesFileSpec",
    "OutputConfig",
    "ReportConfig",
    "RunConfig",
    "SimulationConfig",
    "config_kind",
    "load_circuit_config",
    "load_config",
    "load_simulation_config",
    "read_json",
    "schema_problems",
    # write_circuit_config, write_simulation_config: see __getattr__ below
]

PathLike = str | os.PathLike[str]

#: BMTK and older spellings of ``output.spikes_sort_order`` -> SONATA values
SORT_ORDER_ALIASES: dict[str, str] = {
    "by_time": "by_time",
    "time": "by_time",
    "by_id": "by_id",
    "id": "by_id",
    "gid": "by_id",
    "by_gid": "by_id",
    "node_id": "by_id",
    "by_node_id": "by_id",
    "none": "none",
    "unsorted": "none",
}

#: keys of a report entry that have a field of their own in ReportConfig
_REPORT_KEYS = (
    "module",
    "type",
    "cells",
    "variable_name",
    "sections",
    "dt",
    "start_time",
    "end_time",
    "file_name",
    "enabled",
)


def config_kind(document: Mapping[str, Any]) -> str:
    """Return ``"wrapper"``, ``"simulation"`` or ``"circuit"`` for a raw config document.

    Examples
    --------
    >>> config_kind({"network": "c.json", "simulation": "s.json"})
    'wrapper'
    >>> config_kind({"networks": {"nodes": []}})
    'circuit'
    """
    if isinstance(document.get("simulation"), str) or (
        isinstance(document.get("network"), str)
        and "run" not in document
        and "networks" not in document
    ):
        return "wrapper"
    if "run" in document:
        return "simulation"
    if "networks" in document:
        return "circuit"
    raise ConfigError(
        "cannot tell the kind of config: expected 'networks' (circuit config), 'run' "
        "(simulation config) or 'network'/'simulation' (a config naming both)"
    )


# --------------------------------------------------------------------------------------------
# dataclasses
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodesFileSpec:
    """One ``networks.nodes`` entry: an H5 file, its types CSV and optional population info.

    Examples
    --------
    >>> NodesFileSpec(Path("n.h5"), None, {"v1": {"type": "biophysical"}}).nodes_file.name
    'n.h5'
    """

    nodes_file: Path
    node_types_file: Path | None = None
    populations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class EdgesFileSpec:
    """One ``networks.edges`` entry: an H5 file, its types CSV and optional population info."""

    edges_file: Path
    edge_types_file: Path | None = None
    populations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class CircuitConfig:
    """A parsed circuit config; every path is absolute.

    Examples
    --------
    >>> cfg = CircuitConfig(None, {}, (NodesFileSpec(Path("/n.h5")),), (), None, {})
    >>> [spec.nodes_file.name for spec in cfg.nodes]
    ['n.h5']
    """

    path: Path | None
    components: Mapping[str, Any]
    nodes: tuple[NodesFileSpec, ...]
    edges: tuple[EdgesFileSpec, ...]
    node_sets_file: Path | None
    raw: Mapping[str, Any]


#: ``run`` keys that give the number of threads, the first present wins
THREAD_KEYS = ("nthreads", "local_num_threads", "n_thread")


@dataclass(frozen=True)
class RunConfig:
    """The ``run`` section (times in ms).

    Examples
    --------
    >>> RunConfig(tstop=1000.0, dt=0.1).n_steps
    10000
    """

    tstop: float
    dt: float
    tstart: float = 0.0
    random_seed: int | None = None
    dL: float | None = None
    spike_threshold: float | None = None
    nsteps_block: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """``tstop - tstart`` in ms."""
        return self.tstop - self.tstart

    @property
    def n_steps(self) -> int:
        """Number of integration steps from ``tstart`` to ``tstop``."""
        return int(round(self.duration / self.dt))

    @property
    def threads(self) -> Any:
        """The thread count the config asks for: ``nthreads``, ``local_num_threads`` or
        BMTK's ``n_thread`` (in that order; kept in :attr:`extra`), else ``None``.

        Examples
        --------
        >>> RunConfig(tstop=10.0, dt=0.1, extra={"n_thread": 4}).threads
        4
        """
        for key in THREAD_KEYS:
            if key in self.extra:
                return self.extra[key]
        return None


@dataclass(frozen=True)
class OutputConfig:
    """The ``output`` section; file paths already joined onto ``output_dir``.

    Examples
    --------
    >>> out = OutputConfig(Path("/o"), Path("/o/spikes.h5"))
    >>> out.spikes_sort_order
    'by_time'
    """

    output_dir: Path
    spikes_file: Path
    log_file: Path | None = None
    spikes_sort_order: str = "by_time"
    overwrite_output_dir: bool = True
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InputConfig:
    """One entry of ``inputs``; ``params`` holds every other key (paths resolved).

    Examples
    --------
    >>> InputConfig("clamp", "current_clamp", "IClamp", "all", {"amp": 0.1}).params["amp"]
    0.1
    """

    name: str
    input_type: str | None
    module: str | None
    node_set: Any
    params: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True


@dataclass(frozen=True)
class ReportConfig:
    """One entry of ``reports`` with BBP defaults filled in (dt, start/end time, file name).

    ``module`` is BMTK's report kind (``membrane_report``, ``extracellular``, ...), ``type``
    the spec/BBP one (``compartment``, ``summation``, ``synapse``, ``lfp``); either may be
    None. ``cells`` is the node set (name, inline rule or id list).

    Examples
    --------
    >>> r = ReportConfig("v", "membrane_report", None, "all", "v", "soma", 0.1, 0.0, 100.0,
    ...                  Path("/o/v.h5"))
    >>> r.node_set
    'all'
    """

    name: str
    module: str | None
    type: str | None
    cells: Any
    variable_name: str | tuple[str, ...] | None
    sections: Any
    dt: float
    start_time: float
    end_time: float
    file_name: Path
    enabled: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    #: keys the config itself sets (the others hold defaults), e.g. whether ``dt`` was given
    given: frozenset[str] = field(default=frozenset(), compare=False)

    @property
    def node_set(self) -> Any:
        """Alias of :attr:`cells`."""
        return self.cells


@dataclass(frozen=True)
class SimulationConfig:
    """A parsed simulation config with its circuit; every path is absolute.

    ``components`` merges the circuit's and the simulation's (simulation wins);
    ``node_sets_file`` is the simulation's, else the circuit's; ``node_sets`` holds node sets
    written inline in the config (BMTK allows that), else None.
    """

    path: Path | None
    run: RunConfig
    conditions: Mapping[str, Any]
    circuit: CircuitConfig
    inputs: Mapping[str, InputConfig]
    reports: Mapping[str, ReportConfig]
    output: OutputConfig
    node_sets_file: Path | None
    node_set: Any
    target_simulator: str | None
    components: Mapping[str, Any]
    raw: Mapping[str, Any]
    node_sets: Mapping[str, Any] | None = None


# --------------------------------------------------------------------------------------------
# loading
# --------------------------------------------------------------------------------------------
def _check(doc: Mapping[str, Any], kind: str, path: Path) -> None:
    problems = schema_problems(doc, kind)
    if kind == "simulation" and "networks" in doc:
        problems = sorted({*problems, *schema_problems(doc, "circuit")})
    if problems:
        raise ValidationError(problems, path=path)


def _opt_path(value: Any) -> Path | None:
    return Path(value) if isinstance(value, str) and value else None


def _parse_circuit(doc: Mapping[str, Any], path: Path | None) -> CircuitConfig:
    networks = doc.get("networks") or {}
    nodes = tuple(
        NodesFileSpec(
            Path(entry["nodes_file"]),
            _opt_path(entry.get("node_types_file")),
            dict(entry.get("populations") or {}),
        )
        for entry in networks.get("nodes") or ()
        if entry.get("enabled", True)
    )
    edges = tuple(
        EdgesFileSpec(
            Path(entry["edges_file"]),
            _opt_path(entry.get("edge_types_file")),
            dict(entry.get("populations") or {}),
        )
        for entry in networks.get("edges") or ()
        if entry.get("enabled", True)
    )
    return CircuitConfig(
        path=path,
        components=dict(doc.get("components") or {}),
        nodes=nodes,
        edges=edges,
        node_sets_file=_opt_path(doc.get("node_sets_file")),
        raw=doc,
    )


def _load_doc(path: PathLike, validate: bool, cwd_relative: bool, kind: str | None = None):
    """Read, check and resolve one file; returns (kind, resolved document, path)."""
    p = Path(path).absolute()
    doc = read_json(p)
    try:
        found = config_kind(doc)
    except ConfigError as err:
        raise ConfigError(err.message, path=p) from None
    if validate and found != "wrapper":
        _check(doc, found, p)
    if validate:
        from bmtoolkit.sonata.config_keys import warn_config_keys

        warn_config_keys(doc, p)
    resolved, _ = expand_config(doc, p, cwd_relative)
    return found if kind is None else kind, resolved, p


def _load_wrapper(
    resolved: Mapping[str, Any], p: Path, validate: bool, cwd_relative: bool
) -> tuple[tuple[Any, Path] | None, tuple[Any, Path] | None]:
    """Return (circuit document + path, simulation document + path) of a wrapper config."""
    for key in ("network", "simulation"):
        if key in resolved and not isinstance(resolved[key], str):
            raise ConfigError("expected the path of a config file", path=p, field=key)
    loaded: dict[str, tuple[Any, Path]] = {}
    for key, want, hint in (
        ("simulation", "simulation", "with 'run'"),
        ("network", "circuit", "with 'networks'"),
    ):
        if isinstance(resolved.get(key), str):
            kind, doc, child = _load_doc(resolved[key], validate, cwd_relative)
            if kind != want:
                raise ConfigError(
                    f"names a {kind} config, expected a {want} config ({hint})",
                    path=p,
                    field=key,
                )
            loaded[key] = (doc, child)
    return loaded.get("network"), loaded.get("simulation")


def load_circuit_config(
    path: PathLike, *, validate: bool = True, cwd_relative: bool = False
) -> CircuitConfig:
    """Load a circuit config (or the network named by a wrapper or simulation config).

    Parameters
    ----------
    path : path-like
        The JSON file.
    validate : bool
        Check every file against the shipped JSON schema first.
    cwd_relative : bool
        Resolve relative paths against the working directory (BMTK) instead of the config's
        folder (spec, libsonata).

    Raises
    ------
    MissingFileError, ConfigError, ValidationError

    Examples
    --------
    >>> import json, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> cfg_path = os.path.join(d, "circuit_config.json")
    >>> with open(cfg_path, "w") as fh:
    ...     json.dump({"manifest": {"$NET": "./net"},
    ...                "networks": {"nodes": [{"nodes_file": "${NET}/v1.h5"}]}}, fh)
    >>> cfg = load_circuit_config(cfg_path)
    >>> cfg.nodes[0].nodes_file == Path(d) / "net" / "v1.h5"
    True
    """
    kind, doc, p = _load_doc(path, validate, cwd_relative)
    if kind == "circuit":
        return _parse_circuit(doc, p)
    if kind == "wrapper":
        circuit, simulation = _load_wrapper(doc, p, validate, cwd_relative)
        if circuit is not None:
            return _parse_circuit(*circuit)
        if simulation is not None:
            return _circuit_of_simulation(*simulation, validate, cwd_relative)
        raise ConfigError("names no network", path=p)
    return _circuit_of_simulation(doc, p, validate, cwd_relative)


def _circuit_of_simulation(doc, p: Path, validate: bool, cwd_relative: bool) -> CircuitConfig:
    if "networks" in doc:
        return _parse_circuit(doc, p)
    network = doc.get("network")
    if network is None:
        default = p.parent / "circuit_config.json"
        if not default.exists():
            return CircuitConfig(None, {}, (), (), None, {})
        network = default
    return load_circuit_config(network, validate=validate, cwd_relative=cwd_relative)


def load_simulation_config(
    path: PathLike, *, validate: bool = True, cwd_relative: bool = False
) -> SimulationConfig:
    """Load a simulation config (or BMTK's wrapper) together with its circuit.

    The circuit comes from the wrapper's ``network``, else the simulation's ``network``,
    else ``networks`` in the same file, else ``circuit_config.json`` beside the file (the
    BBP default), else it is empty.

    Raises
    ------
    MissingFileError, ConfigError, ValidationError

    Examples
    --------
    >>> import json, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "simulation_config.json"), "w") as fh:
    ...     json.dump({"run": {"tstop": 50.0, "dt": 0.025, "random_seed": 3},
    ...                "reports": {"v": {"cells": "all", "variable_name": "v"}}}, fh)
    >>> sim = load_simulation_config(os.path.join(d, "simulation_config.json"))
    >>> sim.run.random_seed, sim.reports["v"].dt, sim.reports["v"].file_name.name
    (3, 0.025, 'v.h5')
    """
    kind, doc, p = _load_doc(path, validate, cwd_relative)
    if kind == "circuit":
        raise ConfigError("is a circuit config; a simulation config needs a 'run' section", path=p)
    if kind == "wrapper":
        circuit_doc, simulation = _load_wrapper(doc, p, validate, cwd_relative)
        if simulation is None:
            raise ConfigError("names no simulation config", path=p, field="simulation")
        sim_doc, sim_path = simulation
        circuit = (
            _parse_circuit(*circuit_doc)
            if circuit_doc is not None
            else _circuit_of_simulation(sim_doc, sim_path, validate, cwd_relative)
        )
        merged = {**dict(circuit.raw), **sim_doc}
        return _parse_simulation(merged, p, circuit)
    return _parse_simulation(doc, p, _circuit_of_simulation(doc, p, validate, cwd_relative))


def load_config(path: PathLike, *, validate: bool = True, cwd_relative: bool = False):
    """Load a circuit or a simulation config, whichever the file is.

    Returns
    -------
    SimulationConfig or CircuitConfig
        A wrapper naming a ``simulation`` gives a :class:`SimulationConfig`; one naming only a
        ``network`` gives a :class:`CircuitConfig`.

    Examples
    --------
    >>> import json, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "c.json"), "w") as fh:
    ...     json.dump({"networks": {"nodes": [], "edges": []}}, fh)
    >>> type(load_config(os.path.join(d, "c.json"))).__name__
    'CircuitConfig'
    """
    p = Path(path).absolute()
    doc = read_json(p)
    try:
        kind = config_kind(doc)
    except ConfigError as err:
        raise ConfigError(err.message, path=p) from None
    if kind == "circuit" or (kind == "wrapper" and not isinstance(doc.get("simulation"), str)):
        return load_circuit_config(p, validate=validate, cwd_relative=cwd_relative)
    return load_simulation_config(p, validate=validate, cwd_relative=cwd_relative)


def _names(value: Any) -> str | tuple[str, ...] | None:
    """A report's ``variable_name``: one name (kept as written) or a list of names."""
    return tuple(value) if isinstance(value, list) else value


def _float(section: Mapping[str, Any], key: str, default: Any, path: Path, where: str) -> Any:
    value = section.get(key, default)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        if value is None and default is None:
            return None
        raise ConfigError(f"expected a number, got {value!r}", path=path, field=f"{where}.{key}")
    if not math.isfinite(value):
        raise ConfigError(
            f"expected a finite number, got {value}", path=path, field=f"{where}.{key}"
        )
    return float(value)


def _parse_run(run: Mapping[str, Any], p: Path) -> RunConfig:
    if not isinstance(run, Mapping):
        raise ConfigError("expected an object", path=p, field="run")
    if "tstop" not in run:
        raise ConfigError("missing; the simulation end time in ms", path=p, field="run.tstop")
    known = ("tstop", "dt", "tstart", "random_seed", "dL", "spike_threshold", "nsteps_block")
    seed = run.get("random_seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ConfigError(f"expected an integer, got {seed!r}", path=p, field="run.random_seed")
    return RunConfig(
        tstop=_float(run, "tstop", None, p, "run"),
        dt=_float(run, "dt", 0.1, p, "run"),
        tstart=_float(run, "tstart", 0.0, p, "run"),
        random_seed=int(seed) if seed is not None else None,
        dL=_float(run, "dL", None, p, "run"),
        spike_threshold=_float(run, "spike_threshold", None, p, "run"),
        nsteps_block=int(run["nsteps_block"]) if run.get("nsteps_block") is not None else None,
        extra={k: v for k, v in run.items() if k not in known},
    )


def _parse_output(output: Mapping[str, Any], run: Mapping[str, Any], p: Path) -> OutputConfig:
    out_dir = Path(output.get("output_dir") or (p.parent / "output"))
    order = output.get("spikes_sort_order", "by_time")
    try:
        order = SORT_ORDER_ALIASES[str(order)]
    except KeyError:
        raise ConfigError(
            f"unknown value {order!r}; expected one of by_time, by_id, none (BMTK's 'time' and "
            "'gid' are accepted)",
            path=p,
            field="output.spikes_sort_order",
        ) from None
    overwrite = output.get("overwrite_output_dir", run.get("overwrite_output_dir", True))
    known = ("output_dir", "spikes_file", "log_file", "spikes_sort_order", "overwrite_output_dir")
    spikes = output.get("spikes_file") or str(out_dir / "spikes.h5")
    log = output.get("log_file")
    return OutputConfig(
        output_dir=out_dir,
        spikes_file=Path(spikes),
        log_file=Path(log) if isinstance(log, str) and log else None,
        spikes_sort_order=order,
        overwrite_output_dir=bool(overwrite),
        extra={k: v for k, v in output.items() if k not in known},
    )


def _parse_simulation(doc: Mapping[str, Any], p: Path, circuit: CircuitConfig) -> SimulationConfig:
    run = _parse_run(doc.get("run", {}), p)
    output = _parse_output(doc.get("output") or {}, doc.get("run") or {}, p)
    inputs = {}
    for name, entry in (doc.get("inputs") or {}).items():
        known: tuple[str, ...] = ("input_type", "module", "node_set", "enabled")
        inputs[name] = InputConfig(
            name=name,
            input_type=entry.get("input_type"),
            module=entry.get("module"),
            node_set=entry.get("node_set", doc.get("node_set", "all")),
            params={k: v for k, v in entry.items() if k not in known},
            enabled=bool(entry.get("enabled", True)),
        )
    reports = {}
    for name, entry in (doc.get("reports") or {}).items():
        known = _REPORT_KEYS
        where = f"reports.{name}"
        file_name = entry.get("file_name") or f"{name}.h5"
        if not Path(file_name).suffix:
            file_name = f"{file_name}.h5"
        reports[name] = ReportConfig(
            name=name,
            module=entry.get("module"),
            type=entry.get("type"),
            cells=entry.get("cells", doc.get("node_set", "all")),
            variable_name=_names(entry.get("variable_name")),
            sections=entry.get("sections", "soma"),
            dt=_float(entry, "dt", run.dt, p, where),
            start_time=_float(entry, "start_time", run.tstart, p, where),
            end_time=_float(entry, "end_time", run.tstop, p, where),
            file_name=absolute_path(file_name, output.output_dir),
            enabled=bool(entry.get("enabled", True)),
            params={k: v for k, v in entry.items() if k not in known},
            given=frozenset(entry),
        )
    node_sets_file = _opt_path(doc.get("node_sets_file")) or circuit.node_sets_file
    inline = doc.get("node_sets")
    return SimulationConfig(
        path=p,
        run=run,
        conditions=dict(doc.get("conditions") or {}),
        circuit=circuit,
        inputs=inputs,
        reports=reports,
        output=output,
        node_sets_file=node_sets_file,
        node_set=doc.get("node_set"),
        target_simulator=doc.get("target_simulator", circuit.raw.get("target_simulator")),
        components={**dict(circuit.components), **dict(doc.get("components") or {})},
        raw=doc,
        node_sets=dict(inline) if isinstance(inline, Mapping) else None,
    )


def __getattr__(name: str):
    # the writers live in bmtoolkit.sonata.config_writer, which imports this module
    if name in ("write_circuit_config", "write_simulation_config"):
        from bmtoolkit.sonata import config_writer

        return getattr(config_writer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
