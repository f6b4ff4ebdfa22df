"""Linear stability: the quiescent state and fixed points of the currents (THEORY §7).

Around ``S = 0`` the current dynamics linearize to ``dS/dt = (-1 + Psi L) S`` with
``L[e, f] = T_{e f}`` (the effective-interaction operator) and ``Psi = diag(psi^{src(e)})``.
The gain of region beta is

* ``psi^beta = 1`` when the region is quiescent, i.e. ``g_beta <= g_c`` with
  ``g_c = <phi'^2>(0)^(-1/2)`` (= 1 for the erf nonlinearity, derived from
  :func:`mrdmft.theory.gaussian.gaussian_averages`);
* ``psi^beta = psi(Delta0_SCS(g_beta))`` for a region in pure chaos (``g_beta > g_c``),
  with the Sompolinsky–Crisanti–Sommers variance from
  :func:`mrdmft.solvers.stationary.pure_chaos_variance`.

The zero state is unstable exactly when ``max Re lambda(Psi L) > 1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from mrdmft.theory.gaussian import gaussian_averages
from mrdmft.theory.spec import ModelSpec, require_spec

from .compiled import ModelArrays, compile_system
from .fixed_point_inputs import as_currents, require_channels, require_no_disorder
from .compiled import BoundSystem, gain_functions


@dataclass(frozen=True)
class ZeroStateStability:
    """Spectrum of ``Psi L`` and the stability of the quiescent state ``S = 0``.

    Attributes
    ----------
    regions : tuple of str
        Region names.
    gain : numpy.ndarray, shape (R,)
        ``psi^beta`` at the zero-current state.
    eigenvalues : numpy.ndarray of complex, shape (C,)
        Eigenvalues of ``Psi L``, sorted by real part (then imaginary part), descending.
    leading_eigenvalue : complex
        ``eigenvalues[0]``.
    zero_state_stable : bool
        ``max Re lambda(Psi L) <= 1``.
    """

    regions: tuple[str, ...]
    gain: np.ndarray
    eigenvalues: np.ndarray
    leading_eigenvalue: complex
    zero_state_stable: bool

    def to_json(self) -> dict:
        """JSON-ready dict (DESIGN.md contract for ``stability --json``)."""
        return {
            "gain": dict(zip(self.regions, map(float, self.gain))),
            "operator_eigenvalues": [[float(z.real), float(z.imag)] for z in self.eigenvalues],
            "leading_eigenvalue": [float(self.leading_eigenvalue.real), float(self.leading_eigenvalue.imag)],
            "zero_state_stable": bool(self.zero_state_stable),
        }


def sorted_eigenvalues(matrices: np.ndarray) -> np.ndarray:
    """Eigenvalues of (a stack of) square matrices, sorted by real then imaginary part, descending."""
    values = np.linalg.eigvals(matrices).astype(complex)
    order = np.lexsort((-values.imag, -values.real), axis=-1)
    return np.take_along_axis(values, order, axis=-1)


def chaos_onset(nonlinearity: str) -> float:
    """``g_c = <phi'^2>(Delta = 0)^(-1/2)``: the quiescent state of a random region is stable for ``g <= g_c``."""
    averages = gaussian_averages(nonlinearity)
    return float(1 / sp.sqrt(averages.slope_power.subs(averages.delta, 0)))


def zero_state_gains(spec: ModelSpec) -> np.ndarray:
    """``psi^beta`` of every region at ``S = 0`` (1 if quiescent, ``psi(Delta0_SCS)`` in pure chaos)."""
    g = np.asarray(spec.g, dtype=float)
    gains = np.ones(spec.n_regions)
    chaotic = np.flatnonzero(g > chaos_onset(spec.nonlinearity))
    if chaotic.size:
        from mrdmft.solvers.stationary import pure_chaos_variance  # lazy: optional sibling module

        delta0 = np.array([pure_chaos_variance(float(g[r]), spec.nonlinearity) for r in chaotic])
        gains[chaotic] = gain_functions(spec.nonlinearity).gain(delta0)
    return gains


def zero_state_stability(spec: ModelSpec) -> ZeroStateStability:
    """Eigenvalues of ``Psi L`` and whether ``S = 0`` is stable (module docstring).

    Parameters
    ----------
    spec : ModelSpec
        Any model; regions with ``g > 1`` are taken in pure chaos.

    Returns
    -------
    ZeroStateStability

    Raises
    ------
    ModelInputError
        If the model has no edges (no currents).
    """
    spec = require_spec(spec)
    require_channels(spec)
    gains = zero_state_gains(spec)
    operator = compile_system(spec).operator(gains, ModelArrays.from_spec(spec))
    eigenvalues = sorted_eigenvalues(operator)
    leading = complex(eigenvalues[0])
    return ZeroStateStability(
        regions=tuple(spec.regions),
        gain=gains,
        eigenvalues=eigenvalues,
        leading_eigenvalue=leading,
        zero_state_stable=bool(leading.real <= 1.0),
    )


def fixed_point_stability(spec: ModelSpec, currents: np.ndarray) -> np.ndarray:
    """Eigenvalues of the Jacobian of the g = 0 current dynamics at ``currents``.

    The Jacobian ``dF/dS`` of ``F = -S + psi(Delta(S))[src] * (T S)`` includes the
    dependence of ``psi`` on ``Delta = sum U S S`` (derived, see
    :mod:`mrdmft.solvers.compiled`).

    Parameters
    ----------
    spec : ModelSpec
        Model with ``g = 0`` in every region.
    currents : array_like, shape (C,), or Mapping[str, float]
        The point (normally a fixed point).

    Returns
    -------
    numpy.ndarray of complex, shape (C,)
        Sorted by real part, descending.

    Raises
    ------
    ModelInputError
        Wrong shape / non-finite currents, or a region with ``g > 0``.
    """
    require_no_disorder(spec)
    S = as_currents(spec, currents, "currents")
    return sorted_eigenvalues(BoundSystem.from_spec(spec).jacobian(S[None, :])[0])
