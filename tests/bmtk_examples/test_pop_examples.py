"""BMTK's ``pop_2pops`` example, unchanged, through ``bmtoolkit run``.

BMTK runs this example with DiPDE, which is not installable here (no distribution on the
package index this project uses), so BMTK itself cannot be run in the test when ``dipde`` is
absent. The rates are instead compared with an independent Monte Carlo simulation written
below: 5,000 leaky integrate-and-fire neurons per population with the example's parameters
(DiPDE's model: leak to 0 V, threshold at ``v_max``, reset to 0 V, floor at ``v_min``, delta
jumps of ``syn_weight`` volts arriving as Poisson trains at ``nsyns`` times the source rate
``delay`` seconds earlier). The population-density equation is that simulation's limit for
many neurons, so both steady-state rates must agree within 3 %. When ``dipde`` is
importable, BMTK's own run is compared too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import conformance_root

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.conformance]


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> Path:
    """``pop_2pops`` with its network, inputs and components linked, unchanged."""
    src = conformance_root() / "bmtk_examples"
    if not (src / "pop_2pops").is_dir():
        pytest.skip(f"BMTK's examples not found at {src}; set BMTOOLKIT_CONFORMANCE")
    tmp = tmp_path_factory.mktemp("pop")
    (tmp / "pop_components").symlink_to(src / "pop_components")
    folder = tmp / "pop_2pops"
    folder.mkdir()
    for entry in ("network", "inputs", "config.circuit.json", "config.simulation.json"):
        (folder / entry).symlink_to(src / "pop_2pops" / entry)
    return folder


def _run(args: list[str], cwd: Path) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    assert proc.returncode == 0, f"{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def monte_carlo(tstop=1.5, dt=1e-4, n=5000, seed=0) -> dict[str, np.ndarray]:
    """Rates (Hz per step) of the example's E and I populations simulated neuron by neuron."""
    rng = np.random.default_rng(seed)
    tau = {"e": 0.0429, "i": 0.0299}  # exc_model.json, inh_model.json (seconds)
    v_th, v_min = 0.02, -0.05
    # source, target, jump (V), nsyns, delay (s): the edge files and edge types
    conns = [("x", "e", 0.0025, 10, 0.002), ("e", "i", 0.005, 20, 0.002),
             ("i", "e", -0.002, 10, 0.002)]  # fmt: skip
    steps, lag = int(round(tstop / dt)), int(round(0.002 / dt))
    v = {p: np.zeros(n) for p in "ei"}
    rates = {p: np.zeros(steps) for p in "ei"}
    for k in range(steps):
        source = {"x": 15.0}  # inputs/external_rates.csv
        for p in "ei":
            source[p] = rates[p][k - lag] if k >= lag else 0.0
            v[p] *= np.exp(-dt / tau[p])
        for s, t, w, nsyns, _ in conns:
            if source[s] > 0:
                v[t] += w * rng.poisson(source[s] * nsyns * dt, n)
        for p in "ei":
            np.maximum(v[p], v_min, out=v[p])
            fired = v[p] >= v_th
            rates[p][k] = fired.sum() / (n * dt)
            v[p][fired] = 0.0
    return rates


def test_pop_2pops_runs_unchanged_and_matches_monte_carlo(example):
    config = example / "config.simulation.json"
    proc = _run(["-m", "bmtoolkit.cli", "run", str(config)], example)
    assert "no rate input" not in proc.stdout + proc.stderr  # the gid is the node type's id
    rates = pd.read_csv(example / "output" / "spike_rates.csv", sep=" ")
    late = rates[rates["time"] >= 500.0].groupby("node_id")["rate"].mean()
    mc = monte_carlo()
    expected = {0: mc["e"][5000:].mean(), 1: mc["i"][5000:].mean()}  # after 0.5 s
    for node, want in expected.items():
        assert want > 1.0
        assert late[node] == pytest.approx(want, rel=0.03), (node, late[node], want)


def test_pop_2pops_matches_bmtk_dipde(example, tmp_path):
    pytest.importorskip("dipde", reason="dipde (BMTK's popnet engine) is not installed")
    cfg = json.loads((example / "config.simulation.json").read_text())
    cfg["output"]["output_dir"] = str(tmp_path / "bmtk")
    path = example / "config_bmtk.json"
    path.write_text(json.dumps(cfg))
    src = conformance_root() / "bmtk_examples" / "pop_2pops" / "run_popnet.py"
    _run(["-c", f"import runpy, sys; sys.argv = ['run_popnet.py', {str(path)!r}]; "
                "import matplotlib; matplotlib.use('Agg'); "
                f"runpy.run_path({str(src)!r}, run_name='__main__')"], example)  # fmt: skip
    if not (example / "output" / "spike_rates.csv").exists():
        _run(["-m", "bmtoolkit.cli", "run", str(example / "config.simulation.json")], example)
    theirs = pd.read_csv(tmp_path / "bmtk" / "spike_rates.csv", sep=" ",
                         names=["pop_id", "time", "rate"])  # fmt: skip
    ours = pd.read_csv(example / "output" / "spike_rates.csv", sep=" ")
    for node, pop_id in ((0, 100), (1, 101)):
        want = theirs[(theirs.pop_id == pop_id) & (theirs.time >= 0.5)]["rate"].mean()
        got = ours[(ours.node_id == node) & (ours.time >= 500.0)]["rate"].mean()
        assert got == pytest.approx(want, rel=0.02)
