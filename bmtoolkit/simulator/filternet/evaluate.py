"""Fast evaluation of LGN cells on a movie: spatial matrix products, FFT temporal filtering.

The three stages, each vectorized across cells:

1. **spatial**: subunits are grouped by screen tile and receptive-field size; for each group
   the movie patch covering their fields, ``(T, P)``, is multiplied by the group's dense
   weight matrix ``(P, n)`` (one BLAS call per group), giving ``s(t)`` for every subunit;
2. **temporal**: ``L = k * s`` by real FFT along time for blocks of subunits (kernels resampled
   to the frame rate, see :func:`~bmtoolkit.simulator.filternet.filters.resample_kernels`);
3. **nonlinearity**: ``rate = sum_subunits f(amplitude * L + offset)``.

Cells can be split into blocks evaluated by worker processes (``n_workers``); blocks share
the movie through ``fork``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from bmtoolkit.simulator.filternet.cells import build_cells
>>> from bmtoolkit.simulator.filternet.stimuli import full_field_flash
>>> cells = build_cells(pd.DataFrame({"model_template": ["lgnmodel:sON_TF8"], "x": [5.0],
...                                   "y": [5.0], "spatial_size": [3.0], "spont_fr": [2.0]}))
>>> movie = full_field_flash(10, 10, duration_ms=300.0, t_on=100.0)
>>> out = evaluate_rates(cells, movie)
>>> out.rates.shape, round(float(out.rates[0, 50]), 4)
((1, 300), 2.0)
"""

from __future__ import annotations

import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.fft

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.filternet.cells import LGNCells
from bmtoolkit.simulator.filternet.filters import resample_kernels
from bmtoolkit.simulator.filternet.nonlinearity import NONLINEARITIES
from bmtoolkit.simulator.filternet.spatial import SPATIAL_KERNELS, ScreenGrid
from bmtoolkit.simulator.filternet.stimuli import Movie

log = logging.getLogger("bmtoolkit.simulator.filternet")

#: subunits per FFT block (bounds the complex spectra kept in memory)
FFT_BLOCK = 2048
#: screen tile edge (pixels) used to group subunits for the spatial products
TILE_PIXELS = 16


@dataclass(frozen=True)
class RateResult:
    """Firing rates of cells over time.

    Attributes
    ----------
    node_ids : np.ndarray (N,)
    times_ms : np.ndarray (T,)
        Time of each sample (the movie's frame times).
    rates : np.ndarray (N, T) float32
        Rates in Hz.
    """

    node_ids: np.ndarray
    times_ms: np.ndarray
    rates: np.ndarray

    @property
    def dt_ms(self) -> float:
        """Sample interval (ms)."""
        return float(self.times_ms[1] - self.times_ms[0]) if len(self.times_ms) > 1 else 1.0


def spatial_responses(cells: LGNCells, movie: Movie, *, tile: int = TILE_PIXELS) -> np.ndarray:
    """``s[j, t] = amplitude_j * sum_pixels w_j(pixel) * movie[t, pixel]`` for every subunit.

    Returns
    -------
    np.ndarray, shape (S, T) float32
    """
    grid = ScreenGrid.from_positions(movie.rows, movie.cols)
    rows, cols = np.asarray(movie.rows, float), np.asarray(movie.cols, float)
    dy, dx = grid.dy, grid.dx
    n_r, n_c = grid.shape
    # pixel index of each centre and reach (pixels) of each field
    ci = np.clip(np.rint((cells.x - cols[0]) / dx), -1e6, 1e6)
    ri = np.clip(np.rint((cells.y - rows[0]) / dy), -1e6, 1e6)
    scale = np.maximum(1.0, np.where(cells.surround_weight != 0, cells.surround_scale, 1.0))
    reach = cells.truncate * cells.sigma.max(axis=1) * scale
    # + 2 pixels: the seed and the interpolation of the "pixel" kernel widen it by 1.5 pixels
    reach_px = np.ceil(reach / min(dx, dy)).astype(np.int64) + 2
    size_class = np.ceil(np.log2(reach_px + 1)).astype(np.int64)
    key = np.stack([np.floor(ri / tile), np.floor(ci / tile), size_class], axis=1)
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.ravel()
    out = np.zeros((cells.n_subunits, movie.n_frames), dtype=np.float32)
    flat = movie.data.reshape(movie.n_frames, -1) if movie.data.flags.c_contiguous else None
    for g in range(int(group.max()) + 1 if group.size else 0):
        idx = np.nonzero(group == g)[0]
        r0 = int(max(0, (ri[idx] - reach_px[idx]).min()))
        r1 = int(min(n_r, (ri[idx] + reach_px[idx]).max() + 1))
        c0 = int(max(0, (ci[idx] - reach_px[idx]).min()))
        c1 = int(min(n_c, (ci[idx] + reach_px[idx]).max() + 1))
        if r1 <= r0 or c1 <= c0:
            continue  # fields entirely off-screen see only gray
        w = _group_weights(cells, idx, grid, (r0, r1, c0, c1))  # (n, P)
        if r0 == 0 and r1 == n_r and c0 == 0 and c1 == n_c and flat is not None:
            patch = flat
        else:
            patch = movie.data[:, r0:r1, c0:c1].reshape(movie.n_frames, -1)
        out[idx] = (patch @ w.T).T
    return out


def _group_weights(cells: LGNCells, idx: np.ndarray, grid: ScreenGrid,
                   box: tuple[int, int, int, int]) -> np.ndarray:  # fmt: skip
    r0, r1, c0, c1 = box
    kernel = SPATIAL_KERNELS.get(cells.spatial_kernel)
    ri, ci = np.arange(r0, r1), np.arange(c0, c1)
    w = np.empty((len(idx), (r1 - r0) * (c1 - c0)), dtype=np.float32)
    for k, j in enumerate(idx):
        g = _normalised(kernel(grid, ri, ci, cells.x[j], cells.y[j], tuple(cells.sigma[j]),
                               cells.rotation[j], truncate=cells.truncate))  # fmt: skip
        sw = cells.surround_weight[j]
        if sw:
            s = tuple(cells.sigma[j] * cells.surround_scale[j])
            g = g - sw * _normalised(kernel(grid, ri, ci, cells.x[j], cells.y[j], s,
                                            cells.rotation[j], truncate=cells.truncate))  # fmt: skip
        w[k] = (cells.amplitude[j] * g).ravel()
    return w


def _normalised(g: np.ndarray) -> np.ndarray:
    """``g`` scaled to sum 1 over the visible pixels (unchanged when fully off-screen)."""
    total = g.sum()
    return g / total if total > 0 else g


def temporal_filter(signals: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """Causal convolution of each row of ``signals`` (S, T) with its kernel (S, K), by FFT.

    ``out[j, n] = sum_{i <= n} kernels[j, i] * signals[j, n - i]`` (signals are zero before 0).
    """
    s = np.asarray(signals)
    k = np.asarray(kernels)
    n_t, n_k = s.shape[1], k.shape[1]
    n_fft = scipy.fft.next_fast_len(n_t + n_k - 1, real=True)
    out = np.empty(s.shape, dtype=np.float32)
    for a in range(0, s.shape[0], FFT_BLOCK):
        b = min(a + FFT_BLOCK, s.shape[0])
        fs = scipy.fft.rfft(s[a:b], n_fft, axis=1, workers=-1)
        fs *= scipy.fft.rfft(k[a:b].astype(s.dtype, copy=False), n_fft, axis=1, workers=-1)
        out[a:b] = scipy.fft.irfft(fs, n_fft, axis=1, workers=-1)[:, :n_t]
    return out


def _evaluate_block(cells: LGNCells, movie: Movie, nonlinearity: str) -> np.ndarray:
    nl = NONLINEARITIES.get(nonlinearity)
    spatial = spatial_responses(cells, movie)
    kernels = resample_kernels(cells.kernels, movie.frame_rate, movie.n_frames).astype(np.float32)
    linear = temporal_filter(spatial, kernels)
    del spatial
    sub_rates = nl(linear, cells.offset.astype(np.float32)[:, None]).astype(np.float32, copy=False)
    return np.add.reduceat(sub_rates, cells.cell_start, axis=0)


_WORKER_MOVIE: list[Movie] = []


def _init_worker(movie: Movie) -> None:
    _WORKER_MOVIE[:] = [movie]


def _worker(args: tuple[LGNCells, str]) -> np.ndarray:
    return _evaluate_block(args[0], _WORKER_MOVIE[0], args[1])


def evaluate_rates(
    cells: LGNCells,
    movie: Movie,
    *,
    nonlinearity: str = "rectify",
    n_workers: int = 1,
    block_cells: int | None = None,
) -> RateResult:
    """Firing rates (Hz) of every cell at every movie frame.

    Parameters
    ----------
    cells : LGNCells
        The cells (see :func:`~bmtoolkit.simulator.filternet.cells.build_cells`).
    movie : Movie
        The stimulus.
    nonlinearity : str
        Name in :data:`~bmtoolkit.simulator.filternet.nonlinearity.NONLINEARITIES`.
    n_workers : int
        Worker processes evaluating blocks of cells (1 = in this process; BLAS and FFT
        still use several threads).
    block_cells : int, optional
        Cells per block (default: all cells in one block, or an even split over workers).

    Returns
    -------
    RateResult
    """
    NONLINEARITIES.get(nonlinearity)  # fail early on a bad name
    if n_workers < 1:
        raise ConfigError(f"n_workers must be >= 1, got {n_workers}", field="n_workers")
    n = cells.n_cells
    if block_cells is None:
        block_cells = n if n_workers == 1 else max(1, -(-n // (4 * n_workers)))
    blocks = [np.arange(a, min(a + block_cells, n)) for a in range(0, n, block_cells)]
    if n_workers == 1 or len(blocks) == 1:
        parts = [_evaluate_block(cells if len(blocks) == 1 else cells.subset(b), movie,
                                 nonlinearity) for b in blocks]  # fmt: skip
    else:
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(movie,)) as pool:  # fmt: skip
            parts = list(pool.map(_worker, [(cells.subset(b), nonlinearity) for b in blocks]))
    rates = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    return RateResult(cells.node_ids.copy(), movie.times_ms, rates)
