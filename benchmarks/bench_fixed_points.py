"""Multi-start fixed-point search vs forward-Euler relaxation (fig3-1, 250 starts).

Both methods start from the same 250 random current vectors (the ones
``find_fixed_points(spec, n_starts=250, seed=0)`` draws). The baseline integrates the
current ODE ``dS/dt = -S + psi(Delta(S)) T S`` with forward Euler, dt = 0.1 up to t = 500,
batched over the starts with numpy. It is measured three times:

* with ``CompiledSystem.full_rhs`` — the lambdified sympy expressions of the derivation
  themselves, one numpy expression per current (what a user who lambdifies the derived
  ODE and relaxes it would run; about 10x slower per step than the fast paths below, so
  this ratio mixes the algorithm's gain with the cost of one function evaluation);
* with ``CompiledSystem.rhs`` — the library's general batched right-hand side;
* with ``BoundSystem.rhs`` — the single-model BLAS kernel the solver itself uses
  (the strictest comparison: same function evaluations, different algorithm).

The solver (``solve_roots``) runs structured dogleg Newton steps (Woodbury on the 2 x 2
pair / 1 x 1 self-loop blocks of ``T`` plus rank R, ``fixed_point_blocks``) and finishes
the rows they hand back with the dense Levenberg–Marquardt iteration; the dense
iteration alone (the previous solver) is timed in the same run for reference.
Classification uses ``fixed_point_spectra`` (inactive blocks split off), also timed
against dense eigenvalues.

Printed ratios (baseline time / solver time, same run):

* end-to-end: Euler + dedupe + root check + classification of the end states vs
  ``find_fixed_points``;
* root finding only: Euler vs ``solve_roots`` (and vs the dense LM iteration alone).

A cost model in units of one Euler step explains the ratios: a batched iteration costs a
fixed overhead (numpy calls) plus a part per active start, so the root finding costs
about (iterations) x overhead + (start-iterations) x per-start cost; a ratio of 50 needs
the whole search to cost no more than 5000 / 50 = 100 Euler steps.

Each timing is the best of a few repeats (the machine is shared). Run:

    OMP_NUM_THREADS=1 /tmp/venv/bin/python benchmarks/bench_fixed_points.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from mrdmft.solvers.compiled import BoundSystem, ModelArrays, compile_system
from mrdmft.solvers.fixed_point_blocks import BlockStructure, DoglegPath, Linearization, newton_dogleg
from mrdmft.solvers.fixed_point_newton import levenberg_marquardt, solve_batch
from mrdmft.solvers.fixed_point_spectra import jacobian_spectra
from mrdmft.solvers.fixed_points import (
    DEDUPE_TOL,
    classify,
    deduplicate,
    default_scale,
    find_fixed_points,
    random_starts,
    settled_roots,
    solve_roots,
)
from mrdmft.solvers.stability import sorted_eigenvalues
from mrdmft.theory.modelfile import load_model

N_STARTS, SEED = 250, 0
DT, T_END = 0.1, 500.0
N_STEPS = int(round(T_END / DT))
RESIDUAL_TOL, EIG_TOL = 1e-10, 1e-7


def best_of(repeats: int, function: Callable[[], object]) -> tuple[float, object]:
    """Smallest wall time of ``repeats`` calls, and the last result."""
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def euler_relaxation(rhs: Callable[[np.ndarray], np.ndarray], starts: np.ndarray) -> np.ndarray:
    """Forward Euler, ``S <- S + dt * rhs(S)``, for all starts at once."""
    S = starts.copy()
    for _ in range(N_STEPS):
        S += DT * rhs(S)
    return S


def classify_points(kernel: BoundSystem, points: np.ndarray, scale: float, structure: BlockStructure) -> list[str]:
    """Deduplicate converged points, check they are roots and classify them as the solver does."""
    distinct = points[deduplicate(points, DEDUPE_TOL * scale)]
    distinct = distinct[settled_roots(kernel, distinct, DEDUPE_TOL * scale)[0]]
    return [classify(e, EIG_TOL) for e in jacobian_spectra(kernel, distinct, structure)]


def dogleg_costs(kernel: BoundSystem, structure: BlockStructure, starts: np.ndarray) -> dict[str, float]:
    """Best-of times (s) of the pieces of one structured dogleg iteration on ``starts``."""
    F = kernel.rhs(starts)
    lin = Linearization.at(kernel, structure, starts)
    path = DoglegPath.at(lin, F)
    radius = np.full(len(starts), np.inf)
    return {
        "linearize": best_of(50, lambda: Linearization.at(kernel, structure, starts))[0],
        "Newton solve": best_of(50, lambda: lin.solve(-F))[0],
        "dogleg legs": best_of(50, lambda: (lin.rmatvec(F), lin.matvec(F)))[0],
        "step": best_of(50, lambda: path.step(F, radius))[0],
        "rhs": best_of(50, lambda: kernel.rhs(starts))[0],
    }


def iteration_costs(kernel: BoundSystem, starts: np.ndarray) -> dict[str, float]:
    """Best-of times (s) of the pieces of one batched dense LM iteration on all starts."""
    n, C = starts.shape
    buffer, normal = np.empty((n, C, C)), np.empty((n, C, C))
    J = kernel.jacobian(starts, buffer)
    H = np.matmul(J.transpose(0, 2, 1), J) + np.eye(C)
    F = kernel.rhs(starts)
    return {
        "rhs": best_of(50, lambda: kernel.rhs(starts))[0],
        "jacobian": best_of(50, lambda: kernel.jacobian(starts, buffer))[0],
        "normal matrix": best_of(50, lambda: np.matmul(J.transpose(0, 2, 1), J, out=normal))[0],
        "solve": best_of(50, lambda: solve_batch(H, F))[0],
    }


def main() -> None:
    spec = load_model("fig3-1")
    kernel = BoundSystem.from_spec(spec)
    structure = BlockStructure.from_kernel(kernel)
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    scale = default_scale(kernel)
    starts = random_starts(spec, N_STARTS, scale, np.random.default_rng(SEED))
    find_fixed_points(spec, n_starts=5)  # warm up (lambdify caches)
    compiled.full_rhs(starts[:1], arrays)  # lambdifies the derived expressions (seconds), not timed
    print(f"model fig3-1: C = {spec.n_channels} currents, {N_STARTS} random starts, start scale {scale:.3f}")

    t_solver, result = best_of(5, lambda: find_fixed_points(spec, n_starts=N_STARTS, seed=SEED))
    t_roots, batch = best_of(5, lambda: solve_roots(kernel, starts, RESIDUAL_TOL, structure))
    t_dogleg, (dogleg, unfinished) = best_of(5, lambda: newton_dogleg(kernel, structure, starts, RESIDUAL_TOL))
    t_lm, dense = best_of(3, lambda: levenberg_marquardt(kernel.rhs, kernel.jacobian, starts, RESIDUAL_TOL))
    points = np.array([p.currents for p in result.fixed_points])
    t_eig, _ = best_of(5, lambda: jacobian_spectra(kernel, points, structure))
    t_eig_dense, _ = best_of(5, lambda: sorted_eigenvalues(kernel.jacobian(points)))
    t_settled, _ = best_of(5, lambda: settled_roots(kernel, points, DEDUPE_TOL * scale))
    labels = [p.classification for p in result.fixed_points]
    worst = max(p.residual for p in result.fixed_points)
    print("\nsolver: find_fixed_points (dogleg + LM root finding, dedupe, Jacobian eigenvalues)")
    print(f"  time {t_solver * 1e3:8.1f} ms   (root finding solve_roots {t_roots * 1e3:.1f} ms, "
          f"eigenvalues of the {len(points)} distinct points {t_eig * 1e3:.1f} ms [dense {t_eig_dense * 1e3:.1f} ms], "
          f"root check (damped Newton step by QR) {t_settled * 1e3:.1f} ms)")
    print(f"  structured dogleg stage {t_dogleg * 1e3:.1f} ms: {dogleg.iterations.sum()} start-iterations over "
          f"{dogleg.iterations.max()} batched iterations; {unfinished.sum()} starts handed to dense LM "
          f"({(unfinished & dogleg.converged).sum()} only for polishing to 1e-13)")
    print(f"  linearizations per start: mean {batch.iterations.mean():.1f}, min {batch.iterations.min()}, "
          f"max {batch.iterations.max()}")
    print(f"  reference, dense LM alone (previous solver): {t_lm * 1e3:.1f} ms, "
          f"iterations per start mean {dense.iterations.mean():.1f}")
    print(f"  converged starts {result.n_converged}/{N_STARTS}, max residual {worst:.2e}")
    print(f"  distinct fixed points {len(labels)}: stable {labels.count('stable')}, "
          f"marginal {labels.count('marginal')}, unstable {labels.count('unstable')}")

    rows = []
    for name, rhs, repeats in (
        ("CompiledSystem.full_rhs", lambda S: compiled.full_rhs(S, arrays), 1),
        ("CompiledSystem.rhs", lambda S: compiled.rhs(S, arrays), 1),
        ("BoundSystem.rhs", kernel.rhs, 2),
    ):
        t_euler, ends = best_of(repeats, lambda: euler_relaxation(rhs, starts))
        residual = np.abs(kernel.rhs(ends)).max(axis=1)
        converged = residual <= RESIDUAL_TOL
        t_classify, euler_labels = best_of(1, lambda: classify_points(kernel, ends[converged], scale, structure))
        rows.append((name, t_euler, t_classify, euler_labels.count("unstable")))
        print(f"\nbaseline: forward Euler dt = {DT}, t = {T_END:g} ({N_STEPS} steps) with {name}")
        print(f"  time {t_euler * 1e3:8.1f} ms   (+ {t_classify * 1e3:.1f} ms to dedupe and classify the end states)")
        print(f"  converged starts {converged.sum()}/{N_STARTS}, max residual {residual.max():.2e}, "
              f"median {np.median(residual):.2e}")
        print(f"  distinct fixed points {len(euler_labels)}: stable {euler_labels.count('stable')}, "
              f"marginal {euler_labels.count('marginal')}, unstable {euler_labels.count('unstable')}")

    print("\nspeed-up of the solver (baseline time / solver time, same run):")
    for name, t_euler, t_classify, _ in rows:
        print(f"  Euler with {name:<24}: end-to-end {(t_euler + t_classify) / t_solver:6.1f}x "
              f"(Euler + classification vs find_fixed_points);  root finding only {t_euler / t_roots:6.1f}x "
              f"(dense LM alone {t_euler / t_lm:.1f}x)")
    relaxed = ", ".join(f"{count} (with {name})" for name, _, _, count in rows)
    print(f"\nunstable fixed points found: solver {labels.count('unstable')}, relaxation {relaxed}")

    # Cost model in units of one Euler step with the fastest rhs (BoundSystem.rhs).
    step = rows[-1][1] / N_STEPS
    print(f"\ncost model, in Euler steps ({step * 1e6:.0f} us each on {N_STARTS} starts):")
    costs = dogleg_costs(kernel, structure, starts)
    few = dogleg_costs(kernel, structure, starts[:10])
    per_start = (sum(costs.values()) - sum(few.values())) / (N_STARTS - 10)
    overhead = sum(few.values()) - 10 * per_start
    parts = ", ".join(f"{key} {value / step:.1f}" for key, value in costs.items())
    print(f"  one dogleg iteration on all {N_STARTS} starts ~ {sum(costs.values()) / step:.1f} steps ({parts}),")
    print(f"    i.e. {overhead / step:.1f} steps fixed + {per_start / step * N_STARTS:.1f} steps per {N_STARTS} starts")
    model = dogleg.iterations.max() * overhead + dogleg.iterations.sum() * per_start
    print(f"  dogleg stage: model {model / step:.0f} steps (without rejected trials), measured {t_dogleg / step:.0f}; "
          f"dense LM finishing {(t_roots - t_dogleg) / step:.0f}")
    dense_costs = iteration_costs(kernel, starts)
    parts = ", ".join(f"{key} {value / step:.1f}" for key, value in dense_costs.items())
    print(f"  one dense LM iteration on all {N_STARTS} starts ~ {sum(dense_costs.values()) / step:.0f} steps ({parts})")
    print(f"  root finding {t_roots / step:.0f} steps, eigenvalue classification {t_eig / step:.0f} steps, "
          f"root check {t_settled / step:.0f} steps, "
          f"find_fixed_points {t_solver / step:.0f} steps; a 50x speed-up allows {N_STEPS // 50} steps")
    fewest = 4 * (overhead + N_STARTS * per_start)
    print(f"  even if every start converged in 4 dogleg iterations (the fewest seen) the root finding would cost "
          f"{fewest / step:.0f} steps: at most {N_STEPS * step / fewest:.0f}x faster than Euler")


if __name__ == "__main__":
    main()
