"""BMTK's ``bmtk.builder.auxi.node_params`` module path, over :mod:`bmtoolkit.builder.positions`.

The functions keep BMTK's names and keyword arguments so that build scripts run unchanged.
Like BMTK's, they draw from NumPy's global random state, so ``np.random.seed(n)`` at the top
of a script makes the placement reproducible (the stream differs from BMTK's: the same seed
gives other, equally distributed points). ``y`` is the column axis.

- :func:`positions_columinar` (also spelled :func:`positions_columnar`): a vertical cylinder
  or cylindrical shell, :func:`bmtoolkit.builder.positions.cylinder`;
- :func:`positions_rect_prism`: a box;
- :func:`positions_list`: an ``(N, 3)`` array passed through;
- :func:`xiter_random`: ``N`` uniform values, e.g. rotation angles.

Examples
--------
>>> import numpy as np
>>> np.random.seed(1)
>>> pos = positions_columinar(N=100, center=[0.0, 50.0, 0.0], max_radius=30.0, height=100.0)
>>> pos.shape, bool((np.hypot(pos[:, 0], pos[:, 2]) <= 30.0).all())
((100, 3), True)
>>> bool(((pos[:, 1] >= 0.0) & (pos[:, 1] <= 100.0)).all())
True
>>> xiter_random(N=4, min_x=0.0, max_x=2 * np.pi).shape
(4,)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bmtoolkit.builder import positions as _positions
from bmtoolkit.exceptions import ConfigError

__all__ = [
    "positions_columinar",
    "positions_columnar",
    "positions_list",
    "positions_rect_prism",
    "xiter_random",
]


def _global_rng() -> np.random.Generator:
    """A generator seeded from NumPy's global state (what ``np.random.seed`` sets)."""
    return np.random.default_rng(np.random.randint(0, 2**31 - 1))


def _show(points: np.ndarray) -> None:
    """Side and top views of ``points``, as BMTK's ``plot=True`` draws them."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    for ax, (a, b), title in zip(axes, ((0, 1), (0, 2)), ("side view", "top view")):
        ax.scatter(points[:, a], points[:, b], s=4)
        ax.set_xlabel("xyz"[a])
        ax.set_ylabel("xyz"[b])
        ax.set_title(title)


def positions_columinar(
    N: int = 1,
    center: Sequence[float] = (0.0, 50.0, 0.0),
    height: float = 100.0,
    min_radius: float = 0.0,
    max_radius: float = 1.0,
    plot: bool = False,
) -> np.ndarray:
    """``N`` points uniform in a vertical cylinder (or shell) around ``center``.

    Parameters
    ----------
    N : int
        Number of points.
    center : (x, y, z)
        Centre of the cylinder; ``y`` spans ``center[1] +- height / 2``.
    height : float
        Extent along ``y`` (um).
    min_radius, max_radius : float
        Radii of the empty core and of the cylinder in the ``x``-``z`` plane.
    plot : bool
        Draw side and top views with matplotlib.

    Returns
    -------
    numpy.ndarray
        ``(N, 3)`` positions.

    Examples
    --------
    >>> import numpy as np
    >>> pos = positions_columinar(N=50, min_radius=5.0, max_radius=10.0)
    >>> r = np.hypot(pos[:, 0], pos[:, 2])
    >>> bool(((r >= 5.0) & (r <= 10.0)).all())
    True
    """
    points = _positions.cylinder(
        int(N),
        float(max_radius),
        float(height),
        center=tuple(center),
        inner_radius=float(min_radius),
        seed=_global_rng(),
    )
    if plot:
        _show(points)
    return points


#: BMTK's second spelling of :func:`positions_columinar`
positions_columnar = positions_columinar


def positions_rect_prism(
    N: int = 1,
    center: Sequence[float] = (0.0, 50.0, 0.0),
    height: float = 20.0,
    x_length: float = 100.0,
    z_length: float = 100.0,
    plot: bool = False,
) -> np.ndarray:
    """``N`` points uniform in a box of ``x_length x height x z_length`` around ``center``.

    Examples
    --------
    >>> pos = positions_rect_prism(N=20, center=[0.0, 0.0, 0.0], height=2.0)
    >>> bool((abs(pos[:, 1]) <= 1.0).all())
    True
    """
    half = np.array([x_length, height, z_length], dtype=float) / 2.0
    c = np.asarray(center, dtype=float)
    points = _global_rng().uniform(c - half, c + half, size=(int(N), 3))
    if plot:
        _show(points)
    return points


def positions_list(positions: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """The given ``(N, 3)`` coordinates as a float array (checked for shape).

    Examples
    --------
    >>> positions_list([[0, 0, 0], [0, 0, 1]]).tolist()
    [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    points = np.asarray(positions, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ConfigError(f"positions must be an (N, 3) array, got shape {points.shape}")
    return points


def xiter_random(N: int = 1, min_x: float = 0.0, max_x: float = 1.0) -> np.ndarray:
    """``N`` values uniform in ``[min_x, max_x)``.

    Examples
    --------
    >>> v = xiter_random(N=10, min_x=2.0, max_x=3.0)
    >>> bool(((v >= 2.0) & (v < 3.0)).all())
    True
    """
    return _global_rng().uniform(float(min_x), float(max_x), int(N))
