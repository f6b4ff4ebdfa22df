"""Compiled, cached, vectorized numerical functions of a derived system.

:func:`compile_system` lambdifies the derivation of a model's *structure* once
(cached), so a sweep over T, U or g never re-derives or re-compiles. Every function
broadcasts over leading batch axes of states and parameters.

Two evaluation paths exist for the current equations:

* ``full_rhs`` / ``full_jacobian`` — the lambdified sympy expressions themselves;
* ``rhs`` / ``jacobian`` — a fast path that assembles the same quantities from the
  derived per-region building blocks (variance, gain psi(Delta) and its derivative,
  both lambdified) with array operations:

  ``Delta_beta = sum_{f into beta} S_f (U S)_f``,
  ``dS/dt = -S + psi(Delta)[src] * (T S)``,
  ``J = -I + psi[src] T + (psi'(Delta)[src] (T S)) outer (2 (U S) masked by src(e) == tgt(f))``.

The tests assert that both paths agree to rounding for random models with R = 1..6.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from mrdmft.theory.derivation import StructuralDerivation, derive_structure
from mrdmft.theory.spec import ModelSpec, Structure

from .lambdify_batched import lambdify_batched


@dataclass(frozen=True)
class ModelArrays:
    """A model's numbers as dense arrays (optionally batched on leading axes).

    Attributes
    ----------
    T : numpy.ndarray, shape (..., C, C)
    U : numpy.ndarray, shape (..., C, C)
    g : numpy.ndarray, shape (..., R)
    """

    T: np.ndarray
    U: np.ndarray
    g: np.ndarray

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> "ModelArrays":
        """The arrays of one model (no batch axes)."""
        return cls(np.asarray(spec.T), np.asarray(spec.U), np.asarray(spec.g))


@dataclass(frozen=True, eq=False)
class CompiledSystem:
    """Vectorized numeric functions of one structure.

    Use :func:`compile_system` to obtain one (cached per structure).
    """

    structure: Structure
    derivation: StructuralDerivation
    _gain: object
    _gain_derivative: object
    _gain_inverse: object
    _full_rhs: object
    _full_jacobian: object

    # ------------------------------------------------------------------ basics
    @property
    def n_channels(self) -> int:
        """Number of currents C."""
        return self.structure.n_channels

    @property
    def n_regions(self) -> int:
        """Number of regions R."""
        return self.structure.n_regions

    def gain(self, delta: np.ndarray) -> np.ndarray:
        """psi(Delta), elementwise (lambdified from the derivation)."""
        delta = np.asarray(delta, dtype=float)
        return self._gain(delta[..., None])[..., 0]

    def gain_derivative(self, delta: np.ndarray) -> np.ndarray:
        """d psi / d Delta, elementwise (lambdified)."""
        delta = np.asarray(delta, dtype=float)
        return self._gain_derivative(delta[..., None])[..., 0]

    def gain_inverse(self, psi: np.ndarray) -> np.ndarray:
        """Delta such that psi(Delta) = psi, elementwise (lambdified)."""
        psi = np.asarray(psi, dtype=float)
        return self._gain_inverse(psi[..., None])[..., 0]

    def packed(self, arrays: ModelArrays) -> tuple[np.ndarray, np.ndarray]:
        """Pack dense T, U (..., C, C) into the symbol vectors of the derivation."""
        d = self.derivation
        T_rows, T_cols = np.array(d.T_entries, dtype=int).reshape(-1, 2).T
        U_rows, U_cols = np.array(d.U_entries, dtype=int).reshape(-1, 2).T
        return np.asarray(arrays.T)[..., T_rows, T_cols], np.asarray(arrays.U)[..., U_rows, U_cols]

    # ------------------------------------------------------------------ fast path
    def variance(self, S: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """Structured variance ``Delta_beta = sum_{f,f' into beta} U_{f f'} S_f S_f'`` (..., R)."""
        S = np.asarray(S, dtype=float)
        US = np.einsum("...fh,...h->...f", arrays.U, S)
        onehot = np.eye(self.n_regions)[self.structure.channel_target]  # (C, R)
        return (S * US) @ onehot

    def rhs(self, S: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """``dS/dt = -S + psi(Delta)[src] * (T S)`` (g = 0), shape (..., C)."""
        S = np.asarray(S, dtype=float)
        psi = self.gain(self.variance(S, arrays))
        drive = np.einsum("...ef,...f->...e", arrays.T, S)
        return -S + psi[..., self.structure.channel_source] * drive

    def jacobian(self, S: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """Jacobian ``d(dS/dt)/dS`` (..., C, C), including d psi / d Delta."""
        S = np.asarray(S, dtype=float)
        src = self.structure.channel_source
        delta = self.variance(S, arrays)
        psi = self.gain(delta)[..., src]
        dpsi = self.gain_derivative(delta)[..., src]
        drive = np.einsum("...ef,...f->...e", arrays.T, S)
        US = np.einsum("...fh,...h->...f", arrays.U, S)
        d_delta = 2.0 * US[..., None, :] * self.structure.T_mask  # (..., e, f)
        J = psi[..., :, None] * arrays.T + (dpsi * drive)[..., :, None] * d_delta
        return J - np.eye(self.n_channels)

    def operator(self, gains: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """``Psi L`` (..., C, C) for per-region gains ``gains`` (..., R)."""
        psi = np.asarray(gains, dtype=float)[..., self.structure.channel_source]
        return psi[..., :, None] * np.asarray(arrays.T)

    # ------------------------------------------------------------------ reference path
    def full_rhs(self, S: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """``dS/dt`` from the lambdified sympy expression (slow reference path)."""
        T_values, U_values = self.packed(arrays)
        return self._full_rhs(S, T_values, U_values)

    def full_jacobian(self, S: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """Jacobian from the lambdified sympy expression (slow reference path)."""
        T_values, U_values = self.packed(arrays)
        return self._full_jacobian(S, T_values, U_values)


@lru_cache(maxsize=64)
def compile_structure(structure: Structure) -> CompiledSystem:
    """Lambdify the derivation of a structure (cached per structure)."""
    d = derive_structure(structure)
    a = d.averages
    groups = [d.currents, d.T_symbols, d.U_symbols]
    C = structure.n_channels
    return CompiledSystem(
        structure=structure,
        derivation=d,
        _gain=lambdify_batched([[a.delta]], [a.gain], cse=False),
        _gain_derivative=lambdify_batched([[a.delta]], [sp.diff(a.gain, a.delta)], cse=False),
        _gain_inverse=lambdify_batched([[a.psi]], [a.gain_inverse], cse=False),
        _full_rhs=lambdify_batched(groups, list(d.rhs)),
        _full_jacobian=lambdify_batched(groups, list(d.jacobian), output_shape=(C, C)),
    )


def compile_system(spec: ModelSpec) -> CompiledSystem:
    """Compiled functions for a model's structure (derived and lambdified once).

    Parameters
    ----------
    spec : ModelSpec

    Returns
    -------
    CompiledSystem
        Pass ``ModelArrays.from_spec(spec)`` (or batched arrays) to its methods.
    """
    return compile_structure(spec.structure)
