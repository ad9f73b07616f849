"""Spike counts of many GLIF models on many sweeps at once (the calibration searches).

:func:`~bmtoolkit.glif.simulate.simulate` runs one model on one sweep with a loop over
samples; a calibration that tries thousands of parameter sets on the same sweeps would take
minutes per cell that way. :func:`batch_counts` steps every (model, sweep) pair together,
one numpy operation per update term and sample, and returns only what the calibrations
look at: the spike count in each count window. The update rules are those of
:func:`~bmtoolkit.glif.simulate.simulate` (NEST ``glif_psc``), term by term and in the same
order, so the counts are the same (the tests compare both on every level).

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.glif.parameters import GlifParameters
>>> from bmtoolkit.glif.simulate import simulate
>>> p = GlifParameters(level=1, El=-0.07, R=1e8, C=1e-10, th_inf=0.015,
...                    spike_cut_length=40, dt=5e-5)
>>> stim = np.r_[np.zeros(1000), np.full(8000, 2e-10), np.zeros(1000)]
>>> counts = batch_counts([p, p.with_level(1)], stim[None, :], 5e-5, [[(1000, 9000)]])
>>> counts.shape, int(counts[0, 0, 0]) == simulate(p, stim).spikes.size
((2, 1, 1), True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.parameters import GlifParameters, level_has
from bmtoolkit.glif.simulate import asc_step_average, theta_voltage_coefficients

__all__ = ["batch_counts"]


def _columns(params: Sequence[GlifParameters], dt: float) -> dict[str, np.ndarray]:
    """Per-model constants of the update (one value, or one row of after-spike values, each)."""
    n_asc = {len(p.asc_tau) for p in params if level_has(p.level)["asc"]}
    if len(n_asc) > 1:
        raise ConfigError(
            "batch_counts needs the same number of after-spike currents in every model"
        )
    m = n_asc.pop() if n_asc else 0
    cols: dict[str, list] = {k: [] for k in ("el", "alpha", "beta", "cut", "th_inf", "rr", "ra",
                                              "rb", "a_s", "ths_decay", "ths_cut", "tv_decay",
                                              "tv_u", "tv_i", "asc_avg", "asc_dec", "asc_amp",
                                              "asc_cut")}  # fmt: skip
    for p in params:
        has = level_has(p.level)
        alpha = float(np.exp(-dt / p.tau))
        cut = int(round(p.spike_cut_length * p.dt / dt))
        cols["el"].append(p.El)
        cols["alpha"].append(alpha)
        cols["beta"].append(p.R * (1.0 - alpha))
        cols["cut"].append(cut)
        cols["th_inf"].append(p.th_inf)
        cols["rr"].append(has["reset_rules"])
        cols["ra"].append(p.reset_a)
        cols["rb"].append(p.reset_b)
        cols["a_s"].append(p.a_spike)
        cols["ths_decay"].append(np.exp(-p.b_spike * dt) if has["reset_rules"] else 1.0)
        cols["ths_cut"].append(np.exp(-p.b_spike * cut * dt))
        if has["voltage_threshold"]:
            dec, cu, ci = theta_voltage_coefficients(p.a_voltage, p.b_voltage, p.R, p.C, dt)
        else:
            dec, cu, ci = 1.0, 0.0, 0.0
        cols["tv_decay"].append(dec)
        cols["tv_u"].append(cu)
        cols["tv_i"].append(ci)
        if has["asc"] and m:
            taus = np.asarray(p.asc_tau, float)
            cols["asc_avg"].append(asc_step_average(taus, dt))
            cols["asc_dec"].append(np.exp(-dt / taus))
            cols["asc_amp"].append(np.asarray(p.asc_amp, float))
            cols["asc_cut"].append(np.asarray(p.asc_r, float) * np.exp(-cut * dt / taus))
        else:  # no after-spike currents: zero amplitudes keep them at 0
            for key in ("asc_avg", "asc_dec", "asc_cut"):
                cols[key].append(np.ones(m))
            cols["asc_amp"].append(np.zeros(m))
    out = {k: np.asarray(v, dtype=float) for k, v in cols.items()}
    out["cut"] = out["cut"].astype(np.int64)
    out["rr"] = out["rr"].astype(bool)
    for key in ("asc_avg", "asc_dec", "asc_amp", "asc_cut"):
        out[key] = out[key].reshape(len(params), m)
    return out


def batch_counts(params: Sequence[GlifParameters], stimuli: np.ndarray, dt: float,
                 windows: Sequence[Sequence[tuple[int, int]]], *,
                 v0: Sequence[float] | None = None) -> np.ndarray:  # fmt: skip
    """Spike counts of every model of ``params`` on every sweep, per count window.

    Parameters
    ----------
    params : sequence of GlifParameters
        ``P`` models (levels may differ; models with after-spike currents must all have the
        same number of them).
    stimuli : ndarray, shape (S, n)
        ``S`` stimuli (A per sample) of one length (pad shorter ones with zeros after their
        last window).
    dt : float
        Sample interval (s).
    windows : sequence of S sequences of (start, stop)
        Sample ranges counted on each sweep; every sweep has the same number ``W`` of them.
    v0 : sequence of S floats, optional
        Initial voltage (V) of each sweep, default each model's ``El``.

    Returns
    -------
    ndarray of int, shape (P, S, W)
        Spikes (the sample after the threshold crossing, as :func:`simulate` records them)
        with ``start <= sample < stop``.
    """
    stim = np.atleast_2d(np.asarray(stimuli, dtype=float))
    n_p, (n_s, n) = len(params), stim.shape
    n_w = {len(w) for w in windows}
    if len(windows) != n_s or len(n_w) != 1:
        raise ConfigError("batch_counts needs one list of windows per sweep, all of one length")
    # state (models x sweeps); model constants broadcast along the sweeps
    c = {k: (v[:, None] if v.ndim == 1 else v[:, None, :]) for k, v in _columns(params, dt).items()}
    # membrane potential relative to each model's El: 0 (at rest) or the sweeps' v0
    u = np.zeros((n_p, n_s)) if v0 is None else np.asarray(v0, float)[None, :] - c["el"]
    m = c["asc_amp"].shape[2]
    asc = np.zeros((n_p, n_s, m))
    th_s = np.zeros((n_p, n_s))
    th_v = np.zeros((n_p, n_s))
    # terms every model has switched off stay 0 and are not computed
    spike_th = bool(np.any(c["a_s"] != 0.0))
    volt_th = bool(np.any(c["tv_u"] != 0.0) or np.any(c["tv_i"] != 0.0))
    # the step from which each pair integrates again after a spike's cut (every pair from the
    # step ``everyone_from`` on)
    release = np.zeros((n_p, n_s), np.int64)
    everyone_from = 0
    fired_at: list[tuple[np.ndarray, np.ndarray, int]] = []
    for k in range(n - 1):
        everyone = k >= everyone_from
        if not everyone:
            act = release <= k
            if not act.any():
                continue
        i_tot = stim[:, k][None, :]
        if m:
            i_tot = i_tot + (asc * c["asc_avg"]).sum(axis=2)
            asc_new = asc * c["asc_dec"]
        u_new = u * c["alpha"] + c["beta"] * i_tot
        threshold = c["th_inf"]
        if spike_th:
            ths = th_s * c["ths_decay"]
            threshold = threshold + ths
        if volt_th:
            thv = c["tv_decay"] * th_v + c["tv_u"] * u + c["tv_i"] * i_tot
            threshold = threshold + thv
        fired = u_new > threshold
        if not everyone:
            fired &= act
        if fired.any():
            pi, si = np.nonzero(fired)
            rr = c["rr"][pi, 0]
            u_new[pi, si] = np.where(rr, c["ra"][pi, 0] * u[pi, si] + c["rb"][pi, 0], 0.0)
            if spike_th:
                ths[pi, si] = np.where(rr, ths[pi, si] * c["ths_cut"][pi, 0] + c["a_s"][pi, 0],
                                       ths[pi, si])  # fmt: skip
            if m:
                asc_new[pi, si] = c["asc_amp"][pi, 0] + asc_new[pi, si] * c["asc_cut"][pi, 0]
            cut = c["cut"][pi, 0]
            release[pi, si] = k + 1 + cut
            everyone_from = max(everyone_from, k + 1 + int(cut.max()))
            fired_at.append((pi, si, k + 1))
        if everyone:
            u = u_new
            if spike_th:
                th_s = ths
            if volt_th:
                th_v = thv
            if m:
                asc = asc_new
        else:
            u = np.where(act, u_new, u)
            if spike_th:
                th_s = np.where(act, ths, th_s)
            if volt_th:
                th_v = np.where(act, thv, th_v)
            if m:
                asc = np.where(act[:, :, None], asc_new, asc)
    out = np.zeros((n_p, n_s, n_w.pop()), np.int64)
    if fired_at:
        pi = np.concatenate([f[0] for f in fired_at])
        si = np.concatenate([f[1] for f in fired_at])
        when = np.concatenate([np.full(f[0].size, f[2], np.int64) for f in fired_at])
        lo = np.asarray([[a for a, _ in w] for w in windows], np.int64)[si]
        hi = np.asarray([[b for _, b in w] for w in windows], np.int64)[si]
        inside = (when[:, None] >= lo) & (when[:, None] < hi)
        for j in range(inside.shape[1]):
            np.add.at(out[:, :, j], (pi[inside[:, j]], si[inside[:, j]]), 1)
    return out
