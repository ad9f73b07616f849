"""Fit GLIF parameters by gradient descent through torchnet's differentiable GLIF cells.

The step-by-step procedure of :func:`~bmtoolkit.glif.fit_glif` fits each mechanism on its
own (the membrane by regression, after-spike currents on the residual current, the
threshold by MLIN) and never re-optimises them together against the spike trains.
:func:`fit_glif_gradient` starts from that fit (or from ``init``) and adjusts all the
parameters of a level jointly:

- the model is :class:`~bmtoolkit.simulator.torchnet.cells.GLIFCells` (NEST ``glif_psc``'s
  update, the one pointnet runs) driven by each sweep's injected current, windows of the
  sweeps side by side in one batch (:mod:`~bmtoolkit.glif.gradient.windows`);
- the loss is a subthreshold voltage error plus a smoothed-PSTH distance of the spike
  trains through the surrogate spike derivative (:mod:`~bmtoolkit.glif.gradient.loss`);
- positive parameters (R, C, ``th_inf``, decay rates) are fitted as logarithms, signed ones
  around their start with a scale (:mod:`~bmtoolkit.glif.gradient.parametrize`);
- Adam with a cosine learning-rate schedule; the parameters are scored every
  ``check_every`` steps on a validation sweep with the numpy simulator and the best are
  kept (early stopping after ``patience`` checks without improvement; the starting point
  counts, so the result is never worse than the start on the validation loss);
- everything is deterministic given ``seed`` (used only when ``batch_windows`` draws a
  subset of the windows per step).

PyTorch is needed (``pip install torch``); it is imported when a fit runs, so importing
this package works without it and a fit says what to install.

Examples
--------
>>> from bmtoolkit.glif.gradient import GradientOptions, fit_glif_gradient
>>> GradientOptions().max_iter
60
"""

from bmtoolkit.glif.gradient.fit import GradientFit, IterationRecord, fit_glif_gradient
from bmtoolkit.glif.gradient.loss import LossTerms
from bmtoolkit.glif.gradient.options import GradientOptions
from bmtoolkit.glif.gradient.parametrize import FREE_PARAMETERS, free_parameters

__all__ = [
    "FREE_PARAMETERS",
    "GradientFit",
    "GradientOptions",
    "IterationRecord",
    "LossTerms",
    "fit_glif_gradient",
    "free_parameters",
]
