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
