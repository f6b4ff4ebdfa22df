"""Self-consistent stationary states of a whole model with disorder (THEORY §2, §4).

The per-region theory of :mod:`mrdmft.solvers.stationary` pins each region's gain by its
own loop (the paper's regime). Here nothing is pinned: static currents ``S`` and each
region's total variance ``Delta0^beta`` solve, together,

.. math::

    0 = -S_e + \\psi(\\Delta_0^{src(e)})\\, (T S)_e                      \\qquad (C \\text{ current equations})

    0 = A^\\beta(S) - a_{g_\\beta}(\\Delta_0^\\beta),
        \\qquad A^\\beta(S) = \\sum_{f, f' \\to \\beta} U_{f f'} S_f S_{f'}    \\qquad (R \\text{ variance equations})

where ``a_g(Delta0)`` is the structured variance for which a region with disorder ``g`` has
total variance ``Delta0`` in the particle-in-a-potential problem of THEORY §4 (static phase:
``a = Delta0 - g^2 C(Delta0, Delta0, Delta0)``; chaos with currents: ``a = Delta_inf -
g^2 C(Delta0, Delta0, Delta_inf)`` with the physical root ``Delta_inf`` of the energy
condition). ``a_g`` is evaluated by :func:`~mrdmft.solvers.stationary.stationary_sweep` at
loop strength ``1 / psi(Delta0)``; below the pure-chaos variance ``Delta0_SCS(g)`` no
``A >= 0`` exists and ``a_g`` is continued as ``Delta0 - Delta0_SCS`` (so a region whose
currents vanish lands on ``Delta0 = Delta0_SCS``, ``A = 0``). For ``g = 0``, ``a_g(Delta0) =
Delta0`` and the problem reduces to the fixed points of the current equations.

The stacked (C + R) system is solved by the batched Levenberg-Marquardt iteration of
:mod:`mrdmft.solvers.fixed_point_newton` from many random starts, with the analytic
Jacobian

    [[-I + psi[src] T,            psi'(Delta0)[src(e)] (T S)_e [src(e) = beta]],
     [2 (U S)_f [tgt(f) = beta],  -diag(a_g'(Delta0))                        ]]

(``a_g'`` by central differences). Every distinct solution is classified in the
**adiabatic approximation**: the chaotic fluctuations follow the currents instantly, so the
gain of region beta is the function ``psi_eff(A) = psi(a_g^{-1}(A))`` of its structured
variance, and the currents obey ``dS/dt = -S + psi_eff(A(S))[src] T S``. Its Jacobian is
that of the g = 0 current equations with ``dpsi/dDelta`` replaced by
``dpsi_eff/dA = psi'(Delta0) / a_g'(Delta0)``; at ``S = 0`` it is ``-1 + Psi L`` with the
pure-chaos gains (the zero-state criterion of THEORY §7), and for ``g = 0`` it is the exact
fixed-point Jacobian. Slow dynamics of the chaotic part itself (limit cycles of the
two-time DMFT) are outside this approximation: check with ``solve_dmft``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.spec import ModelSpec, require_spec

from .compiled import BoundSystem
from .fixed_point_newton import levenberg_marquardt
from .fixed_points import DEDUPE_TOL, classify, deduplicate, default_scale, random_starts
from .stability import sorted_eigenvalues
from .stationary import StationarySolution, _pure_chaos_batch, stationary_sweep

__all__ = ["RegionVarianceLaw", "StationaryState", "StationaryStates", "find_stationary_states"]

RESIDUAL_TOL = 1e-10
"""A start has converged when ``max |F| <= RESIDUAL_TOL`` (currents and variances are O(1))."""
EIG_TOL = 1e-7
"""Eigenvalues with ``|Re| <= EIG_TOL`` count as marginal (zero modes along manifolds)."""
DEFAULT_STARTS = 48
FD_STEP = 1e-6
"""Relative step of the central difference for ``a_g'(Delta0)``."""
ZERO_A = 1e-9
"""Structured variance below which a region carries no currents."""


@dataclass(frozen=True, eq=False)
class RegionVarianceLaw:
    """``a_g(Delta0)`` of every region: the structured variance at total variance ``Delta0``.

    Attributes
    ----------
    g : numpy.ndarray, shape (R,)
        Disorder per region.
    scs_variance : numpy.ndarray, shape (R,)
        Pure-chaos variance ``Delta0_SCS(g)`` (0 for ``g <= 1``).
    nonlinearity : str
        Name of the nonlinearity.
    """

    g: np.ndarray
    scs_variance: np.ndarray
    nonlinearity: str = "erf"

    @classmethod
    def for_disorder(cls, g: np.ndarray, nonlinearity: str = "erf") -> "RegionVarianceLaw":
        """Precompute ``Delta0_SCS`` for every region's ``g``."""
        g = np.asarray(g, dtype=float)
        scs, status = _pure_chaos_batch(g, nonlinearity)
        if np.any(status != 0):
            raise ModelInputError("g", f"no pure-chaos variance found for g = {g[status != 0].tolist()}", "use g <= 1e3")
        return cls(g=g, scs_variance=scs, nonlinearity=nonlinearity)

    def sweep(self, delta0: np.ndarray, gains: BoundSystem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(a_g(Delta0), Delta_inf, phase)`` for ``Delta0`` of shape (..., R).

        Below (or at) ``Delta0_SCS`` the region carries no currents: ``a = Delta0 -
        Delta0_SCS``, ``Delta_inf = 0`` and the phase is ``"chaos"`` (``g > 1``) or
        ``"quiescent"``.
        """
        delta0 = np.asarray(delta0, dtype=float)
        g = np.broadcast_to(self.g, delta0.shape)
        scs = np.broadcast_to(self.scs_variance, delta0.shape)
        a = delta0 - scs
        delta_inf = np.zeros(delta0.shape)
        phase = np.where(g > 1.0, "chaos", "quiescent").astype(object)
        above = delta0 > scs
        if np.any(above):
            lam = 1.0 / np.asarray(gains.gains.gain(delta0[above]), dtype=float)
            result = stationary_sweep(lam, g[above], self.nonlinearity)
            carrying = np.isin(result.phase, ("static", "chaos+currents")) & result.success
            a_above = np.where(carrying, result.A, delta0[above] - scs[above])
            a[above] = a_above
            delta_inf[above] = np.where(carrying, result.Delta_inf, 0.0)
            phase[above] = np.where(carrying, result.phase, phase[above])
        return a, delta_inf, phase

    def value(self, delta0: np.ndarray, gains: BoundSystem) -> np.ndarray:
        """``a_g(Delta0)``, shape of ``delta0``."""
        return self.sweep(delta0, gains)[0]

    def slope(self, delta0: np.ndarray, gains: BoundSystem) -> np.ndarray:
        """``a_g'(Delta0)`` by central differences (relative step :data:`FD_STEP`)."""
        delta0 = np.asarray(delta0, dtype=float)
        h = FD_STEP * np.maximum(np.abs(delta0), 1.0)
        up, down = self.value(np.stack([delta0 + h, delta0 - h]), gains)  # one batched sweep
        return (up - down) / (2.0 * h)


@dataclass(frozen=True, eq=False)
class _SelfConsistency:
    """Residual and Jacobian of the stacked (C + R) system of the module docstring."""

    kernel: BoundSystem
    law: RegionVarianceLaw

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        C = self.kernel.n_channels
        return x[..., :C], x[..., C:]

    def gain(self, delta0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``psi(Delta0)`` and ``dpsi/dDelta0``, held at ``Delta0_SCS`` below it."""
        inside = delta0 > self.law.scs_variance
        clipped = np.maximum(delta0, self.law.scs_variance)
        psi, slope = (np.broadcast_to(v, delta0.shape) for v in self.kernel.gains.gain_and_slope(clipped))
        return np.asarray(psi, dtype=float), np.where(inside, slope, 0.0)

    def residual(self, x: np.ndarray) -> np.ndarray:
        S, delta0 = self.split(x)
        psi, _ = self.gain(delta0)
        currents = psi[..., self.kernel.source] * (S @ self.kernel.T.T) - S
        variances = self.kernel.variance(S) - self.law.value(delta0, self.kernel)
        return np.concatenate([currents, variances], axis=-1)

    def jacobian(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        S, delta0 = self.split(x)
        kernel = self.kernel
        C, R = kernel.n_channels, delta0.shape[-1]
        psi, dpsi = self.gain(delta0)
        top_left = kernel.jacobian_with_gain(S, psi, np.zeros_like(psi))
        source_onehot = np.eye(R)[kernel.source]  # (C, R)
        top_right = (dpsi[..., kernel.source] * (S @ kernel.T.T))[..., :, None] * source_onehot
        bottom_left = 2.0 * (S @ kernel.U)[..., None, :] * kernel.target_onehot.T
        bottom_right = -self.law.slope(delta0, kernel)[..., :, None] * np.eye(R)
        top = np.concatenate([top_left, top_right], axis=-1)
        bottom = np.concatenate([bottom_left, bottom_right], axis=-1)
        return np.concatenate([top, bottom], axis=-2)


@dataclass(frozen=True)
class StationaryState:
    """One self-consistent stationary state of a model.

    Attributes
    ----------
    currents : numpy.ndarray, shape (C,)
        Static currents ``S``.
    Delta0, Delta_inf, A, gain : numpy.ndarray, shape (R,)
        Total variance, long-lag variance, structured variance ``sum U S S`` and gain
        ``psi(Delta0)`` per region.
    phase : tuple of str
        Per region: ``"static"``, ``"chaos+currents"``, ``"chaos"`` or ``"quiescent"``.
    eigenvalues : numpy.ndarray of complex, shape (C,)
        Eigenvalues of the adiabatic current Jacobian (module docstring), descending real part.
    max_real_eigenvalue : float
    classification : str
        ``"stable"``, ``"marginal"`` or ``"unstable"`` (tolerance :data:`EIG_TOL`).
    stable : bool
        Not ``"unstable"``.
    residual : float
        ``max |F|`` of the stacked system.
    """

    currents: np.ndarray
    Delta0: np.ndarray
    Delta_inf: np.ndarray
    A: np.ndarray
    gain: np.ndarray
    phase: tuple[str, ...]
    eigenvalues: np.ndarray
    max_real_eigenvalue: float
    classification: str
    stable: bool
    residual: float

    def solutions(self, g: np.ndarray) -> tuple[StationarySolution, ...]:
        """Per-region :class:`StationarySolution` (loop strength = effective ``1 / psi``)."""
        return tuple(
            StationarySolution(
                phase=self.phase[k],
                Delta0=float(self.Delta0[k]),
                Delta_inf=float(self.Delta_inf[k]),
                A=float(self.A[k]),
                g=float(g[k]),
                loop_strength=float(1.0 / self.gain[k]) if self.A[k] > ZERO_A else 0.0,
                success=True,
                status=0,
                message="converged (self-consistent state of the whole model)",
            )
            for k in range(len(self.phase))
        )


@dataclass(frozen=True)
class StationaryStates:
    """Distinct self-consistent stationary states, stable ones first.

    Attributes
    ----------
    model : str
    regions : tuple of str
    channel_names : tuple of str
    states : tuple of StationaryState
    n_starts, n_converged : int
        Random starts (plus ``S = 0``) and how many converged.
    success : bool
        Some state is (adiabatically) stable or marginal.
    status : int
        0 success; 1 states found but none stable; 2 no start converged.
    message : str
    """

    model: str
    regions: tuple[str, ...]
    channel_names: tuple[str, ...]
    states: tuple[StationaryState, ...]
    n_starts: int
    n_converged: int
    success: bool
    status: int
    message: str

    @property
    def stable_states(self) -> tuple[StationaryState, ...]:
        """States classified stable or marginal."""
        return tuple(s for s in self.states if s.stable)


def _check_starts(n_starts: object) -> int:
    if isinstance(n_starts, bool) or not isinstance(n_starts, (int, np.integer)) or n_starts < 1:
        raise ModelInputError("n_starts", f"got {n_starts!r}", "give a positive integer, e.g. 48")
    return int(n_starts)


def find_stationary_states(spec: ModelSpec, n_starts: int = DEFAULT_STARTS, seed: int = 0) -> StationaryStates:
    """Self-consistent stationary states of ``spec`` (module docstring), stable first.

    Parameters
    ----------
    spec : ModelSpec
        Any model (any graph, T, U, g >= 0).
    n_starts : int
        Random starts of the currents (``S = 0`` is always added).
    seed : int
        Seed of the starts.

    Returns
    -------
    StationaryStates
        Failures are a status, not an exception.

    Raises
    ------
    ModelInputError
        Bad ``spec`` or ``n_starts``.
    """
    spec = require_spec(spec)
    n_starts = _check_starts(n_starts)
    kernel = BoundSystem.from_spec(spec)
    law = RegionVarianceLaw.for_disorder(np.asarray(spec.g, dtype=float), spec.nonlinearity)
    system = _SelfConsistency(kernel=kernel, law=law)
    rng = np.random.default_rng(seed)
    scale = default_scale(kernel)
    S0 = np.concatenate([np.zeros((1, spec.n_channels)), random_starts(spec, n_starts, scale, rng)])
    delta0_start = law.scs_variance + kernel.variance(S0)
    batch = levenberg_marquardt(
        system.residual, system.jacobian, np.concatenate([S0, delta0_start], axis=1), RESIDUAL_TOL, max_iter=200
    )
    converged = np.flatnonzero(batch.converged)
    n_converged = int(np.count_nonzero(batch.converged[1:]))
    if converged.size == 0:
        return StationaryStates(spec.name, tuple(spec.regions), tuple(spec.channel_names), (), n_starts, 0, False, 2,
                                "no start converged to a stationary state")
    points = batch.currents[converged]
    keep = deduplicate(points, DEDUPE_TOL * max(scale, 1.0))
    points, residuals = points[keep], batch.residual[converged][keep]
    states = sorted(_classified_states(system, points, residuals), key=lambda s: (not s.stable, s.max_real_eigenvalue))
    stable = any(s.stable for s in states)
    message = (f"{len(states)} distinct stationary state(s), {sum(s.stable for s in states)} stable "
               f"(adiabatic approximation); {n_converged}/{n_starts} random starts converged")
    return StationaryStates(
        model=spec.name,
        regions=tuple(spec.regions),
        channel_names=tuple(spec.channel_names),
        states=tuple(states),
        n_starts=n_starts,
        n_converged=n_converged,
        success=stable,
        status=0 if stable else 1,
        message=message if stable else message + "; none is stable",
    )


def _classified_states(system: _SelfConsistency, points: np.ndarray, residuals: np.ndarray) -> list[StationaryState]:
    kernel, law = system.kernel, system.law
    S, delta0 = system.split(points)
    A = kernel.variance(S)
    _, delta_inf, phase = law.sweep(delta0, kernel)
    silent = A <= ZERO_A  # converged onto Delta0_SCS from above: no currents, whatever the sweep's label
    phase = np.where(silent, np.where(law.g > 1.0, "chaos", "quiescent"), phase)
    delta_inf = np.where(silent, 0.0, delta_inf)
    psi, dpsi = system.gain(delta0)
    with np.errstate(divide="ignore", invalid="ignore"):
        effective_slope = np.where(A > ZERO_A, dpsi / law.slope(delta0, kernel), 0.0)
    eigenvalues = sorted_eigenvalues(kernel.jacobian_with_gain(S, psi, effective_slope))
    out = []
    for k in range(len(points)):
        label = classify(eigenvalues[k], EIG_TOL)
        out.append(
            StationaryState(
                currents=S[k],
                Delta0=np.maximum(delta0[k], law.scs_variance),
                Delta_inf=delta_inf[k],
                A=A[k],
                gain=psi[k],
                phase=tuple(str(p) for p in phase[k]),
                eigenvalues=eigenvalues[k],
                max_real_eigenvalue=float(eigenvalues[k, 0].real) if eigenvalues.shape[1] else -math.inf,
                classification=label,
                stable=label != "unstable",
                residual=float(residuals[k]),
            )
        )
    return out
