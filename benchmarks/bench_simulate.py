"""Benchmark: finite-N network simulation against its bare matrix products.

Model: the R = 3 preset ``fig6-r3`` with disorder g = 1.5 in every region, N = 4000 neurons
per region (``--n``). The simulator (:func:`mrdmft.solvers.simulate.run_network`, Euler,
recording every 10 steps) is timed on an already-sampled network and reported as
neuron-steps per second. The baseline, measured in the same run on the same arrays, is
only the matrix products one Euler step needs, done in plain numpy on fixed vectors:

    for every region alpha:  chi_alpha @ p_alpha            (dense N x N, the disorder)
                             n_alpha @ p_alpha               (low-rank readouts, (k, N) @ (N,))
                             r_alpha @ m_alpha               (low-rank inputs, (k,) @ (k, N))

The printed ratio is baseline time / simulator time (1 = no overhead beyond the products;
target >= 0.5). Timings are the best of ``--repeats`` interleaved runs, to limit noise
from other processes on the machine.

Run:  python benchmarks/bench_simulate.py [--n 4000] [--steps 200] [--repeats 3] [--dtype float64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mrdmft.solvers.network_sampling import sample_network
from mrdmft.solvers.simulate import run_network
from mrdmft.theory.modelfile import load_model


def bare_products(sample, steps: int) -> float:
    """Seconds for ``steps`` repetitions of the per-step matrix products alone."""
    rng = np.random.default_rng(0)
    dtype = sample.dtype
    p = [rng.standard_normal(int(N)).astype(dtype) for N in sample.region_sizes]
    r = [rng.standard_normal(block.shape[0]).astype(dtype) for block in sample.m_blocks]
    out = [np.empty(int(N), dtype=dtype) for N in sample.region_sizes]
    start = time.perf_counter()
    for _ in range(steps):
        for a in range(len(p)):
            if sample.chi[a] is not None:
                np.matmul(sample.chi[a], p[a], out=out[a])
            sample.n_blocks[a] @ p[a]
            r[a] @ sample.m_blocks[a]
    return time.perf_counter() - start


def simulator(spec, sample, steps: int, dt: float) -> float:
    """Seconds for the simulator to integrate ``steps`` Euler steps."""
    start = time.perf_counter()
    result = run_network(spec, sample, steps * dt, dt=dt, record_every=10)
    elapsed = time.perf_counter() - start
    assert result.success and result.t.size == steps // 10 + 1
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000, help="neurons per region")
    parser.add_argument("--steps", type=int, default=200, help="time steps per timing")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repetitions (best is kept)")
    parser.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    args = parser.parse_args()

    spec = load_model("fig6-r3").with_values(g=np.full(3, 1.5))
    dt = 0.05
    start = time.perf_counter()
    sample = sample_network(spec, args.n, seed=0, dtype=np.dtype(args.dtype))
    sampling = time.perf_counter() - start
    neurons = int(sample.region_sizes.sum())
    simulator(spec, sample, 10, dt)  # warm-up (lambdify, caches)
    bare_products(sample, 10)

    sim_times, base_times = [], []
    for _ in range(args.repeats):
        sim_times.append(simulator(spec, sample, args.steps, dt))
        base_times.append(bare_products(sample, args.steps))
    sim, base = min(sim_times), min(base_times)
    print(f"model fig6-r3 with g = 1.5, R = 3, N = {args.n} per region ({neurons} neurons), {args.dtype}, "
          f"{args.steps} steps, best of {args.repeats}")
    print(f"sampling the network:          {sampling:8.3f} s")
    print(f"simulator:                     {sim:8.3f} s  = {neurons * args.steps / sim:12.4g} neuron-steps/s")
    print(f"bare matrix products (bound):  {base:8.3f} s  = {neurons * args.steps / base:12.4g} neuron-steps/s")
    print(f"ratio bound / simulator = {base / sim:.3f}  (target >= 0.5)")
    print("all timings (s): simulator " + " ".join(f"{v:.3f}" for v in sim_times)
          + " | bare " + " ".join(f"{v:.3f}" for v in base_times))


if __name__ == "__main__":
    main()
