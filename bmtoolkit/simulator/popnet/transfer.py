"""Analytic stationary firing rates of leaky integrate-and-fire neurons under Poisson input.

Two closed forms are provided, used as transfer functions by the mean-field mode and as the
references the density solver is tested against:

- :func:`siegert_rate`: the diffusion approximation (Siegert 1951; Brunel 2000), valid when
  synaptic jumps are small compared with the distance from reset to threshold;
- :func:`exponential_jump_rate`: the exact rate for excitatory shot noise whose jump sizes are
  exponentially distributed (Richardson & Swarbrick 2010, PRL 105:178102), derived here from the
  stationary flux balance.

Units: time in ms, voltage in mV, input rates in 1/ms (kHz), returned rates in Hz. Voltages
are measured from the resting potential (``E_L = 0``).

Examples
--------
>>> from bmtoolkit.simulator.popnet.transfer import exponential_jump_rate
>>> round(exponential_jump_rate(rate=0.1, mean_jump=5.0, tau_m=20.0, v_th=20.0), 5)
8.66878
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import integrate, special

from bmtoolkit.exceptions import ConfigError


def diffusion_moments(
    rates: Sequence[float], weights: Sequence[float], tau_m: float
) -> tuple[float, float]:
    """Mean and standard deviation (mV) of the free membrane potential under Poisson inputs.

    Parameters
    ----------
    rates : sequence of float
        Total Poisson rate of each input (1/ms), i.e. number of synapses times presynaptic rate.
    weights : sequence of float
        Jump size of each input (mV); negative for inhibition.
    tau_m : float
        Membrane time constant (ms).

    Returns
    -------
    mu, sigma : float
        ``mu = tau_m * sum(r w)`` and ``sigma = sqrt(tau_m * sum(r w**2))``.

    Examples
    --------
    >>> diffusion_moments([1.0], [0.5], 20.0)
    (10.0, 2.23606797749979)
    """
    r = np.asarray(rates, dtype=float)
    w = np.asarray(weights, dtype=float)
    mu = float(tau_m * np.sum(r * w))
    sigma = float(np.sqrt(tau_m * np.sum(r * w * w)))
    return mu, sigma


def siegert_rate(
    mu: float,
    sigma: float,
    *,
    tau_m: float,
    v_th: float,
    v_reset: float = 0.0,
    tau_ref: float = 0.0,
) -> float:
    """Stationary rate (Hz) of a LIF neuron driven by white noise (Siegert formula).

    ``1/r = tau_ref + tau_m sqrt(pi) int_{(v_reset-mu)/sigma}^{(v_th-mu)/sigma} e^{u^2}(1+erf u) du``

    Parameters
    ----------
    mu, sigma : float
        Mean and standard deviation (mV) of the free membrane potential (see
        :func:`diffusion_moments`).
    tau_m, tau_ref : float
        Membrane time constant and refractory period (ms).
    v_th, v_reset : float
        Threshold and reset relative to rest (mV).

    Examples
    --------
    >>> round(siegert_rate(15.0, 4.0, tau_m=20.0, v_th=20.0, v_reset=10.0, tau_ref=2.0), 3)
    5.893
    """
    if tau_m <= 0 or v_th <= v_reset:
        raise ConfigError(f"need tau_m > 0 and v_th > v_reset, got {tau_m=}, {v_th=}, {v_reset=}")
    if sigma <= 0:
        # deterministic limit: periodic firing when mu exceeds threshold
        if mu <= v_th:
            return 0.0
        period = tau_ref + tau_m * np.log((mu - v_reset) / (mu - v_th))
        return float(1000.0 / period)
    lo = (v_reset - mu) / sigma
    hi = (v_th - mu) / sigma
    if hi > 26.0:  # rate below ~1e-290 Hz
        return 0.0

    def integrand(u: float) -> float:
        # e^{u^2} (1 + erf u) = erfcx(-u), stable for negative u
        return float(special.erfcx(-u))

    # split at 0 so quad sees the fast-growing part separately
    pieces = [(lo, min(hi, 0.0)), (max(lo, 0.0), hi)]
    total = 0.0
    for a, b in pieces:
        if b > a:
            total += integrate.quad(integrand, a, b, limit=200, epsabs=0.0, epsrel=1e-10)[0]
    return float(1000.0 / (tau_ref + tau_m * np.sqrt(np.pi) * total))


def exponential_jump_rate(
    *,
    rate: float,
    mean_jump: float,
    tau_m: float,
    v_th: float,
    v_reset: float = 0.0,
    tau_ref: float = 0.0,
) -> float:
    """Exact stationary rate (Hz) of a LIF neuron under exponentially distributed shot noise.

    The neuron obeys ``dv/dt = -v/tau_m`` between input events arriving as a Poisson process of
    rate ``rate``; each event raises ``v`` by an exponentially distributed amount of mean
    ``mean_jump``. Crossing ``v_th`` emits a spike; ``v`` is held for ``tau_ref`` and restarts at
    ``v_reset`` (``0 <= v_reset < v_th``).

    Notes
    -----
    Let ``G(v) = int_{-inf}^v P(u) exp(-(v-u)/a) du`` (``a = mean_jump``). The upward jump flux
    across ``v`` is ``R G(v)`` and the stationary flux balance ``-v P/tau + R G = r H(v - v_r)``
    together with ``G' = P - G/a`` gives a first-order linear equation for ``G`` with homogeneous
    solution ``h(v) = v^{R tau} e^{-v/a}`` and boundary value ``G(v_th) = r/R`` (no density at
    threshold). Integrating it back from threshold (by parts) gives, for ``v >= v_reset``,
    ``R G(v)/r - 1 = (1/a) int_v^{v_th} h(v)/h(u) du`` and below reset ``G`` proportional to
    ``h``. Normalising the density ``P = tau (R G - r H(v - v_r)) / v`` (plus an atom of mass
    ``r/R`` at rest when ``v_reset = 0`` and the refractory mass ``r tau_ref``) yields ``1/r``
    as a double integral of positive terms, evaluated with adaptive quadrature in log space.
    This reproduces the closed form of Richardson & Swarbrick (2010).

    Examples
    --------
    >>> round(exponential_jump_rate(rate=0.1, mean_jump=5.0, tau_m=20.0, v_th=20.0), 5)
    8.66878
    """
    if not (0.0 <= v_reset < v_th):
        raise ConfigError(f"need 0 <= v_reset < v_th (relative to rest), got {v_reset=}, {v_th=}")
    if rate <= 0 or mean_jump <= 0 or tau_m <= 0:
        raise ConfigError("rate, mean_jump and tau_m must be > 0")
    n = rate * tau_m
    a = mean_jump

    def ratio(v: float, u: float) -> float:  # h(v) / h(u) with h(x) = x^n e^{-x/a}
        return float(np.exp(n * np.log(v / u) + (u - v) / a))

    def inner(v: float) -> float:  # int_v^{v_th} h(v) / h(u) du
        width = max(v / n, 1e-12) if n > 1 else v_th - v
        pts = [v + width] if v + width < v_th else None
        return integrate.quad(
            lambda u: ratio(v, u), v, v_th, epsabs=0.0, epsrel=1e-11, limit=200, points=pts
        )[0]

    def above(v: float) -> float:  # (R g(v) - 1) / v for v >= v_reset
        return inner(v) / (a * v) if v > 0 else 0.0

    quad_opts = {"epsabs": 1e-14, "epsrel": 1e-10, "limit": 400}
    total = integrate.quad(above, v_reset, v_th, **quad_opts)[0]
    if v_reset > 0:
        c_r = 1.0 + inner(v_reset) / a  # R g(v_reset)
        below = integrate.quad(lambda v: ratio(v, v_reset) / v, 0.0, v_reset, **quad_opts)[0]
        total += c_r * below
    atom = 1.0 / rate if v_reset == 0.0 else 0.0
    return float(1000.0 / (tau_ref + atom + tau_m * total))
