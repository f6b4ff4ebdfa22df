"""Closed-form Gaussian averages of phi(x) = erf(sqrt(pi) x / 2) (THEORY §3).

Each sympy expression from :func:`mrdmft.theory.gaussian.gaussian_averages` is checked

* against mpmath Gaussian quadrature at 30 digits (1-D for the one-variable averages,
  2-D for the two-point ones, including nearly perfectly correlated pairs), to 1e-12;
* symbolically against the formulas written in THEORY §3 (``simplify(difference) == 0``).
"""

from __future__ import annotations

import mpmath as mp
import pytest
import sympy as sp

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.gaussian import gaussian_averages

TOLERANCE = 1e-12
DPS = 30


@pytest.fixture(scope="module")
def av():
    return gaussian_averages("erf")


# ------------------------------------------------------------------ mpmath quadrature
def _phi(x):
    return mp.erf(mp.sqrt(mp.pi) * x / 2)


def _phi_prime(x):
    return mp.exp(-mp.pi * x**2 / 4)


def _mean_1d(f, variance):
    """<f(x)>, x ~ N(0, variance), by tanh-sinh quadrature."""
    sigma = mp.sqrt(variance)
    return mp.quad(lambda z: f(sigma * z) * mp.exp(-(z**2) / 2), [-mp.inf, 0, mp.inf]) / mp.sqrt(2 * mp.pi)


_PANEL_NODES = 10
_COARSE_BREAKS = (-8, -6, -4, -3, -2, -1, 0, 1, 2, 3, 4, 6, 8)  # |z| <= 8: Gaussian tail mass 1.2e-15


def _graded_rule(center, width):
    """Composite Gauss-Legendre rule on [-8, 8] for integrands with a feature at ``center``.

    Panels of at most 2 (1 near the bulk of the standard normal weight), plus panels of
    width ``width``, ``2 width``, ... around ``center`` so a steep step or narrow bump of
    scale ``width`` is resolved. Returns ``[(node, weight), ...]`` (weights without the density).
    """
    x, w = mp.gauss_quadrature(_PANEL_NODES, "legendre")
    base = [((xi + 1) / 2, wi / 2) for xi, wi in zip(x, w)]
    breaks = {mp.mpf(v) for v in _COARSE_BREAKS}
    if -8 < center < 8:
        breaks.add(center)
        step = width
        while step < 2:
            breaks.update(p for p in (center - step, center + step) if -8 < p < 8)
            step *= 2
    breaks = sorted(breaks)
    return [(a + (b - a) * t, (b - a) * wt) for a, b in zip(breaks[:-1], breaks[1:]) for t, wt in base]


def _mean_2d(f, g, d11, d22, d12):
    """<f(x) g(y)> over the bivariate normal with covariance [[d11, d12], [d12, d22]].

    Tensor quadrature in the Cholesky coordinates x = s z1, y = b z1 + tau z2 (z1, z2
    independent standard normal): graded composite Gauss-Legendre rules refined around
    z1 = 0 (where f(s z1) and, for strong correlation, the inner average step or peak) and,
    for each z1, around the z2 where y = 0 (where g steps or peaks, width ~ 1/tau).
    """
    s = mp.sqrt(d11)
    b = d12 / s
    tau = mp.sqrt(max(d22 - b**2, 0))
    outer = _graded_rule(mp.mpf(0), 1 / (2 * max(s, abs(b), 1)))
    total = mp.mpf(0)
    for z1, w1 in outer:
        mu = b * z1
        inner = _graded_rule(-mu / tau, 1 / (2 * max(tau, 1)))
        conditional = mp.fsum(w2 * mp.exp(-(z2**2) / 2) * g(mu + tau * z2) for z2, w2 in inner)
        total += w1 * mp.exp(-(z1**2) / 2) * f(s * z1) * conditional
    return total / (2 * mp.pi)


def _mp(expr, symbols):
    return sp.lambdify(symbols, expr, "mpmath")


VARIANCES = ["0.001", "0.5", "2", "10", "50"]
# (D11, D22, D12): moderate, anticorrelated, and nearly perfectly correlated pairs
# (D12 / sqrt(D11 D22) = 1 - 1e-6, 1 - 1e-9, -(1 - 1e-7)).
PAIRS = [
    ("1", "2", "0.5"),
    ("0.7", "3.1", "SC+1e-9"),
    ("4", "9", "SC-1e-7"),
    pytest.param(("0.3", "5", "-1.1"), marks=pytest.mark.slow),
    pytest.param(("2", "2", "1.999998"), marks=pytest.mark.slow),
    pytest.param(("50", "50", "49.9"), marks=pytest.mark.slow),
]


def _pair(case):
    with mp.workdps(DPS):
        d11, d22 = mp.mpf(case[0]), mp.mpf(case[1])
        spec = case[2]
        if spec.startswith("SC+"):
            d12 = mp.sqrt(d11 * d22) * (1 - mp.mpf(spec[3:]))
        elif spec.startswith("SC-"):
            d12 = -mp.sqrt(d11 * d22) * (1 - mp.mpf(spec[3:]))
        else:
            d12 = mp.mpf(spec)
    return d11, d22, d12


@pytest.mark.parametrize("variance", VARIANCES)
def test_one_point_averages_match_quadrature(av, variance):
    with mp.workdps(DPS):
        delta = mp.mpf(variance)
        gain = _mp(av.gain, [av.delta])(delta)
        assert abs(gain - _mean_1d(_phi_prime, delta)) < TOLERANCE
        slope_power = _mp(av.slope_power, [av.delta])(delta)
        assert abs(slope_power - _mean_1d(lambda x: _phi_prime(x) ** 2, delta)) < TOLERANCE
        # gain_inverse: the variance it returns has the requested gain (by quadrature).
        psi = 1 / (1 + delta)
        inverse = _mp(av.gain_inverse, [av.psi])(psi)
        assert inverse > 0
        assert abs(_mean_1d(_phi_prime, inverse) - psi) < TOLERANCE


@pytest.mark.parametrize("case", PAIRS)
def test_two_point_averages_match_quadrature(av, case):
    d11, d22, d12 = _pair(case)
    symbols = [av.delta11, av.delta22, av.delta12]
    with mp.workdps(DPS):
        correlation = _mp(av.correlation, symbols)(d11, d22, d12)
        assert abs(correlation - _mean_2d(_phi, _phi, d11, d22, d12)) < TOLERANCE
        slope = _mp(av.slope_correlation, symbols)(d11, d22, d12)
        assert abs(slope - _mean_2d(_phi_prime, _phi_prime, d11, d22, d12)) < TOLERANCE


def test_graded_rule_integrates_the_weight():
    """Sanity of the 2-D rule on a strongly correlated pair: it reproduces the covariance."""
    d11, d22, d12 = _pair(("4", "9", "SC-1e-7"))
    with mp.workdps(DPS):
        assert abs(_mean_2d(lambda x: x, lambda y: y, d11, d22, d12) / d12 - 1) < 1e-12


@pytest.mark.parametrize(
    "delta0, delta",
    [("2", "1.9999"), pytest.param("0.4", "0.1", marks=pytest.mark.slow), pytest.param("7", "-3", marks=pytest.mark.slow)],
)
def test_potential_integral_derivative_is_equal_time_correlation(av, delta0, delta):
    """dPhi(D0, D)/dD = C(D0, D0, D): numerically (against 2-D quadrature) and symbolically."""
    phi_integral = _mp(av.potential_integral, [av.delta0, av.delta])
    with mp.workdps(DPS):
        d0, d = mp.mpf(delta0), mp.mpf(delta)
        derivative = mp.diff(lambda u: phi_integral(d0, u), d)
        assert abs(derivative - _mean_2d(_phi, _phi, d0, d0, d)) < TOLERANCE
    equal_time = av.correlation.subs({av.delta11: av.delta0, av.delta22: av.delta0, av.delta12: av.delta})
    assert sp.simplify(sp.diff(av.potential_integral, av.delta) - equal_time) == 0


def test_potential_integral_differences_match_quadrature_of_C(av):
    """Phi(D0, b) - Phi(D0, a) = integral_a^b C(D0, D0, u) du (1-D quadrature of the 2-D-checked C)."""
    phi_integral = _mp(av.potential_integral, [av.delta0, av.delta])
    corr = _mp(av.correlation, [av.delta11, av.delta22, av.delta12])
    with mp.workdps(DPS):
        for d0, a, b in [("0.01", "0", "0.01"), ("3", "-2.5", "2.99"), ("20", "1", "19.9")]:
            d0, a, b = mp.mpf(d0), mp.mpf(a), mp.mpf(b)
            integral = mp.quad(lambda u: corr(d0, d0, u), [a, b])
            assert abs(phi_integral(d0, b) - phi_integral(d0, a) - integral) < TOLERANCE


# ------------------------------------------------------------------ THEORY §3 formulas
def test_closed_forms_equal_theory_formulas(av):
    pi = sp.pi
    D, D0, psi = av.delta, av.delta0, av.psi
    d11, d22, d12 = av.delta11, av.delta22, av.delta12
    a = d11 + 2 / pi
    b = d22 + 2 / pi
    A = D0 + 2 / pi
    theory = {
        "gain": (1 + pi * D / 2) ** sp.Rational(-1, 2),
        "gain_inverse": 2 * (1 - psi**2) / (pi * psi**2),
        "slope_power": (1 + pi * D) ** sp.Rational(-1, 2),
        "correlation": (2 / pi) * sp.asin(d12 / sp.sqrt(a * b)),
        "slope_correlation": 2 / sp.sqrt((pi * d11 + 2) * (pi * d22 + 2) - (pi * d12) ** 2),
    }
    for name, formula in theory.items():
        assert sp.simplify(getattr(av, name) - formula) == 0, name
    # Phi is written with arctan in THEORY; on its domain |D| < A, arctan(D / sqrt(A^2 - D^2)) = asin(D / A).
    root = sp.sqrt(A**2 - D**2)
    phi_theory = (2 / pi) * (root + D * sp.atan(D / root))
    difference = av.potential_integral - phi_theory
    assert sp.simplify(difference.rewrite(sp.asin)) == 0 or sp.simplify(
        difference.subs(sp.atan(D / root), sp.asin(D / A))
    ) == 0
    # The substitution above is itself an identity: both sides vanish at D = 0 and have equal derivatives.
    identity = sp.atan(D / root) - sp.asin(D / A)
    assert identity.subs(D, 0) == 0
    assert sp.simplify(sp.diff(identity, D)) == 0


def test_derivative_identities(av):
    """dC/dD12 = <phi' phi'>, d psi/dD from the same family, C(D12 = 0) = 0."""
    assert sp.simplify(sp.diff(av.correlation, av.delta12) - av.slope_correlation) == 0
    assert av.correlation.subs(av.delta12, 0) == 0
    equal = av.slope_correlation.subs({av.delta11: av.delta, av.delta22: av.delta, av.delta12: av.delta})
    assert sp.simplify(equal - av.slope_power) == 0


def test_unknown_nonlinearity_is_input_error():
    with pytest.raises(ModelInputError) as info:
        gaussian_averages("relu")
    assert info.value.field == "nonlinearity"
