"""Predictions outside the paper's regime and non-stationary simulations (helper I).

* ``stationary_regions`` solves each region with its own loop strength (the paper's
  regime, THEORY §5) and must *check* that the answer is a stationary state of the whole
  model; otherwise it reports failure and claims no numbers. The tester's cases: a
  reciprocal pair with unequal g (only the product of the gains is pinned), a
  feed-forward current into a region without a loop, a limit cycle at g = 0 (fig6-r5),
  a huge self-loop (now answered: its fixed points are found with a round-off-aware tolerance).
  The paper's cases must pass the check.
* ``SimulationResult`` flags currents that are not static (limit cycle, drift), where
  ``A`` of the time-averaged currents is not a stationary A.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mrdmft.cli import main
from mrdmft.cli_prediction import choose_prediction, prediction_candidates
from mrdmft.report import compare_simulation, stationary_table
from mrdmft.solvers.compiled import ModelArrays, compile_system
from mrdmft.solvers.simulate import SimulationResult, simulate_network
from mrdmft.solvers.stationary import (
    CONSISTENCY_TOL,
    INCONSISTENT,
    NO_STABLE_FIXED_POINT,
    _ConsistencyEquations,
    check_consistency,
    loop_strengths_from_fixed_points,
    solve_stationary,
    stationary_regions,
)
from mrdmft.solvers.validation import predicted_A
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import load_model
from mrdmft.theory.spec import symmetric_model

RECIPROCAL = """regions = ["A", "B"]
g = ["g", "g / 2"]
[parameters]
g = 1.5
b = 2.0
[symmetric]
a = ["1.2", "1.2"]
b = ["b", "sqrt(b)**2"]
"""
FEED_FORWARD = """regions = ["A", "B"]
g = [0.0, 1.5]
edges = ["A->A", "A->B"]
T = [[2.5, 0.0], [1.0, 0.0]]
"""
ROTATION = """regions = ["A"]
g = [0.5]
edges = [{source = "A", target = "A", rank = 2}]
T = [[1.5, 2.0], [-2.0, 1.5]]
"""
HUGE_LOOP = """regions = ["A"]
g = [0.0]
T = [[[1e6]]]
"""


def assert_no_numbers(report, status: int) -> None:
    """A failed report: success False overall and per region, the status, no finite A."""
    assert not report.success and report.status == status
    assert all(not s.success and s.status == status for s in report.solutions)
    assert np.all(np.isnan(report.A))
    assert "mrdmft dmft" in report.message and "does not apply" in report.message
    payload = json.loads(report.to_json())
    assert payload["success"] is False and payload["status"] == status
    for entry in payload["regions"].values():
        assert entry["success"] is False and entry["A"] is None and entry["Delta0"] is None
        assert entry["phase"] == "undetermined"


# ---------------------------------------------------------------------- the tester's cases
def dmft_state(spec, t_max: float = 200.0, dt: float = 0.1):
    """A and Delta(t, t) per region at the end of a long two-time DMFT run (independent of the stationary theory)."""
    from mrdmft.solvers.compiled import BoundSystem
    from mrdmft.solvers.dmft import solve_dmft

    result = solve_dmft(spec, t_max=t_max, dt=dt, window=int(20 / dt))
    assert result.success
    return BoundSystem.from_spec(spec).variance(result.currents[-1]), result.delta[:, -1, 0]


@pytest.mark.parametrize("text", [RECIPROCAL, FEED_FORWARD], ids=["reciprocal-unequal-g", "feed-forward"])
def test_outside_the_paper_regime_the_whole_model_is_solved(text: str, write_model) -> None:
    """Per region the answer is wrong (reciprocal pair: A = 0.695 / 1.606 with per-region pinning; feed-forward:
    B would be pure chaos but receives S^{BA} = psi^A S^{AA}); the check refuses it, and the self-consistent
    solver of the whole model answers instead. Its A and Delta0 equal a long two-time DMFT run."""
    spec = load_model(write_model(text))
    per_region = stationary_regions(spec, loop_strengths=loop_strengths_from_fixed_points(spec))
    assert_no_numbers(per_region, INCONSISTENT)  # the per-region answer alone is refused
    report = stationary_regions(spec)
    assert report.success and report.loop_source == "self-consistent", report.message
    A, delta0 = dmft_state(spec)
    np.testing.assert_allclose(report.A, A, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose([s.Delta0 for s in report.solutions], delta0, rtol=1e-6)
    assert np.all(np.isnan(report.g_chaos_onset)) and "adiabatic" in report.consistency.detail
    payload = json.loads(report.to_json())
    assert payload["loop_source"] == "self-consistent" and payload["regions"]["A"]["g_chaos_onset"] is None


def test_no_stable_fixed_point_at_g0_is_refused() -> None:
    report = stationary_regions(load_model("fig6-r5"))
    assert_no_numbers(report, NO_STABLE_FIXED_POINT)
    assert "no stable fixed point" in report.message


def test_huge_loop_is_answered(write_model) -> None:
    """T = 1e6 (the largest value a model file takes): the g = 0 fixed points are found with a
    round-off-aware tolerance, so the region is static with A = psi^-1(1e-6) = (2e12 - 2) / pi."""
    report = stationary_regions(load_model(write_model(HUGE_LOOP)))
    assert report.success and report.solutions[0].phase == "static"
    assert report.A[0] == pytest.approx((2e12 - 2) / np.pi, rel=1e-9)


def test_given_loop_strengths_are_checked_too() -> None:
    """Loop strengths that do not belong to the model give per-region A that no currents realize."""
    spec = load_model("fig3-1-disorder")
    report = stationary_regions(spec, loop_strengths=np.full(spec.n_regions, 3.0))
    assert_no_numbers(report, INCONSISTENT)
    assert report.loop_source == "given"


# ---------------------------------------------------------------------- the paper's cases pass
def test_paper_cases_are_consistent(paper_cases) -> None:
    for case in paper_cases["symmetric_with_disorder"]:
        spec = symmetric_model(case["a"], case["b"], g=case["g"])
        report = stationary_regions(spec)
        assert report.success and report.status == 0, report.message
        assert report.consistency.consistent and report.consistency.residual <= CONSISTENCY_TOL
        lam = np.maximum(case["a"], case["b"])
        for k, sol in enumerate(report.solutions):
            assert sol.A == pytest.approx(solve_stationary(lam[k], case["g"][k]).A, rel=1e-8, abs=1e-10)
        # The currents found realize the per-region A and solve the current equations with the gains.
        S = report.consistency.currents
        compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
        np.testing.assert_allclose(compiled.variance(S, arrays), report.A, atol=1e-7)
        gains = compiled.gain(np.array([s.Delta0 for s in report.solutions]))
        np.testing.assert_allclose(compiled.operator(gains, arrays) @ S, S, atol=1e-7)


@pytest.mark.parametrize("name", ["fig3-1-disorder", "fig3-2-disorder", "fig3-3-disorder", "single-loop", "fig3-1"])
def test_presets_in_the_paper_regime_pass(name: str) -> None:
    report = stationary_regions(load_model(name))
    assert report.success, report.message
    assert np.all(np.isfinite(report.A)) and report.consistency.consistent


def test_check_consistency_detects_infeasible_A(paper_cases) -> None:
    """Exact per-region A of fig3-1 (g = 0) pass. The pair variables (S^{ab})^2 have slack (10 pairs,
    5 row sums), but region 1 cannot carry 100 times its A: A^1 = sum_b (b^1/b^b) (S^{b1})^2 is bounded
    by the other regions' A. A single reciprocal pair forces A^A = A^B: 10 % off is infeasible."""
    case = paper_cases["symmetric_no_disorder"][0]
    spec = symmetric_model(case["a"], case["b"])
    A = np.array(case["A_stable_fixed_points"], dtype=float)
    gains = compile_system(spec).gain(A)
    assert check_consistency(spec, A, gains).consistent
    A_bad = A.copy()
    A_bad[0] *= 100.0
    bad = check_consistency(spec, A_bad, gains)
    assert not bad.consistent and bad.residual > 1e-4
    pair = symmetric_model([0.0, 0.0], [2.0, 2.0])
    gains = np.full(2, 0.5)  # c^2 psi^A psi^B = 4 / 4 = 1
    A = np.full(2, compile_system(pair).gain_inverse(np.array([0.5]))[0])
    assert check_consistency(pair, A, gains).consistent
    assert not check_consistency(pair, A * [1.0, 1.1], gains).consistent


def test_state_without_currents_must_be_stable() -> None:
    """All A = 0 is solved by S = 0, but with gains psi = 1 and a loop of strength 2 it is unstable."""
    spec = symmetric_model([2.0], [0.0])
    check = check_consistency(spec, np.zeros(1), np.ones(1))
    assert not check.consistent and "unstable" in check.detail
    assert check_consistency(spec, np.zeros(1), np.array([0.4])).consistent


def test_consistency_jacobian_matches_finite_differences() -> None:
    spec = load_model("fig6-r3")
    compiled, arrays = compile_system(spec), ModelArrays.from_spec(spec)
    rng = np.random.default_rng(3)
    equations = _ConsistencyEquations(
        kernel=compiled.bind(arrays), operator=compiled.operator(rng.uniform(0.2, 1, 3), arrays), target=rng.uniform(0, 1, 3)
    )
    x = rng.standard_normal((2, spec.n_channels))
    J = equations.jacobian(x)
    h = 1e-6
    for f in range(spec.n_channels):
        step = np.zeros(spec.n_channels)
        step[f] = h
        numeric = (equations.residual(x + step) - equations.residual(x - step)) / (2 * h)
        np.testing.assert_allclose(J[:, :, f], numeric, atol=1e-7)


# ---------------------------------------------------------------------- consumers show no prediction
def test_cli_stationary_prints_failure_and_exits_1(write_model, capsys) -> None:
    """A rank-2 self-loop with eigenvalues 1.5 +- 2i: a limit cycle, no stable stationary state."""
    path = str(write_model(ROTATION))
    assert main(["stationary", path]) == 1
    captured = capsys.readouterr()
    assert "NO STATIONARY PREDICTION" in captured.out and "does not apply" in captured.out
    assert "static" not in captured.out.split("NO STATIONARY PREDICTION")[1]
    assert captured.err.startswith("error: stationary:") and "mrdmft dmft" in captured.err
    assert main(["stationary", path, "--json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["success"] is False and payload["status"] == NO_STABLE_FIXED_POINT
    assert all(entry["A"] is None for entry in payload["regions"].values())


def test_cli_stationary_outside_the_paper_regime_answers(write_model, capsys) -> None:
    assert main(["stationary", str(write_model(RECIPROCAL))]) == 0
    out = capsys.readouterr().out
    assert "1.36206" in out and "1.035" in out and "self-consistent" in out  # = the DMFT (test above)


def test_cli_stationary_paper_model_succeeds(capsys) -> None:
    assert main(["stationary", "fig3-1-disorder"]) == 0
    out = capsys.readouterr().out
    assert "checked: the regions form one stationary state" in out


def test_simulation_prediction_is_withheld(write_model) -> None:
    spec = load_model(write_model(ROTATION))
    prediction = choose_prediction(prediction_candidates(spec), np.zeros(spec.n_channels))
    assert prediction.A is None and "does not apply" in prediction.note
    with pytest.raises(ModelInputError) as info:
        predicted_A(spec)
    assert info.value.field == "spec" and "does not apply" in info.value.problem


def test_cli_simulate_shows_no_prediction(write_model, capsys) -> None:
    path = str(write_model(ROTATION))
    assert main(["simulate", path, "--n", "200", "--t-max", "10", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["predicted"] == {"A": {}} and payload["relative_error_A"] == {}
    assert "no prediction" in payload["prediction"]["note"]


def test_report_helpers_show_no_prediction(write_model) -> None:
    spec = load_model(write_model(ROTATION))
    report = stationary_regions(spec)
    assert "NO STATIONARY PREDICTION" in stationary_table(report).note
    run = simulate_network(spec, 100, 4.0, seed=0)
    for stationary in (report, report.A):
        comparison = compare_simulation(spec, [run], None, stationary)
        assert comparison.predicted_A is None and comparison.source.startswith("none")
    good = stationary_regions(load_model("single-loop"))
    comparison = compare_simulation(load_model("single-loop"), [simulate_network(load_model("single-loop"), 100, 4.0)], None, good)
    np.testing.assert_array_equal(comparison.predicted_A, good.A)


# ---------------------------------------------------------------------- stationarity of simulated currents
def synthetic_result(currents: np.ndarray, t: np.ndarray) -> SimulationResult:
    """A one-region, two-channel result with U = identity (A(t) = S1^2 + S2^2)."""
    C = currents.shape[1]
    return SimulationResult(
        model="synthetic", n=1, seed=0, dt=float(t[1] - t[0]), method="euler", t=t, currents=currents,
        variance=np.zeros((t.size, 1)), neuron_traces=None, nn_covariance=np.eye(C), realized_T=np.zeros((C, C)),
        realized_U=np.eye(C), target_U=np.eye(C), channel_target=np.zeros(C, dtype=int), channel_names=["a", "b"],
        regions=("X",), region_sizes=np.array([1]), exact_overlaps=False, success=True, status=0, message="ok",
    )


def test_rotating_currents_are_not_stationary() -> None:
    """S(t) = r (cos t, sin t) over whole periods: <A(t)> = r^2 while A(Sbar) = 0."""
    t = np.linspace(0.0, 40 * math.pi, 40001)
    res = synthetic_result(1.5 * np.stack([np.cos(t), np.sin(t)], axis=1), t)
    assert res.time_averaged_A(0.0)[0] == pytest.approx(2.25, rel=1e-3)
    assert res.measured_A(0.0)[0] == pytest.approx(0.0, abs=1e-6)
    assert not res.currents_stationary(0.0)
    static = synthetic_result(np.tile([1.0, -2.0], (t.size, 1)) + 1e-3 * np.sin(t)[:, None], t)
    assert static.time_averaged_A(0.0)[0] == pytest.approx(5.0, rel=1e-5) and static.currents_stationary(0.0)
    with pytest.raises(ModelInputError) as info:
        static.currents_stationary(0.0, rtol=-1.0)
    assert info.value.field == "rtol"


def test_limit_cycle_simulation_is_flagged(capsys) -> None:
    """fig6-r3, N = 3000, seed 0 ends on its limit cycle: A(Sbar) ~ 0.001 but <A(t)> ~ 0.5."""
    res = simulate_network(load_model("fig6-r3"), 3000, 100.0, seed=0, dtype=np.float32)
    assert np.all(res.time_averaged_A(50.0) > 0.3) and np.all(res.measured_A(50.0) < 0.05)
    out = res.to_json(t_settle=50.0)
    assert out["stationary"] is False and out["time_averaged_A"]["1"] > 0.3
    assert main(["simulate", "fig6-r3", "--n", "3000", "--t-max", "100", "--float32"]) == 0
    assert "WARNING: the currents are NOT stationary" in capsys.readouterr().out


def test_settled_fig3_1_simulation_is_stationary() -> None:
    """fig3-1 settles on a fixed point (after a slow drift along the manifold): <A(t)> = A(Sbar)."""
    res = simulate_network(load_model("fig3-1"), 2000, 200.0, seed=0, dtype=np.float32)
    assert res.currents_stationary(100.0)
    np.testing.assert_allclose(res.time_averaged_A(100.0), res.measured_A(100.0), rtol=0.02)
    assert res.to_json(t_settle=100.0)["stationary"] is True
