"""Invariants of the density solver: mass, positivity, convergence; kernel properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmtoolkit.exceptions import ConfigError
from bmtoolkit.simulator.popnet.inputs import ConstantRate, PiecewiseRate
from bmtoolkit.simulator.popnet.kernels import (
    DeltaJump,
    ExponentialJump,
    Grid,
    UniformJump,
    jump_matrix,
    leak_matrix,
)
from bmtoolkit.simulator.popnet.populations import (
    Connection,
    ExternalPopulation,
    LIFPopulation,
    PopulationNetwork,
)
from bmtoolkit.simulator.popnet.solver import DensitySolver, poisson_weights, stationary_rate
from bmtoolkit.simulator.popnet.transfer import exponential_jump_rate


def ei_network(dv: float = 0.1, drive=None) -> PopulationNetwork:
    drive = drive or PiecewiseRate((0.0, 50.0), (1600.0, 2200.0))
    exc = LIFPopulation("exc", v_min=-10.0, v_reset=10.0, tau_ref=2.0, dv=dv)
    inh = LIFPopulation("inh", tau_m=10.0, v_min=-10.0, v_reset=10.0, tau_ref=1.0, dv=dv)
    return PopulationNetwork(
        (exc, inh),
        (ExternalPopulation("ext", drive),),
        (
            Connection("ext", "exc", weight=0.5),
            Connection("ext", "inh", weight=0.6),
            Connection("exc", "exc", weight=0.1, nsyns=100, delay=1.5),
            Connection("exc", "inh", weight=0.1, nsyns=100, delay=1.5),
            Connection("inh", "exc", weight=-0.5, nsyns=50, delay=1.5),
            Connection("inh", "inh", weight=-0.5, nsyns=50, delay=1.0, distribution="exponential"),
        ),
    )


def test_mass_conserved_and_density_non_negative_every_step():
    solver = DensitySolver(ei_network(), dt=0.1)
    drift = []
    for _ in range(800):
        before = solver.mass()
        solver.run(solver.tstart + (solver.step_index + 1) * solver.dt)
        drift.append(np.abs(solver.mass() - before).max())
        assert solver.p.min() >= 0.0
    assert max(drift) < 1e-9
    assert solver.mass() == pytest.approx([1.0, 1.0], abs=1e-9)


def test_density_snapshots_are_probability_distributions():
    solver = DensitySolver(ei_network(), dt=0.1)
    result = solver.run(100.0, density_every=10.0)
    assert result.density_times.tolist() == pytest.approx(np.arange(10.0, 101.0, 10.0).tolist())
    for name, snaps in result.densities.items():
        assert snaps.shape == (10, result.grids[name].n)
        assert snaps.min() >= 0.0
        assert np.all(snaps.sum(axis=1) <= 1.0 + 1e-12)
        assert np.all(snaps.sum(axis=1) > 0.5)  # the rest is refractory
        np.testing.assert_array_equal(snaps[-1], solver.density(name))


def test_converges_as_dv_and_dt_shrink():
    want = exponential_jump_rate(rate=0.1, mean_jump=5.0, tau_m=20.0, v_th=20.0)
    errors = []
    for h in (0.4, 0.2, 0.1, 0.05):
        pop = LIFPopulation("p", tau_m=20.0, v_th=20.0, dv=h)
        got, _ = stationary_rate(pop, [(100.0, ExponentialJump(5.0))], dt=h)
        errors.append(abs(got - want) / want)
    assert all(b < a for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 0.2 * errors[0]


def test_transient_converges_in_dt():
    def rates(dt):
        res = DensitySolver(ei_network(dv=0.1), dt=dt).run(100.0)
        # average over 1 ms bins so different dt compare on the same time axis
        k = int(round(1.0 / dt))
        return res.rates[:, 0].reshape(-1, k).mean(axis=1)

    ref = rates(0.025)
    err = [np.sqrt(np.mean((rates(dt) - ref) ** 2)) for dt in (0.2, 0.1, 0.05)]
    assert err[0] > err[1] > err[2]


def test_leak_moves_mass_toward_rest():
    grid = Grid(-10.0, 20.0, 0.1)
    leak = leak_matrix(grid, tau_m=20.0, dt=1.0)
    p = np.zeros(grid.n)
    p[-1] = 1.0
    q = leak @ p
    assert q.sum() == pytest.approx(1.0)
    mean_v = (grid.centers * q).sum()
    assert mean_v == pytest.approx(grid.centers[-1] * np.exp(-1.0 / 20.0), abs=grid.width)
    with pytest.raises(ConfigError):
        leak_matrix(grid, tau_m=20.0, dt=1.0, e_l=25.0)


@settings(max_examples=40, deadline=None)
@given(
    weight=st.floats(-6.0, 6.0).filter(lambda w: abs(w) > 1e-3),
    kind=st.sampled_from(["delta", "exponential", "uniform"]),
    dv=st.sampled_from([0.1, 0.25, 0.5]),
)
def test_jump_kernel_columns_plus_firing_sum_to_one(weight, kind, dv):
    dist = {
        "delta": DeltaJump(weight),
        "exponential": ExponentialJump(weight),
        "uniform": UniformJump(weight, abs(weight) / 2),
    }[kind]
    grid = Grid(-5.0, 10.0, dv)
    mat, fire = jump_matrix(grid, dist)
    assert mat.data.min() >= 0.0 and fire.min() >= 0.0
    np.testing.assert_allclose(np.asarray(mat.sum(axis=0)).ravel() + fire, 1.0, atol=1e-12)
    if weight < 0:
        assert fire.max() == 0.0
    # the mean displacement of mass away from the boundaries equals the mean jump
    mid = grid.n // 2
    col = mat[:, mid].toarray().ravel()
    if fire[mid] == 0 and col[0] == 0:
        shift = (grid.centers * col).sum() - grid.centers[mid]
        assert shift == pytest.approx(dist.mean, abs=1e-9)


def test_poisson_weights_sum_to_one():
    for mean in (0.0, 0.01, 1.0, 29.0, 30.0, 800.0):
        w = poisson_weights(mean, 1e-12)
        assert w.sum() == pytest.approx(1.0, abs=1e-15)
        assert w.min() >= 0


def test_constant_input_reaches_analytic_rate_with_refractoriness():
    pop = LIFPopulation("p", tau_m=20.0, v_th=20.0, v_reset=10.0, tau_ref=2.0, dv=0.05)
    net = PopulationNetwork(
        (pop,),
        (ExternalPopulation("in", ConstantRate(300.0)),),
        (Connection("in", "p", weight=2.0, distribution="exponential"),),
    )
    solver = DensitySolver(net, dt=0.1)
    rate = solver.run(300.0).rates[-500:, 0].mean()
    want = exponential_jump_rate(
        rate=0.3, mean_jump=2.0, tau_m=20.0, v_th=20.0, v_reset=10.0, tau_ref=2.0
    )
    assert rate == pytest.approx(want, rel=0.01)
    # the refractory line holds rate * tau_ref of the mass
    grid_mass = solver.p.sum()
    assert 1.0 - grid_mass == pytest.approx(rate * 1e-3 * 2.0, rel=1e-3)


def test_bad_parameters_raise_config_errors():
    with pytest.raises(ConfigError):
        LIFPopulation("p", v_th=10.0, v_reset=12.0)
    with pytest.raises(ConfigError):
        PopulationNetwork((LIFPopulation("p"),), (), (Connection("x", "p", weight=1.0),))
    with pytest.raises(ConfigError):
        DensitySolver(PopulationNetwork((LIFPopulation("p"),)), dt=0.0)
