"""Write circuit and simulation configs in the profile every SONATA reader accepts.

BMTK, libsonata and bluepysnap all parse what these writers produce: a manifest with one
``$BASE_DIR`` variable (``"."``, the config's folder) used at most once per string at its
start, a ``populations`` key on every network entry, an ``edges`` array even when empty,
``run.random_seed``, ``spikes_sort_order: "by_time"`` and reports with ``type``, ``dt``,
``start_time`` and ``end_time``. Files are written atomically.

Examples
--------
>>> import os, tempfile
>>> from bmtoolkit.sonata.config import load_simulation_config
>>> d = tempfile.mkdtemp()
>>> write_circuit_config(os.path.join(d, "circuit_config.json"), nodes=[])
>>> write_simulation_config(os.path.join(d, "simulation_config.json"),
...     network=os.path.join(d, "circuit_config.json"), run={"tstop": 10.0, "dt": 0.1})
>>> load_simulation_config(os.path.join(d, "simulation_config.json")).run.random_seed
0
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.sonata.config import (
    SORT_ORDER_ALIASES,
    EdgesFileSpec,
    InputConfig,
    NodesFileSpec,
    OutputConfig,
    ReportConfig,
    RunConfig,
)

__all__ = ["write_circuit_config", "write_simulation_config"]

PathLike = str | os.PathLike[str]
#: one ``nodes``/``edges`` entry given to :func:`write_circuit_config`
FileEntry = NodesFileSpec | EdgesFileSpec | Mapping[str, Any] | PathLike
#: ``populations.<name>.type`` written for a uniform ``model_type`` of a node population
_POPULATION_TYPES = {
    "biophysical": "biophysical",
    "virtual": "virtual",
    "point_process": "point_neuron",
    "point_neuron": "point_neuron",
    "single_compartment": "single_compartment",
}


def _portable(value: PathLike, folder: Path) -> str:
    """``$BASE_DIR/<relative>`` for a path under (or near) ``folder``, else the absolute path."""
    p = Path(os.path.abspath(value))
    try:
        rel = os.path.relpath(p, folder)
    except ValueError:  # another drive
        return str(p)
    if rel.startswith(".."):
        return str(p)
    return "$BASE_DIR" if rel == "." else f"$BASE_DIR/{Path(rel).as_posix()}"


def _spec_dict(spec: FileEntry, kind: str) -> dict[str, Any]:
    if isinstance(spec, NodesFileSpec | EdgesFileSpec):
        files = (
            (spec.nodes_file, spec.node_types_file)
            if isinstance(spec, NodesFileSpec)
            else (spec.edges_file, spec.edge_types_file)
        )
        return {
            f"{kind}_file": files[0],
            f"{kind[:-1]}_types_file": files[1],
            "populations": dict(spec.populations),
        }
    if isinstance(spec, Mapping):
        return dict(spec)
    return {f"{kind}_file": spec}


def _discover_populations(entry: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """Population names (and node types) of a file for the ``populations`` key."""
    types_key = f"{kind[:-1]}_types_file"
    if kind == "nodes":
        from bmtoolkit.sonata.nodes import read_nodes

        out = {}
        for name, pop in read_nodes(entry["nodes_file"], entry.get(types_key)).items():
            kinds = set()
            if "model_type" in pop.property_names:
                kinds = {str(v) for v in pop.types["model_type"].dropna().unique()}
            found = {_POPULATION_TYPES.get(k, "biophysical") for k in kinds}
            out[name] = {"type": found.pop() if len(found) == 1 else "biophysical"}
        return out
    from bmtoolkit.sonata.edges import read_edges

    return {name: {"type": "chemical"} for name in read_edges(entry["edges_file"])}


def _write_json(path: Path, doc: Mapping[str, Any]) -> None:
    from bmtoolkit.sonata._h5 import atomic_text

    with atomic_text(path) as fh:
        json.dump(doc, fh, indent=2)
        fh.write("\n")


def write_circuit_config(
    path: PathLike,
    *,
    nodes: Sequence[FileEntry],
    edges: Sequence[FileEntry] = (),
    components: Mapping[str, PathLike] | None = None,
    node_sets_file: PathLike | None = None,
    target_simulator: str | None = None,
) -> None:
    """Write a circuit config that BMTK, libsonata and bluepysnap all read.

    Paths under the config's folder are written as ``$BASE_DIR/...`` with the manifest
    ``{"$BASE_DIR": "."}``, others as absolute paths; every entry gets a ``populations`` key
    (looked up in the files when not given) and ``edges`` is always present.

    Parameters
    ----------
    path : path-like
        The JSON file to write (atomically).
    nodes, edges : sequence
        :class:`NodesFileSpec` / :class:`EdgesFileSpec`, mappings with the config keys
        (``nodes_file``, ``node_types_file``, ``populations``), or plain H5 paths.
    components : mapping, optional
        ``{"point_neuron_models_dir": ..., ...}``.
    node_sets_file : path-like, optional
    target_simulator : str, optional
        Written as given; libsonata accepts only NEURON, CORENEURON, LearningEngine, Brian2
        and unspecified.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> write_circuit_config(os.path.join(d, "circuit_config.json"),
    ...     nodes=[{"nodes_file": os.path.join(d, "v1.h5"), "populations": {"v1": {}}}])
    >>> from bmtoolkit.sonata.config import load_circuit_config
    >>> load_circuit_config(os.path.join(d, "circuit_config.json")).edges
    ()
    """
    dest = Path(path).absolute()
    folder = dest.parent
    networks: dict[str, list[dict[str, Any]]] = {"nodes": [], "edges": []}
    for kind, specs in (("nodes", nodes), ("edges", edges)):
        for spec in specs:
            entry = {k: v for k, v in _spec_dict(spec, kind).items() if v is not None}
            if not entry.get("populations"):
                entry["populations"] = _discover_populations(entry, kind)
            for key in (f"{kind}_file", f"{kind[:-1]}_types_file"):
                if key in entry:
                    entry[key] = _portable(entry[key], folder)
            entry["populations"] = {n: dict(v or {}) for n, v in entry["populations"].items()}
            networks[kind].append(entry)
    doc: dict[str, Any] = {"manifest": {"$BASE_DIR": "."}}
    if target_simulator is not None:
        doc["target_simulator"] = target_simulator
    doc["components"] = {k: _portable(v, folder) for k, v in (components or {}).items()}
    if node_sets_file is not None:
        doc["node_sets_file"] = _portable(node_sets_file, folder)
    doc["networks"] = networks
    _write_json(dest, doc)


def _as_dict(obj: Any, kind: str) -> dict[str, Any]:
    if obj is None:
        return {}
    if isinstance(obj, RunConfig):
        d = {
            "tstart": obj.tstart,
            "tstop": obj.tstop,
            "dt": obj.dt,
            "random_seed": obj.random_seed,
            "dL": obj.dL,
            "spike_threshold": obj.spike_threshold,
            "nsteps_block": obj.nsteps_block,
            **dict(obj.extra),
        }
        return {k: v for k, v in d.items() if v is not None}
    if isinstance(obj, OutputConfig):
        d = {
            "output_dir": obj.output_dir,
            "spikes_file": obj.spikes_file,
            "log_file": obj.log_file,
            "spikes_sort_order": obj.spikes_sort_order,
            "overwrite_output_dir": obj.overwrite_output_dir,
            **dict(obj.extra),
        }
        return {k: v for k, v in d.items() if v is not None}
    if isinstance(obj, Mapping):
        return dict(obj)
    raise ConfigError(
        f"expected a mapping or a {kind} dataclass, got {type(obj).__name__}", field=kind
    )


def _input_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, InputConfig):
        d = {"input_type": obj.input_type, "module": obj.module, "node_set": obj.node_set}
        d = {k: v for k, v in d.items() if v is not None}
        return {**d, **dict(obj.params)}
    return _as_dict(obj, "inputs")


def _report_dict(obj: Any, run: Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(obj, ReportConfig):
        d = {
            "cells": obj.cells,
            "variable_name": obj.variable_name,
            "module": obj.module,
            "type": obj.type,
            "sections": obj.sections,
            "dt": obj.dt,
            "start_time": obj.start_time,
            "end_time": obj.end_time,
            "file_name": obj.file_name.name,
            **dict(obj.params),
        }
        d = {k: v for k, v in d.items() if v is not None}
    else:
        d = _as_dict(obj, "reports")
    d.setdefault("type", "compartment")
    d.setdefault("dt", run.get("dt"))
    d.setdefault("start_time", run.get("tstart", 0.0))
    d.setdefault("end_time", run.get("tstop"))
    return d


def write_simulation_config(
    path: PathLike,
    *,
    network: PathLike,
    run: RunConfig | Mapping[str, Any],
    output: OutputConfig | Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    reports: Mapping[str, Any] | None = None,
    conditions: Mapping[str, Any] | None = None,
    node_sets_file: PathLike | None = None,
    node_set: Any = None,
    target_simulator: str | None = None,
    components: Mapping[str, PathLike] | None = None,
) -> None:
    """Write a simulation config that libsonata and BMTK both parse.

    ``run.random_seed`` is always written (0 when not given), ``spikes_sort_order`` defaults
    to ``by_time`` (BMTK spellings are translated), each report carries ``type`` (default
    ``compartment``), ``dt``, ``start_time`` and ``end_time`` (defaults from ``run``), and
    ``spikes_file``/``log_file`` are written relative to ``output_dir``.

    Parameters
    ----------
    path : path-like
        The JSON file to write (atomically).
    network : path-like
        The circuit config.
    run, output : dataclass or mapping
        ``run`` needs ``tstop`` and ``dt``; ``output`` defaults to ``output/`` beside the
        config with ``spikes.h5``.
    inputs, reports : mapping, optional
        ``{name: InputConfig | dict}``, ``{name: ReportConfig | dict}``.
    conditions, node_sets_file, node_set, target_simulator, components : optional
        Written when given.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> write_simulation_config(os.path.join(d, "simulation_config.json"),
    ...     network=os.path.join(d, "circuit_config.json"), run={"tstop": 100.0, "dt": 0.1})
    >>> from bmtoolkit.sonata.schemas import read_json
    >>> cfg = read_json(os.path.join(d, "simulation_config.json"))
    >>> cfg["run"]["random_seed"], cfg["output"]["spikes_sort_order"]
    (0, 'by_time')
    """
    dest = Path(path).absolute()
    folder = dest.parent
    run_d = _as_dict(run, "run")
    for key in ("tstop", "dt"):
        if key not in run_d:
            raise ConfigError("required when writing a simulation config", field=f"run.{key}")
    run_d.setdefault("tstart", 0.0)
    run_d.setdefault("random_seed", 0)
    out_d = _as_dict(output, "output")
    out_dir = Path(out_d.get("output_dir") or folder / "output").absolute()
    out_d["output_dir"] = _portable(out_dir, folder)
    for key in ("spikes_file", "log_file"):
        value = out_d.get(key, "spikes.h5" if key == "spikes_file" else None)
        if value is None:
            continue
        p = Path(value)
        p = p if p.is_absolute() else out_dir / p
        rel = os.path.relpath(p, out_dir)
        out_d[key] = Path(rel).as_posix() if not rel.startswith("..") else str(p)
    order = str(out_d.get("spikes_sort_order", "by_time"))
    if order not in SORT_ORDER_ALIASES:
        raise ConfigError(
            f"unknown value {order!r}; expected by_time, by_id or none",
            field="output.spikes_sort_order",
        )
    out_d["spikes_sort_order"] = SORT_ORDER_ALIASES[order]
    doc: dict[str, Any] = {"manifest": {"$BASE_DIR": "."}}
    if target_simulator is not None:
        doc["target_simulator"] = target_simulator
    doc["network"] = _portable(network, folder)
    if components:
        doc["components"] = {k: _portable(v, folder) for k, v in components.items()}
    if node_sets_file is not None:
        doc["node_sets_file"] = _portable(node_sets_file, folder)
    if node_set is not None:
        doc["node_set"] = node_set
    doc["run"] = run_d
    if conditions:
        doc["conditions"] = dict(conditions)
    doc["output"] = out_d
    if inputs:
        doc["inputs"] = {name: _input_dict(v) for name, v in inputs.items()}
    if reports:
        doc["reports"] = {name: _report_dict(v, run_d) for name, v in reports.items()}
    _write_json(dest, _jsonable(doc, folder))


def _jsonable(doc: Any, folder: Path) -> Any:
    if isinstance(doc, Mapping):
        return {str(k): _jsonable(v, folder) for k, v in doc.items()}
    if isinstance(doc, list | tuple):
        return [_jsonable(v, folder) for v in doc]
    if isinstance(doc, os.PathLike):
        return _portable(doc, folder)
    if hasattr(doc, "item") and callable(doc.item):  # numpy scalars
        return doc.item()
    return doc
