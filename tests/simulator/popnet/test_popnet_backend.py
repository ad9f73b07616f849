"""The popnet backend end to end: builder -> SONATA files -> ``bmtoolkit run`` -> rates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bmtoolkit.builder import NetworkBuilder
from bmtoolkit.cli import main as cli_main
from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator import run
from bmtoolkit.simulator.popnet.inputs import PiecewiseRate
from bmtoolkit.simulator.popnet.populations import (
    Connection,
    ExternalPopulation,
    LIFPopulation,
    PopulationNetwork,
)
from bmtoolkit.simulator.popnet.solver import DensitySolver
from bmtoolkit.sonata import write_circuit_config, write_simulation_config
from bmtoolkit.sonata.rates import read_densities, read_rates

LIF = {"tau_m": 20.0, "v_min": -10.0, "v_max": 20.0, "v_reset": 10.0, "tau_ref": 2.0, "dv": 0.1}
LIF_SI = {"tau_m": 0.02, "v_min": -0.01, "v_max": 0.02, "v_reset": 0.01, "tau_ref": 0.002,
          "dv": 0.0001}  # fmt: skip
RECURRENT = [("exc", "exc", 0.1, 100), ("exc", "inh", 0.1, 100), ("inh", "exc", -0.5, 50),
             ("inh", "inh", -0.5, 50)]  # fmt: skip


def build(folder: Path, *, si: bool = False, inputs=None, run_extra=None, reports=None) -> Path:
    """E/I population network driven by one virtual node, written with the builder."""
    models = folder / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "lif.json").write_text(json.dumps(LIF_SI if si else LIF))
    v, t = (1e-3, 1e-3) if si else (1.0, 1.0)
    cortex = NetworkBuilder("cortex")
    for name in ("exc", "inh"):
        cortex.add_nodes(
            N=1, pop_name=name, model_type="population", model_template="dipde:Internal",
            dynamics_params="lif.json",
        )  # fmt: skip
    for s, tg, w, k in RECURRENT:
        cortex.add_edges(
            source={"pop_name": s}, target={"pop_name": tg}, connection_rule=k,
            syn_weight=w * v, delay=1.5 * t,
        )  # fmt: skip
    cortex.build()
    ext = NetworkBuilder("ext")
    ext.add_nodes(N=1, pop_name="drive", model_type="virtual")
    for name, w in (("exc", 0.5), ("inh", 0.45)):
        ext.add_edges(
            source=ext.nodes(), target=cortex.nodes(pop_name=name), connection_rule=1,
            syn_weight=w * v, delay=0.0,
        )  # fmt: skip
    ext.build()
    cortex.save(folder / "network")
    ext.save(folder / "network")
    n = folder / "network"
    write_circuit_config(
        folder / "circuit_config.json",
        nodes=[
            {"nodes_file": n / f"{p}_nodes.h5", "node_types_file": n / f"{p}_node_types.csv"}
            for p in ("cortex", "ext")
        ],
        edges=[
            {"edges_file": n / f"{p}_edges.h5", "edge_types_file": n / f"{p}_edge_types.csv"}
            for p in ("cortex_cortex", "ext_cortex")
        ],
        components={"population_models_dir": models},
    )
    if inputs is None:
        inputs = {
            "drive": {"input_type": "rates", "module": "piecewise", "node_set": "ext",
                      "times": [0.0, 100.0], "rates": [1600.0, 2200.0]}
        }  # fmt: skip
    config = folder / "config.json"
    write_simulation_config(
        config,
        network=folder / "circuit_config.json",
        run={"tstop": 200.0, "dt": 0.1, **(run_extra or {})},
        output={"output_dir": folder / "output", "rates_file": "rates.h5"},
        inputs=inputs,
        reports=reports,
    )
    return config


def reference_rates() -> np.ndarray:
    params = dict(v_min=-10.0, v_reset=10.0, tau_ref=2.0, dv=0.1)
    net = PopulationNetwork(
        (LIFPopulation("exc", **params), LIFPopulation("inh", **params)),
        (ExternalPopulation("drive", PiecewiseRate((0.0, 100.0), (1600.0, 2200.0))),),
        (
            Connection("drive", "exc", weight=0.5),
            Connection("drive", "inh", weight=0.45),
            *(Connection(s, t, weight=w, nsyns=k, delay=1.5) for s, t, w, k in RECURRENT),
        ),
    )
    return DensitySolver(net, dt=0.1).run(200.0).rates


def test_bmtoolkit_run_writes_rates_matching_the_solver(tmp_path):
    reports = {"dens": {"module": "population_density", "cells": "cortex", "dt": 50.0,
                        "file_name": "density.h5"}}  # fmt: skip
    config = build(tmp_path, reports=reports)
    assert cli_main(["run", str(config)]) == 0
    out = tmp_path / "output"
    series = read_rates(out / "rates.h5")
    assert list(series) == ["cortex"]
    got = series["cortex"]
    assert got.node_ids.tolist() == [0, 1]
    assert got.times[:3].tolist() == pytest.approx([0.0, 0.1, 0.2])
    np.testing.assert_allclose(got.data, reference_rates(), rtol=1e-5, atol=1e-4)
    csv = read_rates(out / "rates.csv")["cortex"]
    np.testing.assert_allclose(csv.data, got.data, rtol=1e-6)
    snaps = read_densities(out / "density.h5")
    assert sorted(snaps) == [("cortex", 0), ("cortex", 1)]
    assert snaps[("cortex", 0)].times.tolist() == [50.0, 100.0, 150.0, 200.0]
    assert np.all(snaps[("cortex", 0)].data.sum(axis=1) <= 1.0 + 1e-12)


def test_si_units_and_bmtk_rates_csv_give_the_same_result(tmp_path):
    (tmp_path / "rates.csv").write_text("gid firing_rate\n0 2200.0\n")
    inputs = {"drive": {"input_type": "csv", "module": "pop_rates", "node_set": "ext",
                        "rates": str(tmp_path / "rates.csv")}}  # fmt: skip
    si = run(build(tmp_path / "si", si=True, inputs=inputs))
    inputs_ms = {"drive": {"input_type": "rates", "module": "constant", "node_set": "ext",
                           "firing_rate": 2200.0}}  # fmt: skip
    ms = run(build(tmp_path / "ms", inputs=inputs_ms))
    a = read_rates(si.outputs["rates"])["cortex"].data
    b = read_rates(ms.outputs["rates"])["cortex"].data
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
    assert b[-1, 0] == pytest.approx(23.2, abs=0.2)


@pytest.mark.parametrize("mode", ["meanfield", "ssn"])
def test_rate_modes_run_from_the_same_config(tmp_path, mode):
    result = run(build(tmp_path, run_extra={"popnet_mode": mode}))
    assert result.extra["mode"] == mode
    rates = read_rates(result.outputs["rates"])["cortex"].data
    assert rates.shape == (2000, 2)
    assert np.all(rates >= 0) and rates[-1].max() > rates[500].max()


def test_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="popnet_mode"):
        run(build(tmp_path / "a", run_extra={"popnet_mode": "nope"}))
    spikes = {"drive": {"input_type": "spikes", "module": "h5", "node_set": "ext",
                        "input_file": str(tmp_path / "s.h5")}}  # fmt: skip
    with pytest.raises(ConfigError, match="spike trains"):
        run(build(tmp_path / "b", inputs=spikes))
