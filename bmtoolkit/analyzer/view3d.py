"""A 3D picture of a network and its activity, as one self-contained HTML file.

:func:`network_view` reads a circuit or simulation config and returns a plotly figure:

- every cell with a position, coloured by population or by a chosen property (categories get
  one colour each, numbers a colour scale);
- the edges of one selected cell (inputs in one colour, outputs in another);
- with a simulation config whose spikes file exists: the spikes played back over the simulated
  time, one frame per time bin (cells that fired in the bin light up), with a slider and a play
  button; the frames cover ``[tstart, tstop]`` exactly.

:func:`write_view` saves it with plotly.js embedded, so the file opens in any browser without a
server or a network connection (``bmtoolkit view CONFIG``). plotly is an optional dependency
(``pip install bmtoolkit[view]``), imported only here. :func:`activity_movie` draws the same
playback as an animated GIF with matplotlib (``bmtoolkit view CONFIG --movie activity.gif``).

Examples
--------
>>> fig = network_view("config.json", color_by="pop_name")  # doctest: +SKIP
>>> write_view(fig, "network.html")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import BackendNotAvailableError, ConfigError

#: most frames a playback gets unless ``frame_ms`` is given
MAX_FRAMES = 100
#: colours of categories (populations or property values), cycled
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip


@dataclass(frozen=True)
class Cells:
    """Positioned cells of a network: population, node id, xyz and the colouring value."""

    population: np.ndarray
    node_id: np.ndarray
    xyz: np.ndarray
    value: np.ndarray


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError as err:
        raise BackendNotAvailableError(
            "the 3D view needs plotly: pip install 'bmtoolkit[view]'"
        ) from err
    return go


def _load(config: Any) -> tuple[Any, Any]:
    from bmtoolkit.sonata import Circuit
    from bmtoolkit.sonata.config import SimulationConfig, load_config

    cfg = config if not isinstance(config, str | os.PathLike) else load_config(config)
    return Circuit(cfg), cfg if isinstance(cfg, SimulationConfig) else None


def _cells(circuit: Any, color_by: str | None) -> Cells:
    pops, ids, xyz, values = [], [], [], []
    for name, pop in circuit.nodes.items():
        pos = pop.positions()
        if pos is None:
            continue
        keep = ~np.isnan(pos).any(axis=1)
        node_ids = np.arange(pop.size)[keep]
        if color_by in (None, "population"):
            vals = np.full(len(node_ids), name, dtype=object)
        elif color_by in pop.property_names or color_by in pop.types.columns:
            vals = np.asarray(pop.column(color_by))[keep]
        else:
            raise ConfigError(
                f"population {name!r} has no property {color_by!r} to colour by; "
                f"choose one of: population, {', '.join(sorted(pop.property_names))}",
                path=circuit.config.path,
                field="color_by",
            )
        pops.append(np.full(len(node_ids), name, dtype=object))
        ids.append(node_ids)
        xyz.append(pos[keep])
        values.append(np.asarray(vals, dtype=object))
    if not pops:
        raise ConfigError(
            "no node population has positions (x, y, z or positions) to draw",
            path=circuit.config.path,
            field="nodes",
        )
    return Cells(np.concatenate(pops), np.concatenate(ids), np.vstack(xyz), np.concatenate(values))


def _cell_traces(go: Any, cells: Cells, color_by: str | None) -> list[Any]:
    label = color_by or "population"
    text = [
        f"{p} {i}<br>{label}: {v}" for p, i, v in zip(cells.population, cells.node_id, cells.value)
    ]
    numeric = label != "population" and all(
        isinstance(v, int | float | np.integer | np.floating) for v in cells.value
    )
    if numeric:
        return [
            go.Scatter3d(
                x=cells.xyz[:, 0], y=cells.xyz[:, 1], z=cells.xyz[:, 2], mode="markers",
                name=label, text=text, hoverinfo="text",
                marker={"size": 3, "color": cells.value.astype(float), "colorscale": "Viridis",
                        "colorbar": {"title": {"text": label}}, "opacity": 0.8},
            )
        ]  # fmt: skip
    traces = []
    for k, cat in enumerate(dict.fromkeys(map(str, cells.value))):
        sel = np.array([str(v) == cat for v in cells.value])
        traces.append(
            go.Scatter3d(
                x=cells.xyz[sel, 0], y=cells.xyz[sel, 1], z=cells.xyz[sel, 2], mode="markers",
                name=cat, text=[t for t, s in zip(text, sel) if s], hoverinfo="text",
                marker={"size": 3, "color": PALETTE[k % len(PALETTE)], "opacity": 0.8},
            )
        )  # fmt: skip
    return traces


def _edge_traces(go: Any, circuit: Any, cells: Cells, cell: tuple[str, int] | None) -> list[Any]:
    if cell is None:
        cell = (str(cells.population[0]), int(cells.node_id[0]))
    pop, nid = cell
    where = {(p, int(i)): k for k, (p, i) in enumerate(zip(cells.population, cells.node_id))}
    if (pop, nid) not in where:
        raise ConfigError(
            f"cell {pop}:{nid} is not a positioned node of the network",
            path=circuit.config.path,
            field="cell",
        )
    here = cells.xyz[where[(pop, nid)]]
    lines: dict[str, list[np.ndarray]] = {"inputs": [], "outputs": []}
    for edges in circuit.edges.values():
        if edges.target_population == pop:
            rows = edges.afferent_edges([nid])
            for s in edges.source_node_ids(rows):
                k = where.get((edges.source_population, int(s)))
                if k is not None:
                    lines["inputs"].append(cells.xyz[k])
        if edges.source_population == pop:
            rows = edges.efferent_edges([nid])
            for t in edges.target_node_ids(rows):
                k = where.get((edges.target_population, int(t)))
                if k is not None:
                    lines["outputs"].append(cells.xyz[k])
    traces = [
        go.Scatter3d(
            x=[here[0]], y=[here[1]], z=[here[2]], mode="markers", name=f"cell {pop}:{nid}",
            marker={"size": 8, "color": "black", "symbol": "diamond"},
        )
    ]  # fmt: skip
    for kind, colour in (("inputs", "#2a9d8f"), ("outputs", "#e76f51")):
        xs: list[float | None] = []
        ys: list[float | None] = []
        zs: list[float | None] = []
        for other in lines[kind]:
            xs += [here[0], other[0], None]
            ys += [here[1], other[1], None]
            zs += [here[2], other[2], None]
        traces.append(
            go.Scatter3d(
                x=xs, y=ys, z=zs, mode="lines", name=f"{kind} of {pop}:{nid} ({len(lines[kind])})",
                line={"color": colour, "width": 2}, opacity=0.5, hoverinfo="skip",
            )
        )  # fmt: skip
    return traces


def frame_edges(tstart: float, tstop: float, frame_ms: float | None = None) -> np.ndarray:
    """Bin edges of the playback: from ``tstart`` to exactly ``tstop``.

    Examples
    --------
    >>> frame_edges(0.0, 1000.0).tolist()[:3], float(frame_edges(0.0, 1000.0)[-1])
    ([0.0, 10.0, 20.0], 1000.0)
    >>> frame_edges(0.0, 25.0, 10.0).tolist()
    [0.0, 10.0, 20.0, 25.0]
    """
    span = tstop - tstart
    if span <= 0:
        raise ConfigError(f"run.tstop ({tstop}) must be after run.tstart ({tstart})", field="tstop")
    if frame_ms is None or frame_ms <= 0:
        frame_ms = span / MAX_FRAMES
    edges = np.arange(tstart, tstop, frame_ms, dtype=float)
    return np.append(edges, tstop)


def _spike_frames(go: Any, sim: Any, cells: Cells, frame_ms: float | None) -> tuple[list, list]:
    from bmtoolkit.sonata.spikes import read_spikes

    spikes = read_spikes(sim.output.spikes_file)
    bins = frame_edges(sim.run.tstart, sim.run.tstop, frame_ms)
    where = {(p, int(i)): k for k, (p, i) in enumerate(zip(cells.population, cells.node_id))}
    rows = np.array(
        [where.get((p, int(i)), -1) for p, i in zip(spikes["population"], spikes["node_id"])],
        dtype=np.int64,
    )
    times = spikes["timestamp"].to_numpy(float)
    keep = rows >= 0
    rows, times = rows[keep], times[keep]
    which = np.clip(np.searchsorted(bins, times, side="right") - 1, 0, len(bins) - 2)
    frames, steps = [], []
    for f in range(len(bins) - 1):
        fired = np.unique(rows[which == f])
        xyz = cells.xyz[fired]
        name = f"{bins[f]:g}-{bins[f + 1]:g} ms"
        frames.append(
            go.Frame(
                name=name,
                data=[go.Scatter3d(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2], mode="markers",
                                   marker={"size": 5, "color": "#ffd60a",
                                           "line": {"color": "black", "width": 1}})],
                traces=[0],
                layout={"title": {"text": f"spikes {name}: {len(fired)} cells fired"}},
            )
        )  # fmt: skip
        steps.append(
            {"label": f"{bins[f]:g}", "method": "animate",
             "args": [[name], {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}]}
        )  # fmt: skip
    return frames, steps


def network_view(
    config: str | os.PathLike[str] | Any,
    *,
    color_by: str | None = None,
    cell: tuple[str, int] | None = None,
    frame_ms: float | None = None,
    spikes: bool = True,
) -> Any:
    """Plotly figure of the network's cells, one cell's edges and the spike playback.

    Parameters
    ----------
    config : path or loaded config
        Circuit config, or simulation config (its output spikes are played back if present).
    color_by : str, optional
        Node property to colour by (default: the population).
    cell : (population, node_id), optional
        Cell whose edges are drawn (default: the first positioned node).
    frame_ms : float, optional
        Playback bin width in ms (default: the run split into :data:`MAX_FRAMES` frames).
    spikes : bool
        Add the spike playback when the config has a spikes file.

    Returns
    -------
    plotly.graph_objects.Figure
        Its ``frames`` (one per bin) are named ``"<t0>-<t1> ms"``.

    Raises
    ------
    BackendNotAvailableError
        plotly is not installed.
    ConfigError
        No positions, unknown ``color_by`` property or ``cell``.
    """
    go = _plotly()
    circuit, sim = _load(config)
    cells = _cells(circuit, color_by)
    traces = _cell_traces(go, cells, color_by) + _edge_traces(go, circuit, cells, cell)
    frames: list = []
    steps: list = []
    if spikes and sim is not None and Path(sim.output.spikes_file).is_file():
        frames, steps = _spike_frames(go, sim, cells, frame_ms)
        first = frames[0].data[0] if frames else None
        spike_trace = go.Scatter3d(
            x=list(first.x) if first else [], y=list(first.y) if first else [],
            z=list(first.z) if first else [], mode="markers", name="spiking cells",
            marker={"size": 5, "color": "#ffd60a", "line": {"color": "black", "width": 1}},
        )  # fmt: skip
        traces = [spike_trace, *traces]
    fig = go.Figure(data=traces, frames=frames)
    where = circuit.config.path or "network"
    fig.update_layout(
        title={"text": f"{Path(str(where)).name}: {len(cells.node_id)} cells"},
        scene={"aspectmode": "data", "xaxis_title": "x (um)", "yaxis_title": "y (um)",
               "zaxis_title": "z (um)"},
        legend={"itemsizing": "constant"},
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
    )  # fmt: skip
    if frames:
        fig.update_layout(
            updatemenus=[{
                "type": "buttons", "x": 0.05, "y": 0.05, "showactive": False,
                "buttons": [
                    {"label": "play", "method": "animate",
                     "args": [None, {"frame": {"duration": 100, "redraw": True},
                                     "fromcurrent": True}]},
                    {"label": "pause", "method": "animate",
                     "args": [[None], {"mode": "immediate", "frame": {"duration": 0}}]},
                ],
            }],
            sliders=[{"steps": steps, "currentvalue": {"prefix": "t (ms) = "}, "y": 0.0}],
        )  # fmt: skip
    return fig


def write_view(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as one HTML file with plotly.js inside (temp file, then rename).

    Returns
    -------
    Path
        The file written.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    try:
        fig.write_html(tmp, include_plotlyjs=True, full_html=True, auto_play=False)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def activity_movie(
    config: str | os.PathLike[str] | Any,
    path: str | os.PathLike[str],
    *,
    frame_ms: float | None = None,
    fps: int = 10,
    color_by: str | None = None,
) -> Path:
    """Write an animated GIF of the spikes on the cell positions (matplotlib, Pillow).

    Every frame shows all cells in grey, seen from an oblique angle, and the cells that fired
    in the frame's time bin in colour; the title gives the bin. The bins are those of
    :func:`frame_edges`, so the movie covers the whole run.

    Parameters
    ----------
    config : path or loaded config
        A simulation config whose spikes file exists.
    path : path
        The ``.gif`` to write (temp file, then rename).
    frame_ms, fps : float, int
        Bin width in ms (default 1/100 of the run) and frames per second of the movie.
    color_by : str, optional
        Node property colouring the firing cells (default: population).

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> activity_movie("config.json", "activity.gif", frame_ms=20)  # doctest: +SKIP
    """
    # a figure of its own canvas, outside pyplot: the session's backend and figures stay as
    # they are (an interactive notebook keeps drawing inline while the movie is written)
    from matplotlib.animation import FuncAnimation, PillowWriter
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from bmtoolkit.sonata.spikes import read_spikes

    circuit, sim = _load(config)
    if sim is None or not Path(sim.output.spikes_file).is_file():
        raise ConfigError(
            "a movie needs a simulation config whose spikes file exists (run it first)",
            path=getattr(sim, "path", None) or circuit.config.path,
            field="output.spikes_file",
        )
    cells = _cells(circuit, color_by)
    categories = list(dict.fromkeys(map(str, cells.value)))
    colour = np.array([PALETTE[categories.index(str(v)) % len(PALETTE)] for v in cells.value])
    where = {(p, int(i)): k for k, (p, i) in enumerate(zip(cells.population, cells.node_id))}
    spikes = read_spikes(sim.output.spikes_file)
    rows = np.array(
        [where.get((p, int(i)), -1) for p, i in zip(spikes["population"], spikes["node_id"])],
        dtype=np.int64,
    )
    times = spikes["timestamp"].to_numpy(float)
    bins = frame_edges(sim.run.tstart, sim.run.tstop, frame_ms)
    which = np.clip(np.searchsorted(bins, times, side="right") - 1, 0, len(bins) - 2)
    fig = Figure(figsize=(6, 5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="3d")
    x, y, z = cells.xyz.T
    ax.scatter(x, y, z, s=4, c="0.8", depthshade=False)
    lit = ax.scatter([], [], [], s=18, depthshade=False)
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    ax.set_zlabel("z (um)")

    def draw(f: int):
        fired = np.unique(rows[(which == f) & (rows >= 0)])
        lit._offsets3d = (x[fired], y[fired], z[fired])
        lit.set_color(colour[fired] if len(fired) else "none")
        ax.set_title(f"{bins[f]:g}-{bins[f + 1]:g} ms: {len(fired)} cells fired")
        return (lit,)

    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.tmp{dest.suffix}")
    try:
        anim = FuncAnimation(fig, draw, frames=len(bins) - 1, blit=False)
        anim.save(tmp, writer=PillowWriter(fps=fps))
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
