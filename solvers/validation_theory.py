"""Theory curves ``Delta(tau)`` to compare simulations with (split from :mod:`.validation`).

Two independent routes to the stationary autocovariance of a region:

* **particle in a potential** (THEORY §4): with the stationary solution ``(Delta0, Delta_inf, A)``
  of :mod:`mrdmft.solvers.stationary`, integrate

  .. math::

      \\frac{d^2 \\Delta}{d\\tau^2} = -V'(\\Delta) = \\Delta - g^2 C(\\Delta_0, \\Delta_0, \\Delta) - A,
      \\qquad \\Delta(0) = \\Delta_0,\\ \\Delta'(0) = 0,

  with ``V'`` lambdified from :func:`mrdmft.theory.stationary_equations.stationary_equations`
  (``force``). The solution creeps up to the hilltop ``Delta_inf`` (where ``V'`` vanishes)
  only asymptotically; numerically it eventually turns back or overshoots, so the
  integration stops at the first turning point or crossing of ``Delta_inf`` and the curve
  is continued by ``Delta_inf`` from there (the distance to ``Delta_inf`` at that point
  is returned for the record). In the static phase ``Delta(tau) = Delta0``.
* **two-time DMFT** (THEORY §2): integrate :func:`mrdmft.solvers.dmft.solve_dmft` long
  enough to be stationary and read ``Delta(t_end, t_end - tau)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from numbers import Real

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.spec import ModelSpec
from mrdmft.theory.stationary_equations import stationary_equations

from .dmft import solve_dmft
from .lambdify_batched import MODULES
from .stationary import StationarySolution

__all__ = ["TheoryCurve", "potential_autocorrelation", "dmft_autocorrelation"]

ODE_RTOL = 1e-12
"""Relative tolerance of the particle-in-a-potential integration."""

DMFT_MIN_WINDOW_TIME = 40.0
"""Smallest lag window (time units) kept by :func:`dmft_autocorrelation` (see solvers/dmft.py)."""


@dataclass(frozen=True, eq=False)
class TheoryCurve:
    """A theory ``Delta^alpha(tau)``.

    Attributes
    ----------
    tau : numpy.ndarray, shape (L,)
        Lags.
    delta : numpy.ndarray, shape (R, L)
        ``Delta^alpha(tau)``.
    source : str
        How it was computed.
    success : bool
        False if the computation failed (``delta`` may then be NaN or incomplete).
    message : str
        Status text (stationarity check, closest approach of ``Delta_inf``).
    residual : float
        DMFT: largest change of ``Delta(t, t - tau)`` over the last ``drift_time`` of the
        run (how stationary it is). Potential: largest distance to ``Delta_inf`` where the
        integration was stopped and continued by ``Delta_inf``.
    """

    tau: np.ndarray
    delta: np.ndarray
    source: str
    success: bool
    message: str
    residual: float


@lru_cache(maxsize=None)
def _force(nonlinearity: str) -> Callable[..., np.ndarray]:
    """Lambdified ``V'(Delta; Delta0, g, A)``."""
    eq = stationary_equations(nonlinearity)
    return sp.lambdify([eq.delta, eq.delta0, eq.g, eq.A], eq.force, modules=MODULES)


def _check_tau(tau: object) -> np.ndarray:
    try:
        tau = np.asarray(tau, dtype=float)
    except (TypeError, ValueError):
        raise ModelInputError("tau", "is not numeric", "give increasing lags >= 0") from None
    if tau.ndim != 1 or tau.size == 0 or not np.all(np.isfinite(tau)) or tau[0] < 0 or np.any(np.diff(tau) <= 0):
        raise ModelInputError("tau", "must be a non-empty increasing 1-d array of lags >= 0", "e.g. numpy.linspace(0, 20, 201)")
    return tau


def potential_autocorrelation(
    solution: StationarySolution, tau: np.ndarray, nonlinearity: str = "erf"
) -> TheoryCurve:
    """``Delta(tau)`` of one region from the particle-in-a-potential problem (module docstring).

    Parameters
    ----------
    solution : StationarySolution
        From :func:`~mrdmft.solvers.stationary.solve_stationary` (its ``Delta0``,
        ``Delta_inf``, ``A``, ``g`` and phase are used).
    tau : array_like, shape (L,)
        Increasing lags ``>= 0``.
    nonlinearity : str
        Nonlinearity of the derived potential.

    Returns
    -------
    TheoryCurve
        ``delta`` of shape (1, L).
    """
    if not isinstance(solution, StationarySolution):
        raise ModelInputError("solution", f"expected a StationarySolution, got {type(solution).__name__}", "use solve_stationary()")
    tau = _check_tau(tau)
    source = f"particle in a potential (THEORY §4), phase {solution.phase}"
    if not solution.success:
        return TheoryCurve(tau, np.full((1, tau.size), np.nan), source, False, solution.message, math.nan)
    d0, dinf, A, g = solution.Delta0, solution.Delta_inf, solution.A, solution.g
    if solution.phase in ("static", "quiescent") or d0 == dinf:
        return TheoryCurve(tau, np.full((1, tau.size), d0), source, True, "Delta(tau) = Delta0 (no fluctuations decay)", 0.0)
    force = _force(nonlinearity)

    def rhs(_: float, y: np.ndarray) -> list[float]:
        return [y[1], -float(force(y[0], d0, g, A))]

    def turned(_: float, y: np.ndarray) -> float:
        return y[1]  # velocity returns to 0 from below: the particle turns back

    def crossed(_: float, y: np.ndarray) -> float:
        return y[0] - dinf  # overshoots the hilltop

    turned.terminal, turned.direction = True, 1.0  # type: ignore[attr-defined]
    crossed.terminal, crossed.direction = True, -1.0  # type: ignore[attr-defined]
    span = (0.0, float(tau[-1]) if tau[-1] > 0 else 1.0)
    # start just past tau = 0: there the velocity is exactly 0 and would trigger `turned`
    sol = solve_ivp(rhs, span, [d0, 0.0], method="DOP853", rtol=ODE_RTOL, atol=ODE_RTOL * max(d0, 1.0),
                    dense_output=True, events=[turned, crossed], first_step=1e-6)
    if sol.status == -1:
        return TheoryCurve(tau, np.full((1, tau.size), np.nan), source, False, f"integration failed: {sol.message}", math.nan)
    t_stop = float(sol.t[-1])
    delta = np.full(tau.size, dinf)
    inside = tau <= t_stop
    delta[inside] = sol.sol(tau[inside])[0]
    stopped = sol.status == 1
    residual = abs(float(sol.y[0, -1]) - dinf) if stopped else 0.0
    message = (
        f"continued by Delta_inf from tau = {t_stop:.4g} (distance to Delta_inf there {residual:.2e})"
        if stopped
        else "integrated over the whole range"
    )
    return TheoryCurve(tau, delta[None, :], source, True, message, residual)


def dmft_autocorrelation(
    spec: ModelSpec,
    max_lag: float,
    t_max: float = 400.0,
    dt: float = 0.05,
    drift_time: float = 10.0,
    stationarity_tol: float = 1e-4,
) -> TheoryCurve:
    """Stationary ``Delta^alpha(tau)`` of every region from the two-time DMFT.

    Runs ``solve_dmft(spec, t_max, dt, window=W)`` with ``W dt >= max(2 max_lag, 40)`` (the
    lags near the window edge carry the memory-continuation error) and
    returns ``Delta(t_end, t_end - tau)`` for ``tau <= max_lag``. Stationarity is checked
    by comparing that row with the one ``drift_time`` earlier.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    max_lag : float
        Largest lag returned.
    t_max, dt : float
        DMFT run length and step (use the simulation's ``dt``: the Euler DMFT is the exact
        covariance of the Euler-discretized network, see :mod:`mrdmft.solvers.dmft`).
    drift_time : float
        Time between the two compared rows.
    stationarity_tol : float
        Largest accepted change (absolute) between the rows; ``success`` is False above it.

    Returns
    -------
    TheoryCurve
    """
    if isinstance(max_lag, bool) or not isinstance(max_lag, Real) or not math.isfinite(max_lag) or max_lag <= 0:
        raise ModelInputError("max_lag", f"got {max_lag!r}", "give a lag > 0")
    if not 0 < drift_time < t_max - max_lag:
        raise ModelInputError("drift_time", f"{drift_time} does not fit in the run", "use 0 < drift_time < t_max - max_lag")
    window = int(math.ceil(max(2 * max_lag, DMFT_MIN_WINDOW_TIME) / dt)) + 1
    result = solve_dmft(spec, t_max, dt=dt, window=window)
    source = f"two-time DMFT (dt = {dt:g}, t_max = {t_max:g}, window {window})"
    L = int(math.floor(max_lag / dt + 1e-9)) + 1
    if not result.success:
        return TheoryCurve(dt * np.arange(L), np.full((spec.n_regions, L), np.nan), source, False, result.message, math.nan)
    last = result.lag_row(-1)[:, :L]
    earlier = result.lag_row(result.n_t - 1 - int(round(drift_time / dt)))[:, :L]
    drift = float(np.max(np.abs(last - earlier)))
    ok = drift <= stationarity_tol
    message = f"change over the last {drift_time:g} time units: {drift:.2e}" + ("" if ok else " (not stationary: run longer)")
    return TheoryCurve(dt * np.arange(L), last, source, ok, message, drift)
