"""Autograd through the whole simulation equals finite differences for every parameter group.

The spike function's surrogate is a triangle of width 1e-9 mV, so its pseudo-derivative is
zero everywhere the network actually goes: autograd then differentiates exactly the
piecewise-smooth map from parameters to recorded traces at fixed spike times, which central
finite differences measure as long as no perturbation moves a spike.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require_module

torch = require_module("torch")

pytestmark = pytest.mark.torch


def _tiny_net():
    from bmtoolkit.simulator.torchnet.cells import GLIFCells
    from bmtoolkit.simulator.torchnet.model import TorchNet
    from bmtoolkit.simulator.torchnet.surrogate import SurrogateSpike
    from bmtoolkit.simulator.torchnet.synapses import Synapses
    from bmtoolkit.simulator.torchnet.translations import StpParams, cell_params_from_nest

    base = {
        "E_L": -70.0,
        "V_th": -55.0,
        "V_reset": -68.0,
        "g": 8.0,
        "C_m": 100.0,
        "t_ref": 2.0,
        "V_m": -70.0,
        "tau_syn": [2.0, 5.0],
    }
    glif5 = dict(
        base,
        spike_dependent_threshold=True,
        after_spike_currents=True,
        adapting_threshold=True,
        th_spike_add=1.0,
        th_spike_decay=0.1,
        voltage_reset_fraction=0.3,
        voltage_reset_add=3.0,
        th_voltage_index=0.005,
        th_voltage_decay=0.1,
        asc_init=[0.0, 0.0],
        asc_decay=[0.05, 0.3],
        asc_amps=[-20.0, -40.0],
        asc_r=[1.0, 1.0],
    )
    glif3 = dict(
        base,
        after_spike_currents=True,
        asc_init=[0.0, 0.0],
        asc_decay=[0.03, 0.2],
        asc_amps=[-10.0, 15.0],
        asc_r=[1.0, 0.5],
    )
    cells = [cell_params_from_nest("glif_psc", p) for p in (glif5, glif3, base)]
    glif = GLIFCells.from_params(
        cells, dt=0.5, dtype=torch.float64, surrogate=SurrogateSpike("triangle", 1.0, 1e-9)
    )
    # 3 neurons + 2 virtual inputs; STP on some edges
    src = np.array([3, 3, 4, 4, 0, 1, 2, 0])
    tgt = np.array([0, 1, 1, 2, 1, 2, 0, 2])
    rec = np.array([0, 0, 0, 0, 0, 1, 1, 0])
    w = np.array([900.0, 700.0, 800.0, 1200.0, 150.0, -200.0, -100.0, 120.0])
    delay = np.array([1, 2, 1, 3, 2, 1, 2, 4])
    stp_type = np.array([0, -1, 1, 0, 1, -1, -1, 0])
    syn = Synapses(
        src,
        tgt,
        rec,
        w,
        delay,
        n_sources=5,
        n_targets=3,
        n_receptors=2,
        dt=0.5,
        stp_type=stp_type,
        stp_params=[StpParams(0.4, 150.0, 0.0), StpParams(0.15, 80.0, 200.0)],
        dtype=torch.float64,
    )
    net = TorchNet(glif, syn, n_virtual=2)
    inputs = torch.zeros(160, 2, 2, dtype=torch.float64)
    inputs[5::9, 0, 0] = 1.0
    inputs[3::7, 0, 1] = 1.0
    inputs[2::6, 1, 0] = 1.0
    inputs[4::11, 1, 1] = 1.0
    return net, inputs


def _loss(net, inputs):
    out = net(inputs, record=("spikes", "v", "i_syn", "threshold"))
    return (
        ((out["v"] + 60.0) ** 2).mean()
        + 0.5 * out["threshold"].mean()
        + 1e-3 * (out["i_syn"] ** 2).mean()
    ), out["spikes"]


@pytest.mark.parametrize("group", ["weights", "time_constants", "asc_amps", "thresholds", "stp"])
def test_autograd_matches_finite_differences(group):
    net, inputs = _tiny_net()
    params = net.set_trainable([group])
    loss, spikes = _loss(net, inputs)
    assert spikes.sum() > 5, "the check needs spikes so resets and ASCs take part"
    grads = torch.autograd.grad(loss, params)
    eps = 1e-6
    checked = 0
    with torch.no_grad():
        for p, g in zip(params, grads, strict=True):
            flat, gflat = p.view(-1), g.reshape(-1)
            picks = np.unique(np.linspace(0, flat.numel() - 1, 5).round().astype(int))
            for i in picks:
                old = flat[i].item()
                flat[i] = old + eps
                lp, sp = _loss(net, inputs)
                flat[i] = old - eps
                lm, sm = _loss(net, inputs)
                flat[i] = old
                if not (torch.equal(sp, spikes) and torch.equal(sm, spikes)):
                    continue  # a spike moved: finite differences do not apply here
                fd = (lp - lm).item() / (2 * eps)
                assert gflat[i].item() == pytest.approx(fd, rel=1e-4, abs=1e-7), (p.shape, i)
                checked += abs(fd) > 1e-9
    assert checked >= 3, checked


def test_surrogate_gradient_reaches_silent_sources():
    net, inputs = _tiny_net()
    from bmtoolkit.simulator.torchnet.surrogate import SurrogateSpike

    net.cells.surrogate = SurrogateSpike("fast_sigmoid", scale=1.0, width=2.0)
    (w,) = net.set_trainable(["weights"])
    out = net(inputs)
    out["spikes"].sum().backward()
    assert torch.isfinite(w.grad).all()
    # recurrent edges get gradient through the pseudo-derivative of their sources' spikes
    assert (w.grad[net.synapses.src < 3] != 0).any()


def test_dense_and_event_delivery_agree():
    net, inputs = _tiny_net()
    with torch.no_grad():
        event = net(inputs, record=("spikes", "v"))
    net.set_trainable(["weights"])
    dense = net(inputs, record=("spikes", "v"))
    assert torch.equal(event["spikes"], dense["spikes"].detach())
    torch.testing.assert_close(event["v"], dense["v"].detach(), rtol=1e-12, atol=1e-10)


def test_cells_without_synapses_step_as_with_silent_ones():
    """``y=None`` (a current-clamp fit) gives the values and gradients of zero synaptic state
    and input, at every level, through spikes, resets and refractory periods."""
    net, _ = _tiny_net()
    cells = net.cells
    batch, steps = 4, 120
    drive = torch.linspace(150.0, 450.0, batch * cells.n, dtype=torch.float64)
    drive = drive.reshape(batch, cells.n).requires_grad_(True)
    runs = []
    for silent in (True, False):
        state = cells.initial_state(batch)
        if not silent:
            state = state._replace(y=None)
        syn = torch.zeros((batch, cells.n_receptors, cells.n), dtype=torch.float64)
        consts, mech = cells.constants(), cells.mechanisms()
        vs, ss = [], []
        for _ in range(steps):
            state, s = cells.step(state, syn if silent else None, drive, consts, mech)
            vs.append(state.v)
            ss.append(s)
        assert (state.y is None) is not silent
        v, s = torch.stack(vs), torch.stack(ss)
        (grad,) = torch.autograd.grad((v**2).mean() + s.sum(), drive)
        runs.append((v.detach(), s.detach(), grad))
    assert runs[0][1].sum() > 10  # they spike
    for a, b in zip(runs[0], runs[1], strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="without synapses"):
        cells.step(cells.initial_state(batch)._replace(y=None), syn, drive)
