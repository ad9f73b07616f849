"""Views of a network: node positions, connection probability vs distance, degrees.

Everything is computed from :class:`bmtoolkit.sonata.NodePopulation` and
:class:`bmtoolkit.sonata.EdgePopulation` objects (``Circuit(config).nodes`` / ``.edges`` or
:func:`bmtoolkit.sonata.read_nodes` / :func:`bmtoolkit.sonata.read_edges`).

Examples
--------
>>> from bmtoolkit.sonata import Circuit  # doctest: +SKIP
>>> from bmtoolkit.analyzer.network import degrees, plot_positions  # doctest: +SKIP
>>> circuit = Circuit("circuit_config.json")  # doctest: +SKIP
>>> fig, ax = plot_positions(circuit.nodes["v1"], color_by="model_name")  # doctest: +SKIP
>>> degrees(circuit.edges["v1_to_v1"], direction="in").mean()  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from bmtoolkit.exceptions import ConfigError


def _positions(population) -> np.ndarray:
    pos = population.positions()
    if pos is None:
        raise ConfigError(
            f"population {population.name!r} has no positions (x, y, z or positions)",
            path=population.h5_path,
            field=f"/nodes/{population.name}",
        )
    return np.asarray(pos, dtype=np.float64)


def plot_positions(
    population,
    *,
    color_by: str | None = "model_name",
    node_ids: np.ndarray | None = None,
    ax=None,
    marker_size: float = 8.0,
    title: str | None = None,
):
    """3-D scatter of node positions, one colour (and legend entry) per value of ``color_by``.

    Parameters
    ----------
    population : NodePopulation
    color_by : str or None
        Node property for the colours (``model_name``, ``ei``, ``pop_name`` ...); ignored
        when the population does not have it.
    node_ids : array of int, optional
        Nodes to show (default all).

    Returns
    -------
    (matplotlib.figure.Figure, mpl_toolkits.mplot3d.axes3d.Axes3D)
    """
    from bmtoolkit.analyzer.plots import _axes

    ids = population.ids() if node_ids is None else np.asarray(node_ids, dtype=np.int64)
    pos = _positions(population)[ids]
    if color_by is not None and color_by not in population.property_names:
        raise ConfigError(
            f"cannot colour by {color_by!r}: population {population.name!r} has "
            f"{population.property_names}",
            path=population.h5_path,
        )
    fig, ax = _axes(ax, (7, 6), projection="3d")
    if color_by is None:
        ax.scatter(pos[:, 0], pos[:, 1], pos[:, 2], s=marker_size)
    else:
        values = np.asarray(population.column(color_by, ids)).astype(str)
        for value in np.unique(values):
            sel = values == value
            ax.scatter(pos[sel, 0], pos[sel, 1], pos[sel, 2], s=marker_size, label=value)
        ax.legend(title=color_by, fontsize="small", loc="upper left")
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    ax.set_zlabel("z (um)")
    if title:
        ax.set_title(title)
    return fig, ax


def degrees(edges, *, direction: str = "in", n_nodes: int | None = None) -> np.ndarray:
    """Number of edges per node (in-degree of targets or out-degree of sources).

    Parameters
    ----------
    edges : EdgePopulation
    direction : {"in", "out"}
    n_nodes : int, optional
        Size of the node population (nodes without edges get 0); default max id + 1.

    Returns
    -------
    ndarray of int64, shape (n_nodes,)

    Examples
    --------
    >>> import numpy as np
    >>> class E:  # any object with source_node_ids()/target_node_ids()
    ...     def target_node_ids(self): return np.array([0, 0, 2])
    >>> degrees(E(), direction="in", n_nodes=4).tolist()
    [2, 0, 1, 0]
    """
    if direction not in ("in", "out"):
        raise ConfigError(f"direction must be 'in' or 'out', got {direction!r}")
    ids = edges.target_node_ids() if direction == "in" else edges.source_node_ids()
    ids = np.asarray(ids, dtype=np.int64)
    size = n_nodes if n_nodes is not None else (int(ids.max()) + 1 if len(ids) else 0)
    return np.bincount(ids, minlength=size)[:size] if size else np.zeros(0, np.int64)


def connection_probability(
    edges,
    source_nodes,
    target_nodes,
    *,
    bins: int | np.ndarray = 10,
    max_targets: int = 500,
    dims: tuple[int, ...] = (0, 1, 2),
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of source-target pairs that are connected, as a function of their distance.

    Parameters
    ----------
    edges : EdgePopulation
    source_nodes, target_nodes : NodePopulation
        The edge population's source and target populations (both need positions).
    bins : int or array
        Distance bins (um): a count over ``[0, max distance]`` or the bin edges.
    max_targets : int
        Evaluate all pairs onto at most this many randomly chosen targets (keeps the pair
        count bounded on large networks).
    dims : tuple of int
        Position axes used for the distance (``(0, 2)`` for the horizontal plane of a
        column whose depth axis is y).
    seed : int
        Seed of the target sample.

    Returns
    -------
    centers, probability, n_pairs : ndarrays
        Bin centres (um), connected fraction and number of pairs in each bin (self pairs of a
        recurrent population are excluded; a bin without pairs has probability NaN).
    """
    src_pos = _positions(source_nodes)[:, list(dims)]
    trg_pos = _positions(target_nodes)[:, list(dims)]
    rng = np.random.default_rng(seed)
    n_trg = len(trg_pos)
    targets = np.arange(n_trg)
    if n_trg > max_targets:
        targets = np.sort(rng.choice(n_trg, size=max_targets, replace=False))
    dist = np.linalg.norm(src_pos[:, None, :] - trg_pos[None, targets, :], axis=2)
    connected = np.zeros(dist.shape, dtype=bool)
    eids = edges.afferent_edges(targets)
    col = np.full(n_trg, -1, dtype=np.int64)
    col[targets] = np.arange(len(targets))
    if len(eids):
        s = np.asarray(edges.source_node_ids(eids), dtype=np.int64)
        t = np.asarray(edges.target_node_ids(eids), dtype=np.int64)
        connected[s, col[t]] = True
    valid = np.ones(dist.shape, dtype=bool)
    if source_nodes is target_nodes or edges.source_population == edges.target_population:
        valid[targets, np.arange(len(targets))] = False
    edges_arr = (
        np.asarray(bins, dtype=np.float64)
        if np.ndim(bins)
        else np.linspace(0.0, float(dist[valid].max()) if valid.any() else 1.0, int(bins) + 1)
    )
    n_pairs, _ = np.histogram(dist[valid], bins=edges_arr)
    n_conn, _ = np.histogram(dist[valid & connected], bins=edges_arr)
    with np.errstate(invalid="ignore", divide="ignore"):
        prob = np.where(n_pairs > 0, n_conn / n_pairs, np.nan)
    return 0.5 * (edges_arr[:-1] + edges_arr[1:]), prob, n_pairs


def plot_connection_probability(
    centers: np.ndarray,
    probability: np.ndarray,
    *,
    label: str | None = None,
    ax=None,
    title: str | None = None,
):
    """Line plot of :func:`connection_probability` (call again with ``ax=`` to overlay).

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)
    """
    from bmtoolkit.analyzer.plots import _axes

    fig, ax = _axes(ax, (6, 4))
    ax.plot(centers, probability, marker="o", label=label)
    ax.set_xlabel("distance (um)")
    ax.set_ylabel("connection probability")
    if label:
        ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig, ax


def plot_degree_histogram(
    in_degree: np.ndarray | None = None,
    out_degree: np.ndarray | None = None,
    *,
    bins: int = 20,
    ax=None,
    title: str | None = None,
):
    """Histograms of in- and/or out-degrees (one bar series each).

    Returns
    -------
    (matplotlib.figure.Figure, matplotlib.axes.Axes)
    """
    from bmtoolkit.analyzer.plots import _axes

    series = [(n, np.asarray(d)) for n, d in (("in", in_degree), ("out", out_degree))]
    series = [(n, d) for n, d in series if d is not None]
    if not series:
        raise ConfigError("give in_degree, out_degree or both")
    fig, ax = _axes(ax, (6, 4))
    everything = np.concatenate([d for _, d in series])
    edges = np.histogram_bin_edges(everything if len(everything) else [0, 1], bins=bins)
    for name, d in series:
        ax.hist(d, bins=edges, alpha=0.6, label=f"{name}-degree")
    ax.set_xlabel("degree (edges per node)")
    ax.set_ylabel("nodes")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return fig, ax
