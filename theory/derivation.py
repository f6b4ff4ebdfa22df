"""Symbolic derivation of the mean-field equations of the currents (THEORY §2, §5, §7).

For a region graph (any regions, edges and ranks) sympy derives, with generic symbols
for every overlap the structure allows:

* the structured variance of region beta, ``Delta^beta(S) = sum_{f, f' into beta} U_{f f'} S_f S_f'``;
* its gain ``psi^beta = psi(Delta^beta)`` with ``psi`` from :mod:`mrdmft.theory.gaussian`;
* the current equations ``dS_e/dt = -S_e + psi^{src(e)} sum_f T_{e f} S_f`` (g = 0);
* their Jacobian with respect to the currents, including ``d psi / d Delta``;
* the effective-interaction operator ``L[e, f] = T_{e f}``, the gain matrix
  ``Psi = diag(psi^{src(e)})`` and ``Psi L``, whose eigenvalues decide the stability of
  the quiescent state (unstable iff max Re lambda(Psi L) > 1).

Numbers never enter the derivation: it is done once per :class:`~mrdmft.theory.spec.Structure`
(cached), and a model's values are substituted only for display or passed to the
compiled functions as arrays (see :meth:`MeanFieldSystem.parameter_arrays`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import sympy as sp

from .gaussian import GaussianAverages, gaussian_averages
from .spec import ModelSpec, Structure, require_spec


_LATEX_SPECIALS = {
    "\\": r"\backslash{}", "_": r"\_", "$": r"\$", "{": r"\{", "}": r"\}",
    "#": r"\#", "%": r"\%", "&": r"\&", "^": r"\hat{}", "~": r"\sim{}", " ": r"\ ",
}
_LATEX_BASES = {"S": "S", "T": "T", "U": "U", "g": "g", "psi": r"\psi", "Delta": r"\Delta"}
MATRIX_DISPLAY_MAX = 9
"""Largest ``Psi L`` (rows) the notebook display of a derivation shows in full."""
_BRACED_BASES = ("S", "T", "U")  # symbols built as base_{label} / base^{label}


def latex_escape(text: str) -> str:
    """``text`` with the LaTeX special characters escaped for math mode (region names such as ``V1_L23``).

    ``^`` and ``~`` become ``\\hat{}`` and ``\\sim{}`` (the text accents ``\\^``, ``\\~`` are errors in math);
    non-ASCII characters (``é``, ``→``, ``α``) are wrapped in ``\\text{}``, which MathJax and
    LaTeX with UTF-8 input accept (bare, they are errors in LaTeX math mode).
    """
    return "".join(_LATEX_SPECIALS.get(char, char if char.isascii() else rf"\text{{{char}}}") for char in text)


def latex_symbol_name(symbol: sp.Symbol) -> str | None:
    """LaTeX of a derivation symbol whose name embeds region names, or None for others.

    The symbols are named ``S_{label}``, ``T_{label|label}``, ``T^{label}``,
    ``U_{label|label}``, ``g_region``, ``psi_region``, ``Delta_region``; the region names
    inside are escaped (:func:`latex_escape`), so that ``V1_L23`` stays one subscript.
    """
    for base, tex in _LATEX_BASES.items():
        for marker in "_^":
            prefix = base + marker
            if not symbol.name.startswith(prefix):
                continue
            rest = symbol.name[len(prefix):]
            if base in _BRACED_BASES:
                if not (rest.startswith("{") and rest.endswith("}")):
                    continue
                rest = rest[1:-1]
            return f"{tex}{marker}{{{latex_escape(rest)}}}"
    return None


def _label(names: list[str]) -> str:
    """``"12"`` for single-character alphanumeric names, else ``"V1,PFC"`` (unambiguous)."""
    return "".join(names) if all(len(n) == 1 and n.isalnum() for n in names) else ",".join(names)


def _channel_label(structure: Structure, index: int) -> str:
    channel = structure.channels[index]
    label = _label([channel.edge.target, channel.edge.source])
    return label if channel.edge.rank == 1 else f"{label};{channel.index}"


@dataclass(frozen=True, eq=False, repr=False)
class StructuralDerivation:
    """Generic mean-field equations of one structure (no numbers substituted).

    Attributes
    ----------
    structure : Structure
        The region graph and nonlinearity.
    currents : tuple of sympy.Symbol
        ``S_e``, one per channel, in channel order.
    T_entries : tuple of (int, int)
        The (e, f) positions where ``T`` may be nonzero, row-major.
    T_symbols : tuple of sympy.Symbol
        One symbol per entry of ``T_entries``.
    U_entries, U_symbols
        The same for the upper triangle (f <= f') of ``U``.
    g_symbols, gain_symbols : tuple of sympy.Symbol
        Disorder ``g_beta`` and a free gain ``psi_beta`` per region.
    variance : tuple of sympy.Expr
        ``Delta^beta(S)`` per region.
    gain : tuple of sympy.Expr
        ``psi(Delta^beta(S))`` per region.
    drive : tuple of sympy.Expr
        ``sum_f T_{e f} S_f`` per channel (the input the gain multiplies).
    rhs : sympy.Matrix
        ``dS/dt`` (C x 1), g = 0.
    jacobian : sympy.Matrix
        ``d rhs / d S`` (C x C).
    L : sympy.Matrix
        Effective-interaction operator (C x C).
    gain_operator : sympy.Matrix
        ``Psi L`` with free gains ``psi_beta``.
    averages : GaussianAverages
        The Gaussian averages of the nonlinearity.
    """

    structure: Structure
    currents: tuple[sp.Symbol, ...]
    T_entries: tuple[tuple[int, int], ...]
    T_symbols: tuple[sp.Symbol, ...]
    U_entries: tuple[tuple[int, int], ...]
    U_symbols: tuple[sp.Symbol, ...]
    g_symbols: tuple[sp.Symbol, ...]
    gain_symbols: tuple[sp.Symbol, ...]
    variance: tuple[sp.Expr, ...]
    gain: tuple[sp.Expr, ...]
    drive: tuple[sp.Expr, ...]
    rhs: sp.Matrix
    L: sp.Matrix
    gain_operator: sp.Matrix
    averages: GaussianAverages

    def __repr__(self) -> str:
        return f"StructuralDerivation(regions={self.structure.regions}, currents={self.structure.n_channels})"

    @cached_property
    def jacobian(self) -> sp.Matrix:
        """``d rhs / d S`` (C x C), derived on first use (it is large for many regions)."""
        C = self.structure.n_channels
        return self.rhs.jacobian(sp.Matrix(self.currents)) if C else sp.zeros(0, 0)

    @cached_property
    def T_matrix(self) -> sp.Matrix:
        """``T`` as a C x C matrix of symbols (zeros where the structure forbids)."""
        C = self.structure.n_channels
        M = sp.zeros(C, C)
        for (e, f), sym in zip(self.T_entries, self.T_symbols):
            M[e, f] = sym
        return M

    @cached_property
    def U_matrix(self) -> sp.Matrix:
        """``U`` as a symmetric C x C matrix of symbols."""
        C = self.structure.n_channels
        M = sp.zeros(C, C)
        for (f, h), sym in zip(self.U_entries, self.U_symbols):
            M[f, h] = sym
            M[h, f] = sym
        return M


@lru_cache(maxsize=64)
def derive_structure(structure: Structure) -> StructuralDerivation:
    """Derive the generic current equations of a structure (cached).

    Parameters
    ----------
    structure : Structure
        Region graph and nonlinearity.

    Returns
    -------
    StructuralDerivation
    """
    averages = gaussian_averages(structure.nonlinearity)
    R = structure.n_regions
    C = structure.n_channels
    src = structure.channel_source
    tgt = structure.channel_target
    labels = [_channel_label(structure, i) for i in range(C)]
    regions = list(structure.regions)

    S = tuple(sp.Symbol(f"S_{{{lab}}}", real=True) for lab in labels)
    T_entries = tuple((e, f) for e in range(C) for f in range(C) if src[e] == tgt[f])
    T_symbols = tuple(
        sp.Symbol(f"T_{{{labels[e]}|{labels[f]}}}" if not _is_dense(structure) else f"T^{{{_dense_T_label(structure, e, f)}}}", real=True)
        for e, f in T_entries
    )
    U_entries = tuple((f, h) for f in range(C) for h in range(f, C) if tgt[f] == tgt[h])
    U_symbols = tuple(sp.Symbol(f"U_{{{labels[f]}|{labels[h]}}}", real=True) for f, h in U_entries)
    g_symbols = tuple(sp.Symbol(f"g_{r}", nonnegative=True) for r in regions)
    gain_symbols = tuple(sp.Symbol(f"psi_{r}", positive=True) for r in regions)
    names = [x.name for x in (*S, *T_symbols, *U_symbols, *g_symbols, *gain_symbols)]
    if len(set(names)) != len(names):  # region names are checked so that this cannot happen
        clash = next(name for name in names if names.count(name) > 1)
        raise RuntimeError(f"two quantities of the derivation got the same symbol {clash!r}; rename the regions")

    U_sym: dict[tuple[int, int], sp.Symbol] = {}
    for (f, h), sym in zip(U_entries, U_symbols):
        U_sym[(f, h)] = sym
        U_sym[(h, f)] = sym
    variance = []
    for beta in range(R):
        into = [f for f in range(C) if tgt[f] == beta]
        variance.append(sp.Add(*[U_sym[(f, h)] * S[f] * S[h] for f in into for h in into]))
    gain = tuple(averages.gain.subs(averages.delta, v) for v in variance)

    T_sym = dict(zip(T_entries, T_symbols))
    drive = [sp.Add(*[T_sym[(e, f)] * S[f] for f in range(C) if (e, f) in T_sym]) for e in range(C)]
    rhs = sp.Matrix([-S[e] + gain[src[e]] * drive[e] for e in range(C)])

    L = sp.zeros(C, C)
    for (e, f), sym in T_sym.items():
        L[e, f] = sym
    Psi = sp.diag(*[gain_symbols[src[e]] for e in range(C)])
    return StructuralDerivation(
        structure=structure,
        currents=S,
        T_entries=T_entries,
        T_symbols=T_symbols,
        U_entries=U_entries,
        U_symbols=U_symbols,
        g_symbols=g_symbols,
        gain_symbols=gain_symbols,
        variance=tuple(variance),
        gain=gain,
        drive=tuple(drive),
        rhs=rhs,
        L=L,
        gain_operator=Psi * L,
        averages=averages,
    )


def _is_dense(structure: Structure) -> bool:
    R = structure.n_regions
    expected = tuple((structure.regions[b], structure.regions[a], 1) for a in range(R) for b in range(R))
    return tuple((e.source, e.target, e.rank) for e in structure.edges) == expected


def _dense_T_label(structure: Structure, e: int, f: int) -> str:
    """``alpha beta gamma`` for T^{alpha beta gamma} = <n^{alpha beta} m^{beta gamma}>."""
    ce, cf = structure.channels[e], structure.channels[f]
    return _label([ce.edge.target, ce.edge.source, cf.edge.source])


def _as_sympy(value: object) -> sp.Expr:
    """A model value as sympy: integers exact, other floats to 10 digits, expressions as they are."""
    if isinstance(value, sp.Basic):
        return value
    number = float(value)
    return sp.Integer(int(number)) if number.is_integer() else sp.Float(number, 10)


@dataclass(frozen=True, eq=False, repr=False)
class MeanFieldSystem:
    """The derived mean-field equations of one model.

    Holds the cached :class:`StructuralDerivation` of the model's structure and the
    model itself, whose values (numbers or ``[parameters]`` expressions) are
    substituted for display. Renders as LaTeX in Jupyter.
    """

    derivation: StructuralDerivation
    spec: ModelSpec

    # ---------------------------------------------------------------- numbers
    def parameter_arrays(self, spec: ModelSpec | None = None) -> dict[str, np.ndarray]:
        """Pack a model's values as the compiled functions take them.

        Returns
        -------
        dict
            ``T_values`` (n_T,), ``U_values`` (n_U,), ``g`` (R,) as float arrays.
        """
        spec = self.spec if spec is None else spec
        d = self.derivation
        return {
            "T_values": np.array([spec.T[e, f] for e, f in d.T_entries], dtype=float),
            "U_values": np.array([spec.U[f, h] for f, h in d.U_entries], dtype=float),
            "g": np.array(spec.g, dtype=float),
        }

    def substitutions(self, symbolic: bool = True) -> dict[sp.Symbol, sp.Expr]:
        """Map overlap/disorder symbols to the model's values.

        With ``symbolic=True`` fields given as ``[parameters]`` expressions are
        substituted as expressions; everything else as numbers.
        """
        d, spec = self.derivation, self.spec
        out: dict[sp.Symbol, sp.Expr] = {}
        sources = {
            "T": (d.T_entries, d.T_symbols),
            "U": (d.U_entries, d.U_symbols),
        }
        for name, (entries, symbols) in sources.items():
            numeric = getattr(spec, name)
            expressions = spec.symbolic.get(name) if symbolic else None
            for (i, j), sym in zip(entries, symbols):
                value = expressions[i, j] if expressions is not None else numeric[i, j]
                out[sym] = _as_sympy(value)
        g_expr = spec.symbolic.get("g") if symbolic else None
        for r, sym in enumerate(d.g_symbols):
            out[sym] = _as_sympy(g_expr[r] if g_expr is not None else spec.g[r])
        return out

    # ---------------------------------------------------------------- equations
    def current_rhs(self, substitute: bool = True) -> list[sp.Expr]:
        """``-S_e + psi_{src(e)} sum_f T_{e f} S_f`` with the gains as symbols ``psi_beta``.

        This is the derived right-hand side (:attr:`StructuralDerivation.rhs`) with each
        ``psi(Delta^beta(S))`` written as ``psi_beta``, for display.
        """
        d = self.derivation
        subs = self.substitutions() if substitute else {}
        src = d.structure.channel_source
        return [
            sp.expand_mul(-s + d.gain_symbols[src[e]] * d.drive[e].xreplace(subs))
            for e, s in enumerate(d.currents)
        ]

    def current_equations(self, substitute: bool = True) -> list[sp.Eq]:
        """``dS_e/dt = F_e(S)`` for every channel, gains written out as ``psi(Delta(S))``."""
        t = sp.Symbol("t")
        subs = self.substitutions() if substitute else {}
        return [
            sp.Eq(sp.Derivative(sp.Function(s.name)(t), t), expr.xreplace(subs))
            for s, expr in zip(self.derivation.currents, self.derivation.rhs)
        ]

    def variance_equations(self, substitute: bool = True) -> list[sp.Eq]:
        """``Delta^beta = sum U S S`` per region."""
        d = self.derivation
        subs = self.substitutions() if substitute else {}
        return [
            sp.Eq(sp.Symbol(f"Delta_{r}"), v.xreplace(subs)) for r, v in zip(self.spec.regions, d.variance)
        ]

    def gain_equation(self) -> sp.Eq:
        """``psi(Delta)`` of the nonlinearity."""
        a = self.derivation.averages
        return sp.Eq(sp.Function("psi")(a.delta), a.gain)

    def operator(self, substitute: bool = True) -> sp.Matrix:
        """``Psi L`` with free gains, values substituted."""
        d = self.derivation
        return d.gain_operator.xreplace(self.substitutions()) if substitute else d.gain_operator

    def jacobian(self, substitute: bool = True) -> sp.Matrix:
        """Jacobian of the current equations, values substituted."""
        d = self.derivation
        return d.jacobian.xreplace(self.substitutions()) if substitute else d.jacobian

    # ---------------------------------------------------------------- output
    def _header(self) -> str:
        R, C = self.spec.n_regions, self.spec.n_channels
        return f"{self.spec.name}: {R} region{'s' * (R != 1)}, {C} current{'s' * (C != 1)}"

    def to_text(self) -> str:
        """Plain-text listing of the derived equations."""
        lines = [f"# {self._header()}", ""]
        lines.append("Gain of the nonlinearity, a function of a region's total input variance Delta:")
        lines.append(f"  {sp.sstr(self.gain_equation())}")
        lines.append("")
        lines.append("Structured variance per region (called A elsewhere; it is the whole of Delta when g = 0):")
        lines += [f"  {sp.sstr(eq.lhs)} = {sp.sstr(eq.rhs)}" for eq in self.variance_equations()]
        lines.append("")
        lines.append("Current dynamics (psi_beta = psi(Delta_beta), g = 0):")
        for s, expr in zip(self.derivation.currents, self.current_rhs()):
            lines.append(f"  d{s.name}/dt = {sp.sstr(expr)}")
        lines.append("")
        lines.append("Quiescent state S = 0 is unstable iff max Re eig(Psi L) > 1, Psi L =")
        lines.append("  " + sp.sstr(self.operator()))
        return "\n".join(lines)

    def to_latex(self, operator: bool = True, matrix: bool = True) -> str:
        """LaTeX (one ``aligned`` block: gain, variances, current equations, and with
        ``operator`` the zero-state condition on ``Psi L`` and, with ``matrix``, the matrix
        itself, as in :meth:`to_text`; the notebook display leaves out matrices with more
        than :data:`MATRIX_DISPLAY_MAX` rows).

        Region names are escaped (:func:`latex_symbol_name`), so any name is valid LaTeX.
        """
        gain = self.gain_equation()
        pairs = [(gain.lhs, gain.rhs)] + [(eq.lhs, eq.rhs) for eq in self.variance_equations()]
        pairs += list(zip(self.derivation.currents, self.current_rhs()))
        operator_matrix = self.operator()
        symbols = set().union(
            *(sp.sympify(side).free_symbols for pair in pairs for side in pair), operator_matrix.free_symbols
        )
        names = {x: tex for x in symbols if (tex := latex_symbol_name(x)) is not None}

        def tex(expr: sp.Expr) -> str:
            return sp.latex(expr, symbol_names=names)

        n_plain = 1 + len(self.spec.regions)
        rows = [tex(lhs) + " &= " + tex(rhs) for lhs, rhs in pairs[:n_plain]]
        rows += [r"\dot{" + tex(lhs) + "} &= " + tex(rhs) for lhs, rhs in pairs[n_plain:]]
        if operator:
            rows.append(r"S = 0 \text{ is unstable} &\iff \max \operatorname{Re} \operatorname{eig}(\Psi L) > 1")
            if matrix:
                rows.append(r"\Psi L &= " + tex(operator_matrix))
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def to_json(self) -> str:
        """Equations as strings, in a JSON object with stable keys."""
        payload = {
            "model": self.spec.name,
            "regions": list(self.spec.regions),
            "channels": self.spec.channel_names,
            "gain": sp.sstr(self.gain_equation().rhs),
            "variance": {r: sp.sstr(eq.rhs) for r, eq in zip(self.spec.regions, self.variance_equations())},
            "currents": {name: sp.sstr(expr) for name, expr in zip(self.spec.channel_names, self.current_rhs())},
            "operator": [[sp.sstr(x) for x in row] for row in self.operator().tolist()],
            "zero_state_condition": "unstable iff max Re eig(Psi L) > 1",
        }
        return json.dumps(payload, indent=2)

    def _repr_latex_(self) -> str:
        # Psi L itself only while it is small enough to read (C <= MATRIX_DISPLAY_MAX currents)
        return "$$" + self.to_latex(matrix=self.spec.n_channels <= MATRIX_DISPLAY_MAX) + "$$"

    def __repr__(self) -> str:
        return f"MeanFieldSystem(model={self.spec.name!r}, regions={len(self.spec.regions)}, currents={self.spec.n_channels})"


def derive(spec: ModelSpec) -> MeanFieldSystem:
    """Derive the mean-field equations of a model (cached per structure).

    Parameters
    ----------
    spec : ModelSpec
        The validated model.

    Returns
    -------
    MeanFieldSystem
    """
    spec = require_spec(spec)
    return MeanFieldSystem(derive_structure(spec.structure), spec)
