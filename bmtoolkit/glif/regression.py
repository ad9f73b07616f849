"""Linear-regression steps of the GLIF fit: membrane, after-spike currents, voltage reset.

Each function takes :class:`~bmtoolkit.glif.spikes.Transitions` (one per sweep) and returns
plain numbers, so each step can be checked on its own.

- :func:`fit_subthreshold` regresses ``V[n+1]`` on ``V[n]``, ``I[n]`` and 1 over the free
  transitions of spike-free stretches: ``V[n+1] = α V[n] + β I[n] + γ`` is the exact
  solution of ``C dV/dt = I - (V - El)/R`` for a current constant over the step, so
  ``tau = -dt / ln α``, ``R = β / (1 - α)``, ``El = γ / (1 - α)``, ``C = tau / R``.
- :func:`fit_after_spike_currents` fixes those and regresses what current is left,
  ``(V[n+1] - α V[n] - γ) / β - I[n]``, on one exponential basis per fixed time constant
  started at the end of each spike cut (amplitudes ``A_j`` in A; suprathreshold sweeps).
- :func:`fit_voltage_reset` regresses the voltage at the end of the cut on the voltage
  before the spike, both relative to ``El``: slope ``a`` and intercept ``b`` of the
  ``v_before`` reset rule; a slope outside [0, 1] is clipped and the intercept refitted.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.glif.sweeps import Sweep
>>> from bmtoolkit.glif.spikes import prepare
>>> rng = np.random.default_rng(0)
>>> i = rng.normal(0, 5e-11, 4000); v = np.empty(4000); v[0] = -0.07
>>> a = np.exp(-1e-4 / 0.02)
>>> for n in range(3999):
...     v[n + 1] = -0.07 + (v[n] + 0.07) * a + 2e8 * (1 - a) * i[n]
>>> m = fit_subthreshold([prepare(Sweep(i, v, 1e-4), np.array([], int), 0)])
>>> round(m.R / 1e6), round(m.C * 1e12), round(m.El * 1e3, 3)
(200, 100, -70.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.simulate import asc_step_average
from bmtoolkit.glif.spikes import Transitions


@dataclass(frozen=True)
class Membrane:
    """Passive membrane fitted by :func:`fit_subthreshold` (SI units, absolute ``El``)."""

    R: float
    C: float
    El: float
    dt: float
    r2: float = float("nan")

    @property
    def tau(self) -> float:
        """R*C (s)."""
        return self.R * self.C

    @property
    def alpha(self) -> float:
        """Voltage decay per sample."""
        return float(np.exp(-self.dt / self.tau))

    @property
    def beta(self) -> float:
        """Voltage per ampere per sample."""
        return self.R * (1.0 - self.alpha)

    def predict(self, v0: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Voltage one sample after ``v0`` under ``current`` (A)."""
        return self.El + (v0 - self.El) * self.alpha + self.beta * current


def asc_basis(tr: Transitions, taus: Sequence[float]) -> np.ndarray:
    """After-spike current per unit amplitude for each transition, one column per tau.

    Column ``j`` at transition ``n`` is ``sum_spikes exp(-(n - s - L) dt / tau_j)`` times the
    step average of the exponential, for spikes whose cut ended at or before ``n`` (the
    NEST ``glif_psc`` convention, see :mod:`bmtoolkit.glif.simulate`).
    """
    taus = np.asarray(taus, dtype=float)
    cols = np.zeros((tr.index.size, taus.size))
    if tr.spikes.size == 0 or taus.size == 0:
        return cols
    impulses = tr.events()
    avg = asc_step_average(taus, tr.dt)
    for j, tau in enumerate(taus):
        y = lfilter([1.0], [1.0, -np.exp(-tr.dt / tau)], impulses)
        cols[:, j] = y[tr.index] * avg[j]
    return cols


def _quiet(tr: Transitions, taus: Sequence[float], tol: float) -> np.ndarray:
    """Free transitions where every after-spike basis has decayed below ``tol``."""
    free = ~tr.spike
    if tr.spikes.size == 0:
        return free
    basis = asc_basis(tr, taus if len(taus) else [0.01])
    after = np.zeros(tr.index.size, bool)
    first = tr.spikes.min()
    after[tr.index >= first] = True
    settled = (basis < tol).all(axis=1)
    return free & (~after | settled)


def fit_subthreshold(transitions: Sequence[Transitions], *, quiet_taus: Sequence[float] = (),
                     tol: float = 0.01) -> Membrane:  # fmt: skip
    """R, C and El by linear regression of the free transitions (see the module docstring).

    Parameters
    ----------
    transitions : sequence of Transitions
        Sweeps; spike-free ones are best (Allen: subthreshold noise).
    quiet_taus : sequence of float
        Time constants (s) of after-spike currents to wait out: transitions after a spike
        are used only once every ``exp(-t/tau)`` is below ``tol``. Empty: only transitions
        before the first spike of each sweep.
    tol : float
        See ``quiet_taus``.
    """
    rows, targets = [], []
    for tr in transitions:
        keep = (
            _quiet(tr, quiet_taus, tol)
            if quiet_taus
            else (~tr.spike) & (tr.index < (tr.spikes.min() if tr.spikes.size else np.inf))
        )
        rows.append(np.column_stack([tr.v0[keep], tr.current[keep], np.ones(keep.sum())]))
        targets.append(tr.v1[keep])
    x = np.concatenate(rows) if rows else np.zeros((0, 3))
    y = np.concatenate(targets) if targets else np.zeros(0)
    if y.size < 10 or np.ptp(x[:, 1]) == 0:
        raise ConfigError(
            "the subthreshold fit needs spike-free stretches with a varying current "
            f"(got {y.size} samples); give a subthreshold noise or square sweep",
            field="sweeps",
        )
    (a, b, g), *_ = np.linalg.lstsq(x, y, rcond=None)
    if not (0 < a < 1 and b > 0):
        raise ConfigError(f"subthreshold regression gave no passive membrane (α={a:.4g}, "
                          f"β={b:.4g}); check the units (A, V, s)", field="sweeps")  # fmt: skip
    dt = transitions[0].dt
    tau = -dt / np.log(a)
    r = b / (1.0 - a)
    resid = y - x @ np.array([a, b, g])
    r2 = 1.0 - resid.var() / y.var() if y.var() > 0 else float("nan")
    return Membrane(R=float(r), C=float(tau / r), El=float(g / (1.0 - a)), dt=dt, r2=float(r2))


def fit_after_spike_currents(transitions: Sequence[Transitions], membrane: Membrane,
                             taus: Sequence[float]) -> np.ndarray:  # fmt: skip
    """Amplitudes (A) of after-spike currents with fixed time constants ``taus`` (s).

    The residual current of the free transitions is regressed on :func:`asc_basis`.

    Examples
    --------
    >>> import numpy as np
    >>> from bmtoolkit.glif.sweeps import Sweep
    >>> from bmtoolkit.glif.spikes import prepare
    >>> m = Membrane(R=1e8, C=1e-10, El=-0.07, dt=1e-4)
    >>> v = np.full(300, -0.07); v[100:105] = -0.06
    >>> tr = prepare(Sweep(np.zeros(300), v, 1e-4), np.array([100]), 4)
    >>> u = np.zeros(300); u[104] = 1; basis = asc_basis(tr, [0.005])[:, 0]
    >>> v1 = m.predict(tr.v0, -2e-11 * basis)  # data made with A = -20 pA
    >>> tr2 = type(tr)(**{**tr.__dict__, "v1": np.where(tr.spike, tr.v1, v1)})
    >>> round(float(fit_after_spike_currents([tr2], m, [0.005])[0]) * 1e12, 6)
    -20.0
    """
    taus = np.asarray(taus, dtype=float)
    xs, ys = [], []
    for tr in transitions:
        if tr.spikes.size == 0:
            continue
        free = ~tr.spike
        basis = asc_basis(tr, taus)[free]
        resid = (tr.v1[free] - membrane.alpha * tr.v0[free]
                 - membrane.El * (1 - membrane.alpha)) / membrane.beta - tr.current[free]  # fmt: skip
        xs.append(basis)
        ys.append(resid)
    if not xs:
        raise ConfigError("after-spike currents need sweeps with spikes (suprathreshold noise)",
                          field="sweeps")  # fmt: skip
    amps, *_ = np.linalg.lstsq(np.concatenate(xs), np.concatenate(ys), rcond=None)
    return amps


def fit_voltage_reset(transitions: Sequence[Transitions], El: float) -> tuple[float, float]:
    """``(a, b)`` of ``V_post - El = a (V_pre - El) + b`` over all spikes (b in V).

    Examples
    --------
    >>> import numpy as np
    >>> from bmtoolkit.glif.sweeps import Sweep
    >>> from bmtoolkit.glif.spikes import prepare
    >>> v = np.full(100, -0.07); v[19] = -0.05; v[20:26] = -0.07 + 0.4 * 0.02 + 0.004
    >>> v[59] = -0.052; v[60:66] = -0.07 + 0.4 * 0.018 + 0.004
    >>> tr = prepare(Sweep(np.zeros(100), v, 1e-4), np.array([20, 60]), 5)
    >>> [round(x, 6) for x in fit_voltage_reset([tr], -0.07)]
    [0.4, 0.004]
    """
    pre, post = [], []
    for tr in transitions:
        ok = np.isfinite(tr.v_post)
        pre.append(tr.v0[tr.spike][ok] - El)
        post.append(tr.v_post[ok] - El)
    x = np.concatenate(pre) if pre else np.zeros(0)
    y = np.concatenate(post) if post else np.zeros(0)
    if x.size < 2:
        raise ConfigError("the voltage reset needs at least two spikes", field="sweeps")
    if np.ptp(x) < 1e-9:
        return 0.0, float(np.mean(y))
    a, b = np.polyfit(x, y, 1)
    if not 0.0 <= a <= 1.0:  # a fraction of the pre-spike voltage (NEST requires [0, 1])
        a = float(np.clip(a, 0.0, 1.0))
        b = float(np.mean(y - a * x))
    return float(a), float(b)
