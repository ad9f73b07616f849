"""Run a GLIF model on a current-clamp stimulus (the update rule of NEST ``glif_psc``).

Per sample ``dt`` the membrane is integrated exactly for a constant current,

    V[n+1] = El + (V[n] - El) * exp(-dt/tau) + R * (1 - exp(-dt/tau)) * (I[n] + I_asc[n]),

where ``I_asc[n]`` is the step average of the exponentially decaying after-spike currents.
The spike-induced threshold decays by ``exp(-b_spike*dt)`` and the voltage-dependent one
follows ``dθv/dt = a_voltage (V - El) - b_voltage θv``, integrated exactly along the
exponential voltage trajectory of the step. A spike is emitted when ``V[n+1]`` exceeds
``El + th_inf + θs + θv``; then ``V`` is reset (``El``, or ``El + reset_a (V[n] - El) +
reset_b`` with reset rules) and held for ``spike_cut_length`` samples (the cut, of length
``t_cut``), ``θs`` becomes ``θs exp(-b_spike t_cut) + a_spike`` and every after-spike
current ``A_j + r_j I_j exp(-t_cut/tau_j)``: earlier spikes' contributions decay in real
time, the new one starts after the cut; ``θv`` is held through the cut. These are the
update rules of NEST 3's ``glif_psc``; the test suite checks spike times against NEST.

The loop over samples runs in C (``simulate_kernel.c``, compiled on first use by
:mod:`bmtoolkit.native`) or, where no compiler is found or ``BMTOOLKIT_NATIVE=0`` is set,
over Python floats; both do the same operations in the same order, so the traces are the
same bit for bit (the calibrations and fits call :func:`simulate` thousands of times).

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.glif.parameters import GlifParameters
>>> p = GlifParameters(level=1, El=-0.07, R=1e8, C=1e-10, th_inf=0.015,
...                    spike_cut_length=40, dt=5e-5)
>>> res = simulate(p, np.full(4000, 2e-10))
>>> bool(res.spike_times.size > 0), round(float(res.voltage[0]), 3)
(True, -0.07)
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.parameters import GlifParameters, level_has


@dataclass(frozen=True)
class SimulationResult:
    """Voltage (V), total threshold (V) per sample and spike samples/times of a run."""

    voltage: np.ndarray
    threshold: np.ndarray
    spikes: np.ndarray
    dt: float

    @property
    def spike_times(self) -> np.ndarray:
        """Spike times (s)."""
        return self.spikes * self.dt


def asc_step_average(tau: np.ndarray, dt: float) -> np.ndarray:
    """Mean of ``exp(-t/tau)`` over one step ``[0, dt]`` (the factor NEST applies to ASCs).

    Examples
    --------
    >>> round(float(asc_step_average(np.array([0.01]), 1e-4)[0]), 6)
    0.995017
    """
    k = 1.0 / np.asarray(tau, dtype=float)
    return (1.0 - np.exp(-k * dt)) / (k * dt)


class ThetaVoltage:
    """One-step update of the voltage-dependent threshold (relative to ``El``).

    With ``u = V - El`` relaxing exponentially towards ``R * I`` during the step, the exact
    solution of ``dθv/dt = a u - b θv`` is ``θv' = e^{-b dt} θv + c_u u + c_i I`` with the
    coefficients below; both are proportional to ``a`` (used by the threshold fit).

    Examples
    --------
    >>> from bmtoolkit.glif.parameters import GlifParameters
    >>> p = GlifParameters(level=5, El=-0.07, R=1e8, C=1e-10, th_inf=0.02,
    ...                    spike_cut_length=10, dt=5e-5, a_voltage=10.0, b_voltage=50.0)
    >>> round(ThetaVoltage(p, 5e-5).step(0.0, 0.01, 0.0) * 1e6, 3)  # ~ a u dt = 5 uV
    4.981
    """

    def __init__(self, params: GlifParameters, dt: float) -> None:
        self.decay, self.c_u, self.c_i = theta_voltage_coefficients(
            params.a_voltage, params.b_voltage, params.R, params.C, dt
        )

    def step(self, theta: float, u: float, current: float) -> float:
        """``θv`` after one step from ``theta`` at voltage ``u`` (V above El), current (A)."""
        return self.decay * theta + self.c_u * u + self.c_i * current


def theta_voltage_coefficients(a: float, b: float, r: float, c: float,
                               dt: float) -> tuple[float, float, float]:  # fmt: skip
    """``(e^{-b dt}, c_u, c_i)`` of the exact voltage-threshold step (see :class:`ThetaVoltage`).

    Examples
    --------
    >>> [round(x, 6) for x in theta_voltage_coefficients(0.0, 50.0, 1e8, 1e-10, 1e-4)]
    [0.995012, 0.0, 0.0]
    """
    g = 1.0 / r
    k = g / c
    pv = np.exp(-k * dt)
    pb = np.exp(-b * dt)
    if abs(b - k) < 1e-9 * max(b, k):  # the resonant case: limit b -> k
        phi_term = a * dt * pb
    else:
        phi_term = a / (b - k) * (pv - pb)
    ratio = a / b if b > 0 else a * dt
    # θv' = phi (u - β) pv + pb (θv - phi (u - β) - ratio β) + ratio β, β = I / g
    c_u = phi_term
    c_i = (-phi_term + ratio * (1.0 - pb) if b > 0 else -phi_term + a * dt) / g
    return float(pb), float(c_u), float(c_i)


def simulate(params: GlifParameters, stimulus: np.ndarray, *, dt: float | None = None,
             v0: float | None = None, engine: str = "auto") -> SimulationResult:  # fmt: skip
    """Simulate ``params`` under ``stimulus`` (A per sample) at ``dt`` (default the model's).

    Parameters
    ----------
    params : GlifParameters
        The model; mechanisms its level lacks are off.
    stimulus : ndarray
        Injected current (A), one value per sample.
    dt : float, optional
        Sample interval (s); the spike cut is ``spike_cut_length * params.dt`` long whatever
        ``dt`` is.
    v0 : float, optional
        Initial voltage (V), default ``El``.
    engine : {"auto", "c", "python"}
        ``"c"``: a compiled loop (``simulate_kernel.c``, built on first use by
        :mod:`bmtoolkit.native`), tens of times faster; ``"python"``: the same loop over
        Python floats; ``"auto"`` (default): ``"c"`` where it can be compiled. Both do the
        same operations in the same order and give the same result, bit for bit.
    """
    if engine not in ("auto", "c", "python"):
        raise ConfigError(f"simulate engine must be 'auto', 'c' or 'python', got {engine!r}")
    has = level_has(params.level)
    dt = params.dt if dt is None else float(dt)
    stim = np.asarray(stimulus, dtype=float)
    n = stim.size
    el, r = params.El, params.R
    alpha = np.exp(-dt / params.tau)
    beta = r * (1.0 - alpha)
    cut = int(round(params.spike_cut_length * params.dt / dt))
    taus = np.asarray(params.asc_tau, float)
    asc_on = has["asc"] and taus.size > 0
    asc_decay = np.exp(-dt / taus) if asc_on else np.zeros(0)
    asc_avg = asc_step_average(taus, dt) if asc_on else np.zeros(0)
    asc_amp = np.asarray(params.asc_amp, float)
    asc_r = np.asarray(params.asc_r, float)
    t_cut = cut * dt
    th_s_decay = np.exp(-params.b_spike * dt) if has["reset_rules"] else 1.0
    th_s_cut = np.exp(-params.b_spike * t_cut)
    asc_cut = asc_r * np.exp(-t_cut / taus) if asc_on else np.zeros(0)
    th_v = ThetaVoltage(params, dt) if has["voltage_threshold"] else None
    start = el if v0 is None else float(v0)
    th_inf, reset_rules = params.th_inf, has["reset_rules"]
    ra, rb, a_s = params.reset_a, params.reset_b, params.a_spike
    tv_decay, tv_u, tv_i = (th_v.decay, th_v.c_u, th_v.c_i) if th_v is not None else (1.0, 0.0, 0.0)
    n_asc = taus.size if asc_on else 0
    kernel = None if engine == "python" or n == 0 else _kernel()
    if kernel is None and engine == "c":
        raise ConfigError("the compiled simulate kernel is unavailable: "
                          + ("the stimulus is empty" if n == 0 else _why_no_kernel()))  # fmt: skip
    if kernel is not None:
        consts = np.array([el, alpha, beta, th_inf, float(reset_rules), ra, rb, a_s, th_s_decay,
                           th_s_cut, tv_decay, tv_u, tv_i, float(cut)], dtype=float)  # fmt: skip
        asc_c = np.concatenate([asc_avg, asc_decay, asc_amp[:n_asc], asc_cut])
        stim_c = np.ascontiguousarray(stim)
        v_out, thr_out = np.empty(n), np.empty(n)
        spikes_out = np.empty(n, np.int64)
        work = np.empty(max(n_asc, 1))
        n_spikes = kernel(n, n_asc, stim_c.ctypes.data, start,
                          *(a.ctypes.data for a in (consts, asc_c, work, v_out, thr_out,
                                                    spikes_out)))  # fmt: skip
        return SimulationResult(voltage=v_out, threshold=thr_out,
                                spikes=spikes_out[:n_spikes].astype(int), dt=dt)  # fmt: skip
    # plain Python floats in the loop: several times faster than numpy scalars
    stim_l = stim.tolist()
    v = [0.0] * n
    thr = [0.0] * n
    v[0] = start
    thr[0] = el + th_inf
    asc_l = [0.0] * n_asc
    avg_l, dec_l = asc_avg.tolist(), asc_decay.tolist()
    amp_l, cut_l = asc_amp.tolist(), asc_cut.tolist()
    th_s = th_vol = 0.0
    spikes: list[int] = []
    hold = 0
    for k in range(n - 1):
        if hold > 0:
            hold -= 1
            v[k + 1] = v[k]
            thr[k + 1] = thr[k]
            continue
        i_tot = stim_l[k]
        for j in range(n_asc):
            i_tot += asc_l[j] * avg_l[j]
            asc_l[j] *= dec_l[j]
        u_old = v[k] - el
        u = u_old * alpha + beta * i_tot
        th_s *= th_s_decay
        th_vol = tv_decay * th_vol + tv_u * u_old + tv_i * i_tot
        threshold = th_inf + th_s + th_vol
        thr[k + 1] = el + threshold
        if u > threshold:
            spikes.append(k + 1)
            if reset_rules:
                u = ra * u_old + rb
                th_s = th_s * th_s_cut + a_s
            else:
                u = 0.0
            for j in range(n_asc):
                asc_l[j] = amp_l[j] + asc_l[j] * cut_l[j]
            hold = cut
        v[k + 1] = el + u
    return SimulationResult(voltage=np.asarray(v), threshold=np.asarray(thr),
                            spikes=np.asarray(spikes, int), dt=dt)  # fmt: skip


_KERNEL_SOURCE = Path(__file__).with_name("simulate_kernel.c")


def _kernel() -> Any:
    """The compiled ``glif_simulate`` with its argument types, or ``None``."""
    from bmtoolkit.native import load_function

    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    return load_function(_KERNEL_SOURCE, "glif_simulate",
                         [i64, i64, ptr, ctypes.c_double] + [ptr] * 6, i64)  # fmt: skip


def _why_no_kernel() -> str:
    from bmtoolkit.native import why_unavailable

    return why_unavailable(_KERNEL_SOURCE) or "unknown reason"
