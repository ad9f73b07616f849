"""Stationary rates of the density solver against the analytic closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.popnet.inputs import ConstantRate
from bmtoolkit.simulator.popnet.kernels import DeltaJump, ExponentialJump
from bmtoolkit.simulator.popnet.populations import (
    Connection,
    ExternalPopulation,
    LIFPopulation,
    PopulationNetwork,
)
from bmtoolkit.simulator.popnet.solver import DensitySolver, stationary_rate
from bmtoolkit.simulator.popnet.transfer import (
    diffusion_moments,
    exponential_jump_rate,
    siegert_rate,
)

REFERENCE_HZ = 8.66878  # tau_m 20 ms, threshold 20 mV, reset at rest, 100 Hz, mean jump 5 mV


def test_closed_form_reproduces_reference_rate():
    rate = exponential_jump_rate(rate=0.1, mean_jump=5.0, tau_m=20.0, v_th=20.0)
    assert rate == pytest.approx(REFERENCE_HZ, abs=5e-6)


def test_closed_form_limits():
    # refractoriness caps the rate at 1/tau_ref; a tiny drive gives a tiny rate
    fast = exponential_jump_rate(rate=50.0, mean_jump=50.0, tau_m=20.0, v_th=20.0, tau_ref=2.0)
    assert 450.0 < fast < 500.0
    slow = exponential_jump_rate(rate=0.01, mean_jump=1.0, tau_m=20.0, v_th=20.0)
    assert 0.0 < slow < 1e-3
    with pytest.raises(ConfigError):
        exponential_jump_rate(rate=0.1, mean_jump=5.0, tau_m=20.0, v_th=20.0, v_reset=25.0)


def test_siegert_matches_deterministic_limit():
    # very small noise above threshold: period tau_ref + tau ln((mu - v_r) / (mu - v_th))
    period = 2.0 + 20.0 * np.log(30.0 / 10.0)
    det = siegert_rate(30.0, 0.0, tau_m=20.0, v_th=20.0, tau_ref=2.0)
    assert det == pytest.approx(1000.0 / period)
    assert siegert_rate(30.0, 0.05, tau_m=20.0, v_th=20.0, tau_ref=2.0) == pytest.approx(
        det, rel=1e-3
    )
    assert siegert_rate(10.0, 0.0, tau_m=20.0, v_th=20.0) == 0.0


def test_solver_reproduces_reference_rate_by_time_stepping():
    pop = LIFPopulation("exc", tau_m=20.0, v_th=20.0, v_reset=0.0, dv=0.05)
    net = PopulationNetwork(
        (pop,),
        (ExternalPopulation("drive", ConstantRate(100.0)),),
        (Connection("drive", "exc", weight=5.0, distribution="exponential"),),
    )
    result = DensitySolver(net, dt=0.1).run(250.0)
    stepped = float(result.rates[-500:, 0].mean())
    direct, _ = stationary_rate(pop, [(100.0, ExponentialJump(5.0))], dt=0.1)
    assert stepped == pytest.approx(direct, rel=1e-6)
    assert stepped == pytest.approx(REFERENCE_HZ, rel=2e-3)


# (input rate Hz, mean jump mV, v_reset, tau_ref, tau_m)
EXPONENTIAL_REGIMES = [
    (100.0, 5.0, 0.0, 0.0, 20.0),
    (500.0, 1.0, 0.0, 0.0, 20.0),
    (300.0, 2.0, 10.0, 2.0, 20.0),
    (50.0, 8.0, 5.0, 1.0, 10.0),
    (200.0, 3.0, 15.0, 0.0, 30.0),
]


@pytest.mark.parametrize("regime", EXPONENTIAL_REGIMES)
def test_exponential_jumps_match_richardson_swarbrick(regime):
    rate, jump, v_reset, tau_ref, tau_m = regime
    pop = LIFPopulation(
        "p", tau_m=tau_m, v_th=20.0, v_reset=v_reset, tau_ref=tau_ref, v_min=0.0, dv=0.05
    )
    got, density = stationary_rate(pop, [(rate, ExponentialJump(jump))], dt=0.1)
    want = exponential_jump_rate(
        rate=rate * 1e-3, mean_jump=jump, tau_m=tau_m, v_th=20.0, v_reset=v_reset, tau_ref=tau_ref
    )
    assert got == pytest.approx(want, rel=0.01)
    assert density.min() >= -1e-12


# (mu mV, sigma mV, v_reset, tau_ref)
DIFFUSION_REGIMES = [
    (15.0, 5.0, 10.0, 2.0),
    (18.0, 3.0, 10.0, 2.0),
    (22.0, 2.0, 10.0, 2.0),
    (10.0, 6.0, 0.0, 0.0),
    (25.0, 4.0, 5.0, 1.0),
]


@pytest.mark.parametrize("regime", DIFFUSION_REGIMES)
def test_small_jumps_match_siegert(regime):
    mu, sigma, v_reset, tau_ref = regime
    tau, w = 20.0, 0.05
    # excitatory and inhibitory rates (1/ms) giving the requested mean and variance
    total, net = sigma**2 / (tau * w * w), mu / (tau * w)
    r_exc, r_inh = (total + net) / 2, (total - net) / 2
    assert diffusion_moments([r_exc, r_inh], [w, -w], tau) == pytest.approx((mu, sigma))
    pop = LIFPopulation(
        "p", tau_m=tau, v_th=20.0, v_reset=v_reset, tau_ref=tau_ref, v_min=-15.0, dv=0.025
    )
    got, _ = stationary_rate(
        pop, [(r_exc * 1e3, DeltaJump(w)), (r_inh * 1e3, DeltaJump(-w))], dt=0.02
    )
    want = siegert_rate(mu, sigma, tau_m=tau, v_th=20.0, v_reset=v_reset, tau_ref=tau_ref)
    assert got == pytest.approx(want, rel=0.01)
