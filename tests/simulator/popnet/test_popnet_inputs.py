"""Rate functions, unit translations and run continuation of popnet."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError, SonataFormatError
from bmtoolkit.simulator.popnet.inputs import (
    ConstantRate,
    PiecewiseRate,
    TimeSeriesRate,
    rate_from_params,
)
from bmtoolkit.simulator.popnet.montecarlo import step_response_network
from bmtoolkit.simulator.popnet.solver import DensitySolver
from bmtoolkit.simulator.popnet.translations import population_params, unit_system
from bmtoolkit.sonata.rates import write_rates


def test_rate_functions():
    t = np.array([-5.0, 0.0, 5.0, 10.0, 15.0])
    assert ConstantRate(3.0)(t).tolist() == [3.0] * 5
    assert PiecewiseRate((0.0, 10.0), (1.0, 4.0))(t).tolist() == [1.0, 1.0, 1.0, 4.0, 4.0]
    assert TimeSeriesRate((0.0, 10.0), (1.0, 4.0))(t).tolist() == [1.0, 1.0, 2.5, 4.0, 4.0]
    with pytest.raises(ConfigError):
        ConstantRate(-1.0)
    with pytest.raises(ConfigError):
        PiecewiseRate((10.0, 0.0), (1.0, 2.0))
    with pytest.raises(ConfigError):
        rate_from_params({"module": "piecewise", "times": [0.0]}, where="inputs.x")
    with pytest.raises(ConfigError, match="rate function"):
        rate_from_params({"module": "sawtooth"})


def test_time_series_from_rate_files(tmp_path):
    h5 = tmp_path / "drive.h5"
    write_rates(h5, "lgn", [0, 7], [0.0, 10.0, 20.0], np.array([[1, 5], [2, 6], [3, 7.0]]))
    f = TimeSeriesRate.from_file(h5, population="lgn", node_id=7)
    assert f(np.array([5.0, 20.0])).tolist() == [5.5, 7.0]
    csv = tmp_path / "drive.csv"
    csv.write_text("population node_id time rate\nlgn 1 0 2\nlgn 1 10 4\nlgn 2 0 9\n")
    g = rate_from_params({"rates_file": str(csv), "population": "lgn", "node_id": 1})
    assert g(np.array([5.0])).tolist() == [3.0]
    bad = tmp_path / "bad.csv"
    bad.write_text("t r\n0 1\n")
    with pytest.raises(SonataFormatError, match="time"):
        TimeSeriesRate.from_file(bad)


def test_translations_units_and_aliases():
    si = {"tau_m": 0.0429, "v_min": -0.05, "v_max": 0.02, "dv": 0.0001, "t_ref": 0.002}
    assert unit_system(si) == "SI"
    p = population_params(si)
    assert p == {"tau_m": 42.9, "v_min": -50.0, "v_th": 20.0, "dv": 0.1, "tau_ref": 2.0}
    ms = {"tau_m": 10, "threshold": 15, "V_reset": 5, "units": "ms_mV", "N": 100}
    assert population_params(ms) == {"tau_m": 10.0, "v_th": 15.0, "v_reset": 5.0, "n_neurons": 100}
    with pytest.raises(ConfigError, match="units"):
        unit_system({"units": "furlongs"})
    with pytest.raises(ConfigError, match="tau_m"):
        population_params({"tau_m": "fast"})


def test_running_in_pieces_equals_one_run():
    whole = DensitySolver(step_response_network(), dt=0.1).run(150.0).rates
    solver = DensitySolver(step_response_network(), dt=0.1)
    parts = [solver.run(t).rates for t in (40.0, 100.0, 150.0)]
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=1e-12, atol=1e-12)
