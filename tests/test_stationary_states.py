"""Self-consistent stationary states of whole models (solvers/stationary_states.py).

Checked against: the per-region theory in the paper's regime (where it applies), the
g = 0 fixed points, the closed forms of the static phase, finite differences of the
stacked system, the zero-state operator of THEORY §7, and, outside the paper's regime,
long runs of the two-time DMFT (an independent solver of the same mean-field theory).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrdmft.solvers.compiled import BoundSystem, ModelArrays, compile_system
from mrdmft.solvers.dmft import solve_dmft
from mrdmft.solvers.fixed_points import find_fixed_points
from mrdmft.solvers.stationary import pure_chaos_variance, stationary_regions
from mrdmft.solvers.stationary_states import RegionVarianceLaw, _SelfConsistency, find_stationary_states
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import load_model


def _law_and_kernel(g, model: str = "single-loop"):
    spec = load_model(model)
    return RegionVarianceLaw.for_disorder(np.atleast_1d(np.asarray(g, dtype=float))), BoundSystem.from_spec(spec)


# ---------------------------------------------------------------------- the per-region law a_g(Delta0)
def test_static_phase_law_is_the_closed_form() -> None:
    """Static phase: a = Delta0 - g^2 C(Delta0, Delta0, Delta0), C = (2/pi) arcsin(Delta0 / (Delta0 + 2/pi))."""
    g = 0.8
    law, kernel = _law_and_kernel(g)
    delta0 = np.linspace(0.05, 6.0, 40)[:, None]
    closed = delta0 - g**2 * (2 / np.pi) * np.arcsin(delta0 / (delta0 + 2 / np.pi))
    a, delta_inf, phase = law.sweep(delta0, kernel)
    np.testing.assert_allclose(a, closed, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(delta_inf, delta0)
    assert set(phase.ravel()) == {"static"}
    # slope: d/dDelta0 of the closed form, 1 - g^2 (2/pi) (2/pi) / ((D + 2/pi) sqrt((D + 2/pi)^2 - D^2))
    D = delta0
    exact = 1 - g**2 * (2 / np.pi) * (2 / np.pi) / ((D + 2 / np.pi) * np.sqrt((D + 2 / np.pi) ** 2 - D**2))
    np.testing.assert_allclose(law.slope(delta0, kernel), exact, rtol=1e-7)


@settings(max_examples=25)
@given(g=st.floats(0.0, 3.0))
def test_law_is_continuous_and_increasing(g: float) -> None:
    """a_g rises through 0 at the pure-chaos variance (continuation below it) and keeps rising."""
    law, kernel = _law_and_kernel(g)
    scs = float(law.scs_variance[0])
    assert scs == pytest.approx(pure_chaos_variance(g), rel=1e-12, abs=1e-12)
    grid = scs + np.linspace(-0.5, 6.0, 300)
    a = law.value(grid[:, None], kernel)[:, 0]
    assert np.all(np.diff(a) > 0)
    at = law.value(np.array([[scs + 1e-7]]), kernel)[0, 0]
    assert abs(at) < 1e-5


def test_chaos_with_currents_law_matches_per_region_solution() -> None:
    """For Delta0 pinned by a loop of strength 2.5 and g = 2, a_g(Delta0) is the per-region A (chaos+currents)."""
    from mrdmft.solvers.stationary import solve_stationary

    solution = solve_stationary(2.5, 2.0)
    law, kernel = _law_and_kernel(2.0)
    a, delta_inf, phase = law.sweep(np.array([[solution.Delta0]]), kernel)
    assert phase[0, 0] == "chaos+currents" == solution.phase
    assert a[0, 0] == pytest.approx(solution.A, rel=1e-12)
    assert delta_inf[0, 0] == pytest.approx(solution.Delta_inf, rel=1e-12)


# ---------------------------------------------------------------------- the stacked system
def test_jacobian_equals_finite_differences() -> None:
    spec = load_model("two-regions").with_values(g=np.array([0.5, 2.0]))
    law = RegionVarianceLaw.for_disorder(np.asarray(spec.g))
    system = _SelfConsistency(kernel=BoundSystem.from_spec(spec), law=law)
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(size=4), law.scs_variance + [1.0, 1.5]])[None, :]
    J = system.jacobian(x)[0]
    h = 1e-6
    for k in range(x.shape[1]):
        step = np.zeros_like(x)
        step[0, k] = h
        numeric = (system.residual(x + step) - system.residual(x - step))[0] / (2 * h)
        np.testing.assert_allclose(J[:, k], numeric, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- agreement with the other solvers
@pytest.mark.parametrize("name", ["fig3-1-disorder", "fig3-2-disorder", "fig3-3-disorder", "single-loop"])
def test_paper_regime_equals_the_per_region_theory(name: str) -> None:
    spec = load_model(name)
    per_region = stationary_regions(spec)
    assert per_region.loop_source == "fixed_points" and per_region.success
    found = find_stationary_states(spec)
    assert found.success and found.stable_states
    for state in found.stable_states:
        np.testing.assert_allclose(state.A, per_region.A, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(state.Delta0, [s.Delta0 for s in per_region.solutions], rtol=1e-8)
        np.testing.assert_allclose(state.Delta_inf, [s.Delta_inf for s in per_region.solutions], rtol=1e-7, atol=1e-9)
        assert state.phase == tuple(s.phase for s in per_region.solutions)
        assert state.residual <= 1e-10


def test_without_disorder_the_states_are_the_fixed_points() -> None:
    spec = load_model("fig6-r3")
    found = find_stationary_states(spec)
    fixed = find_fixed_points(spec)
    stable_A = {tuple(np.round(p.variance, 8)) for p in fixed.stable_points}
    assert {tuple(np.round(s.A, 8)) for s in found.stable_states} == stable_A
    kernel = BoundSystem.from_spec(spec)
    for state in found.states:  # adiabatic Jacobian = exact fixed-point Jacobian at g = 0
        exact = np.sort_complex(np.linalg.eigvals(kernel.jacobian(state.currents)))
        np.testing.assert_allclose(np.sort_complex(state.eigenvalues), exact, atol=1e-8)
        np.testing.assert_allclose(state.Delta0, state.A, atol=1e-12)


def test_zero_state_uses_the_pure_chaos_gains() -> None:
    """S = 0 with every region in pure chaos: eigenvalues = eig(Psi L) - 1 with psi = psi(Delta0_SCS(g)) (THEORY §7)."""
    spec = load_model("fig6-r3").with_values(g=np.array([1.5, 2.0, 2.5]))
    found = find_stationary_states(spec)
    zero = [s for s in found.states if np.all(s.A == 0)]
    assert len(zero) == 1
    state = zero[0]
    scs = np.array([pure_chaos_variance(g) for g in spec.g])
    np.testing.assert_allclose(state.Delta0, scs, rtol=1e-12)
    assert state.phase == ("chaos", "chaos", "chaos")
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    operator = compiled.operator(compiled.gain(scs), arrays)
    expected = np.sort_complex(np.linalg.eigvals(operator) - 1.0)
    np.testing.assert_allclose(np.sort_complex(state.eigenvalues), expected, atol=1e-10)


@pytest.mark.parametrize(
    "g", [[0.6, 1.6], [0.5, 2.0]], ids=["static-static", "static-chaos+currents"]
)
def test_outside_the_paper_regime_equals_a_long_dmft_run(g) -> None:
    """Reciprocal pair with unequal g: only the product of the gains is pinned, so no per-region answer exists.
    The stable self-consistent state equals the end of a long two-time DMFT run: A and Delta(t, t) to 1e-6,
    Delta(t, t - 60) to the long-lag variance Delta_inf within 2e-5 (measured: 3.647059 vs 3.647055 at t = 400;
    at t = 200 the tail still carries the transient, 1.5e-4)."""
    spec = load_model("two-regions").with_values(g=np.array(g))
    found = find_stationary_states(spec)
    assert found.success
    state = found.stable_states[0]
    dmft = solve_dmft(spec, t_max=400.0, dt=0.1, window=601)
    A = BoundSystem.from_spec(spec).variance(dmft.currents[-1])
    np.testing.assert_allclose(state.A, A, rtol=1e-6)
    np.testing.assert_allclose(state.Delta0, dmft.delta[:, -1, 0], rtol=1e-6)
    np.testing.assert_allclose(state.Delta_inf, dmft.delta[:, -1, 600], atol=2e-5)
    assert state.A[0] != pytest.approx(state.A[1], rel=1e-3)  # not the symmetric answer


def test_no_stable_state_is_a_status() -> None:
    """fig6-r5 (limit cycle at g = 0) has no stable stationary state: status 1, not an exception."""
    found = find_stationary_states(load_model("fig6-r5"))
    assert not found.success and found.status == 1 and "none is stable" in found.message
    assert found.states  # the unstable ones are still listed


def test_bad_input() -> None:
    for bad in (0, -3, 2.5, True, "4"):
        with pytest.raises(ModelInputError, match="n_starts"):
            find_stationary_states(load_model("single-loop"), n_starts=bad)
    with pytest.raises(ModelInputError, match="ModelSpec"):
        find_stationary_states("single-loop")


def test_small_adiabatic_margin_is_flagged() -> None:
    """fig6-r3 with g = [0, 1.45, 0]: adiabatically stable by only 0.016 while the two-time DMFT
    oscillates; the report must say the margin is too small to trust."""
    from mrdmft.solvers.stationary import ADIABATIC_MARGIN, stationary_regions

    report = stationary_regions(load_model("fig6-r3").with_values(g=np.array([0.0, 1.45, 0.0])))
    assert report.loop_source == "self-consistent" and report.consistency is not None
    margin = float(report.consistency.detail.split("max Re lambda = ")[1].split(")")[0])
    assert -ADIABATIC_MARGIN < margin < 0 and "check with `mrdmft dmft`" in report.consistency.detail
