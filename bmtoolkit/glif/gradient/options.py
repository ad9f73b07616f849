"""Settings of the gradient fit, as one frozen record.

Every knob of :func:`~bmtoolkit.glif.gradient.fit_glif_gradient` lives in
:class:`GradientOptions`; the function also takes them as keywords (``max_iter=40``), which
replace the defaults. Values are checked when the record is made, so a bad setting fails
before any simulation, with the field named.

Examples
--------
>>> opts = GradientOptions(lr=0.02, max_iter=30)
>>> opts.with_overrides(patience=3).patience
3
>>> GradientOptions(window=0.05, warmup=0.1)
Traceback (most recent call last):
...
bmtoolkit.exceptions.ConfigError: GradientOptions.warmup: warmup (0.1 s) must be shorter than window (0.05 s)
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from bmtoolkit.exceptions import ConfigError


@dataclass(frozen=True)
class GradientOptions:
    """Settings of :func:`~bmtoolkit.glif.gradient.fit_glif_gradient`.

    Parameters
    ----------
    parameters : sequence of str, optional
        :class:`~bmtoolkit.glif.GlifParameters` fields to fit (default: every continuous
        parameter of the level except the after-spike current time constants, which the
        Allen procedure keeps fixed; see
        :data:`~bmtoolkit.glif.gradient.parametrize.FREE_PARAMETERS`).
    lr : float
        Adam learning rate in units of the unconstrained parameters: a log-parametrised value
        changes by about ``lr`` (relative) per step, a linear one by ``lr`` times its scale.
    lr_final : float
        Fraction of ``lr`` reached at the last step (cosine schedule).
    betas : tuple of float
        Adam's decay rates of the gradient mean and square; the mean's (0.5, lower than
        Adam's usual 0.9) keeps the parameters from overshooting when the spike term changes
        with every spike that appears or disappears.
    max_iter : int
        Most optimizer steps.
    patience : int
        Stop after this many validation checks without improvement.
    check_every : int
        Optimizer steps between validation checks.
    window, warmup : float
        Training sweeps are cut into overlapping windows of ``window`` seconds simulated in
        one batch; the first ``warmup`` seconds of each (after the first) only settle the
        state and are not scored.
    batch_windows : int, optional
        Windows per optimizer step, drawn with ``seed`` (default: all of them every step).
    voltage_weight, spike_weight : float
        Weights of the subthreshold voltage term and the spike-train term of the loss.
    sigma, bin_size : float
        Gaussian width and bin of the smoothed PSTH the spike term compares (s); the
        defaults are those of the explained variance.
    surrogate, surrogate_width, surrogate_scale : str, float, float
        Shape (a name of :data:`~bmtoolkit.simulator.torchnet.surrogate.SURROGATES`), width
        (mV) and peak of the spike function's pseudo-derivative.
    seed : int
        Seeds the window draws; with everything else fixed the fit is reproducible.
    dtype : str
        ``"float64"`` (default) or ``"float32"``.
    detect : str
        Spike detection method for the data (see :func:`~bmtoolkit.glif.detect_spikes`).
    """

    parameters: tuple[str, ...] | None = None
    lr: float = 0.01
    lr_final: float = 0.1
    betas: tuple[float, float] = (0.5, 0.9)
    max_iter: int = 60
    patience: int = 8
    check_every: int = 2
    window: float = 0.1
    warmup: float = 0.02
    batch_windows: int | None = None
    voltage_weight: float = 1.0
    spike_weight: float = 1.0
    sigma: float = 0.01
    bin_size: float = 0.001
    surrogate: str = "fast_sigmoid"
    surrogate_width: float = 1.0
    surrogate_scale: float = 1.0
    seed: int = 0
    dtype: str = "float64"
    detect: str = "auto"

    def __post_init__(self) -> None:
        if self.parameters is not None:
            object.__setattr__(self, "parameters", tuple(str(p) for p in self.parameters))
        positive = ("lr", "window", "sigma", "bin_size", "surrogate_width", "surrogate_scale")
        for name in positive:
            if not float(getattr(self, name)) > 0:
                _bad(name, f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("warmup", "voltage_weight", "spike_weight"):
            if float(getattr(self, name)) < 0:
                _bad(name, f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.voltage_weight == 0 and self.spike_weight == 0:
            _bad("spike_weight", "voltage_weight and spike_weight cannot both be 0")
        if not 0 < self.lr_final <= 1:
            _bad("lr_final", f"lr_final must be in (0, 1], got {self.lr_final!r}")
        for name in ("max_iter", "patience", "check_every"):
            if int(getattr(self, name)) < 1:
                _bad(name, f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.batch_windows is not None and self.batch_windows < 1:
            _bad("batch_windows", f"batch_windows must be >= 1, got {self.batch_windows!r}")
        if self.warmup >= self.window:
            _bad("warmup", f"warmup ({self.warmup} s) must be shorter than window "
                           f"({self.window} s)")  # fmt: skip
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            _bad("betas", f"betas must be two numbers in [0, 1), got {self.betas!r}")
        object.__setattr__(self, "betas", tuple(float(b) for b in self.betas))
        if self.dtype not in ("float64", "float32"):
            _bad("dtype", f"dtype must be 'float64' or 'float32', got {self.dtype!r}")

    def with_overrides(self, **overrides: Any) -> GradientOptions:
        """A copy with some settings replaced; unknown names give a :class:`ConfigError`."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"unknown gradient fit option(s) {unknown}; known: "
                              f"{', '.join(sorted(known))}", field="options")  # fmt: skip
        if isinstance(overrides.get("parameters"), str):
            overrides["parameters"] = (overrides["parameters"],)
        return replace(self, **overrides)


def _bad(name: str, message: str) -> None:
    raise ConfigError(message, field=f"GradientOptions.{name}")
