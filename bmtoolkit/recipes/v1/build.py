"""Build the V1 model (V1 + LGN + background) with the builder and save it as SONATA.

Examples
--------
>>> from bmtoolkit.recipes.v1 import build_v1
>>> circuit = build_v1("v1_network", fraction=0.01, seed=1)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.models.v1 import cells as cat
from bmtoolkit.models.v1 import connections as conn
from bmtoolkit.models.v1 import inputs as inp

#: environment variable naming the folder that holds ``bmtk_point_components/``
DATA_ENV = "BMTOOLKIT_SHARED_DATA"


def default_cell_models_dir() -> Path:
    """Where the GLIF parameter files are looked for when none is given.

    ``$BMTOOLKIT_SHARED_DATA/bmtk_point_components/cell_models``, else ``shared/data/...``
    beside the source tree (a development checkout).
    """
    root = os.environ.get(DATA_ENV)
    base = Path(root) if root else Path(__file__).resolve().parents[4] / "shared" / "data"
    return base / "bmtk_point_components" / "cell_models"


def load_glif_params(cell_models_dir: str | os.PathLike[str] | None = None) -> dict[str, dict]:
    """The five GLIF3 parameter sets, by file name (MissingFileError naming what is absent)."""
    folder = Path(cell_models_dir) if cell_models_dir is not None else default_cell_models_dir()
    out = {}
    for fname in cat.GLIF_FITS.values():
        path = folder / fname
        if not path.is_file():
            raise MissingFileError(
                f"GLIF parameters {fname} not found in {folder}; pass cell_models_dir (or set "
                f"${DATA_ENV}) to the folder of BMTK's point_components/cell_models",
                path=path,
            )
        try:
            out[fname] = json.loads(path.read_text())
        except ValueError as err:
            raise ConfigError(f"not JSON: {err}", path=path) from None
    return out


@dataclass
class V1Build:
    """What :func:`build_v1` made.

    Attributes
    ----------
    circuit : Path
        The circuit config.
    nodes, edges : dict
        Size of every node and edge population.
    timings : dict
        Seconds spent building nodes and edges and writing files.
    """

    circuit: Path
    nodes: dict[str, int] = field(default_factory=dict)
    edges: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def type_positions(
    cell_type: cat.CellType, fraction: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(n, 3)`` of one type's cells and whether each is in the core.

    Core cells are uniform in the core disk, the others in the annulus out to the full radius,
    at depths uniform within the type's layer (``y`` is minus the depth).
    """
    from bmtoolkit.builder.positions import cylinder

    r_core, r_full = cat.radii(fraction)
    top, bottom = cat.LAYER_DEPTHS[cell_type.layer]
    depth = (-bottom, -top)
    n_core = cat.type_counts(fraction, region="core")[cell_type.name]
    n_out = cat.type_counts(fraction, region="periphery")[cell_type.name]
    core = cylinder(n_core, r_core, 0.0, depth_range=depth, seed=rng)
    if n_out:
        outer = cylinder(n_out, r_full, 0.0, depth_range=depth, inner_radius=r_core, seed=rng)
        pos = np.vstack([core, outer])
    else:
        pos = core
    flags = np.zeros(len(pos), dtype=bool)
    flags[:n_core] = True
    return pos, flags


def _v1_nodes(net: Any, fraction: float, rng: np.random.Generator) -> None:
    for ct in cat.CELL_TYPES:
        pos, core = type_positions(ct, fraction, rng)
        n = len(pos)
        vis_x, vis_y = inp.visual_positions(pos[:, 0], pos[:, 2], fraction)
        net.add_nodes(
            N=n,
            positions=pos,
            core=core.astype(np.int8),
            tuning_angle=rng.uniform(0.0, 180.0, n),
            vis_x=vis_x,
            vis_y=vis_y,
            pop_name=ct.name,
            model_name=ct.name,
            cell_class=ct.cell_class,
            layer=ct.layer,
            ei=ct.ei,
            model_type="point_neuron",
            model_template="nest:glif_psc",
            dynamics_params=ct.dynamics_params,
        )


def _recurrent_edges(net: Any, fraction: float) -> None:
    from bmtoolkit.builder.properties import OrientationWeight
    from bmtoolkit.builder.rules import DistanceProbability, LikeToLike

    for src in cat.CLASSES:
        for trg in cat.CLASSES:
            rule = conn.pair_rule(src, trg)
            if rule is None:
                continue
            w = rule.weight * conn.in_degree_compensation(rule.sigma, fraction)
            common = {"sigma": rule.sigma, "cutoff": conn.CUTOFF_SIGMAS * rule.sigma, "axes": "xz"}
            if rule.like_to_like:
                a = conn.LIKE_TO_LIKE
                cr = LikeToLike(p0=rule.p0, tuning="cosine", tuning_params={"a": a}, **common)
            else:
                cr = DistanceProbability(p0=rule.p0, **common)
            weight = {} if rule.like_to_like else {"syn_weight": w}
            es = net.add_edges(
                source={"cell_class": src},
                target={"cell_class": trg},
                connection_rule=cr,
                delay=rule.delay,
                **weight,
                model_template="static_synapse",
                dynamics_params=rule.synapse,
            )
            if rule.like_to_like:
                # like-to-like weights: mean over orientations stays w
                b = conn.LIKE_TO_LIKE_WEIGHT
                es.add_properties(
                    "syn_weight",
                    rule=OrientationWeight(w0=w * (1 + b), tuning="cosine", tuning_params={"a": b}),
                    dtypes=float,
                )


def _lgn(fraction: float, seed: int) -> Any:
    from bmtoolkit.builder import NetworkBuilder
    from bmtoolkit.builder.lgn import lgn_node_groups

    size, tiles = inp.lgn_field(fraction)
    lgn = NetworkBuilder("lgn", seed=seed)
    for props in lgn_node_groups(field_size=size, tiles=tiles, seed=seed):
        lgn.add_nodes(**props)
    return lgn


def _input_edges(v1: Any, lgn: Any, bkg: Any) -> None:
    from bmtoolkit.builder.rules import FixedProbability, RetinotopicLGN

    for cls, (k, w) in inp.LGN_INPUTS.items():
        port = "e2e.json" if cat.CLASS_INFO[cls][1] == "E" else "e2i.json"
        rule = RetinotopicLGN(n_on=k, n_off=k, subtype_column="model_name",
                              visual_columns=("vis_x", "vis_y"), **inp.SUBFIELD)  # fmt: skip
        v1.add_edges(source=lgn.nodes(), target={"cell_class": cls}, connection_rule=rule,
                     syn_weight=w, delay=inp.LGN_DELAY, model_template="static_synapse",
                     dynamics_params=port)  # fmt: skip
    p = inp.BKG_IN_DEGREE / inp.BKG_UNITS
    for cls in cat.CLASSES:
        kind = cat.CLASS_INFO[cls][1]
        v1.add_edges(source=bkg.nodes(), target={"cell_class": cls},
                     connection_rule=FixedProbability(p), syn_weight=inp.BKG_WEIGHT[kind],
                     delay=inp.BKG_DELAY, model_template="static_synapse",
                     dynamics_params="e2e.json" if kind == "E" else "e2i.json")  # fmt: skip


def write_components(folder: Path, glif: dict[str, dict]) -> Path:
    """Cell and synapse parameter files of the model under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for fname, params in glif.items():
        (folder / fname).write_text(json.dumps(params, indent=1))
    for fname, port in conn.PORTS.items():
        (folder / fname).write_text(json.dumps({"receptor_type": port}))
    return folder


def build_v1(
    output_dir: str | os.PathLike[str],
    *,
    fraction: float = 0.01,
    seed: int = 1,
    cell_models_dir: str | os.PathLike[str] | None = None,
    compression: Any = "scaleoffset",
    progress: bool | None = None,
    workers: int | None = None,
) -> V1Build:
    """Build and save the V1 model at ``fraction`` of full size.

    Parameters
    ----------
    output_dir : path-like
        Folder for ``network/`` (SONATA files and ``circuit_config.json``) and
        ``components/`` (GLIF and synapse parameters).
    fraction : float
        Share of the full 230,924-cell model, in ``(0, 1]``; the radius scales with
        ``sqrt(fraction)``, densities stay (see :mod:`bmtoolkit.models.v1`).
    seed : int
        Seed of every random draw (positions, orientations, edges).
    cell_models_dir : path-like, optional
        Folder of the ``*_glif_lif_asc_psc.json`` files (default
        :func:`default_cell_models_dir`).
    compression : str, int or None
        HDF5 storage of large datasets (``NetworkBuilder.save``).
    progress : bool, optional
        Progress of each edge set (None: bar in a terminal, lines elsewhere).
    workers : int, optional
        Forked processes making the edges (``NetworkBuilder.build(workers=)``; default
        ``$BMTOOLKIT_BUILD_WORKERS``, else 1). The files do not depend on it.

    Returns
    -------
    V1Build
    """
    from bmtoolkit.builder import NetworkBuilder, write_circuit

    fraction = cat.check_fraction(fraction)
    glif = load_glif_params(cell_models_dir)
    out = Path(output_dir)
    timings = {}
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    v1 = NetworkBuilder("v1", seed=seed + 1)
    _v1_nodes(v1, fraction, rng)
    lgn = _lgn(fraction, seed + 2)
    bkg = NetworkBuilder("bkg", seed=seed + 3)
    bkg.add_nodes(N=inp.BKG_UNITS, model_type="virtual", pop_name="bkg", ei="e")
    _recurrent_edges(v1, fraction)
    _input_edges(v1, lgn, bkg)
    timings["define"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lgn.build(progress=progress, workers=workers)
    bkg.build(progress=progress, workers=workers)
    v1.build(progress=progress, workers=workers)
    timings["build"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    comp = write_components(out / "components", glif)
    components = {"point_neuron_models_dir": comp, "synaptic_models_dir": comp}
    circuit = write_circuit([lgn, bkg, v1], out / "network", components=components,
                            compression=compression)  # fmt: skip
    timings["write"] = time.perf_counter() - t0
    from bmtoolkit.sonata import Circuit

    circ = Circuit(circuit)
    return V1Build(
        circuit=circuit,
        nodes={name: pop.size for name, pop in circ.nodes.items()},
        edges={name: pop.size for name, pop in circ.edges.items()},
        timings=timings,
    )
