"""Batched Levenberg–Marquardt root finding for many starts at once.

Each row ``s`` of a batch solves ``F(s) = 0`` by minimizing ``|F(s)|^2 / 2``. An
iteration computes the Jacobian ``J`` once and the damped Gauss–Newton direction

    (J^T J + mu_k I) delta = -J^T F,        mu_k = lambda_k |F|_2 + MIN_DAMPING * m_k,

with ``m_k = mean(diag(J^T J))`` (Fan–Yuan damping: ``mu -> 0`` like ``|F|``, which keeps
the convergence quadratic even where the roots form a continuous manifold and ``J`` is
singular there, THEORY §5; the damping keeps the linear system positive definite). It
then backtracks along the direction, ``s + t delta`` for ``t`` in :data:`STEP_LENGTHS`,
and takes the first ``t`` that lowers ``|F|^2`` (residual evaluations are much cheaper
than the factorization). ``lambda_k`` shrinks tenfold after a full step, grows threefold
after a shortened one and tenfold when no step length helps.

All rows are advanced together with batched numpy linear algebra; finished rows drop
out of the batch, and the Jacobian and normal matrix live in buffers allocated once
(fresh (n, C, C) arrays every iteration cost more in page faults than the arithmetic).

Per-row outcome is reported in :class:`RootBatch`, never by raising.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

INITIAL_DAMPING = 1e-2
"""``lambda_0``: the first step is nearly a Gauss–Newton step."""
MIN_LAMBDA = 1e-12
MAX_LAMBDA = 1e12
"""A row whose ``lambda`` exceeds this cannot lower ``|F|`` any further and stops."""
MIN_DAMPING = 1e-15
"""Floor of ``mu`` relative to ``mean(diag(J^T J))``: keeps the system nonsingular."""
STEP_LENGTHS = (1.0, 0.5, 0.25, 0.1)
"""Backtracking step lengths along the damped Gauss–Newton direction."""
STALL_STEPS = 6
"""Consecutive accepted steps that lower |F|^2 by < STALL_DECREASE (relative) count as a stall."""
STALL_DECREASE = 1e-9

JacobianFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``jacobian_fn(S, out)``: ``dF/dS`` at ``S`` (m, C), shape (m, C, C). ``out`` is a
scratch array of that shape the function may fill and return (or ignore)."""


@dataclass(frozen=True)
class RootBatch:
    """Outcome of :func:`levenberg_marquardt` for every row of the batch.

    Attributes
    ----------
    currents : numpy.ndarray, shape (n, C)
        Last iterate of each row.
    residual : numpy.ndarray, shape (n,)
        ``max_e |F_e|`` at the last iterate (inf if it is not finite).
    converged : numpy.ndarray of bool, shape (n,)
        ``residual <= residual_tol``.
    iterations : numpy.ndarray of int, shape (n,)
        Jacobian evaluations (= linear solves) spent on each row.
    """

    currents: np.ndarray
    residual: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


def solve_batch(H: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``H x = rhs`` for every row of the batch; rows that fail give NaN.

    Parameters
    ----------
    H : numpy.ndarray, shape (m, C, C)
    rhs : numpy.ndarray, shape (m, C)
    """
    try:
        return np.linalg.solve(H, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(rhs.shape, np.nan)
        for i in range(len(H)):
            try:
                out[i] = np.linalg.solve(H[i], rhs[i])
            except np.linalg.LinAlgError:
                pass
        return out


STEP_DAMPING = 1e-10
"""Relative damping of :func:`newton_distance`: singular values of ``J`` below about
``STEP_DAMPING * max(1, max |J|)`` count as zero (null directions of a manifold)."""


def newton_distance(F: np.ndarray, J: np.ndarray) -> np.ndarray:
    """Length (max norm) of the damped Newton step from each state: its distance to the root.

    ``delta = -(J^T J + mu I)^-1 J^T F`` with ``mu = (STEP_DAMPING max(1, max |J|))^2``,
    evaluated as the least-squares solution of ``[J; sqrt(mu) I] delta = [-F; 0]`` by a
    batched QR factorization (the normal equations would square the condition number).
    At a simple root ``|delta|`` is the distance to the root, at a point of a manifold of
    roots the step along the manifold's null directions vanishes, and near a degenerate
    root (e.g. ``dS/dt = -c S^3`` at a loop of strength exactly 1) it stays of the order
    of the distance although ``|F|`` is tiny: small residuals there are not roots.

    Parameters
    ----------
    F : numpy.ndarray, shape (m, C)
        Residuals ``dS/dt``.
    J : numpy.ndarray, shape (m, C, C)
        Jacobians at the same states.

    Returns
    -------
    numpy.ndarray, shape (m,)
        ``max_e |delta_e|``; inf where the step is not finite.
    """
    m, C = F.shape
    if m == 0:
        return np.zeros(0)
    with np.errstate(all="ignore"):
        root_mu = STEP_DAMPING * np.maximum(1.0, np.abs(J).max(axis=(1, 2), initial=0.0))
        augmented = np.concatenate([J, root_mu[:, None, None] * np.eye(C)], axis=1)
        if not np.isfinite(augmented).all():
            return np.full(m, np.inf)
        Q, R = np.linalg.qr(augmented)
        step = solve_batch(R, -np.einsum("mji,mj->mi", Q[:, :C, :], F))
    return max_abs(step)


def max_abs(F: np.ndarray) -> np.ndarray:
    """``max_e |F_e|`` per row, inf for rows with a non-finite entry."""
    res = np.abs(F).max(axis=1, initial=0.0)
    return np.where(np.isfinite(res), res, np.inf)


def squared_norm(F: np.ndarray) -> np.ndarray:
    """``|F|_2^2`` per row, inf for rows with a non-finite entry."""
    cost = np.einsum("ij,ij->i", F, F)
    return np.where(np.isfinite(cost), cost, np.inf)


def backtrack(
    residual_fn: Callable[[np.ndarray], np.ndarray], S: np.ndarray, delta: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """First step length of :data:`STEP_LENGTHS` that lowers ``|F|^2``, row by row.

    Returns
    -------
    step : numpy.ndarray, shape (m,)
        Accepted step length, 0 where none lowered ``|F|^2``.
    S_new, F_new, cost_new : numpy.ndarray
        ``S + step * delta``, its residual and ``|F|^2`` where ``step > 0``; elsewhere
        the last (rejected) trial.
    """
    with np.errstate(all="ignore"):  # trial points far out may overflow; they are rejected
        first, *shorter = STEP_LENGTHS
        S_new = S + first * delta
        F_new = residual_fn(S_new)
        cost_new = squared_norm(F_new)
        better = cost_new < cost
        step = np.where(better, first, 0.0)
        todo = np.flatnonzero(~better)
        for t in shorter:
            if todo.size == 0:
                break
            trial = S[todo] + t * delta[todo]
            F_trial = residual_fn(trial)
            cost_trial = squared_norm(F_trial)
            S_new[todo], F_new[todo], cost_new[todo] = trial, F_trial, cost_trial
            better = cost_trial < cost[todo]
            step[todo[better]] = t
            todo = todo[~better]
    return step, S_new, F_new, cost_new


def levenberg_marquardt(
    residual_fn: Callable[[np.ndarray], np.ndarray],
    jacobian_fn: JacobianFunction,
    starts: np.ndarray,
    residual_tol: float,
    max_iter: int = 100,
    target_factor: float = 1e-3,
) -> RootBatch:
    """Find roots of ``F`` from many starts with batched Levenberg–Marquardt steps.

    Parameters
    ----------
    residual_fn : callable
        ``F(S)`` for ``S`` of shape (m, C), returning (m, C).
    jacobian_fn : callable
        ``jacobian_fn(S, out)``: ``dF/dS`` (m, C, C) at ``S`` (m, C); ``out`` is a
        reusable scratch array of that shape (see :data:`JacobianFunction`).
    starts : numpy.ndarray, shape (n, C)
        Initial points.
    residual_tol : float
        A row has converged when ``max |F| <= residual_tol``.
    max_iter : int
        Maximum number of iterations (Jacobian evaluations) per row.
    target_factor : float
        Rows keep iterating until ``max |F| <= target_factor * residual_tol`` (or no
        further decrease is possible), so reported roots are polished well below the
        acceptance tolerance.

    Returns
    -------
    RootBatch
    """
    S = np.array(starts, dtype=float, copy=True)
    n, C = S.shape
    F = residual_fn(S)
    res = max_abs(F)
    iterations = np.zeros(n, dtype=int)
    target = target_factor * residual_tol

    # Working set: rows still iterating, compacted whenever some finish.
    rows = np.flatnonzero((res > target) & np.isfinite(res))
    S_a, F_a = S[rows], F[rows]
    cost_a = squared_norm(F_a)
    damping = np.full(rows.size, INITIAL_DAMPING)
    stalls = np.zeros(rows.size, dtype=int)
    jacobian_buffer = np.empty((rows.size, C, C))
    normal_buffer = np.empty((rows.size, C, C))

    for _ in range(max_iter):
        m = rows.size
        if m == 0:
            break
        J = jacobian_fn(S_a, jacobian_buffer[:m])
        H = np.matmul(J.transpose(0, 2, 1), J, out=normal_buffer[:m])
        gradient = np.matmul(F_a[:, None, :], J)[:, 0, :]
        diagonal = H.reshape(m, C * C)[:, :: C + 1]  # writable view of diag(H)
        floor = MIN_DAMPING * diagonal.mean(axis=1) + np.finfo(float).tiny
        diagonal += (damping * np.sqrt(cost_a) + floor)[:, None]
        delta = solve_batch(H, gradient)
        step, S_new, F_new, cost_new = backtrack(residual_fn, S_a, -delta, cost_a)
        iterations[rows] += 1

        accept = step > 0
        small_gain = (cost_a - cost_new) <= STALL_DECREASE * cost_a
        stalls = np.where(accept, np.where(small_gain, stalls + 1, 0), stalls)
        np.copyto(S_a, S_new, where=accept[:, None])
        np.copyto(F_a, F_new, where=accept[:, None])
        np.copyto(cost_a, cost_new, where=accept)
        res_a = max_abs(F_a)
        res[rows] = res_a
        damping *= np.where(step == 1.0, 0.1, np.where(accept, 3.0, 10.0))
        np.maximum(damping, MIN_LAMBDA, out=damping)

        finished = (res_a <= target) | (damping > MAX_LAMBDA) | (stalls >= STALL_STEPS)
        if finished.any():
            S[rows[finished]] = S_a[finished]
            keep = ~finished
            rows, S_a, F_a, cost_a = rows[keep], S_a[keep], F_a[keep], cost_a[keep]
            damping, stalls = damping[keep], stalls[keep]
    S[rows] = S_a

    converged = res <= residual_tol
    return RootBatch(currents=S, residual=res, converged=converged, iterations=iterations)
