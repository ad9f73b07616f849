"""``bmtoolkit plot raster|rates|traces|tuning|network|movie SOURCE``: draw a figure to a file.

``SOURCE`` is a simulation config (its spikes, reports and circuit are found through the
config), a circuit config (``network``), a spikes or report file, or a sweep table
(``tuning``: CSV/JSON with ``orientation``, optional ``temporal_frequency``, ``spikes_file``).

Examples
--------
>>> from bmtoolkit.cli import main
>>> main(["plot", "raster", "config.json", "--group-by", "pop_name", "-o", "raster.png"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError

NAME = "plot"
#: PSTH and rate-panel bin (ms) when ``--bin-size`` is not given
PSTH_BIN_MS = 5.0

HELP = "Plot rasters, rates, traces, tuning curves or network views to an image file."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``KIND SOURCE [--group-by P] [--sort-by P] [-o FILE]`` and per-kind options."""
    parser.add_argument("kind", choices=sorted({*PLOTS, *WRITERS}), help="what to plot")
    parser.add_argument(
        "source",
        metavar="CONFIG_OR_FILE",
        help="simulation/circuit config, spikes or report file, or sweep table (tuning)",
    )
    parser.add_argument("-o", "--output", default=None, help="image file (default KIND.png)")
    parser.add_argument("--group-by", default=None, help="node property for colours/groups")
    parser.add_argument("--sort-by", default=None, help="node property ordering raster rows")
    parser.add_argument("--population", default=None, help="only this node population")
    parser.add_argument("--circuit", default=None, help="circuit config for node properties")
    parser.add_argument(
        "--time-range", nargs=2, type=float, metavar=("T0", "T1"), help="window in ms"
    )
    parser.add_argument("--node-ids", nargs="+", type=int, help="traces: nodes to plot")
    parser.add_argument("--report", default=None, help="traces: report name in the config")
    parser.add_argument(
        "--style",
        dest="style",
        choices=("bar", "box", "psth"),
        default="bar",
        help="rates: bars, box plots or the population rate over time (PSTH)",
    )
    parser.add_argument(
        "--bin-size",
        type=float,
        default=None,
        help=f"PSTH bin in ms (default {PSTH_BIN_MS:g}; movie: ms per frame, default 1/100 "
        "of the run)",
    )
    parser.add_argument(
        "--rate-panel",
        action="store_true",
        help="raster: add the population rate histogram under the raster",
    )
    parser.add_argument(
        "--parameter",
        choices=("orientation", "temporal_frequency"),
        default="orientation",
        help="tuning: swept parameter on the x axis",
    )
    parser.add_argument(
        "--view",
        choices=("positions", "degrees", "distance"),
        default=None,
        help="network: 3-D positions, degree histograms or probability vs distance",
    )
    parser.add_argument("--dpi", type=int, default=120, help="image resolution")


@dataclass(frozen=True)
class _Sources:
    """What a SOURCE argument resolves to."""

    spikes: Path | None = None
    rates: Path | None = None
    reports: tuple[Path, ...] = ()
    circuit: Any = None
    t_range: tuple[float, float] | None = None


def _resolve(source: str, args: argparse.Namespace) -> _Sources:
    from bmtoolkit.sonata import Circuit, SimulationConfig, load_config
    from bmtoolkit.sonata.circuit import file_kind

    kind = file_kind(source)
    circuit = Circuit(args.circuit) if args.circuit else None
    if kind == "config":
        cfg = load_config(source)
        if not isinstance(cfg, SimulationConfig):
            return _Sources(circuit=Circuit(cfg))
        reports = [r.file_name for r in cfg.reports.values() if args.report in (None, r.name)]
        if args.report is not None and not reports:
            raise ConfigError(
                f"no report named {args.report!r}; the config has {sorted(cfg.reports)}",
                path=source,
                field="reports",
            )
        return _Sources(
            spikes=cfg.output.spikes_file,
            rates=_rates_file(cfg),
            reports=tuple(reports),
            circuit=circuit or Circuit(cfg),
            t_range=(cfg.run.tstart, cfg.run.tstop),
        )
    if kind == "rates":
        return _Sources(rates=Path(source), circuit=circuit)
    if kind in ("spikes", "spikes_csv"):
        return _Sources(spikes=Path(source), circuit=circuit)
    if kind == "report":
        return _Sources(reports=(Path(source),), circuit=circuit)
    raise ConfigError(
        f"cannot plot from a {kind} file; give a simulation config, spikes or report file",
        path=source,
    )


def _rates_file(cfg) -> Path | None:
    """The rate series a popnet/filternet run wrote (a relative name lives in output_dir)."""
    name = cfg.output.extra.get("rates_file")
    candidates = [cfg.output.output_dir / "rates.h5"]
    if name:
        candidates[:0] = [cfg.output.output_dir / Path(name).name, Path(name)]
    return next((p for p in candidates if p.is_file()), None)


def _spikes(args: argparse.Namespace, src: _Sources):
    from bmtoolkit.analyzer import join_node_properties, load_spikes

    if src.spikes is None:
        raise ConfigError("this source has no spikes (give a simulation config or spikes file)")
    if not src.spikes.exists():
        raise MissingFileError("spikes file not found (was the simulation run?)", path=src.spikes)
    df = load_spikes(src.spikes, populations=[args.population] if args.population else None)
    wanted = [c for c in (args.group_by, args.sort_by) if c and c not in df.columns]
    if wanted:
        if src.circuit is None:
            raise ConfigError(
                f"--group-by/--sort-by {wanted[0]!r} is a node property: give a simulation "
                "config or --circuit CIRCUIT_CONFIG"
            )
        nodes = src.circuit.nodes
        known = {p for pop in nodes.values() for p in pop.property_names}
        missing = [c for c in wanted if c not in known]
        if missing:
            raise ConfigError(
                f"no node property {missing[0]!r}; the nodes have {sorted(known)}",
                field="--group-by",
            )
        df = join_node_properties(df, nodes, wanted)
    return df


def _window(args: argparse.Namespace, src: _Sources, df) -> tuple[float, float]:
    if args.time_range:
        return float(args.time_range[0]), float(args.time_range[1])
    if src.t_range is not None:
        return src.t_range
    last = float(df["timestamp"].max()) if len(df) else 1.0
    return 0.0, float(math.ceil(last + 1e-9))


def _raster(args: argparse.Namespace, src: _Sources):
    from bmtoolkit.analyzer import plot_raster

    df = _spikes(args, src)
    return plot_raster(
        df,
        group_by=args.group_by or "population",
        sort_by=args.sort_by,
        time_range=tuple(args.time_range) if args.time_range else _window(args, src, df),
        nodes=src.circuit.nodes if src.circuit is not None else None,
        rate_panel=args.rate_panel,
        bin_size=args.bin_size or PSTH_BIN_MS,
    )


#: Node properties that name a cell type, in the order a rate plot looks for them.
CELL_TYPE_COLUMNS = ("pop_name", "model_name", "ei")


def _simulated(circuit, spiking: set[str]) -> list[str]:
    """Populations whose nodes belong in a rates plot: those that spiked and every
    population the run simulates (not virtual), so a silent one shows at 0 Hz."""
    if circuit is None:
        return sorted(spiking)
    out = set(spiking)
    for name, pop in circuit.nodes.items():
        if "model_type" in pop.property_names:
            kinds = {str(v) for v in pop.column("model_type")}
            if kinds and kinds != {"virtual"}:
                out.add(name)
    return sorted(out)


def _group_of_nodes(args: argparse.Namespace, src: _Sources, pops: list[str]):
    """``(group column, {population: (node ids, group value of each)})``."""
    group = args.group_by or "population"
    out = {}
    for p in pops:
        pop = src.circuit.nodes.get(p) if src.circuit is not None else None
        if pop is None:
            continue
        ids = np.asarray(pop.ids())
        values = (
            np.full(len(ids), p, dtype=object)
            if group == "population"
            else np.asarray(pop.column(group, ids), dtype=object)
        )
        out[p] = (ids, values)
    return group, out


def _rates(args: argparse.Namespace, src: _Sources):
    from bmtoolkit.analyzer import firing_rates, plot_population_rate, plot_rates

    if src.rates is not None and (src.spikes is None or not src.spikes.exists()):
        return plot_population_rate(_rate_series(args, src), title=src.rates.name)
    df = _spikes(args, src)
    t0, t1 = _window(args, src, df)
    pops = [args.population] if args.population else _simulated(src.circuit, set(df["population"]))
    group, members = _group_of_nodes(args, src, pops)
    if args.style == "psth":
        return plot_population_rate(_psth_series(args, df, group, members, t0, t1))
    node_ids = {p: ids for p, (ids, _) in members.items()} or None
    rates = firing_rates(df, t_start=t0, t_stop=t1, node_ids=node_ids)
    if group != "population":
        value = {(p, int(i)): v for p, (ids, vals) in members.items() for i, v in zip(ids, vals)}
        rates[group] = [
            value.get((p, int(i))) for p, i in zip(rates["population"], rates["node_id"])
        ]
        rates = rates.dropna(subset=[group])
    order = sorted(
        {str(v) for _, vals in members.values() for v in vals} | set(map(str, rates[group]))
    )
    rates[group] = rates[group].astype(str)
    return plot_rates(rates, group_by=group, kind=args.style, groups=order)


def _psth_series(args, df, group: str, members, t0: float, t1: float):
    """One PSTH per group (Hz per cell: the group's node count from the circuit)."""
    from bmtoolkit.analyzer import population_rate

    counts: dict[str, int] = {}
    value = {}
    for p, (ids, vals) in members.items():
        for i, v in zip(ids.tolist(), vals.tolist()):
            value[(p, i)] = str(v)
            counts[str(v)] = counts.get(str(v), 0) + 1
    if group == "population":
        labels = df["population"].astype(str)
    elif group in df.columns:
        labels = df[group].astype(str)
    else:
        import pandas as pd

        labels = pd.Series(
            [value.get((p, int(i))) for p, i in zip(df["population"], df["node_id"])]
        )
    series = []
    for g in sorted(set(counts) | set(labels.dropna())):
        sub = df[(labels == g).to_numpy()]
        t, r = population_rate(sub, t_start=t0, t_stop=t1, bin_size=args.bin_size or PSTH_BIN_MS,
                               n_nodes=counts.get(g) or None)  # fmt: skip
        series.append((g, t, r))
    return series


def _rate_series(args: argparse.Namespace, src: _Sources):
    """Lines of a popnet/filternet ``rates.h5``: one per cell type (``--group-by`` or the
    first of :data:`CELL_TYPE_COLUMNS` the nodes have), averaged over its nodes; without
    node properties one line per node for a few nodes, else the population mean."""
    from bmtoolkit.sonata import read_rates

    series = []
    all_rates = read_rates(src.rates, population=args.population)
    for pop, rs in all_rates.items():
        prefix = f"{pop} " if len(all_rates) > 1 else ""
        nodes = src.circuit.nodes.get(pop) if src.circuit is not None else None
        names = nodes.property_names if nodes is not None else []
        group = args.group_by or next((c for c in CELL_TYPE_COLUMNS if c in names), None)
        if group is not None and group not in names:
            raise ConfigError(
                f"no node property {group!r} in population {pop!r}; it has {sorted(names)}",
                field="--group-by",
            )
        if group is not None:
            labels = np.asarray(nodes.column(group, rs.node_ids.astype(np.int64))).astype(str)
        elif len(rs.node_ids) <= 8:
            labels = np.array([f"node {i}" for i in rs.node_ids.tolist()])
        else:
            labels = np.full(len(rs.node_ids), f"mean of {len(rs.node_ids)} nodes")
        for g in sorted(set(labels.tolist())):
            cols = labels == g
            n = int(cols.sum())
            name = f"{prefix}{g}" + (f" (mean of {n})" if n > 1 and group is not None else "")
            series.append((name, rs.times, rs.data[:, cols].mean(axis=1)))
    return series


def _traces(args: argparse.Namespace, src: _Sources):
    from bmtoolkit.analyzer import load_traces, plot_traces

    existing = [p for p in src.reports if Path(p).exists()]
    if not existing:
        where = ", ".join(map(str, src.reports)) or "no reports in the source"
        raise MissingFileError(f"no report file to plot ({where})")
    traces = load_traces(
        existing[0],
        node_ids=args.node_ids,
        population=args.population,
        time_window=tuple(args.time_range) if args.time_range else None,
        max_nodes=None if args.group_by else 5,
    )
    if args.group_by:
        return _group_traces(args, src, traces, title=Path(existing[0]).stem)
    return plot_traces(traces, title=Path(existing[0]).stem)


def _group_traces(args: argparse.Namespace, src: _Sources, traces, *, title: str):
    """One mean trace per ``--group-by`` value of the report's nodes."""
    from bmtoolkit.analyzer.plots import _axes

    nodes = src.circuit.nodes if src.circuit is not None else {}
    pop = nodes.get(traces.population)
    if pop is None:
        raise ConfigError(
            f"--group-by {args.group_by!r} needs the nodes of {traces.population!r}: give a "
            "simulation config or --circuit CIRCUIT_CONFIG",
            field="--group-by",
        )
    if args.group_by not in pop.property_names:
        raise ConfigError(
            f"no node property {args.group_by!r}; the nodes have {sorted(pop.property_names)}",
            field="--group-by",
        )
    labels = np.asarray(pop.column(args.group_by, traces.node_ids)).astype(str)
    fig, ax = _axes(None, (8, 4))
    for g in sorted(set(labels.tolist())):
        cols = labels == g
        ax.plot(traces.times, traces.data[:, cols].mean(axis=1), lw=0.8,
                label=f"{g} (mean of {int(cols.sum())})")  # fmt: skip
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(traces.variable or "value")
    ax.legend(title=args.group_by, fontsize="small", loc="upper right")
    ax.set_title(title)
    return fig, ax


def _tuning(args: argparse.Namespace, src: _Sources):
    from bmtoolkit.analyzer import (
        grating_responses,
        load_spikes,
        plot_tuning,
        read_sweep,
        tuning_curves,
    )

    sweep = read_sweep(args.source)
    if args.time_range:
        t0, t1 = args.time_range
    else:
        last = max(float(load_spikes(p)["timestamp"].max()) for p in sweep.values())
        t0, t1 = 0.0, float(math.ceil(last + 1e-9))
    responses = grating_responses(sweep, t_start=t0, t_stop=t1, population=args.population)
    curves = tuning_curves(responses, parameter=args.parameter)
    if not args.group_by:
        return plot_tuning(curves)
    return plot_tuning(curves, groups=_node_groups(curves.index, args))


def _node_groups(index: Any, args: argparse.Namespace) -> dict[tuple[str, int], Any]:
    """``{(population, node_id): value of --group-by}`` (``population`` needs no circuit)."""
    keys = [(str(p), int(n)) for p, n in index]
    if args.group_by == "population":
        return {key: key[0] for key in keys}
    if not args.circuit:
        raise ConfigError(
            f"--group-by {args.group_by!r} is a node property: give --circuit CONFIG",
            field="--group-by",
        )
    from bmtoolkit.sonata import Circuit

    nodes = Circuit(args.circuit).nodes
    out: dict[tuple[str, int], Any] = {}
    for pop in sorted({p for p, _ in keys}):
        if pop not in nodes:
            continue
        if args.group_by not in nodes[pop].property_names and args.group_by not in set(
            nodes[pop].types_table.columns
        ):
            raise ConfigError(
                f"node population {pop!r} has no property {args.group_by!r}",
                path=args.circuit,
                field="--group-by",
            )
        ids = np.array([n for p, n in keys if p == pop], dtype=np.int64)
        values = nodes[pop].column(args.group_by, ids)
        out.update(zip(((pop, int(n)) for n in ids), values.tolist(), strict=True))
    return out


def _network(args: argparse.Namespace, src: _Sources):
    from bmtoolkit.analyzer import (
        connection_probability,
        degrees,
        plot_connection_probability,
        plot_degree_histogram,
        plot_positions,
    )

    if src.circuit is None:
        raise ConfigError("network plots need a circuit or simulation config", path=args.source)
    nodes, edges = src.circuit.nodes, src.circuit.edges
    if args.population is not None and args.population not in nodes:
        raise ConfigError(
            f"no node population {args.population!r}; the circuit has {sorted(nodes)}",
            field="--population",
        )
    with_pos = [n for n, p in nodes.items() if p.positions() is not None]
    pop = args.population or (with_pos[0] if with_pos else next(iter(nodes)))
    view = args.view or ("positions" if pop in with_pos else "degrees")
    if view == "positions":
        color = args.group_by or next(
            (c for c in ("model_name", "pop_name", "ei") if c in nodes[pop].property_names), None
        )
        return plot_positions(nodes[pop], color_by=color, title=pop)
    incoming = [e for e in edges.values() if e.target_population == pop]
    if not incoming:
        raise ConfigError(f"no edge population targets {pop!r}", field="--population")
    if view == "degrees":
        din = sum(degrees(e, direction="in", n_nodes=nodes[pop].size) for e in incoming)
        outgoing = [e for e in edges.values() if e.source_population == pop]
        dout = (
            sum(degrees(e, direction="out", n_nodes=nodes[pop].size) for e in outgoing)
            if outgoing
            else None
        )
        return plot_degree_histogram(np.asarray(din), dout, title=pop)
    placed = [e for e in incoming if nodes[e.source_population].positions() is not None]
    if not placed:
        raise ConfigError(
            f"no edge population onto {pop!r} comes from nodes with positions",
            field="--view",
        )
    fig = ax = None
    for e in placed:
        centers, prob, _ = connection_probability(e, nodes[e.source_population], nodes[pop])
        fig, ax = plot_connection_probability(centers, prob, label=e.name, ax=ax)
    return fig, ax


PLOTS: dict[str, Callable[[argparse.Namespace, _Sources], Any]] = {
    "raster": _raster,
    "rates": _rates,
    "traces": _traces,
    "tuning": _tuning,
    "network": _network,
}


def _movie(args: argparse.Namespace, out: Path) -> Path:
    """Animated GIF of the spikes on the cell positions (``--bin-size`` ms per frame when
    given, else 1/100 of the run; cells coloured by ``--group-by``)."""
    from bmtoolkit.analyzer.view3d import activity_movie

    return activity_movie(args.source, out, frame_ms=args.bin_size, color_by=args.group_by)


#: kinds written by their own writer rather than as a matplotlib figure
WRITERS: dict[str, tuple[str, Callable[[argparse.Namespace, Path], Path]]] = {
    "movie": (".gif", _movie),
}


def run(args: argparse.Namespace) -> int:
    """Draw the plot and save it; print the file name."""

    if not Path(args.source).exists():
        raise MissingFileError("file does not exist", path=args.source)
    from bmtoolkit.commands._figures import use_file_backend

    use_file_backend()
    if args.kind in WRITERS:
        suffix, write = WRITERS[args.kind]
        out = Path(args.output or f"{args.kind}{suffix}")
        if out.parent and not out.parent.exists():
            raise MissingFileError("output folder does not exist", path=out.parent)
        print(write(args, out))
        return 0
    src = _Sources() if args.kind == "tuning" else _resolve(args.source, args)
    fig, _ = PLOTS[args.kind](args, src)
    out = Path(args.output or f"{args.kind}.png")
    if out.parent and not out.parent.exists():
        raise MissingFileError("output folder does not exist", path=out.parent)
    fig.savefig(out, dpi=args.dpi, bbox_inches="tight")
    print(out)
    return 0
