"""Spike counts of many GLIF models on many sweeps at once (the calibration searches).

:func:`~bmtoolkit.glif.simulate.simulate` runs one model on one sweep with a loop over
samples; a calibration that tries thousands of parameter sets on the same sweeps would take
minutes per cell that way. :func:`batch_counts` runs every (model, sweep) pair and returns
only what the calibrations look at: the spike count in each count window. It runs a small
C loop (``batch_kernel.c``, compiled on first use by :mod:`bmtoolkit.native`), one pair at
a time, or, where no C compiler is found, a numpy loop that steps every pair together, one
array operation per update term and sample; both give the same counts. The update rules
are those of :func:`~bmtoolkit.glif.simulate.simulate` (NEST ``glif_psc``), term by term
and in the same order, so the counts are the same (the tests compare both on every level).

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

import ctypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
                 v0: Sequence[float] | None = None, engine: str = "auto") -> np.ndarray:  # fmt: skip
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
    engine : {"auto", "c", "numpy"}
        ``"c"``: the compiled loop (``batch_kernel.c``, :mod:`bmtoolkit.native`), one
        (model, sweep) pair at a time, tens of times faster; ``"numpy"``: all pairs
        stepped together with numpy; ``"auto"`` (default): ``"c"`` where it can be
        compiled, else ``"numpy"``. Both give the same counts.

    Returns
    -------
    ndarray of int, shape (P, S, W)
        Spikes (the sample after the threshold crossing, as :func:`simulate` records them)
        with ``start <= sample < stop``.
    """
    if engine not in ("auto", "c", "numpy"):
        raise ConfigError(f"batch_counts engine must be 'auto', 'c' or 'numpy', got {engine!r}")
    stim = np.atleast_2d(np.asarray(stimuli, dtype=float))
    n_p, n_s = len(params), stim.shape[0]
    n_w = {len(w) for w in windows}
    if len(windows) != n_s or len(n_w) != 1:
        raise ConfigError("batch_counts needs one list of windows per sweep, all of one length")
    cols = _columns(params, dt)
    # membrane potential relative to each model's El: 0 (at rest) or the sweeps' v0
    el = cols["el"][:, None]
    u = np.zeros((n_p, n_s)) if v0 is None else np.asarray(v0, float)[None, :] - el
    shape = (n_s, n_w.pop())
    lo = np.asarray([[a for a, _ in w] for w in windows], np.int64).reshape(shape)
    hi = np.asarray([[b for _, b in w] for w in windows], np.int64).reshape(shape)
    m = cols["asc_amp"].shape[1]
    kernel = None if engine == "numpy" or m > _MAX_ASC else _kernel()
    if kernel is None and engine == "c":
        why = f"it holds at most {_MAX_ASC} after-spike currents, got {m}" if m > _MAX_ASC else (
            _why_no_kernel())  # fmt: skip
        raise ConfigError(f"the compiled batch_counts kernel is unavailable: {why}")
    if kernel is not None:
        return _kernel_counts(kernel, cols, stim, u, lo, hi)
    return _numpy_counts(cols, stim, u, lo, hi)


#: the after-spike currents the compiled kernel holds per model (``MAX_ASC`` there)
_MAX_ASC = 16
#: per-model constants in the order of a row of the kernel's ``model`` matrix
_KERNEL_COLUMNS = ("alpha", "beta", "th_inf", "rr", "ra", "rb", "a_s", "ths_decay", "ths_cut",
                   "tv_decay", "tv_u", "tv_i", "cut")  # fmt: skip
_KERNEL_SOURCE = Path(__file__).with_name("batch_kernel.c")


def _kernel() -> Any:
    """The compiled ``glif_batch_counts`` with its argument types, or ``None``."""
    from bmtoolkit.native import load_function

    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    return load_function(_KERNEL_SOURCE, "glif_batch_counts", [i64] * 5 + [ptr] * 7,
                         ctypes.c_int)  # fmt: skip


def _why_no_kernel() -> str:
    from bmtoolkit.native import why_unavailable

    return why_unavailable(_KERNEL_SOURCE) or "unknown reason"


def _kernel_counts(kernel: Any, cols: dict[str, np.ndarray], stim: np.ndarray, u: np.ndarray,
                   lo: np.ndarray, hi: np.ndarray) -> np.ndarray:  # fmt: skip
    n_p, (n_s, n), n_w = len(cols["el"]), stim.shape, lo.shape[1]
    m = cols["asc_amp"].shape[1]
    model = np.ascontiguousarray(np.column_stack([cols[k].astype(float) for k in _KERNEL_COLUMNS]))
    asc = np.ascontiguousarray(np.stack([cols[k] for k in ("asc_avg", "asc_dec", "asc_amp",
                                                           "asc_cut")], axis=1))  # fmt: skip
    stim = np.ascontiguousarray(stim, dtype=float)
    u = np.ascontiguousarray(u, dtype=float)
    lo, hi = np.ascontiguousarray(lo), np.ascontiguousarray(hi)
    out = np.zeros((n_p, n_s, n_w), np.int64)
    arrays = (stim, u, model, asc, lo, hi, out)
    if kernel(n_p, n_s, n, m, n_w, *(a.ctypes.data for a in arrays)) != 0:
        raise ConfigError(f"batch_counts kernel refused {m} after-spike currents")
    return out


def _numpy_counts(cols: dict[str, np.ndarray], stim: np.ndarray, u: np.ndarray, lo: np.ndarray,
                  hi: np.ndarray) -> np.ndarray:  # fmt: skip
    """The numpy loop: every (model, sweep) pair stepped together, one array operation per
    update term and sample."""
    n_p, (n_s, n) = len(cols["el"]), stim.shape
    # state (models x sweeps); model constants broadcast along the sweeps
    c = {k: (v[:, None] if v.ndim == 1 else v[:, None, :]) for k, v in cols.items()}
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
            # summed term by term, in the kernel's order
            asc_sum = asc[:, :, 0] * c["asc_avg"][:, :, 0]
            for j in range(1, m):
                asc_sum = asc_sum + asc[:, :, j] * c["asc_avg"][:, :, j]
            i_tot = i_tot + asc_sum
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
    out = np.zeros((n_p, n_s, lo.shape[1]), np.int64)
    if fired_at:
        pi = np.concatenate([f[0] for f in fired_at])
        si = np.concatenate([f[1] for f in fired_at])
        when = np.concatenate([np.full(f[0].size, f[2], np.int64) for f in fired_at])
        inside = (when[:, None] >= lo[si]) & (when[:, None] < hi[si])
        for j in range(inside.shape[1]):
            np.add.at(out[:, :, j], (pi[inside[:, j]], si[inside[:, j]]), 1)
    return out
