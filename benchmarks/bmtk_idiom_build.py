"""A BMTK build script as BMTK users write them, timed (run by benchmarks/builder_vs_bmtk.py).

``benchmarks/builder_vs_bmtk.py --idiom`` runs this text as it is with BMTK, and with only the
import line changed with bmtoolkit. Usage: ``python bmtk_idiom_build.py N ITERATOR OUT_DIR``.

- nodes: N cortical cells (80% E, 20% I) placed in a column (``positions_columinar``-style
  x, y, z arrays) and N/10 virtual LGN cells;
- ``ITERATOR=one_to_all``: recurrent edges from a numpy distance function returning synapse
  counts per target (target positions gathered once per target list), LGN edges from a
  per-source random rule;
- ``ITERATOR=one_to_one``: per-pair functions in the style of BMTK's examples (a distance
  cut-off rule reading ``x``/``y``/``z``; ``random_connections`` with ``np.random.binomial``).

Prints one JSON line: import, build and save seconds and the peak RSS (MiB) of the process and
of any worker processes.

``python bmtk_idiom_build.py N ITERATOR OUT --floor`` builds nothing: it calls the same
connection functions for the same pairs (per pair, or per source with the target list) over
plain dict nodes with a ``node_id`` attribute, from the cheapest loop Python has, and prints
``{"floor_s": ..., "floor_cpu_s": ...}`` (wall and CPU seconds of the calls): what the user's
functions cost by themselves over nodes that a pure-Python tool would give them (a ``dict``
subclass, whose ``node["x"]`` CPython dispatches through a generic slot).
"""

import json
import resource
import sys
import time

T0 = time.perf_counter()
import numpy as np  # noqa: E402
from bmtk.builder import NetworkBuilder  # noqa: E402

N, ITERATOR, OUT = int(sys.argv[1]), sys.argv[2], sys.argv[3]
FLOOR = sys.argv[4:] == ["--floor"]
P0, SIGMA, P_LGN = 0.1, 150.0, 0.05
np.random.seed(1)


def positions_columinar(n, center=(0.0, 0.0, 0.0), height=800.0, max_radius=400.0):
    """Uniform in a vertical cylinder (x, z in the disc, y along the axis)."""
    phi = 2.0 * np.pi * np.random.random(n)
    r = max_radius * np.sqrt(np.random.random(n))
    x = center[0] + r * np.cos(phi)
    z = center[2] + r * np.sin(phi)
    y = center[1] + height * (np.random.random(n) - 0.5)
    return np.column_stack((x, y, z))


def distance_pair(source, target, p0, sigma):
    if source.node_id == target.node_id:
        return 0
    dist = np.sqrt(
        (source["x"] - target["x"]) ** 2
        + (source["y"] - target["y"]) ** 2
        + (source["z"] - target["z"]) ** 2
    )
    if dist > 2.0 * sigma:
        return 0
    return 0 if np.random.uniform() > p0 else np.random.randint(1, 5)


_TARGETS = {}


def distance_counts(source, targets, p0, sigma):
    key = id(targets)
    if key not in _TARGETS:
        _TARGETS.clear()
        pos = np.array([[t["x"], t["y"], t["z"]] for t in targets])
        ids = np.array([t.node_id for t in targets])
        _TARGETS[key] = (pos, ids)
    pos, ids = _TARGETS[key]
    d = np.linalg.norm(pos - [source["x"], source["y"], source["z"]], axis=1)
    p = p0 * np.exp(-d * d / (2.0 * sigma * sigma))
    p[ids == source.node_id] = 0.0
    hit = np.random.random(len(ids)) < p
    return np.where(hit, np.random.randint(1, 5, size=len(ids)), 0)


def random_counts(source, targets, p):
    n = len(targets)
    return (np.random.random(n) < p) * np.random.randint(1, 5, size=n)


def random_pair(source, target, p):
    if source["node_id"] == target["node_id"]:
        return None
    return np.random.binomial(1, p)


class _Node(dict):
    """A node as the functions see it: properties by key, ``node_id`` as an attribute."""

    __slots__ = ("node_id",)


def _floor(populations, edge_sets):
    """Wall and CPU seconds the connection functions take for the build's pairs, nothing else."""
    from itertools import repeat

    nodes = {}
    for name, rows in populations.items():
        nodes[name] = []
        for i, row in enumerate(rows):
            node = _Node(row, node_id=i)
            node.node_id = i
            nodes[name].append(node)
    start, cpu = time.perf_counter(), time.process_time()
    for src_name, ei, trg_name, func, params in edge_sets:
        sources = [n for n in nodes[src_name] if ei is None or n["ei"] == ei]
        targets = nodes[trg_name]
        values = [repeat(v) for v in params.values()]
        if ITERATOR == "one_to_one":
            for target in targets:
                list(map(func, sources, repeat(target), *values))
        else:
            list(map(func, sources, repeat(targets), *values))
    return time.perf_counter() - start, time.process_time() - cpu


ne = int(0.8 * N)
rows = {"v1": [], "lgn": [{"model_type": "virtual", "pop_name": "lgn"}] * (N // 10)}
v1 = NetworkBuilder("v1")
for ei, n in (("e", ne), ("i", N - ne)):
    pos = positions_columinar(n)
    for x, y, z in pos.tolist():
        pop_name = "Exc" if ei == "e" else "Inh"
        rows["v1"].append({"x": x, "y": y, "z": z, "ei": ei, "pop_name": pop_name})
    v1.add_nodes(
        N=n,
        x=pos[:, 0],
        y=pos[:, 1],
        z=pos[:, 2],
        ei=ei,
        pop_name="Exc" if ei == "e" else "Inh",
        model_type="point_process",
        model_template="nest:iaf_psc_alpha",
        dynamics_params=f"{ei}.json",
    )
lgn = NetworkBuilder("lgn")
lgn.add_nodes(N=N // 10, model_type="virtual", pop_name="lgn")
recurrent = distance_counts if ITERATOR == "one_to_all" else distance_pair
afferent = random_counts if ITERATOR == "one_to_all" else random_pair
for ei, w in (("e", 1.0), ("i", -1.0)):
    v1.add_edges(
        source={"ei": ei},
        target=v1.nodes(),
        connection_rule=recurrent,
        connection_params={"p0": P0, "sigma": SIGMA},
        iterator=ITERATOR,
        syn_weight=w,
        delay=1.0,
        model_template="static_synapse",
        dynamics_params=f"{ei}2x.json",
    )
lgn.add_edges(
    source=lgn.nodes(),
    target=v1.nodes(),
    connection_rule=afferent,
    connection_params={"p": P_LGN},
    iterator=ITERATOR,
    syn_weight=1.0,
    delay=1.0,
    model_template="static_synapse",
    dynamics_params="lgn.json",
)
if FLOOR:
    params = {"p0": P0, "sigma": SIGMA}
    sets = [("v1", ei, "v1", recurrent, params) for ei in "ei"]
    sets.append(("lgn", None, "v1", afferent, {"p": P_LGN}))
    wall, cpu = _floor(rows, sets)
    print(json.dumps({"floor_s": wall, "floor_cpu_s": cpu}))
    sys.exit(0)
T1 = time.perf_counter()
v1.build()
lgn.build()
T2 = time.perf_counter()
v1.save(output_dir=OUT)
lgn.save(output_dir=OUT)
T3 = time.perf_counter()
peak = max(
    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
)
print(
    json.dumps(
        {"import_s": T1 - T0, "build_s": T2 - T1, "save_s": T3 - T2, "peak_mib": peak / 1024}
    )
)
