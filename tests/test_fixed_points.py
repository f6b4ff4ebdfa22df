"""Fixed points of the g = 0 current dynamics: paper values, models outside the paper's regime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mrdmft.solvers.compiled import compile_system
from mrdmft.solvers.currents import integrate_currents
from mrdmft.solvers.compiled import BoundSystem
from mrdmft.solvers.fixed_point_newton import levenberg_marquardt
from mrdmft.solvers.fixed_points import classify, deduplicate, find_fixed_points
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


# --------------------------------------------------------------------------- the LM kernel
def test_levenberg_marquardt_converges_on_a_singular_manifold() -> None:
    """F = (|s|^2 - 1, 2 (|s|^2 - 1)) has rank-1 Jacobian everywhere; roots form the unit circle."""

    def F(s: np.ndarray) -> np.ndarray:
        r = np.sum(s * s, axis=1) - 1.0
        return np.stack([r, 2 * r], axis=1)

    def J(s: np.ndarray) -> np.ndarray:
        return np.stack([2 * s, 4 * s], axis=1)

    starts = np.random.default_rng(0).normal(size=(50, 2)) * 3
    batch = levenberg_marquardt(F, J, starts, residual_tol=1e-12)
    assert batch.converged.all()
    np.testing.assert_allclose(np.linalg.norm(batch.currents, axis=1), 1.0, atol=1e-12)


def test_levenberg_marquardt_reports_failure_without_raising() -> None:
    """F = s^2 + 1 has no real root: every row reports converged = False."""
    batch = levenberg_marquardt(lambda s: s * s + 1.0, lambda s: 2 * s[:, :, None], np.array([[0.5], [-2.0]]), 1e-10)
    assert not batch.converged.any()
    assert np.all(batch.residual >= 1.0)


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
