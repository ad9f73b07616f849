"""Model quality: explained variance of the spike-time PSTH (the Allen GLIF measure).

Spike trains are binned at ``bin_size`` (1 ms) and smoothed with a Gaussian of standard
deviation ``sigma`` (10 ms); the PSTH is the mean over repeats of the same stimulus. The
explained variance of a model is

    EV = 1 - Var(PSTH_data - PSTH_model) / Var(PSTH_data),

1 for a model that reproduces every spike, 0 for one no better than the mean rate (and
negative if worse). The papers report it per cell on held-out noise sweeps: GLIF5 averages
0.75 (excitatory) and 0.84 (inhibitory), biophysical perisomatic models 0.65.

Examples
--------
>>> import numpy as np
>>> data = [np.array([0.1, 0.3, 0.5])]
>>> round(explained_variance(data, data, duration=1.0), 3)
1.0
>>> round(explained_variance(data, [np.array([0.1, 0.3, 0.8])], duration=1.0), 2)
0.25
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.ndimage import gaussian_filter1d


def psth(trains: Sequence[np.ndarray], duration: float, *, bin_size: float = 0.001,
         sigma: float = 0.01) -> np.ndarray:  # fmt: skip
    """Gaussian-smoothed spike rate (Hz) over ``duration`` s, averaged over the repeats.

    Examples
    --------
    >>> import numpy as np
    >>> r = psth([np.array([0.5])], 1.0)
    >>> round(float(r.sum() * 0.001), 3)  # one spike
    1.0
    """
    n = max(1, int(round(duration / bin_size)))
    counts = np.zeros(n)
    for train in trains:
        idx = np.floor(np.asarray(train, float) / bin_size).astype(int)
        np.add.at(counts, idx[(idx >= 0) & (idx < n)], 1.0)
    counts /= max(1, len(trains)) * bin_size
    return gaussian_filter1d(counts, sigma / bin_size, mode="constant")


def explained_variance(data: Sequence[np.ndarray], model: Sequence[np.ndarray], *,
                       duration: float, bin_size: float = 0.001,
                       sigma: float = 0.01) -> float:  # fmt: skip
    """Explained variance of the model PSTH (see the module docstring); NaN if data is flat."""
    d = psth(data, duration, bin_size=bin_size, sigma=sigma)
    m = psth(model, duration, bin_size=bin_size, sigma=sigma)
    var = d.var()
    return float(1.0 - (d - m).var() / var) if var > 0 else float("nan")
