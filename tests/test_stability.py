"""Zero-state stability (eigenvalues of Psi L) and Jacobian spectra at fixed points."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from mrdmft.solvers.compiled import ModelArrays, compile_system
from mrdmft.solvers.compiled import gain_functions
from mrdmft.solvers.fixed_points import find_fixed_points
from mrdmft.solvers.stability import (
    chaos_onset,
    fixed_point_stability,
    sorted_eigenvalues,
    zero_state_stability,
)
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import load_model
from mrdmft.theory.spec import ModelSpec, random_model, symmetric_model

DATA = json.loads((Path(__file__).parent / "data" / "paper_cases.json").read_text())


def operator_L(spec: ModelSpec) -> np.ndarray:
    """L[(alpha, beta), (beta, gamma)] = T^{alpha beta gamma}, built by hand from the dense T."""
    T3 = spec.dense_T()
    R = spec.n_regions
    L = np.zeros((R * R, R * R))
    for alpha in range(R):
        for beta in range(R):
            for gamma in range(R):
                L[alpha * R + beta, beta * R + gamma] = T3[alpha, beta, gamma]
    return L


RANDOM = [(R, radius, seed) for R in (2, 3, 4) for radius in (1.0, 2.0) for seed in range(4)]


def test_zero_state_threshold_on_random_T() -> None:
    outcomes = []
    for R, radius, seed in RANDOM:
        spec = random_model(R, radius, seed)
        result = zero_state_stability(spec)
        leading_L = np.linalg.eigvals(operator_L(spec)).real.max()
        assert result.zero_state_stable == (not leading_L > 1.0)
        np.testing.assert_allclose(result.leading_eigenvalue.real, leading_L, rtol=0, atol=1e-12)
        np.testing.assert_allclose(result.gain, 1.0)
        outcomes.append(result.zero_state_stable)
    assert any(outcomes) and not all(outcomes)  # both sides of the threshold are exercised


@pytest.mark.parametrize("R, seed", [(2, 0), (3, 1), (4, 2)])
def test_operator_is_finite_difference_jacobian_at_zero(R: int, seed: int) -> None:
    spec = random_model(R, 2.0, seed)
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    h = 1e-6
    C = spec.n_channels
    fd = np.stack(
        [(compiled.full_rhs(h * e, arrays) - compiled.full_rhs(-h * e, arrays)) / (2 * h) for e in np.eye(C)], axis=-1
    )
    operator = compiled.operator(np.ones(R), arrays)
    np.testing.assert_allclose(fd + np.eye(C), operator, rtol=0, atol=1e-9)
    np.testing.assert_allclose(operator, operator_L(spec), rtol=0, atol=0)
    np.testing.assert_allclose(
        fixed_point_stability(spec, np.zeros(C)), sorted_eigenvalues(operator) - 1.0, rtol=0, atol=1e-12
    )


def test_quiescent_regions_have_unit_gain() -> None:
    """0 < g <= g_c = 1 (erf): the region is quiescent, psi = 1 (no stationary solver needed)."""
    assert chaos_onset("erf") == pytest.approx(1.0, abs=1e-15)
    spec = random_model(3, 2.0, 5, g=[0.0, 0.5, 1.0])
    result = zero_state_stability(spec)
    np.testing.assert_array_equal(result.gain, 1.0)
    np.testing.assert_allclose(result.eigenvalues, sorted_eigenvalues(operator_L(spec)), atol=1e-12)


def test_chaotic_region_gain_from_pure_chaos_variance() -> None:
    """g > 1: psi = psi(Delta0_SCS(g)); needs mrdmft.solvers.stationary.pure_chaos_variance."""
    try:
        stationary = importlib.import_module("mrdmft.solvers.stationary")
    except ImportError:
        pytest.skip("mrdmft.solvers.stationary not available yet")
    if not hasattr(stationary, "pure_chaos_variance"):
        pytest.skip("pure_chaos_variance not available yet")
    case = next(c for c in DATA["stationary_checks"] if c["phase"] == "chaos")  # g = 2, no loop
    spec = random_model(2, 2.0, 1, g=[case["g"], 0.0])
    result = zero_state_stability(spec)
    expected_gain = (1 + np.pi * case["Delta0"] / 2) ** -0.5
    np.testing.assert_allclose(result.gain, [expected_gain, 1.0], rtol=1e-8)
    psi = np.array([expected_gain, 1.0])[spec.channel_source]
    np.testing.assert_allclose(
        result.eigenvalues, sorted_eigenvalues(psi[:, None] * operator_L(spec)), rtol=0, atol=1e-7
    )


def test_to_json_and_ordering() -> None:
    result = zero_state_stability(load_model("fig6-r3"))
    payload = result.to_json()
    json.dumps(payload)
    assert set(payload) == {"gain", "operator_eigenvalues", "leading_eigenvalue", "zero_state_stable"}
    assert list(payload["gain"]) == ["1", "2", "3"]
    real = [re for re, _ in payload["operator_eigenvalues"]]
    assert real == sorted(real, reverse=True)
    assert payload["leading_eigenvalue"] == payload["operator_eigenvalues"][0]
    assert payload["zero_state_stable"] is (payload["leading_eigenvalue"][0] <= 1.0)


def test_fixed_point_stability_matches_solver() -> None:
    spec = symmetric_model([3.0, 1.0, 1.2], [1.5, 2.2, 2.0])
    result = find_fixed_points(spec, n_starts=30)
    for point in result.fixed_points[:4]:
        eig = fixed_point_stability(spec, point.currents)
        np.testing.assert_allclose(eig, point.eigenvalues, rtol=0, atol=1e-10)
    named = dict(zip(spec.channel_names, result.fixed_points[0].currents))
    np.testing.assert_allclose(fixed_point_stability(spec, named), result.fixed_points[0].eigenvalues, atol=1e-10)


def test_single_self_loop_fixed_point_eigenvalue() -> None:
    """R = 1, T = a: S*^2 = psi^-1(1/a); Jacobian = -1 + a psi + 2 a psi'(A) A = a psi'(A) 2A (scalar)."""
    a = 2.0
    spec = symmetric_model([a], [0.0])
    A = gain_functions("erf").inverse(1 / a)
    S = np.sqrt(A)
    dpsi = -(np.pi / 4) * (1 + np.pi * A / 2) ** -1.5
    expected = 2 * a * dpsi * A
    np.testing.assert_allclose(fixed_point_stability(spec, [S]), [expected], rtol=1e-12)


def test_bad_input() -> None:
    spec = random_model(2, 2.0, 0)
    with pytest.raises(ModelInputError) as info:
        fixed_point_stability(spec, np.zeros(3))
    assert info.value.field == "currents"
    with pytest.raises(ModelInputError) as info:
        fixed_point_stability(spec, [np.nan, 0, 0, 0])
    assert info.value.field == "currents"
    with pytest.raises(ModelInputError) as info:
        fixed_point_stability(random_model(2, 2.0, 0, g=0.5), np.zeros(4))
    assert info.value.field == "g"
