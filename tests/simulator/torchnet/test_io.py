"""SONATA networks in torchnet: same spikes as pointnet; trained parameters written back run in
pointnet and reproduce torchnet's spikes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import require_module

pytestmark = [pytest.mark.torch, pytest.mark.nest]


def _spikes(path):
    from bmtoolkit.sonata import read_spikes

    df = read_spikes(path)
    return df["node_id"].to_numpy(), df["timestamp"].to_numpy()


def test_bmtoolkit_run_torchnet_matches_pointnet(netkit, tmp_path):
    require_module("nest")
    from bmtoolkit.simulator import run

    cfg = netkit.write_sonata_network(tmp_path / "net")
    nest_out = run(cfg, backend="pointnet", output_dir=tmp_path / "out_nest")
    torch_out = run(cfg, backend="torchnet", output_dir=tmp_path / "out_torch")
    a, b = _spikes(nest_out.outputs["spikes"]), _spikes(torch_out.outputs["spikes"])
    assert a[0].size > 200
    assert netkit.match_fraction(*a, *b, 0.1) >= 0.95
    from bmtoolkit.sonata import read_frame_report

    rep_n = read_frame_report(nest_out.outputs["membrane_potential"])["v1"]
    rep_t = read_frame_report(torch_out.outputs["membrane_potential"])["v1"]
    assert rep_t.n_steps == rep_n.n_steps and list(rep_t.node_ids) == [0, 5, 30]
    vn, vt = rep_n.data(), rep_t.data()
    np.testing.assert_allclose(vt, vn, atol=1e-3)  # float32 files, same spikes here


def test_from_config_reads_types_overrides_receptors_and_stp(netkit, tmp_path):
    torch = require_module("torch")
    from bmtoolkit.simulator.torchnet import TorchNet

    cfg = netkit.write_sonata_network(tmp_path / "net")
    net = TorchNet.from_config(cfg, dtype=torch.float64)
    assert net.n == 32 and net.n_virtual == 20
    assert net.info.populations == {"v1": (0, 32)} and net.info.virtual == {"lgn": (0, 20)}
    th = (net.cells.th_inf + net.cells.E_L).numpy()
    assert len(np.unique(np.round(th[:24], 6))) == 24  # per-node V_th overrides
    assert net.cells.n_receptors == 2
    stp = net.synapses.stp
    assert stp is not None and stp.U.tolist() == [0.3] and stp.u0.tolist() == [0.5]
    inhibitory = net.synapses.weight < 0
    assert set(net.synapses.port[inhibitory].div(32, rounding_mode="floor").tolist()) == {1}


def test_bad_receptor_type_names_file_and_field(netkit, tmp_path):
    require_module("torch")
    from bmtoolkit.exceptions import ConfigError
    from bmtoolkit.simulator.torchnet import TorchNet

    cfg = netkit.write_sonata_network(tmp_path / "net")
    (tmp_path / "net" / "synapses" / "exc.json").write_text(json.dumps({"receptor_type": 3}))
    with pytest.raises(ConfigError, match="receptor_type"):
        TorchNet.from_config(cfg)


def test_trained_parameters_written_back_reproduce_spikes_in_pointnet(netkit, tmp_path):
    torch = require_module("torch")
    require_module("nest")
    from bmtoolkit.simulator import run
    from bmtoolkit.simulator.torchnet import TorchNet
    from bmtoolkit.simulator.torchnet.inputs import inputs_from_plan
    from bmtoolkit.simulator.torchnet.io import write_trained
    from bmtoolkit.simulator.torchnet.training import Trainer

    cfg = netkit.write_sonata_network(tmp_path / "net", tstop=200.0)
    net = TorchNet.from_config(cfg, dtype=torch.float64)
    inputs, _ = inputs_from_plan(net.info.extra["plan"], net.info, dtype=torch.float64)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    ids0, times0 = net.simulate(200.0, inputs=inputs)

    def loss_fn(out, target, readout):
        return (out["v"].mean() - target) ** 2 + out["spikes"].mean()

    trainer = Trainer(
        net,
        loss_fn,
        groups=("weights", "time_constants", "asc_amps", "thresholds", "stp"),
        lr=0.3,
        truncation=500,
        record=("spikes", "v"),
    )
    for _ in range(2):
        trainer.step(inputs[:1000], torch.tensor(-60.0, dtype=torch.float64))
    changed = [n for n, p in net.named_parameters() if not torch.equal(p, before[n])]
    assert {
        "cells.th_inf",
        "cells.g",
        "cells.asc_amps",
        "synapses.weight",
        "synapses.stp.U",
    } <= set(changed)
    ids, times = net.simulate(200.0, inputs=inputs)
    assert netkit.match_fraction(ids0, times0, ids, times, 0.1) < 0.9, "training changed spikes"
    new_cfg = write_trained(net, tmp_path / "trained")
    out = run(new_cfg, backend="pointnet")
    a = _spikes(out.outputs["spikes"])
    assert a[0].size > 100
    assert netkit.match_fraction(*a, ids, times, 0.1) >= 0.95
    # and torchnet reads the written network back to the same parameters
    again = TorchNet.from_config(new_cfg, dtype=torch.float64)
    torch.testing.assert_close(again.cells.th_inf, net.cells.th_inf.detach())
    torch.testing.assert_close(
        again.synapses.weights_in_file_order().sort().values,
        net.synapses.weights_in_file_order().sort().values,
    )


@pytest.mark.conformance
def test_conformance_300_pointneurons_matches_pointnet(netkit, sonata_examples, tmp_path):
    """iaf_psc_alpha cells, off-grid input spike times, sign-routed receptors."""
    require_module("nest")
    from bmtoolkit.simulator import run
    from bmtoolkit.simulator.core.plan import RunPlan

    cfg = sonata_examples / "300_pointneurons" / "config.json"
    out = {}
    for backend in ("pointnet", "torchnet"):
        plan = RunPlan.from_config(cfg, output_dir=tmp_path / backend).with_overrides(tstop=200.0)
        out[backend] = _spikes(run(plan, backend=backend).outputs["spikes"])
    assert out["pointnet"][0].size > 1000
    assert netkit.match_fraction(*out["pointnet"], *out["torchnet"], plan.dt) >= 0.95


def test_allen_neuron_config_translated_like_pointnet(netkit, tmp_path):
    """Allen Cell Types neuron_config files go through pointnet's translation table."""
    torch = require_module("torch")
    require_module("nest")
    from bmtoolkit.simulator import run
    from bmtoolkit.simulator.torchnet import TorchNet

    cfg = netkit.write_sonata_network(tmp_path / "net", tstop=200.0)
    allen = {
        "El_reference": -0.075,
        "El": 0.0,
        "C": 8e-11,
        "R_input": 1.1e8,
        "th_inf": 0.022,
        "spike_cut_length": 20,
        "dt": 5e-05,
        "init_voltage": 0.0,
        "asc_tau_array": [0.03, 0.003],
        "asc_amp_array": [-1.5e-11, -6e-11],
        "init_AScurrents": [0.0, 0.0],
        "coeffs": {"C": 1.0, "G": 1.0, "th_inf": 1.0, "asc_amp_array": [1.0, 1.0]},
        "threshold_dynamics_method": {"name": "inf", "params": {}},
        "voltage_reset_method": {"name": "zero", "params": {}},
        "AScurrent_dynamics_method": {"name": "exp", "params": {}},
        "AScurrent_reset_method": {"name": "sum", "params": {"r": [1.0, 1.0]}},
        "tau_syn": [2.0, 6.0],
    }
    (tmp_path / "net" / "cells" / "exc_a.json").write_text(json.dumps(allen))
    net = TorchNet.from_config(cfg, dtype=torch.float64)
    cell = net.info.extra["cell_params"][net.info.extra["type_index"][0]]
    assert cell.glif_level == 3
    assert cell.C_m == pytest.approx(80.0) and cell.g == pytest.approx(1e9 / 1.1e8)
    assert cell.asc_amps == pytest.approx((-15.0, -60.0))
    a = _spikes(run(cfg, backend="pointnet", output_dir=tmp_path / "n").outputs["spikes"])
    b = _spikes(run(cfg, backend="torchnet", output_dir=tmp_path / "t").outputs["spikes"])
    assert a[0].size > 100 and netkit.match_fraction(*a, *b, 0.1) >= 0.95
