"""``NetworkBuilder``: declare nodes and edges the way BMTK scripts do, build them fast.

A BMTK build script runs after changing only its import::

    from bmtoolkit.builder import NetworkBuilder

The class only holds the declarations; selection lives in :mod:`~bmtoolkit.builder.selectors`,
edge generation in :mod:`~bmtoolkit.builder.engine` (and :mod:`~bmtoolkit.builder.parallel` for
MPI), merging and file writing in :mod:`~bmtoolkit.builder.writer`.

Examples
--------
>>> import numpy as np, tempfile
>>> from bmtoolkit.builder import NetworkBuilder
>>> from bmtoolkit.builder.rules import DistanceProbability
>>> net = NetworkBuilder("v1")
>>> net.add_nodes(N=80, ei="e", model_type="point_neuron",
...               positions=np.random.default_rng(0).random((80, 3)) * 200)
>>> net.add_nodes(N=20, ei="i", model_type="point_neuron",
...               positions=np.random.default_rng(1).random((20, 3)) * 200)
>>> cm = net.add_edges(source={"ei": "e"}, target={"ei": ["e", "i"]},
...                    connection_rule=DistanceProbability(p0=0.2, sigma=100.0),
...                    syn_weight=1.0, delay=2.0, model_template="static_synapse")
>>> net.build(seed=42)
>>> net.nnodes, net.nedges > 0
(100, True)
>>> net.save(tempfile.mkdtemp())  # doctest: +ELLIPSIS
[...]
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.builder import engine, gap_junctions, limits, parallel, script_order, writer
from bmtoolkit.builder.edge_set import EdgeSet
from bmtoolkit.builder.node_table import NodeSetSpec, NodeTable
from bmtoolkit.builder.pages import small_pages
from bmtoolkit.builder.rules.base import ConnectionRule, make_rule
from bmtoolkit.builder.rules.callables import ConstantCount, make_callable_rule
from bmtoolkit.builder.selectors import NodeSelection
from bmtoolkit.exceptions import ConfigError

if TYPE_CHECKING:  # pandas only for edges_table()
    import pandas as pd

logger = logging.getLogger("bmtoolkit.builder")

#: environment variable giving the default build seed (set by ``bmtoolkit build --seed``)
SEED_ENV = "BMTOOLKIT_BUILD_SEED"
_FIRST_TYPE_ID = 100


class Edge(dict):
    """One edge as returned by :meth:`NetworkBuilder.edges` (dict of its properties)."""

    @property
    def source_node_id(self) -> int:
        """Source node id."""
        return self["source_node_id"]

    @property
    def target_node_id(self) -> int:
        """Target node id."""
        return self["target_node_id"]

    @property
    def edge_type_id(self) -> int:
        """Edge type id."""
        return self["edge_type_id"]


class NetworkBuilder:
    """A node population with the edges declared on it (BMTK's ``NetworkBuilder`` surface).

    Parameters
    ----------
    name : str
        Population name; file names derive from it.
    seed : int, optional
        Default seed of :meth:`build` (else ``$BMTOOLKIT_BUILD_SEED``). Without one, a serial
        build calls Python rules in BMTK's order on NumPy's global generator, so that
        ``np.random.seed(n)`` makes a script reproducible and gives BMTK's edges (see
        :mod:`bmtoolkit.builder.script_order`).
    **network_props
        Kept for BMTK compatibility (``network_props``).
    """

    def __init__(self, name: str, seed: int | None = None, **network_props: Any) -> None:
        if not name or any(ch.isspace() or ch == "/" for ch in name):
            raise ConfigError(f"network name must be non-empty without spaces or '/': {name!r}")
        self._name = name
        self.seed = seed
        self.network_props = network_props
        self._node_specs: list[NodeSetSpec] = []
        self._edge_sets: list[EdgeSet] = []
        self._table: NodeTable | None = None
        self._edges: dict[tuple[str, str], writer.EdgeArrays] | None = None
        self._sources: dict[str, NodeTable] = {}
        self.seed_used: int | None = None

    # definition ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Population name."""
        return self._name

    @classmethod
    def from_sonata(
        cls,
        nodes_file: str | os.PathLike[str],
        node_types_file: str | os.PathLike[str] | None = None,
        population: str | None = None,
    ) -> NetworkBuilder:
        """A network holding an existing SONATA node population (e.g. a saved LGN).

        Its nodes can be sources or targets of edges declared on any network; saving it writes
        only the edges declared on it.
        """
        net = cls("_imported")
        net.import_nodes(nodes_file, node_types_file, population)
        return net

    def import_nodes(
        self,
        nodes_file_name: str | os.PathLike[str],
        node_types_file_name: str | os.PathLike[str] | None = None,
        population: str | None = None,
    ) -> None:
        """Replace this network's nodes by a population read from SONATA files (BMTK's
        argument names: ``import_nodes(nodes_file_name=..., node_types_file_name=...)``)."""
        from bmtoolkit.sonata import read_nodes

        nodes_file, node_types_file = nodes_file_name, node_types_file_name

        pops = read_nodes(nodes_file, node_types_file)
        if population is None:
            if len(pops) != 1:
                raise ConfigError(
                    f"{nodes_file} holds populations {sorted(pops)}; name one", path=nodes_file
                )
            population = next(iter(pops))
        if population not in pops:
            raise ConfigError(
                f"no population {population!r}; the file has {sorted(pops)}", path=nodes_file
            )
        self._table = NodeTable.from_population(pops[population])
        self._name = self._table.name
        self._node_specs = []
        self._edges = None

    def add_nodes(self, N: int = 1, **properties: Any) -> None:  # noqa: N803 - BMTK name
        """Add ``N`` nodes of one new node type.

        Scalars become node type (CSV) columns; arrays or lists of length ``N`` become per-node
        HDF5 datasets; ``positions`` is an ``(N, 3)`` array (saved as ``x``, ``y``, ``z``).
        ``node_type_id`` may be given to choose the type id.
        """
        if self._table is not None and self._table.source_file is not None:
            raise ConfigError(f"network {self.name!r} holds imported nodes; cannot add nodes")
        if isinstance(N, bool) or not isinstance(N, int | np.integer):
            if not (isinstance(N, float | np.floating) and float(N).is_integer()):
                raise ConfigError(f"N must be a whole number of nodes, got {N!r}", field="N")
        used = {s.node_type_id for s in self._node_specs}
        type_id = properties.pop("node_type_id", None)
        if type_id is None:
            type_id = max(used | {_FIRST_TYPE_ID - 1}) + 1
        elif int(type_id) in used:
            raise ConfigError(f"node_type_id {type_id} already exists", field="node_type_id")
        self._node_specs.append(NodeSetSpec.from_properties(N, int(type_id), properties))
        self._table = None
        self._edges = None

    def add_edges(
        self,
        source: Any = None,
        target: Any = None,
        connection_rule: int | Callable[..., Any] | ConnectionRule | str = 1,
        connection_params: Mapping[str, Any] | None = None,
        iterator: str = "one_to_one",
        **edge_type_properties: Any,
    ) -> EdgeSet:
        """Declare edges from ``source`` to ``target`` nodes; returns the edge set.

        Parameters
        ----------
        source, target : selector
            A dict of property values (on this network), ``other.nodes(...)`` for another
            network, a callable or node ids (see :mod:`bmtoolkit.builder.selectors`).
        connection_rule : int, callable, ConnectionRule or str
            Synapses for every pair (int), a BMTK-style callable, a vectorized rule, or a
            registered rule name.
        connection_params : Mapping, optional
            Parameters of the callable or named rule.
        iterator : {"one_to_one", "all_to_one", "one_to_all"}
            How a callable is called.
        **edge_type_properties
            Edge type columns (``syn_weight``, ``delay``, ``dynamics_params``, ...).
        """
        props = dict(edge_type_properties)
        if "nsyns" in props:
            connection_rule = props.pop("nsyns")
        if props.get("is_gap_junction", False):
            src_net = self._selection(source).network_name
            trg_net = self._selection(target).network_name
            if src_net != trg_net:
                raise ConfigError(
                    f"gap junctions join two cells of one network; got {src_net!r} -> {trg_net!r}",
                    field="is_gap_junction",
                )
        used = {es.edge_type_id for es in self._edge_sets}
        type_id = props.pop("edge_type_id", None)
        if type_id is None:
            type_id = max(used | {_FIRST_TYPE_ID - 1}) + 1
        elif int(type_id) in used:
            raise ConfigError(f"edge_type_id {type_id} already exists", field="edge_type_id")
        rule = self._make_rule(connection_rule, connection_params, iterator)
        edge_set = EdgeSet(
            self._selection(source), self._selection(target), rule, int(type_id), props
        )
        self._edge_sets.append(edge_set)
        self._edges = None
        return edge_set

    def add_gap_junctions(
        self,
        source: Any = None,
        target: Any = None,
        resistance: float = 1.0,
        conductance: float | None = None,
        distance_range: Sequence[float] = (0.0, 300.0),
        target_sections: Sequence[str] | None = ("somatic",),
        connection_rule: int | Callable[..., Any] | ConnectionRule | str = 1,
        iterator: str = "one_to_one",
        **edge_type_properties: Any,
    ) -> EdgeSet:
        """Declare gap junctions (electrical synapses) between cells of this network, as
        BMTK's ``add_gap_junctions``.

        They are edges whose edge type has ``is_gap_junction`` true, ``syn_weight`` the
        junction conductance (uS: ``conductance``, else ``1 / resistance`` with ``resistance``
        in MOhm), and ``distance_range``/``target_sections`` placing the junction on both
        cells. :meth:`save` also writes BMTK's ``<network>_gap_juncs.h5`` id file.

        Raises
        ------
        ConfigError
            A non-positive resistance or negative conductance, or source and target on
            different networks.

        Examples
        --------
        >>> net = NetworkBuilder("v1")
        >>> net.add_nodes(N=2, model_type="biophysical")
        >>> gj = net.add_gap_junctions(source={"node_id": 0}, target={"node_id": 1}, resistance=500.0)
        >>> gj.type_properties["syn_weight"], gj.type_properties["is_gap_junction"]
        (0.002, True)
        """
        props = gap_junctions.type_properties(
            resistance, conductance, distance_range, target_sections, edge_type_properties
        )
        return self.add_edges(source=source, target=target, connection_rule=connection_rule,
                              iterator=iterator, **props)  # fmt: skip

    def _gap_junction_pairs(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(source ids, target ids) of every gap junction, one row per junction."""
        return gap_junctions.junction_pairs(self._edge_sets, self._edges)

    @staticmethod
    def _make_rule(rule: Any, params: Mapping[str, Any] | None, iterator: str) -> ConnectionRule:
        if isinstance(rule, (ConnectionRule, str)):
            return make_rule(rule, dict(params) if params else None)
        if isinstance(rule, (bool, float)) or rule is None:
            raise ConfigError(f"connection_rule must be an int, a callable or a rule: {rule!r}")
        if isinstance(rule, (int, np.integer)):
            return ConstantCount(int(rule))
        if callable(rule):
            return make_callable_rule(rule, params, iterator)
        raise ConfigError(f"connection_rule must be an int, a callable or a rule: {rule!r}")

    def _selection(self, selector: Any) -> NodeSelection:
        if isinstance(selector, NodeSelection):
            return selector
        return NodeSelection(self, selector)

    # queries ---------------------------------------------------------------------------
    def node_table(self) -> NodeTable:
        """The columnar node table (built from the ``add_nodes`` calls on first use)."""
        if self._table is None:
            self._table = NodeTable.from_specs(self.name, self._node_specs)
        return self._table

    @property
    def nnodes(self) -> int:
        """Number of nodes."""
        return self.node_table().size

    @property
    def nedges(self) -> int:
        """Number of synapses built (BMTK counts synapses, not rows)."""
        total = 0
        for arrays in (self._edges or {}).values():
            nsyns = arrays.columns.get("nsyns")
            total += int(nsyns.sum()) if nsyns is not None else len(arrays)
        return total

    @property
    def nodes_built(self) -> bool:
        """Whether the node table exists."""
        return self._table is not None

    @property
    def edges_built(self) -> bool:
        """Whether :meth:`build` ran since the last change."""
        return self._edges is not None

    def nodes(self, **filters: Any) -> NodeSelection:
        """The nodes matching ``filters`` (iterable of dict-like node views)."""
        return NodeSelection(self, filters)

    def edges_table(
        self, source_network: str | None = None, target_network: str | None = None
    ) -> pd.DataFrame:
        """Built edges as a DataFrame (one row per stored edge), with edge type columns."""
        import pandas as pd

        if self._edges is None:
            self.build()
        frames = []
        for (src, trg), arrays in (self._edges or {}).items():
            if source_network not in (None, src) or target_network not in (None, trg):
                continue
            df = pd.DataFrame(
                {
                    "source_population": src,
                    "target_population": trg,
                    "source_node_id": arrays.source_ids,
                    "target_node_id": arrays.target_ids,
                    "edge_type_id": arrays.edge_type_ids,
                    **arrays.columns,
                }
            )
            types = writer.edge_types_frame(arrays.types)
            extra = [c for c in types.columns if c not in df.columns or c == "edge_type_id"]
            frames.append(df.merge(types[extra], on="edge_type_id", how="left"))
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def edges(
        self,
        target_nodes: Any = None,
        source_nodes: Any = None,
        target_network: str | None = None,
        source_network: str | None = None,
        **properties: Any,
    ) -> list[Edge]:
        """Built edges as dict-like :class:`Edge` objects, filtered as in BMTK.

        ``target_nodes``/``source_nodes`` take node ids, node selections or dicts (on this
        network); other keywords must equal the edge's property.
        """
        df = self.edges_table(source_network, target_network)
        if df.empty:
            return []
        mask = np.ones(len(df), dtype=bool)
        for col, nodes in (("target_node_id", target_nodes), ("source_node_id", source_nodes)):
            if nodes is None:
                continue
            if isinstance(nodes, (int, np.integer)):
                ids = np.array([nodes])
            elif isinstance(nodes, Mapping):
                ids = self.nodes(**nodes).indices()
            elif isinstance(nodes, NodeSelection):
                ids = nodes.indices()
            else:
                ids = np.array([getattr(n, "node_id", n) for n in nodes])
            mask &= np.isin(df[col].to_numpy(), ids)
        for key, value in properties.items():
            mask &= (df[key] == value).to_numpy() if key in df else False
        return [Edge(row) for row in df[mask].to_dict("records")]

    # build -----------------------------------------------------------------------------
    def _resolve_seed(self, seed: int | None) -> int | None:
        """The explicit seed (argument, constructor, ``$BMTOOLKIT_BUILD_SEED``), else None."""
        for where, candidate in (
            ("seed", seed),
            ("seed", self.seed),
            (SEED_ENV, os.environ.get(SEED_ENV)),
        ):
            if candidate is None or candidate == "":
                continue
            try:
                if isinstance(candidate, bool) or float(candidate) != int(candidate):
                    raise ValueError
                return int(candidate)
            except (TypeError, ValueError, OverflowError):
                raise ConfigError(
                    f"expected an integer seed, got {candidate!r}", field=where
                ) from None
        return None

    @small_pages
    def build(
        self,
        seed: int | None = None,
        *,
        force: bool = False,
        block_size: int = engine.DEFAULT_BLOCK_SIZE,
        progress: bool | None = None,
        comm: Any = "auto",
        workers: int | None = None,
    ) -> None:
        """Make every edge set's edges.

        Parameters
        ----------
        seed : int, optional
            Seed; the same seed gives bit-identical files (serial, forked workers or MPI).
            Without any (nor the constructor's, nor ``$BMTOOLKIT_BUILD_SEED``), a serial build
            calls Python rules in BMTK's order on NumPy's global generators as the script left
            them, which gives BMTK's edges for the same ``np.random.seed`` (see
            :mod:`bmtoolkit.builder.script_order`); a parallel one seeds them per block from a
            seed derived from NumPy's global state.
        force : bool
            Kept for BMTK compatibility (nodes are always rebuilt when changed).
        block_size : int
            Target nodes per block (the unit of randomness and of MPI work).
        progress : bool, optional
            Progress of each edge set, in target nodes (callable rules report every target):
            None shows a bar in a terminal or notebook and progress lines on any other
            stderr, False shows nothing (the ``bmtoolkit.progress`` log gets lines always).
        comm : MPI communicator, None or "auto"
            "auto" uses ``MPI.COMM_WORLD`` when running under ``mpiexec`` with >1 ranks.
        workers : int, optional
            Forked processes building the blocks (default ``$BMTOOLKIT_BUILD_WORKERS``, else 1;
            ignored under MPI). With a seed, files do not depend on it (see
            :mod:`bmtoolkit.builder.parallel`).
        """
        if int(block_size) < 1:
            raise ConfigError(f"block_size must be >= 1, got {block_size}", field="block_size")
        comm = parallel.world_comm() if comm == "auto" else comm
        workers = 1 if comm is not None else parallel.resolve_workers(workers)
        explicit = self._resolve_seed(seed)
        # unseeded and serial: Python rules draw from numpy.random as BMTK calls them
        serial_globals = explicit is None and comm is None and workers == 1
        # unseeded: derived from numpy's global state, which is left as it is (BMTK draws
        # nothing either), so np.random.seed(n) makes a BMTK script reproducible
        seed = parallel.broadcast(script_order.state_seed() if explicit is None else explicit, comm)
        self.seed_used = seed
        start = time.perf_counter()
        table = self.node_table()
        built: dict[tuple[str, str], list[tuple[EdgeSet, engine.BlockEdges]]] = {}
        for edge_set in self._edge_sets:
            limits.refuse_oversized(edge_set)
        for k, edge_set in enumerate(self._edge_sets):
            result = engine.build_edge_set(
                edge_set,
                k,
                seed,
                block_size=int(block_size),
                comm=comm,
                progress=progress,
                workers=workers,
                serial_globals=serial_globals,
            )
            if result is not None:
                key = (edge_set.source_network_name, edge_set.target_network_name)
                built.setdefault(key, []).append((edge_set, result))
                self._sources[key[0]] = edge_set.source.table()
                self._sources[key[1]] = edge_set.target.table()
        self._edges = {
            key: writer.merge_edge_sets(parts, self._sources) for key, parts in built.items()
        }
        logger.info(
            "network %s built: %d nodes, %d edge set(s), %d synapses in %.2f s (seed %d)",
            self.name,
            table.size,
            len(self._edge_sets),
            self.nedges,
            time.perf_counter() - start,
            seed,
        )

    # saving ----------------------------------------------------------------------------
    @small_pages
    def save(self, output_dir: str | os.PathLike[str] = ".", **opts: Any) -> list[tuple]:
        """Save nodes and edges into ``output_dir`` (BMTK file names).

        The files are written under temporary names and renamed together at the end: a save
        that fails or is killed leaves the previous files as they were (its temporary files
        are removed by the next save), and every file is stamped so that ``bmtoolkit
        validate`` detects nodes and edges files of different saves.

        ``compression="scaleoffset"`` (default: lossless integer packing every HDF5 reader
        reads), ``"gzip"`` or a gzip level 0-9 (BMTK's choice; smallest), or None/"none"
        chooses how large datasets are stored (:mod:`bmtoolkit.sonata.storage`).

        Returns
        -------
        list of (kind, h5 path, csv path, populations)
            What was written (``kind`` is "nodes" or "edges"), for circuit configs.
        """
        from bmtoolkit.sonata import file_set

        with file_set():  # nodes and edges files replaced as one set
            files = self.save_nodes(output_dir=output_dir, **opts)
            files += self.save_edges(output_dir=output_dir, **opts)
            pairs = self._gap_junction_pairs()
            if pairs is not None and parallel.rank(parallel.world_comm()) == 0:
                from bmtoolkit.sonata import write_gap_junction_ids

                path = Path(output_dir) / f"{self.name}_gap_juncs.h5"
                write_gap_junction_ids(path, *pairs, compression=opts.get("compression", "gzip"))
        parallel.barrier(parallel.world_comm())  # every rank sees the renamed files
        return files

    def save_nodes(
        self,
        nodes_file_name: str | None = None,
        node_types_file_name: str | None = None,
        output_dir: str | os.PathLike[str] = ".",
        **opts: Any,
    ) -> list[tuple]:
        """Write ``<name>_nodes.h5`` and ``<name>_node_types.csv`` (or the given names)."""
        table = self.node_table()
        pops = {self.name: _pop_entry(table)}
        if table.source_file is not None:
            return [("nodes", Path(table.source_file), None, pops)]
        h5 = _path(nodes_file_name, output_dir, f"{self.name}_nodes.h5")
        csv = _path(node_types_file_name, output_dir, f"{self.name}_node_types.csv")
        if parallel.rank(parallel.world_comm()) == 0:
            writer.save_nodes(table, h5, csv, compression=opts.get("compression", "scaleoffset"))
        return [("nodes", h5, csv, pops)]

    def save_edges(
        self,
        edges_file_name: str | None = None,
        edge_types_file_name: str | None = None,
        output_dir: str | os.PathLike[str] = ".",
        src_network: str | None = None,
        trg_network: str | None = None,
        name: str | None = None,
        force_build: bool = True,
        **opts: Any,
    ) -> list[tuple]:
        """Write ``<src>_<trg>_edges.h5`` and ``<src>_<trg>_edge_types.csv`` per pair."""
        if not self._edge_sets:
            return []
        comm = parallel.world_comm()
        if self._edges is None:
            if not force_build:
                raise ConfigError(f"edges of {self.name!r} are not built; call build() first")
            self.build(comm=comm)
        out: list[tuple] = []
        pairs = [
            k
            for k in (self._edges or {})
            if src_network in (None, k[0]) and trg_network in (None, k[1])
        ]
        if parallel.rank(comm) != 0:
            # only rank 0 holds the edges and writes; keep file names consistent
            pairs = [
                (es.source_network_name, es.target_network_name)
                for es in self._edge_sets
                if src_network in (None, es.source_network_name)
                and trg_network in (None, es.target_network_name)
            ]
            pairs = list(dict.fromkeys(pairs))
        node_fps: dict[str, str | None] = {}  # each node table hashed once per save
        for src, trg in pairs:
            single = len(pairs) == 1
            h5 = _path(edges_file_name if single else None, output_dir, f"{src}_{trg}_edges.h5")
            csv = _path(
                edge_types_file_name if single else None, output_dir, f"{src}_{trg}_edge_types.csv"
            )
            arrays = (self._edges or {}).get((src, trg))
            pop_name = name if (name and single) else f"{src}_to_{trg}"
            if arrays is not None:
                arrays.population = pop_name
                for pop in (src, trg):
                    if pop not in node_fps:
                        node_fps[pop] = writer.node_fingerprint(self._sources[pop])
                fingerprints = {p: fp for p in (src, trg) if (fp := node_fps[p]) is not None}
                writer.save_edges(
                    arrays,
                    h5,
                    csv,
                    self._sources[src].size,
                    self._sources[trg].size,
                    node_fingerprints=fingerprints,
                    compression=opts.get("compression", "scaleoffset"),
                )
            out.append(("edges", h5, csv, {pop_name: {}}))
        parallel.barrier(comm)
        return out


def _pop_entry(table: NodeTable) -> dict[str, Any]:
    kind = writer.population_type(table)
    return {"type": kind} if kind else {}


def _path(name: str | None, output_dir: str | os.PathLike[str], default: str) -> Path:
    if name is None:
        return Path(output_dir) / default
    p = Path(name)
    return p if p.is_absolute() else Path(output_dir) / p
