"""Integration of the g = 0 current ODE against analytic and high-precision solutions."""

from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from scipy.linalg import expm

from mrdmft.solvers.currents import integrate_currents
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.spec import dense_model, random_model, symmetric_model


def test_linear_for_small_currents() -> None:
    """|S| ~ 1e-6 -> Delta ~ 1e-12, psi = 1 - O(1e-12): dS/dt = (T - I) S, solved by the matrix exponential.

    (U = 0 would make this exact, but no network has T != 0 along zero-variance input directions,
    so the model refuses it.)
    """
    rng = np.random.default_rng(0)
    R = 2
    T3 = rng.normal(0, 0.6, size=(R, R, R))
    spec = dense_model(["A", "B"], T3, [0.0, 0.0])
    S0 = 1e-6 * rng.normal(size=spec.n_channels)
    trajectory = integrate_currents(spec, S0, t_max=3.0, n_points=7, method="DOP853", rtol=1e-12, atol=1e-20)
    assert trajectory.success and trajectory.status == 0
    expected = np.stack([expm((spec.T - np.eye(spec.n_channels)) * t) @ S0 for t in trajectory.t])
    np.testing.assert_allclose(trajectory.currents, expected, rtol=0, atol=1e-9 * np.abs(S0).max())
    np.testing.assert_allclose(trajectory.gain, 1.0, rtol=0, atol=1e-10)


def test_single_self_loop_against_mpmath_quadrature() -> None:
    """R = 1, T = a: dS/dt = S (a psi(S^2) - 1). Separable: t(S) = int_{S0}^{S} dx / (x (a psi(x^2) - 1))."""
    a, S0 = 1.8, 0.05
    spec = symmetric_model([a], [0.0])
    trajectory = integrate_currents(spec, [S0], t_max=12.0, n_points=7, rtol=1e-11, atol=1e-13)
    assert trajectory.success
    mp.mp.dps = 30

    def time_to(s: float) -> mp.mpf:
        psi = lambda x: (1 + mp.pi * x**2 / 2) ** -0.5  # noqa: E731
        return mp.quad(lambda x: 1 / (x * (a * psi(x) - 1)), [mp.mpf(S0), mp.mpf(s)])

    for t, S in zip(trajectory.t[1:], trajectory.currents[1:, 0]):
        assert float(time_to(S)) == pytest.approx(t, abs=1e-6)
    # ... and it relaxes to the fixed point S*^2 = psi^-1(1/a) = 2 (a^2 - 1) / pi
    late = integrate_currents(spec, [S0], t_max=200.0, n_points=2)
    assert late.currents[-1, 0] ** 2 == pytest.approx(2 * (a**2 - 1) / np.pi, abs=1e-9)
    assert late.variance[-1, 0] == pytest.approx(2 * (a**2 - 1) / np.pi, abs=1e-9)
    assert late.gain[-1, 0] == pytest.approx(1 / a, abs=1e-9)


def test_trajectory_fields_and_methods() -> None:
    spec = random_model(2, 2.0, seed=1)
    S0 = np.linspace(-1, 1, spec.n_channels)
    reference = integrate_currents(spec, S0, t_max=5.0, n_points=11, rtol=1e-11, atol=1e-13)
    assert reference.t.shape == (11,) and reference.currents.shape == (11, 4)
    assert reference.variance.shape == (11, 2) and reference.gain.shape == (11, 2)
    assert reference.channel_names == spec.channel_names and reference.regions == spec.regions
    U = spec.U
    variance = np.stack([[S[:2] @ U[:2, :2] @ S[:2], S[2:] @ U[2:, 2:] @ S[2:]] for S in reference.currents])
    np.testing.assert_allclose(reference.variance, variance, rtol=1e-13)
    np.testing.assert_allclose(reference.gain, (1 + np.pi * variance / 2) ** -0.5, rtol=1e-13)
    for method in ("BDF", "Radau", "RK45", "DOP853"):
        other = integrate_currents(spec, S0, t_max=5.0, n_points=11, method=method, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(other.currents, reference.currents, rtol=0, atol=1e-7)
    named = integrate_currents(spec, dict(zip(spec.channel_names, S0)), t_max=5.0, n_points=11, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(named.currents, reference.currents, rtol=0, atol=1e-12)
    assert reference.to_json()["t_final"] == 5.0


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"initial": np.zeros(3)}, "initial"),
        ({"initial": [np.nan, 0, 0, 0]}, "initial"),
        ({"initial": {"9->1": 1.0}}, "initial"),
        ({"t_max": 0.0}, "t_max"),
        ({"t_max": -1.0}, "t_max"),
        ({"n_points": 1}, "n_points"),
        ({"method": "Euler"}, "method"),
        ({"rtol": 0.0}, "rtol"),
    ],
)
def test_bad_input(kwargs: dict, field: str) -> None:
    spec = random_model(2, 2.0, seed=1)
    arguments = {"initial": np.zeros(4), "t_max": 1.0, **kwargs}
    with pytest.raises(ModelInputError) as info:
        integrate_currents(spec, **arguments)
    assert info.value.field == field


def test_disorder_is_refused() -> None:
    with pytest.raises(ModelInputError) as info:
        integrate_currents(random_model(2, 2.0, seed=1, g=[0.0, 1.5]), np.zeros(4), 1.0)
    assert info.value.field == "g" and "dmft" in info.value.fix
