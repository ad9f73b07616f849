"""Gradient fit vs the step-by-step procedure on the same sweeps (the tables of docs/glif.md).

- **Ground truth**: the sweeps of ``test_ground_truth`` (NEST ``glif_psc`` with the five
  parameter sets of Allen cell 637930677). The gradient fit starts from the step-by-step
  fit, trains on the subthreshold and the first suprathreshold sweep, stops on the second,
  and must keep the parameters within the stated tolerances of ``test_ground_truth`` and an
  explained variance >= 0.9 on the held-out sweep. Started from that fit made worse (5 %
  in R and C, 0.5 mV in El, 1 mV in th_inf), GLIF1 and GLIF2 must come back as well.
- **Biophysical**: the Nr5a1 cell of ``5_cells_iclamp`` driven in NEURON with the protocol
  of :mod:`bmtoolkit.glif.protocol` (recorded once per session, kept in a temporary
  folder). Both methods fit the same training sweeps; the gradient fit is never worse than
  its start on the validation loss, and at GLIF1 it predicts the held-out sweep better
  (explained variance 0.23 against 0.12 with these settings; 0.34 with the 20 steps of the
  docs table).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bmtoolkit.glif import evaluate, fit_glif, make_stimulus
from tests.glif.conftest import assert_recovered, bio_cell_sweeps, nest_sweep

torch = pytest.importorskip("torch", reason="torch is not installed")

from bmtoolkit.glif.gradient import fit_glif_gradient  # noqa: E402

DT = 5e-5


def _noise(duration, amplitude, offset, seed):
    return make_stimulus("noise", duration=duration, dt=DT, amplitude=amplitude, offset=offset,
                         seed=seed)  # fmt: skip


@pytest.mark.nest
@pytest.mark.slow
@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_ground_truth_gradient_vs_steps(glif_levels, level):
    truth = glif_levels[level]
    train = [nest_sweep(truth, _noise(1.0, 3e-11, 0.0, 1), kind="noise"),
             nest_sweep(truth, _noise(2.0, 1e-10, 1e-10, 2)),
             nest_sweep(truth, _noise(2.0, 1e-10, 1.5e-10, 3))]  # fmt: skip
    train = [replace(sw, name=f"noise_{k}") for k, sw in enumerate(train)]
    held = nest_sweep(truth, _noise(2.0, 1e-10, 1.2e-10, 9))
    steps = fit_glif(train, level)
    fit = fit_glif_gradient(train, level, init=steps, max_iter=4, check_every=4, batch_windows=8)
    assert fit.validation_sweeps == ("noise_2",)
    p = fit.params
    assert_recovered(p, truth, level)
    ev_steps = evaluate(steps.params, [held]).explained_variance
    ev = evaluate(p, [held]).explained_variance
    print(f"GLIF{level} held-out EV: steps {ev_steps:.3f}, gradient {ev:.3f} "
          f"(best iteration {fit.best_iteration})")  # fmt: skip
    assert ev >= 0.9
    assert fit.validation_loss <= fit.initial_validation_loss
    # NEST runs the result as it runs the step-by-step one
    assert nest_sweep(p, held.stimulus).voltage.size == held.voltage.size


@pytest.mark.nest
@pytest.mark.slow
@pytest.mark.parametrize("level", [1, 2])
def test_ground_truth_from_a_perturbed_start(glif_levels, level):
    """The step-by-step fit made 5 % worse in R and C, 0.5 mV in El and 1 mV in th_inf: the
    gradient fit has to find the parameters itself (GLIF3 reaches EV 0.53 this way: see
    docs/glif.md)."""
    truth = glif_levels[level]
    train = [nest_sweep(truth, _noise(1.0, 3e-11, 0.0, 1)),
             nest_sweep(truth, _noise(2.0, 1e-10, 1e-10, 2)),
             nest_sweep(truth, _noise(2.0, 1e-10, 1.5e-10, 3))]  # fmt: skip
    held = nest_sweep(truth, _noise(2.0, 1e-10, 1.2e-10, 9))
    sp = fit_glif(train, level).params
    start = replace(sp, R=sp.R * 1.05, C=sp.C * 0.95, El=sp.El + 5e-4, th_inf=sp.th_inf - 1e-3)
    fit = fit_glif_gradient(train, level, init=start, max_iter=40, check_every=4,
                            batch_windows=16)  # fmt: skip
    p = fit.params
    assert_recovered(p, truth, level)
    ev_start = evaluate(start, [held]).explained_variance
    ev = evaluate(p, [held]).explained_variance
    print(f"GLIF{level} from a perturbed start: held-out EV {ev_start:.3f} -> {ev:.3f}")
    assert ev_start < 0.7 and ev >= 0.9


@pytest.fixture(scope="session")
def nr5a1_sweeps(sonata_examples, tmp_path_factory):
    config = sonata_examples / "5_cells_iclamp" / "config.json"
    return bio_cell_sweeps(config, "Nr5a1", tmp_path_factory.mktemp("bio_sweeps"))


@pytest.mark.neuron
@pytest.mark.slow
@pytest.mark.parametrize("level", [1])
def test_biophysical_cell_gradient_vs_steps(nr5a1_sweeps, level):
    train, held = list(nr5a1_sweeps.train), list(nr5a1_sweeps.held_out)
    steps = fit_glif(train, level, calibrate=True)
    fit = fit_glif_gradient(train, level, init=steps, max_iter=8, check_every=2,
                            batch_windows=16, seed=1)  # fmt: skip
    assert fit.validation_sweeps == ("Nr5a1_train.npz:noise_1.3",)
    assert fit.validation_loss <= fit.initial_validation_loss
    ev_steps = evaluate(steps.params, held).explained_variance
    ev = evaluate(fit.params, held).explained_variance
    print(f"Nr5a1 GLIF{level} held-out EV: steps {ev_steps:.3f}, gradient {ev:.3f} "
          f"(best iteration {fit.best_iteration})")  # fmt: skip
    # GLIF1 cannot follow this cell's spike timing closely (docs/glif.md), but refitting its
    # four parameters jointly against the spike trains does better than the procedure
    assert ev > ev_steps + 0.05
