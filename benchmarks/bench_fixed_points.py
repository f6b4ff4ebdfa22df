"""Multi-start Levenberg–Marquardt fixed points vs forward-Euler relaxation (fig3-1, 250 starts).

Both methods start from the same 250 random current vectors (the ones
``find_fixed_points(spec, n_starts=250, seed=0)`` draws). The baseline integrates the
current ODE ``dS/dt = -S + psi(Delta(S)) T S`` with forward Euler, dt = 0.1 up to t = 500,
batched over the starts with numpy. It is measured twice:

* with ``CompiledSystem.rhs`` — the library's general batched right-hand side;
* with ``BoundSystem.rhs`` — the single-model BLAS kernel the solver itself uses
  (the strictest comparison: same function evaluations, different algorithm).

Printed ratios (baseline time / solver time, same run):

* end-to-end: Euler + dedupe + classification of the end states vs ``find_fixed_points``;
* root finding only: Euler vs the Levenberg–Marquardt iteration alone.

A cost model in units of one Euler step explains the ratios: the solver's time is
(LM iterations per start) x (cost of one batched iteration) + the eigenvalue
classification of every distinct point, and a ratio of 50 would need the whole search
to cost no more than 5000 / 50 = 100 Euler steps.

Each timing is the best of a few repeats (the machine is shared). Run:

    /tmp/venv/bin/python benchmarks/bench_fixed_points.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from mrdmft.solvers.compiled import BoundSystem, ModelArrays, compile_system
from mrdmft.solvers.fixed_point_newton import levenberg_marquardt, solve_batch
from mrdmft.solvers.fixed_points import (
    DEDUPE_TOL,
    classify,
    deduplicate,
    default_scale,
    find_fixed_points,
    random_starts,
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


def classify_points(kernel: BoundSystem, points: np.ndarray, scale: float) -> list[str]:
    """Deduplicate converged points and classify them as the solver does."""
    distinct = points[deduplicate(points, DEDUPE_TOL * scale)]
    return [classify(e, EIG_TOL) for e in sorted_eigenvalues(kernel.jacobian(distinct))]


def iteration_costs(kernel: BoundSystem, starts: np.ndarray) -> dict[str, float]:
    """Best-of times (s) of the pieces of one batched LM iteration on all starts."""
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
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    scale = default_scale(kernel)
    starts = random_starts(spec, N_STARTS, scale, np.random.default_rng(SEED))
    find_fixed_points(spec, n_starts=5)  # warm up (lambdify caches)
    print(f"model fig3-1: C = {spec.n_channels} currents, {N_STARTS} random starts, start scale {scale:.3f}")

    t_solver, result = best_of(5, lambda: find_fixed_points(spec, n_starts=N_STARTS, seed=SEED))
    t_lm, batch = best_of(5, lambda: levenberg_marquardt(kernel.rhs, kernel.jacobian, starts, RESIDUAL_TOL))
    points = np.array([p.currents for p in result.fixed_points])
    t_eig, _ = best_of(5, lambda: sorted_eigenvalues(kernel.jacobian(points)))
    labels = [p.classification for p in result.fixed_points]
    worst = max(p.residual for p in result.fixed_points)
    print("\nsolver: find_fixed_points (multi-start LM + dedupe + Jacobian eigenvalues)")
    print(f"  time {t_solver * 1e3:8.1f} ms   (LM root finding alone {t_lm * 1e3:.1f} ms, "
          f"eigenvalues of the {len(points)} distinct points {t_eig * 1e3:.1f} ms)")
    print(f"  LM iterations per start: mean {batch.iterations.mean():.1f}, min {batch.iterations.min()}, "
          f"max {batch.iterations.max()} (one batched linear solve each)")
    print(f"  converged starts {result.n_converged}/{N_STARTS}, max residual {worst:.2e}")
    print(f"  distinct fixed points {len(labels)}: stable {labels.count('stable')}, "
          f"marginal {labels.count('marginal')}, unstable {labels.count('unstable')}")

    rows = []
    for name, rhs, repeats in (
        ("CompiledSystem.rhs", lambda S: compiled.rhs(S, arrays), 1),
        ("BoundSystem.rhs", kernel.rhs, 2),
    ):
        t_euler, ends = best_of(repeats, lambda: euler_relaxation(rhs, starts))
        residual = np.abs(kernel.rhs(ends)).max(axis=1)
        converged = residual <= RESIDUAL_TOL
        t_classify, euler_labels = best_of(1, lambda: classify_points(kernel, ends[converged], scale))
        rows.append((name, t_euler, t_classify, euler_labels.count("unstable")))
        print(f"\nbaseline: forward Euler dt = {DT}, t = {T_END:g} ({N_STEPS} steps) with {name}")
        print(f"  time {t_euler * 1e3:8.1f} ms   (+ {t_classify * 1e3:.1f} ms to dedupe and classify the end states)")
        print(f"  converged starts {converged.sum()}/{N_STARTS}, max residual {residual.max():.2e}, "
              f"median {np.median(residual):.2e}")
        print(f"  distinct fixed points {len(euler_labels)}: stable {euler_labels.count('stable')}, "
              f"marginal {euler_labels.count('marginal')}, unstable {euler_labels.count('unstable')}")

    print("\nspeed-up of the solver (baseline time / solver time, same run):")
    for name, t_euler, t_classify, _ in rows:
        print(f"  Euler with {name:<19}: end-to-end {(t_euler + t_classify) / t_solver:6.1f}x "
              f"(Euler + classification vs find_fixed_points);  root finding only {t_euler / t_lm:6.1f}x")
    relaxed = ", ".join(f"{count} (with {name})" for name, _, _, count in rows)
    print(f"\nunstable fixed points found: solver {labels.count('unstable')}, relaxation {relaxed}")

    # Cost model in units of one Euler step with the fastest rhs (BoundSystem.rhs).
    step = rows[-1][1] / N_STEPS
    costs = iteration_costs(kernel, starts)
    per_iteration = sum(costs.values())
    parts = ", ".join(f"{key} {value / step:.1f}" for key, value in costs.items())
    print(f"\ncost model, in Euler steps ({step * 1e6:.0f} us each on {N_STARTS} starts):")
    print(f"  one LM iteration on all {N_STARTS} starts ~ {per_iteration / step:.0f} steps ({parts})")
    print(f"  LM total {t_lm / step:.0f} steps, eigenvalue classification {t_eig / step:.0f} steps, "
          f"find_fixed_points {t_solver / step:.0f} steps; a 50x speed-up allows {N_STEPS // 50} steps")
    bound = N_STEPS / (batch.iterations.min() * per_iteration / step)
    print(f"  even if every start needed only the fewest iterations seen ({batch.iterations.min()}), "
          f"root finding could be at most {bound:.0f}x faster than Euler")


if __name__ == "__main__":
    main()
