"""The structured fast paths of the fixed-point search equal the dense paths.

* :mod:`mrdmft.solvers.fixed_point_blocks`: ``J = B + P Q^T`` products, the Woodbury Newton
  solve and the dogleg step against the dense Jacobian of ``BoundSystem``;
* :mod:`mrdmft.solvers.fixed_point_spectra`: decoupled spectra against dense eigenvalues;
* :func:`mrdmft.solvers.fixed_points.solve_roots` against the dense Levenberg–Marquardt
  iteration (same roots where they are isolated, dense fallback where ``T`` is dense).
"""

from __future__ import annotations

import numpy as np
import pytest

from mrdmft.solvers.compiled import BoundSystem
from mrdmft.solvers.fixed_point_blocks import (
    BlockStructure,
    DoglegPath,
    Linearization,
    invert_blocks,
    newton_dogleg,
)
from mrdmft.solvers.fixed_point_newton import levenberg_marquardt
from mrdmft.solvers.fixed_point_spectra import block_spectra, jacobian_spectra, small_block_eigenvalues
from mrdmft.solvers.fixed_points import default_scale, find_fixed_points, random_starts, solve_roots
from mrdmft.solvers.stability import sorted_eigenvalues
from mrdmft.theory.modelfile import load_model
from mrdmft.theory.spec import random_model, symmetric_model

PRESETS = ["fig3-1", "fig3-2", "fig3-3"]


def structured(spec_or_name: object) -> tuple[BoundSystem, BlockStructure]:
    """Kernel and block structure (forced on, whatever the size) of a preset name or a spec."""
    spec = load_model(spec_or_name) if isinstance(spec_or_name, str) else spec_or_name
    kernel = BoundSystem.from_spec(spec)
    structure = BlockStructure.from_kernel(kernel, min_channels=1)
    assert structure is not None
    return kernel, structure


def random_states(kernel: BoundSystem, n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, 1.0, size=(n, kernel.n_channels))


# --------------------------------------------------------------------------- block structure
@pytest.mark.parametrize("name", PRESETS)
def test_symmetric_presets_split_into_pairs_and_self_loops(name: str) -> None:
    kernel, structure = structured(name)
    sizes = {g.shape[1]: g.shape[0] for g in structure.groups}
    assert sizes == {1: 5, 2: 10}  # R = 5: 5 self-loops, 10 reciprocal pairs
    channels = np.sort(np.concatenate([g.ravel() for g in structure.groups]))
    np.testing.assert_array_equal(channels, np.arange(25))
    outside = np.ones((25, 25), dtype=bool)  # T vanishes outside the blocks
    for g in structure.groups:
        outside[g[:, :, None], g[:, None, :]] = False
    assert np.all(kernel.T[outside] == 0)


def test_dense_or_small_models_use_the_dense_path() -> None:
    assert BlockStructure.from_kernel(BoundSystem.from_spec(load_model("fig6-r5"))) is None  # one 25 x 25 block
    assert BlockStructure.from_kernel(BoundSystem.from_spec(load_model("two-regions"))) is None  # C = 4 < 16
    assert BlockStructure.from_kernel(BoundSystem.from_spec(load_model("fig3-1"))) is not None


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_invert_blocks_and_block_eigenvalues(k: int) -> None:
    blocks = np.random.default_rng(k).normal(size=(6, 3, k, k))
    np.testing.assert_allclose(invert_blocks(blocks) @ blocks, np.broadcast_to(np.eye(k), blocks.shape), atol=1e-10)
    values = small_block_eigenvalues(blocks)
    dense = np.sort_complex(np.linalg.eigvals(blocks).astype(complex))
    np.testing.assert_allclose(np.sort_complex(values), dense, atol=1e-12)


# --------------------------------------------------------------------------- J = B + P Q^T
SPECS = {
    "fig3-1": load_model("fig3-1"),
    "signs": symmetric_model([1.8, 1.9, 2.0], [2.3, 2.5, 2.4], signs=[1, -1, 1], name="signs"),
    "random-4-block": random_model(2, 2.0, seed=3),  # one 4 x 4 block: the general-k branches
}


@pytest.mark.parametrize("name", list(SPECS))
def test_linearization_equals_dense_jacobian(name: str) -> None:
    kernel, structure = structured(SPECS[name])
    S = random_states(kernel, 20, seed=1)
    lin = Linearization.at(kernel, structure, S)
    J = kernel.jacobian(S)
    np.testing.assert_allclose(lin.dense(), J, rtol=0, atol=1e-13)
    x = random_states(kernel, 20, seed=2)
    np.testing.assert_allclose(lin.matvec(x), np.einsum("nij,nj->ni", J, x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(lin.rmatvec(x), np.einsum("nji,nj->ni", J, x), rtol=0, atol=1e-12)
    # Woodbury Newton solve == dense solve (relative to the solution size).
    dense = np.linalg.solve(J, x[..., None])[..., 0]
    error = np.abs(lin.solve(x) - dense).max(axis=1) / np.abs(dense).max(axis=1)
    assert error.max() < 1e-9


def test_singular_block_gives_non_finite_solve_not_an_exception() -> None:
    """psi T = 1 on a self-loop makes its block of B singular: the row is flagged, not raised."""
    kernel, structure = structured("fig3-1")
    lin = Linearization.at(kernel, structure, random_states(kernel, 3, seed=0))
    blocks = lin.inverse.copy()
    blocks[1] = np.inf
    broken = Linearization(structure, lin.blocks, blocks, lin.a, lin.US)
    out = broken.solve(np.ones((3, 25)))
    assert np.isfinite(out[[0, 2]]).all() and not np.isfinite(out[1]).all()


def test_dogleg_step_is_newton_inside_the_radius_and_bounded_outside() -> None:
    kernel, structure = structured("fig3-1")
    S = random_states(kernel, 30, seed=4)
    F = kernel.rhs(S)
    lin = Linearization.at(kernel, structure, S)
    path = DoglegPath.at(lin, F)
    J = kernel.jacobian(S)
    newton = -np.linalg.solve(J, F[..., None])[..., 0]
    step, predicted = path.step(F, np.full(30, np.inf))
    np.testing.assert_allclose(step, newton, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(predicted, 0.0, atol=0)
    radius = 0.3 * np.linalg.norm(newton, axis=1)
    step, predicted = path.step(F, radius)
    np.testing.assert_allclose(np.linalg.norm(step, axis=1), radius, rtol=1e-12)  # on the boundary
    np.testing.assert_allclose(predicted, F + np.einsum("nij,nj->ni", J, step), rtol=0, atol=1e-12)
    # The model decrease is positive: the step goes downhill for |F + J s|^2.
    assert np.all(np.sum(predicted**2, axis=1) < np.sum(F**2, axis=1))


# --------------------------------------------------------------------------- spectra
@pytest.mark.parametrize("name", PRESETS)
def test_block_spectra_equal_dense_eigenvalues_at_fixed_points(name: str) -> None:
    """At fixed points (many inactive pairs) and at random states (all coupled)."""
    kernel, structure = structured(name)
    result = find_fixed_points(load_model(name), n_starts=80, seed=2)
    points = np.array([p.currents for p in result.fixed_points])
    for states in (points, random_states(kernel, 10, seed=5)):
        fast, dense = block_spectra(kernel, structure, states), sorted_eigenvalues(kernel.jacobian(states))
        np.testing.assert_allclose(fast, dense, rtol=0, atol=1e-10)
    # Some blocks really were split off at the fixed points (the fast path was exercised).
    lin = Linearization.at(kernel, structure, points)
    assert np.any((np.abs(lin.a) < 1e-13) & (np.abs(lin.US) < 1e-13))
    dense = sorted_eigenvalues(kernel.jacobian(points))
    np.testing.assert_allclose(jacobian_spectra(kernel, points), dense, atol=0)  # no structure: the dense call


# --------------------------------------------------------------------------- root finding
def test_newton_dogleg_returns_to_isolated_roots_quadratically() -> None:
    """fig3-3: isolated unstable points, started 1e-3 away, are found again to 1e-12 in a few steps."""
    spec = load_model("fig3-3")
    kernel, structure = structured(spec)
    result = find_fixed_points(spec, n_starts=60, seed=0)
    isolated = np.array([p.currents for p in result.fixed_points if np.all(np.abs(p.eigenvalues.real) > 1e-6)])
    assert len(isolated) >= 5
    starts = isolated + 1e-3 * np.random.default_rng(0).normal(size=isolated.shape)
    batch, unfinished = newton_dogleg(kernel, structure, starts, residual_tol=1e-10)
    assert not unfinished.any() and batch.converged.all()
    assert batch.iterations.max() <= 5
    np.testing.assert_allclose(batch.currents, isolated, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.abs(kernel.rhs(batch.currents)).max(axis=1), batch.residual, rtol=0, atol=0)


@pytest.mark.parametrize("name", PRESETS)
def test_solve_roots_converges_every_start_like_the_dense_iteration(name: str) -> None:
    spec = load_model(name)
    kernel = BoundSystem.from_spec(spec)
    starts = random_starts(spec, 120, default_scale(kernel), np.random.default_rng(7))
    fast = solve_roots(kernel, starts, 1e-10)
    dense = levenberg_marquardt(kernel.rhs, kernel.jacobian, starts, 1e-10)
    assert fast.converged.sum() == dense.converged.sum() == len(starts)
    residual = np.abs(kernel.rhs(fast.currents)).max(axis=1)
    np.testing.assert_array_equal(residual, fast.residual)
    assert residual.max() <= 1e-10
    assert fast.iterations.min() >= 1


def test_solve_roots_falls_back_to_the_dense_iteration() -> None:
    """fig6-r5 (one dense block of T): exactly the dense Levenberg–Marquardt result."""
    spec = load_model("fig6-r5")
    kernel = BoundSystem.from_spec(spec)
    starts = random_starts(spec, 30, default_scale(kernel), np.random.default_rng(1))
    fast = solve_roots(kernel, starts, 1e-10)
    dense = levenberg_marquardt(kernel.rhs, kernel.jacobian, starts, 1e-10)
    np.testing.assert_array_equal(fast.currents, dense.currents)
    np.testing.assert_array_equal(fast.iterations, dense.iterations)


def dense_search_stable_variances(spec: object, n_starts: int, seed: int) -> set[tuple[float, ...]]:
    """``A`` (rounded to 1e-8) of the stable and marginal points of the dense-only search."""
    kernel = BoundSystem.from_spec(spec)
    scale = default_scale(kernel)
    random = random_starts(spec, n_starts, scale, np.random.default_rng(seed))
    starts = np.vstack([np.zeros((1, kernel.n_channels)), random])
    batch = levenberg_marquardt(kernel.rhs, kernel.jacobian, starts, 1e-10)
    points = batch.currents[batch.converged]
    top = sorted_eigenvalues(kernel.jacobian(points))[:, 0].real
    return {tuple(np.round(A, 8)) for A in kernel.variance(points[top <= 1e-7])}


@pytest.mark.parametrize("name", PRESETS)
def test_search_finds_the_same_stable_points_and_unstable_ones(name: str) -> None:
    """250 starts: the stable/marginal points have the same A as with the dense-only search, and
    (for the paper's presets) the paper's A = psi^-1(1 / max(a, b)); unstable points are found."""
    spec = load_model(name)
    result = find_fixed_points(spec, n_starts=250, seed=0)
    assert result.status == 0
    assert all(p.residual <= 1e-10 for p in result.fixed_points)
    fast = {tuple(np.round(p.variance, 8)) for p in result.stable_points}
    assert fast == dense_search_stable_variances(spec, 250, 0)
    assert sum(p.classification == "unstable" for p in result.fixed_points) >= 50
