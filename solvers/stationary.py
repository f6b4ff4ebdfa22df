"""Stationary solutions per region: static, chaos with currents, pure chaos (THEORY §4-5).

A region with disorder ``g`` whose gain is pinned by a loop of strength ``lambda > 1``
has total variance ``Delta0 = psi^{-1}(1/lambda)``. Its stationary state solves the
particle-in-a-potential problem derived in :mod:`mrdmft.theory.stationary_equations`:

* **static** (``Delta_inf = Delta0``, ``A = Delta0 - g^2 C(Delta0, Delta0, Delta0)``) while
  ``V''(Delta0) = -1 + g^2 <phi'^2>(Delta0) <= 0``;
* **chaos+currents** (``0 < Delta_inf < Delta0``, ``A = Delta_inf - g^2 C(Delta0, Delta0, Delta_inf) > 0``)
  where the reduced energy condition below changes sign inside ``(0, Delta0)``;
* **chaos** (``A = 0``, ``Delta_inf = 0``, ``Delta0`` = SCS variance of ``g``) once the SCS
  variance exceeds the pinned one; **quiescent** (all zero) when ``g <= 1`` and ``lambda <= 1``.

Root finding never sees the trivial root ``Delta_inf = Delta0``: it works with the
*reduced energy*

    G(Delta0, x, g) = [V(Delta0) - V(x)] / (Delta0 - x)^2 = int_0^1 (1 - t) V''(x + t (Delta0 - x)) dt,

(exact because ``V'(x) = 0`` once ``A`` is eliminated), whose limit at ``x = Delta0`` is
``V''(Delta0) / 2``. For ``Delta0 - x <= 1`` the integral is evaluated by Gauss-Legendre
quadrature of the lambdified ``V''`` (no cancellation near the double root); otherwise the
lambdified closed-form energy condition is divided by ``(Delta0 - x)^2``. The tests check
this fast path against the derived energy condition evaluated with mpmath.

Roots are found by vectorized bisection on a sign-changing bracket (so a whole grid of
``(lambda, g)`` is solved at once and a root is never lost to a NaN); per-point failures
are reported in ``success`` / ``status`` / ``message``. Transition values of ``g`` are
the closed forms of :func:`mrdmft.theory.stationary_equations.transition_formulas`,
evaluated with mpmath.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import mpmath as mp
import numpy as np
import sympy as sp

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.spec import ModelSpec, require_spec
from mrdmft.theory.stationary_equations import StationaryEquations, stationary_equations

from .compiled import BoundSystem, ModelArrays, compile_system
from .fixed_point_newton import levenberg_marquardt
from .lambdify_batched import MODULES

PHASES = ("static", "chaos+currents", "chaos", "quiescent", "undetermined")
#: Hint appended to the model-level failures: the two-time DMFT has no regime restriction.
USE_DMFT = "use `mrdmft dmft` (solve_dmft) for this model"
STATUS_MESSAGES = {
    0: "converged",
    1: "no sign change of the reduced energy on the expected bracket",
    2: "bisection did not converge",
    3: "non-finite value of the reduced energy",
    4: "the per-region (paper-regime) theory does not apply to this model: the per-region solutions are not "
    "a self-consistent stationary state of the whole model, and solving the whole model found no stable "
    "state with constant currents (one A per region); " + USE_DMFT,
    5: "no stable fixed point found at g = 0 (the currents may oscillate or be chaotic, or the multi-start search missed "
    "it), so no loop pins the gains and the "
    "per-region (paper-regime) theory does not apply; solving the whole model found no stable "
    "state with constant currents (one A per region) either; " + USE_DMFT,
}
#: Status codes of model-level failures (:func:`stationary_regions`), not of one region's solve.
INCONSISTENT, NO_STABLE_FIXED_POINT = 4, 5
#: Max |residual| (currents scaled by sqrt(max A)) below which the per-region solutions count as consistent.
CONSISTENCY_TOL = 1e-8
#: Random starts of the consistency search (besides the rescaled g = 0 fixed point).
CONSISTENCY_STARTS = 24
#: Eigenvalues of Psi L with Re above 1 + this make the state without currents unstable.
ZERO_STATE_TOL = 1e-9
_QUADRATURE_NODES = 24
_QUADRATURE_SPAN = 1.0  # use quadrature when Delta0 - Delta_inf <= this
_BISECTION_STEPS = 200
#: A region whose structured variance at the g = 0 fixed point is below this has no active loop
#: (A ~ (4/pi)(lambda - 1) near threshold, so loops with lambda - 1 below ~1e-10 count as
#: threshold loops, like ZERO_STATE_TOL). Points that only met the residual test near the
#: degenerate root of a loop of strength exactly 1 are no longer fixed points
#: (:func:`~mrdmft.solvers.fixed_points.settled_roots`), so no larger margin is needed.
LOOP_A_TOLERANCE = 1e-10
#: A self-consistent state whose adiabatic Jacobian has max Re lambda above -ADIABATIC_MARGIN is
#: reported with a caveat (fig6-r3 with g = [0, 1.45, 0]: -0.016 adiabatically, a limit cycle in the DMFT).
ADIABATIC_MARGIN = 0.05


# ---------------------------------------------------------------------------- results
@dataclass(frozen=True)
class StationarySolution:
    """Stationary state of one region.

    Attributes
    ----------
    phase : str
        ``"static"``, ``"chaos+currents"``, ``"chaos"`` or ``"quiescent"``.
    Delta0 : float
        Total variance ``Delta(0)``.
    Delta_inf : float
        ``Delta(tau -> infinity)`` (equals ``Delta0`` in the static phase).
    A : float
        Structured (static, current-carrying) variance.
    g : float
        Disorder strength.
    loop_strength : float
        Loop strength ``lambda`` (0: no loop).
    success : bool
        Whether the solve succeeded (values are NaN otherwise).
    status : int
        0 success; 1 no bracket; 2 no convergence; 3 non-finite values.
    message : str
        Human-readable status.
    """

    phase: str
    Delta0: float
    Delta_inf: float
    A: float
    g: float
    loop_strength: float
    success: bool
    status: int
    message: str

    def to_dict(self) -> dict[str, object]:
        """Plain-JSON dict of the solution."""
        return {
            "phase": self.phase,
            "Delta0": self.Delta0,
            "Delta_inf": self.Delta_inf,
            "A": self.A,
            "g": self.g,
            "loop_strength": self.loop_strength,
            "success": self.success,
            "status": self.status,
            "message": self.message,
        }


@dataclass(frozen=True)
class StationarySweep:
    """Stationary solutions on a broadcast grid of ``(loop_strength, g)``.

    Attributes
    ----------
    loop_strength, g : numpy.ndarray
        The broadcast inputs.
    phase : numpy.ndarray of str
        Phase per point.
    Delta0, Delta_inf, A : numpy.ndarray
        Solution per point (NaN where ``success`` is False).
    success : numpy.ndarray of bool
    status : numpy.ndarray of int
    """

    loop_strength: np.ndarray
    g: np.ndarray
    phase: np.ndarray
    Delta0: np.ndarray
    Delta_inf: np.ndarray
    A: np.ndarray
    success: np.ndarray
    status: np.ndarray

    def solution(self, index: tuple[int, ...] | int) -> StationarySolution:
        """The :class:`StationarySolution` of one grid point."""
        status = int(self.status[index])
        return StationarySolution(
            phase=str(self.phase[index]),
            Delta0=float(self.Delta0[index]),
            Delta_inf=float(self.Delta_inf[index]),
            A=float(self.A[index]),
            g=float(self.g[index]),
            loop_strength=float(self.loop_strength[index]),
            success=bool(self.success[index]),
            status=status,
            message=STATUS_MESSAGES[status],
        )


@dataclass(frozen=True)
class ConsistencyCheck:
    """Whether per-region stationary solutions form one stationary state of the whole model.

    The per-region theory fixes each region's gain ``psi^beta = psi(Delta0^beta)`` and
    structured variance ``A^beta``. They describe a stationary state of the model only if
    static currents exist with

        S_f = psi^{src(f)} (T S)_f   for every channel f,
        sum_{f, f' into beta} U_{f f'} S_f S_f' = A^beta   for every region beta,

    and, when every ``A^beta = 0`` (no currents), the state without currents is linearly
    stable with those gains (every eigenvalue of ``Psi L`` has ``Re <= 1``).

    Attributes
    ----------
    consistent : bool
        Currents were found with ``residual <= tolerance`` (and the stability condition holds).
    residual : float
        Smallest ``max |F|`` over the starts, with currents measured in units of
        ``sqrt(max_beta A^beta)`` (1 if every ``A`` is 0); inf if nothing finite was reached.
    currents : numpy.ndarray, shape (C,)
        The currents of the best start (NaN if none).
    tolerance : float
        Acceptance tolerance on ``residual``.
    detail : str
        One sentence on the outcome.
    """

    consistent: bool
    residual: float
    currents: np.ndarray
    tolerance: float
    detail: str


@dataclass(frozen=True)
class StationaryReport:
    """Per-region stationary solutions and transition values of a model.

    Attributes
    ----------
    model : str
        Model name.
    regions : tuple of str
        Region names.
    loop_strengths : numpy.ndarray, shape (R,)
        ``lambda^alpha`` used (0: no loop).
    loop_source : str
        ``"given"``, ``"fixed_points"`` (``1 / psi`` of the first stable g = 0 fixed point) or
        ``"self-consistent"`` (the whole model solved together, :func:`self_consistent_report`).
    solutions : tuple of StationarySolution
        One per region (phase ``"undetermined"`` and NaN values when the model-level
        check failed).
    g_chaos_onset, g_currents_vanish : numpy.ndarray, shape (R,)
        Transition values of ``g`` for each region's loop strength (NaN after a
        model-level failure).
    status : int
        0 success; 1-3 the first failed region's status; 4 the per-region solutions are
        not a self-consistent stationary state of the model; 5 no stable fixed point at
        g = 0 (see :data:`STATUS_MESSAGES`).
    consistency : ConsistencyCheck or None
        Outcome of :func:`check_consistency` (None if it was not run).
    channel_names : tuple of str
        Names of the currents (for the JSON of ``consistency.currents``).
    """

    model: str
    regions: tuple[str, ...]
    loop_strengths: np.ndarray
    loop_source: str
    solutions: tuple[StationarySolution, ...]
    g_chaos_onset: np.ndarray
    g_currents_vanish: np.ndarray
    status: int = 0
    consistency: ConsistencyCheck | None = None
    channel_names: tuple[str, ...] = ()

    @property
    def A(self) -> np.ndarray:
        """Structured variance per region (NaN where there is no solution)."""
        return np.array([s.A for s in self.solutions])

    @property
    def success(self) -> bool:
        """True if every region's solve succeeded and they form a consistent stationary state."""
        return self.status == 0 and all(s.success for s in self.solutions)

    @property
    def message(self) -> str:
        """Summary of the status (model-level failure, else the failed regions)."""
        if self.status in (INCONSISTENT, NO_STABLE_FIXED_POINT):
            detail = f" ({self.consistency.detail})" if self.consistency is not None and self.status == INCONSISTENT else ""
            return STATUS_MESSAGES[self.status] + detail
        failed = [f"{name}: {s.message}" for name, s in zip(self.regions, self.solutions) if not s.success]
        return "; ".join(failed) if failed else "converged"

    def to_dict(self) -> dict[str, object]:
        """Dict following the ``stationary --json`` contract of DESIGN.md (plus extra keys)."""
        regions = {}
        for k, (name, sol) in enumerate(zip(self.regions, self.solutions)):
            regions[name] = {
                "phase": sol.phase,
                "Delta0": sol.Delta0,
                "Delta_inf": sol.Delta_inf,
                "A": sol.A,
                "g_chaos_onset": float(self.g_chaos_onset[k]),
                "g_currents_vanish": float(self.g_currents_vanish[k]),
                "g": sol.g,
                "loop_strength": sol.loop_strength,
                "success": sol.success,
                "message": sol.message,
            }
        payload: dict[str, object] = {
            "model": self.model,
            "loop_source": self.loop_source,
            "success": self.success,
            "status": self.status,
            "message": self.message,
            "regions": regions,
        }
        if self.consistency is not None:
            check = self.consistency
            names = self.channel_names or tuple(str(k) for k in range(check.currents.size))
            payload["consistency"] = {
                "consistent": check.consistent,
                "residual": check.residual,
                "tolerance": check.tolerance,
                "detail": check.detail,
                "currents": {c: float(v) for c, v in zip(names, check.currents)},
            }
        return payload

    def to_json(self, indent: int | None = 2) -> str:
        """JSON text of :meth:`to_dict` (non-finite numbers become ``null``)."""

        def clean(value: object) -> object:
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, float) and not math.isfinite(value):
                return None
            return value

        return json.dumps(clean(self.to_dict()), indent=indent)


# ---------------------------------------------------------------------------- compiled functions
@dataclass(frozen=True, eq=False)
class _Compiled:
    """Lambdified pieces of the stationary problem of one nonlinearity."""

    equations: StationaryEquations
    curvature: Callable[..., np.ndarray]  # V''(Delta; Delta0, g)
    energy: Callable[..., np.ndarray]  # V(Delta0) - V(Delta_inf), A eliminated
    static_variance: Callable[..., np.ndarray]  # A(Delta_inf; Delta0, g)
    stability: Callable[..., np.ndarray]  # V''(Delta0; g)
    pinned_variance: Callable[..., np.ndarray]  # Delta0(lambda)
    chaos_onset: Callable[..., np.ndarray]  # g(Delta0)
    currents_vanish: Callable[..., np.ndarray]  # g(Delta0)
    mp_pinned_variance: Callable[..., object]
    mp_chaos_onset: Callable[..., object]
    mp_currents_vanish: Callable[..., object]
    nodes: np.ndarray
    weights: np.ndarray


@lru_cache(maxsize=None)
def _compiled(nonlinearity: str) -> _Compiled:
    eq = stationary_equations(nonlinearity)
    d, d0, dinf, g, lam = eq.delta, eq.delta0, eq.delta_inf, eq.g, eq.loop_strength

    def numeric(args: list[sp.Symbol], expr: sp.Expr) -> Callable[..., np.ndarray]:
        return sp.lambdify(args, expr, modules=MODULES)

    def multiprecision(args: list[sp.Symbol], expr: sp.Expr) -> Callable[..., object]:
        return sp.lambdify(args, expr, modules="mpmath")

    x, w = np.polynomial.legendre.leggauss(_QUADRATURE_NODES)
    nodes = (x + 1.0) / 2.0
    weights = w / 2.0 * (1.0 - nodes)  # includes the (1 - t) kernel
    return _Compiled(
        equations=eq,
        curvature=numeric([d, d0, g], eq.curvature),
        energy=numeric([d0, dinf, g], eq.energy_condition),
        static_variance=numeric([dinf, d0, g], eq.static_variance),
        stability=numeric([d0, g], eq.stability),
        pinned_variance=numeric([lam], eq.pinned_variance),
        chaos_onset=numeric([d0], eq.chaos_onset),
        currents_vanish=numeric([d0], eq.currents_vanish),
        mp_pinned_variance=multiprecision([lam], eq.pinned_variance),
        mp_chaos_onset=multiprecision([d0], eq.chaos_onset),
        mp_currents_vanish=multiprecision([d0], eq.currents_vanish),
        nodes=nodes,
        weights=weights,
    )


def reduced_energy(delta0: np.ndarray, delta_inf: np.ndarray, g: np.ndarray, nonlinearity: str = "erf") -> np.ndarray:
    """Reduced energy ``G = [V(Delta0) - V(Delta_inf)] / (Delta0 - Delta_inf)^2`` (A eliminated).

    Implements ``G = int_0^1 (1 - t) V''(Delta_inf + t (Delta0 - Delta_inf)) dt`` by
    Gauss-Legendre quadrature when ``Delta0 - Delta_inf <= 1`` and the lambdified energy
    condition divided by ``(Delta0 - Delta_inf)^2`` otherwise; ``G(Delta0, Delta0, g) =
    V''(Delta0) / 2``. Broadcasts over its arguments.

    Parameters
    ----------
    delta0, delta_inf, g : array_like
        Total variance, asymptotic variance (``0 <= delta_inf <= delta0``), disorder.
    nonlinearity : str
        Nonlinearity name.

    Returns
    -------
    numpy.ndarray
        ``G``; a stationary solution with ``Delta_inf < Delta0`` has ``G = 0``.
    """
    c = _compiled(nonlinearity)
    delta0, delta_inf, g = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (delta0, delta_inf, g)))
    span = delta0 - delta_inf
    out = np.empty(delta0.shape)
    near = span <= _QUADRATURE_SPAN
    if np.any(near):
        points = delta_inf[near][..., None] + c.nodes * span[near][..., None]
        values = c.curvature(points, delta0[near][..., None], g[near][..., None])
        out[near] = np.sum(np.broadcast_to(values, points.shape) * c.weights, axis=-1)
    far = ~near
    if np.any(far):
        out[far] = c.energy(delta0[far], delta_inf[far], g[far]) / span[far] ** 2
    return out


# ---------------------------------------------------------------------------- input checks
def _float_array(value: object, field: str, fix: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ModelInputError(field, f"{value!r} is not a number or array of numbers", fix) from None


def _check_g(g: object, field: str = "g") -> np.ndarray:
    g = _float_array(g, field, "give g >= 0")
    if not np.all(np.isfinite(g)) or np.any(g < 0):
        raise ModelInputError(field, "disorder must be a finite number >= 0", "give g >= 0")
    return g


def _check_loop_strength(loop_strength: object, field: str = "loop_strength") -> np.ndarray:
    fix = "give lambda >= 0 (0: no loop)"
    lam = _float_array(loop_strength, field, fix)
    if not np.all(np.isfinite(lam)) or np.any(lam < 0):
        raise ModelInputError(field, "loop strength must be a finite number >= 0", fix)
    return lam


def _as_float(value: object, field: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ModelInputError(field, f"{value!r} is not a number", "give a finite number") from None


# ---------------------------------------------------------------------------- bisection
def _bisect(
    function: Callable[[np.ndarray], np.ndarray], lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized bisection of ``function`` on ``[lower, upper]`` (signs must differ).

    Returns the midpoints and a status array (0 converged, 1 no bracket, 2 not converged,
    3 non-finite values).
    """
    lo, hi = lower.astype(float).copy(), upper.astype(float).copy()
    f_lo, f_hi = function(lo), function(hi)
    status = np.zeros(lo.shape, dtype=int)
    status[~(np.isfinite(f_lo) & np.isfinite(f_hi))] = 3
    status[(status == 0) & (np.sign(f_lo) == np.sign(f_hi)) & (f_lo != 0) & (f_hi != 0)] = 1
    root = np.where(f_lo == 0, lo, np.where(f_hi == 0, hi, 0.5 * (lo + hi)))
    active = (status == 0) & (f_lo != 0) & (f_hi != 0)
    for _ in range(_BISECTION_STEPS):
        if not np.any(active):
            break
        mid = 0.5 * (lo + hi)
        done = active & ((mid <= np.minimum(lo, hi)) | (mid >= np.maximum(lo, hi)))
        root[done] = mid[done]
        active &= ~done
        f_mid = np.full(lo.shape, np.nan)
        if np.any(active):
            f_mid[active] = function(mid)[active]
        bad = active & ~np.isfinite(f_mid)
        status[bad] = 3
        active &= ~bad
        same = active & (np.sign(f_mid) == np.sign(f_lo))
        lo = np.where(same, mid, lo)
        f_lo = np.where(same, f_mid, f_lo)
        hi = np.where(active & ~same, mid, hi)
        exact = active & (f_mid == 0)
        root[exact] = mid[exact]
        active &= ~exact
    status[active] = 2
    return root, status


def _pure_chaos_batch(g: np.ndarray, nonlinearity: str) -> tuple[np.ndarray, np.ndarray]:
    """SCS variance ``Delta0(g)`` (root of ``G(Delta0, 0, g) = 0``) and status; 0 for ``g <= 1``."""
    delta0 = np.zeros(g.shape)
    status = np.zeros(g.shape, dtype=int)
    chaotic = g > 1.0
    if np.any(chaotic):
        gc = g[chaotic]
        # G(D0, 0, g) -> (g^2 - 1)/2 > 0 as D0 -> 0; the root is ~0.73 g^2 for large g.
        upper = 2.0 * gc**2 + 2.0
        root, st = _bisect(lambda d: reduced_energy(d, 0.0, gc, nonlinearity), np.zeros(gc.shape), upper)
        delta0[chaotic] = np.where(st == 0, root, np.nan)
        status[chaotic] = st
    return delta0, status


def stationary_sweep(
    loop_strength: np.ndarray | float, g: np.ndarray | float, nonlinearity: str = "erf"
) -> StationarySweep:
    """Solve the stationary problem on a broadcast grid of loop strengths and disorders.

    Parameters
    ----------
    loop_strength : array_like
        ``lambda >= 0`` (``lambda <= 1``: no pinning; 0: no loop).
    g : array_like
        Disorder ``g >= 0``.
    nonlinearity : str
        Nonlinearity name (``"erf"``).

    Returns
    -------
    StationarySweep
        Arrays of the broadcast shape.

    Raises
    ------
    ModelInputError
        For negative or non-finite ``g`` or ``loop_strength``.
    """
    lam, g = np.broadcast_arrays(_check_loop_strength(loop_strength), _check_g(g))
    c = _compiled(nonlinearity)
    shape = lam.shape
    phase = np.full(shape, "static", dtype=object)
    delta0 = np.full(shape, np.nan)
    delta_inf = np.full(shape, np.nan)
    A = np.full(shape, np.nan)
    status = np.zeros(shape, dtype=int)

    pinned = lam > 1.0
    # Pinned regions: Delta0 = psi^{-1}(1/lambda); phase from the signs of G at both ends of (0, Delta0).
    d0_pin = np.where(pinned, c.pinned_variance(np.where(pinned, lam, 2.0)), 0.0)
    g_top = np.where(pinned, c.stability(d0_pin, g), 0.0)  # V''(Delta0) = 2 G(Delta0, Delta0)
    g_bottom = np.where(pinned, reduced_energy(np.where(pinned, d0_pin, 1.0), 0.0, g, nonlinearity), 0.0)
    static = pinned & (g_top <= 0)
    mixed = pinned & ~static & (g_bottom < 0)
    chaos = (~pinned & (g > 1.0)) | (pinned & ~static & ~mixed)
    quiet = ~pinned & (g <= 1.0)

    phase[static] = "static"
    delta0[static] = d0_pin[static]
    delta_inf[static] = d0_pin[static]
    A[static] = c.static_variance(d0_pin[static], d0_pin[static], g[static])

    if np.any(mixed):
        d0m, gm = d0_pin[mixed], g[mixed]
        root, st = _bisect(lambda x: reduced_energy(d0m, x, gm, nonlinearity), np.zeros(d0m.shape), d0m)
        phase[mixed] = "chaos+currents"
        delta0[mixed] = d0m
        delta_inf[mixed] = np.where(st == 0, root, np.nan)
        A[mixed] = np.where(st == 0, c.static_variance(root, d0m, gm), np.nan)
        status[mixed] = st

    if np.any(chaos):
        d0c, st = _pure_chaos_batch(g[chaos], nonlinearity)
        phase[chaos] = "chaos"
        delta0[chaos] = d0c
        delta_inf[chaos] = np.where(st == 0, 0.0, np.nan)
        A[chaos] = np.where(st == 0, 0.0, np.nan)
        status[chaos] = st

    phase[quiet] = "quiescent"
    delta0[quiet] = delta_inf[quiet] = A[quiet] = 0.0
    return StationarySweep(
        loop_strength=lam,
        g=g,
        phase=phase.astype(str),
        Delta0=delta0,
        Delta_inf=delta_inf,
        A=A,
        success=status == 0,
        status=status,
    )


def solve_stationary(loop_strength: float, g: float, nonlinearity: str = "erf") -> StationarySolution:
    """Stationary state of one region with loop strength ``lambda`` and disorder ``g``.

    Parameters
    ----------
    loop_strength : float
        ``lambda >= 0``; for ``lambda > 1`` the loop pins ``Delta0 = psi^{-1}(1/lambda)``.
    g : float
        Disorder ``g >= 0``.
    nonlinearity : str
        Nonlinearity name (``"erf"``).

    Returns
    -------
    StationarySolution
        ``success=False`` with a message (and NaN values) if a root could not be found.

    Raises
    ------
    ModelInputError
        For negative or non-finite ``g`` or ``loop_strength``.
    """
    lam = _as_float(loop_strength, "loop_strength")
    g_value = _as_float(g, "g")
    return stationary_sweep(lam, g_value, nonlinearity).solution(())


def pure_chaos_variance(g: float, nonlinearity: str = "erf") -> float:
    """Sompolinsky-Crisanti-Sommers variance ``Delta0(g)`` of pure chaos (``A = 0``).

    Solves ``V(Delta0) = V(0)`` with ``A = 0``, i.e. ``G(Delta0, 0, g) = 0``; returns 0.0
    for ``g <= 1``.

    Raises
    ------
    ModelInputError
        For negative or non-finite ``g``.
    RuntimeError
        If the root cannot be bracketed (not expected for finite ``g``).
    """
    g_arr = _check_g(_as_float(g, "g"))
    delta0, status = _pure_chaos_batch(np.atleast_1d(g_arr), nonlinearity)
    if status[0] != 0:
        raise RuntimeError(f"pure chaos variance for g = {float(g_arr)}: {STATUS_MESSAGES[int(status[0])]}")
    return float(delta0[0])


def transition_values(
    loop_strength: float, nonlinearity: str = "erf", precision_digits: int = 30
) -> tuple[float, float]:
    """Transition values of ``g`` for a region of loop strength ``lambda``.

    ``g_chaos_onset`` solves ``g^2 <phi'^2>(Delta0) = 1`` and ``g_currents_vanish`` solves
    "SCS variance of g = pinned Delta0", with ``Delta0 = psi^{-1}(1/lambda)``; both are closed
    forms derived by sympy and evaluated here with mpmath at ``precision_digits`` (plus the
    digits lost to cancellation for ``lambda`` near 1). For ``lambda <= 1`` there is no
    pinning and both are 1 (chaos starts at g = 1, there are never currents).

    Returns
    -------
    (float, float)
        ``(g_chaos_onset, g_currents_vanish)``.
    """
    lam = float(_check_loop_strength(_as_float(loop_strength, "loop_strength")))
    if precision_digits < 16:
        raise ModelInputError("precision_digits", "fewer than 16 digits", "give precision_digits >= 16")
    if lam <= 1.0:
        return 1.0, 1.0
    c = _compiled(nonlinearity)
    with mp.workdps(precision_digits):
        delta0 = c.mp_pinned_variance(mp.mpf(lam))
    # g_currents_vanish divides two O(Delta0^2) differences: add the digits that cancel.
    extra = max(0, int(math.ceil(-2 * math.log10(float(delta0))))) + 5
    with mp.workdps(precision_digits + extra):
        delta0 = c.mp_pinned_variance(mp.mpf(lam))
        return float(c.mp_chaos_onset(delta0)), float(c.mp_currents_vanish(delta0))


# ---------------------------------------------------------------------------- per region of a model
def _per_region(values: object, spec: ModelSpec) -> np.ndarray:
    """Per-region values (mapping by region name or sequence) as an array (R,)."""
    if isinstance(values, Mapping):
        return np.array([float(values[name]) for name in spec.regions])
    return np.asarray(values, dtype=float).reshape(spec.n_regions)


def _stable_fixed_point(spec: ModelSpec) -> object | None:
    """The first stable fixed point of ``find_fixed_points(spec.with_values(g=0))`` (None if none)."""
    from mrdmft.solvers.fixed_points import find_fixed_points  # optional dependency between solvers

    result = find_fixed_points(spec.with_values(g=np.zeros(spec.n_regions)))
    stable = [fp for fp in result.fixed_points if bool(getattr(fp, "stable", False))]
    return stable[0] if stable else None


def regions_on_loops(spec: ModelSpec) -> np.ndarray:
    """Which regions read out a current that lies on a loop of the channel graph, (R,) bool.

    Channel ``f`` feeds channel ``e`` when ``T_{ef} != 0``; ``dS_e/dt`` carries the gain of
    the region ``e`` is read out from. A region whose channels are all downstream of the
    loops (feed-forward, e.g. ``A -> B`` driven by a self-loop of ``A``) has its gain set by
    its input, not pinned by a loop (THEORY §5), so the per-region transition values of
    ``g`` do not apply to it.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    linked = np.asarray(spec.T) != 0
    _, labels = connected_components(csr_matrix(linked), directed=True, connection="strong")
    on_cycle = (np.bincount(labels)[labels] > 1) | np.diag(linked)
    return np.bincount(spec.channel_source[on_cycle], minlength=spec.n_regions) > 0


def _loop_strengths_of(point: object, spec: ModelSpec) -> np.ndarray:
    """``1 / psi^alpha`` of a fixed point where ``A^alpha > LOOP_A_TOLERANCE``, else 0."""
    gain = _per_region(getattr(point, "gain"), spec)
    A = _per_region(getattr(point, "variance"), spec)
    return np.where(A > LOOP_A_TOLERANCE, 1.0 / gain, 0.0)


def loop_strengths_from_fixed_points(spec: ModelSpec) -> np.ndarray:
    """Loop strength ``lambda^alpha = 1 / psi^alpha`` of each region at the g = 0 stable fixed point.

    Uses the first stable fixed point of ``find_fixed_points(spec.with_values(g=0))``
    (its ``gain`` and ``variance`` = ``A``); regions with ``A^alpha = 0`` there carry no current, have no active loop and get
    ``lambda = 0``. Without a stable fixed point, every region gets ``lambda = 0``
    (:func:`stationary_regions` reports that case as a failure instead).
    """
    point = _stable_fixed_point(spec)
    return np.zeros(spec.n_regions) if point is None else _loop_strengths_of(point, spec)


@dataclass(frozen=True, eq=False)
class _ConsistencyEquations:
    """Stacked residual of the consistency problem in scaled currents ``x = S / scale``.

    ``F(x) = [x - Psi[src] T x ; Delta(x) - A / scale^2]`` (C + R entries), with
    ``Delta_beta(x) = sum_{f, f' into beta} U_{f f'} x_f x_f'`` from the compiled
    (derived) variance, and its Jacobian ``[I - Psi[src] T ; 2 (U x)_f [tgt(f) == beta]]``.
    """

    kernel: BoundSystem
    operator: np.ndarray  # Psi[src] T, (C, C)
    target: np.ndarray  # A / scale^2, (R,)

    def residual(self, x: np.ndarray) -> np.ndarray:
        channels = x - x @ self.operator.T
        return np.concatenate([channels, self.kernel.variance(x) - self.target], axis=-1)

    def jacobian(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        C = x.shape[-1]
        linear = np.broadcast_to(np.eye(C) - self.operator, x.shape[:-1] + (C, C))
        d_variance = 2.0 * (x @ self.kernel.U)[..., None, :] * self.kernel.target_onehot.T
        return np.concatenate([linear, d_variance], axis=-2)


def check_consistency(
    spec: ModelSpec,
    A: np.ndarray,
    gain: np.ndarray,
    start: np.ndarray | None = None,
    n_starts: int = CONSISTENCY_STARTS,
    seed: int = 0,
    tolerance: float = CONSISTENCY_TOL,
) -> ConsistencyCheck:
    """Check that per-region ``A^beta`` and gains ``psi^beta`` form one stationary state of ``spec``.

    Looks for static currents with ``S_f = psi^{src(f)} (T S)_f`` (the stationary current
    equations with the gains held at ``psi^beta = psi(Delta0^beta)``) and
    ``sum_{f, f' into beta} U_{f f'} S_f S_f' = A^beta`` for every region, by
    Levenberg-Marquardt on the stacked (C + R) residual
    (:func:`mrdmft.solvers.fixed_point_newton.levenberg_marquardt`) from ``start`` rescaled
    per target region to the requested ``A`` and from ``n_starts`` random starts. The
    currents are scaled by ``sqrt(max A)`` so that ``tolerance`` is relative. When every
    ``A^beta = 0`` the state without currents must also be linearly stable with these
    gains (every eigenvalue of ``Psi L`` has ``Re <= 1``).

    Parameters
    ----------
    spec : ModelSpec
        The model (its T, U and structure are used).
    A : numpy.ndarray, shape (R,)
        Structured variance per region (finite, >= 0).
    gain : numpy.ndarray, shape (R,)
        Gain ``psi^beta`` per region.
    start : numpy.ndarray, shape (C,), optional
        Currents to start from, e.g. the g = 0 stable fixed point.
    n_starts, seed : int
        Random starts and their seed.
    tolerance : float
        Acceptance tolerance on the scaled ``max |F|``.

    Returns
    -------
    ConsistencyCheck
    """
    A = np.asarray(A, dtype=float).reshape(spec.n_regions)
    gain = np.asarray(gain, dtype=float).reshape(spec.n_regions)
    compiled = compile_system(spec)
    arrays = ModelArrays.from_spec(spec)
    kernel = compiled.bind(arrays)
    operator = compiled.operator(gain, arrays)
    scale = math.sqrt(float(A.max())) if A.max() > 0 else 1.0
    target = A / scale**2
    equations = _ConsistencyEquations(kernel=kernel, operator=operator, target=target)

    into = np.asarray(spec.channel_target)
    per_channel = np.sqrt(target[into] / np.bincount(into, minlength=spec.n_regions)[into])
    rng = np.random.default_rng(seed)
    starts = [np.zeros((1, spec.n_channels))]
    if start is not None:
        x0 = np.asarray(start, dtype=float) / scale
        reached = kernel.variance(x0)[into]
        factor = np.sqrt(np.divide(target[into], reached, out=np.zeros_like(reached), where=reached > LOOP_A_TOLERANCE))
        starts.append((x0 * factor)[None, :])
    half = n_starts // 2
    starts.append(rng.standard_normal((half, spec.n_channels)) * per_channel)
    starts.append(rng.standard_normal((n_starts - half, spec.n_channels)))
    batch = levenberg_marquardt(
        equations.residual, equations.jacobian, np.concatenate(starts), residual_tol=tolerance, max_iter=200
    )
    best = int(np.argmin(batch.residual))
    residual = float(batch.residual[best])
    currents = batch.currents[best] * scale if np.isfinite(residual) else np.full(spec.n_channels, np.nan)
    if residual > tolerance:
        detail = (
            "no static currents satisfy S = psi[src] (T S) and sum U S S = A in every region with the per-region "
            f"gains and A (smallest residual {residual:.2g} > {tolerance:.0e})"
        )
        return ConsistencyCheck(False, residual, currents, tolerance, detail)
    if np.all(A == 0):
        leading = float(np.linalg.eigvals(operator).real.max(initial=-np.inf)) if spec.n_channels else -np.inf
        if leading > 1.0 + ZERO_STATE_TOL:
            detail = (
                "no region carries currents, but with these gains the state without currents is unstable "
                f"(leading eigenvalue of Psi L has Re = {leading:.6g} > 1)"
            )
            return ConsistencyCheck(False, residual, currents, tolerance, detail)
    detail = f"static currents with these gains and A exist (residual {residual:.1e} <= {tolerance:.0e})"
    return ConsistencyCheck(True, residual, currents, tolerance, detail)


def _failed_report(
    spec: ModelSpec, lam: np.ndarray, source: str, status: int, consistency: ConsistencyCheck | None = None
) -> StationaryReport:
    """A report that claims no numbers: every region ``"undetermined"`` with NaN values."""
    R = spec.n_regions
    message = STATUS_MESSAGES[status]
    solutions = tuple(
        StationarySolution("undetermined", math.nan, math.nan, math.nan, float(g), float(lam[k]), False, status, message)
        for k, g in enumerate(spec.g)
    )
    return StationaryReport(
        model=spec.name,
        regions=tuple(spec.regions),
        loop_strengths=lam,
        loop_source=source,
        solutions=solutions,
        g_chaos_onset=np.full(R, np.nan),
        g_currents_vanish=np.full(R, np.nan),
        status=status,
        consistency=consistency,
        channel_names=tuple(spec.channel_names),
    )


def self_consistent_report(spec: ModelSpec) -> StationaryReport | None:
    """Report of the stable self-consistent stationary state of the whole model, if there is one.

    Used where no loop pins each region's gain (the per-region theory fails): solves the
    coupled currents + per-region variances with
    :func:`mrdmft.solvers.stationary_states.find_stationary_states` and reports its stable
    (adiabatic approximation) state, provided every stable state found has the same ``A``
    (otherwise the prediction would depend on the initial state and None is returned, as
    when no state is stable). The transition values of ``g`` are NaN: without a pinning
    loop they are not a property of one region.
    """
    from .stationary_states import find_stationary_states  # imports this module

    found = find_stationary_states(spec)
    stable = found.stable_states
    if not stable:
        return None
    A = np.array([state.A for state in stable])
    if not np.allclose(A, A[0], rtol=1e-6, atol=1e-9):
        return None
    state = stable[0]
    R = spec.n_regions
    detail = (
        "self-consistent stationary state of the whole model (no loop pins the gains: currents and per-region "
        f"variances solved together, residual {state.residual:.1e}); {state.classification} in the adiabatic "
        f"approximation (max Re lambda = {state.max_real_eigenvalue:.3g})"
    )
    if state.max_real_eigenvalue > -ADIABATIC_MARGIN:
        detail += (
            f"; the margin is below {ADIABATIC_MARGIN:g}, where the neglected dynamics of the chaotic variance can "
            "destabilize the state (e.g. into oscillating currents): check with `mrdmft dmft`"
        )
    check = ConsistencyCheck(True, state.residual, state.currents, CONSISTENCY_TOL, detail)
    solutions = state.solutions(np.asarray(spec.g, dtype=float))
    return StationaryReport(
        model=spec.name,
        regions=tuple(spec.regions),
        loop_strengths=np.array([s.loop_strength for s in solutions]),
        loop_source="self-consistent",
        solutions=solutions,
        g_chaos_onset=np.full(R, np.nan),
        g_currents_vanish=np.full(R, np.nan),
        status=0,
        consistency=check,
        channel_names=tuple(spec.channel_names),
    )


def stationary_regions(spec: ModelSpec, loop_strengths: np.ndarray | None = None) -> StationaryReport:
    """Stationary solution and transition values of ``g`` for every region of a model, checked.

    Each region is solved on its own with loop strength ``lambda^alpha`` (THEORY §4-5):
    the paper's regime, where every region's gain is pinned by its own loop. That is not
    true of every model (a reciprocal pair with unequal ``g`` shares one pinning;
    feed-forward currents into a region without a loop; limit cycles), so the per-region
    answer is then checked with :func:`check_consistency`: the per-region ``A^alpha`` and
    gains ``psi(Delta0^alpha)`` must admit static currents solving the whole model's
    stationary current equations. Otherwise the report fails (status 4) and claims no
    numbers; use the two-time DMFT (``solve_dmft``) for such models.

    Parameters
    ----------
    spec : ModelSpec
        The model; its ``g`` and nonlinearity are used.
    loop_strengths : array_like, shape (R,), optional
        ``lambda^alpha``; by default ``1 / psi^alpha`` of the first stable fixed point at
        g = 0 (:func:`loop_strengths_from_fixed_points`); without one the report fails
        with status 5.

    Returns
    -------
    StationaryReport
        ``success`` is False (with ``status`` and ``message``) if a region's solve failed
        (1-3), the per-region solutions are not a consistent stationary state (4) or there
        is no stable fixed point at g = 0 (5).
    """
    spec = require_spec(spec)
    R = spec.n_regions
    start = None
    if loop_strengths is None:
        source = "fixed_points"
        point = _stable_fixed_point(spec)
        if point is None:
            return self_consistent_report(spec) or _failed_report(spec, np.full(R, np.nan), source, NO_STABLE_FIXED_POINT)
        lam = _loop_strengths_of(point, spec)
        start = np.asarray(getattr(point, "currents"), dtype=float)
    else:
        lam = _check_loop_strength(loop_strengths, "loop_strengths")
        if lam.shape != (R,):
            raise ModelInputError(
                "loop_strengths", f"shape {lam.shape} does not match {R} regions", f"give {R} values, one per region"
            )
        source = "given"
    sweep = stationary_sweep(lam, spec.g, spec.nonlinearity)
    solutions = tuple(sweep.solution(k) for k in range(R))
    consistency = None
    status = next((s.status for s in solutions if not s.success), 0)
    if status == 0:
        consistency = check_consistency(spec, sweep.A, compile_system(spec).gain(sweep.Delta0), start=start)
        if not consistency.consistent:
            fallback = self_consistent_report(spec) if loop_strengths is None else None
            return fallback or _failed_report(spec, lam, source, INCONSISTENT, consistency)
    transitions = np.array([transition_values(value, spec.nonlinearity) for value in lam]).reshape(R, 2)
    transitions[~regions_on_loops(spec)] = np.nan  # a driven region's gain is not pinned by a loop of its own
    return StationaryReport(
        model=spec.name,
        regions=tuple(spec.regions),
        loop_strengths=lam,
        loop_source=source,
        solutions=solutions,
        g_chaos_onset=transitions[:, 0],
        g_currents_vanish=transitions[:, 1],
        status=status,
        consistency=consistency,
        channel_names=tuple(spec.channel_names),
    )
