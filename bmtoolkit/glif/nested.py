"""Fit several GLIF levels as nested models, so no level is worse than the ones it contains.

The five levels are nested: GLIF1 is GLIF2 with no reset rule (slope and intercept 0, so
the reset goes to ``El``) and no spike-induced threshold (``a_spike = 0``), GLIF1 is GLIF3
with after-spike current amplitudes 0, GLIF2 and GLIF3 are GLIF4 without the other
mechanism, and GLIF4 is GLIF5 with ``a_voltage = 0``. :func:`embed` writes a lower level's
parameters as a higher level that behaves identically.

Fitting each level independently (:func:`~bmtoolkit.glif.fit.fit_glif`) can give a higher
level that predicts spikes worse than a lower one: the extra terms are fitted step by step
(after-spike currents by regression on suprathreshold noise, where a biophysical cell's
spike shape and slow currents are far from the model's; threshold adaptation on the
thresholds those imply) and never re-optimised against the spike trains. :func:`fit_levels`
therefore fits every requested level, then, level by level upwards, compares the fresh fit
with the embeddings of the already selected lower levels it contains, on a *selection
score* computed from the training sweeps only (the explained variance of the PSTH on each
training sweep with spikes, the measure the held-out sweeps are scored by), and keeps the
fresh fit only when it is no worse on any of those sweeps and better on their mean by more
than ``min_gain``. On the
training objective a level is then never worse than any level it contains; held-out
sweeps are never looked at.

Examples
--------
>>> from bmtoolkit.glif.parameters import GlifParameters
>>> p1 = GlifParameters(level=1, El=-0.07, R=2e8, C=1e-10, th_inf=0.015,
...                     spike_cut_length=60, dt=5e-5)
>>> p5 = embed(p1, 5)
>>> p5.level, p5.a_spike, p5.a_voltage, p5.asc_amp, p5.reset_a, p5.reset_b
(5, 0.0, 0.0, (0.0, 0.0), 0.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.fit import GlifFit, evaluate, fit_glif
from bmtoolkit.glif.parameters import DEFAULT_ASC_TAUS, GlifParameters, level_has
from bmtoolkit.glif.spikes import sweep_spikes
from bmtoolkit.glif.sweeps import Sweep

#: decay rate (1/s) written for a mechanism switched off by a zero gain: NEST needs it > 0
#: and the Allen level detection reads a non-zero ``b_voltage`` as level 5
NEUTRAL_RATE: float = 100.0


def contains(outer: int, inner: int) -> bool:
    """Whether GLIF level ``outer`` has every mechanism of level ``inner``.

    Examples
    --------
    >>> contains(4, 2), contains(4, 3), contains(3, 2), contains(5, 1)
    (True, True, False, True)
    """
    a, b = level_has(outer), level_has(inner)
    return all(a[k] or not b[k] for k in a)


def embed(params: GlifParameters, level: int) -> GlifParameters:
    """``params`` written as the (containing) ``level`` with the extra mechanisms off.

    Raises
    ------
    ConfigError
        If ``level`` does not contain ``params.level``.
    """
    if not contains(level, params.level):
        raise ConfigError(f"GLIF{level} does not contain GLIF{params.level}", field="level")
    has = level_has(params.level)
    new = {"level": level}
    if not has["reset_rules"]:
        new.update(reset_a=0.0, reset_b=0.0, a_spike=0.0, b_spike=NEUTRAL_RATE)
    elif params.b_spike <= 0:
        new.update(b_spike=NEUTRAL_RATE)
    if not has["asc"]:
        n = len(params.asc_tau) or len(DEFAULT_ASC_TAUS)
        new.update(asc_tau=params.asc_tau or DEFAULT_ASC_TAUS, asc_amp=(0.0,) * n,
                   asc_r=(1.0,) * n)  # fmt: skip
    if not has["voltage_threshold"]:
        new.update(a_voltage=0.0, b_voltage=NEUTRAL_RATE)
    return replace(params, **new)


def selection_sweeps(sweeps: Sequence[Sweep], *, kinds: Sequence[str] | None = None,
                     detect: str = "auto") -> list[Sweep]:  # fmt: skip
    """Training sweeps the selection score uses: those with spikes (of ``kinds`` if given)."""
    spiking = [s for s in sweeps if sweep_spikes(s, method=detect).size]
    chosen = [s for s in spiking if kinds is None or s.kind in kinds]
    if not chosen:
        raise ConfigError(f"no training sweep with spikes of kinds {kinds} to select levels on",
                          field="sweeps")  # fmt: skip
    return chosen


@dataclass(frozen=True)
class LevelFit:
    """One level of :func:`fit_levels`: the kept parameters and how they were chosen."""

    level: int
    params: GlifParameters
    source: int  # the level whose fit was kept (== level for the fresh fit)
    score: float  # selection score of the kept parameters (training sweeps)
    fresh_score: float  # selection score of this level's own fit
    fit: GlifFit  # this level's own fit
    scores: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))


def fit_levels(sweeps: Sequence[Sweep], levels: Sequence[int] = (1, 2, 3, 4, 5), *,
               min_gain: float = 0.0, selection_kinds: Sequence[str] | None = None,
               score: Callable[[GlifParameters], Any] | None = None, detect: str = "auto",
               **fit_options: Any) -> dict[int, LevelFit]:  # fmt: skip
    """Fit ``levels`` with nested model selection (see the module docstring).

    Parameters
    ----------
    sweeps : sequence of Sweep
        Training sweeps (as for :func:`~bmtoolkit.glif.fit.fit_glif`).
    levels : sequence of int
        Levels wanted; every level they contain is fitted too.
    min_gain : float
        Mean score improvement a fresh fit needs over the best contained level to be kept
        (it must also be no worse on any selection sweep).
    selection_kinds : sequence of str, optional
        Score only on training sweeps of these kinds (e.g. ``("noise",)``); default all
        training sweeps with spikes.
    score : callable, optional
        ``score(params) -> float or array`` (one value per selection sweep), higher is better;
        default: explained variance of the PSTH on each of :func:`selection_sweeps`.
    **fit_options
        Passed to :func:`~bmtoolkit.glif.fit.fit_glif` (``calibrate``, ``asc_taus`` ...).

    Returns
    -------
    dict
        :class:`LevelFit` per level, for the requested levels and those they contain.
    """
    wanted = {int(lv) for lv in levels}
    for lv in wanted:
        level_has(lv)
    todo = [lv for lv in range(1, 6) if any(contains(w, lv) for w in wanted)]
    if score is None:
        chosen = selection_sweeps(sweeps, kinds=selection_kinds, detect=detect)

        def score(p: GlifParameters) -> float:
            per = np.asarray(evaluate(p, chosen, detect=detect).per_sweep, float)
            return np.where(np.isfinite(per), per, -np.inf)

    out: dict[int, LevelFit] = {}
    for lv in todo:
        fit = fit_glif(sweeps, lv, detect=detect, **fit_options)
        fresh = np.atleast_1d(np.asarray(score(fit.params), float))
        best = LevelFit(lv, fit.params, lv, float(fresh.mean()), float(fresh.mean()), fit,
                        fresh)  # fmt: skip
        inner = [out[k] for k in sorted(out) if contains(lv, k)]
        if inner:
            top = max(inner, key=lambda f: f.score)
            gain = fresh - top.scores
            if not (gain.mean() > min_gain and np.all(gain >= 0)):
                best = LevelFit(lv, embed(top.params, lv), top.source, top.score,
                                float(fresh.mean()), fit, top.scores)  # fmt: skip
        out[lv] = best
    return out
