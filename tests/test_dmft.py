"""Tests of the two-time DMFT: derived sources, scheme, convergence, window, files, inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp
from scipy.special import erf

from mrdmft.solvers.compiled import ModelArrays, compile_system
from mrdmft.solvers.dmft import (
    DMFTResult,
    _tail_memory,
    _violates_cauchy_schwarz,
    compile_dmft,
    default_initial_state,
    required_memory_bytes,
    solve_dmft,
)
from mrdmft.theory.derivation import derive
from mrdmft.theory.dmft_equations import derive_dmft
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.spec import Edge, ModelSpec, dense_model, random_model, symmetric_model


def _scs_reference() -> float:
    """Delta0 of the classic chaotic solution at g = 2 (tests/data/paper_cases.json)."""
    cases = json.loads((Path(__file__).parent / "data" / "paper_cases.json").read_text())
    (case,) = [c for c in cases["stationary_checks"] if c["phase"] == "chaos" and c["g"] == 2.0]
    return float(case["Delta0"])


DELTA0_SCS = _scs_reference()  # 2.06408001875429


def chaos_with_currents() -> ModelSpec:
    """R = 2 reciprocal loop b = 2.5 with strong disorder: chaos and currents coexist."""
    return symmetric_model([1.2, 1.2], [2.5, 2.5], g=[2.0, 1.5], regions=["A", "B"], name="chaos+currents")


def single_region(g: float) -> ModelSpec:
    """One region, T = 0 (its self-edge carries no current)."""
    return dense_model(["x"], np.zeros((1, 1, 1)), [g], name="scs")


def rank_two_model() -> ModelSpec:
    """A non-dense graph: rank-2 edge A->B, B->A, no self-edges, non-identity U."""
    edges = (Edge("A", "B", 2), Edge("B", "A", 1))
    T = np.zeros((3, 3))
    T[0, 2], T[1, 2], T[2, 0], T[2, 1] = 1.5, -0.8, 1.1, 0.6  # T[e, f]: source of e == target of f
    U = np.eye(3)
    U[0, 1] = U[1, 0] = 0.3
    return ModelSpec(name="rank2", regions=("A", "B"), edges=edges, T=T, U=U, g=np.array([1.2, 0.0]))


# ---------------------------------------------------------------------- derived sources
def gauss_hermite_2d(f, d11: float, d22: float, d12: float, order: int = 120) -> float:
    """<f(x, y)> over the bivariate normal by tensor Gauss-Hermite quadrature."""
    z, w = np.polynomial.hermite_e.hermegauss(order)
    w = w / np.sqrt(2 * np.pi)
    l11 = np.sqrt(d11)
    l21 = d12 / l11
    l22 = np.sqrt(d22 - l21**2)
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    return float((f(l11 * z1, l21 * z1 + l22 * z2) * np.outer(w, w)).sum())


def test_disorder_source_and_gain_equal_gaussian_quadrature() -> None:
    spec = chaos_with_currents()
    compiled = compile_dmft(spec.structure)
    phi = lambda x: erf(np.sqrt(np.pi) * x / 2)  # noqa: E731
    d_tt, d_ss, d_ts, g = np.array([1.3, 0.4]), np.array([0.7, 2.2]), np.array([-0.6, 0.5]), np.array([2.0, 1.5])
    got = compiled.disorder_source(d_tt, d_ss, d_ts, g)
    for r in range(2):
        expected = g[r] ** 2 * gauss_hermite_2d(lambda x, y: phi(x) * phi(y), d_tt[r], d_ss[r], d_ts[r])
        assert got[r] == pytest.approx(expected, abs=1e-12)
    gains = compiled.gain(d_tt)
    for r in range(2):
        slope = gauss_hermite_2d(lambda x, y: np.exp(-np.pi * x**2 / 4), d_tt[r], 1.0, 0.0)
        assert gains[r] == pytest.approx(slope, abs=1e-12)


@pytest.mark.parametrize("make", [chaos_with_currents, rank_two_model, lambda: random_model(3, 2.0, seed=4, g=[0.5, 1.0, 1.5])])
def test_structured_terms_equal_matrix_forms(make) -> None:
    spec = make()
    compiled = compile_dmft(spec.structure)
    U_values = derive(spec).parameter_arrays()["U_values"]
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(5, spec.n_channels)), rng.normal(size=(5, spec.n_channels))
    onehot = np.eye(spec.n_regions)[spec.channel_target]  # (C, R)
    expected = ((X @ spec.U) * Y) @ onehot  # sum_{f, f' into beta} U X_f Y_f'
    np.testing.assert_allclose(compiled.structured_covariance(X, Y, U_values), expected, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(compiled.boundary(X, Y, U_values), expected, rtol=1e-13, atol=1e-13)
    system = compile_system(spec)
    np.testing.assert_allclose(
        compiled.structured_covariance(X, X, U_values), system.variance(X, ModelArrays.from_spec(spec)), rtol=1e-13
    )


@pytest.mark.parametrize("make", [chaos_with_currents, rank_two_model])
def test_hot_path_equals_batched_functions(make) -> None:
    spec = make()
    compiled = compile_dmft(spec.structure)
    packed = derive(spec).parameter_arrays()
    T_values, U_values, g = packed["T_values"], packed["U_values"], packed["g"]
    rng = np.random.default_rng(2)
    R, C, L = spec.n_regions, spec.n_channels, 7
    S, S_lo = rng.normal(size=C), rng.normal(size=C)
    d_tt = rng.uniform(0.5, 2.0, size=R)
    values = np.array(compiled.step(S.tolist(), d_tt.tolist(), T_values.tolist(), S_lo.tolist(), U_values.tolist()))
    psi = compiled.gain(d_tt)
    H = compiled.drive(S, psi, T_values)
    np.testing.assert_allclose(values[:R], psi, rtol=1e-14)
    np.testing.assert_allclose(values[R : R + C], H, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(values[R + C :], compiled.boundary(H, S_lo, U_values), rtol=1e-13, atol=1e-15)
    # psi L S with the compiled current equations: dS/dt + S = H when Delta_xi = 0
    structured = compiled.structured_covariance(S, S, U_values)
    system = compile_system(spec)
    np.testing.assert_allclose(
        compiled.drive(S, compiled.gain(structured), T_values),
        system.rhs(S, ModelArrays.from_spec(spec)) + S,
        rtol=1e-13,
        atol=1e-14,
    )
    d_ss = rng.uniform(0.5, 2.0, size=(R, L))
    d_ts = rng.uniform(-0.4, 0.4, size=(R, L))
    H_other = rng.normal(size=(C, L))
    row = compiled.row_source(d_tt.tolist(), d_ss, d_ts, H.tolist(), H_other, g.tolist(), U_values.tolist())
    batched = compiled.source(d_tt, d_ss.T, d_ts.T, H, H_other.T, g, U_values)
    np.testing.assert_allclose(row, batched.T, rtol=1e-13, atol=1e-15)
    point = compiled.disorder_point(d_tt.tolist(), d_ss[:, 0].tolist(), d_ts[:, 0].tolist(), g.tolist())
    np.testing.assert_allclose(point, compiled.disorder_source(d_tt, d_ss[:, 0], d_ts[:, 0], g), rtol=1e-14)


def test_structured_source_is_the_two_time_operator_of_the_structured_covariance() -> None:
    """(1 + d_t)(1 + d_t') sum U S(t) S(t') = sum U H(t) H(t') when dS/dt = -S + H (symbolic)."""
    spec = rank_two_model()
    e = derive_dmft(spec.structure)
    t, s = sp.symbols("t s", real=True)
    S_t = [sp.Function(f"s{i}")(t) for i in range(spec.n_channels)]
    S_s = [sp.Function(f"s{i}")(s) for i in range(spec.n_channels)]
    for r in range(spec.n_regions):
        cov = e.structured_covariance[r].subs(dict(zip(e.currents, S_t)) | dict(zip(e.currents_other, S_s)))
        lhs = cov + sp.diff(cov, t) + sp.diff(cov, s) + sp.diff(cov, t, s)
        H_t = {h: f + sp.diff(f, t) for h, f in zip(e.drives, S_t)}
        H_s = {h: f + sp.diff(f, s) for h, f in zip(e.drives_other, S_s)}
        rhs = e.structured_source[r].subs(H_t | H_s)
        assert sp.expand(lhs - rhs) == 0
        boundary = e.boundary_source[r].subs(H_t | dict(zip(e.currents_other, S_s)))
        assert sp.expand(cov + sp.diff(cov, t) - boundary) == 0


# ---------------------------------------------------------------------- scheme
def test_g0_with_random_initial_variance_matches_exact_discrete_solution() -> None:
    """g = 0: Delta_{n,m} = S_n U S_m + a^(n+m) Delta_xi(0,0) exactly (a = 1 - dt)."""
    spec = rank_two_model().with_values(g=np.zeros(2))
    dt, xi0 = 0.1, np.array([0.7, 0.2])
    S0 = np.array([0.3, -0.2, 0.4])
    structured0 = compile_dmft(spec.structure).structured_covariance(S0, S0, derive(spec).parameter_arrays()["U_values"])
    result = solve_dmft(spec, t_max=8.0, dt=dt, initial_currents=S0, initial_variance=structured0 + xi0)
    assert result.success and result.delta.shape == (2, 81, 81)
    U_values = derive(spec).parameter_arrays()["U_values"]
    S = result.currents
    structured = compile_dmft(spec.structure).structured_covariance(S[:, None, :], S[None, :, :], U_values)
    n = np.arange(81)
    decay = (1 - dt) ** (n[:, None] + n[None, :])
    expected = structured.transpose(2, 0, 1) + decay[None] * xi0[:, None, None]
    np.testing.assert_allclose(result.delta, expected, rtol=0, atol=1e-12)


def test_g0_reproduces_current_ode_to_first_order() -> None:
    spec = symmetric_model([1.2, 0.8], [2.0, 2.0], g=0.0, name="g0")
    system = compile_system(spec)
    arrays = ModelArrays.from_spec(spec)
    S0, _ = default_initial_state(spec)
    t_max = 12.0
    reference = solve_ivp(lambda t, S: system.rhs(S, arrays), (0, t_max), S0, rtol=1e-11, atol=1e-13, dense_output=True)
    errors = []
    for dt in (0.1, 0.05, 0.025):
        result = solve_dmft(spec, t_max=t_max, dt=dt)
        errors.append(np.abs(result.currents - reference.sol(result.t).T).max())
        # with Delta_xi = 0 every Delta is structured: Delta(t, t) = sum U S S and psi = psi(Delta)
        np.testing.assert_allclose(result.equal_time(), system.variance(result.currents, arrays), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(result.gain, system.gain(result.equal_time()), rtol=1e-14)
    assert errors[0] < 0.05
    for coarse, fine in zip(errors, errors[1:]):
        assert 1.7 < coarse / fine < 2.3, errors


def test_first_order_convergence_with_chaos_and_currents() -> None:
    spec = chaos_with_currents()
    taus = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    finals, rows = [], []
    for dt in (0.1, 0.05, 0.025):
        result = solve_dmft(spec, t_max=10.0, dt=dt)
        assert result.success
        finals.append(result.currents[-1])
        rows.append(result.lag_row(-1)[:, np.rint(taus / dt).astype(int)])  # Delta(t, t - tau)
    for values in (finals, rows):
        d1 = np.abs(values[0] - values[1]).max()
        d2 = np.abs(values[1] - values[2]).max()
        assert 1.8 < d1 / d2 < 2.4, (d1, d2)
        assert d2 < 0.05 * np.abs(values[2]).max()


def test_classic_chaos_delta0() -> None:
    """T = 0, g = 2: Delta(t, t) -> Delta0 of Sompolinsky-Crisanti-Sommers.

    The forward-Euler stationary state is second-order accurate in its equal-time value
    (measured: errors -6.3e-5, -1.4e-5, -3.3e-6, -8.1e-7 at dt = 0.2, 0.1, 0.05, 0.025 after
    t = 600), while the approach to it is slow (~ exp(-0.08 t)); t = 200 leaves < 2e-8.
    A fit c2 dt^2 + c3 dt^3 of those errors gives c2 = -1.25e-3, c3 = -1.5e-3, so at
    dt = 0.1 we allow 3e-5, check the error ratio dt = 0.2 -> 0.1 (4 + O(dt); measured 4.5)
    and that Richardson extrapolation (4 D(0.1) - D(0.2)) / 3, whose residual is
    -4 c3 dt^3 / 3 ~ 2e-6 at dt = 0.1, lands within 3e-6 of the reference (the raw error
    is 1.4e-5).
    """
    spec = single_region(2.0)
    results = {
        dt: solve_dmft(spec, t_max=200.0, dt=dt, initial_currents=[0.0], window=int(round(60 / dt)))
        for dt in (0.2, 0.1)
    }
    delta0 = {dt: r.equal_time()[-1, 0] for dt, r in results.items()}
    error = {dt: d - DELTA0_SCS for dt, d in delta0.items()}
    assert abs(error[0.1]) < 3e-5
    assert 3.0 < error[0.2] / error[0.1] < 6.0
    assert abs((4 * delta0[0.1] - delta0[0.2]) / 3 - DELTA0_SCS) < 3e-6
    tau, autocorrelation = results[0.1].stationary_autocorrelation(normalize=True, max_lag=50.0)
    assert tau[-1] == pytest.approx(50.0)
    assert autocorrelation[0, 0] == 1.0
    assert np.all(np.diff(autocorrelation[0]) < 0)  # monotone decay
    assert autocorrelation[0, -1] < 1e-3  # pure chaos: Delta_inf = 0
    assert np.abs(results[0.1].currents).max() == 0.0


@pytest.mark.slow
def test_classic_chaos_delta0_full_storage_fine_grid() -> None:
    result = solve_dmft(single_region(2.0), t_max=300.0, dt=0.05, initial_currents=[0.0])
    assert abs(result.equal_time()[-1, 0] - DELTA0_SCS) < 5e-6


def test_window_matches_full_storage() -> None:
    spec = chaos_with_currents()
    full = solve_dmft(spec, t_max=50.0, dt=0.1)
    windowed = solve_dmft(spec, t_max=50.0, dt=0.1, window=400)
    assert windowed.delta.shape == (2, 501, 400) and windowed.window == 400
    np.testing.assert_allclose(windowed.currents, full.currents, rtol=0, atol=1e-8)
    np.testing.assert_allclose(windowed.equal_time(), full.equal_time(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(windowed.gain, full.gain, rtol=0, atol=1e-8)
    np.testing.assert_allclose(windowed.lag_row(-1)[:, :100], full.lag_row(-1)[:, :100], rtol=0, atol=1e-6)
    # lag layout: delta[r, n, k] = Delta(t_n, t_{n-k})
    np.testing.assert_allclose(windowed.delta[:, 300, 17], full.delta[:, 300, 283], atol=1e-8)
    assert np.isnan(windowed.delta[:, 5, 6:]).all()
    # a window longer than the run stores everything: identical arithmetic
    longer = solve_dmft(spec, t_max=50.0, dt=0.1, window=10_000)
    assert longer.window == 501
    np.testing.assert_array_equal(longer.currents, full.currents)
    np.testing.assert_array_equal(longer.equal_time(), full.equal_time())


def test_window_error_shrinks_with_window() -> None:
    """Pure chaos decorrelates slowly (Delta(30) ~ 3e-3 at g = 2): the tail continuation matters.

    Measured equal-time errors for W = 200, 300, 400 at dt = 0.1: 1.7e-6, 6.0e-9, 2.7e-11
    (with a flat continuation of the source instead: 5.6e-5, 3.6e-7, 2.1e-9).
    """
    spec = single_region(2.0)
    full = solve_dmft(spec, t_max=60.0, dt=0.1, initial_currents=[0.0]).equal_time()
    errors = [
        np.abs(solve_dmft(spec, t_max=60.0, dt=0.1, initial_currents=[0.0], window=w).equal_time() - full).max()
        for w in (200, 300, 400)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[1] < 3e-8
    assert errors[2] < 3e-10


def test_window_too_short_for_persistent_correlations_stops_with_status_2() -> None:
    """Chaos driven by oscillating currents keeps Delta(t, t - tau) large at every lag.

    The memory continued beyond a short window then breaks the covariance property; the
    run must stop at the first Cauchy-Schwarz violation (here t = 15.8 for W dt = 10; the equal-time error is then 4e-4)
    instead of returning wrong numbers, while full storage finishes.
    """
    spec = random_model(3, 2.99, 11, g=[0.0, 1.06, 1.5])
    full = solve_dmft(spec, t_max=25.0, dt=0.05)
    windowed = solve_dmft(spec, t_max=25.0, dt=0.05, window=200)
    assert full.success
    assert not windowed.success and windowed.status == 2
    assert "window too short" in windowed.message
    stopped = windowed.t[-1]
    assert 10.0 < stopped < 25.0
    # what it returns before stopping is the full-storage solution
    n = windowed.n_t
    np.testing.assert_allclose(windowed.equal_time()[: n // 2], full.equal_time()[: n // 2], atol=1e-8)
    d = full.equal_time()  # full storage is a covariance matrix: the guard never fires there
    assert not any(
        _violates_cauchy_schwarz(full.delta[:, k, :k], d[k], d[:k].T) for k in range(1, full.n_t, 7)
    )


@pytest.mark.parametrize(("constant", "amplitude", "rho"), [(0.3, 0.0, 0.5), (0.3, 0.2, 0.9), (-0.1, 0.5, 0.97), (0.0, 1.0, 0.5)])
def test_tail_memory_is_exact_for_constant_plus_geometric_sources(constant, amplitude, rho) -> None:
    """Brute-force dt^2 sum_{j>=1} a^(j-1) q(m0 - j) for q(m0 - j) = c + A rho^j (also inside the window)."""
    dt = 0.1
    a = 1 - dt
    q = lambda i: constant + amplitude * rho ** (-i)  # noqa: E731  (i = -j < 0 beyond the window)
    edge = np.array([[q(0)], [q(1)], [q(2)]])
    j = np.arange(1, 5000)
    brute = dt**2 * np.sum(a ** (j - 1) * q(-j))
    assert _tail_memory(edge, a, dt)[0] == pytest.approx(brute, rel=1e-12, abs=1e-15)
    # oscillating or too few points: flat continuation dt q0
    assert _tail_memory(np.array([[1.0], [0.0], [1.0]]), a, dt)[0] == pytest.approx(dt)
    assert _tail_memory(np.array([[2.0], [1.0]]), a, dt)[0] == pytest.approx(2 * dt)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_regions=st.integers(1, 2),
    seed=st.integers(0, 10_000),
    radius=st.floats(0.5, 3.0),
    g=st.floats(0.0, 2.5),
    dt=st.floats(0.05, 0.5),
)
def test_delta_is_a_covariance_matrix(n_regions, seed, radius, g, dt) -> None:
    """The stencil is the covariance of a discrete Gaussian process: D is symmetric PSD."""
    spec = random_model(n_regions, radius, seed, g=g)
    result = solve_dmft(spec, t_max=6.0, dt=dt)
    assert result.success
    D = result.delta
    np.testing.assert_array_equal(D, D.transpose(0, 2, 1))
    for r in range(n_regions):
        scale = max(1.0, float(np.abs(D[r]).max()))
        assert np.linalg.eigvalsh(D[r]).min() > -1e-10 * scale * D.shape[1]
    assert np.all(result.gain > 0) and np.all(result.gain <= 1)


# ---------------------------------------------------------------------- result object
def test_result_views_and_json() -> None:
    spec = chaos_with_currents()
    result = solve_dmft(spec, t_max=3.0, dt=0.1)
    assert result.t.shape == (31,) and result.t[-1] == pytest.approx(3.0)
    payload = result.to_json()
    json.dumps(payload)
    assert payload["t_final"] == pytest.approx(3.0)
    assert payload["currents_final"] == {name: float(s) for name, s in zip(spec.channel_names, result.currents[-1])}
    assert payload["gain_final"]["A"] == float(result.gain[-1, 0])
    assert payload["Delta_equal_time_final"]["B"] == float(result.delta[1, -1, -1])
    tau, row = result.stationary_autocorrelation(max_lag=1.0)
    np.testing.assert_allclose(tau, 0.1 * np.arange(11))
    np.testing.assert_array_equal(row, result.delta[:, -1, -1:-12:-1])
    with pytest.raises(ModelInputError, match="max_lag"):
        result.stationary_autocorrelation(max_lag=-1.0)


def test_progress_goes_to_stderr(capsys) -> None:
    solve_dmft(chaos_with_currents(), t_max=1.0, dt=0.1, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "dmft: step 10/10" in captured.err


def test_non_finite_values_stop_with_status() -> None:
    spec = dense_model(["a"], np.full((1, 1, 1), 2.0), [1.0])
    # ModelSpec refuses |T| > 1e6; bypass that check to drive the integrator into overflow
    object.__setattr__(spec, "T", np.full((1, 1), 1e150))
    result = solve_dmft(spec, t_max=5.0, dt=0.1)
    assert not result.success and result.status == 1
    assert "non-finite" in result.message
    assert 1 <= result.t.shape[0] < 51
    assert np.all(np.isfinite(result.currents)) and np.all(np.isfinite(result.equal_time()))
    assert result.to_json()["t_final"] == result.t[-1]


@pytest.mark.parametrize("window", [None, 101])
def test_save_load_round_trip(tmp_path, window) -> None:
    result = solve_dmft(rank_two_model(), t_max=15.0, dt=0.1, window=window)
    path = tmp_path / "run.npz"
    result.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left
    loaded = DMFTResult.load(path)
    for name in ("t", "currents", "gain", "delta"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(result, name))
    for name in ("model", "regions", "channel_names", "dt", "window", "success", "status", "message", "parameters"):
        assert getattr(loaded, name) == getattr(result, name)
    assert loaded.to_json() == result.to_json()
    with np.load(path) as archive:
        meta = json.loads(str(archive["meta"]))
    assert meta["dims"]["currents"] == ["t", "edge"]
    assert meta["dims"]["delta"] == ["region", "t", "t2" if window is None else "lag"]
    assert meta["coords"]["edge"] == ["A->B:0", "A->B:1", "B->A"]


def test_load_rejects_missing_and_foreign_files(tmp_path) -> None:
    with pytest.raises(ModelInputError, match="no such file"):
        DMFTResult.load(tmp_path / "missing.npz")
    foreign = tmp_path / "foreign.npz"
    foreign.write_text("not an archive")
    with pytest.raises(ModelInputError, match="not a saved DMFT result"):
        DMFTResult.load(foreign)


# ---------------------------------------------------------------------- inputs
def test_memory_error_names_need_and_suggests_window() -> None:
    spec = chaos_with_currents()
    needed = required_memory_bytes(2, 1000.0, 0.05)
    assert needed >= 8 * 2 * 20001**2
    assert required_memory_bytes(2, 1000.0, 0.05, window=1200) < needed / 10
    with pytest.raises(ModelInputError) as info:
        solve_dmft(spec, t_max=1000.0, dt=0.05, max_memory_bytes=10**9)
    error = info.value
    assert error.field == "t_max"
    assert f"needs {needed / 2**30:.3g} GiB" in error.problem and "limit 954 MiB" in error.problem
    assert "window=1200" in error.fix
    assert "\n" not in error.one_line()
    with pytest.raises(ModelInputError) as info:  # a run shorter than any useful window: dt is the fix
        solve_dmft(spec, t_max=5.0, dt=1e-4, max_memory_bytes=10**9)
    assert info.value.field == "dt" and "larger dt" in info.value.fix and "window" not in info.value.fix
    with pytest.raises(ModelInputError, match="window"):
        required_memory_bytes(2, 10.0, 0.1, window=0)
    with pytest.raises(ModelInputError, match="n_regions"):
        required_memory_bytes(0, 10.0, 0.1)
    with pytest.raises(ModelInputError, match="shorter t_max"):
        solve_dmft(spec, t_max=1000.0, dt=0.05, window=1200, max_memory_bytes=10**6)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dt": 0.0}, "dt"),
        ({"dt": -0.1}, "dt"),
        ({"dt": 1.0}, "dt"),
        ({"dt": float("nan")}, "dt"),
        ({"dt": "0.1"}, "dt"),
        ({"t_max": 0.0}, "t_max"),
        ({"t_max": -3.0}, "t_max"),
        ({"t_max": float("inf")}, "t_max"),
        ({"window": 1}, "window"),
        ({"window": 2.5}, "window"),
        ({"window": True}, "window"),
        ({"initial_currents": [0.1, 0.2]}, "initial_currents"),
        ({"initial_currents": [0.1, np.nan, 0.0, 0.0]}, "initial_currents"),
        ({"initial_currents": ["a", 1, 2, 3]}, "initial_currents"),
        ({"initial_variance": [1.0, -0.5]}, "initial_variance"),
        ({"initial_variance": [1.0, 1.0, 1.0]}, "initial_variance"),
        ({"initial_variance": [np.nan, 1.0]}, "initial_variance"),
    ],
)
def test_bad_input(kwargs, field) -> None:
    arguments = {"t_max": 1.0, "dt": 0.1} | kwargs
    with pytest.raises(ModelInputError) as info:
        solve_dmft(chaos_with_currents(), **arguments)
    assert info.value.field == field


def test_initial_variance_below_structured_part_is_rejected() -> None:
    spec = chaos_with_currents()
    S0 = np.array([1.0, 0.5, 0.0, 0.0])  # region A: structured variance 1.25
    with pytest.raises(ModelInputError, match=r"below its structured part .* = 1.25") as info:
        solve_dmft(spec, t_max=1.0, dt=0.1, initial_currents=S0, initial_variance=[1.0, 1.0])
    assert "initial_variance >= 1.25" in info.value.fix
    result = solve_dmft(spec, t_max=1.0, dt=0.1, initial_currents=S0, initial_variance=1.25)
    np.testing.assert_allclose(result.equal_time()[0], [1.25, 1.25])


def test_default_initial_state() -> None:
    spec = chaos_with_currents().with_values(g=np.array([1.0, 0.0]))
    S0, D0 = default_initial_state(spec)
    np.testing.assert_allclose(S0, 0.1 * np.sin(np.arange(1, 5)))
    structured = np.array([S0[0] ** 2 + S0[1] ** 2, S0[2] ** 2 + S0[3] ** 2])  # U = identity
    np.testing.assert_allclose(D0, structured + [1.0, 0.0], rtol=1e-14)
    result = solve_dmft(spec, t_max=0.5, dt=0.1)
    np.testing.assert_allclose(result.currents[0], S0)
    np.testing.assert_allclose(result.equal_time()[0], D0)
