"""Tests of the statistical validation of the theory against finite networks.

Covers solvers/validation.py (statistics, tables, predictions, autocorrelation estimator)
and solvers/validation_theory.py (theory curves Delta(tau)). The statistics are tested on
synthetic data where the answer is known; the comparison with simulated networks runs
at a reduced size whose tolerances are set by the scaling measured in the full-size
validation (see ``test_reduced_single_loop_validation``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from mrdmft.solvers import validation
from mrdmft.solvers.simulate import SimulationResult, simulate_network
from mrdmft.solvers.stationary import pure_chaos_variance, solve_stationary
from mrdmft.solvers.validation import (
    ValidationRow,
    ValidationTable,
    compare_autocorrelation,
    detectable_relative_error,
    mean_and_stderr,
    predicted_A,
    simulated_autocorrelation,
    table_from_measurements,
    validate_A,
    validation_table,
    z_score,
)
from mrdmft.solvers.validation_theory import dmft_autocorrelation, potential_autocorrelation
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import load_model
from mrdmft.theory.spec import Edge, ModelSpec


def single_loop(g: float, loop: float = 2.5) -> ModelSpec:
    return load_model("single-loop").with_parameters(loop=loop, g=g)


def fake_result(
    t: np.ndarray,
    currents: np.ndarray | None = None,
    traces: np.ndarray | None = None,
    seed: int = 0,
    n: int = 100,
    success: bool = True,
) -> SimulationResult:
    """A one-region, one-channel SimulationResult with given recordings (U = 1)."""
    t = np.asarray(t, dtype=float)
    currents = np.zeros((t.size, 1)) if currents is None else np.asarray(currents, dtype=float).reshape(t.size, 1)
    return SimulationResult(
        model="fake", n=n, seed=seed, dt=0.05, method="euler", t=t, currents=currents,
        variance=np.zeros((t.size, 1)), neuron_traces=traces, nn_covariance=np.eye(1), realized_T=np.eye(1),
        realized_U=np.eye(1), target_U=np.eye(1), channel_target=np.zeros(1, dtype=int), channel_names=["A->A"],
        regions=("A",), region_sizes=np.array([n]), exact_overlaps=False, success=success,
        status=0 if success else 1, message="",
    )


# ---------------------------------------------------------------------- statistics
def test_mean_and_stderr_formula() -> None:
    x = np.array([1.0, 2.0, 4.0, 7.0])
    mean, se = mean_and_stderr(x)
    assert mean == pytest.approx(3.5)
    assert se == pytest.approx(math.sqrt(((x - 3.5) ** 2).sum() / 3) / 2)
    m1, s1 = mean_and_stderr([5.0])
    assert m1 == 5.0 and math.isnan(s1)
    m2, s2 = mean_and_stderr(np.arange(12.0).reshape(4, 3))  # along seeds
    np.testing.assert_allclose(m2, [4.5, 5.5, 6.5])
    np.testing.assert_allclose(s2, np.full(3, np.std([0, 3, 6, 9], ddof=1) / 2))


def test_z_score_edge_cases() -> None:
    assert z_score(1.0, 0.5, 0.0) == 2.0
    assert z_score(1.0, 0.0, 1.0) == 0.0
    assert z_score(1.0, 0.0, 2.0) == -np.inf
    assert np.isnan(z_score(1.0, np.nan, 0.0))


@settings(max_examples=40)
@given(
    samples=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=12).filter(lambda s: np.std(s) > 1e-3),
    predicted=st.floats(-1e3, 1e3),
    shift=st.floats(-1e3, 1e3),
    scale=st.floats(1e-2, 1e2),
)
def test_z_is_invariant_under_shift_and_scale(samples, predicted, shift, scale) -> None:
    """z of the same experiment in shifted / rescaled units is the same number."""
    x = np.array(samples)
    z = z_score(*mean_and_stderr(x), predicted)
    z2 = z_score(*mean_and_stderr(scale * x + shift), scale * predicted + shift)
    assert z2 == pytest.approx(z, rel=1e-6, abs=1e-6)


def test_z_is_calibrated_on_synthetic_experiments() -> None:
    """Known answer: for Gaussian samples around the truth, z follows Student's t with K - 1 dof.

    20000 synthetic experiments of K = 5 "seeds" each (mean = predicted); the fraction with
    |z| <= 3 must be P(|t_4| <= 3) = 0.960 within 4 binomial standard errors, and the
    fraction for a shifted truth (mean - predicted = 2 sigma / sqrt(K)) must match the
    noncentral t.
    """
    rng = np.random.default_rng(1)
    K, M = 5, 20000
    samples = rng.normal(1.7, 0.3, size=(M, K))
    mean, se = mean_and_stderr(samples, axis=1)
    inside = np.mean(np.abs(z_score(mean, se, 1.7)) <= 3)
    expected = stats.t.cdf(3, K - 1) - stats.t.cdf(-3, K - 1)
    assert abs(inside - expected) < 4 * math.sqrt(expected * (1 - expected) / M)
    shifted = np.mean(np.abs(z_score(mean, se, 1.7 - 2 * 0.3 / math.sqrt(K))) <= 3)
    nct = stats.nct(K - 1, 2.0)
    expected = nct.cdf(3) - nct.cdf(-3)
    assert abs(shifted - expected) < 4 * math.sqrt(expected * (1 - expected) / M)


def test_table_from_measurements_known_numbers() -> None:
    measured = {
        4000: [np.array([1.0, 2.0]), np.array([1.2, 2.0]), None, np.array([1.1, 2.0])],
        1000: [np.array([0.5, 2.5]), np.array([1.5, 1.5]), np.array([1.0, 2.0])],
    }
    table = table_from_measurements("m", ("X", "Y"), measured, np.array([1.0, 2.0]), t_settle=5.0, settings={"dt": 0.05})
    assert table.sizes == (1000, 4000) and table.regions == ("X", "Y")
    small, large = table.row("X", 1000), table.row("X", 4000)
    assert small.mean_A == pytest.approx(1.0) and small.stderr_A == pytest.approx(0.5 / math.sqrt(3))
    assert small.z_score == pytest.approx(0.0)
    assert large.seeds == 3 and large.failed == 1 and large.samples == (1.0, 1.2, 1.1)
    assert large.mean_A == pytest.approx(1.1) and large.stderr_A == pytest.approx(0.1 / math.sqrt(3))
    assert large.z_score == pytest.approx(0.1 / (0.1 / math.sqrt(3)))
    assert large.mean_root_A == pytest.approx(np.mean(np.sqrt([1.0, 1.2, 1.1])))
    assert table.row("Y", 4000).z_score == 0.0  # no scatter, exact agreement
    assert not table.passes()  # a failed network
    assert table.scatter_shrinks()
    text = table.to_text()
    assert "1.1000 ± 0.0577" in text and "(1 failed)" in text and "z" in text.splitlines()[1]
    data = table.to_json()
    assert data["rows"][0]["N"] == 1000 and data["settings"] == {"dt": 0.05} and data["passes"] is False
    with pytest.raises(ModelInputError) as info:
        table.row("Z", 1000)
    assert info.value.field == "region"
    # coarsest row: X at N = 1000, 3 SE / A = 3 (0.5 / sqrt 3) / 1.0 = 0.866 > 0.5 -> inconclusive
    resolution = table.resolution()
    assert resolution.relative_error == pytest.approx(3 * 0.5 / math.sqrt(3))
    assert (resolution.region, resolution.where, resolution.conclusive) == ("X", "N = 1000", False)
    assert data["resolution"]["conclusive"] is False and data["resolution"]["region"] == "X"


def test_detectable_relative_error_and_verdicts() -> None:
    # rows predicted at 0 are measured against the largest positive prediction (here 1.0)
    np.testing.assert_allclose(detectable_relative_error([0.1, 0.2, 0.1], [1.0, 0.0, 0.5]), [0.3, 0.6, 0.6])
    assert np.isnan(detectable_relative_error([0.1, 0.1], [0.0, -1.0])).all()  # nothing positive to compare with
    rows = [ValidationRow("a", 1000, 5, 2.0, 2.1, 0.2, 0.5), ValidationRow("b", 1000, 5, 0.0, 0.3, 0.1, 3.0)]
    resolution = ValidationTable("m", tuple(rows)).resolution()  # b: 3 * 0.1 / 2.0 = 0.15 < a: 3 * 0.2 / 2.0
    assert resolution.relative_error == pytest.approx(0.3) and resolution.region == "a" and resolution.conclusive
    tiny_zero_row = ValidationRow("b", 100, 5, 0.0, 0.9, 0.5, 1.8)  # 3 SE = 1.5: 75 % of region a's A = 2
    coarse_zero = ValidationTable("m", (rows[0], tiny_zero_row)).resolution()
    assert coarse_zero.region == "b" and coarse_zero.relative_error == pytest.approx(0.75) and not coarse_zero.conclusive
    assert resolution.verdict(True) == "True" and resolution.verdict(False) == "False"
    coarse = ValidationTable("m", (ValidationRow("a", 20, 3, 1.0, 1.5, 0.4, 1.25),)).resolution()
    assert not coarse.conclusive and coarse.verdict(False) == "False"
    assert coarse.verdict(True).startswith("True, but inconclusive: 3 SE is 120 % of the predicted A (region a, N = 20)")
    only_zero = ValidationTable("m", (rows[1],)).resolution()
    assert math.isnan(only_zero.relative_error) and not only_zero.conclusive
    assert only_zero.absolute_error == pytest.approx(0.3)  # 3 SE in units of A
    assert only_zero.verdict(True).startswith(
        "True, but inconclusive on its own: every prediction is A = 0 and these runs resolve A only down to 3 SE = 0.3 "
    )
    assert only_zero.to_json()["region"] is None and only_zero.to_json()["conclusive"] is False
    assert resolution.absolute_error == pytest.approx(0.6)  # the largest SE of all rows, 0.2


def test_table_json_round_trip_recomputes_from_samples() -> None:
    measured = {
        4000: [np.array([1.0, 2.0]), np.array([1.2, 2.0]), None, np.array([1.1, 2.0])],
        1000: [np.array([0.5, 2.5]), np.array([1.5, 1.5]), np.array([1.0, 2.0])],
    }
    table = table_from_measurements("m", ("X", "Y"), measured, np.array([1.0, 2.0]), t_settle=5.0, settings={"dt": 0.05})
    data = table.to_json()
    assert ValidationTable.from_json(data) == table
    data["rows"][0]["mean_A"] = 99.0  # summaries in the record are recomputed, not trusted
    assert ValidationTable.from_json(data).row("X", 1000).mean_A == pytest.approx(1.0)
    for broken in ({"rows": [{"region": "X"}]}, {"rows": None}, {}):
        with pytest.raises(ModelInputError, match="not a validation table"):
            ValidationTable.from_json(broken)
    data["rows"][1]["samples_A"] = []
    with pytest.raises(ModelInputError, match="no samples"):
        ValidationTable.from_json(data)


def test_passes_threshold_and_nan() -> None:
    row = ValidationRow("A", 100, 5, 1.0, 1.3, 0.1, 3.0)
    assert ValidationTable("m", (row,)).passes(3.0)
    assert not ValidationTable("m", (row,)).passes(2.9)
    nan_row = ValidationRow("A", 100, 1, 1.0, 1.3, math.nan, math.nan)
    assert not ValidationTable("m", (nan_row,)).passes()


# ---------------------------------------------------------------------- autocorrelation estimator
def brute_force_autocorrelation(x: np.ndarray, L: int) -> np.ndarray:
    """Direct double loop of the estimator in the module docstring; x has shape (M, R, k)."""
    M, R, k = x.shape
    out = np.zeros((R, L))
    for r in range(R):
        for lag in range(L):
            out[r, lag] = np.mean([np.mean(x[: M - lag, r, i] * x[lag:, r, i]) for i in range(k)])
    return out


@settings(max_examples=25)
@given(M=st.integers(8, 60), k=st.integers(1, 4), L=st.integers(1, 7), seed=st.integers(0, 10**6))
def test_autocorrelation_equals_brute_force(M, k, L, seed) -> None:
    rng = np.random.default_rng(seed)
    traces = rng.normal(size=(M, 1, k)) + rng.normal(size=(1, 1, k))
    t = 0.5 * np.arange(M)
    tau, delta = simulated_autocorrelation(fake_result(t, traces=traces), 0.0, 0.5 * (L - 1))
    np.testing.assert_allclose(tau, 0.5 * np.arange(L))
    np.testing.assert_allclose(delta, brute_force_autocorrelation(traces, L), rtol=1e-10, atol=1e-12)


def test_autocorrelation_of_constants_and_window() -> None:
    """x_i(t) = c_i for t >= t_settle: Delta(tau) = mean c_i^2 exactly (the static part is kept)."""
    t = np.arange(0.0, 30.01, 0.5)
    c = np.array([1.0, -2.0, 3.0])
    traces = np.broadcast_to(c, (t.size, 1, 3)).copy()
    traces[t < 10] = 100.0  # transient, excluded by t_settle
    tau, delta = simulated_autocorrelation(fake_result(t, traces=traces), 10.0, 5.0)
    assert tau[-1] == 5.0
    np.testing.assert_allclose(delta, np.full((1, 11), np.mean(c**2)))


def test_autocorrelation_of_ar1_process() -> None:
    """Known answer: x_{m+1} = rho x_m + sqrt(1 - rho^2) eps has Delta(l h) = rho^l.

    400 neurons x 2000 samples: the estimate's standard error is < 0.01 at every lag.
    """
    rng = np.random.default_rng(3)
    rho, M, k = 0.8, 2000, 400
    x = np.empty((M, 1, k))
    x[0] = rng.normal(size=(1, k))
    noise = rng.normal(size=(M, 1, k)) * math.sqrt(1 - rho**2)
    for m in range(1, M):
        x[m] = rho * x[m - 1] + noise[m]
    tau, delta = simulated_autocorrelation(fake_result(0.1 * np.arange(M), traces=x), 0.0, 1.0)
    np.testing.assert_allclose(delta[0], rho ** np.arange(11), atol=0.02)


def test_irregular_last_record_is_dropped() -> None:
    t = np.append(np.arange(0.0, 10.01, 1.0), 10.4)  # the simulator's extra last step
    traces = np.ones((t.size, 1, 2))
    traces[-1] = 50.0
    _, delta = simulated_autocorrelation(fake_result(t, traces=traces), 0.0, 3.0)
    np.testing.assert_allclose(delta, 1.0)


def test_lag_zero_is_the_population_variance_when_all_neurons_are_recorded() -> None:
    """Delta(0) over all N neurons equals the time average of result.variance (same window)."""
    spec = single_loop(2.0)
    result = simulate_network(spec, 150, 20.0, record_every=2, record_neurons=150, seed=4)
    _, delta = simulated_autocorrelation(result, 5.0, 1.0)
    window = result.t >= 5.0
    assert delta[0, 0] == pytest.approx(result.variance[window, 0].mean(), rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"traces": None}, "record_neurons"),
        ({"max_lag": 100.0}, "max_lag"),
        ({"max_lag": -1.0}, "max_lag"),
        ({"t_settle": 50.0}, "t_settle"),
        ({"success": False}, "result"),
    ],
)
def test_autocorrelation_bad_input(kwargs: dict, field: str) -> None:
    t = np.arange(0.0, 20.01, 0.5)
    traces = kwargs.get("traces", np.ones((t.size, 1, 2)))
    result = fake_result(t, traces=traces, success=kwargs.get("success", True))
    with pytest.raises(ModelInputError) as info:
        simulated_autocorrelation(result, kwargs.get("t_settle", 0.0), kwargs.get("max_lag", 1.0))
    assert info.value.field == field


def test_compare_autocorrelation_known_numbers() -> None:
    t = np.arange(0.0, 10.01, 1.0)
    runs = [fake_result(t, traces=np.full((t.size, 1, 1), c), seed=s) for s, c in enumerate([1.0, 2.0, 3.0])]
    theory_tau = np.array([0.0, 10.0])
    comparison = compare_autocorrelation(runs, theory_tau, np.array([[4.0, 4.0]]), 0.0, 2.0)
    # per-seed Delta = c^2 = 1, 4, 9: mean 14/3, SE = std / sqrt(3)
    se = np.std([1, 4, 9], ddof=1) / math.sqrt(3)
    np.testing.assert_allclose(comparison.mean, 14 / 3)
    np.testing.assert_allclose(comparison.stderr, se)
    np.testing.assert_allclose(comparison.max_abs_z(), (14 / 3 - 4) / se)
    assert comparison.passes() and "max |z|" in comparison.to_text()
    with pytest.raises(ModelInputError):
        compare_autocorrelation(runs, np.array([0.0, 1.0]), np.array([[4.0, 4.0]]), 0.0, 2.0)  # theory too short
    with pytest.raises(ModelInputError):
        compare_autocorrelation(runs[:1], theory_tau, np.array([[4.0, 4.0]]), 0.0, 2.0)


# ---------------------------------------------------------------------- predictions
def test_predicted_A_matches_reference_values(paper_cases: dict) -> None:
    for case in paper_cases["stationary_checks"]:
        if case["loop_strength"] > 1:
            A = predicted_A(single_loop(case["g"], case["loop_strength"]))
            assert A[0] == pytest.approx(case["A"], rel=1e-9)
    assert predicted_A(single_loop(0.0))[0] == pytest.approx(3.3422538049298, rel=1e-9)  # g = 0: fixed point, A = Delta0
    reference = paper_cases["symmetric_no_disorder"][0]
    np.testing.assert_allclose(predicted_A(load_model("fig3-1")), reference["A_stable_fixed_points"], rtol=1e-8)


def test_predicted_A_without_stable_fixed_point_is_an_input_error() -> None:
    """A rank-2 self-loop acting as a rotation (Re lambda = 1.5 > 1, no real eigenvalue) has a limit cycle."""
    r, theta = 3.0, math.pi / 3
    T = r * np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    spec = ModelSpec(name="rotation", regions=("A",), edges=(Edge("A", "A", 2),), T=T, U=np.eye(2), g=[0.0])
    with pytest.raises(ModelInputError) as info:
        predicted_A(spec)
    assert info.value.field == "spec" and "no stable fixed point" in info.value.problem


def test_predicted_A_refuses_ambiguous_fixed_points(monkeypatch: pytest.MonkeyPatch) -> None:
    class Point:
        def __init__(self, variance: float) -> None:
            self.variance = np.array([variance])

    class Result:
        stable_points = (Point(1.0), Point(2.0))

    from mrdmft.solvers import fixed_points

    monkeypatch.setattr(fixed_points, "find_fixed_points", lambda spec: Result())
    with pytest.raises(ModelInputError) as info:
        predicted_A(single_loop(0.0))
    assert "different A" in info.value.problem


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"sizes": []}, "sizes"),
        ({"sizes": [100, 100]}, "sizes"),
        ({"sizes": [0]}, "sizes"),
        ({"seeds": 1}, "seeds"),
        ({"t_settle": 20.0}, "t_settle"),
        ({"seed": 3}, "seed"),
    ],
)
def test_validate_A_bad_input(kwargs: dict, field: str) -> None:
    arguments = {"sizes": [100], "seeds": 2, "t_max": 10.0, "t_settle": 5.0, **kwargs}
    with pytest.raises(ModelInputError) as info:
        validate_A(single_loop(2.0), **arguments)
    assert info.value.field == field


def test_failed_runs_are_counted_not_raised() -> None:
    spec = single_loop(2.0)
    t = np.arange(0.0, 10.01, 1.0)
    runs = {100: [fake_result(t, np.full(t.size, 0.9)), fake_result(t, np.full(t.size, 1.0)), fake_result(t, success=False)]}
    table = validation_table(spec, runs, 5.0, predicted=np.array([0.9]))
    row = table.row("A", 100)
    assert row.failed == 1 and row.seeds == 2 and row.mean_A == pytest.approx((0.81 + 1.0) / 2)


# ---------------------------------------------------------------------- theory curves
def test_potential_curve_matches_dmft_to_first_order_in_dt() -> None:
    """Both theory routes: the Euler DMFT converges to the exact particle trajectory at O(dt).

    Measured max differences at loop 2.5, g = 2.25 (chaos + currents): 0.051 (dt = 0.1),
    0.025 (dt = 0.05); the Richardson combination 2 D(0.05) - D(0.1) removes the first order.
    """
    spec = single_loop(2.25)
    tau = np.arange(0.0, 20.001, 0.1)
    exact = potential_autocorrelation(solve_stationary(2.5, 2.25), tau)
    assert exact.success and exact.delta[0, 0] == pytest.approx(3.3422538049298, rel=1e-12)
    curves = {dt: dmft_autocorrelation(spec, 20.0, t_max=300.0, dt=dt) for dt in (0.1, 0.05)}
    assert all(c.success for c in curves.values())
    d = {dt: np.interp(tau, c.tau, c.delta[0]) for dt, c in curves.items()}
    errors = {dt: np.abs(v - exact.delta[0]).max() for dt, v in d.items()}
    assert 1.8 < errors[0.1] / errors[0.05] < 2.2
    assert errors[0.05] < 0.03
    assert np.abs(2 * d[0.05] - d[0.1] - exact.delta[0]).max() < 0.1 * errors[0.05]


@pytest.mark.parametrize("g", [1.5, 2.0, 2.6])
def test_potential_curve_endpoints(g: float) -> None:
    """Delta(0) = Delta0, Delta(tau) decreases monotonically to Delta_inf (0 for pure chaos)."""
    solution = solve_stationary(2.5, g)
    curve = potential_autocorrelation(solution, np.linspace(0.0, 60.0, 601))
    delta = curve.delta[0]
    assert delta[0] == pytest.approx(solution.Delta0, rel=1e-12)
    assert np.all(np.diff(delta) <= 1e-12)
    assert delta[-1] == pytest.approx(solution.Delta_inf, abs=1e-5)
    if g == 2.6:
        assert solution.phase == "chaos" and solution.Delta0 == pytest.approx(pure_chaos_variance(2.6))


# ---------------------------------------------------------------------- reduced validation
def test_reduced_single_loop_validation() -> None:
    """Single loop 2.5 at g = 2.0 (chaos + currents), N = 1500, 4 seeds, t = 100 (averages over t >= 30).

    Tolerances from the full-size validation (5 seeds, t = 200, averages over t >= 50; theory
    A = 0.8204): A = 0.993 ± 0.137 at N = 2000 (per-seed SD 0.31) and 0.875 ± 0.048 at N = 6000
    (SD 0.11), z = +1.26 and +1.12; the SD falls like 1/sqrt(N) and the bias (+0.17, +0.05)
    roughly like 1/N. At N = 1500 that predicts SD ~ 0.36 (SE ~ 0.18 for 4 seeds) and a bias
    ~ +0.23, i.e. z ~ 1.3. We require |z| < 3, a standard error in [0.02, 0.4] (the scatter
    the scaling predicts, within the chi-square spread of 4 seeds), and max over lags of |z| < 3
    for Delta(tau) of 200 neurons against the DMFT curve at the same dt (full size: 1.15 and
    0.55). Measured here: A = 0.908 ± 0.079 (z = +1.12), Delta(tau) max |z| = 0.26.
    """
    spec = single_loop(2.0)
    runs = [
        simulate_network(spec, 1500, 100.0, seed=seed, record_every=2, record_neurons=200, dtype=np.float32)
        for seed in range(4)
    ]
    table = validation_table(spec, {1500: runs}, 30.0)
    row = table.row("A", 1500)
    assert row.predicted_A == pytest.approx(0.820424954072147, rel=1e-9)
    assert row.seeds == 4 and abs(row.z_score) < 3.0, table.to_text()
    assert 0.02 < row.stderr_A < 0.4, table.to_text()
    theory = dmft_autocorrelation(spec, 10.0, t_max=300.0, dt=0.05)
    assert theory.success
    comparison = compare_autocorrelation(runs, theory.tau, theory.delta, 30.0, 10.0)
    assert comparison.max_abs_z()[0] < 3.0, comparison.to_text()


def test_validate_A_end_to_end_static_phase() -> None:
    """validate_A at g = 1.5 (static, currents settle exactly): two small sizes, 3 seeds each."""
    table = validate_A(single_loop(1.5), [300, 600], 3, t_max=40.0, t_settle=20.0, dtype=np.float32)
    assert table.sizes == (300, 600) and all(row.seeds == 3 and row.failed == 0 for row in table.rows)
    assert table.row("A", 300).predicted_A == pytest.approx(1.9137508144020299, rel=1e-9)
    assert dict(table.settings)["dtype"] == "float32"
    assert all(abs(row.z_score) < 4 for row in table.rows), table.to_text()


def test_validate_A_uses_a_given_prediction_and_checks_it() -> None:
    """A caller that already solved the theory passes it in; the measured A are the same runs'."""
    spec = single_loop(1.5)
    own = validate_A(spec, [50, 100], 2, t_max=10.0, t_settle=5.0)
    given = validate_A(spec, [50, 100], 2, t_max=10.0, t_settle=5.0, predicted=np.array([2.0]))
    for a, b in zip(own.rows, given.rows):
        assert a.samples == b.samples and b.predicted_A == 2.0
        assert b.z_score == pytest.approx((b.mean_A - 2.0) / b.stderr_A)
    for bad in (np.array([1.0, 2.0]), np.array([np.nan])):
        with pytest.raises(ModelInputError) as info:
            validate_A(spec, [50, 100], 2, t_max=10.0, t_settle=5.0, predicted=bad)
        assert info.value.field == "predicted"


def test_module_exports() -> None:
    assert set(validation.__all__) >= {"ValidationRow", "ValidationTable", "predicted_A", "validate_A", "simulated_autocorrelation"}


def test_theory_curve_bad_input() -> None:
    with pytest.raises(ModelInputError) as info:
        potential_autocorrelation(solve_stationary(2.5, 2.0), [0.0, 2.0, 1.0])
    assert info.value.field == "tau"
    with pytest.raises(ModelInputError) as info:
        potential_autocorrelation("not a solution", [0.0, 1.0])
    assert info.value.field == "solution"
    with pytest.raises(ModelInputError) as info:
        dmft_autocorrelation(single_loop(2.0), -1.0)
    assert info.value.field == "max_lag"
    with pytest.raises(ModelInputError) as info:
        dmft_autocorrelation(single_loop(2.0), 20.0, t_max=25.0)
    assert info.value.field == "drift_time"


def test_dmft_curve_flags_a_run_that_is_not_stationary() -> None:
    """At t = 30 the currents of the g = 2 loop are still growing from S(0) ~ 0.08: success is False."""
    curve = dmft_autocorrelation(single_loop(2.0), 5.0, t_max=30.0, dt=0.1)
    assert not curve.success and "not stationary" in curve.message and curve.residual > 1e-4
