"""The network a config describes, opened lazily.

Examples
--------
>>> import os, tempfile
>>> from bmtoolkit.sonata.nodes import NodePopulationData, write_nodes
>>> from bmtoolkit.sonata.config_writer import write_circuit_config
>>> d = tempfile.mkdtemp()
>>> write_nodes(os.path.join(d, "v1.h5"), [NodePopulationData.single_group("v1", [0, 0, 1])])
>>> write_circuit_config(os.path.join(d, "circuit_config.json"),
...                      nodes=[os.path.join(d, "v1.h5")])
>>> circuit = Circuit(os.path.join(d, "circuit_config.json"))
>>> circuit.population_sizes
{'v1': 3}
>>> circuit.node_ids("v1")["v1"].tolist()
[0, 1, 2]
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.sonata.config import CircuitConfig, SimulationConfig, load_config
from bmtoolkit.sonata.node_sets import NodeSets

if TYPE_CHECKING:
    from bmtoolkit.sonata.edges import EdgePopulation
    from bmtoolkit.sonata.nodes import NodePopulation

__all__ = ["Circuit", "file_kind"]


class Circuit:
    """Node and edge populations (and node sets) of a circuit or simulation config.

    Files are opened on first access of :attr:`nodes` / :attr:`edges`; population data is
    read only when asked for.

    Parameters
    ----------
    config_or_path : CircuitConfig, SimulationConfig or path-like
        A loaded config or the path of any config (:func:`load_config` sniffs the kind).

    Attributes
    ----------
    config : CircuitConfig
    simulation : SimulationConfig or None
        Set when opened from a simulation config; its node sets override the circuit's.
    """

    def __init__(self, config_or_path: CircuitConfig | SimulationConfig | str | os.PathLike):
        config = config_or_path
        if not isinstance(config, CircuitConfig | SimulationConfig):
            config = load_config(config)
        self.simulation: SimulationConfig | None = None
        if isinstance(config, SimulationConfig):
            self.simulation = config
            config = config.circuit
        self.config: CircuitConfig = config

    def __repr__(self) -> str:
        where = self.config.path or "(in memory)"
        return f"Circuit({os.fspath(where)!r})"

    @functools.cached_property
    def nodes(self) -> dict[str, Any]:
        """``{population name: NodePopulation}`` over every nodes file."""
        from bmtoolkit.sonata.nodes import read_nodes

        out: dict[str, Any] = {}
        for spec in self.config.nodes:
            for name, pop in read_nodes(spec.nodes_file, spec.node_types_file).items():
                self._add(out, name, pop, spec.nodes_file)
        return out

    @functools.cached_property
    def edges(self) -> dict[str, Any]:
        """``{population name: EdgePopulation}`` over every edges file."""
        out: dict[str, Any] = {}
        if not self.config.edges:
            return out  # the edges reader is not even imported
        from bmtoolkit.sonata.edges import read_edges

        for spec in self.config.edges:
            for name, pop in read_edges(spec.edges_file, spec.edge_types_file).items():
                self._add(out, name, pop, spec.edges_file)
        return out

    def _add(
        self, out: dict[str, Any], name: str, pop: NodePopulation | EdgePopulation, path: Path
    ) -> None:
        if name in out:
            raise ConfigError(
                f"population {name!r} is defined in two files: {out[name].h5_path} and {path}",
                path=self.config.path,
                field="networks",
            )
        out[name] = pop

    @functools.cached_property
    def node_sets(self) -> NodeSets:
        """Node sets of the circuit config, overridden by the simulation's (file or inline)."""
        sets = NodeSets()
        if self.config.node_sets_file is not None:
            sets = NodeSets.from_file(self.config.node_sets_file)
        sim = self.simulation
        if sim is not None:
            if sim.node_sets_file is not None and sim.node_sets_file != self.config.node_sets_file:
                sets = sets.merged(NodeSets.from_file(sim.node_sets_file))
            if sim.node_sets is not None:
                sets = sets.merged(NodeSets(sim.node_sets, path=sim.path))
        return sets

    @property
    def population_sizes(self) -> dict[str, int]:
        """``{node population: number of nodes}``."""
        return {name: pop.size for name, pop in self.nodes.items()}

    def node_ids(self, node_set: Any = "all") -> dict[str, np.ndarray]:
        """Resolve a node set (name, inline rule or id list) against this circuit.

        Returns
        -------
        dict
            ``{population: sorted int64 node ids}``.
        """
        return self.node_sets.resolve(node_set, self.nodes)


_H5_KINDS = (
    ("nodes", "nodes"),
    ("edges", "edges"),
    ("spikes", "spikes"),
    ("report", "report"),
    ("ecp", "ecp"),
    ("rates", "rates"),
    ("mapping", "report"),
)


def file_kind(path: str | os.PathLike) -> str:
    """Tell what a SONATA-related file holds, from its content.

    Returns
    -------
    str
        ``config`` (JSON), ``nodes``, ``edges``, ``spikes``, ``report``, ``ecp``, ``rates``
        (HDF5, by top-level group), ``types`` (a types CSV) or ``spikes_csv``.

    Raises
    ------
    MissingFileError
        The file does not exist.
    SonataFormatError
        The content is none of these.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "c.json")
    >>> _ = open(p, "w").write("{}")
    >>> file_kind(p)
    'config'
    """
    from bmtoolkit.exceptions import SonataFormatError
    from bmtoolkit.sonata._h5 import open_h5

    p = Path(path)
    if not p.exists():
        raise MissingFileError("file does not exist", path=p)
    if p.is_dir():
        raise SonataFormatError("expected a file, found a folder", path=p)
    with p.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"\x89HDF"):
        with open_h5(p) as h5:
            for group, kind in _H5_KINDS:
                if group in h5:
                    return kind
            found = sorted(h5)
        raise SonataFormatError(
            f"HDF5 file with none of the SONATA groups /nodes, /edges, /spikes, /report "
            f"(found {found})",
            path=p,
        )
    if p.suffix.lower() == ".json" or head.lstrip()[:1] == b"{":
        return "config"
    with p.open(encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    if "node_type_id" in first or "edge_type_id" in first:
        return "types"
    if p.suffix.lower() in (".csv", ".txt"):
        return "spikes_csv"
    raise SonataFormatError("not a config, SONATA HDF5 file or CSV table", path=p)
