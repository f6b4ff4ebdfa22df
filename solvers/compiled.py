"""Compiled, cached, vectorized numerical functions of a derived system.

:func:`compile_system` turns the derivation of a model's *structure* into numpy
functions once (cached), so a sweep over T, U or g never re-derives or re-compiles.

Two evaluation paths exist for the g = 0 current equations:

* the reference path ``full_rhs`` / ``full_jacobian``: the lambdified sympy expressions of
  :func:`mrdmft.theory.derivation.derive_structure` themselves (compiled lazily, on
  first use, because lambdifying a C x C Jacobian takes seconds for R >= 5);
* the fast path ``rhs`` / ``jacobian`` / ``variance``: the same quantities assembled from
  the derived per-region building blocks, the gain ``psi(Delta)`` of
  :func:`mrdmft.theory.gaussian.gaussian_averages` and its derivative (lambdified), with
  array operations:

  * ``Delta_beta = sum_{f, f' into beta} U_{f f'} S_f S_f'``
  * ``F_e = dS_e/dt = -S_e + psi(Delta_{src(e)}) (T S)_e``
  * ``J_{e f} = -delta_{e f} + psi(Delta_{src(e)}) T_{e f}
    + psi'(Delta_{src(e)}) (T S)_e * 2 (U S)_f * [src(e) == tgt(f)]``

``tests/test_compiled.py`` asserts that both paths agree to 1e-12 for random models with
R = 1..6 (and edge-list models), and against finite differences.

:class:`BoundSystem` binds one model's T and U so that every contraction on a batch of
states is a BLAS matrix product (the multi-start fixed-point search uses it); the
methods of :class:`CompiledSystem` also accept batched parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import sympy as sp

from mrdmft.theory.derivation import StructuralDerivation, derive_structure
from mrdmft.theory.gaussian import gaussian_averages
from mrdmft.theory.spec import ModelSpec, Structure

from .lambdify_batched import MODULES, lambdify_batched


@dataclass(frozen=True, eq=False)
class GainFunctions:
    """Elementwise gain functions of a nonlinearity, lambdified from the derivation.

    Attributes
    ----------
    gain : callable
        ``psi(Delta) = <phi'(x)>``, x ~ N(0, Delta).
    gain_and_slope : callable
        ``[psi(Delta), dpsi/dDelta(Delta)]``.
    inverse : callable
        ``Delta(psi)``, the inverse of the gain.
    """

    gain: Callable[[np.ndarray], np.ndarray]
    gain_and_slope: Callable[[np.ndarray], list]
    inverse: Callable[[np.ndarray], np.ndarray]


@lru_cache(maxsize=None)
def gain_functions(nonlinearity: str) -> GainFunctions:
    """Plain ``sympy.lambdify`` of the gain of :func:`gaussian_averages` (cached per nonlinearity)."""
    averages = gaussian_averages(nonlinearity)
    delta, gain = averages.delta, averages.gain
    return GainFunctions(
        gain=sp.lambdify([delta], gain, modules=MODULES),
        gain_and_slope=sp.lambdify([delta], [gain, sp.diff(gain, delta)], modules=MODULES),
        inverse=sp.lambdify([averages.psi], averages.gain_inverse, modules=MODULES),
    )


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

    @property
    def batched(self) -> bool:
        """True when T or U carries leading batch axes."""
        return np.ndim(self.T) > 2 or np.ndim(self.U) > 2


@dataclass(frozen=True, eq=False)
class BoundSystem:
    """The fast-path current equations of *one* model, for a leading batch of states.

    Build it with :meth:`CompiledSystem.bind` or :meth:`from_spec`. All methods take
    ``S`` of shape ``(n, C)`` (or ``(C,)``); every contraction is a matrix product.

    Attributes
    ----------
    gains : GainFunctions
    T, U : numpy.ndarray, shape (C, C)
    source : numpy.ndarray of int, shape (C,)
        Source region of every channel.
    target_onehot : numpy.ndarray, shape (C, R)
        ``[tgt(f) == beta]``.
    mask_rows, mask_cols : numpy.ndarray of int
        The entries ``(e, f)`` with ``src(e) == tgt(f)`` (the pattern of ``T`` and of
        the gain-derivative term of the Jacobian).
    """

    gains: GainFunctions
    T: np.ndarray
    U: np.ndarray
    source: np.ndarray
    target_onehot: np.ndarray
    mask_rows: np.ndarray
    mask_cols: np.ndarray

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> "BoundSystem":
        """Bind a model's T and U (the symbolic work is cached per nonlinearity)."""
        return bind_arrays(spec.structure, ModelArrays.from_spec(spec))

    @property
    def n_channels(self) -> int:
        """Number of currents C."""
        return self.T.shape[0]

    def variance(self, S: np.ndarray) -> np.ndarray:
        """``Delta_beta = sum_{f, f' into beta} U_{f f'} S_f S_f'``, shape (..., R)."""
        S = np.asarray(S, dtype=float)
        return (S * (S @ self.U)) @ self.target_onehot

    def rhs(self, S: np.ndarray) -> np.ndarray:
        """``dS/dt = -S + psi(Delta)[src] * (T S)`` (g = 0), shape (..., C)."""
        S = np.asarray(S, dtype=float)
        psi = np.broadcast_to(self.gains.gain(self.variance(S)), S.shape[:-1] + self.target_onehot.shape[1:])
        return psi[..., self.source] * (S @ self.T.T) - S

    def jacobian(self, S: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``d(dS/dt)/dS`` (..., C, C), including the dependence of psi on Delta.

        ``J_{e f} = -delta_{e f} + psi(Delta_{src(e)}) T_{e f}
        + 2 psi'(Delta_{src(e)}) (T S)_e (U S)_f`` on the pattern ``src(e) == tgt(f)``
        (:attr:`mask_rows`, :attr:`mask_cols`), assembled in place: the low-rank term
        touches only those entries.

        Parameters
        ----------
        S : numpy.ndarray, shape (..., C)
        out : numpy.ndarray, shape (..., C, C), optional
            Array to write the Jacobian into (reusing one avoids allocating, and
            page-faulting, a fresh array per call in iterative solvers).
        """
        S = np.asarray(S, dtype=float)
        delta = self.variance(S)
        psi, slope = (np.broadcast_to(x, delta.shape) for x in self.gains.gain_and_slope(delta))
        return self.jacobian_with_gain(S, psi, slope, out)

    def jacobian_with_gain(
        self, S: np.ndarray, psi: np.ndarray, slope: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """``-I + psi[src] T + 2 slope[src(e)] (T S)_e (U S)_f`` on the pattern of ``T`` (..., C, C).

        :meth:`jacobian` with ``psi = psi(Delta(S))`` and ``slope = dpsi/dDelta``; other
        gain laws (e.g. the effective gain of a region with disorder, as a function of its
        structured variance) give their own ``psi`` and ``slope = dpsi/dA`` per region.

        Parameters
        ----------
        S : numpy.ndarray, shape (..., C)
        psi, slope : numpy.ndarray, shape (..., R)
            Gain per region and its derivative with respect to ``sum U S S`` of that region.
        out : numpy.ndarray, shape (..., C, C), optional
            Array to write into.
        """
        US = S @ self.U
        if out is None:
            out = np.empty(S.shape + (self.n_channels,))
        np.multiply(psi[..., self.source, None], self.T, out=out)
        rows, cols = self.mask_rows, self.mask_cols
        out[..., rows, cols] += (2.0 * slope[..., self.source[rows]]) * (S @ self.T.T)[..., rows] * US[..., cols]
        diagonal = np.arange(self.n_channels)
        out[..., diagonal, diagonal] -= 1.0
        return out


def bind_arrays(structure: Structure, arrays: ModelArrays) -> BoundSystem:
    """Bind unbatched model arrays to a structure's fast-path functions."""
    if arrays.batched:
        raise ValueError("bind_arrays needs unbatched T (C, C) and U (C, C)")
    return BoundSystem(
        gains=gain_functions(structure.nonlinearity),
        T=np.ascontiguousarray(arrays.T, dtype=float),
        U=np.ascontiguousarray(arrays.U, dtype=float),
        source=np.asarray(structure.channel_source),
        target_onehot=np.eye(structure.n_regions)[structure.channel_target],
        mask_rows=np.nonzero(structure.T_mask)[0],
        mask_cols=np.nonzero(structure.T_mask)[1],
    )


@dataclass(frozen=True, eq=False)
class CompiledSystem:
    """Vectorized numeric functions of one structure.

    Use :func:`compile_system` to obtain one (cached per structure). Methods take
    :class:`ModelArrays`, with or without leading batch axes.
    """

    structure: Structure
    derivation: StructuralDerivation

    # ------------------------------------------------------------------ basics
    @property
    def n_channels(self) -> int:
        """Number of currents C."""
        return self.structure.n_channels

    @property
    def n_regions(self) -> int:
        """Number of regions R."""
        return self.structure.n_regions

    @property
    def gains(self) -> GainFunctions:
        """Elementwise gain functions of the structure's nonlinearity."""
        return gain_functions(self.structure.nonlinearity)

    def gain(self, delta: np.ndarray) -> np.ndarray:
        """psi(Delta), elementwise (lambdified from the derivation)."""
        delta = np.asarray(delta, dtype=float)
        return np.broadcast_to(self.gains.gain(delta), delta.shape).copy()

    def gain_derivative(self, delta: np.ndarray) -> np.ndarray:
        """d psi / d Delta, elementwise (lambdified)."""
        delta = np.asarray(delta, dtype=float)
        return np.broadcast_to(self.gains.gain_and_slope(delta)[1], delta.shape).copy()

    def gain_inverse(self, psi: np.ndarray) -> np.ndarray:
        """Delta such that psi(Delta) = psi, elementwise (lambdified)."""
        psi = np.asarray(psi, dtype=float)
        return np.broadcast_to(self.gains.inverse(psi), psi.shape).copy()

    def bind(self, arrays: ModelArrays) -> BoundSystem:
        """The fast path for one (unbatched) model."""
        return bind_arrays(self.structure, arrays)

    def packed(self, arrays: ModelArrays) -> tuple[np.ndarray, np.ndarray]:
        """Pack dense T, U (..., C, C) into the symbol vectors of the derivation."""
        d = self.derivation
        T_rows, T_cols = np.array(d.T_entries, dtype=int).reshape(-1, 2).T
        U_rows, U_cols = np.array(d.U_entries, dtype=int).reshape(-1, 2).T
        return np.asarray(arrays.T)[..., T_rows, T_cols], np.asarray(arrays.U)[..., U_rows, U_cols]

    # ------------------------------------------------------------------ fast path
    def variance(self, S: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """Structured variance ``Delta_beta = sum_{f,f' into beta} U_{f f'} S_f S_f'`` (..., R)."""
        if not arrays.batched:
            return self.bind(arrays).variance(S)
        S = np.asarray(S, dtype=float)
        US = np.einsum("...fh,...h->...f", arrays.U, S)
        onehot = np.eye(self.n_regions)[self.structure.channel_target]
        return (S * US) @ onehot

    def rhs(self, S: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """``dS/dt = -S + psi(Delta)[src] * (T S)`` (g = 0), shape (..., C)."""
        if not arrays.batched:
            return self.bind(arrays).rhs(S)
        S = np.asarray(S, dtype=float)
        psi = self.gain(self.variance(S, arrays))
        drive = np.einsum("...ef,...f->...e", arrays.T, S)
        return -S + psi[..., self.structure.channel_source] * drive

    def jacobian(self, S: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """Jacobian ``d(dS/dt)/dS`` (..., C, C), including d psi / d Delta."""
        if not arrays.batched:
            return self.bind(arrays).jacobian(S)
        S = np.asarray(S, dtype=float)
        src = self.structure.channel_source
        delta = self.variance(S, arrays)
        psi = self.gain(delta)[..., src]
        dpsi = self.gain_derivative(delta)[..., src]
        drive = np.einsum("...ef,...f->...e", arrays.T, S)
        US = np.einsum("...fh,...h->...f", arrays.U, S)
        d_delta = 2.0 * US[..., None, :] * self.structure.T_mask
        J = psi[..., :, None] * arrays.T + (dpsi * drive)[..., :, None] * d_delta
        return J - np.eye(self.n_channels)

    def operator(self, gains: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """``Psi L`` (..., C, C) for per-region gains ``gains`` (..., R)."""
        psi = np.asarray(gains, dtype=float)[..., self.structure.channel_source]
        return psi[..., :, None] * np.asarray(arrays.T)

    # ------------------------------------------------------------------ reference path
    @cached_property
    def _full_functions(self) -> tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]:
        d = self.derivation
        groups = [d.currents, d.T_symbols, d.U_symbols]
        C = self.n_channels
        return (
            lambdify_batched(groups, list(d.rhs)),
            lambdify_batched(groups, list(d.jacobian), output_shape=(C, C)),
        )

    def full_rhs(self, S: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """``dS/dt`` from the lambdified sympy expression (reference path)."""
        T_values, U_values = self.packed(arrays)
        return self._full_functions[0](S, T_values, U_values)

    def full_jacobian(self, S: np.ndarray, arrays: ModelArrays) -> np.ndarray:
        """Jacobian from the lambdified sympy expression (reference path)."""
        T_values, U_values = self.packed(arrays)
        return self._full_functions[1](S, T_values, U_values)


@lru_cache(maxsize=64)
def compile_structure(structure: Structure) -> CompiledSystem:
    """Compiled functions of a structure (cached per structure)."""
    return CompiledSystem(structure=structure, derivation=derive_structure(structure))


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
