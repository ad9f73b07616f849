"""The gradient fit (bmtoolkit.glif.gradient): its pieces exactly, then fits.

- the map of fitted values onto torchnet's GLIFCells equals the pointnet/torchnet
  translation; windows started from the recorded state reproduce the numpy simulator (and so
  NEST) sample by sample, so the loss is 0 at the truth;
- settings, parameter names, starts and validation sweeps are checked with clear errors;
  a seeded fit is reproducible; bmtoolkit.glif imports without PyTorch;
- from a perturbed start the fit finds the parameters of sweeps made by the model;
- ground truth from NEST (``test_ground_truth`` sweeps) and a biophysical cell of
  ``5_cells_iclamp`` in NEURON: gradient vs step-by-step on the same sweeps (docs/glif.md).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif import GlifFit, GlifParameters, Sweep, evaluate, make_stimulus, simulate

torch = pytest.importorskip("torch", reason="torch is not installed")

from bmtoolkit.glif.gradient import GradientOptions, fit_glif_gradient, free_parameters  # noqa: E402
from bmtoolkit.glif.gradient.fit import bind, make_cells, run_cells, start_state  # noqa: E402
from bmtoolkit.glif.gradient.loss import WindowLoss, numpy_loss  # noqa: E402
from bmtoolkit.glif.gradient.parametrize import Parametrization, cell_tensors  # noqa: E402
from bmtoolkit.glif.gradient.windows import make_windows, theta_voltage_trace  # noqa: E402
from bmtoolkit.simulator.torchnet.cells import GLIFCells  # noqa: E402
from bmtoolkit.simulator.torchnet.translations import cell_params_from_nest  # noqa: E402

DT = 5e-5


def _model(level: int) -> GlifParameters:
    """An Allen-like cell (637930677's values, rounded) at ``level``."""
    return GlifParameters(level=level, El=-0.0714, R=3.4e8, C=8.6e-11, th_inf=0.0227,
                          spike_cut_length=134, dt=DT, reset_a=0.4, reset_b=0.004,
                          a_spike=0.0019, b_spike=103.0, a_voltage=9.2, b_voltage=34.3,
                          asc_amp=(-7.4e-11, -4.5e-10))  # fmt: skip


def _sweep(params, duration, amplitude, offset, seed, kind="noise"):
    i = make_stimulus("noise", duration=duration, dt=DT, amplitude=amplitude, offset=offset,
                      seed=seed)  # fmt: skip
    return Sweep(i, simulate(params, i).voltage, DT, kind=kind, name=f"noise_{seed}")


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_cell_tensors_follow_the_torchnet_translation(level):
    p = _model(level)
    cells = GLIFCells.from_params([cell_params_from_nest("glif_psc", p.to_nest())], dt=0.05,
                                  dtype=torch.float64)  # fmt: skip
    names = [*(f.name for f in free_parameters(level)), "asc_tau"] if level >= 3 else None
    par = Parametrization(p, free_parameters(level, names))
    mapped = cell_tensors(par.values())
    assert mapped  # every fitted value has a GLIFCells counterpart
    for name, value in mapped.items():
        torch.testing.assert_close(value.detach(), getattr(cells, name), rtol=1e-12, atol=0)
    assert par.params() == p  # raw 0 is the start


@pytest.mark.parametrize("level", [1, 2, 3, 4, 5])
def test_windows_reproduce_the_simulator(level):
    p = _model(level)
    sw = _sweep(p, 0.3, 1e-10, 1.5e-10, 3)
    spikes = simulate(p, sw.stimulus).spikes
    assert spikes.size > 4
    win = make_windows([sw], [spikes], cut=134, window=0.1, warmup=0.03, bin_size=0.001)
    assert win.n_windows == 4
    assert win.refractory.max() > 0 or level == 5  # levels 1-4: a window starts in a cut
    par = Parametrization(p, free_parameters(level))
    values = par.values()
    theta = theta_voltage_trace(sw, spikes, 134, p)[win.start_sample] if level == 5 else None
    cells = make_cells(p, DT, GradientOptions())
    bind(cells, cell_tensors(values))
    state = start_state(win, values, p, cells, theta)
    mechanisms = (level in (2, 4, 5), level >= 3, level == 5)
    v, s, refr = run_cells(cells, torch.as_tensor(win.stimulus)[..., None], state, mechanisms)
    v_abs = v.detach().numpy().T + p.El * 1e3
    model_spikes = []
    for w in range(win.n_windows):
        start = w * (win.length - 600)
        first = 0 if w == 0 else 600
        samples = start + 1 + np.arange(first, win.length)
        keep = samples < sw.n_samples
        np.testing.assert_allclose(v_abs[first:, w][keep], sw.voltage[samples[keep]] * 1e3,
                                   atol=1e-9)  # fmt: skip
        model_spikes += list(samples[keep][s.detach().numpy()[w, first:][keep] > 0])
    assert model_spikes == spikes.tolist()
    loss = WindowLoss(win, sigma=0.01, bin_size=0.001, voltage_weight=1.0, spike_weight=1.0)
    total, terms = loss(win, torch.as_tensor(v_abs), s.T, refr.T)
    assert terms.total < 1e-20
    full = numpy_loss(p, [sw], [spikes], sigma=0.01, bin_size=0.001, voltage_weight=1.0,
                      spike_weight=1.0)  # fmt: skip
    assert full.loss.total == 0.0 and full.explained_variance == 1.0
    # and a wrong threshold costs something in both, with a gradient
    worse = replace(p, th_inf=p.th_inf + 0.002)
    assert numpy_loss(worse, [sw], [spikes], sigma=0.01, bin_size=0.001, voltage_weight=1.0,
                      spike_weight=1.0).loss.spikes > 0.05  # fmt: skip


def test_settings_and_parameters_are_checked():
    with pytest.raises(ConfigError, match="GradientOptions.lr: lr must be > 0"):
        GradientOptions(lr=0.0)
    with pytest.raises(ConfigError, match="unknown gradient fit option.*'learning_rate'"):
        GradientOptions().with_overrides(learning_rate=0.1)
    with pytest.raises(ConfigError, match="GLIF3 has no parameter 'a_spike'"):
        free_parameters(3, ["a_spike"])
    with pytest.raises(ConfigError, match="unknown GLIF parameter 'tau'"):
        free_parameters(3, ["tau"])
    assert [f.name for f in free_parameters(5)][-2:] == ["a_voltage", "b_voltage"]
    assert "asc_tau" not in [f.name for f in free_parameters(4)]


def _three_sweeps(level=1):
    truth = _model(level)
    return truth, [_sweep(truth, 0.3, 3e-11, 0.0, 1), _sweep(truth, 0.4, 1e-10, 1.5e-10, 2),
                   _sweep(truth, 0.4, 1e-10, 1.5e-10, 3)]  # fmt: skip


def test_starts_and_validation_sweeps_are_checked():
    truth, sweeps = _three_sweeps()
    with pytest.raises(ConfigError, match="cannot start GLIF1 from a GLIF2 fit"):
        fit_glif_gradient(sweeps, 1, init=truth.with_level(2), max_iter=1)
    with pytest.raises(ConfigError, match="needs a validation sweep"):
        fit_glif_gradient(sweeps[:2], 1, init=truth, max_iter=1)
    with pytest.raises(ConfigError, match="nothing left to train on"):
        fit_glif_gradient(sweeps[1:2], 1, init=truth, validation=sweeps[1:2], max_iter=1)
    with pytest.raises(ConfigError, match="init must be a GlifFit or GlifParameters"):
        fit_glif_gradient(sweeps, 1, init={"R": 1e8}, max_iter=1)


def test_seeded_fit_is_reproducible_and_has_the_fit_glif_form():
    truth, sweeps = _three_sweeps(level=3)
    start = replace(truth, th_inf=truth.th_inf * 0.95, level=1)  # a GLIF1 start, embedded
    kw = {"init": start, "max_iter": 3, "check_every": 1, "batch_windows": 3, "seed": 5}
    a = fit_glif_gradient(sweeps, 3, **kw)
    b = fit_glif_gradient(sweeps, 3, **kw)
    assert a.params == b.params and a.history == b.history
    assert isinstance(a, GlifFit) and a.params.level == 3
    assert a.initial.asc_amp == (0.0, 0.0) and a.fitted[-1] == "asc_amp"
    assert a.validation_sweeps == ("noise_3",)
    assert set(a.neuron_config) == set(truth.to_neuron_config())
    assert a.nest_params()["after_spike_currents"] is True
    assert [r.iteration for r in a.history] == [1, 2, 3]
    assert a.validation_loss <= a.initial_validation_loss


def test_imports_without_torch_and_fits_say_what_to_install():
    code = textwrap.dedent("""
        import importlib.abc, sys
        import numpy as np
        class NoTorch(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] == "torch":
                    raise ImportError("No module named 'torch'")
        sys.meta_path.insert(0, NoTorch())
        import bmtoolkit.glif
        from bmtoolkit.glif import Sweep
        from bmtoolkit.glif.gradient import fit_glif_gradient
        try:
            fit_glif_gradient([Sweep(np.zeros(10), np.zeros(10), 1e-4)], 1)
        except ImportError as err:
            print(type(err).__name__, err)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout  # fmt: skip
    assert out.startswith("BackendNotAvailableError") and "pip install torch" in out


@pytest.mark.slow
def test_recovers_the_model_from_a_perturbed_start():
    """Sweeps made by a GLIF1 model; the start is 5 % off in R and C, 0.5 mV in El and
    1 mV in th_inf: gradient descent brings all four back and restores the spike timing."""
    truth, sweeps = _three_sweeps()
    held = _sweep(truth, 1.0, 1e-10, 1.4e-10, 9)
    start = replace(truth, R=truth.R * 1.05, C=truth.C * 0.95, El=truth.El + 5e-4,
                    th_inf=truth.th_inf - 1e-3)  # fmt: skip
    fit = fit_glif_gradient(sweeps, 1, init=start, max_iter=40, check_every=4)
    p = fit.params
    assert p.R == pytest.approx(truth.R, rel=0.02)
    assert p.C == pytest.approx(truth.C, rel=0.02)
    assert abs(p.El - truth.El) < 3e-4
    assert abs(p.th_inf - truth.th_inf) < 3e-4
    ev_start = evaluate(start, [held]).explained_variance
    ev = evaluate(p, [held]).explained_variance
    assert ev_start < 0.5 and ev > 0.85
    assert fit.validation_loss < 0.05 * fit.initial_validation_loss
