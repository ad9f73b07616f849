"""Mean-field (Siegert) and SSN rate modes on the same network descriptions."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.simulator.popnet.inputs import ConstantRate
from bmtoolkit.simulator.popnet.meanfield import MeanFieldModel
from bmtoolkit.simulator.popnet.populations import (
    Connection,
    ExternalPopulation,
    LIFPopulation,
    PopulationNetwork,
)
from bmtoolkit.simulator.popnet.solver import DensitySolver
from bmtoolkit.simulator.popnet.ssn import SSNModel
from bmtoolkit.simulator.popnet.transfer import siegert_rate


def ei(drive_hz: float = 2200.0, **pop_kw) -> PopulationNetwork:
    params = dict(v_min=-10.0, v_reset=10.0, tau_ref=2.0, dv=0.1)
    params.update(pop_kw)
    return PopulationNetwork(
        (LIFPopulation("exc", **params), LIFPopulation("inh", **params)),
        (ExternalPopulation("ext", ConstantRate(drive_hz)),),
        (
            Connection("ext", "exc", weight=0.5),
            Connection("ext", "inh", weight=0.45),
            Connection("exc", "exc", weight=0.1, nsyns=100, delay=1.5),
            Connection("exc", "inh", weight=0.1, nsyns=100, delay=1.5),
            Connection("inh", "exc", weight=-0.5, nsyns=50, delay=1.5),
            Connection("inh", "inh", weight=-0.5, nsyns=50, delay=1.5),
        ),
    )


def test_mean_field_fixed_point_is_self_consistent_and_close_to_density():
    net = ei()
    mf = MeanFieldModel(net)
    rates = mf.fixed_point()
    mu, sigma = mf.moments(np.concatenate([rates, [2200.0]]))
    for i, pop in enumerate(net.populations):
        phi = siegert_rate(
            mu[i], sigma[i], tau_m=pop.tau_m, v_th=20.0, v_reset=10.0, tau_ref=pop.tau_ref
        )
        assert phi == pytest.approx(rates[i], rel=1e-6)
    density = DensitySolver(net, dt=0.1).run(300.0).rates[-1000:].mean(axis=0)
    # finite jumps (0.1-0.5 mV) vs the diffusion approximation: a few percent apart
    np.testing.assert_allclose(rates, density, rtol=0.1)


def test_mean_field_dynamics_relax_to_the_fixed_point():
    net = ei()
    mf = MeanFieldModel(net, dt=0.5)
    result = mf.run(300.0)
    assert result.rates.shape == (600, 2)
    np.testing.assert_allclose(result.rates[-1], mf.fixed_point(), rtol=1e-4)
    # the approach is gradual, governed by tau_rate
    assert result.rates[0].max() < 0.5 * result.rates[-1].max()


def test_ssn_single_population_steady_state_is_power_law():
    for k, n in ((0.04, 2.0), (0.01, 3.0)):
        net = PopulationNetwork(
            (LIFPopulation("p", rate_scale=k, rate_exponent=n, tau_rate=5.0),),
            (ExternalPopulation("x", ConstantRate(1000.0)),),
            (Connection("x", "p", weight=0.5),),
        )
        rates = SSNModel(net, dt=0.5).run(200.0).rates
        drive = 20.0 * 1.0 * 0.5  # tau_m * rate (1/ms) * weight
        assert rates[-1, 0] == pytest.approx(k * drive**n, rel=1e-6)


def test_ssn_network_fixed_point_and_rectification():
    net = ei(drive_hz=1000.0, rate_scale=0.04, rate_exponent=2.0, tau_rate=10.0)
    model = SSNModel(net, dt=0.2)
    result = model.run(500.0)
    r = result.rates[-1]
    assert np.all(result.rates >= 0.0)
    mu, _ = model.moments(np.concatenate([r, [1000.0]]))
    np.testing.assert_allclose(r, 0.04 * np.maximum(mu, 0.0) ** 2, rtol=1e-6)
    # strong inhibition silences a population: rectified at exactly zero
    silenced = PopulationNetwork(
        (LIFPopulation("p"),),
        (ExternalPopulation("x", ConstantRate(500.0)),),
        (Connection("x", "p", weight=-1.0),),
    )
    assert SSNModel(silenced).run(50.0).rates.max() == 0.0


def test_per_population_parameters_are_used():
    net = PopulationNetwork(
        (
            LIFPopulation("fast", rate_scale=0.02, tau_rate=2.0),
            LIFPopulation("slow", rate_scale=0.04, tau_rate=50.0),
        ),
        (ExternalPopulation("x", ConstantRate(1000.0)),),
        (Connection("x", "fast", weight=0.5), Connection("x", "slow", weight=0.5)),
    )
    rates = SSNModel(net, dt=0.1).run(20.0).rates
    # after 20 ms the fast population has settled, the slow one has not
    assert rates[-1, 0] == pytest.approx(0.02 * 100.0, rel=1e-3)
    assert rates[-1, 1] < 0.5 * 0.04 * 100.0
