"""Fixed points of the current dynamics without disorder (THEORY §2, §5, §7).

For g = 0 the currents obey ``dS/dt = F(S) = -S + psi(Delta(S))[src] * (T S)`` with
``Delta_beta = sum U S S`` (the derived equations, evaluated by
:class:`~mrdmft.solvers.compiled.BoundSystem`). :func:`find_fixed_points`

1. draws ``n_starts`` random initial currents (and always adds ``S = 0``),
2. drives all of them to roots of ``F`` at once (:func:`solve_roots`) with batched
   Levenberg–Marquardt steps using the derived Jacobian
   (:mod:`mrdmft.solvers.fixed_point_newton`); damping keeps the steps well defined where
   the Jacobian is singular, as on the continuous manifolds of symmetric models. When
   ``T`` splits into small blocks (reciprocal pairs, self-loops) cheaper structured
   dogleg Newton steps (:mod:`mrdmft.solvers.fixed_point_blocks`) do most of the work
   first,
3. keeps the starts with ``max |F| <= residual_tol``, removes numerically identical
   points (max-norm distance ``<= 1e-6 * scale``; distinct points of a manifold are all
   kept) and drops points whose damped Newton step is still longer than that distance
   (:func:`settled_roots`: near a degenerate root, e.g. a loop of strength exactly 1,
   ``|F| ~ |S|^3`` meets the tolerance far from the root),
4. classifies each point by the eigenvalues ``lambda`` of the Jacobian ``dF/dS``
   (blocks without currents split off, :mod:`mrdmft.solvers.fixed_point_spectra`):

   * ``"stable"``   — every ``Re lambda < -eig_tol``;
   * ``"marginal"`` — no ``Re lambda > eig_tol`` but some ``|Re lambda| <= eig_tol``
     (zero modes along a manifold of fixed points; counted as stable);
   * ``"unstable"`` — some ``Re lambda > eig_tol``.

   ``eig_tol`` is absolute, in units of the inverse time constant (1 / tau).

:func:`refine_fixed_point` runs the same iteration and classification from one given
state (e.g. a simulation's time-averaged currents) and reports the outcome in a
:class:`FixedPointRefinement` with ``success`` / ``status`` / ``message``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mrdmft.theory.spec import ModelSpec

from .fixed_point_inputs import as_currents, positive_integer, positive_number, require_no_disorder, require_starts_fit
from .compiled import BoundSystem
from .fixed_point_blocks import BlockStructure, newton_dogleg
from .fixed_point_newton import RootBatch, levenberg_marquardt, newton_distance
from .fixed_point_spectra import jacobian_spectra

DEDUPE_TOL = 1e-6
"""Fixed points closer than ``DEDUPE_TOL * scale`` (max norm) are the same point."""

START_RANGE = (0.2, 2.0)
"""Random starts have per-region variance ``(r * scale)^2`` with ``r`` log-uniform in this range."""


@dataclass(frozen=True)
class FixedPoint:
    """One fixed point ``S*`` of the g = 0 current dynamics.

    Attributes
    ----------
    currents : numpy.ndarray, shape (C,)
        ``S*``, channel order.
    variance : numpy.ndarray, shape (R,)
        ``A^beta = Delta^beta = sum_{f, f' into beta} U_{f f'} S_f S_f'``.
    gain : numpy.ndarray, shape (R,)
        ``psi(A^beta)``.
    eigenvalues : numpy.ndarray of complex, shape (C,)
        Eigenvalues of the Jacobian ``dF/dS`` at ``S*``, sorted by real part (descending).
    max_real_eigenvalue : float
        ``max Re lambda``.
    classification : str
        ``"stable"``, ``"marginal"`` or ``"unstable"`` (see module docstring).
    stable : bool
        No eigenvalue with ``Re lambda > eig_tol`` (``"marginal"`` counts as stable).
    residual : float
        ``max |dS/dt|`` at ``S*``.
    """

    currents: np.ndarray
    variance: np.ndarray
    gain: np.ndarray
    eigenvalues: np.ndarray
    max_real_eigenvalue: float
    classification: str
    stable: bool
    residual: float


@dataclass(frozen=True)
class FixedPointResult:
    """Distinct fixed points found by :func:`find_fixed_points`, stable ones first.

    Attributes
    ----------
    model : str
        Model name.
    channel_names : list of str
        Names of the currents (``"SOURCE->TARGET"``).
    regions : tuple of str
        Region names.
    fixed_points : tuple of FixedPoint
        Distinct fixed points; stable (and marginal) ones first, then by increasing
        ``max_real_eigenvalue``. Always contains ``S = 0``.
    n_starts : int
        Number of random starts (``S = 0`` is an extra start).
    n_converged : int
        Random starts that reached ``max |dS/dt| <= residual_tol``.
    success : bool
        At least one random start converged.
    status : int
        0: every start converged; 1: some starts did not converge (success is still
        True); 2: no random start converged (only ``S = 0`` is reported).
    message : str
        Human-readable summary.
    residual_tol, eig_tol : float
        Tolerances used.
    """

    model: str
    channel_names: list[str]
    regions: tuple[str, ...]
    fixed_points: tuple[FixedPoint, ...]
    n_starts: int
    n_converged: int
    success: bool
    status: int
    message: str
    residual_tol: float
    eig_tol: float

    @property
    def stable_points(self) -> tuple[FixedPoint, ...]:
        """The stable and marginal fixed points."""
        return tuple(p for p in self.fixed_points if p.stable)

    def to_json(self) -> dict:
        """JSON-ready dict (DESIGN.md contract for ``fixed-points --json``).

        Keys: ``model``, ``fixed_points`` (each with ``currents`` {edge: S}, ``A``
        {region: sum U S S}, ``gain`` {region: psi}, ``stable``, ``max_real_eigenvalue``,
        and also ``classification``, ``residual``, ``eigenvalues`` [[re, im], ...]),
        plus ``n_starts``, ``n_converged``, ``success``, ``status``, ``message``,
        ``residual_tol``, ``eig_tol``.
        """
        return {
            "model": self.model,
            "fixed_points": [
                {
                    "currents": dict(zip(self.channel_names, map(float, p.currents))),
                    "A": dict(zip(self.regions, map(float, p.variance))),
                    "gain": dict(zip(self.regions, map(float, p.gain))),
                    "stable": bool(p.stable),
                    "max_real_eigenvalue": float(p.max_real_eigenvalue),
                    "classification": p.classification,
                    "residual": float(p.residual),
                    "eigenvalues": [[float(z.real), float(z.imag)] for z in p.eigenvalues],
                }
                for p in self.fixed_points
            ],
            "n_starts": self.n_starts,
            "n_converged": self.n_converged,
            "success": self.success,
            "status": self.status,
            "message": self.message,
            "residual_tol": self.residual_tol,
            "eig_tol": self.eig_tol,
        }


def default_scale(kernel: BoundSystem) -> float:
    """Typical size of the structured variance's square root at a fixed point.

    A fixed point needs ``psi`` of order ``1 / rho`` with ``rho`` the spectral radius of
    ``T``, i.e. ``Delta ~ psi^{-1}(1 / rho)``; returns ``sqrt`` of that (``rho`` is
    clipped to at least 1.1 so the value stays positive).
    """
    rho = float(np.max(np.abs(np.linalg.eigvals(kernel.T))))
    delta = float(kernel.gains.inverse(1.0 / max(rho, 1.1)))
    return float(np.sqrt(delta))


ROUNDOFF_FACTOR = 1e3
"""Multiple of ``eps |T| |S|`` below which a residual of dS/dt cannot be certified."""


def roundoff_residual(kernel: BoundSystem, scale: float) -> float:
    """Smallest meaningful ``max |dS/dt|`` for currents of size ``scale``.

    ``dS/dt = -S + psi T S`` is computed with round-off ``~ eps (1 + |T|_inf) |S|``; for
    ordinary models (``|T|, |S| ~ 1``) this is ~1e-12, far below the default tolerance,
    but a loop of strength 1e6 has fixed points with ``|S| ~ 1e6`` where 1e-10 is out of
    reach. Returns ``ROUNDOFF_FACTOR eps (1 + |T|_inf) max(1, scale)``.
    """
    T_norm = float(np.max(np.abs(kernel.T).sum(axis=1))) if kernel.T.size else 0.0
    return ROUNDOFF_FACTOR * float(np.finfo(float).eps) * (1.0 + T_norm) * max(1.0, scale)


def random_starts(spec: ModelSpec, n_starts: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """``n_starts`` random current vectors (n, C).

    Entries are ``r * scale * z / sqrt(k)`` with ``z`` standard normal, ``k`` the number
    of channels entering the channel's target region and ``r`` log-uniform in
    :data:`START_RANGE`, so the structured variance of a region is about ``(r scale)^2``.
    """
    target = spec.channel_target
    fan_in = np.bincount(target, minlength=spec.n_regions)[target]
    radius = np.exp(rng.uniform(*np.log(START_RANGE), size=(n_starts, 1)))
    return radius * scale * rng.standard_normal((n_starts, spec.n_channels)) / np.sqrt(fan_in)


def deduplicate(points: np.ndarray, tol: float) -> np.ndarray:
    """Indices of the first point of every group closer than ``tol`` (max norm).

    Greedy in input order: a point is dropped when it lies within ``tol`` of an earlier
    kept point. Only pairs whose coordinate sums differ by at most ``C * tol`` (a
    necessary condition) are compared, so the cost is close to a sort.
    """
    points = np.asarray(points, dtype=float)
    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=int)
    key = points.sum(axis=1)
    order = np.argsort(key, kind="stable")
    window = points.shape[1] * (tol + 4 * np.finfo(float).eps * np.abs(points).max())  # slack for rounding
    upper = np.searchsorted(key[order], key[order] + window, side="right")
    near: list[list[int]] = [[] for _ in range(n)]
    for position in np.flatnonzero(upper - np.arange(n) > 1):
        i = order[position]
        candidates = order[position + 1 : upper[position]]
        close = candidates[np.abs(points[candidates] - points[i]).max(axis=1) <= tol]
        for j in close.tolist():
            near[min(i, j)].append(max(i, j))
    removed = np.zeros(n, dtype=bool)
    keep = []
    for i in range(n):
        if not removed[i]:
            keep.append(i)
            removed[near[i]] = True
    return np.array(keep, dtype=int)


def classify(eigenvalues: np.ndarray, eig_tol: float) -> str:
    """``"stable"``, ``"marginal"`` or ``"unstable"`` from Jacobian eigenvalues."""
    top = float(np.max(eigenvalues.real))
    if top > eig_tol:
        return "unstable"
    return "marginal" if top >= -eig_tol else "stable"


def classify_points(
    kernel: BoundSystem,
    points: np.ndarray,
    residuals: np.ndarray,
    eig_tol: float,
    structure: BlockStructure | None = None,
) -> list[FixedPoint]:
    """Build a classified :class:`FixedPoint` for every row of ``points`` (m, C).

    Computes the Jacobian eigenvalues of all points in batched calls
    (:func:`~mrdmft.solvers.fixed_point_spectra.jacobian_spectra`: blocks of ``T`` that
    carry no current are split off when ``structure`` is given), the variances
    ``A = sum U S S`` and gains ``psi(A)``, and labels each point with :func:`classify`.
    """
    points = np.asarray(points, dtype=float).reshape(-1, kernel.n_channels)
    eigenvalues = jacobian_spectra(kernel, points, structure)
    variance = kernel.variance(points)
    gain = np.array(np.broadcast_to(kernel.gains.gain(variance), variance.shape))
    found = []
    for k in range(len(points)):
        label = classify(eigenvalues[k], eig_tol)
        found.append(
            FixedPoint(
                currents=points[k],
                variance=variance[k],
                gain=gain[k],
                eigenvalues=eigenvalues[k],
                max_real_eigenvalue=float(eigenvalues[k, 0].real),
                classification=label,
                stable=label != "unstable",
                residual=float(residuals[k]),
            )
        )
    return found


def solve_roots(
    kernel: BoundSystem, starts: np.ndarray, residual_tol: float, structure: BlockStructure | None = None
) -> RootBatch:
    """Drive every start to a root of the current equations, polished to ``1e-3 * residual_tol``.

    When the channel graph of ``T`` splits into small blocks
    (:class:`~mrdmft.solvers.fixed_point_blocks.BlockStructure`), structured dogleg
    Newton iterations (:func:`~mrdmft.solvers.fixed_point_blocks.newton_dogleg`) do the
    bulk of the work and the dense Levenberg–Marquardt iteration finishes the rows they
    hand back: rows already within ``residual_tol`` are polished from where they stopped,
    the others start over from their start (from a dogleg's last iterate LM often needs
    many more iterations). Otherwise the dense iteration runs alone.

    Parameters
    ----------
    kernel : BoundSystem
    starts : numpy.ndarray, shape (n, C)
    residual_tol : float
        A row has converged when ``max |dS/dt| <= residual_tol``.
    structure : BlockStructure, optional
        Blocks of ``kernel.T`` (default: ``BlockStructure.from_kernel(kernel)``, which is
        None when a block is too large).

    Returns
    -------
    RootBatch
        ``iterations`` counts the linearizations of both stages.
    """
    starts = np.asarray(starts, dtype=float)
    if structure is None:
        structure = BlockStructure.from_kernel(kernel)
    if structure is None:
        return levenberg_marquardt(kernel.rhs, kernel.jacobian, starts, residual_tol)
    batch, unfinished = newton_dogleg(kernel, structure, starts, residual_tol)
    rows = np.flatnonzero(unfinished)
    if rows.size == 0:
        return batch
    origin = np.where(batch.converged[rows, None], batch.currents[rows], starts[rows])
    rest = levenberg_marquardt(kernel.rhs, kernel.jacobian, origin, residual_tol)
    currents, residual, iterations = batch.currents.copy(), batch.residual.copy(), batch.iterations.copy()
    currents[rows], residual[rows] = rest.currents, rest.residual
    iterations[rows] += rest.iterations
    return RootBatch(currents=currents, residual=residual, converged=residual <= residual_tol, iterations=iterations)


def settled_roots(kernel: BoundSystem, points: np.ndarray, distance_tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Which points of small residual are roots: their damped Newton step is below ``distance_tol``.

    A small residual is not enough near a degenerate root: at a loop of strength
    exactly 1, ``dS/dt ~ -c S^3`` is below 1e-13 at ``S ~ 5e-5``, so every slow start
    would count as a distinct fixed point. The length of the damped Newton step
    (:func:`~mrdmft.solvers.fixed_point_newton.newton_distance`) estimates the distance to
    the root; on a manifold of roots it vanishes along the manifold.

    Parameters
    ----------
    kernel : BoundSystem
    points : numpy.ndarray, shape (m, C)
        States whose residual met the tolerance.
    distance_tol : float
        Largest accepted step (max norm), e.g. the duplicate tolerance.

    Returns
    -------
    settled : numpy.ndarray of bool, shape (m,)
    distance : numpy.ndarray, shape (m,)
        Step length of every point.
    """
    distance = newton_distance(kernel.rhs(points), kernel.jacobian(points))
    return distance <= distance_tol, distance


def find_fixed_points(
    spec: ModelSpec,
    n_starts: int = 200,
    seed: int = 0,
    residual_tol: float = 1e-10,
    eig_tol: float = 1e-7,
    scale: float | None = None,
) -> FixedPointResult:
    """Find and classify fixed points of the g = 0 current dynamics by multi-start LM.

    Solves ``-S + psi(Delta(S))[src] * (T S) = 0`` (module docstring) from ``S = 0`` and
    ``n_starts`` random starts, keeps roots with ``max |dS/dt| <= residual_tol``,
    removes duplicates and classifies each by the Jacobian eigenvalues.

    Parameters
    ----------
    spec : ModelSpec
        Model with ``g = 0`` in every region.
    n_starts : int
        Number of random starts.
    seed : int
        Seed of the random starts.
    residual_tol : float
        Acceptance tolerance on ``max |dS/dt|``.
    eig_tol : float
        Absolute tolerance on real parts of Jacobian eigenvalues (classification).
    scale : float, optional
        Typical size of ``sqrt(Delta)`` for the random starts (default:
        :func:`default_scale`); also sets the duplicate tolerance ``1e-6 * scale``.

    Returns
    -------
    FixedPointResult

    Raises
    ------
    ModelInputError
        If a region has ``g > 0`` (its fixed points need the two-time theory), an
        argument is out of range, or ``n_starts`` starts do not fit in memory
        (:func:`~mrdmft.solvers.fixed_point_inputs.starts_memory_bytes`, checked first).
    """
    require_no_disorder(spec)
    n_starts = positive_integer(n_starts, "n_starts")
    require_starts_fit(n_starts, spec.n_channels)
    seed = positive_integer(seed, "seed", minimum=0)
    residual_tol = positive_number(residual_tol, "residual_tol", "give a small positive tolerance, e.g. 1e-10")
    eig_tol = positive_number(eig_tol, "eig_tol", "give a small positive tolerance, e.g. 1e-7")
    kernel = BoundSystem.from_spec(spec)
    if scale is None:
        scale = default_scale(kernel)
    else:
        scale = positive_number(scale, "scale", "give the typical size of sqrt(Delta) of the starts, e.g. 1.0, or omit it")

    requested_tol, residual_tol = residual_tol, max(residual_tol, roundoff_residual(kernel, scale))

    rng = np.random.default_rng(seed)
    starts = np.vstack([np.zeros((1, spec.n_channels)), random_starts(spec, n_starts, scale, rng)])
    structure = BlockStructure.from_kernel(kernel)
    batch = solve_roots(kernel, starts, residual_tol, structure)
    n_converged = int(batch.converged[1:].sum())

    good = np.flatnonzero(batch.converged)
    good = good[np.argsort(batch.residual[good], kind="stable")]
    good = good[deduplicate(batch.currents[good], DEDUPE_TOL * scale)]
    settled, distance = settled_roots(kernel, batch.currents[good], DEDUPE_TOL * scale)
    n_unsettled = int((~settled).sum())
    good = good[settled]
    found = classify_points(kernel, batch.currents[good], batch.residual[good], eig_tol, structure)
    found.sort(key=lambda p: (not p.stable, p.max_real_eigenvalue))

    n_stable = sum(p.stable for p in found)
    if n_converged == n_starts:
        status, text = 0, "all starts converged"
    elif n_converged > 0:
        status, text = 1, f"{n_starts - n_converged} of {n_starts} starts did not converge"
    else:
        status, text = 2, "no random start converged; only S = 0 is reported"
    message = (
        f"{len(found)} distinct fixed point{'s' * (len(found) != 1)} ({n_stable} stable or marginal) from {n_starts} random starts "
        f"and S = 0; {text} (residual_tol {residual_tol:g})"
    )
    if n_unsettled:
        message += (
            f"; {n_unsettled} distinct end point{'s' * (n_unsettled != 1)} of converged starts not listed: they met the residual "
            f"tolerance while still moving (Newton steps up to {distance.max():.2g} long) towards a degenerate root, "
            "e.g. at a loop of strength exactly 1, where dS/dt vanishes faster than linearly"
        )
    if residual_tol > requested_tol:
        message += (
            f"; the requested residual_tol {requested_tol:g} is below the round-off of dS/dt at this scale "
            f"(|T| |S| ~ {residual_tol / (ROUNDOFF_FACTOR * np.finfo(float).eps):.3g}), so {residual_tol:.3g} was used"
        )
    return FixedPointResult(
        model=spec.name,
        channel_names=spec.channel_names,
        regions=tuple(spec.regions),
        fixed_points=tuple(found),
        n_starts=n_starts,
        n_converged=n_converged,
        success=n_converged > 0,
        status=status,
        message=message,
        residual_tol=residual_tol,
        eig_tol=eig_tol,
    )


@dataclass(frozen=True)
class FixedPointRefinement:
    """Outcome of :func:`refine_fixed_point`: one state polished onto a fixed point.

    Attributes
    ----------
    fixed_point : FixedPoint or None
        The fixed point, classified like those of :func:`find_fixed_points`, when the
        iteration converged (``success``); None otherwise.
    currents : numpy.ndarray, shape (C,)
        Last iterate (equal to ``fixed_point.currents`` on success).
    residual : float
        ``max |dS/dt|`` at ``currents``.
    iterations : int
        Linearizations (Jacobian evaluations) spent by :func:`solve_roots`.
    success : bool
        ``residual <= residual_tol``.
    status : int
        0: converged; 1: the iteration stopped above ``residual_tol`` (no root nearby,
        or a local minimum of ``|dS/dt|``).
    message : str
        Human-readable summary.
    residual_tol, eig_tol : float
        Tolerances used.
    """

    fixed_point: FixedPoint | None
    currents: np.ndarray
    residual: float
    iterations: int
    success: bool
    status: int
    message: str
    residual_tol: float
    eig_tol: float


def refine_fixed_point(
    spec: ModelSpec,
    start: np.ndarray,
    residual_tol: float = 1e-10,
    eig_tol: float = 1e-7,
) -> FixedPointRefinement:
    """Polish one state onto a fixed point of the g = 0 current dynamics and classify it.

    Runs the root iteration of :func:`find_fixed_points` (:func:`solve_roots`) on
    ``-S + psi(Delta(S))[src] * (T S) = 0`` from ``start`` alone. On a continuous
    manifold of fixed points (THEORY §5) this lands on the point next to ``start``
    (e.g. the one a simulation sits at), which a set of random starts cannot name.

    Parameters
    ----------
    spec : ModelSpec
        Model with ``g = 0`` in every region.
    start : array_like, shape (C,), or Mapping[str, float]
        Initial currents, in channel order or ``{channel name: value}``.
    residual_tol : float
        Acceptance tolerance on ``max |dS/dt|``.
    eig_tol : float
        Absolute tolerance on real parts of Jacobian eigenvalues (classification).

    Returns
    -------
    FixedPointRefinement
        Failure to converge is reported in ``success`` / ``status``, not raised.

    Raises
    ------
    ModelInputError
        If a region has ``g > 0``, ``start`` is not one finite value per channel, or a
        tolerance is not positive.
    """
    require_no_disorder(spec)
    start = as_currents(spec, start, "start")
    residual_tol = positive_number(residual_tol, "residual_tol", "give a small positive tolerance, e.g. 1e-10")
    eig_tol = positive_number(eig_tol, "eig_tol", "give a small positive tolerance, e.g. 1e-7")
    kernel = BoundSystem.from_spec(spec)
    batch = solve_roots(kernel, start[None, :], residual_tol)
    currents, residual = batch.currents[0], float(batch.residual[0])
    iterations = int(batch.iterations[0])
    (settled,), (distance,) = settled_roots(kernel, batch.currents, DEDUPE_TOL * default_scale(kernel))
    if bool(batch.converged[0]) and settled:
        (point,) = classify_points(kernel, currents, batch.residual[:1], eig_tol)
        status = 0
        message = (
            f"converged to a {point.classification} fixed point (max Re lambda {point.max_real_eigenvalue:.3g}) "
            f"in {iterations} iterations, residual {residual:.2e}"
        )
    elif bool(batch.converged[0]):
        point, status = None, 1
        message = (
            f"did not settle on a root: residual {residual:.2e} <= residual_tol {residual_tol:g} but the Newton step "
            f"is still {distance:.2g} long after {iterations} iterations (a degenerate root, e.g. a loop of "
            "strength exactly 1, where dS/dt vanishes faster than linearly)"
        )
    else:
        point, status = None, 1
        message = f"did not converge: residual {residual:.2e} > residual_tol {residual_tol:g} after {iterations} iterations"
    return FixedPointRefinement(
        fixed_point=point,
        currents=currents,
        residual=residual,
        iterations=iterations,
        success=point is not None,
        status=status,
        message=message,
        residual_tol=residual_tol,
        eig_tol=eig_tol,
    )
