"""Spike trains from firing rates: inhomogeneous Poisson processes, seeded, several trials.

Rates are piecewise constant over each sample interval ``[t_k, t_k + dt)``; the number of
spikes in an interval is Poisson with mean ``rate_k * dt`` and the spikes fall uniformly
inside it, which is an exact draw of the inhomogeneous Poisson process with that rate.

Every trial uses its own stream ``SeedSequence([seed, trial])``, so trial ``k`` is the same
whether or not the other trials are drawn.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.simulator.filternet.spiking import poisson_spikes
>>> rates = np.full((2, 1000), 20.0)   # 2 cells at 20 Hz for 1 s
>>> ids, times = poisson_spikes(rates, dt_ms=1.0, seed=1)
>>> ids.dtype, bool(times.min() >= 0.0), bool(times.max() < 1000.0)
(dtype('int64'), True, True)
>>> ids2, times2 = poisson_spikes(rates, dt_ms=1.0, seed=1)
>>> bool(np.array_equal(times, times2))
True
"""

from __future__ import annotations

import numpy as np

from bmtoolkit.exceptions import ConfigError

#: cells per block when drawing (bounds the temporary count arrays)
SPIKE_BLOCK = 2048


def trial_rng(seed: int | None, trial: int = 0) -> np.random.Generator:
    """The generator of ``trial`` for ``seed`` (``None``: fresh entropy)."""
    if seed is None:
        return np.random.default_rng()
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(trial)]))


def poisson_spikes(
    rates: np.ndarray,
    *,
    dt_ms: float,
    t0_ms: float = 0.0,
    seed: int | None = None,
    trial: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one trial of spike trains from rates ``(N, T)`` in Hz.

    Parameters
    ----------
    rates : np.ndarray, shape (N, T)
        Rate of each cell in each interval ``[t0 + k dt, t0 + (k+1) dt)``; negative values
        are an error.
    dt_ms, t0_ms : float
        Sample interval and start time (ms).
    seed : int, optional
        Base seed; with ``trial`` it fixes the draw.
    trial : int
        Trial number.

    Returns
    -------
    (cell_index, times_ms) : tuple of np.ndarray
        Row index into ``rates`` (int64) and spike time (ms) of each spike, sorted by time.
    """
    r = np.asarray(rates)
    if r.ndim != 2:
        raise ConfigError(f"rates must be (cells, times), got shape {r.shape}")
    if not dt_ms > 0:
        raise ConfigError(f"dt_ms must be > 0, got {dt_ms}")
    if r.size and float(np.nanmin(r)) < 0:
        raise ConfigError("rates must be >= 0 to draw Poisson spikes")
    rng = trial_rng(seed, trial)
    scale = dt_ms / 1000.0
    ids_parts, t_parts = [], []
    for a in range(0, r.shape[0], SPIKE_BLOCK):
        lam = r[a : a + SPIKE_BLOCK].astype(np.float64) * scale
        counts = rng.poisson(lam)
        cell, k = np.nonzero(counts)
        c = counts[cell, k]
        cell = np.repeat(cell + a, c)
        k = np.repeat(k, c)
        ids_parts.append(cell.astype(np.int64))
        t_parts.append(t0_ms + (k + rng.random(k.size)) * dt_ms)
    ids = np.concatenate(ids_parts) if ids_parts else np.zeros(0, np.int64)
    times = np.concatenate(t_parts) if t_parts else np.zeros(0)
    order = np.argsort(times, kind="stable")
    return ids[order], times[order]


def poisson_trials(
    rates: np.ndarray,
    *,
    dt_ms: float,
    n_trials: int = 1,
    t0_ms: float = 0.0,
    seed: int | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_trials`` independent draws of :func:`poisson_spikes` (trial ``k`` uses stream k).

    Examples
    --------
    >>> import numpy as np
    >>> trials = poisson_trials(np.full((1, 100), 50.0), dt_ms=1.0, n_trials=3, seed=7)
    >>> len(trials)
    3
    """
    if n_trials < 1:
        raise ConfigError(f"n_trials must be >= 1, got {n_trials}", field="n_trials")
    return [
        poisson_spikes(rates, dt_ms=dt_ms, t0_ms=t0_ms, seed=seed, trial=k) for k in range(n_trials)
    ]
