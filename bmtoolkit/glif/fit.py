"""Fit a GLIF level to current-clamp sweeps: the steps of :mod:`bmtoolkit.glif` in order.

1. spikes of every sweep (:func:`~bmtoolkit.glif.spikes.sweep_spikes`);
2. the spike-cut length (:func:`~bmtoolkit.glif.spikes.spike_cut_length`);
3. R, C, El from spike-free sweeps, or spike-free stretches when no sweep is
   (:func:`~bmtoolkit.glif.regression.fit_subthreshold`);
4. after-spike current amplitudes with fixed time constants (levels 3-5,
   :func:`~bmtoolkit.glif.regression.fit_after_spike_currents`);
5. the voltage reset rule (levels 2, 4, 5, :func:`~bmtoolkit.glif.regression.fit_voltage_reset`);
   levels 1 and 3 reset to El;
6. the threshold: least squares on spike thresholds, then MLIN
   (:mod:`bmtoolkit.glif.threshold`);
7. optionally (``calibrate=True`` or a name, as the Allen fits optimise ``coeffs``):
   a calibration of :mod:`bmtoolkit.glif.calibrate` scales ``th_inf`` (and, for ``"f-i"``,
   the time constant) so the model's spike counts on the suprathreshold training sweeps
   and long squares match the data's, which matters when a level lacks a mechanism the
   cell has (a biophysical cell fitted with GLIF1).

:func:`evaluate` runs the fitted model on (held-out) sweeps and reports the explained
variance of the PSTH and the spike counts.

Examples
--------
>>> import numpy as np
>>> from bmtoolkit.glif import GlifParameters, Sweep, make_stimulus, simulate
>>> truth = GlifParameters(level=1, El=-0.07, R=2e8, C=1e-10, th_inf=0.015,
...                        spike_cut_length=60, dt=5e-5)
>>> sweeps = []
>>> for k, (offset, amp) in enumerate([(0.0, 3e-11), (1e-10, 6e-11), (1e-10, 6e-11)]):
...     i = make_stimulus("noise", duration=1.0, dt=5e-5, amplitude=amp, offset=offset, seed=k)
...     sweeps.append(Sweep(i, simulate(truth, i).voltage, 5e-5, kind="noise"))
>>> fit = fit_glif(sweeps[:2], level=1)
>>> round(fit.params.R / 1e6), round(fit.params.th_inf * 1e3, 1), fit.params.spike_cut_length
(200, 15.0, 60)
>>> bool(evaluate(fit.params, sweeps[2:]).explained_variance > 0.99)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.calibrate import CALIBRATIONS
from bmtoolkit.glif.calibrate import calibrate_threshold as calibrate_threshold  # re-exported
from bmtoolkit.glif.parameters import DEFAULT_ASC_TAUS, GlifParameters, level_has
from bmtoolkit.glif.quality import explained_variance
from bmtoolkit.glif.regression import (
    Membrane,
    fit_after_spike_currents,
    fit_subthreshold,
    fit_voltage_reset,
)
from bmtoolkit.glif.simulate import simulate
from bmtoolkit.glif.spikes import prepare, spike_cut_length, sweep_spikes
from bmtoolkit.glif.sweeps import Sweep
from bmtoolkit.glif.threshold import Threshold, fit_threshold_lsq, fit_threshold_mlin


@dataclass(frozen=True)
class GlifFit:
    """The result of :func:`fit_glif`: parameters and what each step found."""

    params: GlifParameters
    membrane: Membrane
    threshold_lsq: Threshold
    threshold: Threshold
    n_spikes: int

    @property
    def neuron_config(self) -> dict[str, Any]:
        """Allen ``neuron_config`` form."""
        return self.params.to_neuron_config()

    def nest_params(self, model: str = "glif_psc") -> dict[str, Any]:
        """NEST ``glif_psc``/``glif_cond`` parameters (pointnet translation)."""
        return self.params.to_nest(model=model)


@dataclass(frozen=True)
class Evaluation:
    """Model vs data on some sweeps: explained variance (all sweeps pooled) and spike counts."""

    explained_variance: float
    per_sweep: tuple[float, ...]
    data_counts: tuple[int, ...]
    model_counts: tuple[int, ...]
    model_spikes: tuple[np.ndarray, ...] = field(repr=False, default=())
    model_voltage: tuple[np.ndarray, ...] = field(repr=False, default=())


def _check(sweeps: Sequence[Sweep]) -> float:
    if not sweeps:
        raise ConfigError("no sweeps given", field="sweeps")
    dts = {round(s.dt, 12) for s in sweeps}
    if len(dts) != 1:
        raise ConfigError(f"all sweeps must share one dt, got {sorted(dts)}", field="sweeps")
    return sweeps[0].dt


def fit_glif(sweeps: Sequence[Sweep], level: int, *, spike_cut: int | None = None,
             asc_taus: Sequence[float] = DEFAULT_ASC_TAUS, mlin: bool = True,
             detect: str = "auto", calibrate: bool | str = False) -> GlifFit:  # fmt: skip
    """Fit GLIF ``level`` (1-5) to training ``sweeps``.

    Parameters
    ----------
    sweeps : sequence of Sweep
        Training sweeps at one dt: spike-free stretches (subthreshold noise or squares) for
        the membrane and suprathreshold noise for after-spike currents and threshold.
    level : int
        GLIF level.
    spike_cut : int, optional
        Spike-cut length in samples (default: estimated).
    asc_taus : sequence of float
        Fixed after-spike current time constants (s).
    mlin : bool
        Refine the threshold by maximum likelihood (MLIN); otherwise least squares only.
    detect : str
        Spike detection method (see :func:`~bmtoolkit.glif.spikes.detect_spikes`).
    calibrate : bool or str
        Finish with a calibration of :data:`~bmtoolkit.glif.calibrate.CALIBRATIONS` on the
        training sweeps with spikes and the long squares: ``True`` or ``"threshold"``
        (:func:`~bmtoolkit.glif.calibrate.calibrate_threshold`), ``"f-i"``
        (:func:`~bmtoolkit.glif.calibrate.calibrate_f_i`, threshold and time constant).
    """
    has = level_has(level)
    dt = _check(sweeps)
    spikes = [sweep_spikes(s, method=detect) for s in sweeps]
    if spike_cut is None:
        cuts = [spike_cut_length(s.voltage, sp, dt) for s, sp in zip(sweeps, spikes, strict=True)
                if sp.size]  # fmt: skip
        spike_cut = int(np.median(cuts)) if cuts else 0
    trs = [prepare(s, sp, spike_cut) for s, sp in zip(sweeps, spikes, strict=True)]
    n_spikes = int(sum(sp.size for sp in spikes))
    if n_spikes < 3:
        raise ConfigError(f"need at least 3 spikes in the training sweeps, found {n_spikes}",
                          field="sweeps")  # fmt: skip
    # spike-free sweeps when there are any: quiet stretches of suprathreshold sweeps sit in
    # the depolarised range where a biophysical membrane is far from linear
    spike_free = [tr for tr in trs if tr.spikes.size == 0]
    membrane = fit_subthreshold(spike_free or trs, quiet_taus=asc_taus)
    taus = tuple(float(t) for t in asc_taus)
    amps = tuple(fit_after_spike_currents(trs, membrane, taus)) if has["asc"] else ()
    reset = fit_voltage_reset(trs, membrane.El) if has["reset_rules"] else (0.0, 0.0)
    lsq = fit_threshold_lsq(trs, membrane, level, asc_amps=amps, asc_taus=taus)
    thr = (fit_threshold_mlin(trs, membrane, level, start=lsq, asc_amps=amps, asc_taus=taus)
           if mlin else lsq)  # fmt: skip
    params = GlifParameters(
        level=level, El=membrane.El, R=membrane.R, C=membrane.C, th_inf=thr.th_inf,
        spike_cut_length=int(spike_cut), dt=dt, reset_a=reset[0], reset_b=reset[1],
        a_spike=thr.a_spike, b_spike=thr.b_spike, a_voltage=thr.a_voltage,
        b_voltage=thr.b_voltage, asc_tau=taus, asc_amp=amps or (0.0,) * len(taus),
        asc_r=(1.0,) * len(taus),
    )  # fmt: skip
    if calibrate:
        name = "threshold" if calibrate is True else str(calibrate)
        chosen = [s for s, sp in zip(sweeps, spikes, strict=True)
                  if sp.size or s.kind == "long_square"]  # fmt: skip
        params = CALIBRATIONS.get(name)(params, chosen, detect=detect)
    return GlifFit(params=params, membrane=membrane, threshold_lsq=lsq, threshold=thr,
                   n_spikes=n_spikes)  # fmt: skip


def evaluate(params: GlifParameters, sweeps: Sequence[Sweep], *, sigma: float = 0.01,
             detect: str = "auto") -> Evaluation:  # fmt: skip
    """Simulate ``params`` on each sweep's stimulus; explained variance and spike counts.

    The pooled explained variance concatenates the sweeps' PSTHs (one long recording).
    """
    dt = _check(sweeps)
    data, model, per, volts = [], [], [], []
    offset = 0.0
    pooled_d, pooled_m = [], []
    for s in sweeps:
        d = sweep_spikes(s, method=detect) * dt
        res = simulate(params, s.stimulus, dt=dt, v0=float(s.voltage[0]))
        m = res.spike_times
        data.append(d)
        model.append(m)
        volts.append(res.voltage)
        per.append(explained_variance([d], [m], duration=s.duration, sigma=sigma))
        pooled_d.append(d + offset)
        pooled_m.append(m + offset)
        offset += s.duration
    ev = explained_variance([np.concatenate(pooled_d)], [np.concatenate(pooled_m)],
                            duration=offset, sigma=sigma)  # fmt: skip
    return Evaluation(explained_variance=ev, per_sweep=tuple(per),
                      data_counts=tuple(int(d.size) for d in data),
                      model_counts=tuple(int(m.size) for m in model),
                      model_spikes=tuple(model), model_voltage=tuple(volts))  # fmt: skip
