"""Batched Levenberg–Marquardt root finding for many starts at once.

Each row ``s`` of a batch solves ``F(s) = 0`` by minimizing ``|F(s)|^2 / 2`` with the
damped Gauss–Newton step

    (J^T J + lambda_k m_k I) delta = -J^T F,        m_k = mean(diag(J^T J)),

accepted when it lowers ``|F|^2`` (then ``lambda_k /= 3``) and otherwise retried with
``lambda_k *= 4`` (the Jacobian is reused). The damping keeps the linear system
positive definite, so a singular Jacobian (a fixed point on a continuous manifold,
THEORY §5) is no obstacle: the step is then close to the minimum-norm Gauss–Newton
step and convergence to the manifold stays fast. All rows are advanced together with
batched numpy linear algebra; rows that have finished drop out of the batch.

Per-row outcome is reported in :class:`RootBatch`, never by raising.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

INITIAL_DAMPING = 1e-3
MIN_DAMPING = 1e-15
MAX_DAMPING = 1e12
STALL_STEPS = 6
"""Consecutive accepted steps that lower |F|^2 by < STALL_DECREASE (relative) count as a stall."""
STALL_DECREASE = 1e-9


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
        Linear solves spent on each row.
    """

    currents: np.ndarray
    residual: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


def _solve_batch(H: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``H x = rhs`` row by row of the batch; rows that fail give NaN."""
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


def _max_abs(F: np.ndarray) -> np.ndarray:
    """``max_e |F_e|`` per row, inf for rows with a non-finite entry."""
    res = np.abs(F).max(axis=1, initial=0.0)
    return np.where(np.all(np.isfinite(F), axis=1), res, np.inf)


def levenberg_marquardt(
    residual_fn: Callable[[np.ndarray], np.ndarray],
    jacobian_fn: Callable[[np.ndarray], np.ndarray],
    starts: np.ndarray,
    residual_tol: float,
    max_iter: int = 100,
    target_factor: float = 1e-3,
) -> RootBatch:
    """Find roots of ``F`` from many starts with batched Levenberg–Marquardt steps.

    Parameters
    ----------
    residual_fn : callable
        ``F(S)`` for ``S`` of shape (n, C), returning (n, C).
    jacobian_fn : callable
        ``dF/dS`` for ``S`` of shape (n, C), returning (n, C, C).
    starts : numpy.ndarray, shape (n, C)
        Initial points.
    residual_tol : float
        A row has converged when ``max |F| <= residual_tol``.
    max_iter : int
        Maximum number of linear solves per row.
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
    res = _max_abs(F)
    iterations = np.zeros(n, dtype=int)
    target = target_factor * residual_tol
    diagonal = np.arange(C)

    # Working set: rows still iterating, compacted whenever some finish.
    rows = np.flatnonzero((res > target) & np.isfinite(res))
    S_a, F_a = S[rows], F[rows]
    cost_a = np.sum(F_a * F_a, axis=1)
    damping = np.full(rows.size, INITIAL_DAMPING)
    stalls = np.zeros(rows.size, dtype=int)
    stale = np.ones(rows.size, dtype=bool)
    normal = np.empty((rows.size, C, C))
    gradient = np.empty((rows.size, C))

    for _ in range(max_iter):
        if rows.size == 0:
            break
        if stale.all():
            J = jacobian_fn(S_a)
            normal = np.matmul(J.transpose(0, 2, 1), J)
            gradient = np.matmul(F_a[:, None, :], J)[:, 0, :]
        elif stale.any():
            J = jacobian_fn(S_a[stale])
            normal[stale] = np.matmul(J.transpose(0, 2, 1), J)
            gradient[stale] = np.matmul(F_a[stale][:, None, :], J)[:, 0, :]
        H = normal.copy()
        scale = np.maximum(np.trace(H, axis1=1, axis2=2) / max(C, 1), np.finfo(float).tiny)
        H[:, diagonal, diagonal] += (damping * scale)[:, None]
        trial = S_a - _solve_batch(H, gradient)
        F_trial = residual_fn(trial)
        res_trial = _max_abs(F_trial)
        cost_trial = np.where(np.isfinite(res_trial), np.sum(F_trial * F_trial, axis=1), np.inf)
        iterations[rows] += 1

        accept = cost_trial < cost_a
        small_gain = (cost_a - cost_trial) <= STALL_DECREASE * cost_a
        stalls = np.where(accept, np.where(small_gain, stalls + 1, 0), stalls)
        S_a[accept], F_a[accept], cost_a[accept] = trial[accept], F_trial[accept], cost_trial[accept]
        res_a = np.where(accept, res_trial, res[rows])
        res[rows] = res_a
        damping = np.where(accept, np.maximum(damping / 3.0, MIN_DAMPING), damping * 4.0)
        stale = accept

        finished = (res_a <= target) | (damping > MAX_DAMPING) | (stalls >= STALL_STEPS)
        if finished.any():
            S[rows[finished]] = S_a[finished]
            keep = ~finished
            rows, S_a, F_a, cost_a = rows[keep], S_a[keep], F_a[keep], cost_a[keep]
            damping, stalls, stale = damping[keep], stalls[keep], stale[keep]
            normal, gradient = normal[keep], gradient[keep]
    S[rows] = S_a

    converged = res <= residual_tol
    return RootBatch(currents=S, residual=res, converged=converged, iterations=iterations)
