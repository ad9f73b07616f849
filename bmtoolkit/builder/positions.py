"""Cell placement and orientation helpers; each returns arrays for ``add_nodes``.

Conventions: ``y`` is cortical depth (the column axis), ``x`` and ``z`` span the horizontal plane;
distances in um; angles in degrees. Every function takes ``seed`` (an int or a
``numpy.random.Generator``) so placements are reproducible.

Examples
--------
>>> pos = cylinder(1000, radius=400.0, height=800.0, seed=1)
>>> pos.shape, bool((np.hypot(pos[:, 0], pos[:, 2]) <= 400).all())
((1000, 3), True)
>>> lattice((2, 1, 3), spacing=10.0).tolist()[:2]
[[0.0, 0.0, 0.0], [0.0, 0.0, 10.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bmtoolkit.exceptions import ConfigError

Seed = int | np.random.Generator | None


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def cylinder(
    n: int,
    radius: float,
    height: float,
    *,
    center: Sequence[float] = (0.0, 0.0, 0.0),
    depth_range: tuple[float, float] | None = None,
    inner_radius: float = 0.0,
    seed: Seed = None,
) -> np.ndarray:
    """``n`` points uniform in a vertical cylinder (axis ``y``, a cortical column).

    Parameters
    ----------
    n : int
        Number of points.
    radius, height : float
        Cylinder radius and height (um); ``y`` spans ``[-height/2, height/2]`` around the centre.
    center : (float, float, float)
        Centre of the cylinder.
    depth_range : (float, float), optional
        Explicit ``y`` range instead of ``height`` (a layer slab).
    inner_radius : float
        Leave the core of this radius empty (points fill a cylindrical shell).
    seed : int or Generator

    Returns
    -------
    np.ndarray
        ``(n, 3)`` positions.
    """
    if radius <= 0:
        raise ConfigError(f"radius must be > 0, got {radius}", field="radius")
    if not 0.0 <= inner_radius <= radius:
        raise ConfigError(
            f"inner radius must be in [0, radius={radius}], got {inner_radius}",
            field="inner_radius",
        )
    rng = _rng(seed)
    u = rng.random(n)
    if inner_radius > 0.0:
        r = np.sqrt(inner_radius**2 + (radius**2 - inner_radius**2) * u)
    else:
        r = radius * np.sqrt(u)
    phi = rng.uniform(0.0, 2.0 * np.pi, n)
    lo, hi = depth_range if depth_range is not None else (-height / 2.0, height / 2.0)
    if hi < lo:
        raise ConfigError(f"depth range must be increasing, got {(lo, hi)}", field="depth_range")
    cx, cy, cz = (float(c) for c in center)
    y = rng.uniform(lo, hi, n) + (0.0 if depth_range is not None else cy)
    return np.column_stack([cx + r * np.cos(phi), y, cz + r * np.sin(phi)])


def layer_slabs(
    counts: Sequence[int],
    depth_ranges: Sequence[tuple[float, float]],
    radius: float,
    *,
    center: Sequence[float] = (0.0, 0.0, 0.0),
    seed: Seed = None,
) -> list[np.ndarray]:
    """Positions for several layers of one column, one ``(n_i, 3)`` array per layer.

    Examples
    --------
    >>> l23, l4 = layer_slabs([10, 5], [(-300, -100), (-100, 0)], radius=100.0, seed=0)
    >>> bool(((l4[:, 1] >= -100) & (l4[:, 1] <= 0)).all())
    True
    """
    if len(counts) != len(depth_ranges):
        raise ConfigError(f"{len(counts)} counts for {len(depth_ranges)} depth ranges")
    rng = _rng(seed)
    return [
        cylinder(n, radius, 0.0, center=center, depth_range=_depth_range(dr, k), seed=rng)
        for k, (n, dr) in enumerate(zip(counts, depth_ranges))
    ]


def _depth_range(value: Sequence[float], k: int) -> tuple[float, float]:
    """Layer ``k``'s ``(low, high)`` depth range, or a ConfigError saying what it got."""
    if len(value) != 2:
        raise ConfigError(f"depth range {k} must be (low, high), got {value!r}",
                          field="depth_ranges")  # fmt: skip
    return value[0], value[1]


def lattice(
    shape: Sequence[int],
    spacing: float | Sequence[float],
    *,
    origin: Sequence[float] = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """Points of a regular ``nx x ny x nz`` grid (x slowest), ``(nx*ny*nz, 3)``."""
    if len(shape) != 3:
        raise ConfigError(f"shape must have three sizes, got {shape}", field="shape")
    step = np.broadcast_to(np.asarray(spacing, dtype=float), (3,))
    axes = [np.arange(int(k)) * s + o for k, s, o in zip(shape, step, origin)]
    grid = np.meshgrid(*axes, indexing="ij")
    return np.column_stack([g.ravel() for g in grid]).astype(float)


def random_min_distance(
    n: int,
    low: Sequence[float],
    high: Sequence[float],
    min_distance: float,
    *,
    seed: Seed = None,
    max_tries: int = 100,
) -> np.ndarray:
    """``n`` points uniform in the box ``[low, high]`` no two closer than ``min_distance``.

    Candidates are drawn in batches and accepted in order against a k-d tree of the accepted
    points (random sequential adsorption).

    Raises
    ------
    ConfigError
        If ``n`` points do not fit after ``max_tries`` batches (density too high).

    Examples
    --------
    >>> from scipy.spatial import distance
    >>> p = random_min_distance(50, (0, 0, 0), (100, 100, 100), 10.0, seed=0)
    >>> bool(distance.pdist(p).min() >= 10.0)
    True
    """
    from scipy.spatial import cKDTree

    rng = _rng(seed)
    lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    accepted = np.zeros((0, len(lo)))
    for _ in range(max_tries):
        need = n - len(accepted)
        if need <= 0:
            break
        cand = rng.uniform(lo, hi, size=(2 * need + 16, len(lo)))
        if len(accepted):
            far = cKDTree(accepted).query(cand, k=1)[0] >= min_distance
            cand = cand[far]
        keep: list[np.ndarray] = []
        for point in cand:
            if len(keep) >= need:
                break
            if keep and np.min(np.linalg.norm(np.asarray(keep) - point, axis=1)) < min_distance:
                continue
            keep.append(point)
        if keep:
            accepted = np.vstack([accepted, np.asarray(keep)])
    if len(accepted) < n:
        raise ConfigError(
            f"could only place {len(accepted)} of {n} points {min_distance} um apart in the box"
        )
    return accepted[:n]


def uniform_orientations(n: int, *, period: float = 180.0, seed: Seed = None) -> np.ndarray:
    """``n`` preferred orientations drawn uniformly in ``[0, period)`` degrees."""
    return _rng(seed).uniform(0.0, period, n)


def evenly_spaced_orientations(n: int, *, period: float = 180.0) -> np.ndarray:
    """``n`` orientations evenly covering ``[0, period)`` (``i * period / n``)."""
    return np.arange(n) * (period / max(n, 1))


def random_rotations(n: int, *, seed: Seed = None) -> np.ndarray:
    """``n`` rotation angles about the ``y`` axis, uniform in ``[0, 2 pi)`` radians.

    For ``rotation_angle_yaxis`` of biophysical cells.
    """
    return _rng(seed).uniform(0.0, 2.0 * np.pi, n)
