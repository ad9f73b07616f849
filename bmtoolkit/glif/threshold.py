"""Threshold steps of the GLIF fit: spike thresholds, adaptation, and the MLIN objective.

Relative to ``El`` the threshold at a transition is

    θ = th_inf + a_spike * S(b_spike) + a_voltage * W(b_voltage),

where ``S`` sums ``exp(-b_spike t)`` over earlier spikes (``t`` counted from the end of each
cut, real time; NEST ``glif_psc`` rules, see :mod:`bmtoolkit.glif.simulate`) and ``W`` is the
voltage-dependent component for ``a_voltage = 1``, driven by the recorded voltage and held
during cuts. For fixed decay rates θ is linear in ``(th_inf, a_spike, a_voltage)``.

- :func:`spike_thresholds` gives, for each spike, the threshold it must have crossed: the
  midpoint of the last voltage before the spike and the voltage the fitted membrane would
  have reached one sample later.
- :func:`fit_threshold_lsq` fits those by least squares, solving the linear part exactly for
  each pair of decay rates (variable projection over a grid, then Nelder-Mead); jumps and
  gains are kept >= 0 and decay rates within :data:`LOG_RATE_BOUNDS`.
- :func:`mlin_log_likelihood` is the *maximum likelihood based on internal noise* objective:
  with Laplace-distributed internal noise of scale ``δv`` on the voltage,
  ``p_spike(t) = ∫_{ΔV(t)}^{∞} exp(-|v|/δv) / (2 δv) dv = 1 - c(ΔV(t))`` where
  ``ΔV = θ - V`` and ``c`` is the Laplace distribution function, and
  ``log L = Σ_{t in spikes} log(1 - c(ΔV(t))) + Σ_{t in grid, no spike} log c(ΔV(t))``.
- :func:`fit_threshold_mlin` maximises it with scipy (Nelder-Mead) from the least-squares
  solution, over the threshold parameters of the level and ``δv``.

Examples
--------
>>> import numpy as np
>>> round(float(laplace_log_cdf(np.array([0.0]), 1.0)[0]), 4), round(float(
...     laplace_log_sf(np.array([0.0]), 1.0)[0]), 4)
(-0.6931, -0.6931)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear, minimize
from scipy.signal import lfilter

from bmtoolkit.glif.parameters import level_has
from bmtoolkit.glif.regression import Membrane, asc_basis
from bmtoolkit.glif.simulate import theta_voltage_coefficients
from bmtoolkit.glif.spikes import Transitions

#: log of the range allowed for threshold decay rates, 1/s (time constants 1 ms to 1 s)
LOG_RATE_BOUNDS: tuple[float, float] = (0.0, float(np.log(1000.0)))


@dataclass(frozen=True)
class Threshold:
    """Fitted threshold parameters (V relative to El, 1/s) and the MLIN noise scale (V)."""

    th_inf: float
    a_spike: float = 0.0
    b_spike: float = 0.0
    a_voltage: float = 0.0
    b_voltage: float = 0.0
    noise: float = float("nan")
    log_likelihood: float = float("nan")


@dataclass(frozen=True)
class _Prepared:
    """Per-sweep arrays the threshold objective needs (built once)."""

    tr: Transitions
    u1: np.ndarray  # voltage to compare (V above El): v1, or the crossing value at spikes
    u0: np.ndarray  # voltage before the transition (V above El)
    current: np.ndarray  # injected + after-spike current (A)
    events: np.ndarray  # impulses at the end of each cut (sample axis)


def _prepare(transitions: Sequence[Transitions], membrane: Membrane,
             asc_amps: Sequence[float], asc_taus: Sequence[float]) -> list[_Prepared]:  # fmt: skip
    out = []
    for tr in transitions:
        asc = asc_basis(tr, asc_taus) @ np.asarray(asc_amps, float) if len(asc_amps) else 0.0
        total = tr.current + asc
        cross = membrane.predict(tr.v0, total)
        u1 = np.where(tr.spike, cross, tr.v1) - membrane.El
        out.append(_Prepared(tr, u1, tr.v0 - membrane.El, total + 0.0 * tr.v0, tr.events()))
    return out


def spike_thresholds(transitions: Sequence[Transitions], membrane: Membrane,
                     asc_amps: Sequence[float] = (),
                     asc_taus: Sequence[float] = ()) -> np.ndarray:  # fmt: skip
    """The threshold (V above El) each spike crossed, one value per spike in time order.

    Examples
    --------
    >>> import numpy as np
    >>> from bmtoolkit.glif.sweeps import Sweep
    >>> from bmtoolkit.glif.spikes import prepare
    >>> m = Membrane(R=1e8, C=1e-10, El=-0.07, dt=1e-4)
    >>> v = np.full(50, -0.07); v[19] = -0.05; v[20:] = -0.07
    >>> tr = prepare(Sweep(np.zeros(50), v, 1e-4), np.array([20]), 5)
    >>> t = spike_thresholds([tr], m); bool(0.0199 < t[0] < 0.02)
    True
    """
    out = [(p.u0 + p.u1)[p.tr.spike] / 2 for p in _prepare(transitions, membrane, asc_amps,
                                                           asc_taus)]  # fmt: skip
    return np.concatenate(out) if out else np.zeros(0)


def _spike_component(p: _Prepared, b: float) -> np.ndarray:
    """``S`` at each transition for unit ``a_spike`` and decay rate ``b`` (1/s)."""
    if p.tr.spikes.size == 0:
        return np.zeros(p.tr.index.size)
    decay = np.exp(-b * p.tr.dt)
    y = lfilter([1.0], [1.0, -decay], p.events)
    return decay * y[p.tr.index]


def _voltage_component(p: _Prepared, b: float, membrane: Membrane) -> np.ndarray:
    """``W`` at each transition for unit ``a_voltage`` and decay rate ``b`` (1/s)."""
    pb, cu, ci = theta_voltage_coefficients(1.0, b, membrane.R, membrane.C, p.tr.dt)
    drive = cu * p.u0 + ci * p.current
    return lfilter([1.0], [1.0, -pb], drive)


def _design(preps: Sequence[_Prepared], level: int, b_s: float, b_v: float,
            membrane: Membrane) -> list[np.ndarray]:  # fmt: skip
    has = level_has(level)
    mats = []
    for p in preps:
        cols = [np.ones(p.tr.index.size)]
        if has["reset_rules"]:
            cols.append(_spike_component(p, b_s))
        if has["voltage_threshold"]:
            cols.append(_voltage_component(p, b_v, membrane))
        mats.append(np.column_stack(cols))
    return mats


def _unpack(level: int, lin: np.ndarray, b_s: float, b_v: float) -> dict[str, float]:
    has = level_has(level)
    out = {"th_inf": float(lin[0])}
    k = 1
    if has["reset_rules"]:
        out.update(a_spike=float(lin[k]), b_spike=float(b_s))
        k += 1
    if has["voltage_threshold"]:
        out.update(a_voltage=float(lin[k]), b_voltage=float(b_v))
    return out


def fit_threshold_lsq(transitions: Sequence[Transitions], membrane: Membrane, level: int, *,
                      asc_amps: Sequence[float] = (),
                      asc_taus: Sequence[float] = ()) -> Threshold:  # fmt: skip
    """Least-squares fit of the level's threshold parameters to :func:`spike_thresholds`."""
    preps = _prepare(transitions, membrane, asc_amps, asc_taus)
    has = level_has(level)
    targets = np.concatenate([((p.u0 + p.u1) / 2)[p.tr.spike] for p in preps])
    if targets.size == 0:
        from bmtoolkit.exceptions import ConfigError

        raise ConfigError("the threshold fit needs sweeps with spikes", field="sweeps")

    def solve(log_bs: float, log_bv: float) -> tuple[float, np.ndarray]:
        mats = _design(preps, level, np.exp(log_bs), np.exp(log_bv), membrane)
        x = np.concatenate([m[p.tr.spike] for m, p in zip(mats, preps, strict=True)])
        lower = np.r_[-np.inf, np.zeros(x.shape[1] - 1)]  # threshold jumps and gains >= 0
        lin = lsq_linear(x, targets, bounds=(lower, np.inf)).x
        return float(np.sum((x @ lin - targets) ** 2)), lin

    grid_s = np.log(np.logspace(0.25, 3.0, 12)) if has["reset_rules"] else [0.0]
    grid_v = np.log(np.logspace(0.0, 3.0, 10)) if has["voltage_threshold"] else [0.0]
    best = min((solve(s, v)[0], s, v) for s in grid_s for v in grid_v)
    x0 = [best[1], best[2]]
    free = [has["reset_rules"], has["voltage_threshold"]]
    if any(free):

        def cost(z: np.ndarray) -> float:
            full = np.array(x0, float)
            full[np.flatnonzero(free)] = z
            return solve(*full)[0]

        res = minimize(cost, np.asarray(x0)[np.flatnonzero(free)], method="Nelder-Mead",
                       bounds=[LOG_RATE_BOUNDS] * int(sum(free)),
                       options={"xatol": 1e-4, "fatol": 1e-14, "maxiter": 400})  # fmt: skip
        x0 = np.array(x0, float)
        x0[np.flatnonzero(free)] = res.x
    sse, lin = solve(*x0)
    return Threshold(**_unpack(level, lin, np.exp(x0[0]), np.exp(x0[1])),
                     noise=float(np.sqrt(sse / targets.size)))  # fmt: skip


def laplace_log_cdf(x: np.ndarray, scale: float) -> np.ndarray:
    """``log c(x)`` of a zero-mean Laplace distribution of scale ``scale`` (stable).

    ``log(1/2) + z`` below zero, ``log1p(-exp(-z) / 2)`` above (``z = x / scale``), computed
    in one buffer: the MLIN fit evaluates it on every grid point thousands of times.

    Examples
    --------
    >>> laplace_log_cdf(np.array([-1.0, 0.0, 2.0]), 1.0).round(6).tolist()
    [-1.693147, -0.693147, -0.070066]
    """
    z = np.asarray(x, float) / scale
    out = np.abs(z, out=np.empty_like(z))
    np.negative(out, out=out)
    np.exp(out, out=out)
    np.multiply(out, -0.5, out=out)
    np.log1p(out, out=out)
    np.add(z, np.log(0.5), out=out, where=z < 0)
    return out


def laplace_log_sf(x: np.ndarray, scale: float) -> np.ndarray:
    """``log(1 - c(x))`` of a zero-mean Laplace distribution of scale ``scale`` (stable)."""
    return laplace_log_cdf(-np.asarray(x, float), scale)


def mlin_log_likelihood(threshold: np.ndarray, voltage: np.ndarray, spike: np.ndarray,
                        noise: float) -> float:  # fmt: skip
    """The MLIN log-likelihood of spikes given threshold and voltage traces (see module).

    Parameters
    ----------
    threshold, voltage : ndarray
        θ and V at each grid point (same reference, V).
    spike : ndarray of bool
        Whether a spike happened at the grid point.
    noise : float
        Scale ``δv`` (V) of the Laplace internal noise.

    Examples
    --------
    >>> import numpy as np
    >>> th = np.full(3, 0.02); v = np.array([0.0, 0.01, 0.021]); s = np.array([0, 0, 1], bool)
    >>> good = mlin_log_likelihood(th, v, s, 1e-3)
    >>> bad = mlin_log_likelihood(th, v, ~s, 1e-3)
    >>> bool(good > bad)
    True
    """
    dv = np.asarray(threshold, float) - np.asarray(voltage, float)
    spike = np.asarray(spike, bool)
    return _log_likelihood(dv, spike, ~spike, noise)


def _log_likelihood(dv: np.ndarray, spike: np.ndarray, quiet: np.ndarray, noise: float) -> float:
    """:func:`mlin_log_likelihood` of ``dv = threshold - voltage``; ``quiet`` is ``~spike``."""
    return float(laplace_log_sf(dv[spike], noise).sum() + laplace_log_cdf(dv[quiet], noise).sum())


def fit_threshold_mlin(transitions: Sequence[Transitions], membrane: Membrane, level: int, *,
                       start: Threshold, asc_amps: Sequence[float] = (),
                       asc_taus: Sequence[float] = (), maxiter: int = 600) -> Threshold:  # fmt: skip
    """Maximise :func:`mlin_log_likelihood` over the level's threshold parameters and ``δv``.

    Starts from ``start`` (usually :func:`fit_threshold_lsq`); decay rates and ``δv`` are
    optimised on a log scale so they stay positive.
    """
    preps = _prepare(transitions, membrane, asc_amps, asc_taus)
    has = level_has(level)
    u1 = np.concatenate([p.u1 for p in preps])
    spike = np.concatenate([p.tr.spike for p in preps])
    quiet = ~spike
    part = np.empty(u1.size)  # one threshold component at every transition, reused
    scale = 1e-3  # optimise voltages in mV so Nelder-Mead steps are comparable

    def unpack(z: np.ndarray) -> tuple[Threshold, float]:
        k = 0
        vals = {"th_inf": float(z[k] * scale)}
        k += 1
        if has["reset_rules"]:
            vals.update(a_spike=float(z[k] * scale), b_spike=float(np.exp(z[k + 1])))
            k += 2
        if has["voltage_threshold"]:
            vals.update(a_voltage=float(z[k]), b_voltage=float(np.exp(z[k + 1])))
            k += 2
        return Threshold(**vals), float(np.exp(z[k]) * scale)

    def theta(t: Threshold) -> np.ndarray:
        # th_inf + a_spike S + a_voltage W, summed in that order at every transition
        out = np.full(u1.size, t.th_inf)
        if has["reset_rules"]:
            b = t.b_spike or 1.0
            np.concatenate([_spike_component(p, b) for p in preps], out=part)
            out += np.multiply(part, t.a_spike, out=part)
        if has["voltage_threshold"]:
            b = t.b_voltage or 1.0
            np.concatenate([_voltage_component(p, b, membrane) for p in preps], out=part)
            out += np.multiply(part, t.a_voltage, out=part)
        return out

    def cost(z: np.ndarray) -> float:
        t, noise = unpack(z)
        dv = theta(t)
        dv -= u1
        return -_log_likelihood(dv, spike, quiet, noise)

    z0 = [start.th_inf / scale]
    bounds = [(None, None)]
    if has["reset_rules"]:
        z0 += [start.a_spike / scale, np.log(max(start.b_spike, 1.0))]
        bounds += [(0.0, None), LOG_RATE_BOUNDS]
    if has["voltage_threshold"]:
        z0 += [start.a_voltage, np.log(max(start.b_voltage, 1.0))]
        bounds += [(0.0, None), LOG_RATE_BOUNDS]
    noise0 = start.noise if np.isfinite(start.noise) and start.noise > 0 else 5e-4
    z0.append(np.log(max(noise0, 2e-5) / scale))
    bounds.append((None, None))
    z0 = np.clip(z0, [b[0] if b[0] is not None else -np.inf for b in bounds],
                 [b[1] if b[1] is not None else np.inf for b in bounds])  # fmt: skip
    res = minimize(cost, np.asarray(z0, float), method="Nelder-Mead", bounds=bounds,
                   options={"maxiter": maxiter, "xatol": 1e-4, "fatol": 1e-6})  # fmt: skip
    t, noise = unpack(res.x)
    return Threshold(**{**t.__dict__, "noise": noise, "log_likelihood": float(-res.fun)})
