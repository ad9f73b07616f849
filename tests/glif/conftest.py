"""Fixtures of the GLIF fitting tests: the Allen parameter sets and NEST-made sweeps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from bmtoolkit.glif import GlifParameters, Sweep
from tests.conftest import conformance_root


def shared_data_root() -> Path:
    """Folder of the shared data (``BMTOOLKIT_SHARED_DATA``; default beside conformance)."""
    return Path(os.environ.get("BMTOOLKIT_SHARED_DATA", conformance_root().parent / "data"))


@pytest.fixture(scope="session")
def glif_levels() -> dict[int, GlifParameters]:
    """The five levels of Allen cell 637930677, by level; skips when the data is absent."""
    root = shared_data_root() / "bmtk_point_components" / "glif_levels_637930677"
    if not root.is_dir():
        pytest.skip(f"GLIF parameter sets not found at {root}; set BMTOOLKIT_SHARED_DATA to the "
                    "folder holding bmtk_point_components/")  # fmt: skip
    out = {}
    for path in sorted(root.glob("*.json")):
        p = GlifParameters.from_neuron_config(json.loads(path.read_text()), source=str(path))
        out[p.level] = p
    assert sorted(out) == [1, 2, 3, 4, 5]
    return out


def nest_sweep(params: GlifParameters, stimulus: np.ndarray, *, dt: float = 5e-5,
               kind: str = "noise", with_spikes: bool = False) -> Sweep:  # fmt: skip
    """Record NEST ``glif_psc`` under ``stimulus`` (A per sample): the current it received
    (recordable ``I``) and its ``V_m``, as a :class:`Sweep` in SI units."""
    nest = pytest.importorskip("nest", reason="nest is not installed")
    nest.ResetKernel()
    nest.set(resolution=dt * 1e3, print_time=False)
    cell = nest.Create("glif_psc", params=params.to_nest())
    gen = nest.Create("step_current_generator", params={
        "amplitude_times": np.arange(1, stimulus.size + 1) * dt * 1e3,
        "amplitude_values": stimulus * 1e12})  # fmt: skip
    nest.Connect(gen, cell)
    meter = nest.Create("multimeter", params={"record_from": ["V_m", "I"],
                                              "interval": dt * 1e3})  # fmt: skip
    nest.Connect(meter, cell)
    rec = nest.Create("spike_recorder")
    nest.Connect(cell, rec)
    nest.Simulate((stimulus.size + 2) * dt * 1e3)
    ev = meter.events
    n = stimulus.size
    spikes = rec.events["times"] * 1e-3 - dt if with_spikes else None  # first sample is t = dt
    return Sweep(ev["I"][:n] * 1e-12, ev["V_m"][:n] * 1e-3, dt, kind=kind,
                 spike_times=spikes)  # fmt: skip


def bio_cell_sweeps(config: Path, model_name: str, cache: Path):
    """Protocol sweeps of the biophysical model ``model_name`` of a bionet ``config``,
    recorded in NEURON once and kept in ``cache`` (a folder) as ``.npz`` files."""
    from bmtoolkit.glif.io import read_sweeps, write_npz
    from bmtoolkit.glif.protocol import ProtocolSweeps

    train_file, held_file = cache / f"{model_name}_train.npz", cache / f"{model_name}_held.npz"
    rheo_file = cache / f"{model_name}_rheobase.json"
    if not (train_file.is_file() and held_file.is_file() and rheo_file.is_file()):
        pytest.importorskip("neuron", reason="neuron is not installed")
        from bmtoolkit.glif.protocol import NeuronCellDriver, run_protocol
        from bmtoolkit.simulator.bionet.backend import BioNetBackend
        from bmtoolkit.simulator.bionet.cells import build_cell
        from bmtoolkit.simulator.core.plan import RunPlan

        plan = RunPlan.from_config(config, output_dir=cache / "output")
        backend = BioNetBackend(plan)
        backend.setup()
        node = None
        for pop in plan.circuit.nodes.values():
            names = pop.columns().get("model_name")
            for spec in backend._specs(pop):
                if names is not None and str(names[spec.node_id]) == model_name:
                    node = spec
                    break
        if node is None:
            raise LookupError(f"no node with model_name {model_name!r} in {config}")
        cell = build_cell(node)
        sweeps = run_protocol(NeuronCellDriver.from_backend(cell, backend))
        cache.mkdir(parents=True, exist_ok=True)
        write_npz(train_file, list(sweeps.train))
        write_npz(held_file, list(sweeps.held_out))
        rheo_file.write_text(json.dumps({"rheobase": sweeps.rheobase}))
    return ProtocolSweeps(train=tuple(read_sweeps(train_file)),
                          held_out=tuple(read_sweeps(held_file)),
                          rheobase=json.loads(rheo_file.read_text())["rheobase"])  # fmt: skip


def assert_recovered(p: GlifParameters, truth: GlifParameters, level: int) -> None:
    """The stated tolerances of ground-truth recovery: R, C, El within 2 %, ``th_inf``
    within 1 mV, reset and ``a_spike`` within 0.02 / 0.5 mV, ``b_spike`` within 30 %,
    after-spike current amplitudes within 5 %, ``a_voltage``/``b_voltage`` within 20 %, for
    the mechanisms ``level`` has."""
    from bmtoolkit.glif.parameters import level_has

    assert p.R == pytest.approx(truth.R, rel=0.02)
    assert p.C == pytest.approx(truth.C, rel=0.02)
    assert p.El == pytest.approx(truth.El, rel=0.02, abs=5e-4)
    assert abs(p.th_inf - truth.th_inf) < 1e-3
    has = level_has(level)
    if has["reset_rules"]:
        assert abs(p.reset_a - truth.reset_a) < 0.02
        assert abs(p.reset_b - truth.reset_b) < 5e-4
        assert abs(p.a_spike - truth.a_spike) < 5e-4
        assert p.b_spike == pytest.approx(truth.b_spike, rel=0.3)
    if has["asc"]:
        np.testing.assert_allclose(p.asc_amp, truth.asc_amp, rtol=0.05)
    if has["voltage_threshold"]:
        assert p.a_voltage == pytest.approx(truth.a_voltage, rel=0.2)
        assert p.b_voltage == pytest.approx(truth.b_voltage, rel=0.2)
