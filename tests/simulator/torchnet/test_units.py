"""Building blocks of torchnet: lazy import, surrogates, translations, inputs, PSC kernels,
synapse checks and the trainer."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import require_module

pytestmark = pytest.mark.torch


def test_package_imports_without_torch_and_says_what_is_missing():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import bmtoolkit.simulator.torchnet as tn\n"
        "from bmtoolkit.exceptions import BackendNotAvailableError\n"
        "try:\n    tn.TorchNet\nexcept BackendNotAvailableError as e:\n    print('OK', e)\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.startswith("OK") and "PyTorch" in res.stdout


@pytest.mark.parametrize(
    "shape", ["fast_sigmoid", "sigmoid", "triangle", "gaussian", "arctan", "exponential"]
)
def test_surrogate_forward_is_heaviside_backward_peaks_at_scale(shape):
    torch = require_module("torch")
    from bmtoolkit.simulator.torchnet.surrogate import spike_fn

    v = torch.tensor([-3.0, -1e-12, 1e-12, 3.0], dtype=torch.float64, requires_grad=True)
    s = spike_fn(v, shape=shape, scale=0.7, width=2.0)
    assert s.tolist() == [0.0, 0.0, 1.0, 1.0]
    s.sum().backward()
    assert v.grad[1].item() == pytest.approx(0.7 / 2.0, rel=1e-6)
    assert v.grad[0].item() < v.grad[1].item()


def test_unknown_surrogate_lists_known_shapes():
    torch = require_module("torch")
    from bmtoolkit.exceptions import UnknownModelError
    from bmtoolkit.simulator.torchnet.surrogate import spike_fn

    with pytest.raises(UnknownModelError, match="triangle"):
        spike_fn(torch.zeros(1, requires_grad=True), shape="boxcar")


def test_translation_round_trips_and_rejects_bad_flags():
    from bmtoolkit.exceptions import ConfigError
    from bmtoolkit.simulator.torchnet.translations import (
        cell_params_from_nest,
        cell_params_to_nest,
    )

    for flags in (
        {},
        {"spike_dependent_threshold": True},
        {"after_spike_currents": True},
        {"spike_dependent_threshold": True, "after_spike_currents": True},
        {
            "spike_dependent_threshold": True,
            "after_spike_currents": True,
            "adapting_threshold": True,
        },
    ):
        cell = cell_params_from_nest("glif_psc", {"E_L": -72.0, "V_m": -71.0, **flags})
        again = cell_params_from_nest(*cell_params_to_nest(cell))
        assert again == cell
    with pytest.raises(ConfigError, match="GLIF1-5"):
        cell_params_from_nest("glif_psc", {"adapting_threshold": True})
    with pytest.raises(ConfigError, match="V_reset"):
        cell_params_from_nest("iaf_psc_alpha", {"V_reset": -40.0, "V_th": -50.0})


def test_exponential_psc_and_exp_euler():
    torch = require_module("torch")
    from bmtoolkit.simulator.torchnet import TorchNet
    from bmtoolkit.simulator.torchnet.translations import cell_params_from_nest

    cell = cell_params_from_nest("glif_psc", {"tau_syn": [4.0], "psc_shape": "exp", "V_th": 0.0})
    kw = dict(dt=0.1, n_virtual=1, dtype=torch.float64)
    inputs = torch.zeros(400, 1, 1, dtype=torch.float64)
    inputs[9] = 1.0  # spike at t = 1.0 ms, delay 1 ms -> current from t = 2.0 ms
    exact = TorchNet.from_arrays(
        [cell], np.array([1]), np.array([0]), np.array([100.0]), np.array([1.0]), **kw
    )
    out = exact(inputs, record=("i_syn", "v"))
    t = (np.arange(400) + 1) * 0.1
    expected = np.where(t >= 2.0 - 1e-9, 100.0 * np.exp(-(t - 2.0) / 4.0), 0.0)
    np.testing.assert_allclose(out["i_syn"][:, 0, 0].numpy(), expected, atol=1e-9)
    euler = TorchNet.from_arrays(
        [cell],
        np.array([1]),
        np.array([0]),
        np.array([100.0]),
        np.array([1.0]),
        integrator="exp_euler",
        **kw,
    )
    v_e = euler(inputs, record=("v",))["v"][:, 0, 0]
    v_x = out["v"][:, 0, 0]
    peak = (v_x - v_x[0]).abs().max()
    assert 0 < (v_e - v_x).abs().max() < 0.05 * peak


def test_inputs_from_times_frames_files_and_rates(tmp_path):
    torch = require_module("torch")
    from bmtoolkit.simulator.torchnet.inputs import (
        poisson_spikes,
        spike_times_to_tensor,
        spikes_from_sonata,
    )
    from bmtoolkit.sonata import write_spikes

    x = spike_times_to_tensor([np.array([0.0, 0.1, 0.25, 5.0])], dt=0.1, tstop=1.0)
    assert x[:, 0, 0].nonzero().flatten().tolist() == [0, 2]  # t<=0 and t>tstop dropped
    write_spikes(tmp_path / "s.h5", {"lgn": (np.array([0, 2, 2]), np.array([0.5, 0.3, 0.9]))})
    y = spikes_from_sonata(tmp_path / "s.h5", "lgn", 3, dt=0.1, tstop=1.0)
    assert y.shape == (10, 1, 3) and y.sum() == 3 and y[4, 0, 0] == 1 and y[2, 0, 2] == 1
    g = torch.Generator().manual_seed(3)
    rates = torch.zeros(2000, 4)
    rates[:1000] = 200.0
    p = poisson_spikes(rates, dt=0.5, tstop=1000.0, batch=2, generator=g)
    assert p.shape == (2000, 2, 4)
    assert p[1000:].sum() == 0 and 80 < p[:1000].sum() / 8 < 125  # 200 Hz for 500 ms


def test_synapses_reject_short_delays_and_bad_ports():
    require_module("torch")
    from bmtoolkit.exceptions import ConfigError
    from bmtoolkit.simulator.torchnet.synapses import Synapses

    common = dict(n_sources=2, n_targets=2, n_receptors=1, dt=0.1)
    one = (np.array([0]), np.array([1]))
    with pytest.raises(ConfigError, match="one time step"):
        Synapses(*one, np.array([0]), np.array([1.0]), np.array([0]), **common)
    with pytest.raises(ConfigError, match="receptor"):
        Synapses(*one, np.array([1]), np.array([1.0]), np.array([1]), **common)


def _rate_task():
    torch = require_module("torch")
    from bmtoolkit.simulator.torchnet import TorchNet
    from bmtoolkit.simulator.torchnet.surrogate import SurrogateSpike
    from bmtoolkit.simulator.torchnet.translations import cell_params_from_nest

    rng = np.random.default_rng(0)
    cells = [cell_params_from_nest("glif_psc", {"tau_syn": [2.0, 4.0]}) for _ in range(10)]
    src, tgt = np.nonzero(rng.random((30, 10)) < 0.4)
    w = np.where(src < 8, rng.uniform(20, 80, src.size), -rng.uniform(20, 80, src.size))
    w = np.where(src >= 10, rng.uniform(100, 300, src.size), w)
    net = TorchNet.from_arrays(
        cells,
        src,
        tgt,
        w,
        np.ones(src.size),
        dt=1.0,
        n_virtual=20,
        receptor=(w < 0).astype(int),
        dtype=torch.float64,
        surrogate=SurrogateSpike("fast_sigmoid", 1.0, 2.0),
    )
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(100, 4, 20, generator=g, dtype=torch.float64) < 0.05).double()
    return net, x


def test_full_window_truncation_equals_plain_bptt_and_constraints_hold():
    torch = require_module("torch")
    from bmtoolkit.exceptions import ConfigError
    from bmtoolkit.simulator.torchnet.training import Trainer

    def loss_fn(out, target, readout):
        return ((out["spikes"].mean((0, 1)) * 1000.0 - target) ** 2).mean()

    grads = []
    for window in (None, 100, 25):
        net, x = _rate_task()
        tr = Trainer(net, loss_fn, groups=("weights", "thresholds"), lr=0.0, truncation=window)
        tr.step(x, torch.tensor(40.0, dtype=torch.float64))
        grads.append(net.synapses.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])
    assert not torch.equal(grads[0], grads[2])  # truncation cuts some paths
    net, x = _rate_task()
    signs = torch.sign(net.synapses.weight.detach())
    tr = Trainer(net, loss_fn, groups=("weights",), lr=500.0)
    tr.step(x, torch.tensor(40.0, dtype=torch.float64))
    w = net.synapses.weight.detach()
    assert ((torch.sign(w) == signs) | (w == 0)).all() and (w == 0).any()
    with pytest.raises(ConfigError, match="unknown parameter group"):
        Trainer(net, loss_fn, groups=("gains",))


def test_training_moves_the_rate_towards_its_target():
    torch = require_module("torch")
    from bmtoolkit.simulator.torchnet.training import Trainer

    net, x = _rate_task()

    def loss_fn(out, target, readout):
        return (out["spikes"].mean() * 1000.0 - target) ** 2

    tr = Trainer(
        net, loss_fn, groups=("weights", "thresholds"), lr={"weights": 3.0, "thresholds": 0.2}
    )
    target = torch.tensor(60.0, dtype=torch.float64)
    losses = [tr.step(x, target) for _ in range(15)]
    assert losses[-1] < 0.5 * losses[0]
