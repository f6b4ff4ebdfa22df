"""Stationary solutions and analytic transitions of one region (THEORY §4-5)."""

from __future__ import annotations

import importlib.util
import json

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mrdmft.solvers import stationary as stationary_module
from mrdmft.solvers.stationary import (
    StationarySolution,
    pure_chaos_variance,
    reduced_energy,
    solve_stationary,
    stationary_regions,
    stationary_sweep,
    transition_values,
)
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.gaussian import gaussian_averages
from mrdmft.theory.modelfile import load_model
from mrdmft.theory.spec import symmetric_model
from mrdmft.theory.stationary_equations import (
    format_transition_formulas,
    stationary_equations,
    transition_formulas,
)

HAS_FIXED_POINTS = importlib.util.find_spec("mrdmft.solvers.fixed_points") is not None


@pytest.fixture(scope="module")
def eq():
    return stationary_equations("erf")


def _mp_function(expr, symbols):
    return sp.lambdify(symbols, expr, "mpmath")


# ------------------------------------------------------------------ symbolic derivation
def test_derived_potential_and_conditions(eq):
    av = gaussian_averages("erf")
    D, D0, Dinf, g, A, lam = eq.delta, eq.delta0, eq.delta_inf, eq.g, eq.A, eq.loop_strength
    c_equal = av.correlation.subs({av.delta11: D0, av.delta22: D0})
    assert sp.simplify(eq.force - (-D + g**2 * c_equal.subs(av.delta12, D) + A)) == 0
    assert sp.simplify(eq.static_variance - (Dinf - g**2 * c_equal.subs(av.delta12, Dinf))) == 0
    assert sp.simplify(eq.stability - (g**2 / sp.sqrt(1 + sp.pi * D0) - 1)) == 0
    assert eq.energy_condition.subs(Dinf, D0) == 0 or sp.simplify(eq.energy_condition.subs(Dinf, D0)) == 0
    assert sp.simplify(eq.pinned_variance - 2 * (lam**2 - 1) / sp.pi) == 0


def test_transition_formulas(eq):
    lam = eq.loop_strength
    formulas = transition_formulas("erf")
    assert set(formulas) == {"Delta0", "A_static", "g_chaos_onset", "g_currents_vanish"}
    assert sp.simplify(formulas["g_chaos_onset"] - (2 * lam**2 - 1) ** sp.Rational(1, 4)) == 0
    assert formulas["g_chaos_onset"].free_symbols == {lam}
    assert formulas["g_currents_vanish"].free_symbols == {lam}
    # At lambda = 1 nothing is pinned: both transitions sit at the SCS onset g = 1.
    assert sp.limit(formulas["g_chaos_onset"], lam, 1) == 1
    text = format_transition_formulas()
    assert "g_chaos_onset(lambda) = (2*lambda**2 - 1)**(1/4)" in text
    assert "\\lambda" in format_transition_formulas(latex=True)


# ------------------------------------------------------------------ reference values
def test_paper_stationary_checks(paper_cases):
    for case in paper_cases["stationary_checks"]:
        solution = solve_stationary(case["loop_strength"], case["g"])
        assert solution.success, solution.message
        assert solution.phase == case["phase"], case
        for key in ("Delta0", "Delta_inf", "A"):
            assert getattr(solution, key) == pytest.approx(case[key], abs=1e-8), (key, case)


def test_solution_satisfies_the_derived_conditions(eq):
    """V'(Delta_inf) = 0 and V(Delta0) = V(Delta_inf), evaluated with mpmath on the derived expressions."""
    force = _mp_function(eq.force, [eq.delta, eq.delta0, eq.g, eq.A])
    potential = _mp_function(eq.potential, [eq.delta, eq.delta0, eq.g, eq.A])
    for lam, g in [(2.5, 2.0), (1.5, 1.4), (3.0, 2.5), (1.2, 1.18), (0.0, 1.7), (2.0, 2.5)]:
        s = solve_stationary(lam, g)
        assert s.success and s.phase in ("chaos+currents", "chaos")
        with mp.workdps(30):
            args = (mp.mpf(s.Delta0), mp.mpf(g), mp.mpf(s.A))
            assert abs(force(mp.mpf(s.Delta_inf), *args)) < 1e-12
            assert abs(potential(mp.mpf(s.Delta0), *args) - potential(mp.mpf(s.Delta_inf), *args)) < 1e-12


def test_pure_chaos_variance():
    assert pure_chaos_variance(2.0) == pytest.approx(2.06408001875429, abs=1e-12)
    assert pure_chaos_variance(1.0) == 0.0
    assert pure_chaos_variance(0.3) == 0.0
    # Near the onset: V''(0) = g^2 - 1 is small; expand G(D0, 0, g) = 0 to first order in D0:
    # G = (g^2 - 1)/2 + g^2 D0 (d/dD0 of int (1-t) <phi'phi'>(D0, D0, t D0) dt at 0) = 0.
    av = gaussian_averages("erf")
    D0, t = sp.symbols("D0 t", positive=True)
    kernel = av.slope_correlation.subs({av.delta11: D0, av.delta22: D0, av.delta12: t * D0})
    slope = sp.integrate(sp.diff(kernel, D0).subs(D0, 0) * (1 - t), (t, 0, 1))
    epsilon = 1e-7
    g = 1 + epsilon
    predicted = float(-(g**2 - 1) / 2 / (g**2 * slope))
    assert pure_chaos_variance(g) == pytest.approx(predicted, rel=1e-5)


# ------------------------------------------------------------------ transition values
@pytest.mark.parametrize("lam", [1.0001, 1.5, 2.0, 2.5, 4.0])
def test_transition_values_are_roots_to_1e_12(eq, lam):
    """Independent mpmath root finding (40 digits) on the derived conditions."""
    g_onset, g_vanish = transition_values(lam)
    av = gaussian_averages("erf")
    slope_power = _mp_function(av.slope_power, [av.delta])
    energy = _mp_function(eq.energy_condition, [eq.delta0, eq.delta_inf, eq.g])
    pinned = _mp_function(eq.pinned_variance, [eq.loop_strength])
    with mp.workdps(40):
        d0 = pinned(mp.mpf(lam))
        onset = mp.findroot(lambda g: g**2 * slope_power(d0) - 1, mp.mpf(g_onset) * 1.01)
        # A -> 0 means Delta_inf -> 0: energy condition with Delta_inf = 0, scaled by 1/D0^2.
        vanish = mp.findroot(lambda g: energy(d0, mp.mpf(0), g) / d0**2, mp.mpf(g_vanish) * 1.01)
    assert abs(g_onset - float(onset)) <= 1e-12 * g_onset
    assert abs(g_vanish - float(vanish)) <= 1e-12 * g_vanish
    assert 1.0 < g_onset < g_vanish


def test_transition_values_without_pinning():
    for lam in (0.0, 0.5, 1.0):
        assert transition_values(lam) == (1.0, 1.0)


@pytest.mark.parametrize("lam", [1.3, 2.0, 2.5])
def test_phase_changes_exactly_at_the_transitions(lam):
    g_onset, g_vanish = transition_values(lam)
    delta = 1e-9
    below, above = solve_stationary(lam, g_onset * (1 - delta)), solve_stationary(lam, g_onset * (1 + delta))
    assert (below.phase, above.phase) == ("static", "chaos+currents")
    # Continuity at the onset: Delta_inf -> Delta0 and A continuous.
    assert above.Delta0 - above.Delta_inf < 1e-6
    assert above.A == pytest.approx(below.A, abs=1e-7)
    before, after = solve_stationary(lam, g_vanish * (1 - delta)), solve_stationary(lam, g_vanish * (1 + delta))
    assert (before.phase, after.phase) == ("chaos+currents", "chaos")
    assert 0 < before.A < 1e-6 and before.Delta_inf < 1e-4
    assert after.A == 0.0
    # At g_currents_vanish the SCS variance equals the pinned one.
    assert pure_chaos_variance(g_vanish) == pytest.approx(before.Delta0, rel=1e-10)
    assert after.Delta0 == pytest.approx(before.Delta0, rel=1e-6)


def test_A_vanishes_linearly_and_continuously():
    """A(g) -> 0 at g_currents_vanish, with a finite slope (no jump)."""
    lam = 2.0
    _, g_vanish = transition_values(lam)
    eps = np.array([1e-2, 1e-3, 1e-4])
    A = stationary_sweep(lam, g_vanish - eps).A
    slopes = A / eps
    assert np.all(A > 0)
    assert np.ptp(slopes[1:]) < 1e-2 * slopes[-1]


# ------------------------------------------------------------------ fast path vs derivation
@pytest.mark.parametrize(
    "delta0, fraction, g",
    [(0.8, 0.0, 1.5), (3.34, 0.999999, 2.0), (3.34, 0.5, 2.0), (20.0, 0.97, 4.0), (50.0, 0.1, 6.0), (1e-3, 0.0, 1.001)],
)
def test_reduced_energy_matches_derived_energy_condition(eq, delta0, fraction, g):
    energy = _mp_function(eq.energy_condition, [eq.delta0, eq.delta_inf, eq.g])
    x = delta0 * fraction
    with mp.workdps(50):
        span = mp.mpf(delta0) - mp.mpf(x)
        reference = float(energy(mp.mpf(delta0), mp.mpf(x), mp.mpf(g)) / span**2)
    assert reduced_energy(delta0, x, g) == pytest.approx(reference, abs=1e-12 * max(1.0, abs(reference)))


def test_reduced_energy_at_the_double_root_is_half_the_curvature(eq):
    stability = sp.lambdify([eq.delta0, eq.g], eq.stability)
    for d0, g in [(0.5, 1.2), (3.3, 2.0), (10.0, 3.0)]:
        assert reduced_energy(d0, d0, g) == pytest.approx(stability(d0, g) / 2, rel=1e-13, abs=1e-15)


def test_single_physical_root_on_the_bracket():
    """G(Delta0, x, g) changes sign exactly once on (0, Delta0) in the chaos+currents phase."""
    for lam, g in [(1.5, 1.42), (2.5, 2.0), (2.5, 2.35), (4.0, 3.0)]:
        d0 = solve_stationary(lam, g).Delta0
        x = np.linspace(0, d0, 2001)
        signs = np.sign(reduced_energy(d0, x, g))
        assert np.count_nonzero(np.diff(signs)) == 1


# ------------------------------------------------------------------ phases without pinning
def test_unpinned_phases():
    quiet = solve_stationary(0.0, 0.8)
    assert (quiet.phase, quiet.Delta0, quiet.A) == ("quiescent", 0.0, 0.0)
    assert solve_stationary(1.0, 1.0).phase == "quiescent"
    weak = solve_stationary(0.7, 2.0)
    assert weak.phase == "chaos" and weak.A == 0.0 and weak.Delta_inf == 0.0
    assert weak.Delta0 == pytest.approx(2.06408001875429, abs=1e-12)
    no_disorder = solve_stationary(2.0, 0.0)
    assert no_disorder.phase == "static" and no_disorder.A == pytest.approx(no_disorder.Delta0, abs=0)


# ------------------------------------------------------------------ property tests
@settings(max_examples=40)
@given(
    lam=st.floats(1.02, 5.0),
    g1=st.floats(0.0, 8.0),
    g2=st.floats(0.0, 8.0),
)
def test_A_decreasing_in_g_and_variances_ordered(lam, g1, g2):
    low, high = sorted((g1, g2))
    s_low, s_high = solve_stationary(lam, low), solve_stationary(lam, high)
    for s in (s_low, s_high):
        assert s.success, s.message
        assert 0.0 <= s.Delta_inf <= s.Delta0
        assert s.A >= 0.0
        assert np.isfinite([s.Delta0, s.Delta_inf, s.A]).all()
    assert s_high.A <= s_low.A + 1e-12
    assert s_high.Delta0 >= s_low.Delta0 - 1e-12  # the total variance never drops with g


@settings(max_examples=25)
@given(lam=st.floats(1.02, 6.0))
def test_phase_sequence_in_g(lam):
    g_onset, g_vanish = transition_values(lam)
    g = np.array([0.5 * g_onset, 0.5 * (g_onset + g_vanish), 1.5 * g_vanish])
    sweep = stationary_sweep(lam, g)
    assert list(sweep.phase) == ["static", "chaos+currents", "chaos"]
    assert sweep.success.all()


def test_sweep_matches_scalar_solves():
    lam = np.array([[0.0], [1.5], [2.5]])
    g = np.array([0.5, 1.45, 2.0, 3.0])
    sweep = stationary_sweep(lam, g)
    assert sweep.A.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            assert sweep.solution((i, j)) == solve_stationary(lam[i, 0], g[j])


# ------------------------------------------------------------------ input errors and failures
@pytest.mark.parametrize(
    "lam, g, field",
    [(2.0, -0.1, "g"), (2.0, float("nan"), "g"), (-1.0, 1.0, "loop_strength"), (float("inf"), 1.0, "loop_strength"), ("x", 1.0, "loop_strength")],
)
def test_bad_input(lam, g, field):
    with pytest.raises(ModelInputError) as info:
        solve_stationary(lam, g)
    assert info.value.field == field
    assert info.value.fix


def test_bad_input_other_entry_points():
    with pytest.raises(ModelInputError):
        pure_chaos_variance(-1.0)
    with pytest.raises(ModelInputError):
        transition_values(-2.0)
    with pytest.raises(ModelInputError):
        solve_stationary(2.0, 1.0, nonlinearity="tanh")
    spec = symmetric_model([2.0, 2.0], [2.5, 2.5], g=[1.0, 1.0])
    with pytest.raises(ModelInputError) as info:
        stationary_regions(spec, loop_strengths=[2.0])
    assert info.value.field == "loop_strengths"


def test_failure_is_reported_as_status(monkeypatch):
    """A reduced energy that never changes sign (or is NaN) gives success=False, not an exception."""
    monkeypatch.setattr(stationary_module, "reduced_energy", lambda d0, x, g, nl="erf": np.full(np.shape(x), np.nan))
    solution = solve_stationary(2.5, 2.0)
    assert isinstance(solution, StationarySolution)
    assert not solution.success and solution.status == 3 and "non-finite" in solution.message
    monkeypatch.setattr(stationary_module, "reduced_energy", lambda d0, x, g, nl="erf": np.ones(np.shape(x)) * -1.0)
    chaos = solve_stationary(0.0, 3.0)
    assert not chaos.success and chaos.status == 1 and np.isnan(chaos.Delta0)


# ------------------------------------------------------------------ per-region reports
def test_stationary_regions_with_given_loop_strengths(paper_cases):
    for name in ("fig3-1-disorder", "fig3-2-disorder", "fig3-3-disorder"):
        spec = load_model(name)
        case = next(c for c in paper_cases["symmetric_with_disorder"] if np.allclose(c["g"], spec.g))
        lam = np.maximum(case["a"], case["b"])
        report = stationary_regions(spec, loop_strengths=lam)
        payload = json.loads(report.to_json())
        assert set(payload["regions"]) == set(spec.regions)
        for k, region in enumerate(spec.regions):
            entry = payload["regions"][region]
            assert {"phase", "Delta0", "Delta_inf", "A", "g_chaos_onset", "g_currents_vanish"} <= set(entry)
            expected = solve_stationary(lam[k], spec.g[k])
            assert entry["phase"] == expected.phase and entry["A"] == expected.A
            assert (entry["g_chaos_onset"], entry["g_currents_vanish"]) == transition_values(lam[k])
        assert report.success and report.loop_source == "given"


@pytest.mark.skipif(not HAS_FIXED_POINTS, reason="mrdmft.solvers.fixed_points is not written yet")
def test_loop_strengths_from_fixed_points_are_max_a_b(paper_cases):
    case = paper_cases["symmetric_with_disorder"][0]
    spec = symmetric_model(case["a"], case["b"], g=case["g"])
    report = stationary_regions(spec)
    assert report.loop_source == "fixed_points"
    np.testing.assert_allclose(report.loop_strengths, np.maximum(case["a"], case["b"]), rtol=1e-8)


@pytest.mark.parametrize(
    ("loop", "g", "phase"),
    [(1.0, 0.5, "quiescent"), (1.0, 1.5, "chaos"), (1.01, 0.5, "static"), (1.0000001, 0.0, "static"),
     (1.0000005, 0.5, "static")],
)
def test_marginal_loop_is_not_mistaken_for_an_active_one(loop: float, g: float, phase: str) -> None:
    """At T = 1 exactly the g = 0 'fixed point' S ~ 4e-5 passes the residual test ((pi/4) S^3 < 1e-10)
    but is S = 0 within resolution: the region has no loop, not a static state with A ~ 1e-9. Just
    above threshold (lambda - 1 = 1e-7) the loop is active and A = (2/pi)(lambda^2 - 1) - g^2 asin(...)
    (stationary static phase) is resolved."""
    from mrdmft.solvers.stationary import stationary_regions
    from mrdmft.theory.spec import dense_model

    report = stationary_regions(dense_model(("A",), [[[loop]]], [g]))
    solution = report.solutions[0]
    assert solution.phase == phase
    if phase == "static":
        exact = 2.0 / np.pi * (loop**2 - 1.0 - g**2 * np.arcsin(1.0 - 1.0 / loop**2))  # THEORY §4, A_static
        assert solution.A == pytest.approx(exact, rel=1e-3)
    else:
        assert solution.A == 0.0


def test_driven_regions_have_no_transition_values() -> None:
    """A -> A loop (2.0) drives A -> B -> C: only A is pinned by a loop; B and C get NaN transitions
    (their 1 / psi is not a loop strength), A keeps (2 lambda^2 - 1)^(1/4)."""
    from mrdmft.solvers.stationary import regions_on_loops, stationary_regions
    from mrdmft.theory.modelfile import model_from_table

    spec = model_from_table({
        "name": "feed-forward", "regions": ["A", "B", "C"], "g": [0.0, 0.0, 0.0],
        "edges": ["A->A", "A->B", "B->C"], "T": [[2.0, 0.0, 0.0], [1.5, 0.0, 0.0], [0.0, 1.2, 0.0]],
    })
    assert regions_on_loops(spec).tolist() == [True, False, False]
    report = stationary_regions(spec)
    assert report.g_chaos_onset[0] == pytest.approx((2 * 2.0**2 - 1) ** 0.25, rel=1e-12)
    assert np.isnan(report.g_chaos_onset[1:]).all() and np.isnan(report.g_currents_vanish[1:]).all()
    assert regions_on_loops(load_model("fig3-1")).all() and regions_on_loops(load_model("two-regions")).all()
