"""Integration of the g = 0 current dynamics (THEORY §2).

Without disorder the currents close on themselves:

    dS_e/dt = -S_e + psi(Delta_{src(e)}) * sum_f T_{e f} S_f,
    Delta_beta = sum_{f, f' into beta} U_{f f'} S_f S_f',

with ``psi`` the gain of the nonlinearity. :func:`integrate_currents` hands the
compiled, derived right-hand side and its Jacobian
(:func:`mrdmft.solvers.compiled.compile_system`) to :func:`scipy.integrate.solve_ivp`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.spec import ModelSpec

from .compiled import ModelArrays, compile_system
from .fixed_point_inputs import as_currents, positive_integer, positive_number, require_no_disorder

METHODS = ("LSODA", "BDF", "Radau", "RK45", "RK23", "DOP853")
"""Integrators of :func:`scipy.integrate.solve_ivp` accepted by :func:`integrate_currents`."""

IMPLICIT = ("LSODA", "BDF", "Radau")


@dataclass(frozen=True)
class CurrentTrajectory:
    """Currents along a solution of the g = 0 current ODE.

    Attributes
    ----------
    t : numpy.ndarray, shape (n_t,)
        Times (fewer than requested if the integration stopped early).
    currents : numpy.ndarray, shape (n_t, C)
        ``S(t)`` in channel order.
    variance : numpy.ndarray, shape (n_t, R)
        Structured variance ``Delta = sum U S S`` per region.
    gain : numpy.ndarray, shape (n_t, R)
        ``psi(Delta)`` per region.
    channel_names : list of str
        Names of the currents.
    regions : tuple of str
        Region names.
    success, status, message
        As returned by :func:`scipy.integrate.solve_ivp`.
    """

    t: np.ndarray
    currents: np.ndarray
    variance: np.ndarray
    gain: np.ndarray
    channel_names: list[str]
    regions: tuple[str, ...]
    success: bool
    status: int
    message: str

    def to_json(self) -> dict:
        """Final state and solver status as a JSON-ready dict."""
        return {
            "t_final": float(self.t[-1]),
            "currents_final": dict(zip(self.channel_names, map(float, self.currents[-1]))),
            "A_final": dict(zip(self.regions, map(float, self.variance[-1]))),
            "gain_final": dict(zip(self.regions, map(float, self.gain[-1]))),
            "success": self.success,
            "status": self.status,
            "message": self.message,
        }


def integrate_currents(
    spec: ModelSpec,
    initial: np.ndarray,
    t_max: float,
    n_points: int = 501,
    method: str = "LSODA",
    rtol: float = 1e-9,
    atol: float = 1e-11,
) -> CurrentTrajectory:
    """Integrate ``dS/dt = -S + psi(Delta(S))[src] * (T S)`` from ``initial`` to ``t_max``.

    Parameters
    ----------
    spec : ModelSpec
        Model with ``g = 0`` in every region.
    initial : array_like, shape (C,), or Mapping[str, float]
        ``S(0)``, in channel order (or by channel name).
    t_max : float
        Final time (units of the neuronal time constant), > 0.
    n_points : int
        Number of equally spaced output times in ``[0, t_max]`` (>= 2).
    method : str
        A :func:`scipy.integrate.solve_ivp` method (:data:`METHODS`); implicit ones get
        the derived Jacobian.
    rtol, atol : float
        Tolerances of the integrator.

    Returns
    -------
    CurrentTrajectory
        Failure of the integrator is reported in ``success`` / ``status`` / ``message``
        (with the part computed so far), not raised.

    Raises
    ------
    ModelInputError
        Bad ``initial`` (shape, NaN), ``t_max <= 0``, unknown ``method``, a region with
        ``g > 0`` (its currents follow the two-time DMFT).
    """
    require_no_disorder(spec, "its currents follow the two-time DMFT, not the g = 0 current ODE")
    S0 = as_currents(spec, initial, "initial")
    t_max = positive_number(t_max, "t_max", "give a positive final time")
    n_points = positive_integer(n_points, "n_points", minimum=2)
    rtol = positive_number(rtol, "rtol", "give a small positive tolerance, e.g. 1e-9")
    atol = positive_number(atol, "atol", "give a small positive tolerance, e.g. 1e-11")
    if method not in METHODS:
        raise ModelInputError("method", f"unknown integrator {method!r}", f"use one of {', '.join(METHODS)}")

    compiled = compile_system(spec)
    arrays = ModelArrays.from_spec(spec)

    def rhs(_t: float, S: np.ndarray) -> np.ndarray:
        return compiled.rhs(S, arrays)

    def jacobian(_t: float, S: np.ndarray) -> np.ndarray:
        return compiled.jacobian(S, arrays)

    t_eval = np.linspace(0.0, t_max, n_points)
    options = {"jac": jacobian} if method in IMPLICIT else {}
    solution = solve_ivp(rhs, (0.0, t_max), S0, method=method, t_eval=t_eval, rtol=rtol, atol=atol, **options)
    currents = np.asarray(solution.y, dtype=float).T.reshape(-1, spec.n_channels)
    if currents.shape[0] == 0:  # failed before the first output time: report the start
        currents, t = S0[None, :], np.zeros(1)
    else:
        t = np.asarray(solution.t, dtype=float)
    variance = compiled.variance(currents, arrays)
    return CurrentTrajectory(
        t=t,
        currents=currents,
        variance=variance,
        gain=compiled.gain(variance),
        channel_names=spec.channel_names,
        regions=tuple(spec.regions),
        success=bool(solution.success),
        status=int(solution.status),
        message=str(solution.message),
    )
