"""Visual stimuli as movies: flashes, gratings, bars, looming discs, gray screens, arrays.

Every stimulus is a :class:`Movie`: contrast frames ``(T, n_rows, n_cols)`` in ``[-1, 1]``
(0 = mean gray) with a frame rate and the position (visual degrees) of each row and column.
Stimuli are registered by name in :data:`STIMULI` so that the ``inputs`` section of a
simulation config can name them (``"input_type": "movie", "module": "grating"``); BMTK's
parameter names (``cpd``, ``temporal_f``, ``theta``, ``row_size`` ...) are accepted.

Orientation angles are counter-clockwise on the displayed screen (rows run downward), and a
grating at ``orientation`` drifts toward that direction.

Examples
--------
>>> from bmtoolkit.simulator.filternet.stimuli import make_stimulus
>>> m = make_stimulus("grating", {"row_size": 12, "col_size": 24, "sf": 0.1, "tf": 2.0},
...                   duration_ms=500.0)
>>> m.data.shape, m.frame_rate
((500, 12, 24), 1000.0)
>>> flash = make_stimulus("full_field_flash", {"row_size": 4, "col_size": 4,
...                       "t_on": 100.0, "t_off": 200.0}, duration_ms=300.0)
>>> float(flash.data[150].mean()), float(flash.data[250].mean())
(1.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError, MissingFileError
from bmtoolkit.registry import Registry


@dataclass(frozen=True)
class Movie:
    """Contrast frames on a grid of visual-field positions.

    Parameters
    ----------
    data : np.ndarray, shape (T, n_rows, n_cols)
        Contrast in ``[-1, 1]`` (float32 is used internally).
    frame_rate : float
        Frames per second.
    rows, cols : np.ndarray
        Vertical / horizontal position (degrees) of each row / column.
    t0 : float
        Time (ms) of the first frame.

    Examples
    --------
    >>> import numpy as np
    >>> m = Movie.from_array(np.zeros((10, 3, 4)), frame_rate=100.0, degrees_per_pixel=2.0)
    >>> m.cols.tolist(), m.times_ms[:3].tolist()
    ([0.0, 2.0, 4.0, 6.0], [0.0, 10.0, 20.0])
    """

    data: np.ndarray
    frame_rate: float
    rows: np.ndarray
    cols: np.ndarray
    t0: float = 0.0

    def __post_init__(self) -> None:
        if self.data.ndim != 3:
            raise ConfigError(f"movie must be (frames, rows, cols), got shape {self.data.shape}")
        if self.data.shape[1:] != (len(self.rows), len(self.cols)):
            raise ConfigError(
                f"movie frames are {self.data.shape[1:]} but {len(self.rows)} rows and "
                f"{len(self.cols)} columns were given"
            )
        if not self.frame_rate > 0:
            raise ConfigError(f"frame_rate must be > 0, got {self.frame_rate}", field="frame_rate")

    @classmethod
    def from_array(
        cls,
        data: np.ndarray,
        *,
        frame_rate: float,
        degrees_per_pixel: float | tuple[float, float] = 1.0,
        t0: float = 0.0,
    ) -> Movie:
        """Wrap an array with square (or given ``(dy, dx)``) pixels starting at 0 degrees."""
        arr = np.asarray(data, dtype=np.float32)
        dy, dx = np.broadcast_to(np.asarray(degrees_per_pixel, dtype=float), (2,))
        if arr.ndim != 3:
            raise ConfigError(f"movie must be (frames, rows, cols), got shape {arr.shape}")
        return cls(arr, float(frame_rate), np.arange(arr.shape[1]) * dy,
                   np.arange(arr.shape[2]) * dx, t0)  # fmt: skip

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return int(self.data.shape[0])

    @property
    def times_ms(self) -> np.ndarray:
        """Time of each frame (ms)."""
        return self.t0 + np.arange(self.n_frames) * (1000.0 / self.frame_rate)

    @property
    def dt_ms(self) -> float:
        """Frame interval (ms)."""
        return 1000.0 / self.frame_rate


def screen_grid(row_size: float, col_size: float, degrees_per_pixel: float = 1.0):
    """Row and column positions (degrees) of a ``row_size x col_size`` degree screen."""
    if degrees_per_pixel <= 0 or row_size <= 0 or col_size <= 0:
        raise ConfigError("row_size, col_size and degrees_per_pixel must be > 0")
    n_r = max(int(round(row_size / degrees_per_pixel)), 1)
    n_c = max(int(round(col_size / degrees_per_pixel)), 1)
    return np.arange(n_r) * degrees_per_pixel, np.arange(n_c) * degrees_per_pixel


def _n_frames(duration_ms: float, frame_rate: float) -> int:
    return max(int(round(duration_ms * frame_rate / 1000.0)), 1)


# ----------------------------------------------------------------------------- generators
def gray_screen(row_size=120.0, col_size=240.0, *, duration_ms, frame_rate=1000.0,
                degrees_per_pixel=1.0) -> Movie:  # fmt: skip
    """Mean-gray frames (contrast 0) for ``duration_ms``."""
    rows, cols = screen_grid(row_size, col_size, degrees_per_pixel)
    data = np.zeros((_n_frames(duration_ms, frame_rate), len(rows), len(cols)), np.float32)
    return Movie(data, float(frame_rate), rows, cols)


def full_field_flash(row_size=120.0, col_size=240.0, *, duration_ms, t_on=0.0, t_off=None,
                     contrast=1.0, frame_rate=1000.0, degrees_per_pixel=1.0) -> Movie:  # fmt: skip
    """Whole screen at ``contrast`` from ``t_on`` to ``t_off`` ms, gray otherwise.

    Examples
    --------
    >>> m = full_field_flash(2, 2, duration_ms=10.0, t_on=5.0, contrast=-1.0)
    >>> m.data[:, 0, 0].tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, -1.0, -1.0, -1.0]
    """
    m = gray_screen(row_size, col_size, duration_ms=duration_ms, frame_rate=frame_rate,
                    degrees_per_pixel=degrees_per_pixel)  # fmt: skip
    t = m.times_ms
    t_off = np.inf if t_off is None else float(t_off)
    if t_off <= t_on:
        raise ConfigError(f"t_off ({t_off}) must be after t_on ({t_on})", field="t_off")
    m.data[(t >= t_on) & (t < t_off)] = contrast
    return m


def spanning_grid(row_size: float, col_size: float, degrees_per_pixel: float = 1.0):
    """Row and column positions of a screen whose first and last pixels lie on its edges.

    ``int(size / degrees_per_pixel)`` pixels spread evenly over ``[0, size]`` (both ends
    included), the grid of BMTK's generated gratings and looming discs.

    Examples
    --------
    >>> rows, cols = spanning_grid(120, 240, 2.5)
    >>> len(rows), len(cols), float(rows[-1]), round(float(cols[1]), 4)
    (48, 96, 120.0, 2.5263)
    """
    if degrees_per_pixel <= 0 or row_size <= 0 or col_size <= 0:
        raise ConfigError("row_size, col_size and degrees_per_pixel must be > 0")
    n_r = max(int(row_size / degrees_per_pixel), 2)
    n_c = max(int(col_size / degrees_per_pixel), 2)
    return np.linspace(0.0, row_size, n_r), np.linspace(0.0, col_size, n_c)


def grating(row_size=120.0, col_size=240.0, *, duration_ms, sf=0.05, tf=4.0, orientation=45.0,
            phase=0.0, contrast=1.0, gray_screen_dur=0.0, frame_rate=1000.0,
            degrees_per_pixel=None) -> Movie:  # fmt: skip
    """Sinusoidal grating, drifting (``tf > 0``) or static (``tf = 0``).

    ``contrast * sin(2 pi (sf * (x cos th - y sin th) - tf * t) + phase)``; ``sf`` in cycles
    per degree, ``tf`` in Hz, ``orientation`` and ``phase`` in degrees, ``t`` in seconds from
    the grating's onset after ``gray_screen_dur`` ms of gray. The defaults (0.05 cpd, 4 Hz,
    45 degrees, full contrast) and the screen are BMTK's: ``int(size / degrees_per_pixel)``
    pixels spanning ``[0, size]`` with ``degrees_per_pixel = 1 / (10 sf)`` unless given.
    """
    if not 0.0 <= contrast <= 1.0:
        raise ConfigError(f"contrast must be within [0, 1], got {contrast}", field="contrast")
    if sf < 0 or tf < 0:
        raise ConfigError("sf and tf must be >= 0", field="sf")
    if degrees_per_pixel is None:
        degrees_per_pixel = 1.0 if sf <= 0 else 1.0 / (10.0 * sf)
    rows, cols = spanning_grid(row_size, col_size, degrees_per_pixel)
    n = _n_frames(duration_ms, frame_rate)
    t = (np.arange(n) / frame_rate - gray_screen_dur / 1000.0).astype(np.float64)
    th = np.deg2rad(orientation)
    spatial = sf * (cols[None, :] * np.cos(th) - rows[:, None] * np.sin(th))
    ph = np.deg2rad(phase)
    # sin(a - b) = sin a cos b - cos a sin b keeps memory at one (T, R, C) array
    sa = np.sin(2 * np.pi * spatial + ph).astype(np.float32)
    ca = np.cos(2 * np.pi * spatial + ph).astype(np.float32)
    cb = (contrast * np.cos(2 * np.pi * tf * t)).astype(np.float32)
    sb = (contrast * np.sin(2 * np.pi * tf * t)).astype(np.float32)
    data = cb[:, None, None] * sa[None] - sb[:, None, None] * ca[None]
    data[t < 0] = 0.0
    return Movie(data, float(frame_rate), rows, cols)


def static_grating(row_size=120.0, col_size=240.0, **params: Any) -> Movie:
    """A grating with ``tf = 0``."""
    params["tf"] = 0.0
    return grating(row_size, col_size, **params)


def moving_bar(row_size=120.0, col_size=240.0, *, duration_ms, width=5.0, speed=30.0,
               direction=0.0, contrast=1.0, start=None, frame_rate=1000.0,
               degrees_per_pixel=1.0) -> Movie:  # fmt: skip
    """A full-length bar ``width`` degrees wide sweeping at ``speed`` deg/s toward ``direction``.

    ``start`` is the bar centre's signed distance (degrees) from the screen centre along the
    direction of motion at t = 0 (default: just off-screen).
    """
    rows, cols = screen_grid(row_size, col_size, degrees_per_pixel)
    th = np.deg2rad(direction)
    cx, cy = cols.mean(), rows.mean()
    proj = (cols[None, :] - cx) * np.cos(th) - (rows[:, None] - cy) * np.sin(th)
    if start is None:
        start = float(proj.min()) - width
    t = np.arange(_n_frames(duration_ms, frame_rate)) / frame_rate
    centre = start + speed * t
    data = (np.abs(proj[None] - centre[:, None, None]) <= width / 2.0).astype(np.float32)
    return Movie(data * np.float32(contrast), float(frame_rate), rows, cols)


def looming(row_size=120.0, col_size=240.0, *, duration_ms, gray_screen_dur=0.5, t_looming=1.0,
            t_expand=5.0 / 6.0, radius_end=25.0, center=None, contrast=-1.0,
            frame_rate=1000.0, degrees_per_pixel=1.0) -> Movie:  # fmt: skip
    """A looming disc: after ``gray_screen_dur`` s of gray, a disc of ``contrast`` (dark by
    default) whose area grows linearly until its radius reaches ``radius_end`` degrees at
    ``t_expand`` s, and which stays until ``t_looming`` s after its onset; gray afterwards.

    Times are in seconds, as BMTK's looming movie takes them; the defaults are BMTK's (area
    growing by 750 square pixels per second, so 25 degrees at 5/6 s). The screen spans
    ``[0, size]`` like BMTK's and the disc is centred on it unless ``center = (x, y)``
    degrees is given.

    Examples
    --------
    >>> m = looming(20, 40, duration_ms=1500.0, t_looming=0.5, t_expand=0.2, radius_end=5.0)
    >>> dark = (m.data < 0).sum(axis=(1, 2))
    >>> int(dark[499]), bool(dark[600] > 0), bool(dark[900] == dark[700]), int(dark[1100])
    (0, True, True, 0)
    """
    if t_looming < 0 or gray_screen_dur < 0 or t_expand <= 0 or radius_end <= 0:
        raise ConfigError(
            "looming needs t_looming >= 0, gray_screen_dur >= 0 and t_expand > 0 (seconds) "
            "and radius_end > 0 (degrees)",
            field="t_looming",
        )
    rows, cols = spanning_grid(row_size, col_size, degrees_per_pixel)
    cx, cy = (col_size / 2.0, row_size / 2.0) if center is None else center
    r2 = (cols[None, :] - cx) ** 2 + (rows[:, None] - cy) ** 2
    t = np.arange(_n_frames(duration_ms, frame_rate)) / float(frame_rate) - gray_screen_dur
    radius2 = radius_end**2 * np.minimum(t / t_expand, 1.0)
    radius2[(t < 0) | (t >= t_looming)] = -1.0
    data = (r2[None] <= radius2[:, None, None]).astype(np.float32) * np.float32(contrast)
    return Movie(data, float(frame_rate), rows, cols)


def normalize_contrast(data: np.ndarray, domain: Any = True) -> np.ndarray:
    """Map pixel values to contrast ``[-1, 1]``.

    ``domain`` ``(lo, hi)`` maps ``lo -> -1`` and ``hi -> 1``; ``True``/``"auto"`` guesses it
    (``[0, 1]``, already ``[-1, 1]``, 8-bit ``[0, 255]``, else the data range).

    Examples
    --------
    >>> normalize_contrast(np.array([0, 255, 127.5])).tolist()
    [-1.0, 1.0, 0.0]
    """
    arr = np.asarray(data, dtype=np.float32)
    if isinstance(domain, list | tuple | np.ndarray):
        if len(domain) != 2 or not domain[0] < domain[1]:
            raise ConfigError(f"normalize must be [min, max] with min < max, got {domain}",
                              field="normalize")  # fmt: skip
        lo, hi = float(domain[0]), float(domain[1])
        if arr.min() < lo or arr.max() > hi:
            raise ConfigError(f"movie values [{arr.min()}, {arr.max()}] fall outside the "
                              f"normalize domain [{lo}, {hi}]", field="normalize")  # fmt: skip
    else:
        mn, mx = float(arr.min()), float(arr.max())
        if mn >= 0.0 and mx <= 1.0:
            lo, hi = 0.0, 1.0
        elif mn >= -1.0 and mx <= 1.0:
            return arr
        elif mn >= 0.0 and mx <= 255.0:
            lo, hi = 0.0, 255.0
        else:
            lo, hi = mn, mx
        if hi == lo:
            raise ConfigError("cannot normalize a constant movie; give normalize=[min, max]",
                              field="normalize")  # fmt: skip
    return (arr - np.float32(lo)) * np.float32(2.0 / (hi - lo)) - np.float32(1.0)


def movie_from_array(data=None, *, duration_ms=None, data_file=None, frame_rate=1000.0,
                     degrees_per_pixel=1.0, normalize=False, flip_y=False, row_range=None,
                     col_range=None, t_start=0.0) -> Movie:  # fmt: skip
    """A movie from an array or a ``.npy``/``.npz`` file of frames ``(T, rows, cols)``.

    ``normalize`` maps pixel values to contrast (see :func:`normalize_contrast`); ``row_range``
    and ``col_range`` (degrees of each row/column) override ``degrees_per_pixel``; when
    ``duration_ms`` is longer than the movie, gray frames are appended.
    """
    if data is None:
        if data_file is None:
            raise ConfigError("a movie input needs 'data' or 'data_file'", field="data_file")
        path = Path(data_file)
        if not path.is_file():
            raise MissingFileError(f"movie file {path} does not exist", path=path,
                                   field="data_file")  # fmt: skip
        try:
            loaded = np.load(path, mmap_mode="r") if path.suffix == ".npy" else np.load(path)
        except (OSError, ValueError) as err:
            raise ConfigError(f"cannot read movie: {err}", path=path, field="data_file") from err
        if hasattr(loaded, "files"):
            if not loaded.files:
                raise ConfigError("the .npz file holds no array", path=path, field="data_file")
            loaded = loaded[loaded.files[0]]
        data = loaded
    arr = np.asarray(data, dtype=np.float32)
    if normalize:
        arr = normalize_contrast(arr, normalize)
    if flip_y:
        arr = arr[:, ::-1, :]
    m = Movie.from_array(np.ascontiguousarray(arr), frame_rate=frame_rate,
                         degrees_per_pixel=degrees_per_pixel)  # fmt: skip
    if row_range is not None or col_range is not None:
        rows = m.rows if row_range is None else np.asarray(row_range, float)
        cols = m.cols if col_range is None else np.asarray(col_range, float)
        m = Movie(m.data, m.frame_rate, rows, cols)
    if t_start:
        pad = np.zeros((_n_frames(t_start, frame_rate),) + m.data.shape[1:], np.float32)
        m = Movie(np.concatenate([pad, m.data]), m.frame_rate, m.rows, m.cols)
    if duration_ms is not None:
        n = _n_frames(duration_ms, frame_rate)
        if n > m.n_frames:
            pad = np.zeros((n - m.n_frames,) + m.data.shape[1:], np.float32)
            m = Movie(np.concatenate([m.data, pad]), m.frame_rate, m.rows, m.cols)
    return m


# ----------------------------------------------------------------------------- registry
#: stimulus name -> generator ``fn(**params, duration_ms=...) -> Movie``
STIMULI: Registry[Callable[..., Movie]] = Registry("filternet stimulus")
STIMULI.register("movie", movie_from_array, aliases=("array", "npy"))
STIMULI.register("gray_screen", gray_screen, aliases=("gray", "grey_screen"))
STIMULI.register("full_field_flash", full_field_flash, aliases=("flash",))
STIMULI.register("grating", grating, aliases=("graiting", "drifting_grating"))
STIMULI.register("static_grating", static_grating)
STIMULI.register("moving_bar", moving_bar, aliases=("bar",))
STIMULI.register("looming", looming, aliases=("looming_disc",))

#: BMTK parameter name -> ours
PARAM_ALIASES: Mapping[str, str] = {
    "cpd": "sf",
    "temporal_f": "tf",
    "theta": "orientation",
    "max_intensity": "contrast",
    "gray_sceen_dur": "gray_screen_dur",  # BMTK's looming reads this spelling
}
#: config keys that never reach a generator
_IGNORED = {"input_type", "module", "node_set", "enabled", "evaluation_options", "name",
            "y_dir", "labels", "units", "padding", "row_size_new", "col_size_new"}  # fmt: skip


def make_stimulus(name: str, params: Mapping[str, Any], *, duration_ms: float) -> Movie:
    """Build the stimulus ``name`` from config-style ``params`` lasting ``duration_ms``.

    Raises
    ------
    UnknownModelError
        ``name`` is not registered (the message lists the known stimuli).
    ConfigError
        A parameter is not understood by the stimulus (named in the message).
    """
    import inspect

    fn = STIMULI.get(name or "movie")
    kwargs: dict[str, Any] = {}
    for key, value in params.items():
        if key in _IGNORED:
            continue
        kwargs[PARAM_ALIASES.get(key, key)] = value
    accepted = inspect.signature(fn).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    target = grating if fn is static_grating else fn
    names = set(inspect.signature(target).parameters)
    unknown = sorted(k for k in kwargs if k not in names and not (takes_any and k in names))
    if unknown:
        raise ConfigError(
            f"stimulus {name!r} does not take {', '.join(unknown)}; it takes "
            f"{', '.join(sorted(n for n in names if n != 'duration_ms'))}",
            field=unknown[0],
        )
    return fn(duration_ms=duration_ms, **kwargs)
