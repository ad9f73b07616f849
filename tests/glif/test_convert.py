"""``convert-to-point``: bionet cells -> fitted GLIF cells, written as a pointnet network.

The slow test converts ``5_cells_iclamp`` (five Allen perisomatic cells driven in NEURON)
with the default level choice, runs the result on pointnet (NEST) and the original on bionet
(NEURON), compares spike counts under the original current clamps (the full table is in
docs/glif.md), and checks that the protocol's NEURON driver counts what bionet counts.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from bmtoolkit.cli import main
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.glif.convert import (
    _point_node_sets,
    clamp_stimulus,
    conductance_to_current_weight,
    convert_to_point,
    network_clamp_stimulus,
)
from tests.conftest import require_module


def test_weight_translation():
    assert conductance_to_current_weight(1e-3, nsyns=2, e_rev=0.0, el=-70.0) == pytest.approx(140.0)
    assert conductance_to_current_weight(1e-3, e_rev=-80.0, el=-70.0) == pytest.approx(-10.0)


def test_node_sets_select_the_converted_cells():
    sets = {"bio": {"model_type": "biophysical"}, "both": {"model_type": ["biophysical", "virtual"]},
            "ids": {"node_id": [1, 2]}}  # fmt: skip
    assert _point_node_sets(sets) == {"bio": {"model_type": "point_neuron"},
                                      "both": {"model_type": ["point_neuron", "virtual"]},
                                      "ids": {"node_id": [1, 2]}}  # fmt: skip


def test_clamp_stimulus_adds_overlapping_steps():
    stim = clamp_stimulus([(1.0, 3.0, 0.1), (2.0, 4.0, 0.2)], dt=0.5, units=1e-9, tail=0.001)
    assert np.allclose(stim * 1e9, [0, 0, 0.1, 0.1, 0.3, 0.3, 0.2, 0.2, 0, 0])
    # a run that starts at 2 ms: samples from there, the part of a step before it dropped
    late = clamp_stimulus([(1.0, 3.0, 0.1)], dt=0.5, units=1e-9, tstart=2.0, tail=0.0)
    assert np.allclose(late * 1e9, [0.1, 0.1])


def test_network_clamps_of_a_node(sonata_examples, tmp_path):
    from bmtoolkit.simulator.core.plan import RunPlan

    config = sonata_examples / "5_cells_iclamp" / "config.json"
    plan = RunPlan.from_config(config, output_dir=tmp_path / "out")
    pop = next(iter(plan.circuit.nodes))
    stim = network_clamp_stimulus(plan, pop, 2)
    # three clamps of 500 ms (150, 175, 200 pA from 500, 1500, 2500 ms), dt 0.1 ms, 0.1 s after
    assert stim.size == 31000
    for k, amp in enumerate((150e-12, 175e-12, 200e-12)):
        on = slice(5000 + 10000 * k, 10000 + 10000 * k)
        assert np.allclose(stim[on], amp) and np.all(stim[on.stop : on.stop + 5000] == 0)
    assert np.all(stim[:5000] == 0)
    assert network_clamp_stimulus(plan, "no_such_population", 0) is None
    assert network_clamp_stimulus(plan, pop, 2, dt=0.5).size == 6200


def test_level_argument(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["convert-to-point", "config.json", "-o", str(tmp_path), "--level", "6"])
    assert "expected 1-5 or 'auto'" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="level must be 1-5 or 'auto'"):
        convert_to_point("config.json", tmp_path / "x", level=0)


def test_refuses_networks_without_biophysical_cells(sonata_examples, tmp_path):
    require_module("neuron")
    out = tmp_path / "point"
    with pytest.raises(ConfigError, match="no biophysical node types"):
        convert_to_point(sonata_examples / "300_pointneurons" / "config.json", out)
    assert not out.exists() or not any(out.iterdir())


def _counts(path, n_nodes, windows):
    from bmtoolkit.analyzer import load_spikes

    df = load_spikes(path)
    return np.array([[int(((df.node_id == nid) & (df.timestamp >= a) & (df.timestamp < b)).sum())
                      for a, b in windows] for nid in range(n_nodes)])  # fmt: skip


def _driven_counts(config, output_dir, windows, amps=(150e-12, 175e-12, 200e-12)):
    """Spike counts of each cell driven alone by the protocol's NEURON driver under the
    5_cells clamp sequence (from ``finitialize``, as the network run starts)."""
    from bmtoolkit.glif.protocol import NeuronCellDriver
    from bmtoolkit.glif.spikes import detect_upstrokes
    from bmtoolkit.simulator.bionet.backend import BioNetBackend
    from bmtoolkit.simulator.bionet.cells import build_cell
    from bmtoolkit.simulator.core.plan import RunPlan

    plan = RunPlan.from_config(config, output_dir=output_dir)
    backend = BioNetBackend(plan)
    backend.setup()
    dt = plan.dt * 1e-3
    steps = [(a, b, amp) for (a, b), amp in zip(windows, amps, strict=True)]
    stim = clamp_stimulus(steps, dt=plan.dt, units=1.0, tail=0.0)
    out = []
    for spec in backend._specs(next(iter(plan.circuit.nodes.values()))):
        drive = NeuronCellDriver.from_backend(build_cell(spec), backend, settle=0.0)
        t = detect_upstrokes(drive(stim, dt), dt, min_peak=backend.threshold * 1e-3) * plan.dt
        out.append([int(((t >= a) & (t < b)).sum()) for a, b in windows])
    return out


@pytest.mark.slow
@pytest.mark.neuron
@pytest.mark.nest
def test_five_cells_converted_and_run_on_pointnet(sonata_examples, tmp_path, capsys):
    require_module("neuron")
    require_module("nest")
    from bmtoolkit.simulator.core.runner import run

    config = sonata_examples / "5_cells_iclamp" / "config.json"
    out = tmp_path / "point"
    assert main(["convert-to-point", str(config), "-o", str(out)]) == 0
    summary = json.loads((out / "conversion.json").read_text())
    assert sorted(c["name"] for c in summary["cells"]) == ["Nr5a1", "PV1", "PV2", "Rorb", "Scnn1a"]
    assert summary["level"] == "auto" and summary["network_inputs"] is True
    levels = {c["name"]: c["level"] for c in summary["cells"]}
    assert set(levels.values()) <= {3, 5}
    # PV2 fires under 200 pA only after the two clamps before it: a threshold that follows
    # the voltage (level 5) is the only mechanism that can carry that
    assert levels["PV2"] == 5
    assert summary["dropped_reports"] == ["calcium_concentration", "ecp"]
    sim = json.loads((out / "simulation_config.json").read_text())
    assert [sim["inputs"][k]["amp"] for k in sorted(sim["inputs"])] == [150.0, 175.0, 200.0]
    assert sim["target_simulator"] == "NEST"
    run(out / "config.json", output_dir=tmp_path / "point_out")
    run(config, output_dir=tmp_path / "bio_out")
    windows = [(500, 1000), (1500, 2000), (2500, 3000)]
    point = _counts(tmp_path / "point_out" / "spikes.h5", 5, windows)
    bio = _counts(tmp_path / "bio_out" / "spikes.h5", 5, windows)
    print("bionet", bio.tolist(), "pointnet", point.tolist())
    # the protocol's driver integrates each cell as the bionet run does (its dt, v_init,
    # celsius and cell): under the same clamp sequence it counts the same spikes
    assert _driven_counts(config, tmp_path / "drive_out", windows) == bio.tolist()
    # every cell that fires steadily under the strongest clamp in NEURON fires in NEST too
    assert np.all(point[bio[:, 2] > 5, 2] > 0)
    print("levels", levels)
    # every clamp count within 20 % (10 of 15 with the f-I calibration of each square from
    # rest alone, 14 with the protocol's series and a slow after-spike current at level 3):
    # each cell is also fitted to its record under the network's clamps, and PV2 gets the
    # threshold that follows the voltage (docs/glif.md)
    within = np.abs(point - bio) <= 0.2 * bio
    assert within.all(), within
    # nothing outside the clamps
    assert _counts(tmp_path / "point_out" / "spikes.h5", 5, [(0, 500)]).sum() == 0
