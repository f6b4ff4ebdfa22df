"""Tests of the finite-N network simulation (solvers/simulate.py, solvers/network_sampling.py).

The simulation validates the mean-field theory, so these tests compare it with
derived predictions (paper reference values, the compiled current equations, the
classic chaotic variance) at sizes small enough for CI, with tolerances set by the
observed O(1/sqrt(N)) finite-size scaling (stated next to each check).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import mpmath
import numpy as np
import pytest
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from mrdmft.solvers.compiled import ModelArrays, compile_system
from mrdmft.solvers.network_sampling import (
    RIDGE,
    joint_covariance,
    minimal_nn_covariance,
    region_channels,
    sample_network,
)
from mrdmft.solvers.simulate import (
    SimulationResult,
    nonlinearity_function,
    run_network,
    simulate_network,
)
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import load_model
from mrdmft.theory.spec import Edge, ModelSpec, random_model, symmetric_model

DATA = json.loads((Path(__file__).parent / "data" / "paper_cases.json").read_text())
FIG3_1_A = np.array(DATA["symmetric_no_disorder"][0]["A_stable_fixed_points"])
SCS_DELTA0_G2 = next(c["Delta0"] for c in DATA["stationary_checks"] if c["phase"] == "chaos" and c["g"] == 2.0)


def generic_spec(g: float = 0.0) -> ModelSpec:
    """Two regions of different sizes, a rank-2 edge, a self-edge and a non-identity U."""
    edges = (Edge("A", "B", 2), Edge("B", "A"), Edge("B", "B"))
    T = np.zeros((4, 4))
    # channels: 0,1 = A->B:0,1 (n in A, m in B); 2 = B->A (n in B, m in A); 3 = B->B (n, m in B)
    T[0, 2], T[1, 2] = 1.3, -0.8  # n^{A->B} . m^{B->A}: both live in A
    T[2, [0, 1, 3]] = [0.9, 0.6, -0.4]  # n^{B->A} . m^{into B}
    T[3, [0, 1, 3]] = [-0.7, 1.1, 0.5]
    U = np.zeros((4, 4))
    U[np.ix_([0, 1, 3], [0, 1, 3])] = [[1.0, 0.3, -0.2], [0.3, 1.5, 0.1], [-0.2, 0.1, 0.8]]
    U[2, 2] = 1.2
    return ModelSpec(name="generic", regions=("A", "B"), edges=edges, T=T, U=U, g=[g, 0.0], sizes=[1.0, 0.5])


def chaos_spec(g: float = 2.0) -> ModelSpec:
    """One region with disorder g and no low-rank part."""
    return ModelSpec(name="chaos", regions=("A",), edges=(), T=np.zeros((0, 0)), U=np.zeros((0, 0)), g=[g])


# ---------------------------------------------------------------------- nonlinearity
def test_phi_is_the_derived_erf_and_keeps_float32() -> None:
    phi = nonlinearity_function("erf")
    x = np.linspace(-4, 4, 41)
    expected = np.array([float(mpmath.erf(mpmath.sqrt(mpmath.pi) * mpmath.mpf(v) / 2)) for v in x])
    np.testing.assert_allclose(phi(x), expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(phi(x), scipy.special.erf(np.sqrt(np.pi) * x / 2), rtol=1e-15, atol=0)
    assert phi(x.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(nonlinearity_function("tanh")(x), np.tanh(x), rtol=1e-15)


# ---------------------------------------------------------------------- covariances
@settings(max_examples=25, deadline=None)
@given(R=st.integers(1, 4), radius=st.floats(0.1, 4.0), seed=st.integers(0, 10_000))
def test_minimal_nn_covariance_makes_joint_psd_with_ridge_schur_complement(R: int, radius: float, seed: int) -> None:
    spec = random_model(R, radius, seed)
    nn = minimal_nn_covariance(spec)
    for r, ch in enumerate(region_channels(spec)):
        joint = joint_covariance(spec, nn, r, ch)
        assert np.linalg.eigvalsh(joint).min() > -1e-9 * np.abs(joint).max()
        # Schur complement nn - T U^-1 T^T is exactly the ridge eps * s * I
        T_OI = spec.T[np.ix_(ch.outputs, ch.inputs)]
        minimal = T_OI @ np.linalg.solve(spec.U[np.ix_(ch.inputs, ch.inputs)], T_OI.T)
        s = max(np.diag(minimal).max(), 0) or 1.0
        np.testing.assert_allclose(
            nn[np.ix_(ch.outputs, ch.outputs)] - minimal, RIDGE * s * np.eye(ch.outputs.size), atol=1e-10 * s
        )
    # zero between channels read out in different regions
    assert np.all(nn[spec.channel_source[:, None] != spec.channel_source[None, :]] == 0)


def test_singular_U_with_T_in_its_range_is_sampled_exactly() -> None:
    spec = generic_spec()
    U = np.array(spec.U)
    idx = [0, 1, 3]  # inputs of B; make them rank 2: m^{3} = m^{0} + m^{1}
    block = np.array([[1.0, 0.2, 1.2], [0.2, 1.0, 1.2], [1.2, 1.2, 2.4]])
    U[np.ix_(idx, idx)] = block
    T = np.array(spec.T)
    T[2, idx] = [0.5, -0.3, 0.2]  # along (a, b, a + b): in the range of U
    T[3, idx] = [1.0, 0.0, 1.0]
    singular = spec.with_values(T=T, U=U)
    sample = sample_network(singular, 300, seed=1, exact_overlaps=True)
    np.testing.assert_allclose(sample.realized_T, singular.T, atol=1e-10)
    np.testing.assert_allclose(sample.realized_U, singular.U, atol=1e-10)
    m = sample.m
    np.testing.assert_allclose(m[3], m[0] + m[1], atol=1e-10)


def test_T_along_null_space_of_U_is_refused() -> None:
    spec = generic_spec()
    U = np.array(spec.U)
    idx = [0, 1, 3]
    U[np.ix_(idx, idx)] = np.diag([1.0, 1.0, 0.0])  # m^{B->B} has zero variance
    T = np.array(spec.T)
    T[2, 3] = 0.7  # but n^{B->A} correlates with it
    with pytest.raises(ModelInputError) as info:
        sample_network(spec.with_values(T=T, U=U), 100)
    assert info.value.field == "T" and "zero variance" in info.value.problem


def test_user_nn_covariance_checked() -> None:
    spec = load_model("fig3-1")
    C = spec.n_channels
    with pytest.raises(ModelInputError) as info:  # the paper's unit <n n> is too small for loops ~2.5
        sample_network(spec, 50, nn_covariance=np.eye(C))
    assert info.value.field == "nn_covariance" and "positive semidefinite" in info.value.problem
    big = 10.0 * np.eye(C)
    sample = sample_network(spec, 50, nn_covariance=big)
    np.testing.assert_array_equal(sample.nn_covariance, big)
    for bad in (np.eye(C - 1), np.full((C, C), np.nan), np.triu(np.ones((C, C))) + 10 * np.eye(C), 10 * np.ones((C, C))):
        with pytest.raises(ModelInputError) as info:
            sample_network(spec, 50, nn_covariance=bad)
        assert info.value.field == "nn_covariance"


# ---------------------------------------------------------------------- sampling
def test_realized_overlaps_converge_like_inverse_sqrt_N() -> None:
    spec = generic_spec()

    def error(n: int) -> float:
        errs = []
        for seed in range(4):
            s = sample_network(spec, n, seed=seed)
            errs.append(np.abs(s.realized_T - spec.T).max() + np.abs(s.realized_U - spec.U).max())
        return float(np.mean(errs))

    small, large = error(500), error(32000)
    # a 64x larger network should shrink the O(1/sqrt(N)) error ~8x; allow 4x..16x for seed scatter
    assert small / 16 < large < small / 4


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-11), (np.float32, 2e-6)])
def test_exact_overlaps_equal_targets(dtype: type, atol: float) -> None:
    spec = generic_spec()
    sample = sample_network(spec, 400, seed=3, exact_overlaps=True, dtype=dtype)
    assert sample.dtype == dtype and all(b.dtype == dtype for b in sample.m_blocks + sample.n_blocks)
    np.testing.assert_allclose(sample.realized_T, spec.T, atol=atol)
    np.testing.assert_allclose(sample.realized_U, spec.U, atol=atol)
    # the per-channel views agree with the packed layout
    n_vec, m_vec = sample.n_vectors, sample.m
    assert n_vec[0].shape == (400,) and m_vec[0].shape == (200,)  # A->B: n in A (N=400), m in B (N=200)
    np.testing.assert_allclose(n_vec[0] @ m_vec[2] / 400, spec.T[0, 2], atol=atol)


def test_couplings_scaled_and_absent_without_disorder() -> None:
    sample = sample_network(generic_spec(g=1.7), 3000, seed=0)
    chi = sample.chi[0]
    assert chi.shape == (3000, 3000) and sample.chi[1] is None
    # entries are g/sqrt(N) * N(0, 1): empirical std within a few 1e-3 relative (9e6 samples)
    assert abs(chi.std() * math.sqrt(3000) / 1.7 - 1) < 3e-3
    # vectors do not depend on whether couplings are drawn
    plain = sample_network(generic_spec(g=0.0), 3000, seed=0)
    np.testing.assert_array_equal(plain.m_blocks[1], sample.m_blocks[1])


# ---------------------------------------------------------------------- dynamics
def test_low_rank_state_is_exactly_m_times_S_after_transient() -> None:
    """With g = 0, x - sum_f m^f S_f obeys dy/dt = -y (and (1 - dt) per Euler step): after t = 60
    the population variance equals S^T U_realized S per region to rounding, for any structure."""
    spec = generic_spec()
    res = simulate_network(spec, 600, 60.0, dt=0.1, seed=2, record_neurons=3)
    S = res.currents[-1]
    expected = np.bincount(spec.channel_target, weights=S * (res.realized_U @ S), minlength=2)
    np.testing.assert_allclose(res.variance[-1], expected, rtol=1e-9)
    assert res.neuron_traces.shape == (res.t.size, 2, 3)
    sample = sample_network(spec, 600, seed=2)
    m = sample.m
    np.testing.assert_allclose(res.neuron_traces[-1, 1], (S[0] * m[0] + S[1] * m[1] + S[3] * m[3])[:3], rtol=1e-9)


def test_currents_follow_derived_mean_field_equations_for_generic_graph() -> None:
    """Transient of a rank-2 / self-edge / unequal-size / non-identity-U model vs the compiled
    (lambdified) current equations dS/dt = -S + psi(Delta)[src] T S. Observed max error (relative to
    max |S|) 0.35-0.6 % at N = 4000 and 0.14-0.35 % at N = 16000 (finite N with exact overlaps, plus
    the small initial noise on x that the current equations omit); tolerance 2 % at N = 4000."""
    spec = generic_spec()
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    S0 = np.array([1.0, -0.5, 0.8, 0.3])
    t_max = 5.0
    reference = solve_ivp(lambda t, S: compiled.rhs(S, arrays), (0, t_max), S0, rtol=1e-10, atol=1e-12, dense_output=True)
    for seed in range(2):
        res = simulate_network(
            spec, 4000, t_max, dt=0.02, seed=seed, initial_currents=S0, exact_overlaps=True, method="heun", record_every=5
        )
        expected = reference.sol(res.t).T
        assert np.abs(res.currents - expected).max() < 0.02 * np.abs(expected).max()


def test_integrators_converge_at_first_and_second_order() -> None:
    spec = generic_spec(g=1.2)
    sample = sample_network(spec, 300, seed=4)

    def final(dt: float, method: str) -> np.ndarray:
        return run_network(spec, sample, 2.0, dt=dt, method=method, record_every=1000).currents[-1]

    reference = final(0.0025, "heun")
    for method, order in (("euler", 1), ("heun", 2)):
        e1 = np.abs(final(0.04, method) - reference).max()
        e2 = np.abs(final(0.02, method) - reference).max()
        assert 2**order * 0.75 < e1 / e2 < 2**order * 1.3


def test_measured_A_equals_derived_variance() -> None:
    spec = generic_spec()
    res = simulate_network(spec, 300, 10.0, seed=0)
    Sbar = res.mean_currents(5.0)
    derived = compile_system(spec).variance(Sbar, ModelArrays.from_spec(spec))
    np.testing.assert_allclose(res.measured_A(5.0), derived, rtol=1e-12)


def _rms_relative_error(seeds: range, exact: bool, t_max: float, dt: float) -> tuple[float, float]:
    """RMS relative error of A (last quarter of [0, t_max]) at N = 2000 and the largest change of
    A between the last two quarters (relative to the prediction)."""
    spec = load_model("fig3-1")
    errors, drift = [], 0.0
    for seed in seeds:
        res = simulate_network(spec, 2000, t_max, dt=dt, seed=seed, exact_overlaps=exact, record_every=10)
        late = res.measured_A(0.75 * t_max)
        middle = 2 * res.measured_A(0.5 * t_max) - late
        drift = max(drift, float(np.max(np.abs(late - middle) / FIG3_1_A)))
        errors.append((late - FIG3_1_A) / FIG3_1_A)
    return float(np.sqrt(np.mean(np.square(errors)))), drift


def test_fig3_1_measured_A_matches_prediction_at_small_N() -> None:
    """RMS relative error of A over regions and 3 seeds at N = 2000 (paper's Fig. 3 example 1).

    The error scales like K / sqrt(N) (acceptance run, 8 seeds per size: RMS 9.0 %, 6.0 %, 2.2 %
    at N = 2000, 8000, 32000, i.e. K = 4.0, 5.3, 4.0); it is mostly a positive bias: finite-N
    symmetry breaking selects a point of the near-degenerate fixed-point manifold. The
    requirement "< 3 % at N = 32000" allows K = 0.03 * sqrt(32000) = 5.4, i.e.
    5.4 / sqrt(2000) = 12 % at N = 2000: that is the tolerance (observed 7.8 % over these
    seeds). Exact overlaps remove the second-moment part (RMS 4.0 %, 2.1 %, 0.9 % at the three
    sizes, K = 1.7-1.9; observed 4.2 % for these seeds); required < 8 %.

    Euler's fixed points do not depend on dt, so coarse steps reach fixed points sooner (dt = 0.05
    and 0.1 reach the same A to 0.1 % for these seeds; dt = 0.2 sometimes ends at a neighbouring
    point of the manifold with a similar error). Settling is checked: A over
    the last two quarters of the run differs by < 3 % (observed 0.9 % and 1.5 %); the slow drift is
    motion along the manifold, slower with exact overlaps, hence the longer run.
    """
    rms, drift = _rms_relative_error(range(3), exact=False, t_max=400.0, dt=0.1)
    assert rms < 0.12 and drift < 0.03
    rms_exact, drift_exact = _rms_relative_error(range(3), exact=True, t_max=600.0, dt=0.2)
    assert rms_exact < 0.08 and drift_exact < 0.03


def test_single_chaotic_region_reaches_classic_variance() -> None:
    """g = 2, no low-rank part: the time-averaged population variance approaches the
    Sompolinsky-Crisanti-Sommers Delta0 = 2.0641. At N = 1000 single networks scatter by ~3 %
    (O(1/sqrt(N))) and Euler at dt = 0.1 adds an O(dt) bias of ~1 %; the mean over 4 seeds
    is required within 5 % (observed per seed +1.4, -1.6, +0.2, -2.4 %; mean -0.6 %)."""
    spec = chaos_spec(2.0)
    values = []
    for seed in range(4):
        res = simulate_network(spec, 1000, 150.0, dt=0.1, seed=seed, record_every=2)
        values.append(res.variance[res.t >= 30, 0].mean())
    assert abs(np.mean(values) / SCS_DELTA0_G2 - 1) < 0.05


def test_float32_run_agrees_with_float64() -> None:
    spec = load_model("fig3-1")
    r64 = simulate_network(spec, 500, 30.0, seed=1)
    r32 = simulate_network(spec, 500, 30.0, seed=1, dtype=np.float32)
    np.testing.assert_allclose(r32.currents, r64.currents, atol=1e-3)


def test_json_contract_and_relative_error() -> None:
    spec = symmetric_model([2.0], [0.0], regions=["X"])  # self-loop 2: A = psi^-1(1/2)
    res = simulate_network(spec, 3000, 60.0, seed=0, exact_overlaps=True)
    predicted = compile_system(spec).gain_inverse(np.array([0.5]))
    out = res.to_json(predicted_A=predicted)
    json.dumps(out)
    for key in ("N", "seed", "measured", "predicted", "relative_error_A", "realized_overlaps", "nn_covariance"):
        assert key in out
    assert out["N"] == 3000 and set(out["measured"]["currents_final"]) == {"X->X"}
    measured = out["measured"]["A"]["X"]
    assert out["relative_error_A"]["X"] == pytest.approx((measured - predicted[0]) / predicted[0])
    assert abs(out["relative_error_A"]["X"]) < 0.03  # single rank-one loop, N = 3000: error ~1/sqrt(N)
    bare = res.to_json()
    assert bare["predicted"] == {"A": {}} and bare["relative_error_A"] == {}


def test_progress_prints_about_ten_lines(capsys: pytest.CaptureFixture[str]) -> None:
    simulate_network(generic_spec(), 50, 5.0, progress=True)
    lines = [line for line in capsys.readouterr().err.splitlines() if "%" in line]
    assert 9 <= len(lines) <= 11 and lines[-1].split(":")[1].strip().startswith("100%")


def test_result_is_a_simulation_result_with_status() -> None:
    res = simulate_network(generic_spec(), 50, 1.0, dt=0.05, record_every=7)
    assert isinstance(res, SimulationResult) and res.success and res.status == 0
    np.testing.assert_allclose(res.t, np.append(np.arange(0, 20, 7), 20) * 0.05)


# ---------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"n": 0}, "n"),
        ({"n": 2.5}, "n"),
        ({"t_max": 0.0}, "t_max"),
        ({"t_max": float("nan")}, "t_max"),
        ({"dt": 0.0}, "dt"),
        ({"dt": -0.1}, "dt"),
        ({"dt": 1.5}, "dt"),
        ({"initial_currents": [np.nan, 0, 0, 0]}, "initial_currents"),
        ({"initial_currents": [0.0, 0.0]}, "initial_currents"),
        ({"seed": -1}, "seed"),
        ({"dtype": np.int32}, "dtype"),
        ({"record_every": 0}, "record_every"),
        ({"record_neurons": 1000}, "record_neurons"),
        ({"method": "rk45"}, "method"),
        ({"nn_covariance": np.eye(3)}, "nn_covariance"),
        ({"n": 2, "exact_overlaps": True}, "exact_overlaps"),
    ],
)
def test_bad_input_raises_model_input_error(kwargs: dict, field: str) -> None:
    args = {"n": 40, "t_max": 1.0, **kwargs}
    with pytest.raises(ModelInputError) as info:
        simulate_network(generic_spec(), **args)
    assert info.value.field == field and info.value.fix


def test_bad_t_settle_and_prediction() -> None:
    res = simulate_network(generic_spec(), 40, 1.0)
    for call, field in (
        (lambda: res.measured_A(5.0), "t_settle"),
        (lambda: res.measured_A(float("nan")), "t_settle"),
        (lambda: res.to_json(predicted_A=[1.0]), "predicted_A"),
        (lambda: res.to_json(predicted_A=[1.0, np.nan]), "predicted_A"),
    ):
        with pytest.raises(ModelInputError) as info:
            call()
        assert info.value.field == field
