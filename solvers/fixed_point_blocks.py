"""Structured Newton (dogleg) iterations for the g = 0 currents: small blocks plus rank R.

The Jacobian of ``F(S) = -S + psi(Delta(S))[src] * (T S)`` (THEORY §5,
:meth:`~mrdmft.solvers.compiled.BoundSystem.jacobian`) splits as

    J = B + P Q^T,      B = -I + diag(psi[src]) T,
    P_{e beta} = a_e [src(e) = beta],   a_e = 2 psi'(Delta_beta) (T S)_e,
    Q_{f beta} = (U S)_f [tgt(f) = beta].

``B`` has the sparsity of ``T``: after a permutation it is block diagonal, one block per
connected component of the channel graph of ``T`` (the symmetric presets have 2 x 2
reciprocal pairs and 1 x 1 self-loops). The Newton step ``J delta = -F`` then follows
from the Woodbury identity with vectorized inverses of the small blocks (closed form for
sizes 1 and 2) and one batched R x R solve per start (:meth:`Linearization.solve`),
instead of a dense C x C factorization; ``J x`` and ``J^T x`` cost O(C R).

:func:`newton_dogleg` globalizes these steps with Powell's dogleg trust region (Newton
step inside the radius, else a path through the Cauchy point along ``-J^T F``): plain
Newton with backtracking stalls for many random starts because ``J`` is singular on
hypersurfaces between them and the roots.

Limits, measured on fig3-1 (THEORY §5 manifolds):

* on a manifold of roots ``J`` has near-null directions whose singular value shrinks
  like ``|F|``, so once ``|F|`` is about the acceptance tolerance a Newton step amplifies
  the rounding noise of ``F`` along the manifold and is rejected;
* where ``J`` is ill-conditioned far from a root the dogleg path (through the Cauchy
  point) is a poor substitute for the damped Levenberg–Marquardt direction, and some
  starts need many short steps.

Rows in either situation (rejected near the tolerance, no acceptable trial, or
:data:`MAX_ITER` reached) are handed back *unfinished*;
:func:`mrdmft.solvers.fixed_points.solve_roots` finishes them with the dense
Levenberg–Marquardt iteration. The damped normal equations themselves also have the
block-plus-low-rank form (rank 2R), but their Woodbury solve loses accuracy like
``eps / lambda`` where blocks of ``B`` are singular (every active pair at a root), and in
numpy it was not cheaper than the dense solve, so it is not used.

:class:`BlockStructure` returns None for a ``T`` with a block larger than
:data:`MAX_BLOCK` (e.g. the dense random ``T`` of fig6-r5) or fewer than
:data:`MIN_CHANNELS` channels; the dense path is used there.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sparse
from scipy.sparse.csgraph import connected_components

from .compiled import BoundSystem
from .fixed_point_newton import RootBatch, max_abs, squared_norm

MAX_BLOCK = 4
"""Largest block of ``B`` the structured path accepts; larger blocks use the dense path."""
MIN_CHANNELS = 16
"""Fewest channels for which the structured path is used: below, dense C x C algebra is as
cheap (measured, 250 starts: C = 9 symmetric model 35 ms structured vs 30 ms dense,
C = 16 equal, C = 25 (fig3-1) 16 ms vs 25 ms)."""
MAX_ITER = 16
"""Linearizations before a row is handed back unfinished (the few slow rows of a batch
would otherwise keep the whole per-iteration overhead running)."""
TRUST_TRIALS = 3
"""Dogleg steps (with shrinking trust radius) tried per linearization."""
INITIAL_RADIUS = 1.0
"""Initial trust radius relative to ``max(|S_0|, 1e-3)``."""
HANDOFF_FACTOR = 1e3
"""A row whose step is rejected at ``max |F| <= HANDOFF_FACTOR * residual_tol`` is handed
back at once (its remaining error is the manifold noise described in the module docstring)."""


@dataclass(frozen=True)
class BlockStructure:
    """Connected components of the channel graph of ``T``, grouped by size.

    Channels ``e`` and ``f`` share a block when ``T_{ef} != 0`` or ``T_{fe} != 0``
    (transitively), so ``B = -I + diag(psi[src]) T`` is block diagonal in these blocks
    for every gain vector. Within-block entries are stored flat, one column per pair
    ``(e, f)`` of :attr:`pair_rows` / :attr:`pair_cols` (block by block, row-major).

    Attributes
    ----------
    groups : tuple of numpy.ndarray
        One int array of shape ``(n_blocks, k)`` per block size ``k`` (ascending): the
        channels of every block of that size.
    T : numpy.ndarray, shape (C, C)
    source, target : numpy.ndarray of int, shape (C,)
        Source and target region of every channel.
    n_regions : int
    """

    groups: tuple[np.ndarray, ...]
    T: np.ndarray
    source: np.ndarray
    target: np.ndarray
    n_regions: int

    @classmethod
    def from_kernel(
        cls, kernel: BoundSystem, max_block: int = MAX_BLOCK, min_channels: int = MIN_CHANNELS
    ) -> "BlockStructure | None":
        """Blocks of ``kernel.T``; None if a block has more than ``max_block`` channels or
        the model has fewer than ``min_channels`` (use the dense path then)."""
        T = kernel.T
        if T.shape[0] < min_channels:
            return None
        _, labels = connected_components(sparse.csr_matrix((T != 0) | (T.T != 0)), directed=False)
        sizes = np.bincount(labels)
        if sizes.max(initial=0) > max_block:
            return None
        blocks = np.split(np.argsort(labels, kind="stable"), np.cumsum(sizes)[:-1])
        groups = tuple(np.array([b for b in blocks if b.size == k]).reshape(-1, k) for k in np.unique(sizes))
        target = np.argmax(kernel.target_onehot, axis=1)
        return cls(groups, T, np.asarray(kernel.source), target, kernel.target_onehot.shape[1])

    @property
    def n_channels(self) -> int:
        """Number of currents C."""
        return self.T.shape[0]

    @cached_property
    def pair_rows(self) -> np.ndarray:
        """Row channel ``e`` of every within-block pair."""
        return np.concatenate([np.repeat(g, g.shape[1], axis=1).ravel() for g in self.groups])

    @cached_property
    def pair_cols(self) -> np.ndarray:
        """Column channel ``f`` of every within-block pair."""
        return np.concatenate([np.tile(g, (1, g.shape[1])).ravel() for g in self.groups])

    @cached_property
    def row_scatter(self) -> np.ndarray:
        """``(n_pairs, C)`` one-hot of :attr:`pair_rows`: sums pair terms into their row."""
        return np.eye(self.n_channels)[self.pair_rows]

    @cached_property
    def col_scatter(self) -> np.ndarray:
        """``(n_pairs, C)`` one-hot of :attr:`pair_cols`: sums pair terms into their column."""
        return np.eye(self.n_channels)[self.pair_cols]

    @cached_property
    def capacitance_scatter(self) -> np.ndarray:
        """``(n_pairs, R * R)`` one-hot of entry ``(tgt(e), src(f))`` for every pair ``(e, f)``."""
        R = self.n_regions
        return np.eye(R * R)[self.target[self.pair_rows] * R + self.source[self.pair_cols]]

    @cached_property
    def source_onehot(self) -> np.ndarray:
        """``(C, R)``: ``[src(e) == beta]``."""
        return np.eye(self.n_regions)[self.source]

    @cached_property
    def target_onehot(self) -> np.ndarray:
        """``(C, R)``: ``[tgt(f) == beta]``."""
        return np.eye(self.n_regions)[self.target]

    @cached_property
    def pair_T(self) -> np.ndarray:
        """``T_{ef}`` of every pair."""
        return self.T[self.pair_rows, self.pair_cols]

    @cached_property
    def pair_identity(self) -> np.ndarray:
        """``delta_{ef}`` of every pair."""
        return (self.pair_rows == self.pair_cols).astype(float)

    def block_entries(self, psi_src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Within-block entries of ``B = -I + diag(psi_src) T`` and of ``B^-1``.

        Parameters
        ----------
        psi_src : numpy.ndarray, shape (m, C)
            ``psi[src(e)]`` per row.

        Returns
        -------
        B, B_inv : numpy.ndarray, shape (m, n_pairs)
            ``B_inv`` is non-finite where a block is singular.
        """
        B = psi_src[:, self.pair_rows] * self.pair_T - self.pair_identity
        inverse = np.empty_like(B)
        start = 0
        for g in self.groups:
            n_blocks, k = g.shape
            stop = start + n_blocks * k * k
            blocks = B[:, start:stop].reshape(-1, n_blocks, k, k)
            inverse[:, start:stop] = invert_blocks(blocks).reshape(-1, stop - start)
            start = stop
        return B, inverse


def invert_blocks(blocks: np.ndarray) -> np.ndarray:
    """Inverses of a stack of small square matrices (..., k, k); closed form for k <= 2.

    Singular blocks give non-finite entries (k <= 2) or NaN (k > 2), never an exception.
    """
    k = blocks.shape[-1]
    with np.errstate(all="ignore"):
        if k == 1:
            return 1.0 / blocks
        if k == 2:
            a, b, c, d = blocks[..., 0, 0], blocks[..., 0, 1], blocks[..., 1, 0], blocks[..., 1, 1]
            return (np.stack([d, -b, -c, a], axis=-1) / (a * d - b * c)[..., None]).reshape(blocks.shape)
        try:
            return np.linalg.inv(blocks)
        except np.linalg.LinAlgError:
            return np.full(blocks.shape, np.nan)


@dataclass(frozen=True)
class Linearization:
    """``J = B + P Q^T`` at a batch of states (module docstring).

    Attributes
    ----------
    structure : BlockStructure
    blocks, inverse : numpy.ndarray, shape (m, n_pairs)
        Within-block entries of ``B`` and ``B^-1`` (non-finite where a block is singular).
    a, US : numpy.ndarray, shape (m, C)
        ``a_e = 2 psi'[src(e)] (T S)_e`` and ``(U S)_f``.
    """

    structure: BlockStructure
    blocks: np.ndarray
    inverse: np.ndarray
    a: np.ndarray
    US: np.ndarray

    @classmethod
    def at(cls, kernel: BoundSystem, structure: BlockStructure, S: np.ndarray) -> "Linearization":
        """Factors of the Jacobian of ``kernel.rhs`` at ``S`` (m, C)."""
        US = S @ kernel.U
        variance = (S * US) @ kernel.target_onehot
        psi, slope = (np.broadcast_to(x, variance.shape) for x in kernel.gains.gain_and_slope(variance))
        src = structure.source
        blocks, inverse = structure.block_entries(psi[:, src])
        return cls(structure, blocks, inverse, 2.0 * slope[:, src] * (S @ kernel.T.T), US)

    def subset(self, rows: np.ndarray) -> "Linearization":
        """The factors of the given rows only."""
        return Linearization(self.structure, self.blocks[rows], self.inverse[rows], self.a[rows], self.US[rows])

    def dense(self) -> np.ndarray:
        """``J`` as a dense (m, C, C) array (for checks)."""
        st = self.structure
        m, C = self.a.shape
        J = np.zeros((m, C, C))
        J[:, st.pair_rows, st.pair_cols] = self.blocks
        mask = st.source[:, None] == st.target[None, :]
        return J + mask * self.a[:, :, None] * self.US[:, None, :]

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """``J x`` for ``x`` (m, C)."""
        st = self.structure
        Bx = (self.blocks * x[:, st.pair_cols]) @ st.row_scatter
        return Bx + self.a * ((self.US * x) @ st.target_onehot)[:, st.source]

    def rmatvec(self, x: np.ndarray) -> np.ndarray:
        """``J^T x`` for ``x`` (m, C)."""
        st = self.structure
        BTx = (self.blocks * x[:, st.pair_rows]) @ st.col_scatter
        return BTx + self.US * ((self.a * x) @ st.source_onehot)[:, st.target]

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``J^-1 rhs`` (m, C) by the Woodbury identity; non-finite rows where it is singular.

        ``J^-1 r = B^-1 (r - a * v[src])`` with ``v`` (R) solving the capacitance system
        ``(I + Q^T B^-1 P) v = Q^T B^-1 r``; ``Q^T B^-1 P`` sums ``(U S)_e (B^-1)_{ef} a_f``
        over the within-block pairs into entry ``(tgt(e), src(f))``.
        """
        st = self.structure
        m, R = rhs.shape[0], st.n_regions
        with np.errstate(all="ignore"):
            y = (self.inverse * rhs[:, st.pair_cols]) @ st.row_scatter
            weights = self.inverse * self.US[:, st.pair_rows] * self.a[:, st.pair_cols]
            capacitance = (weights @ st.capacitance_scatter).reshape(m, R, R) + np.eye(R)
            w = (self.US * y) @ st.target_onehot
            try:
                v = np.linalg.solve(capacitance, w[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                v = np.full((m, R), np.nan)
            corrected = rhs - self.a * v[:, st.source]
            return (self.inverse * corrected[:, st.pair_cols]) @ st.row_scatter


@dataclass(frozen=True)
class DoglegPath:
    """The two legs of Powell's dogleg at a batch of states (one linearization).

    Attributes
    ----------
    gradient : numpy.ndarray, shape (m, C)
        ``g = J^T F`` (gradient of ``|F|^2 / 2``).
    J_gradient : numpy.ndarray, shape (m, C)
        ``J g``.
    alpha : numpy.ndarray, shape (m,)
        The Cauchy point is ``-alpha g`` (minimizer of ``|F - t J g|`` over ``t``).
    newton : numpy.ndarray, shape (m, C)
        Newton step ``-J^-1 F`` (zero where it is not finite).
    newton_norm : numpy.ndarray, shape (m,)
        Its length (inf where it is not finite).
    """

    gradient: np.ndarray
    J_gradient: np.ndarray
    alpha: np.ndarray
    newton: np.ndarray
    newton_norm: np.ndarray

    @classmethod
    def at(cls, lin: Linearization, F: np.ndarray) -> "DoglegPath":
        """Newton step and steepest-descent leg for residuals ``F`` (m, C)."""
        with np.errstate(all="ignore"):
            newton = lin.solve(-F)
            ok = np.isfinite(newton).all(axis=1)
            newton[~ok] = 0.0
            g = lin.rmatvec(F)
            Jg = lin.matvec(g)
            alpha = np.einsum("ij,ij->i", g, g) / np.einsum("ij,ij->i", Jg, Jg)
        return cls(
            gradient=g,
            J_gradient=Jg,
            alpha=np.where(np.isfinite(alpha), alpha, 0.0),
            newton=newton,
            newton_norm=np.where(ok, np.sqrt(np.einsum("ij,ij->i", newton, newton)), np.inf),
        )

    def subset(self, rows: np.ndarray) -> "DoglegPath":
        """The path of the given rows only."""
        return DoglegPath(
            self.gradient[rows], self.J_gradient[rows], self.alpha[rows], self.newton[rows], self.newton_norm[rows]
        )

    def step(self, F: np.ndarray, radius: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Dogleg step inside ``radius`` (m,) and its linear prediction ``F + J s``.

        The Newton step when it fits; otherwise the path ``-alpha g`` then towards the
        Newton point, cut at the radius (only the first leg where the Newton step is
        not finite).
        """
        with np.errstate(all="ignore"):
            g, finite = self.gradient, np.isfinite(self.newton_norm)
            gg = np.einsum("ij,ij->i", g, g)
            t = np.minimum(self.alpha, radius / np.sqrt(np.where(gg > 0, gg, np.inf)))
            cauchy = -t[:, None] * g
            d = self.newton - cauchy
            dd = np.einsum("ij,ij->i", d, d)
            cd = np.einsum("ij,ij->i", cauchy, d)
            tau = (-cd + np.sqrt(np.maximum(cd * cd + dd * (radius * radius - t * t * gg), 0.0))) / dd
            tau = np.where(finite & (t >= self.alpha) & (dd > 0), np.clip(tau, 0.0, 1.0), 0.0)
            tau = np.where(self.newton_norm <= radius, 1.0, tau)
            # J s = (1 - tau) J cauchy + tau J newton, with J newton = -F.
            predicted = (1.0 - tau)[:, None] * (F - t[:, None] * self.J_gradient)
            return cauchy + tau[:, None] * d, predicted


def newton_dogleg(
    kernel: BoundSystem,
    structure: BlockStructure,
    starts: np.ndarray,
    residual_tol: float,
    max_iter: int = MAX_ITER,
    target_factor: float = 1e-3,
) -> tuple[RootBatch, np.ndarray]:
    """Batched trust-region dogleg iterations with structured Newton steps.

    Each iteration linearizes once (:class:`Linearization`) and tries up to
    :data:`TRUST_TRIALS` dogleg steps, shrinking the radius, until one is accepted
    (actual decrease of ``|F|^2`` above 1e-4 of the predicted one). The radius becomes a
    quarter of the step when that ratio is below 1/4 and doubles when it is above 3/4
    and the step reached the radius; it starts at ``max(|S_0|, 1e-3)``.

    A row finishes when ``max |F| <= target_factor * residual_tol``. It is handed back
    (``unfinished``) when no trial is accepted, when a step is rejected at
    ``max |F| <= HANDOFF_FACTOR * residual_tol``, when the radius collapses below
    ``1e-15 (max |S| + 1)``, or after ``max_iter`` iterations.

    Parameters
    ----------
    kernel : BoundSystem
    structure : BlockStructure
        Blocks of ``kernel.T``.
    starts : numpy.ndarray, shape (n, C)
    residual_tol : float
        A row has converged when ``max |F| <= residual_tol``.
    max_iter : int
        Maximum linearizations per row.
    target_factor : float
        Rows iterate until ``max |F| <= target_factor * residual_tol``.

    Returns
    -------
    batch : RootBatch
        Last iterate of every row (``iterations`` counts linearizations).
    unfinished : numpy.ndarray of bool, shape (n,)
        Rows handed back above the target.
    """
    S = np.array(starts, dtype=float, copy=True)
    F = kernel.rhs(S)
    res = max_abs(F)
    iterations = np.zeros(len(S), dtype=int)
    target, handoff = target_factor * residual_tol, HANDOFF_FACTOR * residual_tol
    unfinished = ~np.isfinite(res)

    rows = np.flatnonzero((res > target) & np.isfinite(res))
    S_a, F_a = S[rows], F[rows]
    cost_a = squared_norm(F_a)
    radius = INITIAL_RADIUS * np.maximum(np.sqrt(np.einsum("ij,ij->i", S_a, S_a)), 1e-3)
    for _ in range(max_iter):
        if rows.size == 0:
            break
        path = DoglegPath.at(Linearization.at(kernel, structure, S_a), F_a)
        iterations[rows] += 1
        rejected = np.zeros(rows.size, dtype=bool)
        todo = np.arange(rows.size)
        for _trial in range(TRUST_TRIALS):
            part = path if todo.size == rows.size else path.subset(todo)
            step, predicted = part.step(F_a[todo], radius[todo])
            with np.errstate(all="ignore"):
                S_new = S_a[todo] + step
                F_new = kernel.rhs(S_new)
                cost_new = squared_norm(F_new)
                gain = cost_a[todo] - cost_new
                ratio = gain / (cost_a[todo] - squared_norm(predicted))
            ratio = np.where(np.isfinite(ratio), ratio, np.where(gain > 0, 1.0, -1.0))
            step_norm = np.sqrt(np.einsum("ij,ij->i", step, step))
            grow = (ratio > 0.75) & (step_norm >= 0.99 * radius[todo])
            radius[todo] = np.where(ratio < 0.25, 0.25 * step_norm, np.where(grow, 2.0 * radius[todo], radius[todo]))
            ok = (ratio > 1e-4) & (gain > 0)
            good = todo[ok]
            S_a[good], F_a[good], cost_a[good] = S_new[ok], F_new[ok], cost_new[ok]
            rejected[todo[~ok]] = True
            todo = todo[~ok]
            if todo.size == 0:
                break
        res_a = max_abs(F_a)
        res[rows] = res_a
        done = res_a <= target
        stuck = np.zeros(rows.size, dtype=bool)
        stuck[todo] = True
        collapsed = radius <= 1e-15 * (np.abs(S_a).max(axis=1) + 1.0)
        failed = ~done & (stuck | (rejected & (res_a <= handoff)) | collapsed)
        finished = done | failed
        if finished.any():
            S[rows[finished]] = S_a[finished]
            unfinished[rows[failed]] = True
            keep = ~finished
            rows, S_a, F_a, cost_a, radius = rows[keep], S_a[keep], F_a[keep], cost_a[keep], radius[keep]
    S[rows] = S_a
    unfinished[rows] = True
    return RootBatch(currents=S, residual=res, converged=res <= residual_tol, iterations=iterations), unfinished
