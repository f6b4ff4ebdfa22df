"""The numeric fast paths equal the lambdified derivation (CompiledSystem, BoundSystem)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays as np_arrays

from mrdmft.solvers.compiled import BoundSystem, ModelArrays, compile_system
from mrdmft.theory.spec import Edge, ModelSpec, dense_model

TOL = 1e-12


def random_dense(R: int, seed: int) -> ModelSpec:
    """Dense model with random T (scale 2/sqrt(R)) and a random PSD U per region."""
    rng = np.random.default_rng(seed)
    T3 = rng.normal(0.0, 2.0 / np.sqrt(R), size=(R, R, R))
    B = rng.normal(size=(R, R, R))
    U3 = np.einsum("bij,bkj->bik", B, B) / R
    return dense_model([str(i + 1) for i in range(R)], T3, np.zeros(R), U3=U3, name=f"dense{R}")


def random_edge_list(seed: int) -> ModelSpec:
    """A non-dense graph: missing edges, a rank-2 edge, a self-edge; random T and PSD U."""
    regions = ("A", "B", "C")
    edges = (Edge("A", "B", 2), Edge("B", "A"), Edge("B", "C"), Edge("C", "C"), Edge("C", "A"))
    probe = ModelSpec("probe", regions, edges, np.zeros((6, 6)), np.zeros((6, 6)), np.zeros(3))
    rng = np.random.default_rng(seed)
    T = rng.normal(size=(6, 6)) * probe.T_mask
    B = rng.normal(size=(6, 6))
    U = (B @ B.T) * probe.U_mask
    return ModelSpec("edges", regions, edges, T, U, np.zeros(3))


def states(spec: ModelSpec, shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.5, size=shape + (spec.n_channels,))


def model_for(R: int | str) -> ModelSpec:
    return random_edge_list(3) if R == "edges" else random_dense(R, seed=10 + R)


@pytest.mark.parametrize("R", [*range(1, 7), "edges"])
def test_fast_path_equals_lambdified_derivation(R: int | str) -> None:
    spec = model_for(R)
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    S = states(spec, (3, 4), seed=1)
    full_rhs = compiled.full_rhs(S, arrays)
    full_jac = compiled.full_jacobian(S, arrays)
    assert full_rhs.shape == (3, 4, spec.n_channels)
    assert full_jac.shape == (3, 4, spec.n_channels, spec.n_channels)
    np.testing.assert_allclose(compiled.rhs(S, arrays), full_rhs, rtol=0, atol=TOL)
    np.testing.assert_allclose(compiled.jacobian(S, arrays), full_jac, rtol=0, atol=TOL)
    kernel = BoundSystem.from_spec(spec)
    flat = S.reshape(-1, spec.n_channels)
    np.testing.assert_allclose(kernel.rhs(flat), full_rhs.reshape(flat.shape), rtol=0, atol=TOL)
    np.testing.assert_allclose(
        kernel.jacobian(flat), full_jac.reshape(-1, spec.n_channels, spec.n_channels), rtol=0, atol=TOL
    )
    np.testing.assert_allclose(kernel.variance(flat), compiled.variance(flat, arrays), rtol=0, atol=TOL)


@pytest.mark.parametrize("R", [2, 4, "edges"])
def test_jacobian_equals_finite_differences(R: int | str) -> None:
    spec = model_for(R)
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    S = states(spec, (5,), seed=2)
    h = 1e-5
    eye = np.eye(spec.n_channels)
    columns = [(compiled.full_rhs(S + h * e, arrays) - compiled.full_rhs(S - h * e, arrays)) / (2 * h) for e in eye]
    fd = np.stack(columns, axis=-1)
    scale = np.abs(fd).max()
    np.testing.assert_allclose(compiled.jacobian(S, arrays), fd, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(BoundSystem.from_spec(spec).jacobian(S), fd, rtol=0, atol=1e-8 * scale)


def test_gain_functions_are_consistent() -> None:
    compiled = compile_system(random_dense(2, seed=0))
    delta = np.linspace(0.0, 20.0, 41)
    psi = compiled.gain(delta)
    np.testing.assert_allclose(psi, (1 + np.pi * delta / 2) ** -0.5, rtol=1e-14)
    np.testing.assert_allclose(compiled.gain_inverse(psi), delta, rtol=1e-11, atol=1e-12)
    inner, h = delta[1:], 1e-6
    fd = (compiled.gain(inner + h) - compiled.gain(inner - h)) / (2 * h)
    np.testing.assert_allclose(compiled.gain_derivative(inner), fd, rtol=1e-7)


def test_batched_parameters_equal_loop() -> None:
    """Leading batch axes on T, U and S broadcast like a loop over models."""
    specs = [random_dense(3, seed=s) for s in range(4)]
    compiled = compile_system(specs[0])
    batched = ModelArrays(
        np.stack([s.T for s in specs]), np.stack([s.U for s in specs]), np.stack([s.g for s in specs])
    )
    S = states(specs[0], (4,), seed=5)
    rhs, jac = compiled.rhs(S, batched), compiled.jacobian(S, batched)
    for k, spec in enumerate(specs):
        arrays = ModelArrays.from_spec(spec)
        np.testing.assert_allclose(rhs[k], compiled.full_rhs(S[k], arrays), rtol=0, atol=TOL)
        np.testing.assert_allclose(jac[k], compiled.full_jacobian(S[k], arrays), rtol=0, atol=TOL)


# ----------------------------------------------------------------------------- properties
SPEC_3 = random_dense(3, seed=99)
SPEC_EDGES = random_edge_list(7)
finite = st.floats(-4.0, 4.0, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize("spec", [SPEC_3, SPEC_EDGES], ids=["dense", "edges"])
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_rhs_is_odd(spec: ModelSpec, data: st.DataObject) -> None:
    S = data.draw(np_arrays(float, (spec.n_channels,), elements=finite))
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    np.testing.assert_allclose(compiled.rhs(-S, arrays), -compiled.rhs(S, arrays), rtol=0, atol=1e-13)
    np.testing.assert_allclose(compiled.jacobian(-S, arrays), compiled.jacobian(S, arrays), rtol=0, atol=1e-13)


@settings(max_examples=40, deadline=None)
@given(S=np_arrays(float, (5, SPEC_EDGES.n_channels), elements=finite))
def test_variance_nonnegative_for_psd_overlaps(S: np.ndarray) -> None:
    compiled, arrays = compile_system(SPEC_EDGES), ModelArrays.from_spec(SPEC_EDGES)
    delta = compiled.variance(S, arrays)
    assert delta.shape == (5, SPEC_EDGES.n_regions)
    assert np.all(delta >= -1e-12 * (1 + np.abs(S).max() ** 2))
    psi = compiled.gain(np.maximum(delta, 0))
    assert np.all((psi > 0) & (psi <= 1))


@settings(max_examples=25, deadline=None)
@given(S=np_arrays(float, (3, 2, SPEC_3.n_channels), elements=finite))
def test_batching_equals_loop(S: np.ndarray) -> None:
    compiled, arrays = compile_system(SPEC_3), ModelArrays.from_spec(SPEC_3)
    rhs, jac = compiled.rhs(S, arrays), compiled.jacobian(S, arrays)
    kernel = BoundSystem.from_spec(SPEC_3)
    for index in np.ndindex(S.shape[:-1]):
        np.testing.assert_allclose(rhs[index], compiled.rhs(S[index], arrays), rtol=0, atol=1e-14)
        np.testing.assert_allclose(jac[index], compiled.jacobian(S[index], arrays), rtol=0, atol=1e-14)
        np.testing.assert_allclose(kernel.rhs(S[index][None])[0], rhs[index], rtol=0, atol=1e-13)


def test_identifier_arguments_keep_values_and_assumptions() -> None:
    """Renamed arguments (names that are not identifiers, empty groups) evaluate exactly like the originals."""
    import sympy as sp

    from mrdmft.solvers.lambdify_batched import identifier_arguments, lambdify_batched

    x = sp.Symbol("Delta_{A}(t,t)", nonnegative=True)
    y = sp.Symbol("S_{AB}'", real=True)
    expressions = [sp.sqrt(x) * y, sp.erf(y) + x**2, sp.Integer(3)]
    groups, renamed = identifier_arguments([[x], [], [y]], expressions)
    assert [len(g) for g in groups] == [1, 1, 1] and all(s.name.isidentifier() for g in groups for s in g)
    assert groups[0][0].is_nonnegative and groups[2][0].is_real
    f = lambdify_batched([[x], [], [y]], expressions)
    X, Y = np.array([[0.25], [4.0]]), np.array([[-1.5], [0.5]])
    expected = [[float(e.subs({x: X[i, 0], y: Y[i, 0]})) for e in expressions] for i in range(2)]
    np.testing.assert_allclose(f(X, np.zeros((2, 0)), Y), expected, rtol=1e-15, atol=0)
    assert [float(e.subs({groups[0][0]: 0.25, groups[2][0]: -1.5})) for e in renamed] == pytest.approx(expected[0], rel=1e-15)
