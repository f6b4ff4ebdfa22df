"""Stationary solutions of one region: the particle-in-a-potential problem (THEORY §4-5).

With static currents (structured variance ``A``) and stationary fluctuations, the
autocovariance ``Delta(tau)`` of a region with disorder ``g`` obeys

    d^2 Delta / d tau^2 = -V'(Delta),    V(Delta) = -Delta^2 / 2 + g^2 Phi(Delta0, Delta) + A Delta,

where ``Phi`` is the antiderivative of ``C(Delta0, Delta0, Delta)`` from
:mod:`mrdmft.theory.gaussian`. A stationary solution starts at rest at ``Delta0`` and
ends at rest at ``Delta_inf``:

* extremum   ``V'(Delta_inf) = 0``        =>  ``A = Delta_inf - g^2 C(Delta0, Delta0, Delta_inf)``;
* energy     ``V(Delta0) = V(Delta_inf)`` (with that ``A`` substituted);
* stability of the static solution (``Delta_inf = Delta0``): ``V''(Delta0) <= 0``, which the
  derivation reduces to ``g^2 <phi'^2>(Delta0) <= 1``.

A loop of strength ``lambda > 1`` pins the gain at ``1/lambda``, so the total variance is
``Delta0 = psi^{-1}(1/lambda)``. This gives two transition values of ``g``, both in closed
form (derived here, not typed in):

* chaos onset: ``V''(Delta0) = 0``  =>  ``g = <phi'^2>(Delta0)^(-1/2)``;
* currents vanish: the energy condition at ``A = 0`` (``Delta_inf = 0``), which is *linear*
  in ``g^2``  =>  ``g^2 = Delta0^2 / (2 [Phi(Delta0, Delta0) - Phi(Delta0, 0)])``; there the
  Sompolinsky-Crisanti-Sommers (SCS) variance of pure chaos equals the pinned ``Delta0``.

Everything is a sympy expression; :mod:`mrdmft.solvers.stationary` lambdifies it.

A remark used by the solver (exact, Taylor's theorem with integral remainder): because
``V'(Delta_inf) = 0``, the energy condition factorizes as

    V(Delta0) - V(Delta_inf) = y^2 * int_0^1 (1 - t) V''(Delta_inf + t y) dt,   y = Delta0 - Delta_inf,

so the trivial double root ``Delta_inf = Delta0`` can be divided out without cancellation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from .gaussian import GaussianAverages, gaussian_averages


@dataclass(frozen=True)
class StationaryEquations:
    """Symbolic stationary problem of one region (THEORY §4).

    Attributes
    ----------
    averages : GaussianAverages
        Gaussian averages of the nonlinearity (symbols ``delta``, ``delta0`` come from here).
    delta, delta0, delta_inf : sympy.Symbol
        ``Delta`` (position of the particle), ``Delta0 = Delta(0)``, ``Delta_inf``.
    g, A, loop_strength : sympy.Symbol
        Disorder, structured (static) variance, loop strength ``lambda``.
    potential : sympy.Expr
        ``V(Delta) = -Delta^2/2 + g^2 Phi(Delta0, Delta) + A Delta``.
    force : sympy.Expr
        ``V'(Delta)`` (equals ``-Delta + g^2 C(Delta0, Delta0, Delta) + A``).
    curvature : sympy.Expr
        ``V''(Delta)`` (equals ``-1 + g^2 <phi' phi'>(Delta0, Delta0, Delta)``; no ``A``).
    static_variance : sympy.Expr
        ``A`` solving ``V'(Delta_inf) = 0``: ``Delta_inf - g^2 C(Delta0, Delta0, Delta_inf)``.
    energy_condition : sympy.Expr
        ``V(Delta0) - V(Delta_inf)`` with ``A = static_variance``; zero at a solution.
    stability : sympy.Expr
        ``V''(Delta0)``; the static solution is stable iff it is ``<= 0``.
    pinned_variance : sympy.Expr
        ``Delta0 = psi^{-1}(1 / lambda)`` (in ``loop_strength``).
    static_A : sympy.Expr
        ``A`` of the static phase, ``Delta0 - g^2 C(Delta0, Delta0, Delta0)``.
    chaos_onset : sympy.Expr
        ``g`` at which ``stability = 0``, as a function of ``Delta0``.
    currents_vanish : sympy.Expr
        ``g`` at which the energy condition holds with ``Delta_inf = 0`` (``A = 0``), as a
        function of ``Delta0``; inverted, it is the SCS relation between ``g`` and ``Delta0``.
    """

    averages: GaussianAverages
    delta: sp.Symbol
    delta0: sp.Symbol
    delta_inf: sp.Symbol
    g: sp.Symbol
    A: sp.Symbol
    loop_strength: sp.Symbol
    potential: sp.Expr
    force: sp.Expr
    curvature: sp.Expr
    static_variance: sp.Expr
    energy_condition: sp.Expr
    stability: sp.Expr
    pinned_variance: sp.Expr
    static_A: sp.Expr
    chaos_onset: sp.Expr
    currents_vanish: sp.Expr

    def in_loop_strength(self, expression: sp.Expr) -> sp.Expr:
        """Substitute the pinned ``Delta0(lambda)`` into an expression and simplify."""
        return sp.simplify(expression.subs(self.delta0, self.pinned_variance))


def _check_zero(expression: sp.Expr, what: str) -> None:
    if sp.simplify(expression) != 0:
        raise RuntimeError(f"stationary derivation check failed: {what}")


def _disorder_root(equation: sp.Expr, g: sp.Symbol, what: str) -> sp.Expr:
    """Solve ``equation = 0`` for ``g > 0``; the equation must be linear in ``g^2``."""
    g_squared = sp.Symbol("g_squared", positive=True)
    linear = sp.expand(equation.subs(g, sp.sqrt(g_squared)))
    if sp.degree(linear, g_squared) != 1 or linear.has(g):
        raise RuntimeError(f"{what}: equation is not linear in g^2")
    roots = sp.solve(linear, g_squared)
    if len(roots) != 1:
        raise RuntimeError(f"{what}: expected one root in g^2, got {roots}")
    return sp.simplify(sp.sqrt(roots[0]))


@lru_cache(maxsize=None)
def stationary_equations(nonlinearity: str = "erf") -> StationaryEquations:
    """Derive the stationary (particle-in-a-potential) problem with sympy (cached).

    Parameters
    ----------
    nonlinearity : str
        Name accepted by :func:`mrdmft.theory.gaussian.gaussian_averages` (``"erf"``).

    Returns
    -------
    StationaryEquations

    Raises
    ------
    ModelInputError
        If the nonlinearity has no closed-form Gaussian averages.
    """
    av = gaussian_averages(nonlinearity)
    delta, delta0 = av.delta, av.delta0
    delta_inf = sp.Symbol("Delta_inf", nonnegative=True)
    g = sp.Symbol("g", positive=True)
    A = sp.Symbol("A", real=True)
    lam = sp.Symbol("lambda", positive=True)

    def equal_time(expr: sp.Expr, at: sp.Expr) -> sp.Expr:
        """Evaluate a two-point average at D11 = D22 = Delta0, D12 = at."""
        return expr.subs({av.delta11: delta0, av.delta22: delta0}).subs(av.delta12, at)

    potential = -(delta**2) / 2 + g**2 * av.potential_integral + A * delta
    force = sp.diff(potential, delta)
    curvature = sp.diff(force, delta)
    _check_zero(force - (-delta + g**2 * equal_time(av.correlation, delta) + A), "V' = -D + g^2 C + A")
    _check_zero(curvature - (-1 + g**2 * equal_time(av.slope_correlation, delta)), "V'' = -1 + g^2 <phi'phi'>")

    solutions = sp.solve(sp.Eq(force.subs(delta, delta_inf), 0), A)
    if len(solutions) != 1:
        raise RuntimeError(f"V'(Delta_inf) = 0 is not uniquely solvable for A: {solutions}")
    static_variance = sp.simplify(solutions[0])

    energy_condition = (potential.subs(delta, delta0) - potential.subs(delta, delta_inf)).subs(A, static_variance)

    stability = sp.simplify(curvature.subs(delta, delta0))
    _check_zero(stability - (-1 + g**2 * av.slope_power.subs(av.delta, delta0)), "V''(Delta0) = -1 + g^2 <phi'^2>")

    pinned_variance = sp.simplify(av.gain_inverse.subs(av.psi, 1 / lam))
    static_A = sp.simplify(static_variance.subs(delta_inf, delta0))

    chaos_onset = _disorder_root(stability, g, "chaos onset")
    pure_chaos = energy_condition.subs(delta_inf, 0)
    _check_zero(static_variance.subs(delta_inf, 0), "A = 0 at Delta_inf = 0 (phi odd)")
    currents_vanish = _disorder_root(pure_chaos, g, "currents vanish")

    return StationaryEquations(
        averages=av,
        delta=delta,
        delta0=delta0,
        delta_inf=delta_inf,
        g=g,
        A=A,
        loop_strength=lam,
        potential=potential,
        force=force,
        curvature=curvature,
        static_variance=static_variance,
        energy_condition=energy_condition,
        stability=stability,
        pinned_variance=pinned_variance,
        static_A=static_A,
        chaos_onset=chaos_onset,
        currents_vanish=currents_vanish,
    )


def transition_formulas(nonlinearity: str = "erf") -> dict[str, sp.Expr]:
    """Closed forms, in the loop strength ``lambda``, of a pinned region's stationary problem.

    Returns
    -------
    dict of str to sympy.Expr
        ``"Delta0"``: pinned total variance ``psi^{-1}(1/lambda)``;
        ``"A_static"``: structured variance of the static phase (also a function of ``g``);
        ``"g_chaos_onset"``: ``g`` where ``g^2 <phi'^2>(Delta0) = 1``;
        ``"g_currents_vanish"``: ``g`` where the SCS variance of pure chaos equals ``Delta0``.
        Valid for ``lambda > 1`` (a loop that pins the gain).
    """
    eq = stationary_equations(nonlinearity)
    return {
        "Delta0": eq.pinned_variance,
        "A_static": eq.in_loop_strength(eq.static_A),
        "g_chaos_onset": eq.in_loop_strength(eq.chaos_onset),
        "g_currents_vanish": eq.in_loop_strength(eq.currents_vanish),
    }


def format_transition_formulas(nonlinearity: str = "erf", latex: bool = False) -> str:
    """Human-readable lines ``name = expression`` of :func:`transition_formulas`.

    Parameters
    ----------
    nonlinearity : str
        Nonlinearity name.
    latex : bool
        Use LaTeX instead of sympy's plain-text form.
    """
    render = sp.latex if latex else sp.sstr
    lines = [f"{name}(lambda) = {render(expr)}" for name, expr in transition_formulas(nonlinearity).items()]
    return "\n".join(lines)
