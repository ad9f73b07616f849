"""The loss of the gradient fit: subthreshold voltage error plus a smoothed-PSTH distance.

``loss = voltage_weight * L_v + spike_weight * L_s`` with

- ``L_v``, the **subthreshold voltage error**: the mean squared difference between the
  model's and the recorded voltage over the samples where neither is inside a spike cut
  (the recorded action potentials and the model's held reset are left out) and where the
  model has fired as many spikes as the recording so far (in the window, or the sweep):
  after an extra or a missing spike the two voltages are not comparable, and the error
  would pull El and the reset towards hiding the mistimed spike. It is divided by the
  variance of the recorded voltage over the recorded free samples. It pins R, C, El and,
  after spikes that both fire, the reset rule and the after-spike currents; on its own it
  cannot move a spike in time.
- ``L_s``, the **spike-train distance**: spike trains binned at ``bin_size`` (1 ms) and
  smoothed with a Gaussian of ``sigma`` (10 ms), as the explained variance does;
  ``sum (r_model - r_data)^2 / sum (r_data - mean r_data)^2`` over the scored bins, so
  ``L_s`` is about ``1 - EV``. It is a van Rossum-type distance (Gaussian instead of
  exponential kernel): close spikes are rewarded smoothly, and its gradient reaches the
  threshold, reset and adaptation parameters through the surrogate derivative of the spike
  function at the samples where the voltage passes near the threshold.

:func:`numpy_loss` computes the same two terms for a full sweep run by
:func:`~bmtoolkit.glif.simulate` (the simulator whose results the fit is judged by); the
validation loss of early stopping is that one.

Examples
--------
>>> import numpy as np
>>> k = gaussian_kernel(2.0)
>>> k.shape, round(float(k.sum()), 6)
((17,), 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bmtoolkit.glif.gradient._backend import torch_module
from bmtoolkit.glif.gradient.windows import Windows, cut_mask
from bmtoolkit.glif.parameters import GlifParameters
from bmtoolkit.glif.quality import explained_variance, psth
from bmtoolkit.glif.simulate import simulate
from bmtoolkit.glif.sweeps import Sweep


def gaussian_kernel(sigma_bins: float, *, truncate: float = 4.0) -> np.ndarray:
    """A normalised Gaussian of ``sigma_bins`` bins, ``truncate`` sigmas each side (as
    :func:`scipy.ndimage.gaussian_filter1d`)."""
    radius = int(truncate * sigma_bins + 0.5)
    x = np.arange(-radius, radius + 1, dtype=float)
    k = np.exp(-0.5 * (x / sigma_bins) ** 2)
    return k / k.sum()


@dataclass(frozen=True)
class LossTerms:
    """The loss and its two terms (floats)."""

    total: float
    voltage: float
    spikes: float


class WindowLoss:
    """The loss of a batch of windows (torch), normalised by constants of all windows.

    Parameters
    ----------
    windows : Windows
        All training windows (the normalisers come from them).
    sigma, bin_size : float
        PSTH smoothing and bin (s).
    voltage_weight, spike_weight : float
        Weights of the two terms.
    dtype : str
        ``"float64"`` or ``"float32"``.
    """

    def __init__(self, windows: Windows, *, sigma: float, bin_size: float,
                 voltage_weight: float, spike_weight: float,
                 dtype: str = "float64") -> None:  # fmt: skip
        torch = self._torch = torch_module()
        self.dtype = getattr(torch, dtype)
        self.weights = (float(voltage_weight), float(spike_weight))
        self.bin_size = windows.bin_samples * windows.dt * 1e-3
        kernel = gaussian_kernel(sigma / self.bin_size)
        self.kernel = torch.as_tensor(kernel, dtype=self.dtype).view(1, 1, -1)
        free = windows.free
        self.v_var = float(windows.voltage[free].var()) if free.any() else 1.0
        self.v_var = self.v_var if self.v_var > 0 else 1.0
        self.n_free = max(1, int(free.sum()))
        rate = self.smooth(torch.as_tensor(windows.data_counts, dtype=self.dtype)).numpy()
        scored = windows.scored_bins
        dev = rate[scored] - rate[scored].mean() if scored.any() else np.zeros(1)
        # per scored bin, so a sub-batch is normalised like the whole set
        self.rate_var = float((dev**2).mean()) if float((dev**2).mean()) > 0 else 1.0

    def smooth(self, counts: Any) -> Any:
        """``(B, bins)`` counts -> Gaussian-smoothed rate (Hz), zero outside the window."""
        torch = self._torch
        pad = self.kernel.shape[-1] // 2
        out = torch.nn.functional.conv1d(counts[:, None, :] / self.bin_size, self.kernel,
                                         padding=pad)  # fmt: skip
        return out[:, 0, :]

    def __call__(self, batch: Windows, v_model: Any, spikes: Any,
                 refractory: Any) -> tuple[Any, LossTerms]:  # fmt: skip
        """Loss of one batch from the model's ``(L, B)`` voltage (mV, absolute), spikes and
        refractory steps left after each step (tensors)."""
        torch = self._torch
        data_v = torch.as_tensor(batch.voltage, dtype=self.dtype)
        in_step = spikes.detach().cumsum(0) == torch.as_tensor(batch.data_spikes).cumsum(0)
        mask = torch.as_tensor(batch.free) & (refractory == 0) & in_step
        err = torch.where(mask, v_model - data_v, torch.zeros_like(data_v))
        l_v = (err**2).sum() / max(1, int(batch.free.sum())) / self.v_var
        nb = batch.bin_samples
        counts = spikes.T.reshape(spikes.shape[1], -1, nb).sum(-1)
        r_model = self.smooth(counts)
        r_data = self.smooth(torch.as_tensor(batch.data_counts, dtype=self.dtype))
        scored = torch.as_tensor(batch.scored_bins)
        diff = torch.where(scored, r_model - r_data, torch.zeros_like(r_model))
        l_s = (diff**2).sum() / max(1, int(batch.scored_bins.sum())) / self.rate_var
        wv, ws = self.weights
        total = wv * l_v + ws * l_s
        return total, LossTerms(float(total.detach()), float(l_v.detach()), float(l_s.detach()))


@dataclass(frozen=True)
class SweepScore:
    """The loss terms of :func:`numpy_loss` and the explained variance on the same sweeps."""

    loss: LossTerms
    explained_variance: float


def numpy_loss(params: GlifParameters, sweeps: Sequence[Sweep], spikes: Sequence[np.ndarray], *,
               sigma: float, bin_size: float, voltage_weight: float,
               spike_weight: float) -> SweepScore:  # fmt: skip
    """The loss of whole sweeps (pooled) with the model run by :func:`~bmtoolkit.glif.simulate`.

    ``spikes`` are the recorded spike samples of each sweep.
    """
    cut = int(round(params.spike_cut_length * params.dt / sweeps[0].dt))
    sq_v = n_v = 0.0
    data_v: list[np.ndarray] = []
    rates_d, rates_m, trains_d, trains_m = [], [], [], []
    offset = 0.0
    for sw, sp in zip(sweeps, spikes, strict=True):
        res = simulate(params, sw.stimulus, dt=sw.dt, v0=float(sw.voltage[0]))
        free = ~cut_mask(sw.n_samples, sp, cut)
        free[0] = False
        in_step = np.cumsum(_indicator(sw.n_samples, res.spikes)) == np.cumsum(
            _indicator(sw.n_samples, sp))  # fmt: skip
        both = free & ~cut_mask(sw.n_samples, res.spikes, cut) & in_step
        sq_v += float((((res.voltage - sw.voltage) * 1e3)[both] ** 2).sum())
        n_v += float(free.sum())
        data_v.append(sw.voltage[free] * 1e3)
        d, m = np.asarray(sp) * sw.dt, res.spike_times
        rates_d.append(psth([d], sw.duration, bin_size=bin_size, sigma=sigma))
        rates_m.append(psth([m], sw.duration, bin_size=bin_size, sigma=sigma))
        trains_d.append(d + offset)
        trains_m.append(m + offset)
        offset += sw.duration
    v_all = np.concatenate(data_v)
    v_var = float(v_all.var()) if v_all.size and v_all.var() > 0 else 1.0
    l_v = sq_v / max(1.0, n_v) / v_var
    rd, rm = np.concatenate(rates_d), np.concatenate(rates_m)
    r_var = float(((rd - rd.mean()) ** 2).mean())
    l_s = float(((rm - rd) ** 2).mean()) / r_var if r_var > 0 else float(((rm - rd) ** 2).mean())
    ev = explained_variance([np.concatenate(trains_d)], [np.concatenate(trains_m)],
                            duration=offset, bin_size=bin_size, sigma=sigma)  # fmt: skip
    total = voltage_weight * l_v + spike_weight * l_s
    return SweepScore(LossTerms(total, l_v, l_s), ev)


def _indicator(n: int, samples: np.ndarray) -> np.ndarray:
    out = np.zeros(n)
    idx = np.asarray(samples, dtype=int)
    out[idx[(idx >= 0) & (idx < n)]] = 1.0
    return out
