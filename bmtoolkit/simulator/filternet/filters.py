"""Linear filters of LGN cells: spatial Gaussians, raised-cosine temporal kernels, products.

Conventions (shared by every module of :mod:`bmtoolkit.simulator.filternet`):

- the screen is a grid of pixels; column ``j`` lies at horizontal position ``x = cols[j]`` and
  row ``i`` at vertical position ``y = rows[i]``, both in visual degrees (row 0 is the top row
  of a displayed frame);
- a movie is ``(T, n_rows, n_cols)`` contrast in ``[-1, 1]``, 0 being mean gray;
- temporal kernels are sampled at 1 kHz; sample ``i`` is the filter's weight ``i`` ms after
  a frame was shown. The linear response to a movie with frame rate ``f`` is
  ``L[n] = (1000 / f) * sum_i k(i / f) * s[n - i]`` where ``s`` is the spatially filtered
  movie, so the response does not depend on the frame rate for slow stimuli.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.simulator.filternet.filters import TemporalFilter, GaussianSpatialFilter
>>> tf = TemporalFilter(weights=(3.5, -1.8), kpeaks=(30.8, 58.4), delays=(0, 25))
>>> k = tf.kernel()
>>> k.shape, bool(k[:60].max() > 0), bool(k.min() < 0)
((600,), True, True)
>>> sf = GaussianSpatialFilter(x=5.0, y=5.0, sigma=(1.0, 1.0))
>>> w = sf.weights(np.arange(11.0), np.arange(11.0))
>>> round(float(w.sum()), 6), np.unravel_index(w.argmax(), w.shape)
(1.0, (np.int64(5), np.int64(5)))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bmtoolkit.exceptions import ConfigError

#: offset (ms) added to time before taking its logarithm in the raised-cosine basis
BUMP_OFFSET_MS = 0.3
#: width of the raised-cosine bumps on the log-time axis (bump spacing of the fitted basis)
BUMP_LOG_WIDTH = float(np.log((200.0 + BUMP_OFFSET_MS) / (100.0 + BUMP_OFFSET_MS)))
#: number of 1 ms samples of a bump before its delay
KERNEL_SAMPLES = 600
#: Gaussians are cut at this many standard deviations (as a 2-D Gaussian blur is)
DEFAULT_TRUNCATE = 4.0


# ----------------------------------------------------------------------------- temporal
def cosine_bump_kernels(
    weights: np.ndarray,
    kpeaks: np.ndarray,
    delays: np.ndarray,
    *,
    n_samples: int = KERNEL_SAMPLES,
) -> np.ndarray:
    """Temporal kernels of many cells, each the weighted sum of two raised-cosine bumps.

    Bump ``k`` is a raised cosine on the log-time axis peaking at ``kpeaks[k]`` ms,
    ``phi(t) = (1 + cos(clip((log(t + 0.3) - log(kpeak)) * pi / (2 * w), -pi, pi))) / 2``
    with ``w = log(200.3 / 100.3)``, sampled at ``t = 1 ... n_samples`` ms and scaled to unit
    Euclidean norm. It is then delayed by ``delays[k]`` whole milliseconds (fractions are
    dropped), so sample ``lag`` of the kernel holds ``phi(lag - delay + 1)``.

    Parameters
    ----------
    weights, kpeaks, delays : array_like, shape (N, 2) or (2,)
        Bump amplitudes, peak times (ms) and delays (ms) of each cell.
    n_samples : int
        Samples of each bump before the delay (600 = 600 ms).

    Returns
    -------
    np.ndarray, shape (N, L) or (L,)
        Kernels at 1 ms resolution, ``L = n_samples + max(delays[:, 0])``; trailing samples
        beyond a cell's own length are zero.

    Examples
    --------
    >>> k = cosine_bump_kernels([[1.0, -0.5]], [[20.0, 60.0]], [[0, 10]])
    >>> k.shape
    (1, 600)
    >>> int(np.argmax(k[0]))  # peaks shortly before the first bump's kpeak
    19
    """
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    kp = np.atleast_2d(np.asarray(kpeaks, dtype=float))
    d = np.atleast_2d(np.asarray(delays, dtype=float))
    squeeze = np.ndim(weights) == 1
    if not (w.shape == kp.shape == d.shape) or w.shape[1] < 1:
        raise ConfigError(
            f"weights {w.shape}, kpeaks {kp.shape} and delays {d.shape} must have the same "
            "shape (N, n_bumps)"
        )
    if np.any(~np.isfinite(kp)) or np.any(kp <= 0):
        raise ConfigError(f"kpeaks must be finite and > 0, got {kp[~(kp > 0)][:3]}")
    if np.any(~np.isfinite(d)) or np.any(d < 0):
        raise ConfigError("delays must be finite and >= 0")
    if np.any(~np.isfinite(w)):
        raise ConfigError("weights must be finite")
    di = np.floor(d).astype(np.int64)
    # the kernel spans the bumps of the first delay; later bumps are cut at that length
    lengths = n_samples + di[:, 0]
    n_out = int(lengths.max())
    lag = np.arange(n_out, dtype=float)
    out = np.zeros((w.shape[0], n_out))
    for b in range(w.shape[1]):
        t = lag[None, :] - di[:, b : b + 1] + 1.0  # time since the bump's onset, 1-based
        arg = (np.log(np.maximum(t, 1e-300) + BUMP_OFFSET_MS) - np.log(kp[:, b : b + 1])) * (
            np.pi / (2.0 * BUMP_LOG_WIDTH)
        )
        phi = 0.5 * (1.0 + np.cos(np.clip(arg, -np.pi, np.pi)))
        valid = (t >= 1.0) & (t <= n_samples) & (lag[None, :] < lengths[:, None])
        phi = np.where(valid, phi, 0.0)
        norm = np.sqrt((phi**2).sum(axis=1, keepdims=True))
        out += w[:, b : b + 1] * phi / np.where(norm > 0, norm, 1.0)
    return out[0] if squeeze else out


def resample_kernels(kernels_ms: np.ndarray, frame_rate: float, n_frames: int) -> np.ndarray:
    """Kernels sampled at 1 kHz -> weights per movie frame, frame-rate normalisation included.

    Sample ``j`` of the result is ``k(j * 1000 / frame_rate) * 1000 / frame_rate`` (``k``
    linearly interpolated) for ``j < n_frames`` while inside the kernel.

    Examples
    --------
    >>> resample_kernels(np.array([[1.0, 2.0, 3.0, 4.0]]), 500.0, 3)
    array([[2., 6.]])
    """
    k = np.atleast_2d(np.asarray(kernels_ms, dtype=float))
    step = 1000.0 / float(frame_rate)
    n_keep = min(int(n_frames), int(np.floor((k.shape[1] - 1) / step)) + 1)
    n_keep = max(n_keep, 1)
    if np.isclose(step, 1.0):
        return k[:, :n_keep] * step
    pos = np.arange(n_keep) * step
    i0 = np.floor(pos).astype(np.int64)
    frac = pos - i0
    i1 = np.minimum(i0 + 1, k.shape[1] - 1)
    return (k[:, i0] * (1.0 - frac) + k[:, i1] * frac) * step


def zero_crossing_ms(kernel_ms: np.ndarray) -> int:
    """Index (ms) where a biphasic kernel first falls below zero after its maximum.

    Raises
    ------
    ConfigError
        The kernel never crosses zero between its maximum and its minimum.

    Examples
    --------
    >>> zero_crossing_ms(np.array([0.0, 1.0, 2.0, 0.5, -1.0, -2.0, 0.0]))
    4
    """
    k = np.asarray(kernel_ms, dtype=float)
    i_max, i_min = int(np.argmax(k)), int(np.argmin(k))
    seg = k[i_max : i_min + 1]
    idx = np.nonzero((seg[:-1] >= 0) & (seg[1:] < 0))[0]
    if i_min <= i_max or idx.size == 0:
        raise ConfigError("temporal kernel has no positive-to-negative zero crossing")
    return i_max + int(idx[0]) + 1


@dataclass(frozen=True)
class TemporalFilter:
    """Two raised-cosine bumps (see :func:`cosine_bump_kernels`).

    Parameters
    ----------
    weights : tuple of float
        Amplitudes of the fast and the slow bump (the first is positive for a fitted cell).
    kpeaks : tuple of float
        Peak times (ms) of the bumps.
    delays : tuple of float
        Delays (ms) of the bumps.

    Examples
    --------
    >>> TemporalFilter((1.0, -0.5), (20.0, 60.0), (0, 0)).kernel().shape
    (600,)
    """

    weights: tuple[float, ...]
    kpeaks: tuple[float, ...]
    delays: tuple[float, ...] = (0.0, 0.0)

    def kernel(self, n_samples: int = KERNEL_SAMPLES) -> np.ndarray:
        """The kernel at 1 ms resolution (index = lag in ms)."""
        return cosine_bump_kernels(self.weights, self.kpeaks, self.delays, n_samples=n_samples)

    def transfer(self, freqs_hz: np.ndarray) -> np.ndarray:
        """Complex frequency response ``sum_t k[t] exp(-2 pi i f t)`` (t in seconds).

        Examples
        --------
        >>> tf = TemporalFilter((1.0, -0.5), (20.0, 60.0), (0, 0))
        >>> bool(abs(tf.transfer(np.array([4.0]))[0]) > 0)
        True
        """
        k = self.kernel()
        t = np.arange(k.size) * 1e-3
        return np.exp(-2j * np.pi * np.outer(np.asarray(freqs_hz, float), t)) @ k


# ----------------------------------------------------------------------------- spatial
def gaussian_weights(
    cols: np.ndarray,
    rows: np.ndarray,
    x: float,
    y: float,
    sigma: tuple[float, float],
    rotation: float = 0.0,
    *,
    truncate: float = DEFAULT_TRUNCATE,
) -> np.ndarray:
    """Unnormalised elliptical Gaussian on the pixel grid, cut at ``truncate`` deviations.

    Parameters
    ----------
    cols, rows : np.ndarray
        Pixel positions (degrees) of the columns and rows.
    x, y : float
        Centre (degrees).
    sigma : (float, float)
        Standard deviations along the Gaussian's own axes before rotation (degrees).
    rotation : float
        Counter-clockwise rotation of the axes, degrees.
    truncate : float
        Weights beyond this Mahalanobis radius are zero.

    Returns
    -------
    np.ndarray, shape (len(rows), len(cols))
    """
    sx, sy = (float(sigma[0]), float(sigma[1]))
    dx = np.asarray(cols, float)[None, :] - x
    dy = np.asarray(rows, float)[:, None] - y
    th = np.deg2rad(rotation)
    u = dx * np.cos(th) + dy * np.sin(th)
    v = -dx * np.sin(th) + dy * np.cos(th)
    r2 = (u / sx) ** 2 + (v / sy) ** 2
    g = np.exp(-0.5 * r2)
    g[r2 > truncate**2] = 0.0
    return g


@dataclass(frozen=True)
class GaussianSpatialFilter:
    """A spatial receptive field: Gaussian centre, optionally minus a Gaussian surround.

    The centre (and the surround) are each normalised to sum 1 over the on-screen pixels,
    so a full-field stimulus of contrast ``c`` gives ``c * (1 - surround_weight)``.

    Parameters
    ----------
    x, y : float
        Centre in visual degrees.
    sigma : (float, float)
        Standard deviations (degrees) along the field's axes (unequal = elongated).
    rotation : float
        Rotation of the axes, degrees counter-clockwise.
    surround_scale : float
        Surround sigma as a multiple of the centre sigma (difference of Gaussians).
    surround_weight : float
        Weight of the surround (0 = plain Gaussian).
    truncate : float
        Cut radius in standard deviations.

    Examples
    --------
    >>> import numpy as np
    >>> dog = GaussianSpatialFilter(10.0, 10.0, (1.5, 1.5), surround_scale=3.0,
    ...                             surround_weight=0.8)
    >>> w = dog.weights(np.arange(21.0), np.arange(21.0))
    >>> round(float(w.sum()), 6), bool(w.min() < 0)
    (0.2, True)
    """

    x: float
    y: float
    sigma: tuple[float, float] = (1.0, 1.0)
    rotation: float = 0.0
    surround_scale: float = 0.0
    surround_weight: float = 0.0
    truncate: float = DEFAULT_TRUNCATE

    def weights(self, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Weights on the grid ``(len(rows), len(cols))`` (zero when fully off-screen)."""
        g = _normalised(
            gaussian_weights(
                cols, rows, self.x, self.y, self.sigma, self.rotation, truncate=self.truncate
            )
        )
        if self.surround_weight:
            s = (self.sigma[0] * self.surround_scale, self.sigma[1] * self.surround_scale)
            g = g - self.surround_weight * _normalised(
                gaussian_weights(
                    cols, rows, self.x, self.y, s, self.rotation, truncate=self.truncate
                )
            )
        return g


def _normalised(g: np.ndarray) -> np.ndarray:
    total = g.sum()
    return g / total if total > 0 else g


@dataclass(frozen=True)
class SpatioTemporalFilter:
    """A separable filter: spatial weights times a temporal kernel times a signed amplitude.

    ``amplitude > 0`` is an ON filter, ``< 0`` an OFF filter.

    Examples
    --------
    >>> f = SpatioTemporalFilter(GaussianSpatialFilter(0.0, 0.0),
    ...                          TemporalFilter((1.0, -0.5), (20.0, 60.0)), amplitude=-1.0)
    >>> f.polarity
    'OFF'
    """

    spatial: GaussianSpatialFilter
    temporal: TemporalFilter
    amplitude: float = 1.0

    @property
    def polarity(self) -> str:
        """``"ON"`` or ``"OFF"``."""
        return "ON" if self.amplitude >= 0 else "OFF"


def as_pair(value: float | Sequence[float]) -> tuple[float, float]:
    """``3.0 -> (3.0, 3.0)``; ``(2, 4) -> (2.0, 4.0)``; strings like ``"(2, 4)"`` too.

    Examples
    --------
    >>> as_pair("(2.0, 4.0)"), as_pair(3)
    ((2.0, 4.0), (3.0, 3.0))
    """
    if isinstance(value, str):
        parts = [p for p in value.strip("()[] ").replace(",", " ").split() if p]
        try:
            vals = [float(p) for p in parts]
        except ValueError:
            raise ConfigError(f"expected a number or a pair of numbers, got {value!r}") from None
    elif np.ndim(value) == 0:
        vals = [float(value)]  # type: ignore[arg-type]
    else:
        vals = [float(v) for v in value]  # type: ignore[union-attr]
    if len(vals) == 1:
        return (vals[0], vals[0])
    if len(vals) != 2:
        raise ConfigError(f"expected a number or a pair of numbers, got {value!r}")
    return (vals[0], vals[1])
