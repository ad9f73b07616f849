"""torchnet reproduces NEST glif_psc networks and tsodyks2_synapse responses."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require_module

pytestmark = [pytest.mark.nest, pytest.mark.torch]


def _compare(kit, spec):
    torch = require_module("torch")
    ids_nest, t_nest = kit.run_nest(spec)
    net = kit.build_torchnet(spec)
    ids, t = net.simulate(spec.tstop, inputs=kit.input_tensor(spec, torch.float64))
    assert ids_nest.size > 100, "the test network must be active"
    return kit.match_fraction(ids_nest, t_nest, ids, t, spec.dt), ids_nest.size, ids.size


@pytest.mark.parametrize("levels", [(1,), (3,), (1, 3)], ids=["glif1", "glif3", "glif1+3"])
def test_glif_network_spikes_match_nest(netkit, levels):
    spec = netkit.make_spec(levels=levels, n_per_level=30, tstop=200.0, seed=11)
    frac, n_nest, n_torch = _compare(netkit, spec)
    assert frac >= 0.95, (frac, n_nest, n_torch)
    assert abs(n_torch - n_nest) <= 0.05 * n_nest


@pytest.mark.parametrize("level", [2, 4, 5])
def test_glif_reset_rules_match_nest(netkit, level):
    spec = netkit.make_spec(levels=(level,), n_per_level=20, tstop=150.0, seed=5)
    frac, _, _ = _compare(netkit, spec)
    assert frac >= 0.95


def test_network_with_stp_matches_nest(netkit):
    spec = netkit.make_spec(levels=(3,), n_per_level=30, tstop=200.0, seed=2, stp=True)
    frac, _, _ = _compare(netkit, spec)
    assert frac >= 0.95


def _tsodyks2_reference(times, big_u, tau_rec, tau_fac):
    """NEST's documented tsodyks2 recursion, written out independently."""
    u, x, out, last = big_u, 1.0, [], None
    for t in times:
        if last is not None:
            h = t - last
            x = 1.0 + (x - x * u - 1.0) * np.exp(-h / tau_rec)
            u = big_u + u * (1.0 - big_u) * (np.exp(-h / tau_fac) if tau_fac > 0 else 0.0)
        out.append(x * u)
        last = t
    return np.array(out)


@pytest.mark.parametrize(
    "stp",
    [(0.5, 800.0, 0.0), (0.1, 100.0, 500.0), (0.3, 50.0, 20.0)],
    ids=["depressing", "facilitating", "mixed"],
)
def test_single_synapse_stp_matches_nest_tsodyks2(stp):
    torch = require_module("torch")
    nest = require_module("nest")
    from bmtoolkit.simulator.torchnet.synapses import Synapses
    from bmtoolkit.simulator.torchnet.translations import StpParams

    dt, tstop, w = 0.1, 400.0, 100.0
    rng = np.random.default_rng(0)
    times = np.round(np.cumsum(rng.uniform(2.0, 40.0, 40)), 1)
    times = times[times < tstop - 10]
    big_u, tau_rec, tau_fac = stp

    # efficacies transmitted by torchnet, spike by spike
    syn = Synapses(
        np.array([0]),
        np.array([0]),
        np.array([0]),
        np.array([w]),
        np.array([1]),
        n_sources=1,
        n_targets=1,
        n_receptors=1,
        dt=dt,
        stp_type=np.array([0]),
        stp_params=[StpParams(*stp, u=stp[0])],
        dtype=torch.float64,
    )
    spikes = torch.zeros(int(round(tstop / dt)), 1, 1, dtype=torch.float64)
    spikes[np.round(times / dt).astype(int) - 1, 0, 0] = 1.0
    state, got = syn.initial_state(1), []
    for k in range(spikes.shape[0]):
        state, _ = syn.arrivals(state, k)
        state = syn.deliver(state, spikes[k], k)
        if spikes[k].any():
            got.append(float(state.ring[(k + 1) % syn.ring_size].sum()) / w)
    got = np.array(got)
    ref = _tsodyks2_reference(times, *stp)
    np.testing.assert_allclose(got, ref, rtol=1e-12)

    # NEST: postsynaptic current of a glif_psc cell fed through tsodyks2_synapse
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": dt})
    cell_params = {"tau_syn": [2.0], "V_th": 1e6, "E_L": -70.0, "V_m": -70.0, "V_reset": -70.0}
    post = nest.Create("glif_psc", params=cell_params)
    gen = nest.Create("spike_generator", params={"spike_times": times - dt})
    parrot = nest.Create("parrot_neuron")
    nest.Connect(gen, parrot, syn_spec={"delay": dt})
    nest.CopyModel(
        "tsodyks2_synapse",
        "tn_stp",
        {"U": big_u, "u": big_u, "tau_rec": tau_rec, "tau_fac": tau_fac},
    )
    nest.Connect(
        parrot,
        post,
        syn_spec={"synapse_model": "tn_stp", "weight": w, "delay": dt, "receptor_type": 1},
    )
    mm = nest.Create("multimeter", params={"record_from": ["I_syn"], "interval": dt})
    nest.Connect(mm, post)
    nest.Simulate(tstop)
    events = mm.get("events")
    i_nest, t_nest = np.asarray(events["I_syn"]), np.asarray(events["times"])

    from bmtoolkit.simulator.torchnet.cells import GLIFCells
    from bmtoolkit.simulator.torchnet.model import TorchNet
    from bmtoolkit.simulator.torchnet.translations import cell_params_from_nest

    cells = GLIFCells.from_params(
        [cell_params_from_nest("glif_psc", cell_params)], dt=dt, dtype=torch.float64
    )
    syn2 = Synapses(
        np.array([1]),
        np.array([0]),
        np.array([0]),
        np.array([w]),
        np.array([1]),
        n_sources=2,
        n_targets=1,
        n_receptors=1,
        dt=dt,
        stp_type=np.array([0]),
        stp_params=[StpParams(*stp, u=stp[0])],
        dtype=torch.float64,
    )
    out = TorchNet(cells, syn2, n_virtual=1)(spikes, record=("i_syn",))
    i_torch = out["i_syn"][:, 0, 0].numpy()
    # NEST records at time t the PSC of t - dt; torchnet's row k is the PSC at (k + 1) dt
    k = np.round(t_nest / dt).astype(int) - 2
    a, b = i_nest[k >= 0], i_torch[k[k >= 0]]
    big = np.abs(a) > 1e-3 * np.abs(a).max()
    assert big.sum() > 100
    rel = np.abs(b[big] - a[big]) / np.abs(a[big])
    assert rel.max() < 1e-6
