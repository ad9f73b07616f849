"""Fit GLIF point-neuron models (levels 1-5) to current-clamp recordings.

The procedure follows the Allen Cell Types GLIF fits, one documented function per step:
spike detection and the spike cut (:mod:`~bmtoolkit.glif.spikes`), linear regressions for
the membrane, after-spike currents and voltage reset (:mod:`~bmtoolkit.glif.regression`),
the threshold by least squares and by maximum likelihood based on internal noise
(:mod:`~bmtoolkit.glif.threshold`), and the explained variance of the PSTH on held-out
sweeps (:mod:`~bmtoolkit.glif.quality`). :func:`fit_glif` runs them in order and returns
parameters in the Allen ``neuron_config`` form and in NEST units.

Only numpy and scipy are needed; NEST, NEURON and matplotlib are used by the commands and
reports that need them, imported there.

Examples
--------
>>> from bmtoolkit.glif import fit_glif, GlifParameters, level_has
>>> level_has(5)["voltage_threshold"]
True
"""

from bmtoolkit.glif.fit import Evaluation, GlifFit, evaluate, fit_glif
from bmtoolkit.glif.nested import LevelFit, embed, fit_levels
from bmtoolkit.glif.parameters import DEFAULT_ASC_TAUS, LEVEL_NAMES, GlifParameters, level_has
from bmtoolkit.glif.quality import explained_variance, psth
from bmtoolkit.glif.simulate import SimulationResult, simulate
from bmtoolkit.glif.spikes import detect_spikes, prepare, spike_cut_length, sweep_spikes
from bmtoolkit.glif.sweeps import STIMULI, SWEEP_KINDS, Sweep, make_stimulus

__all__ = [
    "DEFAULT_ASC_TAUS",
    "LEVEL_NAMES",
    "STIMULI",
    "SWEEP_KINDS",
    "Evaluation",
    "GlifFit",
    "GlifParameters",
    "LevelFit",
    "SimulationResult",
    "Sweep",
    "detect_spikes",
    "embed",
    "evaluate",
    "fit_levels",
    "explained_variance",
    "fit_glif",
    "level_has",
    "make_stimulus",
    "prepare",
    "psth",
    "simulate",
    "spike_cut_length",
    "sweep_spikes",
]
