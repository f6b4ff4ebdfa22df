"""Gaussian averages of the nonlinearity, derived with sympy (THEORY §3).

For phi(x) = erf(sqrt(pi) x / 2), so that phi'(x) = exp(-pi x^2 / 4):

* gain          psi(Delta)   = <phi'(x)>,   x ~ N(0, Delta)        -> (1 + pi Delta / 2)^(-1/2)
* slope power   <phi'^2>(Delta)                                    -> (1 + pi Delta)^(-1/2)
* <phi'(x) phi'(y)> over (x, y) ~ N(0, [[D11, D12], [D12, D22]])   -> 2 / sqrt((pi D11 + 2)(pi D22 + 2) - (pi D12)^2)
* C(D11, D22, D12) = <phi(x) phi(y)> = integral_0^D12 <phi' phi'> (Price's theorem; C = 0 at D12 = 0 because phi is odd)
                                                                   -> (2/pi) asin(D12 / sqrt(a b)),  a = D11 + 2/pi, b = D22 + 2/pi
* Phi(D0, D) = antiderivative of C(D0, D0, D) in D                 -> (2/pi) [sqrt(A^2 - D^2) + D asin(D / A)],  A = D0 + 2/pi

The one-dimensional averages are computed by sympy as Gaussian integrals; the
two-dimensional one uses the identity E[exp(-z^T M z / 2)] = det(I + M Sigma)^(-1/2)
for z ~ N(0, Sigma), with M = (pi/2) I; C and Phi are sympy integrals of it. Every
expression is checked against mpmath quadrature in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from .errors import ModelInputError


@dataclass(frozen=True)
class GaussianAverages:
    """Symbolic Gaussian averages of one nonlinearity.

    Attributes
    ----------
    delta, delta11, delta22, delta12 : sympy.Symbol
        Variances / covariance the expressions depend on.
    phi : sympy.Expr
        phi(x) in the variable ``x``.
    gain : sympy.Expr
        psi(Delta) = <phi'(x)>.
    gain_inverse : sympy.Expr
        Delta as a function of ``psi`` (the inverse of ``gain``).
    slope_power : sympy.Expr
        <phi'(x)^2>(Delta).
    slope_correlation : sympy.Expr
        <phi'(x) phi'(y)>(D11, D22, D12) = dC/dD12.
    correlation : sympy.Expr
        C(D11, D22, D12) = <phi(x) phi(y)>.
    potential_integral : sympy.Expr
        Phi(D0, D): antiderivative of C(D0, D0, D) in D (variables ``delta0``, ``delta``).
    """

    x: sp.Symbol
    delta: sp.Symbol
    delta0: sp.Symbol
    delta11: sp.Symbol
    delta22: sp.Symbol
    delta12: sp.Symbol
    psi: sp.Symbol
    phi: sp.Expr
    gain: sp.Expr
    gain_inverse: sp.Expr
    slope_power: sp.Expr
    slope_correlation: sp.Expr
    correlation: sp.Expr
    potential_integral: sp.Expr


def _gaussian_mean(integrand: sp.Expr, x: sp.Symbol, variance: sp.Symbol) -> sp.Expr:
    """<f(x)> for x ~ N(0, variance), integrated by sympy."""
    density = sp.exp(-(x**2) / (2 * variance)) / sp.sqrt(2 * sp.pi * variance)
    return sp.simplify(sp.integrate(integrand * density, (x, -sp.oo, sp.oo)))


@lru_cache(maxsize=None)
def gaussian_averages(nonlinearity: str = "erf") -> GaussianAverages:
    """Derive the Gaussian averages of a nonlinearity (cached per name).

    Parameters
    ----------
    nonlinearity : str
        Only ``"erf"`` has closed forms: phi(x) = erf(sqrt(pi) x / 2).

    Returns
    -------
    GaussianAverages
    """
    if nonlinearity != "erf":
        raise ModelInputError(
            "nonlinearity", f"no closed-form Gaussian averages for {nonlinearity!r}", "use nonlinearity = \"erf\""
        )
    x = sp.Symbol("x", real=True)
    delta = sp.Symbol("Delta", positive=True)
    delta0 = sp.Symbol("Delta_0", positive=True)
    d11, d22 = sp.symbols("Delta_11 Delta_22", positive=True)
    d12 = sp.Symbol("Delta_12", real=True)
    psi = sp.Symbol("psi", positive=True)

    phi = sp.erf(sp.sqrt(sp.pi) * x / 2)
    phi_prime = sp.diff(phi, x)
    gain = _gaussian_mean(phi_prime, x, delta)
    slope_power = _gaussian_mean(phi_prime**2, x, delta)
    inverse = sp.solve(sp.Eq(gain, psi), delta)
    if len(inverse) != 1:
        raise RuntimeError(f"gain inverse is not unique: {inverse}")
    gain_inverse = sp.simplify(inverse[0])

    # <phi'(x) phi'(y)> with phi'(z) = exp(-pi z^2 / 4) = exp(-z^T M z / 2), M = (pi/2) I.
    sigma = sp.Matrix([[d11, d12], [d12, d22]])
    curvature = sp.simplify(-sp.diff(sp.log(phi_prime), x, 2))  # M = -(log phi')'' = pi/2
    if curvature.has(x) or sp.simplify(phi_prime - phi_prime.subs(x, 0) * sp.exp(-curvature * x**2 / 2)) != 0:
        raise RuntimeError("phi' is not a centred Gaussian")
    if phi_prime.subs(x, 0) != 1:
        raise RuntimeError("phi'(0) must be 1 for the determinant formula used here")
    determinant = sp.expand((sp.eye(2) + curvature * sigma).det())
    slope_correlation = sp.simplify(1 / sp.sqrt(determinant))

    # Price's theorem: dC/dD12 = <phi' phi'>; C(D12 = 0) = 0 (phi odd).
    # Write <phi' phi'> = (2/pi) / sqrt(q^2 - u^2) with q^2 = det-part / pi^2 and integrate.
    q = sp.Symbol("q", positive=True)
    u = sp.Symbol("u", real=True)
    q_value = sp.sqrt((sp.pi * d11 + 2) * (sp.pi * d22 + 2)) / sp.pi
    rewritten = (2 / sp.pi) / sp.sqrt(q**2 - d12**2)
    if sp.simplify(rewritten.subs(q, q_value) - slope_correlation) != 0:
        raise RuntimeError("<phi' phi'> rewrite failed")
    correlation = sp.integrate(rewritten.subs(d12, u), (u, 0, d12)).subs(q, q_value)
    correlation = sp.simplify(correlation)

    # Phi(D0, D) = antiderivative of C(D0, D0, u) in u; A = D0 + 2/pi.
    amplitude = sp.Symbol("A", positive=True)
    c_equal = correlation.subs({d11: delta0, d22: delta0})
    c_in_A = (2 / sp.pi) * sp.asin(u / amplitude)
    if sp.simplify(c_in_A.subs(amplitude, delta0 + 2 / sp.pi) - c_equal.subs(d12, u)) != 0:
        raise RuntimeError("C(D0, D0, D) rewrite failed")
    antiderivative = sp.integrate(c_in_A, u).subs(amplitude, delta0 + 2 / sp.pi).subs(u, delta)

    return GaussianAverages(
        x=x,
        delta=delta,
        delta0=delta0,
        delta11=d11,
        delta22=d22,
        delta12=d12,
        psi=psi,
        phi=phi,
        gain=gain,
        gain_inverse=gain_inverse,
        slope_power=slope_power,
        slope_correlation=slope_correlation,
        correlation=correlation,
        potential_integral=sp.simplify(antiderivative),
    )
