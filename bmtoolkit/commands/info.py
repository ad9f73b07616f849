"""``bmtoolkit info FILE``: populations, sizes and properties of a network or output file.

Accepts a circuit or simulation config (every node and edge population of the network), a
nodes or edges HDF5 file, a spikes file (HDF5 or CSV), a frame report, or a types CSV.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path

NAME = "info"
HELP = "Show the populations, sizes and properties of a config, network or output file."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``FILE`` (a config, nodes/edges/spikes/report HDF5 file or CSV)."""
    parser.add_argument("file", metavar="FILE_OR_CONFIG", help="file to describe")


def _props(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "(none)"


def _nodes_lines(pops) -> list[str]:
    lines = []
    for name, pop in pops.items():
        lines.append(f"  node population {name}: {pop.size} nodes")
        lines.append(f"    properties: {_props(pop.property_names)}")
    return lines


def _edges_lines(pops) -> list[str]:
    lines = []
    for name, pop in pops.items():
        lines.append(
            f"  edge population {name}: {pop.size} edges, "
            f"{pop.source_population} -> {pop.target_population}"
        )
        lines.append(f"    properties: {_props(pop.property_names)}")
    return lines


def describe_config(path: str) -> list[str]:
    """Lines describing a config and its network."""
    from bmtoolkit.sonata.circuit import Circuit
    from bmtoolkit.sonata.config import SimulationConfig, load_config

    cfg = load_config(path)
    lines = [f"{path}: {'simulation' if isinstance(cfg, SimulationConfig) else 'circuit'} config"]
    if isinstance(cfg, SimulationConfig):
        run = cfg.run
        lines.append(f"  run: tstart={run.tstart} tstop={run.tstop} dt={run.dt} ms")
        lines.append(f"  inputs: {_props(f'{k} ({v.module})' for k, v in cfg.inputs.items())}")
        names = {
            k: ", ".join(v.variable_name) if isinstance(v.variable_name, tuple) else v.variable_name
            for k, v in cfg.reports.items()
        }
        lines.append(f"  reports: {_props(f'{k} ({n})' for k, n in names.items())}")
        lines.append(f"  output: {cfg.output.output_dir}")
    circuit = Circuit(cfg)
    lines += _nodes_lines(circuit.nodes)
    lines += _edges_lines(circuit.edges)
    if circuit.node_sets.names:
        lines.append(f"  node sets: {_props(circuit.node_sets.names)}")
    return lines


def describe_spikes(path: str) -> list[str]:
    """Lines describing a spikes file (HDF5 or CSV)."""
    from bmtoolkit.sonata.spikes import read_spikes

    df = read_spikes(path)
    lines = [f"{path}: spikes, {len(df)} in total"]
    for pop, grp in df.groupby("population", sort=True):
        t = grp["timestamp"]
        lines.append(
            f"  population {pop}: {len(grp)} spikes from {grp['node_id'].nunique()} nodes, "
            f"t = {t.min():g} .. {t.max():g} ms"
        )
    return lines


def describe_report(path: str) -> list[str]:
    """Lines describing a frame report."""
    from bmtoolkit.sonata.reports import read_frame_report

    lines = [f"{path}: frame report"]
    for pop, rep in read_frame_report(path).items():
        lines.append(
            f"  population {pop}: {len(rep.node_ids)} nodes, {len(rep.element_ids)} elements, "
            f"{rep.n_steps} steps, t = {rep.tstart:g} .. {rep.tstop:g} ms, dt = {rep.dt:g}, "
            f"variable {rep.variable}, units {rep.units}"
        )
    return lines


def describe_rates(path: str) -> list[str]:
    """Lines describing a rate time-series file (popnet, filternet)."""
    from bmtoolkit.sonata.rates import read_rates

    lines = [f"{path}: rates"]
    for pop, series in read_rates(path).items():
        t = series.times
        span = f"t = {t[0]:g} .. {t[-1]:g} ms" if len(t) else "no samples"
        data = series.data
        mean = float(data.mean()) if data.size else float("nan")
        lines.append(
            f"  population {pop or '(unnamed)'}: {len(series.node_ids)} series, {len(t)} samples, "
            f"{span}, mean {mean:.3g} {series.units}"
        )
    return lines


def describe_ecp(path: str) -> list[str]:
    """Lines describing an extracellular potential report."""
    from bmtoolkit.sonata.reports import read_ecp_report

    ecp = read_ecp_report(path)
    return [
        f"{path}: extracellular potential report",
        f"  {len(ecp.channel_ids)} channels, {ecp.data.shape[0]} steps, "
        f"t = {ecp.tstart:g} .. {ecp.tstop:g} ms, dt = {ecp.dt:g}, units {ecp.units}",
    ]


def sibling_types_csv(path: str, kind: str) -> Path | None:
    """The types CSV named like the H5 file (``v1_nodes.h5`` -> ``v1_node_types.csv``).

    Examples
    --------
    >>> sibling_types_csv("/nowhere/v1_nodes.h5", "node") is None
    True
    """
    p = Path(path)
    suffix = f"_{kind}s"
    if not p.stem.endswith(suffix):
        return None
    csv = p.with_name(f"{p.stem[: -len(suffix)]}_{kind}_types.csv")
    return csv if csv.is_file() else None


def _describe_nodes(path: str) -> list[str]:
    from bmtoolkit.sonata.nodes import read_nodes

    csv = sibling_types_csv(path, "node")
    head = f"{path}: nodes" + (f" (types from {csv.name})" if csv else "")
    return [head, *_nodes_lines(read_nodes(path, csv))]


def _describe_edges(path: str) -> list[str]:
    from bmtoolkit.sonata.edges import read_edges

    csv = sibling_types_csv(path, "edge")
    head = f"{path}: edges" + (f" (types from {csv.name})" if csv else "")
    return [head, *_edges_lines(read_edges(path, csv))]


def _describe_types(path: str) -> list[str]:
    from bmtoolkit.sonata.types_table import read_types_csv

    df = read_types_csv(path)
    return [f"{path}: types table, {len(df)} rows", f"  columns: {_props(map(str, df.columns))}"]


#: columns that only types tables have (a CSV with one of them is not a spikes table)
TYPE_COLUMNS = frozenset(
    {"model_type", "model_template", "dynamics_params", "pop_name", "morphology",
     "syn_weight", "delay", "target_query", "source_query", "model_processing", "ei"}
)  # fmt: skip


def _describe_csv(path: str) -> list[str]:
    """A spikes CSV; a types CSV without its id column says so instead of failing as spikes."""
    from bmtoolkit.exceptions import SonataFormatError

    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline().replace(",", " ").split()
    like_types = sorted(TYPE_COLUMNS.intersection(header))
    if like_types and "timestamps" not in header:
        kind = "edge" if {"syn_weight", "delay", "target_query"} & set(like_types) else "node"
        raise SonataFormatError(
            f"looks like a {kind} types table (columns {', '.join(like_types)}) but has no "
            f"{kind}_type_id column, which every types table needs",
            path=path,
            field=f"{kind}_type_id",
        )
    return describe_spikes(path)


#: what to print for each kind of file (see bmtoolkit.sonata.circuit.file_kind)
DESCRIBERS: dict[str, Callable[[str], list[str]]] = {
    "config": describe_config,
    "nodes": _describe_nodes,
    "edges": _describe_edges,
    "spikes": describe_spikes,
    "spikes_csv": _describe_csv,
    "report": describe_report,
    "rates": describe_rates,
    "ecp": describe_ecp,
    "types": _describe_types,
}


def run(args: argparse.Namespace) -> int:
    """Print the description; errors propagate as bmtoolkit errors (exit 1)."""
    from bmtoolkit.exceptions import SonataFormatError
    from bmtoolkit.sonata.circuit import file_kind

    kind = file_kind(args.file)
    describe = DESCRIBERS.get(kind)
    if describe is None:
        raise SonataFormatError(f"'info' cannot describe {kind} files yet", path=args.file)
    print("\n".join(describe(args.file)))
    return 0
