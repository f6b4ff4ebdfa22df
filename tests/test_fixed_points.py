"""Fixed points of the g = 0 current dynamics: paper values, models outside the paper's regime."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrdmft.solvers.compiled import ModelArrays, compile_system
from mrdmft.solvers.currents import integrate_currents
from mrdmft.solvers.compiled import BoundSystem
from mrdmft.solvers.fixed_point_newton import STEP_DAMPING, levenberg_marquardt, newton_distance
from mrdmft.solvers.fixed_points import (
    classify,
    deduplicate,
    default_scale,
    find_fixed_points,
    random_starts,
    refine_fixed_point,
)
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import load_model
from mrdmft.theory.spec import Edge, ModelSpec, dense_model, random_model, symmetric_model

CASES = json.loads((Path(__file__).parent / "data" / "paper_cases.json").read_text())["symmetric_no_disorder"]


def reciprocal_model(c: list[list[float]], name: str = "reciprocal") -> ModelSpec:
    """T^{alpha beta gamma} = delta_{alpha gamma} c[alpha][beta] for a symmetric c (zeros allowed), U = I."""
    c = np.asarray(c, dtype=float)
    R = len(c)
    T3 = np.zeros((R, R, R))
    for alpha in range(R):
        T3[alpha, :, alpha] = c[alpha]
    return dense_model([str(i + 1) for i in range(R)], T3, np.zeros(R), name=name)


def edge_list_model() -> ModelSpec:
    """A general graph: rank-2 edge A->B, B->A, self-edge B->B, correlated input vectors (U != I)."""
    T = np.zeros((4, 4))
    entries = {(0, 2): 2.0, (1, 2): -1.0, (2, 0): 1.5, (2, 1): -0.8, (2, 3): 0.3, (3, 0): 0.4, (3, 1): 0.2, (3, 3): 0.9}
    for (e, f), value in entries.items():
        T[e, f] = value
    U = np.zeros((4, 4))
    U[2, 2] = 1.2
    into_B = [0, 1, 3]
    U[np.ix_(into_B, into_B)] = [[1.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.8]]
    edges = (Edge("A", "B", 2), Edge("B", "A"), Edge("B", "B"))
    return ModelSpec("edge-list", ("A", "B"), edges, T, U, np.zeros(2))


# --------------------------------------------------------------------------- paper cases
@pytest.mark.parametrize("index", [0, 1, 2], ids=["fig3-1", "fig3-2", "fig3-3"])
def test_paper_presets_stable_fixed_points(index: int) -> None:
    case = CASES[index]
    spec = load_model(f"fig3-{index + 1}")
    assert np.all(case["g"] == spec.g)
    np.testing.assert_allclose(spec.T, symmetric_model(case["a"], case["b"]).T, rtol=0, atol=1e-15)  # preset == case
    result = find_fixed_points(spec, n_starts=60, seed=1)
    assert result.success and result.status in (0, 1)
    stable = result.stable_points
    assert len(stable) >= 1
    psi = compile_system(spec).gain_inverse
    formula = psi(1.0 / np.maximum(case["a"], case["b"]))
    for point in stable:
        assert point.residual <= 1e-10
        np.testing.assert_allclose(point.variance, formula, rtol=0, atol=1e-9)
        np.testing.assert_allclose(point.variance, case["A_stable_fixed_points"], rtol=0, atol=1e-9)
    # S = 0 is always reported and is unstable here (leading eigenvalue of L > 1).
    zero = [p for p in result.fixed_points if np.all(p.currents == 0)]
    assert len(zero) == 1 and zero[0].classification == "unstable"
    # Unstable fixed points are found too, and their A differ from the stable value.
    unstable = [p for p in result.fixed_points if not p.stable and np.any(p.currents != 0)]
    assert unstable and max(np.abs(p.variance - formula).max() for p in unstable) > 1e-3


def test_symmetric_manifold_is_singular_but_converges() -> None:
    """fig3-1: gains pinned by cross loops -> continuous manifold, singular Jacobian, 'marginal' points."""
    result = find_fixed_points(load_model("fig3-1"), n_starts=40, seed=3)
    marginal = [p for p in result.fixed_points if p.classification == "marginal"]
    assert len(marginal) >= 2
    kernel = BoundSystem.from_spec(load_model("fig3-1"))
    for point in marginal:
        assert point.residual <= 1e-10
        singular_values = np.linalg.svd(kernel.jacobian(point.currents[None])[0], compute_uv=False)
        assert singular_values.min() < 1e-8
        assert abs(point.max_real_eigenvalue) <= result.eig_tol
    # distinct points of the manifold are kept, not merged
    currents = np.array([p.currents for p in marginal])
    assert np.abs(currents[0] - currents[1]).max() > 1e-3


# --------------------------------------------------------------------------- outside the paper's regime
OUTSIDE = {
    # one reciprocal pair with weak self-loops: the two regions share the pinning psi1 psi2 = 1/(b1 b2)
    "pair": symmetric_model([0.5, 0.3], [1.6, 3.0], name="pair"),
    # regions 2 and 3 each have a single reciprocal loop (with region 1)
    "single-loops": reciprocal_model([[0.3, 2.2, 1.8], [2.2, 0.2, 0.0], [1.8, 0.0, 0.4]]),
    # region 1's self-loop dominates its cross loops
    "self-loop": symmetric_model([3.0, 1.0, 1.2], [1.5, 2.2, 2.0], name="self-loop"),
    # mixed signs of u
    "signs": symmetric_model([1.8, 1.9, 2.0], [2.3, 2.5, 2.4], signs=[1, -1, 1], name="signs"),
    # asymmetric random T with a real leading eigenvalue > 1
    "random": random_model(2, 2.0, seed=3),
    # not the dense form: rank-2 edge, missing edges, U != identity
    "edge-list": edge_list_model(),
}


@pytest.mark.parametrize("name", list(OUTSIDE))
def test_stable_fixed_points_agree_with_long_integrations(name: str) -> None:
    spec = OUTSIDE[name]
    result = find_fixed_points(spec, n_starts=200, seed=0)
    assert result.success
    stable = result.stable_points
    assert stable
    A = np.array([p.variance for p in stable])
    S_abs = np.abs(np.array([p.currents for p in stable]))
    kernel = BoundSystem.from_spec(spec)
    rng = np.random.default_rng(11)
    for _ in range(3):
        trajectory = integrate_currents(spec, rng.normal(0.0, 1.5, spec.n_channels), t_max=400.0, n_points=2)
        assert trajectory.success
        end = trajectory.currents[-1]
        assert np.abs(kernel.rhs(end[None])).max() < 1e-8  # the run has settled on a fixed point
        assert np.abs(A - trajectory.variance[-1]).max(axis=1).min() < 1e-6
        # ... which the solver found (up to the sign symmetries of the loops)
        assert np.abs(S_abs - np.abs(end)).max(axis=1).min() < 1e-6


def test_pair_shares_pinning_and_breaks_paper_formula() -> None:
    """One reciprocal pair: psi1 psi2 = 1/(b1 b2) and A1 = A2 = psi^-1(1/sqrt(b1 b2)), not psi^-1(1/b)."""
    a, b = np.array([0.5, 0.3]), np.array([1.6, 3.0])
    result = find_fixed_points(OUTSIDE["pair"], n_starts=50)
    gain_inverse = compile_system(OUTSIDE["pair"]).gain_inverse
    expected = gain_inverse(1.0 / np.sqrt(b[0] * b[1]))
    assert len(result.stable_points) == 2  # S and -S
    for point in result.stable_points:
        np.testing.assert_allclose(point.variance, [expected, expected], rtol=0, atol=1e-10)
        assert np.abs(point.variance - gain_inverse(1.0 / np.maximum(a, b))).max() > 0.5


def test_no_nonzero_fixed_point_below_threshold() -> None:
    """Leading eigenvalue of L below 1 (random T, seed 4): only S = 0, and it is stable."""
    result = find_fixed_points(random_model(2, 2.0, seed=4), n_starts=50)
    assert len(result.fixed_points) == 1
    (zero,) = result.fixed_points
    assert np.all(zero.currents == 0) and zero.classification == "stable" and zero.stable


CRITICAL_LOOPS = {
    "single loop of strength 1": dense_model(["X"], [[[1.0]]], [0.0], name="loop-1"),
    "reciprocal pair at a b = 1": symmetric_model([0.5, 0.5], [1.0, 1.0], name="pair-1"),
}


@pytest.mark.parametrize("name", sorted(CRITICAL_LOOPS))
def test_degenerate_root_at_critical_loop_is_not_many_points(name: str) -> None:
    """At loop strength exactly 1 the only fixed point is S = 0, where dS/dt ~ -(pi/4) S^3.

    Slow starts meet |dS/dt| <= 1e-10 at |S| ~ 5e-5 (before the certification they were
    listed as ~64 distinct marginal points); they must be counted as converged but not
    listed. Just above the threshold (b = 1.001) the nonzero points are found again.
    """
    result = find_fixed_points(CRITICAL_LOOPS[name], n_starts=60)
    assert [p.currents.tolist() for p in result.fixed_points] == [[0.0] * CRITICAL_LOOPS[name].n_channels]
    assert result.success and result.status == 0 and result.n_converged == 60
    assert "degenerate root" in result.message and re.search(r"\d+ distinct end points? of converged starts not listed", result.message)
    above = find_fixed_points(dense_model(["X"], [[[1.001]]], [0.0], name="loop-1.001"), n_starts=60)
    assert len(above.fixed_points) == 3 and "degenerate" not in above.message


def test_refine_fixed_point_near_degenerate_root_does_not_settle() -> None:
    refined = refine_fixed_point(CRITICAL_LOOPS["single loop of strength 1"], [0.3])
    assert not refined.success and refined.fixed_point is None and "did not settle on a root" in refined.message
    assert refined.residual <= 1e-10


@settings(max_examples=30, deadline=None)
@given(
    c=st.floats(0.1, 10.0),
    S=st.floats(1e-5, 1e-2),
    log_sigma=st.floats(-16.0, 0.0),
    F_scale=st.floats(1e-14, 1e-10),
    seed=st.integers(0, 1000),
)
def test_newton_distance_is_the_distance_to_the_root(c: float, S: float, log_sigma: float, F_scale: float, seed: int) -> None:
    """Cubic root (F = -c S^3, distance S, Newton step S / 3) and a manifold point (F along the
    range of a rank-deficient J: the null direction contributes nothing, regular directions
    give F / sigma, and a nearly singular direction that F does not touch adds nothing)."""
    cubic = newton_distance(np.array([[-c * S**3]]), np.array([[[-3.0 * c * S**2]]]))
    sigma, mu = 3.0 * c * S**2, STEP_DAMPING**2
    np.testing.assert_allclose(cubic, [sigma * c * S**3 / (sigma**2 + mu)], rtol=1e-8)
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    sigma = np.array([1.0, 0.5, 10.0**log_sigma, 0.0])
    J = Q @ np.diag(sigma) @ Q.T
    F = F_scale * Q[:, 0] + 1e-17 * Q[:, 3]  # rounding noise along the null direction
    (distance,) = newton_distance(F[None, :], J[None])
    # rounding-level singular values (~1e-16) amplify the 1e-17 noise at most ~1e4-fold:
    # far below the duplicate tolerance (1e-6 scale) the step is compared with
    np.testing.assert_allclose(distance, np.abs(F_scale * Q[:, 0]).max(), rtol=1e-6, atol=1e-11)


# --------------------------------------------------------------------------- result object
def test_result_order_json_and_determinism() -> None:
    spec = OUTSIDE["self-loop"]
    result = find_fixed_points(spec, n_starts=40, seed=5)
    flags = [p.stable for p in result.fixed_points]
    assert flags == sorted(flags, reverse=True)
    for group in (True, False):
        values = [p.max_real_eigenvalue for p in result.fixed_points if p.stable is group]
        assert values == sorted(values)
    payload = result.to_json()
    json.dumps(payload)
    assert payload["model"] == spec.name
    first = payload["fixed_points"][0]
    assert set(first) >= {"currents", "A", "gain", "stable", "max_real_eigenvalue"}
    assert list(first["currents"]) == spec.channel_names and list(first["A"]) == list(spec.regions)
    np.testing.assert_allclose(list(first["A"].values()), result.fixed_points[0].variance)
    np.testing.assert_allclose(list(first["gain"].values()), (1 + np.pi * result.fixed_points[0].variance / 2) ** -0.5)
    again = find_fixed_points(spec, n_starts=40, seed=5)
    assert len(again.fixed_points) == len(result.fixed_points)
    np.testing.assert_array_equal(again.fixed_points[0].currents, result.fixed_points[0].currents)
    for point in result.fixed_points:
        assert point.residual <= result.residual_tol
        assert point.stable == (point.max_real_eigenvalue <= result.eig_tol)


def test_classification_tolerance() -> None:
    assert classify(np.array([-1.0, -1e-6 + 2j]), 1e-7) == "stable"
    assert classify(np.array([-1.0, 5e-8]), 1e-7) == "marginal"
    assert classify(np.array([-1.0, -5e-8]), 1e-7) == "marginal"
    assert classify(np.array([-1.0, 2e-7 + 1j]), 1e-7) == "unstable"


def test_deduplicate_keeps_distinct_points() -> None:
    points = np.array([[0.0, 1.0], [1e-9, 1.0], [0.0, 1.0 + 1e-4], [5.0, 5.0], [5.0, 5.0 - 1e-8]])
    np.testing.assert_array_equal(deduplicate(points, 1e-6), [0, 2, 3])


def greedy_deduplicate(points: np.ndarray, tol: float) -> list[int]:
    """The definition: keep a point unless it is within tol (max norm) of an earlier kept point."""
    kept: list[int] = []
    for i, point in enumerate(points):
        if all(np.abs(point - points[j]).max() > tol for j in kept):
            kept.append(i)
    return kept


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 30),
    C=st.integers(1, 5),
    n_centres=st.integers(1, 5),
    log_noise=st.floats(-9.0, -4.0),
    log_tol=st.floats(-8.0, -5.0),
    seed=st.integers(0, 2**31),
)
def test_deduplicate_equals_greedy_definition(n: int, C: int, n_centres: int, log_noise: float, log_tol: float, seed: int) -> None:
    """Clusters of near-identical points (sizes around tol): the fast windowed version matches the definition."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_centres, C))
    points = centres[rng.integers(0, n_centres, n)] + rng.normal(size=(n, C)) * 10.0**log_noise
    tol = 10.0**log_tol
    np.testing.assert_array_equal(deduplicate(points, tol), greedy_deduplicate(points, tol))


# --------------------------------------------------------------------------- the LM kernel
def test_levenberg_marquardt_converges_on_a_singular_manifold() -> None:
    """F = (|s|^2 - 1, 2 (|s|^2 - 1)) has rank-1 Jacobian everywhere; roots form the unit circle."""

    def F(s: np.ndarray) -> np.ndarray:
        r = np.sum(s * s, axis=1) - 1.0
        return np.stack([r, 2 * r], axis=1)

    def J(s: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.stack([2 * s, 4 * s], axis=1)

    starts = np.random.default_rng(0).normal(size=(50, 2)) * 3
    batch = levenberg_marquardt(F, J, starts, residual_tol=1e-12)
    assert batch.converged.all()
    np.testing.assert_allclose(np.linalg.norm(batch.currents, axis=1), 1.0, atol=1e-12)


def test_levenberg_marquardt_reports_failure_without_raising() -> None:
    """F = s^2 + 1 has no real root: every row reports converged = False."""
    batch = levenberg_marquardt(lambda s: s * s + 1.0, lambda s, out: 2 * s[:, :, None], np.array([[0.5], [-2.0]]), 1e-10)
    assert not batch.converged.any()
    assert np.all(batch.residual >= 1.0)


@settings(max_examples=30, deadline=None)
@given(
    c=st.lists(st.floats(0.1, 10.0), min_size=1, max_size=6),
    signs=st.lists(st.sampled_from([-1.0, 1.0]), min_size=6, max_size=6),
    seed=st.integers(0, 2**31),
)
def test_levenberg_marquardt_finds_cube_roots(c: list[float], signs: list[float], seed: int) -> None:
    """F(s) = s^3 - c (componentwise, simple roots): starts converge to cbrt(c), also across s = 0 where J = 0.

    ``s = 0`` is a stationary point of ``|F|^2`` (gradient ``3 s^2 F`` = 0), where any
    descent method may stop (hypothesis found c = -1.154..., start 0.024 stopping at
    s = 2.9e-7): such a row must be reported as not converged, at a vanishing gradient,
    and most rows must converge.
    """
    target = np.array(c) * signs[: len(c)]
    starts = np.random.default_rng(seed).normal(0.0, 3.0, size=(20, target.size))

    def J(s: np.ndarray, out: np.ndarray) -> np.ndarray:
        out[...] = 0.0
        out[:, np.arange(s.shape[1]), np.arange(s.shape[1])] = 3 * s * s
        return out

    batch = levenberg_marquardt(lambda s: s**3 - target, J, starts, residual_tol=1e-12)
    ok = batch.converged
    assert ok.sum() >= 18
    np.testing.assert_allclose(np.abs(batch.currents**3 - target).max(axis=1), batch.residual, rtol=0, atol=0)
    assert np.all(batch.residual[ok] <= 1e-12) and np.all(batch.residual[~ok] > 1e-12)
    np.testing.assert_allclose(batch.currents[ok], np.broadcast_to(np.cbrt(target), starts.shape)[ok], rtol=0, atol=1e-10)
    stuck = batch.currents[~ok]
    assert np.all(np.abs(3 * stuck**2 * (stuck**3 - target)).max(axis=1) <= 1e-9)


def test_reported_residuals_are_those_of_the_derived_equations() -> None:
    """The kernel's residuals equal max |dS/dt| from the lambdified derivation (reference path)."""
    spec = edge_list_model()
    kernel = BoundSystem.from_spec(spec)
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    starts = random_starts(spec, 40, default_scale(kernel), np.random.default_rng(2))
    batch = levenberg_marquardt(kernel.rhs, kernel.jacobian, starts, residual_tol=1e-10)
    assert batch.converged.sum() >= 30
    reference = np.abs(compiled.full_rhs(batch.currents, arrays)).max(axis=1)
    np.testing.assert_allclose(batch.residual, reference, rtol=0, atol=1e-14)


@pytest.mark.parametrize("name", ["edge-list", "random"])
def test_jacobian_into_buffer_equals_derivation(name: str) -> None:
    """BoundSystem.jacobian(S, out) fills a dirty buffer with the derived Jacobian and returns it."""
    spec = OUTSIDE[name]
    kernel = BoundSystem.from_spec(spec)
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    S = np.random.default_rng(0).normal(0.0, 1.5, size=(7, spec.n_channels))
    buffer = np.full((7, spec.n_channels, spec.n_channels), np.nan)
    J = kernel.jacobian(S, buffer)
    assert J is buffer
    np.testing.assert_allclose(J, compiled.full_jacobian(S, arrays), rtol=0, atol=1e-12)
    np.testing.assert_allclose(kernel.jacobian(S[3]), J[3], rtol=0, atol=1e-14)  # unbatched input


# --------------------------------------------------------------------------- refine_fixed_point
def test_refine_fixed_point_lands_on_the_analytic_pair_point() -> None:
    """Perturbed stable point of one reciprocal pair -> A1 = A2 = psi^-1(1/sqrt(b1 b2)), classified as in the search."""
    spec = OUTSIDE["pair"]
    expected = compile_system(spec).gain_inverse(1.0 / np.sqrt(1.6 * 3.0))
    found = find_fixed_points(spec, n_starts=50).stable_points[0]
    start = 1.05 * found.currents + 0.01
    refined = refine_fixed_point(spec, start)
    assert refined.success and refined.status == 0 and "converged" in refined.message
    point = refined.fixed_point
    assert point is not None and point.classification == found.classification == "stable" and point.stable
    np.testing.assert_allclose(point.variance, [expected, expected], rtol=0, atol=1e-10)
    np.testing.assert_allclose(point.currents, found.currents, rtol=0, atol=1e-9)
    np.testing.assert_allclose(point.eigenvalues, found.eigenvalues, rtol=0, atol=1e-8)
    assert point.residual == refined.residual <= 1e-10
    np.testing.assert_array_equal(refined.currents, point.currents)
    named = refine_fixed_point(spec, dict(zip(spec.channel_names, start)))
    np.testing.assert_array_equal(named.currents, refined.currents)


def test_refine_fixed_point_stays_next_to_its_start_on_the_manifold() -> None:
    """fig3-1: from 1e-3 off a manifold point, the refined point is a nearby marginal point with the paper's A."""
    spec = load_model("fig3-1")
    case = CASES[0]
    formula = compile_system(spec).gain_inverse(1.0 / np.maximum(case["a"], case["b"]))
    marginal = [p for p in find_fixed_points(spec, n_starts=40, seed=3).fixed_points if p.classification == "marginal"]
    rng = np.random.default_rng(5)
    for point in marginal[:3]:
        start = point.currents + 1e-3 * rng.uniform(-1.0, 1.0, size=point.currents.shape)
        refined = refine_fixed_point(spec, start)
        assert refined.success and refined.fixed_point.classification == "marginal"
        assert np.abs(refined.currents - start).max() < 3e-3
        np.testing.assert_allclose(refined.fixed_point.variance, formula, rtol=0, atol=1e-9)


def test_refine_fixed_point_reports_failure() -> None:
    """fig6-r5, a start in the basin of a local minimum of |dS/dt| (~0.037): success False, no fixed point."""
    spec = load_model("fig6-r5")
    start = random_starts(spec, 40, default_scale(BoundSystem.from_spec(spec)), np.random.default_rng(0))[19]
    refined = refine_fixed_point(spec, start)
    assert not refined.success and refined.status == 1 and refined.fixed_point is None
    assert refined.residual > 1e-3 and "did not converge" in refined.message
    assert refined.currents.shape == (spec.n_channels,)


@pytest.mark.parametrize(
    "start, kwargs, field",
    [
        ([1.0, 2.0], {}, "start"),
        ([np.nan, 0.0, 0.0, 0.0], {}, "start"),
        ({"9->9": 1.0}, {}, "start"),
        ([1.0, 0.0, 0.0, 1.0], {"residual_tol": 0.0}, "residual_tol"),
        ([1.0, 0.0, 0.0, 1.0], {"eig_tol": -1.0}, "eig_tol"),
    ],
)
def test_refine_fixed_point_bad_input(start: object, kwargs: dict, field: str) -> None:
    with pytest.raises(ModelInputError) as info:
        refine_fixed_point(OUTSIDE["pair"], start, **kwargs)
    assert info.value.field == field


def test_refine_fixed_point_refuses_disorder() -> None:
    spec = load_model("fig3-1-disorder")
    with pytest.raises(ModelInputError) as info:
        refine_fixed_point(spec, np.zeros(spec.n_channels))
    assert info.value.field == "g"


# --------------------------------------------------------------------------- bad input
def test_disorder_is_refused() -> None:
    spec = load_model("fig3-1-disorder")
    with pytest.raises(ModelInputError) as info:
        find_fixed_points(spec)
    assert info.value.field == "g"
    assert "two-time" in info.value.problem and "mrdmft dmft" in info.value.fix


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"n_starts": 0}, "n_starts"),
        ({"n_starts": 2.5}, "n_starts"),
        ({"residual_tol": -1.0}, "residual_tol"),
        ({"eig_tol": float("nan")}, "eig_tol"),
        ({"scale": 0.0}, "scale"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments(kwargs: dict, field: str) -> None:
    with pytest.raises(ModelInputError) as info:
        find_fixed_points(OUTSIDE["pair"], **kwargs)
    assert info.value.field == field


def test_huge_loop_uses_a_roundoff_aware_tolerance() -> None:
    """T = 1e6: the fixed points have |S| ~ 8e5, where |dS/dt| <= 1e-10 is below round-off.

    The solver raises the tolerance to the round-off level (and says so) and finds the two
    stable points with A = psi^-1(1e-6) = (2e12 - 2) / pi.
    """
    from mrdmft.theory.spec import dense_model

    result = find_fixed_points(dense_model(("A",), [[[1e6]]], [0.0]))
    stable = result.stable_points
    assert len(stable) == 2 and result.success
    for point in stable:
        assert float(np.asarray(point.variance)[0]) == pytest.approx((2e12 - 2) / np.pi, rel=1e-9)
    assert result.residual_tol > 1e-10 and "below the round-off" in result.message
    # ordinary models keep the requested tolerance
    assert find_fixed_points(load_model("two-regions")).residual_tol == 1e-10
