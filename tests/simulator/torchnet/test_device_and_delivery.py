"""Devices this machine lacks are refused before a run starts; delivery with gradients keeps
no per-edge tensor per step, and its gradients equal plain autograd's."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.conftest import require_module

torch = require_module("torch")

pytestmark = pytest.mark.torch

needs_no_cuda = pytest.mark.skipif(
    torch.cuda.is_available(), reason="this machine has CUDA: the refusal cannot be seen"
)


def test_unknown_device_is_a_config_error_naming_the_field():
    from bmtoolkit.exceptions import ConfigError
    from bmtoolkit.simulator.torchnet._torch import check_device

    assert check_device(None) == torch.device("cpu")
    assert check_device("cpu") == torch.device("cpu")
    with pytest.raises(ConfigError, match=r"cfg\.json: run\.torchnet\.device: unknown PyTorch"):
        check_device("gpu0", path="cfg.json", field="run.torchnet.device")


@needs_no_cuda
def test_cuda_without_a_gpu_is_refused_by_the_api():
    from bmtoolkit.exceptions import BackendNotAvailableError
    from bmtoolkit.simulator.torchnet.model import TorchNet
    from bmtoolkit.simulator.torchnet.translations import CellParams

    with pytest.raises(BackendNotAvailableError, match=r"device: device 'cuda' .*use device 'cpu'"):
        TorchNet.from_arrays(
            [CellParams()] * 2, np.array([0]), np.array([1]), np.array([1.0]), np.array([1.0]),
            dt=0.1, device="cuda",
        )  # fmt: skip


@needs_no_cuda
@pytest.mark.parametrize("where", ["config", "environment"])
def test_run_on_cuda_without_a_gpu_is_refused_before_any_output(
    netkit, tmp_path, monkeypatch, where
):
    from bmtoolkit.exceptions import BackendNotAvailableError
    from bmtoolkit.simulator import run
    from bmtoolkit.simulator.core.plan import RunPlan
    from bmtoolkit.simulator.core.preflight import preflight

    cfg = netkit.write_sonata_network(tmp_path / "net", tstop=5.0)
    if where == "config":
        data = json.loads(cfg.read_text())
        data.setdefault("run", {})["torchnet"] = {"device": "cuda:0"}
        cfg.write_text(json.dumps(data))
        field = "run.torchnet.device"
    else:
        monkeypatch.setenv("TORCHNET_DEVICE", "cuda:0")
        field = "$TORCHNET_DEVICE"
    problems = preflight(RunPlan.from_config(cfg, backend="torchnet"), "torchnet")
    errors = [(p.location, p.kind) for p in problems if p.severity == "error"]
    assert errors == [(field, "backend")]
    out = tmp_path / "out"
    with pytest.raises(
        BackendNotAvailableError, match=re.escape(f"{cfg.name}: {field}: device 'cuda:0'")
    ):
        run(cfg, backend="torchnet", output_dir=out, progress=False)
    assert not out.exists()


def _random_net(seed, *, n=60, n_virtual=20, n_edges=900, stp=False, dtype=torch.float64):
    from bmtoolkit.simulator.torchnet.model import TorchNet
    from bmtoolkit.simulator.torchnet.surrogate import SurrogateSpike
    from bmtoolkit.simulator.torchnet.translations import CellParams, StpParams

    rng = np.random.default_rng(seed)
    src = rng.integers(0, n + n_virtual, n_edges)
    tgt = rng.integers(0, n, n_edges)
    w = np.where(src < 45, rng.uniform(20, 90, n_edges), -rng.uniform(20, 90, n_edges))
    w[src >= n] = rng.uniform(100, 300, (src >= n).sum())
    net = TorchNet.from_arrays(
        [CellParams(tau_syn=(2.0, 5.0))], src, tgt, w, rng.uniform(0.1, 2.0, n_edges),
        dt=0.1, n_virtual=n_virtual, type_index=np.zeros(n, int),
        receptor=(w < 0).astype(int), dtype=dtype,
        stp_type=rng.integers(-1, 2, n_edges) if stp else None,
        stp_params=[StpParams(0.3, 100.0, 0.0), StpParams(0.1, 50.0, 300.0)] if stp else (),
        surrogate=SurrogateSpike("fast_sigmoid", scale=0.3, width=2.0),
    )  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    inputs = (torch.rand(200, 2, n_virtual, generator=g) < 0.08).to(dtype)
    return net, inputs


def _plain_autograd_delivery(syn, monkeypatch):
    """Delivery written with autograd's own operations (what torchnet did before): every
    step keeps per-edge tensors for the backward pass."""
    from bmtoolkit.simulator.torchnet.synapses import SynState

    def arrivals(state, step):
        slot = step % syn.ring_size
        current = state.ring[slot]
        ring = state.ring.index_fill(0, torch.tensor([slot]), 0.0)
        out = current.view(current.shape[0], syn.n_receptors, syn.n_targets)
        return SynState(ring, state.u, state.x, state.fresh), out

    def deliver(state, spikes, step, *, events=None, tap=None, stp=None):
        state, eff = syn._efficacy(state, spikes)  # STP constants gathered every step
        vals = spikes[:, syn.src] * syn.weight
        if eff.shape[1] > 1:
            vals = vals * eff[:, syn.pair_of_edge]
        slots, batch, width = state.ring.shape
        b = torch.arange(batch)[:, None]
        idx = ((torch.remainder(syn.delay + step, slots) * batch + b) * width + syn.port).long()
        ring = state.ring.reshape(-1).index_add(0, idx.reshape(-1), vals.reshape(-1))
        return SynState(ring.view(state.ring.shape), state.u, state.x, state.fresh)

    monkeypatch.setattr(syn, "arrivals", arrivals)
    monkeypatch.setattr(syn, "deliver", deliver)


@pytest.mark.parametrize("stp", [False, True])
def test_delivery_gradients_equal_plain_autograd(stp, monkeypatch):
    """Gradients of the weights, the STP parameters, a threshold (through the spikes'
    surrogate) and the input spikes from the lean delivery, over two chunks with the state
    carried over, equal those of delivery written in autograd ops."""
    grads = []
    for lean in (True, False):
        net, inputs = _random_net(3, stp=stp)
        inputs.requires_grad_(True)
        with monkeypatch.context() as m:
            if not lean:
                _plain_autograd_delivery(net.synapses, m)
            params = net.set_trainable(["weights", "thresholds", *(["stp"] if stp else [])])
            first, state = net(inputs[:90], record=("spikes", "v"), return_state=True)
            second = net(inputs[90:], state=state, record=("spikes", "v"))
            spikes = torch.cat([first["spikes"], second["spikes"]])
            v = torch.cat([first["v"], second["v"]])
            assert spikes.sum() > 50
            loss = spikes.mean() + 1e-3 * ((v + 60.0) ** 2).mean()
            grads.append(torch.autograd.grad(loss, [*params, inputs]))
    for lean, plain in zip(*grads, strict=True):
        assert plain.abs().sum() > 0
        torch.testing.assert_close(lean, plain, rtol=1e-9, atol=1e-12)


def test_training_memory_does_not_grow_with_the_edges():
    """What autograd keeps per step is the spike vector, not a tensor per edge: ten times the
    edges leave the memory saved for the backward pass nearly unchanged."""

    def saved_bytes(n_edges):
        net, inputs = _random_net(5, n_edges=n_edges, dtype=torch.float32)
        net.set_trainable(["weights"])
        seen = {}

        def pack(t):
            seen[(t.data_ptr(), t.dtype, tuple(t.shape))] = t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            out = net(inputs[:, :1], record=("spikes",))
        out["spikes"].sum().backward()
        assert net.synapses.weight.grad is not None
        return sum(seen.values())  # each distinct tensor once (the weights are one of them)

    small, large = saved_bytes(2_000), saved_bytes(20_000)
    # plain autograd would keep >= 12 bytes per edge per step: 200 steps x 18,000 edges more
    assert large - small < 0.05 * 12 * 200 * 18_000, (small, large)
