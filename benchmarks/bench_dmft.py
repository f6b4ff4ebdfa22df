"""Benchmark: vectorized two-time DMFT vs the same scheme with Python loops over both times.

Model: R = 2 symmetric reciprocal loop (a = 1.2, b = 2, g = 1), N_t = 2500, dt = 0.05
(the paper's grid). The baseline integrates the identical forward-Euler scheme

    S_{n+1} = S_n + dt (H_n - S_n),
    D_{n+1, 0} = a D_{n, 0} + dt sum U H_n S_0,
    D_{n+1, m+1} = a D_{n+1, m} + a D_{n, m+1} - a^2 D_{n, m} + dt^2 Q_{n, m},   a = 1 - dt,

pair by pair with Python loops over n and m, evaluating the same derived expressions
(gain, drives, boundary term and source Q, from :func:`mrdmft.theory.dmft_equations.derive_dmft`)
through scalar ``math``-module lambdifications. Both run in this process; the script
prints both times (wall clock and process CPU time: the machine is shared, and CPU time
is the less noisy measure; the vectorized solver is run ``--repeat`` times and the
median is used, its first run includes faulting in the fresh Delta array), their ratio
(target >= 50) and the largest difference of currents and Delta (target <= 1e-9).

Usage::

    /tmp/venv/bin/python benchmarks/bench_dmft.py [--n-t 2500] [--naive-rows ROWS]

``--naive-rows`` times the baseline on the first ROWS rows only and extrapolates its
time by the number of pairs (the script says so when it does); the default runs it in full.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import sympy as sp

from mrdmft.solvers.dmft import default_initial_state, solve_dmft
from mrdmft.theory.derivation import derive
from mrdmft.theory.dmft_equations import derive_dmft
from mrdmft.theory.spec import ModelSpec, symmetric_model


def naive_dmft(spec: ModelSpec, n_t: int, dt: float, S0: np.ndarray, D0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Straightforward integration of the scheme, one pair (n, m) at a time.

    Returns the currents (n_t, C) and the full two-time functions (R, n_t, n_t).
    """
    e = derive_dmft(spec.structure)
    packed = derive(spec).parameter_arrays()
    T_values, U_values, g = (list(map(float, packed[k])) for k in ("T_values", "U_values", "g"))
    R, C = spec.n_regions, spec.n_channels
    gain = sp.lambdify([e.delta_tt], e.gain, modules="math")
    drive = sp.lambdify([e.currents, e.gain_symbols, e.T_symbols], e.drive, modules="math")
    boundary = sp.lambdify([e.drives, e.currents_other, e.U_symbols], e.boundary_source, modules="math")
    source = sp.lambdify(
        [e.delta_tt, e.delta_ss, e.delta_ts, e.drives, e.drives_other, e.g_symbols, e.U_symbols],
        e.source,
        modules="math",
    )
    a = 1.0 - dt
    D = np.zeros((R, n_t, n_t))
    S = np.zeros((n_t, C))
    H = np.zeros((n_t, C))
    S[0] = S0
    for r in range(R):
        D[r, 0, 0] = D0[r]
    for n in range(n_t - 1):
        d_nn = [D[r, n, n] for r in range(R)]
        H[n] = drive(list(S[n]), gain(d_nn), T_values)
        for c in range(C):
            S[n + 1, c] = S[n, c] + dt * (H[n, c] - S[n, c])
        B = boundary(list(H[n]), list(S[0]), U_values)
        for r in range(R):
            D[r, n + 1, 0] = a * D[r, n, 0] + dt * B[r]
            D[r, 0, n + 1] = D[r, n + 1, 0]
        H_n = list(H[n])
        for m in range(n + 1):
            Q = source(d_nn, [D[r, m, m] for r in range(R)], [D[r, n, m] for r in range(R)], H_n, list(H[m]), g, U_values)
            for r in range(R):
                D[r, n + 1, m + 1] = a * D[r, n + 1, m] + a * D[r, n, m + 1] - a * a * D[r, n, m] + dt * dt * Q[r]
                D[r, m + 1, n + 1] = D[r, n + 1, m + 1]
    return S, D


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-t", type=int, default=2500, help="number of grid times (default 2500)")
    parser.add_argument("--dt", type=float, default=0.05)
    parser.add_argument("--naive-rows", type=int, default=None, help="time the baseline on the first rows only")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the vectorized solver (median reported)")
    args = parser.parse_args()

    spec = symmetric_model([1.2, 1.2], [2.0, 2.0], g=1.0, regions=["A", "B"], name="bench-R2")
    n_t, dt = args.n_t, args.dt
    t_max = (n_t - 1) * dt
    S0, D0 = default_initial_state(spec)
    solve_dmft(spec, t_max=10 * dt, dt=dt)  # derive and lambdify once (cached), not timed
    naive_dmft(spec, 3, dt, S0, D0)

    fast_wall, fast_cpu = [], []
    result = None
    for _ in range(args.repeat):
        del result  # let the next run reuse the memory instead of faulting in a new array
        wall, cpu = time.perf_counter(), time.process_time()
        result = solve_dmft(spec, t_max=t_max, dt=dt)
        fast_wall.append(time.perf_counter() - wall)
        fast_cpu.append(time.process_time() - cpu)
    assert result.t.shape == (n_t,), result.t.shape
    t_fast, c_fast = float(np.median(fast_wall)), float(np.median(fast_cpu))

    rows = n_t if args.naive_rows is None else min(n_t, args.naive_rows)
    wall, cpu = time.perf_counter(), time.process_time()
    S_naive, D_naive = naive_dmft(spec, rows, dt, S0, D0)
    t_naive_measured, c_naive_measured = time.perf_counter() - wall, time.process_time() - cpu
    pairs_total, pairs_done = n_t * (n_t - 1) / 2, rows * (rows - 1) / 2
    t_naive = t_naive_measured * pairs_total / pairs_done
    c_naive = c_naive_measured * pairs_total / pairs_done

    diff_currents = float(np.abs(S_naive - result.currents[:rows]).max())
    diff_delta = float(np.abs(D_naive - result.delta[:, :rows, :rows]).max())
    print(f"model: {spec.name}, R = {spec.n_regions}, C = {spec.n_channels}, N_t = {n_t}, dt = {dt}")
    print(f"vectorized solve_dmft, {args.repeat} runs : wall " + ", ".join(f"{x:.3f}" for x in fast_wall)
          + " s; cpu " + ", ".join(f"{x:.3f}" for x in fast_cpu) + " s  (medians used)")
    if rows < n_t:
        print(f"naive loops, first {rows} rows   : wall {t_naive_measured:.3f} s, cpu {c_naive_measured:.3f} s measured "
              f"-> EXTRAPOLATED by pair count to wall {t_naive:.3f} s, cpu {c_naive:.3f} s for N_t = {n_t}")
    else:
        print(f"naive loops (full run)         : wall {t_naive:.3f} s, cpu {c_naive:.3f} s")
    print(f"speed-up ratio                 : wall {t_naive / t_fast:.1f} x, cpu {c_naive / c_fast:.1f} x   (target >= 50)")
    print(f"  (first, cold-memory run only : wall {t_naive / fast_wall[0]:.1f} x, cpu {c_naive / fast_cpu[0]:.1f} x)")
    print(f"max |S_naive - S_fast|         : {diff_currents:.3e}   (target <= 1e-9)")
    print(f"max |D_naive - D_fast|         : {diff_delta:.3e}   (on {'all' if rows == n_t else f'the first {rows}'} rows)")


if __name__ == "__main__":
    main()
