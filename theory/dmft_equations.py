"""Symbolic sources of the non-stationary two-time DMFT (THEORY §2).

For a region graph the two-time mean-field theory couples the currents ``S_e(t)`` to one
two-time function per region,

    Delta^beta(t, t') = sum_{f, f' into beta} U_{f f'} S_f(t) S_f'(t') + Delta_xi^beta(t, t'),
    (1 + d_t)(1 + d_t') Delta_xi^beta(t, t') = g_beta^2 C(Delta^beta(t, t), Delta^beta(t', t'), Delta^beta(t, t')),
    dS_e/dt = -S_e + H_e,   H_e = psi^{src(e)}(t) sum_f T_{e f} S_f(t),   psi^beta(t) = psi(Delta^beta(t, t)).

Because ``(1 + d_t) S_f(t) = H_f(t)``, applying ``(1 + d_t)(1 + d_t')`` to the structured
part gives ``sum U H H'``; the *total* two-time function therefore obeys

    (1 + d_t)(1 + d_t') Delta^beta(t, t') = g_beta^2 C^beta(t, t') + sum_{f, f' into beta} U_{f f'} H_f(t) H_f'(t'),

and its boundary row (initial state independent of the disorder, so <eta(t) xi(0)> = 0)

    (1 + d_t) Delta^beta(t, 0) = sum_{f, f' into beta} U_{f f'} H_f(t) S_f'(0).

This module derives these per-region expressions with sympy for any structure, from
generic symbols (no numbers): the Gaussian average ``C`` and the gain ``psi`` come from
:func:`mrdmft.theory.gaussian.gaussian_averages`, the drives ``H`` from the current
derivation (:func:`mrdmft.theory.derivation.derive_structure`, ``Psi L S``). The numeric
integrator :mod:`mrdmft.solvers.dmft` lambdifies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from .derivation import StructuralDerivation, derive_structure
from .spec import Structure


@dataclass(frozen=True, eq=False)
class DMFTEquations:
    """Generic two-time DMFT expressions of one structure.

    Attributes
    ----------
    structure : Structure
        Region graph and nonlinearity.
    derivation : StructuralDerivation
        The current equations the drives are taken from.
    currents, currents_other : tuple of sympy.Symbol
        ``S_e(t)`` and ``S_e(t')``, one per channel.
    drives, drives_other : tuple of sympy.Symbol
        ``H_e(t)`` and ``H_e(t')``, the drives ``H = S + dS/dt`` of the currents.
    delta_tt, delta_ss, delta_ts : tuple of sympy.Symbol
        Per region: ``Delta(t, t)``, ``Delta(t', t')`` and ``Delta(t, t')``.
    gain_symbols, g_symbols, T_symbols, U_symbols : tuple of sympy.Symbol
        Free gains ``psi_beta``, disorder ``g_beta`` and the overlap symbols of the
        derivation (same order as ``derivation.T_entries`` / ``U_entries``).
    gain : tuple of sympy.Expr
        ``psi(Delta^beta(t, t))`` per region, in ``delta_tt``.
    drive : tuple of sympy.Expr
        ``H_e = psi_{src(e)} sum_f T_{e f} S_f(t)`` per channel (entries of ``Psi L S``),
        in ``currents``, ``gain_symbols``, ``T_symbols``.
    current_rhs : tuple of sympy.Expr
        ``dS_e/dt = -S_e + H_e``.
    structured_covariance : tuple of sympy.Expr
        ``sum_{f, f' into beta} U_{f f'} S_f(t) S_f'(t')`` per region.
    disorder_source : tuple of sympy.Expr
        ``g_beta^2 C(Delta(t, t), Delta(t', t'), Delta(t, t'))`` per region.
    structured_source : tuple of sympy.Expr
        ``sum_{f, f' into beta} U_{f f'} H_f(t) H_f'(t')`` per region.
    source : tuple of sympy.Expr
        ``disorder_source + structured_source``: the right-hand side of
        ``(1 + d_t)(1 + d_t') Delta^beta(t, t')``.
    boundary_source : tuple of sympy.Expr
        ``sum_{f, f' into beta} U_{f f'} H_f(t) S_f'(t')``: the right-hand side of
        ``(1 + d_t) Delta^beta(t, t')`` at ``t' = 0`` (disorder uncorrelated with the
        initial state).
    """

    structure: Structure
    derivation: StructuralDerivation
    currents: tuple[sp.Symbol, ...]
    currents_other: tuple[sp.Symbol, ...]
    drives: tuple[sp.Symbol, ...]
    drives_other: tuple[sp.Symbol, ...]
    delta_tt: tuple[sp.Symbol, ...]
    delta_ss: tuple[sp.Symbol, ...]
    delta_ts: tuple[sp.Symbol, ...]
    gain_symbols: tuple[sp.Symbol, ...]
    g_symbols: tuple[sp.Symbol, ...]
    T_symbols: tuple[sp.Symbol, ...]
    U_symbols: tuple[sp.Symbol, ...]
    gain: tuple[sp.Expr, ...]
    drive: tuple[sp.Expr, ...]
    current_rhs: tuple[sp.Expr, ...]
    structured_covariance: tuple[sp.Expr, ...]
    disorder_source: tuple[sp.Expr, ...]
    structured_source: tuple[sp.Expr, ...]
    source: tuple[sp.Expr, ...]
    boundary_source: tuple[sp.Expr, ...]


def overlap_form(
    derivation: StructuralDerivation, region: int, left: tuple[sp.Expr, ...], right: tuple[sp.Expr, ...]
) -> sp.Expr:
    """``sum_{f, f' into region} U_{f f'} left_f right_f'`` with the derivation's U symbols.

    Built in the factored form ``sum_f' (sum_f U_{f f'} left_f) right_f'`` so that, when
    ``right`` varies along a batch axis and ``left`` does not, a lambdified evaluation
    costs one array product per channel.

    Parameters
    ----------
    derivation : StructuralDerivation
        Supplies the symmetric symbol matrix ``U_matrix`` and the channel targets.
    region : int
        Index of the region beta.
    left, right : tuple of sympy.Expr
        One entry per channel.

    Returns
    -------
    sympy.Expr
    """
    U = derivation.U_matrix
    into = [f for f, target in enumerate(derivation.structure.channel_target) if target == region]
    return sp.Add(*[sp.Add(*[U[f, h] * left[f] for f in into]) * right[h] for h in into])


def _region_symbols(template: str, regions: tuple[str, ...], **assumptions: bool) -> tuple[sp.Symbol, ...]:
    return tuple(sp.Symbol(template.format(r), **assumptions) for r in regions)


@lru_cache(maxsize=64)
def derive_dmft(structure: Structure) -> DMFTEquations:
    """Derive the two-time DMFT sources of a structure (cached).

    Parameters
    ----------
    structure : Structure
        Region graph and nonlinearity.

    Returns
    -------
    DMFTEquations
        Per-region gain and sources and per-channel drives, in generic symbols.
    """
    d = derive_structure(structure)
    averages = d.averages
    regions = structure.regions
    R = structure.n_regions
    S = d.currents
    S_other = tuple(sp.Symbol(s.name + "'", real=True) for s in S)
    H = tuple(sp.Symbol("H" + s.name[1:], real=True) for s in S)
    H_other = tuple(sp.Symbol(h.name + "'", real=True) for h in H)

    delta_tt = _region_symbols("Delta_{{{}}}(t,t)", regions, nonnegative=True)
    delta_ss = _region_symbols("Delta_{{{}}}(t',t')", regions, nonnegative=True)
    delta_ts = _region_symbols("Delta_{{{}}}(t,t')", regions, real=True)

    gain = tuple(averages.gain.subs(averages.delta, delta_tt[r]) for r in range(R))
    drive = tuple(d.gain_operator * sp.Matrix(S))
    current_rhs = tuple(-s + h for s, h in zip(S, drive))

    correlation = averages.correlation
    disorder_source = tuple(
        d.g_symbols[r] ** 2
        * correlation.subs(
            {averages.delta11: delta_tt[r], averages.delta22: delta_ss[r], averages.delta12: delta_ts[r]},
            simultaneous=True,
        )
        for r in range(R)
    )
    structured_covariance = tuple(overlap_form(d, r, S, S_other) for r in range(R))
    structured_source = tuple(overlap_form(d, r, H, H_other) for r in range(R))
    boundary_source = tuple(overlap_form(d, r, H, S_other) for r in range(R))
    source = tuple(a + b for a, b in zip(disorder_source, structured_source))

    return DMFTEquations(
        structure=structure,
        derivation=d,
        currents=S,
        currents_other=S_other,
        drives=H,
        drives_other=H_other,
        delta_tt=delta_tt,
        delta_ss=delta_ss,
        delta_ts=delta_ts,
        gain_symbols=d.gain_symbols,
        g_symbols=d.g_symbols,
        T_symbols=d.T_symbols,
        U_symbols=d.U_symbols,
        gain=gain,
        drive=drive,
        current_rhs=current_rhs,
        structured_covariance=structured_covariance,
        disorder_source=disorder_source,
        structured_source=structured_source,
        source=source,
        boundary_source=boundary_source,
    )
