"""BMTK's ``bmtk.builder.auxi.node_params`` module path, over :mod:`bmtoolkit.builder.positions`.

The functions keep BMTK's names and keyword arguments so that build scripts run unchanged.
Like BMTK's, they draw from NumPy's global random state, the same numbers in the same order,
so ``np.random.seed(n)`` at the top of a script gives the positions BMTK gives (and leaves the
generator where BMTK leaves it, for the connection rules that follow). ``y`` is the column axis.

- :func:`positions_columinar` (also spelled :func:`positions_columnar`): a vertical cylinder
  or cylindrical shell (:func:`bmtoolkit.builder.positions.cylinder` does the same with an
  explicit generator);
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

from bmtoolkit.exceptions import ConfigError

__all__ = [
    "positions_columinar",
    "positions_columnar",
    "positions_list",
    "positions_rect_prism",
    "xiter_random",
]


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
    n = int(N)
    r_in, r_out = float(min_radius), float(max_radius)
    if not 0.0 <= r_in <= r_out:
        raise ConfigError(
            f"radii must satisfy 0 <= min_radius <= max_radius, got {r_in} and {r_out}",
            field="min_radius",
        )
    cx, cy, cz = (float(c) for c in center)
    # angle, radius (uniform by area between the radii), height: BMTK's draws, in its order
    phi = 2.0 * np.pi * np.random.random(n)
    r = np.sqrt((r_in**2 - r_out**2) * np.random.random(n) + r_out**2)
    y = cy + float(height) * (np.random.random(n) - 0.5)
    points = np.column_stack((cx + r * np.cos(phi), y, cz + r * np.sin(phi)))
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
    n = int(N)
    cx, cy, cz = (float(c) for c in center)
    # x, z, then y: BMTK's draws, in its order
    x = cx + float(x_length) * (np.random.random(n) - 0.5)
    z = cz + float(z_length) * (np.random.random(n) - 0.5)
    y = cy + float(height) * (np.random.random(n) - 0.5)
    points = np.column_stack((x, y, z))
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
    return np.random.uniform(low=float(min_x), high=float(max_x), size=(int(N),))
