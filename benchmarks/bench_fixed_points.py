"""Multi-start Levenberg–Marquardt fixed points vs forward-Euler relaxation (fig3-1, 250 starts).

Both methods start from the same 250 random current vectors (the ones
``find_fixed_points(spec, n_starts=250, seed=0)`` draws). The baseline integrates the
current ODE ``dS/dt = -S + psi(Delta(S)) T S`` with forward Euler, dt = 0.1 up to t = 500,
batched over the starts with numpy. It is measured twice:

* with ``CompiledSystem.rhs`` — the library's general batched right-hand side;
* with ``BoundSystem.rhs`` — the single-model BLAS kernel the solver itself uses
  (the strictest comparison: same function evaluations, different algorithm).

Each timing is the best of a few repeats (the machine is shared). Run:

    /tmp/venv/bin/python benchmarks/bench_fixed_points.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from mrdmft.solvers.compiled import ModelArrays, compile_system
from mrdmft.solvers.compiled import BoundSystem
from mrdmft.solvers.fixed_point_newton import levenberg_marquardt
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
    for _ in range(int(round(T_END / DT))):
        S += DT * rhs(S)
    return S


def classify_points(kernel: BoundSystem, points: np.ndarray, scale: float) -> list[str]:
    """Deduplicate converged points and classify them as the solver does."""
    distinct = points[deduplicate(points, DEDUPE_TOL * scale)]
    return [classify(e, EIG_TOL) for e in sorted_eigenvalues(kernel.jacobian(distinct))]


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
    labels = [p.classification for p in result.fixed_points]
    worst = max(p.residual for p in result.fixed_points)
    print("\nsolver: find_fixed_points (multi-start LM + dedupe + Jacobian eigenvalues)")
    print(f"  time {t_solver * 1e3:8.1f} ms   (LM root finding alone {t_lm * 1e3:.1f} ms, "
          f"mean {batch.iterations.mean():.1f} linear solves per start)")
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
        print(f"\nbaseline: forward Euler dt = {DT}, t = {T_END:g} ({int(T_END / DT)} steps) with {name}")
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


if __name__ == "__main__":
    main()
