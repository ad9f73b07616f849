"""Config validation: JSON schemas (applied on load) and ``bmtoolkit validate`` checks.

:func:`schema_problems` checks one raw config against the schemas shipped in
``bmtoolkit/sonata/schemas`` (they accept both the BMTK and the spec/BBP dialects).
:func:`validate_config` goes further and returns every :class:`Problem` of a config and the
network it names: schema errors with their JSON path, files and folders that do not exist,
``node_type_id``/``edge_type_id`` values missing from their types CSV, source/target ids
outside the named node populations, an edge index that disagrees with the edges,
``node_population`` attributes naming unknown populations, and node sets used by inputs and
reports that are not defined.

Examples
--------
>>> import json, os, tempfile
>>> d = tempfile.mkdtemp()
>>> p = os.path.join(d, "simulation_config.json")
>>> with open(p, "w") as fh:
...     json.dump({"run": {"tstop": "1000", "dt": 0.1}}, fh)
>>> [(pr.location, pr.message) for pr in validate_config(p)]
[('run.tstop', "'1000' is not of type 'number'")]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import BmtkError, ConfigError, MissingFileError, UnknownModelError
from bmtoolkit.sonata.components import folder_key
from bmtoolkit.sonata.config_keys import empty_node_set_message, key_problems
from bmtoolkit.sonata.index import index_disagreement
from bmtoolkit.sonata.nodes import NodePopulation
from bmtoolkit.sonata.schemas import read_json, schema_problems

if TYPE_CHECKING:
    from bmtoolkit.sonata.config import CircuitConfig
    from bmtoolkit.sonata.edges import EdgePopulation

__all__ = [
    "Problem",
    "index_disagreement",
    "network_problems",
    "read_json",
    "schema_problems",
    "validate_config",
]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Problem:
    """One problem found by :func:`validate_config`.

    Attributes
    ----------
    file : str
        The file concerned (a config, an H5 file, a CSV).
    location : str
        JSON path (``run.tstop``, ``networks.nodes[0].nodes_file``) or HDF5 path
        (``/edges/v1_to_v1/source_node_id``); empty for the whole file.
    message : str
        What is wrong and what was expected.
    kind : str
        ``json``, ``schema``, ``config``, ``missing_file``, ``format``, ``types``, ``ids``,
        ``index``, ``population``, ``node_set`` or ``config_key`` (unknown or unsupported keys).
    severity : str
        ``error`` or ``warning`` (warnings never make validation fail).

    Examples
    --------
    >>> str(Problem("c.json", "run.tstop", "'1' is not of type 'number'", "schema"))
    "c.json: run.tstop: '1' is not of type 'number'"
    """

    file: str
    location: str
    message: str
    kind: str = "config"
    severity: str = "error"

    def __str__(self) -> str:
        parts = [self.file, self.location, self.message]
        return ": ".join(p for p in parts if p)


# --------------------------------------------------------------------------------------------
# validate_config
# --------------------------------------------------------------------------------------------
#: component folders and when a network needs them (others are always needed)
_COMPONENT_NEEDS = {
    "morphologies_dir": "morphology",
    "mechanisms_dir": "biophysical",
    "biophysical_neuron_models_dir": "biophysical",
    "point_neuron_models_dir": "point_dynamics",
    "population_models_dir": "population_dynamics",
    "synaptic_models_dir": "edge_dynamics",
    "templates_dir": "hoc",
    "filter_models_dir": "filter_dynamics",
}
_MORPHOLOGY_SUFFIXES = ("", ".swc", ".asc", ".h5")

#: path keys of inputs and reports that name what a run writes, not what it reads (BMTK's
#: extracellular report ``contributions_dir``, per-report ``output_dir``)
OUTPUT_PATH_KEYS = frozenset({"contributions_dir", "output_dir", "tmp_dir"})


def _is_model_type(mtype: Any, n: int, name: str) -> np.ndarray:
    """Boolean mask of the nodes whose ``model_type`` is ``name`` (all False without one)."""
    if mtype is None:
        return np.zeros(n, bool)
    return np.asarray([str(t) == name for t in mtype], dtype=bool)


def validate_config(path: PathLike, *, include_warnings: bool = False) -> list[Problem]:
    """Every problem of a config, the configs it names and the network files.

    Checks, reporting all problems rather than stopping at the first:

    - each config file (and a wrapper's children, and the circuit config a simulation
      names) parses as JSON and conforms to the shipped schema;
    - manifest variables resolve and every file and folder the configs name exists
      (component folders the network does not use are only warnings), as do the
      ``dynamics_params`` and morphology files the network refers to;
    - every ``node_type_id``/``edge_type_id`` in the H5 files is in its types CSV;
    - edge ``node_population`` attributes name known node populations and source/target ids
      lie within those populations;
    - a stored edge index (any spelling) agrees with the edges;
    - node sets used by inputs and reports are defined and resolve.

    Parameters
    ----------
    path : path-like
        A circuit config, simulation config or BMTK wrapper ``config.json``.
    include_warnings : bool
        Also return problems of severity ``warning``.

    Returns
    -------
    list of Problem
        Empty when the config is clean.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "nothing.json")
    >>> [pr.kind for pr in validate_config(p)]
    ['missing_file']
    """
    checker = _Checker(Path(path).absolute())
    checker.run()
    return [p for p in checker.problems if include_warnings or p.severity == "error"]


def network_problems(
    node_pops: Mapping[str, Any], edge_pops: Mapping[str, Any], file: PathLike = ""
) -> list[Problem]:
    """What a run checks of an opened network: the part of :func:`validate_config` it shares.

    Type ids missing from their types CSV, edges whose ``node_population`` the circuit lacks
    and source/target ids outside their population (``file`` is named when a population
    attribute is missing). Used by :func:`bmtoolkit.simulator.core.preflight.preflight`.

    Examples
    --------
    >>> network_problems({}, {})
    []
    """
    checker = _Checker(Path(file))
    for pop in node_pops.values():
        checker._check_node_ids(pop)
    for pop in [*node_pops.values(), *edge_pops.values()]:
        checker._check_type_ids(pop)
    for pop in edge_pops.values():
        checker._check_edge_ids(pop, node_pops)
    return checker.problems


def _h5_location(pop: NodePopulation | EdgePopulation, dataset: str) -> str:
    return f"/{pop.kind}/{pop.name}/{dataset}"


def _unique_strings(values: np.ndarray) -> list[str]:
    out = set()
    for v in values.tolist():
        if isinstance(v, bytes):
            v = v.decode("utf-8")
        if isinstance(v, str) and v and v.upper() not in ("NULL", "NONE", "NAN"):
            out.add(v)
    return sorted(out)


class _Checker:
    """Collects the problems of one config (see :func:`validate_config`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.seen: set[Path] = set()
        self.sim_file: Path | None = None
        self.circuit_file: Path | None = None
        #: a nodes file could not be opened: checks needing every population are skipped
        self.incomplete_nodes = False

    def add(self, file: Any, location: str | None, message: str, kind: str, severity="error"):
        self.problems.append(Problem(str(file), location or "", message, kind, severity))

    def add_error(self, err: BmtkError, default_file: Path, kind: str) -> None:
        self.add(err.path or default_file, err.field, err.message, kind)

    # ------------------------------------------------------------------ config files
    def run(self) -> None:
        from bmtoolkit.sonata.config import load_config

        if not self._walk(self.path, None):
            return
        if any(p.kind in ("json", "config", "schema", "missing_file") for p in self.problems):
            return
        try:
            cfg = load_config(self.path, validate=False)
        except BmtkError as err:
            self.add_error(err, self.path, "config")
            return
        circuit = getattr(cfg, "circuit", cfg)
        pops = self._check_circuit(circuit)
        if circuit is not cfg:
            self._check_simulation(cfg, pops)

    def _walk(self, path: Path, location: str | None, parent: Path | None = None) -> bool:
        """Read and schema-check a config file and the config files it names."""
        from bmtoolkit.sonata.config import config_kind
        from bmtoolkit.sonata.manifest import expand_config

        path = Path(os.path.normpath(path))
        if path in self.seen:
            return True
        self.seen.add(path)
        try:
            doc = read_json(path)
        except MissingFileError:
            self.add(parent or path, location, f"file does not exist: {path}", "missing_file")
            return False
        except ConfigError as err:
            self.add_error(err, path, "json")
            return False
        try:
            kind = config_kind(doc)
        except ConfigError as err:
            self.add(path, "", err.message, "config")
            return False
        if kind != "wrapper":
            checks = [kind, "circuit"] if kind == "simulation" and "networks" in doc else [kind]
            for which in checks:
                for loc, msg in schema_problems(doc, which):
                    self.add(path, loc, msg, "schema")
        for loc, msg in key_problems(doc):  # misspelled and unsupported keys
            self.add(path, loc, msg, "config_key", "warning")
        try:
            resolved, _ = expand_config(doc, path, False)
        except ConfigError as err:
            self.add_error(err, path, "config")
            return False
        if kind == "circuit":
            self.circuit_file = self.circuit_file or path
        if kind == "simulation":
            self.sim_file = self.sim_file or path
            if "networks" in doc:
                self.circuit_file = self.circuit_file or path
        children: list[tuple[Any, str]] = []
        if kind == "wrapper":
            children = [(resolved[k], k) for k in ("simulation", "network") if k in resolved]
        elif kind == "simulation" and "networks" not in doc:
            if isinstance(resolved.get("network"), str):
                children = [(resolved["network"], "network")]
            elif (path.parent / "circuit_config.json").exists():
                children = [(path.parent / "circuit_config.json", "")]
        for child, key in children:
            if not isinstance(child, str | Path):
                self.add(path, key, "expected the path of a config file", "schema")
                continue
            self._walk(Path(child), key, path)
        return True

    # ------------------------------------------------------------------ the network
    def _exists(self, file: Path, location: str, value: Any, *, folder: bool = False) -> bool:
        if not isinstance(value, str | os.PathLike):
            return False
        p = Path(value)
        if p.is_dir() if folder else p.is_file():
            return True
        what = "folder" if folder else "file"
        found = "a file" if p.is_file() else "a folder" if p.is_dir() else "nothing"
        self.add(file, location, f"{what} does not exist: {p} (found {found})", "missing_file")
        return False

    def _check_circuit(self, circuit: CircuitConfig) -> dict[str, Any]:
        from bmtoolkit.sonata.builds import mixed_builds
        from bmtoolkit.sonata.edges import read_edges
        from bmtoolkit.sonata.nodes import read_nodes

        cfile = circuit.path or self.path
        networks = circuit.raw.get("networks") or {}
        if not networks.get("nodes"):
            self.add(cfile, "networks.nodes", "the circuit names no nodes files", "config")
        node_pops: dict[str, Any] = {}
        edge_pops: dict[str, Any] = {}
        consistent: set[str] = set()  # populations whose type ids are all in their CSV
        for kind, reader, store in (
            ("nodes", read_nodes, node_pops),
            ("edges", read_edges, edge_pops),
        ):
            singular = kind[:-1]
            for i, entry in enumerate(networks.get(kind) or ()):
                if not entry.get("enabled", True):
                    continue
                where = f"networks.{kind}[{i}]"
                h5 = entry.get(f"{kind}_file")
                csv = entry.get(f"{singular}_types_file")
                ok = self._exists(cfile, f"{where}.{kind}_file", h5)
                csv_ok = csv is None or self._exists(cfile, f"{where}.{singular}_types_file", csv)
                if not ok:
                    self.incomplete_nodes = self.incomplete_nodes or kind == "nodes"
                    continue
                try:
                    pops = reader(h5, csv if csv_ok else None)
                except BmtkError as err:
                    self.add_error(err, Path(h5), "format")
                    self.incomplete_nodes = self.incomplete_nodes or kind == "nodes"
                    continue
                for name in entry.get("populations") or {}:
                    if name not in pops:
                        self.add(
                            cfile,
                            f"{where}.populations.{name}",
                            f"no population {name!r} in {h5} (found {sorted(pops)})",
                            "population",
                        )
                for name, pop in pops.items():
                    if name in store:
                        self.add(
                            h5,
                            f"/{kind}/{name}",
                            f"population {name!r} is also defined in {store[name].h5_path}",
                            "population",
                        )
                        continue
                    store[name] = pop
                    if isinstance(pop, NodePopulation):
                        self._check_node_ids(pop)
                    if self._check_type_ids(pop):
                        consistent.add(name)
        for pop in edge_pops.values():
            self._check_edges(pop, node_pops)
        for file, location, message in mixed_builds(node_pops, edge_pops):
            self.add(file, location, message, "population")
        self._check_components(
            circuit,
            cfile,
            {k: v for k, v in node_pops.items() if k in consistent},
            {k: v for k, v in edge_pops.items() if k in consistent},
        )
        if circuit.node_sets_file is not None:
            self._exists(cfile, "node_sets_file", str(circuit.node_sets_file))
        return node_pops

    def _check_node_ids(self, pop: NodePopulation) -> None:
        """A stored ``node_id`` dataset must be the row numbers (ids are rows here and in BMTK)."""
        if "node_id" not in pop._has:
            return
        try:
            ids = pop._ids_dataset("node_id")
        except BmtkError as err:
            self.add_error(err, pop.h5_path, "format")
            return
        wrong = np.flatnonzero(ids != np.arange(pop.size))
        if wrong.size:
            self.add(
                pop.h5_path,
                _h5_location(pop, "node_id"),
                f"expected the row numbers 0..{pop.size - 1} in order; row {int(wrong[0])} "
                f"holds {int(ids[wrong[0]])}",
                "ids",
            )

    def _check_type_ids(self, pop: NodePopulation | EdgePopulation) -> bool:
        """Report type ids missing from the CSV; True when there are none."""
        if pop.types_path is None:
            return True
        column = pop.type_column
        known = pop.types_table.ids  # numpy: a run need not import pandas
        n_missing, bad = 0, set()
        try:
            if isinstance(pop, NodePopulation):
                pieces = iter([(0, pop.node_type_ids())])
            else:  # slab by slab: an edge file's type ids are not held whole
                pieces = pop.slabs(column)
            for _, ids in pieces:
                missing = ~np.isin(ids, known)
                if missing.any():
                    n_missing += int(missing.sum())
                    bad.update(np.unique(ids[missing]).tolist())
        except BmtkError as err:
            self.add_error(err, pop.h5_path, "format")
            return False
        if n_missing:
            self.add(
                pop.h5_path,
                _h5_location(pop, column),
                f"{n_missing} rows have {column} values not in {pop.types_path}: "
                f"{sorted(bad)[:10]}",
                "types",
            )
        return not n_missing

    def _check_edges(self, pop: EdgePopulation, node_pops: Mapping[str, Any]) -> None:
        self._check_edge_ids(pop, node_pops)
        self._check_index(pop)

    def _check_edge_ids(self, pop: EdgePopulation, node_pops: Mapping[str, Any]) -> None:
        for side, name in (("source", pop.source_population), ("target", pop.target_population)):
            location = _h5_location(pop, f"{side}_node_id")
            if name is None:
                self.add(
                    pop.h5_path, location, "missing the node_population attribute", "population"
                )
                continue
            if name not in node_pops:
                if self.incomplete_nodes:  # the population may be in the missing file
                    continue
                self.add(
                    pop.h5_path,
                    f"{location}@node_population",
                    f"names node population {name!r}, which the circuit does not have "
                    f"(known: {sorted(node_pops)})",
                    "population",
                )
                continue
            size = node_pops[name].size
            n_bad, outside = 0, set()
            try:  # slab by slab: the ids of a large edge file are never held whole
                for _, ids in pop.slabs(f"{side}_node_id"):
                    bad = (ids < 0) | (ids >= size)
                    if bad.any():
                        n_bad += int(bad.sum())
                        outside.update(np.unique(ids[bad]).tolist())
            except BmtkError as err:
                self.add_error(err, pop.h5_path, "format")
                continue
            if n_bad:
                self.add(
                    pop.h5_path,
                    location,
                    f"{n_bad} ids outside population {name!r} of size {size}: "
                    f"{sorted(outside)[:10]}",
                    "ids",
                )

    def _check_index(self, pop: EdgePopulation) -> None:
        from bmtoolkit.sonata.index import DIRECTIONS

        for direction in DIRECTIONS:
            location = _h5_location(pop, f"indices/{direction}")
            try:
                stored = pop.stored_index(direction)
                if stored is None:
                    continue
                keys = (
                    pop.source_node_ids() if direction == DIRECTIONS[0] else (pop.target_node_ids())
                )
            except BmtkError as err:
                self.add_error(err, pop.h5_path, "format")
                continue
            message = index_disagreement(stored[0], stored[1], keys)
            if message:
                self.add(pop.h5_path, location, message, "index")

    def _check_components(
        self,
        circuit: CircuitConfig,
        cfile: Path,
        node_pops: Mapping[str, NodePopulation],
        edge_pops: Mapping[str, EdgePopulation],
    ) -> None:
        needs: set[str] = set()
        comps = circuit.components
        dynamics: dict[str, list[tuple[Any, str]]] = {}
        for pop in node_pops.values():
            names = pop.property_names
            kinds = _unique_strings(pop.column("model_type")) if "model_type" in names else []
            biophysical = "biophysical" in kinds
            needs.update({"biophysical"} if biophysical else set())
            if "model_template" in names:
                if any(t.startswith("hoc:") for t in _unique_strings(pop.column("model_template"))):
                    needs.add("hoc")
            if "morphology" in names and _unique_strings(pop.column("morphology")):
                needs.add("morphology")
                dynamics.setdefault("morphologies_dir", []).append((pop, "morphology"))
            if "dynamics_params" in names:
                values = pop.column("dynamics_params")
                mtype = pop.column("model_type") if "model_type" in names else None
                bio = (
                    np.zeros(len(values), bool)
                    if mtype is None
                    else (np.asarray([str(t) == "biophysical" for t in mtype]))
                )
                population = _is_model_type(mtype, len(values), "population")
                # LGN filter cells (``lgnmodel:`` templates) carry their parameters in the
                # name; BMTK's filternet reads no file for them
                templates = pop.column("model_template") if "model_template" in names else None
                lgn = (
                    np.zeros(len(values), bool)
                    if templates is None
                    else np.asarray([str(t).startswith("lgnmodel:") for t in templates])
                )
                # the folders follow the components-folder rule (bmtoolkit.sonata.components)
                for rows, kind, what in (
                    (~bio & ~population & ~lgn, "point_process", "point"),
                    (population, "population", "population"),
                    (bio, "biophysical", "bio"),
                ):
                    key = folder_key(comps, kind)
                    if key is None or not _unique_strings(values[rows]):
                        continue
                    if kind != "biophysical":
                        needs.add(_COMPONENT_NEEDS.get(key, "point_dynamics"))
                    dynamics.setdefault(key, []).append((pop, what))
        for edges in edge_pops.values():
            if "dynamics_params" in edges.property_names:
                if _unique_strings(edges.column("dynamics_params")):
                    needs.add("edge_dynamics")
                    key = folder_key(comps, "synapse") or "synaptic_models_dir"
                    dynamics.setdefault(key, []).append((edges, "edge"))
        for key, value in circuit.components.items():
            if isinstance(value, Mapping):
                for sub, subval in value.items():
                    self._exists(
                        cfile,
                        f"components.{key}.{sub}",
                        subval,
                        folder=Path(str(subval)).suffix == "",
                    )
                continue
            need = _COMPONENT_NEEDS.get(key)
            folder = key.endswith("_dir")
            p = Path(str(value))
            if (p.is_dir() if folder else p.exists()) or not isinstance(value, str):
                continue
            if need is None or need in needs:
                self._exists(cfile, f"components.{key}", value, folder=folder)
            else:
                self.add(
                    cfile,
                    f"components.{key}",
                    f"folder does not exist: {p} (the network does not use it)",
                    "missing_file",
                    "warning",
                )
        for key, users in dynamics.items():
            where = circuit.components.get(key)
            if where is None or not Path(str(where)).is_dir():
                if where is None:
                    self.add(
                        cfile,
                        "components",
                        f"{key} is not set but the network refers to files in it",
                        "missing_file",
                    )
                continue
            for pop, what in users:
                self._check_referenced(pop, what, Path(where), key)

    def _check_referenced(self, pop: NodePopulation, what: str, folder: Path, key: str) -> None:
        column = "morphology" if what == "morphology" else "dynamics_params"
        values = pop.column(column)
        if what in ("bio", "point", "population") and "model_type" in pop.property_names:
            mtype = pop.column("model_type")
            bio = _is_model_type(mtype, len(values), "biophysical")
            population = _is_model_type(mtype, len(values), "population")
            keep = {"bio": bio, "population": population, "point": ~bio & ~population}[what]
            values = values[keep]
        suffixes = _MORPHOLOGY_SUFFIXES if what == "morphology" else ("",)
        missing = [
            v
            for v in _unique_strings(values)
            if not any((folder / f"{v}{s}").is_file() for s in suffixes)
        ]
        if missing:
            source = pop.types_path if column in pop.types.columns else pop.h5_path
            self.add(
                source,
                f"{column} of population {pop.name!r}",
                f"{len(missing)} file(s) not found in {key} ({folder}): {missing[:5]}",
                "missing_file",
            )

    # ------------------------------------------------------------------ the simulation
    def _check_simulation(self, sim: Any, node_pops: Mapping[str, Any]) -> None:
        from bmtoolkit.sonata.manifest import is_path_key
        from bmtoolkit.sonata.node_sets import NodeSets

        sfile = self.sim_file or sim.path
        if sim.node_sets_file is not None and sim.node_sets_file != sim.circuit.node_sets_file:
            self._exists(sfile, "node_sets_file", str(sim.node_sets_file))
        for key, value in sim.components.items():
            if key not in sim.circuit.components and isinstance(value, str):
                self._exists(sfile, f"components.{key}", value, folder=key.endswith("_dir"))
        entries = [("inputs", n, i.params) for n, i in sim.inputs.items()]
        entries += [("reports", n, r.params) for n, r in sim.reports.items()]
        for section, name, params in entries:  # input files, electrode positions ...
            for key, value in params.items():
                if key in OUTPUT_PATH_KEYS:  # made by the run
                    continue
                values = value if isinstance(value, list) else [value]
                for i, item in enumerate(values):
                    if is_path_key(key) and isinstance(item, str):
                        folder = key.endswith("_dir")
                        where = f"{section}.{name}.{key}" + (
                            f"[{i}]" if isinstance(value, list) else ""
                        )
                        self._exists(sfile, where, item, folder=folder)
        sets = NodeSets()
        try:
            from bmtoolkit.sonata.circuit import Circuit

            sets = Circuit(sim).node_sets
        except BmtkError as err:
            self.add_error(err, Path(sfile), "node_set")
        uses = [(f"inputs.{n}.node_set", i.node_set) for n, i in sim.inputs.items()]
        uses += [(f"reports.{n}.cells", r.cells) for n, r in sim.reports.items()]
        if sim.node_set is not None:
            uses.append(("node_set", sim.node_set))
        for location, spec in uses if not self.incomplete_nodes else ():
            try:
                if not sets.resolve(spec, node_pops):
                    msg = empty_node_set_message(spec, node_pops)
                    self.add(sfile, location, msg, "node_set", "warning")
            except (ConfigError, UnknownModelError) as err:
                self.add(sfile, location, err.message, "node_set")
            except BmtkError:  # unreadable data: reported by the network checks above
                continue
