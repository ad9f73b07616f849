"""Which nodes an edges file was built against: fingerprints that catch mixed saves.

A network save writes nodes and edges files; a save that is interrupted, or files copied by
hand from two builds, can leave new nodes beside old edges. Every node population written by
:func:`~bmtoolkit.sonata.write_nodes` carries :data:`NODES_ATTR`, a sha256 of its content
(type ids, groups, every attribute); the builder stamps each edge population with the
fingerprints of the source and target node populations it was built against
(:data:`SOURCE_ATTR`, :data:`TARGET_ATTR`). :func:`mixed_builds` compares them, so
``bmtoolkit validate`` names both files when they disagree. Files without the attributes
(written by other tools) are not compared.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.sonata import NodePopulationData
>>> a = NodePopulationData.single_group("v1", [0, 0], {"x": np.array([1.0, 2.0])})
>>> b = NodePopulationData.single_group("v1", [0, 0], {"x": np.array([1.0, 2.5])})
>>> population_fingerprint(a) == population_fingerprint(b)
False
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import h5py
import numpy as np

from bmtoolkit.sonata._h5 import decode_str, open_h5

if TYPE_CHECKING:
    from bmtoolkit.sonata._edges_write import EdgePopulationData
    from bmtoolkit.sonata.edges import EdgePopulation
    from bmtoolkit.sonata.nodes import NodePopulation, NodePopulationData

#: attribute of ``/nodes/<population>``: fingerprint of the population's content
NODES_ATTR = "bmtoolkit_fingerprint"
#: attributes of ``/edges/<population>``: fingerprints of the node populations it was built on
SOURCE_ATTR = "bmtoolkit_source_fingerprint"
TARGET_ATTR = "bmtoolkit_target_fingerprint"


def _array_bytes(values: Any) -> Iterator[bytes]:
    arr = np.asarray(values)
    yield f"{arr.shape}".encode()
    if arr.dtype.kind in "biufc":
        yield arr.dtype.str.encode()
        yield np.ascontiguousarray(arr).tobytes()
    else:
        yield b"text"
        yield "\x1f".join(map(str, arr.ravel().tolist())).encode("utf-8", "surrogatepass")


def population_fingerprint(pop: NodePopulationData) -> str:
    """sha256 (hex) of a :class:`~bmtoolkit.sonata.NodePopulationData`'s content.

    Examples
    --------
    >>> from bmtoolkit.sonata import NodePopulationData
    >>> len(population_fingerprint(NodePopulationData.single_group("a", [0])))
    64
    """
    h = hashlib.sha256()
    h.update(pop.name.encode())
    for part in (pop.node_type_id, pop.node_group_id, pop.node_group_index):
        for chunk in _array_bytes(part):
            h.update(chunk)
    for gid, group in pop.groups.items():
        h.update(f"group {gid}".encode())
        for kind, columns in (("a", group.attributes), ("d", group.dynamics_params)):
            for name in sorted(columns):
                h.update(f"{kind}:{name}".encode())
                for chunk in _array_bytes(columns[name]):
                    h.update(chunk)
    return h.hexdigest()


def stamp_edges(
    group: h5py.Group, fingerprints: Mapping[str, str] | None, pop: EdgePopulationData
) -> None:
    """Write the source/target node fingerprints (by node population name) on an edge group."""
    if not fingerprints:
        return
    for attr, name in ((SOURCE_ATTR, pop.source_population), (TARGET_ATTR, pop.target_population)):
        value = fingerprints.get(name)
        if value:
            group.attrs[attr] = value


def _attr(pop: NodePopulation | EdgePopulation, key: str) -> str | None:
    location = getattr(pop, "_pop_path", f"/{pop.kind}/{pop.name}")
    with open_h5(pop.h5_path) as h5:
        value = h5[location].attrs.get(key)
    return None if value is None else decode_str(value)


def mixed_builds(
    node_pops: Mapping[str, Any], edge_pops: Mapping[str, Any]
) -> list[tuple[Any, str, str]]:
    """Edge populations built against other node content than the circuit's nodes files hold.

    Returns
    -------
    list of (edges file, HDF5 location, message)
        The message names the nodes file.

    Examples
    --------
    >>> mixed_builds({}, {})
    []
    """
    found = []
    for pop in edge_pops.values():
        differ: list[Any] = []
        for attr, name in (
            (SOURCE_ATTR, pop.source_population),
            (TARGET_ATTR, pop.target_population),
        ):
            nodes = node_pops.get(name)
            if nodes is None or nodes in differ:
                continue
            built_on = _attr(pop, attr)
            holds = _attr(nodes, NODES_ATTR) if built_on else None
            if built_on and holds and built_on != holds:
                differ.append(nodes)
        if differ:
            names = " and ".join(f"{n.name!r} in {n.h5_path}" for n in differ)
            found.append(
                (
                    pop.h5_path,
                    f"/edges/{pop.name}",
                    f"built against other nodes than the population {names} holds (files "
                    "from different network saves); save the network again",
                )
            )
    return found
