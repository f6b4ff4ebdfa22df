"""Jacobian spectra of many fixed points, decoupling the blocks that carry no current.

At a state ``S`` the Jacobian is ``J = B + P Q^T`` (:mod:`mrdmft.solvers.fixed_point_blocks`)
with ``B`` block diagonal in the blocks of ``T`` and ``(P Q^T)_{ef} = a_e (U S)_f`` on the
pattern ``src(e) = tgt(f)``, ``a_e = 2 psi'[src(e)] (T S)_e``. A block whose channels all
have ``a_e = 0`` and ``(U S)_e = 0`` (no drive, no input: an inactive reciprocal pair or
self-loop) has no entries outside its diagonal block, so the spectrum of ``J`` is the
union of the spectra of those blocks of ``B`` and of ``J`` restricted to the remaining
("coupled") channels. :func:`block_spectra` computes the small blocks in closed form
(k <= 2) and the coupled rest with one batched dense eigenvalue call per size: at the
fixed points of the symmetric presets about half the channels are inactive, and the
cost of the dense call falls like the cube of the size.

A block counts as decoupled when every coupling entry it would have is at most
:data:`COUPLING_TOL`; neglecting both off-diagonal parts of that size moves an
eigenvalue by at most about ``COUPLING_TOL^2 / gap`` (or ``COUPLING_TOL`` at a
coincidence), far below any classification tolerance.
"""

from __future__ import annotations

import numpy as np

from .compiled import BoundSystem
from .fixed_point_blocks import BlockStructure, Linearization
from .stability import sorted_eigenvalues

COUPLING_TOL = 1e-13
"""Largest low-rank coupling entry ``|a_e| |(U S)_f|`` that is treated as zero."""


def small_block_eigenvalues(blocks: np.ndarray) -> np.ndarray:
    """Eigenvalues of a stack of k x k blocks (..., k, k) as complex (..., k); closed form for k <= 2."""
    k = blocks.shape[-1]
    if k == 1:
        return blocks[..., 0].astype(complex)
    if k == 2:
        half_trace = 0.5 * (blocks[..., 0, 0] + blocks[..., 1, 1])
        det = blocks[..., 0, 0] * blocks[..., 1, 1] - blocks[..., 0, 1] * blocks[..., 1, 0]
        root = np.sqrt((half_trace * half_trace - det).astype(complex))
        return np.stack([half_trace + root, half_trace - root], axis=-1)
    return np.linalg.eigvals(blocks).astype(complex)


def block_spectra(kernel: BoundSystem, structure: BlockStructure, points: np.ndarray) -> np.ndarray:
    """Eigenvalues of the Jacobian at every point, sorted like :func:`sorted_eigenvalues`.

    Parameters
    ----------
    kernel : BoundSystem
    structure : BlockStructure
        Blocks of ``kernel.T``.
    points : numpy.ndarray, shape (m, C)

    Returns
    -------
    numpy.ndarray of complex, shape (m, C)
        Sorted by real part, then imaginary part, descending.
    """
    points = np.asarray(points, dtype=float)
    m, C = points.shape
    lin = Linearization.at(kernel, structure, points)
    # Largest coupling entry of every channel, as a row (a_e (U S)_f) and as a column.
    a, US = np.abs(lin.a), np.abs(lin.US)
    max_input = (US[:, :, None] * structure.target_onehot).max(axis=1)  # (m, R): max |US| into beta
    max_drive = (a[:, :, None] * structure.source_onehot).max(axis=1)  # (m, R): max |a| out of beta
    coupling = np.maximum(a * max_input[:, structure.source], US * max_drive[:, structure.target])
    order = np.concatenate([g.ravel() for g in structure.groups])  # channels in block order
    small, decoupled = [], []
    start = 0
    for g in structure.groups:
        n_blocks, k = g.shape
        stop = start + n_blocks * k * k
        small.append(small_block_eigenvalues(lin.blocks[:, start:stop].reshape(m, n_blocks, k, k)).reshape(m, -1))
        decoupled.append(np.repeat((coupling[:, g] <= COUPLING_TOL).all(axis=2), k, axis=1))
        start = stop
    small_values, decoupled = np.concatenate(small, axis=1), np.concatenate(decoupled, axis=1)  # block order
    coupled = np.zeros((m, C), dtype=bool)
    coupled[:, order] = ~decoupled
    n_coupled = coupled.sum(axis=1)
    J = kernel.jacobian(points[n_coupled > 0])
    J_row = np.cumsum(n_coupled > 0) - 1
    values = np.empty((m, C), dtype=complex)
    for size in np.unique(n_coupled):
        rows = np.flatnonzero(n_coupled == size)
        parts = [small_values[rows][decoupled[rows]].reshape(rows.size, C - size)]
        if size:
            index = np.nonzero(coupled[rows])[1].reshape(rows.size, size)
            sub = J[J_row[rows][:, None, None], index[:, :, None], index[:, None, :]]
            parts.insert(0, np.linalg.eigvals(sub).astype(complex))
        values[rows] = np.concatenate(parts, axis=1)
    return sort_spectra(values)


def sort_spectra(values: np.ndarray) -> np.ndarray:
    """Sort eigenvalues (..., C) by real part, then imaginary part, descending."""
    order = np.lexsort((-values.imag, -values.real), axis=-1)
    return np.take_along_axis(values, order, axis=-1)


def jacobian_spectra(kernel: BoundSystem, points: np.ndarray, structure: BlockStructure | None = None) -> np.ndarray:
    """Sorted Jacobian eigenvalues (m, C) at ``points`` (m, C): :func:`block_spectra` when
    ``structure`` is given, otherwise dense :func:`~mrdmft.solvers.stability.sorted_eigenvalues`."""
    points = np.asarray(points, dtype=float).reshape(-1, kernel.n_channels)
    if structure is None or len(points) == 0:
        return sorted_eigenvalues(kernel.jacobian(points))
    return block_spectra(kernel, structure, points)
