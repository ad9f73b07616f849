"""torchnet keeps every tensor on the network's device, checked without an accelerator.

PyTorch's fake tensors carry shape, dtype and device but no data; every operation that mixes
a fake accelerator tensor with a CPU tensor raises ``FakeTensorDeviceMismatchError``, as CUDA
would (CPU scalars and CPU index tensors for advanced indexing are allowed, as on CUDA). The
accelerator is PyTorch's extension device (``privateuse1``) under the name ``fakegpu`` with a
no-op device guard: a CPU-only build has no CUDA device guard, so fake ``cuda`` tensors cannot
even be indexed, while torchnet itself only distinguishes CPU from anything else.

Fake tensors cannot answer questions about data, so these stay outside the fake runs:
``GLIFCells.mechanisms`` (host flags read from parameters; taken from a CPU twin of the
network), event-driven delivery under ``no_grad`` (``nonzero``: its tensor implementation is
checked here against the CPU one on real data), ``TorchNet.simulate`` and the backend's
``simulate`` (spike ids go to numpy), ``Trainer.step``'s final read-back of the loss, the
negativity check of tensor rates in ``poisson_spikes`` and writing trained values to SONATA
(numpy).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require_module

pytestmark = pytest.mark.torch

DEVICE = "fakegpu"
GROUPS = ("weights", "time_constants", "asc_amps", "thresholds", "stp")


@pytest.fixture(scope="module")
def fake_device():
    """A factory of fake modes on PyTorch's extension device, registered as ``fakegpu`` when
    this folder is collected (see ``conftest.register_fake_device``)."""
    require_module("torch")
    from torch._subclasses.fake_tensor import FakeTensorMode

    from tests.simulator.torchnet.conftest import register_fake_device

    problem = register_fake_device()
    if problem:
        pytest.skip(problem)
    return lambda: FakeTensorMode(allow_non_fake_inputs=True)


def _on_device(*tensors):
    for t in tensors:
        assert t.device.type == DEVICE, t.device


def _spec(netkit):
    """GLIF1-5 with heterogeneous parameters, Tsodyks-Markram edges, delays up to 3 ms."""
    return netkit.make_spec(
        levels=(1, 2, 3, 4, 5), n_per_level=3, n_virtual=6, stp=True, dt=0.1, tstop=4.0
    )


def _from_arrays(spec, device=None):
    from bmtoolkit.simulator.torchnet.model import TorchNet

    return TorchNet.from_arrays(
        spec.cells,
        spec.src,
        spec.tgt,
        spec.weight,
        spec.delay,
        dt=spec.dt,
        n_virtual=spec.n_virtual,
        receptor=spec.receptor,
        stp_type=spec.stp_type,
        stp_params=spec.stp_params,
        device=device,
    )


def _host_flags(net, flags):
    """Give ``net`` the mechanism flags of its CPU twin, read before fake mode starts (fake
    tensors cannot be read on the host; real ones become fake inside the mode)."""
    net.cells.mechanisms = lambda: flags
    return net


def _check_network(net):
    for name, t in [*net.named_parameters(), *net.named_buffers()]:
        assert t.device.type == DEVICE, name


def _run_and_backprop(net, inputs, current=None, batch=3, every_parameter=True):
    """Two chunks with state carried over, every recordable, gradients for every group
    (for every parameter when all GLIF mechanisms are present)."""
    params = net.set_trainable(GROUPS)
    record = ("spikes", "v", "i_syn", "threshold")
    out, state = net(inputs[:20], current=current, record=record, return_state=True)
    out2, state = net(inputs[20:], state=state, record=record, return_state=True)
    for o in (out, out2):
        assert set(o) == set(record) and o["v"].shape == (20, batch, net.n)
        _on_device(*o.values())
    _on_device(*state.cells, *state.synapses)
    loss = sum(o[k].mean() for o in (out, out2) for k in record)
    loss.backward()
    grads = [p.grad for p in params if p.grad is not None]
    assert len(grads) == len(params) if every_parameter else net.synapses.weight.grad is not None
    _on_device(*grads)
    empty = net(steps=0, batch=batch)["spikes"]
    assert empty.shape == (0, batch, net.n)
    _on_device(empty)


def test_network_from_arrays_runs_and_trains_on_the_device(netkit, fake_device):
    torch = require_module("torch")
    from bmtoolkit.simulator.torchnet.inputs import poisson_spikes, spike_times_to_tensor

    spec = _spec(netkit)
    flags = _from_arrays(spec).cells.mechanisms()
    with fake_device():
        net = _host_flags(_from_arrays(spec, device=DEVICE), flags)
        _check_network(net)
        x = spike_times_to_tensor(spec.input_times, spec.dt, spec.tstop, device=DEVICE)
        _on_device(x)
        x = x.expand(-1, 3, -1)
        current = torch.full((20, 3, net.n), 50.0, device=DEVICE)
        _run_and_backprop(net, x, current)
        poisson = poisson_spikes(
            np.full(spec.n_virtual, 80.0), spec.dt, spec.tstop, batch=3, device=DEVICE
        )
        _on_device(poisson)
        _run_and_backprop(net, poisson)


def test_inputs_on_the_host_are_moved_to_the_network(netkit, fake_device):
    torch = require_module("torch")
    from bmtoolkit.simulator.torchnet.inputs import spike_times_to_tensor

    spec = _spec(netkit)
    flags = _from_arrays(spec).cells.mechanisms()
    x_cpu = spike_times_to_tensor(spec.input_times, spec.dt, spec.tstop, dtype=torch.float64)
    with fake_device():
        net = _host_flags(_from_arrays(spec, device=DEVICE), flags)
        net.set_trainable(["weights"])  # dense delivery (events need `nonzero`)
        current = torch.zeros(40, 1, net.n)  # CPU
        out = net(x_cpu, current=current, record=("spikes", "v"))
        _on_device(*out.values())
        assert out["v"].dtype == net.cells.E_L.dtype


def test_model_to_device_moves_every_tensor_and_cache(netkit, fake_device):
    from bmtoolkit.simulator.torchnet.inputs import spike_times_to_tensor

    spec = _spec(netkit)
    net = _from_arrays(spec)
    x = spike_times_to_tensor(spec.input_times, spec.dt, spec.tstop)
    net.set_trainable(["weights"])
    net(x[:5])["spikes"].sum().backward()  # fills the dense-delivery index cache on the CPU
    flags = net.cells.mechanisms()
    with fake_device():
        net.to(DEVICE)
        net.cells.mechanisms = lambda: flags
        _check_network(net)
        _run_and_backprop(net, x.expand(-1, 3, -1).to(DEVICE))
        _on_device(net.synapses.weights_in_file_order())


def test_inference_step_functions_stay_on_the_device(netkit, fake_device):
    """The no-gradient path piece by piece: fast spike/reset and dense delivery."""
    torch = require_module("torch")
    spec = _spec(netkit)
    flags = _from_arrays(spec).cells.mechanisms()
    with fake_device(), torch.no_grad():
        net = _host_flags(_from_arrays(spec, device=DEVICE), flags)
        cells, syn = net.cells, net.synapses
        consts, mech = cells.constants(), cells.mechanisms()
        cstate, sstate = cells.initial_state(2), syn.initial_state(2)
        virt = torch.ones(2, net.n_virtual, device=DEVICE)
        for n in range(15):
            sstate, arriving = syn.arrivals(sstate, n)
            cstate, s = cells.step(cstate, arriving, None, consts, mech)
            sstate = syn.deliver(sstate, torch.cat([s, virt], dim=1), n, events=False)
        _on_device(s, *cstate, *sstate)


@pytest.mark.parametrize("group", GROUPS)
def test_training_step_keeps_parameters_and_optimizer_state_on_the_device(
    netkit, fake_device, group
):
    torch = require_module("torch")
    from bmtoolkit.simulator.torchnet.inputs import spike_times_to_tensor
    from bmtoolkit.simulator.torchnet.training import Trainer

    spec = _spec(netkit)
    flags = _from_arrays(spec).cells.mechanisms()

    def loss_fn(out, target, readout):
        rate = readout(out["spikes"].mean(0))
        return ((rate - target) ** 2).mean() + 1e-3 * out["v"].mean()

    with fake_device():
        net = _host_flags(_from_arrays(spec, device=DEVICE), flags)
        readout = torch.nn.Linear(net.n, net.n, device=DEVICE)
        trainer = Trainer(
            net,
            loss_fn,
            groups=(group,),
            readout=readout,
            lr={"default": 1e-2, "weights": 1.0},
            truncation=15,
            constraints=("dale", "positive"),
            record=("spikes", "v"),
            clip_grad=1.0,
        )
        x = spike_times_to_tensor(spec.input_times, spec.dt, spec.tstop, device=DEVICE)
        # inputs that need gradients keep delivery dense before the first spike of a group
        # other than the weights (event-driven delivery needs `nonzero`)
        x = x.expand(-1, 3, -1).clone().requires_grad_()
        target = torch.zeros(3, net.n, device=DEVICE)
        losses = trainer._update(x, target)  # all of step() but reading the loss back
        assert losses.shape == (3,)  # 40 steps in windows of 15
        _on_device(losses)
        for p in trainer.params:
            moments = [v for k, v in trainer.optimizer.state[p].items() if k != "step"]
            assert len(moments) == 2  # Adam's; its step counter is a CPU scalar by design
            _on_device(p, p.grad, *moments)
        _check_network(net)


def test_network_from_sonata_config_on_the_device(netkit, fake_device, tmp_path, monkeypatch):
    torch = require_module("torch")
    from bmtoolkit.simulator.torchnet import TorchNet, TorchNetBackend
    from bmtoolkit.simulator.torchnet.inputs import inputs_from_plan
    from bmtoolkit.simulator.torchnet.training import Trainer

    cfg = netkit.write_sonata_network(tmp_path / "net", tstop=4.0)
    flags = TorchNet.from_config(cfg).cells.mechanisms()
    with fake_device():
        net = _host_flags(TorchNet.from_config(cfg, device=DEVICE), flags)
        _check_network(net)
        spikes, current = inputs_from_plan(net.info.extra["plan"], net.info, device=DEVICE)
        assert current is None
        _on_device(spikes)
        _run_and_backprop(net, spikes.expand(-1, 3, -1), every_parameter=False)
        trainer = Trainer(net, lambda out, t, r: out["spikes"].mean(), groups=GROUPS)
        _on_device(trainer._update(spikes, None))
        _check_network(net)

        monkeypatch.setenv("TORCHNET_DEVICE", DEVICE)
        backend = TorchNetBackend.from_config(cfg)
        backend.setup()
        backend.build_network()
        backend.add_inputs()
        _check_network(backend.net)
        _on_device(backend.inputs)
        assert backend.result.extra["device"] == DEVICE
        assert backend.net.cells.E_L.dtype == torch.float64


def test_event_delivery_in_tensor_operations_matches_the_host_path(netkit):
    """The accelerators' event path (tensor ops) fills the ring buffer as the numpy path and
    the dense path do (to float32 rounding)."""
    torch = require_module("torch")
    spec = _spec(netkit)
    net = _from_arrays(spec)
    syn = net.synapses
    g = torch.Generator().manual_seed(3)
    state = syn.initial_state(4)
    for step in range(12):
        spikes = (torch.rand(4, syn.n_sources, generator=g) < 0.3).to(torch.float32)
        spikes[0, -1] = 2.0  # a virtual node with two spikes in one step
        state, eff = syn._efficacy(state, spikes)
        ring_torch = syn._deliver_events_torch(state.ring.clone(), spikes, eff, step)
        ring_host = syn._deliver_events_cpu(state.ring.clone(), spikes, eff, step)
        ring_dense = syn._deliver_dense(state.ring.clone(), spikes, eff, step)
        assert float(ring_torch.abs().sum()) > 0
        torch.testing.assert_close(ring_torch, ring_host, rtol=1e-6, atol=1e-4)
        torch.testing.assert_close(ring_torch, ring_dense, rtol=1e-6, atol=1e-4)
        state = state._replace(ring=ring_host)
