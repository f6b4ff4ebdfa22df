"""The executed-notebook report of a model (``mrdmft report``).

:func:`build_report` copies the template ``templates/report.ipynb``, writes the
model and the simulation sizes into its ``parameters`` cell, executes it with
:mod:`nbclient` in a kernel running the current interpreter, and saves
``report.ipynb`` and ``report.html`` atomically into the output directory.

The remaining public functions are the small, testable pieces the notebook cells
call: tables of the model (regions, loop strengths, edges), of the fixed points and
stationary solutions, the choice of the reference fixed point, and the comparison
of finite-N simulations with the mean-field prediction.
"""

from __future__ import annotations

import asyncio
import html
import math
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import DEFAULT_MODEL, load_model
from mrdmft.theory.spec import ModelSpec
from mrdmft.solvers.atomic_files import atomic_output

__all__ = [
    "ReportExecutionError",
    "build_report",
    "Table",
    "LoopStrengths",
    "loop_strengths",
    "model_header",
    "region_table",
    "loop_table",
    "edge_summary",
    "fixed_point_table",
    "stationary_table",
    "zero_state_summary",
    "reference_fixed_point",
    "nearest_fixed_point",
    "MatchedFixedPoint",
    "refine_fixed_point",
    "match_fixed_point",
    "SimulationComparison",
    "compare_simulation",
    "structured_variance",
    "default_simulation_size",
]

REPORT_FILES = ("report.ipynb", "report.html")
"""The only files :func:`build_report` writes into its output directory."""

STABILITY_TOLERANCE = 1e-7
"""Max Re of Jacobian eigenvalues up to which a fixed point counts as (marginally) stable."""

SYMMETRY_TOLERANCE = 1e-9
"""Relative tolerance of the symmetric-form detection in :func:`loop_strengths`."""


# ====================================================================== formatting
def format_number(value: Any, digits: int = 4) -> str:
    """Format a number with ``digits`` significant digits (complex as ``a + bi``; NaN as ``—``)."""
    if value is None:
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (complex, np.complexfloating)):
        value = complex(value)
        if abs(value.imag) <= 1e-12 * max(1.0, abs(value.real)):
            return format_number(value.real, digits)
        sign = "+" if value.imag >= 0 else "−"
        return f"{format_number(value.real, digits)} {sign} {format_number(abs(value.imag), digits)}i"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(number):
        return "—" if math.isnan(number) else ("∞" if number > 0 else "−∞")
    if number == 0.0:
        return "0"
    text = f"{number:.{digits}g}"
    return text.replace("-", "−")


@dataclass(frozen=True)
class Table:
    """A small table that renders as HTML in Jupyter and as aligned text elsewhere.

    Attributes
    ----------
    headers : tuple of str
        Column headers (may contain ``$...$`` LaTeX, rendered by MathJax in HTML).
    rows : tuple of tuple of str
        Cell texts, already formatted.
    caption : str
        A line shown above the table.
    note : str
        A line shown below the table.
    """

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    note: str = ""

    @classmethod
    def build(
        cls, headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "", note: str = ""
    ) -> "Table":
        """Create a table, formatting numbers with :func:`format_number`."""
        text_rows = tuple(tuple(c if isinstance(c, str) else format_number(c) for c in row) for row in rows)
        for row in text_rows:
            if len(row) != len(headers):
                raise ValueError(f"row has {len(row)} cells, expected {len(headers)}")
        return cls(tuple(headers), text_rows, caption, note)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows
        )
        caption = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        note = f"<p><small>{html.escape(self.note)}</small></p>" if self.note else ""
        return (
            f'<table class="mrdmft-table tex2jax_ignore mathjax_ignore" style="border-collapse:collapse;margin:0.4em 0">'
            f"{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"
        )

    def to_text(self) -> str:
        """Plain-text rendering with aligned columns."""
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h) for i, h in enumerate(self.headers)]
        lines = [self.caption] if self.caption else []
        lines.append("  ".join(h.ljust(w) for h, w in zip(self.headers, widths)))
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in self.rows]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return self.to_text()


def _per_region(values: Any, regions: Sequence[str]) -> np.ndarray:
    """An (R,) float array from an array-like or a ``{region: value}`` mapping."""
    if isinstance(values, Mapping):
        return np.array([float(values[name]) for name in regions])
    return np.asarray(values, dtype=float).reshape(len(regions))


def fixed_point_A(point: Any, regions: Sequence[str]) -> np.ndarray:
    """Structured variance ``A^alpha = sum U S S`` of a fixed point (``variance`` or ``A`` attribute)."""
    values = getattr(point, "variance", None)
    if values is None:
        values = getattr(point, "A")
    return _per_region(values, regions)


def structured_variance(spec: ModelSpec, currents: np.ndarray) -> np.ndarray:
    """``A^alpha(t) = sum_{f, f' into alpha} U_{f f'} S_f(t) S_f'(t)`` for currents (..., C) -> (..., R).

    Uses the derived, compiled variance of the model's structure (THEORY §2, §4).
    """
    from mrdmft.solvers.compiled import ModelArrays, compile_system

    return compile_system(spec).variance(np.asarray(currents, dtype=float), ModelArrays.from_spec(spec))


def default_simulation_size(spec: ModelSpec) -> tuple[int, float]:
    """Default ``(n, t_max)`` of the report's simulation.

    Without disorder the cost is O(C N t_max / dt) and ``(4000, 150)`` takes seconds;
    with disorder the random couplings cost O(R N^2 t_max / dt), so ``(1000, 100)``
    keeps the report within a few minutes on two cores.
    """
    return (1000, 100.0) if np.any(np.asarray(spec.g) > 0) else (4000, 150.0)


# ====================================================================== model tables
@dataclass(frozen=True)
class LoopStrengths:
    """Loop strengths of a model (THEORY §5), or the T-norm matrix of a general one.

    Attributes
    ----------
    kind : str
        ``"symmetric"`` when ``T^{alpha beta gamma} = delta_{alpha gamma} c_{alpha beta}`` with
        ``c`` symmetric of the form ``u u^T + diag(a - b)`` and ``U`` = identity;
        ``"general"`` otherwise.
    matrix : numpy.ndarray, shape (R, R)
        ``c`` (symmetric case) or ``||T_{e, :}||`` summed in quadrature over the channels of
        the edge ``beta -> alpha`` at ``[alpha, beta]`` (general case; NaN where there is no edge).
    a, b : numpy.ndarray, shape (R,) or None
        Self-loop strength ``a = diag(c)`` and cross-loop strength ``b`` with
        ``c_{alpha beta}^2 = b^alpha b^beta`` (symmetric case only).
    note : str
        Caveats (for R = 2 only the product ``b^A b^B`` is determined).
    """

    kind: str
    matrix: np.ndarray
    a: np.ndarray | None = None
    b: np.ndarray | None = None
    note: str = ""


def _symmetric_c(spec: ModelSpec) -> np.ndarray | None:
    """``c`` if the model has symmetric effective interactions with U = identity, else None."""
    if not spec.is_dense:
        return None
    T3 = spec.dense_T()
    R = spec.n_regions
    scale = max(1.0, float(np.abs(T3).max()))
    c = np.einsum("aba->ab", T3)
    off = T3.copy()
    off[np.arange(R), :, np.arange(R)] = 0.0
    if np.abs(off).max(initial=0.0) > SYMMETRY_TOLERANCE * scale:
        return None
    if not np.allclose(c, c.T, atol=SYMMETRY_TOLERANCE * scale, rtol=0):
        return None
    if not np.allclose(spec.U, np.eye(spec.n_channels) * spec.U_mask, atol=SYMMETRY_TOLERANCE, rtol=0):
        return None
    return c


def _cross_strengths(c: np.ndarray) -> tuple[np.ndarray | None, str]:
    """Solve ``c_{ab}^2 = b_a b_b`` (a != b) for ``b >= 0``; None if c is not of that form."""
    R = c.shape[0]
    B = c**2
    if R == 1:
        return np.zeros(1), "one region: no cross loops"
    if R == 2:
        return np.full(2, abs(c[0, 1])), "R = 2: only the product b^A b^B = c_AB^2 is determined; shown split equally"
    b = np.zeros(R)
    for alpha in range(R):
        others = [k for k in range(R) if k != alpha]
        estimates = [
            B[alpha, beta] * B[alpha, gamma] / B[beta, gamma]
            for i, beta in enumerate(others)
            for gamma in others[i + 1 :]
            if B[beta, gamma] > 0
        ]
        b[alpha] = math.sqrt(float(np.median(estimates))) if estimates else 0.0
    predicted = np.outer(b, b)
    mask = ~np.eye(R, dtype=bool)
    scale = max(1.0, float(B.max()))
    if np.abs(predicted - B)[mask].max() > 1e-7 * scale:
        return None, "c is symmetric but not of the form u u^T + diag(a - b)"
    return b, ""


def loop_strengths(spec: ModelSpec) -> LoopStrengths:
    """Loop strengths of a model (THEORY §5) or, for a general model, the matrix of T norms.

    For symmetric effective interactions ``c = u u^T + diag(a - b)`` (u = signs sqrt(b)),
    returns ``a^alpha = c_{alpha alpha}`` and ``b^alpha`` recovered from
    ``c_{alpha beta}^2 = b^alpha b^beta`` (for R >= 3 as ``b^alpha = sqrt(c_{ab}^2 c_{ag}^2 / c_{bg}^2)``).
    Otherwise returns, for every region pair (target alpha, source beta), the Frobenius
    norm of the rows of ``T`` of the channels of the edge ``beta -> alpha``.

    Parameters
    ----------
    spec : ModelSpec

    Returns
    -------
    LoopStrengths
    """
    c = _symmetric_c(spec)
    if c is not None:
        b, note = _cross_strengths(c)
        if b is not None:
            return LoopStrengths("symmetric", c, a=np.diag(c).copy(), b=b, note=note)
        return LoopStrengths("symmetric", c, note=note)
    R = spec.n_regions
    norms = np.full((R, R), np.nan)
    row_norm2 = np.sum(np.asarray(spec.T) ** 2, axis=1)
    for alpha in range(R):
        for beta in range(R):
            sel = (spec.channel_target == alpha) & (spec.channel_source == beta)
            if sel.any():
                norms[alpha, beta] = math.sqrt(float(row_norm2[sel].sum()))
    return LoopStrengths("general", norms)


_MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()#+-.!|$~>:")
_NO_MATH = 'class="tex2jax_ignore mathjax_ignore"'  # MathJax 2 and 3: leave this element's text alone


def _escaped_markdown(text: object) -> str:
    escaped = html.escape(" ".join(str(text).split()), quote=False)
    return "".join("\\" + char if char in _MARKDOWN_SPECIALS else char for char in escaped)


def markdown_text(text: object) -> str:
    """``text`` shown literally in a Markdown cell.

    HTML is escaped (a model file's description must not inject markup or scripts into the
    report), Markdown characters are backslash-escaped, line breaks become spaces, and the
    text sits in a span MathJax ignores (``$...$`` in a name is not typeset).
    """
    return f"<span {_NO_MATH}>{_escaped_markdown(text)}</span>"


def markdown_code(text: object) -> str:
    """``text`` as literal inline code in a Markdown cell (escaped like :func:`markdown_text`)."""
    return f"<code {_NO_MATH}>{_escaped_markdown(text)}</code>"


def model_header(spec: ModelSpec, source: str | None) -> str:
    """Markdown lines naming the model, where it came from and its size (user text escaped)."""
    origin = DEFAULT_MODEL + " (built-in default)" if source is None else str(source)
    lines = [
        f"**Model:** {markdown_code(spec.name)} — {markdown_text(spec.description or 'no description')}",
        "",
        f"**Source:** {markdown_code(origin)} · **regions:** {spec.n_regions} · **currents:** {spec.n_channels} · "
        r"**nonlinearity:** $\phi(x) = \mathrm{erf}(\sqrt{\pi}\,x/2)$",
    ]
    if spec.parameters:
        values = ", ".join(f"{markdown_text(k)} = {format_number(v)}" for k, v in spec.parameters.items())
        lines += ["", f"**Parameters:** {values}"]
    return "\n".join(lines)


def region_table(spec: ModelSpec) -> Table:
    """One row per region: size ``N_alpha / N``, disorder ``g_alpha``, loop strengths when symmetric.

    For symmetric models the last column is the paper-regime check
    ``psi^{-1}(1 / max(a, b))`` (THEORY §5) — the ``A`` a region pinned by its strongest
    loop would have; it is *not* used as a prediction.
    """
    loops = loop_strengths(spec)
    headers = ["region", "N_α / N", "g_α"]
    columns: list[np.ndarray] = [spec.sizes, spec.g]
    if loops.a is not None and loops.b is not None:
        from mrdmft.solvers.compiled import compile_system

        strongest = np.maximum(loops.a, loops.b)
        with np.errstate(divide="ignore", invalid="ignore"):
            pinned = np.where(strongest > 1.0, compile_system(spec).gain_inverse(1.0 / np.maximum(strongest, 1.0)), 0.0)
        headers += ["a_α (self loop)", "b_α (cross loop)", "ψ⁻¹(1/max(a, b)) (paper-regime check)"]
        columns += [loops.a, loops.b, pinned]
    rows = [[name, *(col[r] for col in columns)] for r, name in enumerate(spec.regions)]
    note = loops.note
    if loops.a is not None and loops.b is not None:
        note = (
            (note + ". " if note else "")
            + "ψ⁻¹(1/max(a, b)): the variance Δ0 that pins a region's gain at its strongest loop, the paper's "
            "formula (THEORY §5, 0 when no loop exceeds 1; equal to A when g = 0); it holds in the paper's regime "
            "and is shown only for comparison with the fixed points below, which the solver finds without assuming it"
        )
    return Table.build(headers, rows, caption="Regions", note=note)


def loop_table(spec: ModelSpec) -> Table:
    """The loop matrix ``c`` (symmetric models) or the T-norm matrix (general models), target × source."""
    loops = loop_strengths(spec)
    if loops.kind == "symmetric":
        caption = "Symmetric effective interactions c_αβ (T^{αβγ} = δ_αγ c_αβ); row α = target, column β = source"
    else:
        caption = "‖T‖ per edge β → α (Frobenius norm of the overlaps ⟨n^{αβ} m^{β·}⟩); row α = target, column β = source"
    headers = ["target α \\ source β", *spec.regions]
    rows = [[name, *loops.matrix[r]] for r, name in enumerate(spec.regions)]
    return Table.build(headers, rows, caption=caption)


def edge_summary(spec: ModelSpec, max_listed: int = 40) -> str:
    """Markdown line listing the edges ``source->target`` (with ranks above one)."""
    if spec.is_dense:
        head = f"**Edges:** all {len(spec.edges)} ordered region pairs β → α (rank one, self-edges included)."
    else:
        head = f"**Edges:** {len(spec.edges)} directed low-rank edges."
    names = [e.name if e.rank == 1 else f"{e.name} (rank {e.rank})" for e in spec.edges]
    listed = ", ".join(markdown_code(n) for n in names[:max_listed])
    more = f", … {len(names) - max_listed} more" if len(names) > max_listed else ""
    return f"{head} {listed}{more}"


# ====================================================================== fixed points and stability
def fixed_point_table(fixed_points: Sequence[Any], regions: Sequence[str], max_rows: int = 20) -> Table:
    """Fixed points: index, classification, max Re of the Jacobian spectrum, ``A^alpha`` per region, residual."""
    headers = ["#", "classification", "stable", "max Re λ(J)", *[f"A^{r}" for r in regions], "residual"]
    rows = []
    for k, fp in enumerate(fixed_points[:max_rows], 1):  # numbered from 1, like `mrdmft fixed-points`
        A = fixed_point_A(fp, regions)
        rows.append([str(k), str(fp.classification), bool(fp.stable), float(fp.max_real_eigenvalue), *A, float(fp.residual)])
    note = f"{len(fixed_points)} distinct fixed points found"
    if len(fixed_points) > max_rows:
        note += f"; the first {max_rows} are shown"
    return Table.build(headers, rows, caption="Fixed points of the current equations (stable first)", note=note)


def stationary_table(result: Any) -> Table:
    """Per-region stationary solution (phase, Δ0, Δ∞, A) and transition values of g (THEORY §4–5).

    ``result`` is a ``StationaryReport`` of :func:`mrdmft.solvers.stationary.stationary_regions`.
    When it did not succeed (e.g. the per-region theory does not apply to the model), the
    rows show no numbers and the note says why.
    """
    headers = ["region", "g", "loop strength λ", "phase", "Δ0", "Δ∞", "A", "g chaos onset", "g currents vanish"]
    rows = [
        [name, sol.g, sol.loop_strength, sol.phase, sol.Delta0, sol.Delta_inf, sol.A,
         float(result.g_chaos_onset[k]), float(result.g_currents_vanish[k])]
        for k, (name, sol) in enumerate(zip(result.regions, result.solutions))
    ]
    note = f"loop strengths from: {result.loop_source}"
    if not bool(getattr(result, "success", True)):
        note = f"NO STATIONARY PREDICTION: {result.message}"
    return Table.build(headers, rows, caption="Stationary solution per region", note=note)


def neuron_counts(regions: Sequence[str], region_sizes: Sequence[int]) -> str:
    """``"N = 4000 per region"``, or ``"N_α = A 600, B 180"`` for unequal region sizes."""
    counts = [int(n) for n in region_sizes]
    if len(set(counts)) == 1:
        return f"N = {counts[0]} per region"
    return "N_α = " + ", ".join(f"{name} {n}" for name, n in zip(regions, counts))


def zero_state_summary(result: Any) -> str:
    """Markdown sentence on the leading eigenvalue of ``Psi L`` and what it implies (THEORY §7)."""
    lead = complex(result.leading_eigenvalue)
    text = f"Leading eigenvalue of $\\Psi L$: $\\lambda_1 = {format_number(lead)}$. "
    if bool(result.zero_state_stable):
        return text + "Since $\\mathrm{Re}\\,\\lambda_1 < 1$ the quiescent state $S = 0$ is linearly stable."
    kind = (
        "a complex pair crossed, which creates oscillating currents (limit cycles when g = 0)"
        if abs(lead.imag) > 1e-9 * max(1.0, abs(lead.real))
        else "a real eigenvalue crossed, which creates branches of static nonzero currents (fixed points when "
        "g = 0), not necessarily stable ones"
    )
    return text + f"Since $\\mathrm{{Re}}\\,\\lambda_1 > 1$ the quiescent state $S = 0$ is unstable: {kind}."


def _stable_enough(fp: Any) -> bool:
    return bool(fp.stable) or float(fp.max_real_eigenvalue) <= STABILITY_TOLERANCE


def reference_fixed_point(fixed_points: Sequence[Any] | None) -> tuple[Any | None, str]:
    """The first stable fixed point, else the first marginally stable one, else none.

    Returns
    -------
    (fixed point or None, description)
    """
    if not fixed_points:
        return None, "no fixed point"
    for fp in fixed_points:
        if bool(fp.stable):
            return fp, f"first stable fixed point ({fp.classification})"
    for fp in fixed_points:
        if _stable_enough(fp):
            return fp, "first marginally stable fixed point (max Re λ ≈ 0)"
    return None, "no stable fixed point"


def nearest_fixed_point(fixed_points: Sequence[Any] | None, currents: np.ndarray) -> Any | None:
    """The (marginally) stable fixed point whose currents are closest (Euclidean) to ``currents``."""
    candidates = [fp for fp in (fixed_points or []) if _stable_enough(fp)]
    if not candidates:
        return None
    target = np.asarray(currents, dtype=float)
    distances = [float(np.linalg.norm(np.asarray(fp.currents, dtype=float) - target)) for fp in candidates]
    return candidates[int(np.argmin(distances))]


@dataclass(frozen=True)
class MatchedFixedPoint:
    """A fixed point of the g = 0 current equations matched to a simulated state.

    Attributes
    ----------
    currents : numpy.ndarray, shape (C,)
    A : numpy.ndarray, shape (R,)
        ``sum U S S`` per region.
    max_real_eigenvalue : float
        Max Re of the Jacobian eigenvalues.
    how : str
        ``"refined"`` (Newton from the simulated state) or ``"nearest found"``.
    """

    currents: np.ndarray
    A: np.ndarray
    max_real_eigenvalue: float
    how: str


def refine_fixed_point(spec: ModelSpec, start: np.ndarray, residual_tol: float = 1e-10) -> MatchedFixedPoint | None:
    """Polish a state onto a fixed point of the g = 0 current equations; None if it fails or is unstable.

    Uses :func:`mrdmft.solvers.fixed_points.refine_fixed_point` (the fixed-point solver's
    Levenberg–Marquardt iteration on ``F(S) = -S + psi(Delta(S))[src] (T S)`` from
    ``start``, e.g. a simulation's time-averaged currents, and its classification). On a
    continuous attractor manifold (THEORY §5) this picks the fixed point the simulation
    sits next to, which a list of isolated starts cannot. A non-finite ``start`` (a run
    that blew up) gives None.
    """
    from mrdmft.solvers.fixed_points import refine_fixed_point as refine

    start = np.asarray(start, dtype=float)
    if not np.all(np.isfinite(start)):
        return None
    refined = refine(spec, start, residual_tol=residual_tol, eig_tol=STABILITY_TOLERANCE)
    point = refined.fixed_point
    if point is None or point.max_real_eigenvalue > STABILITY_TOLERANCE:
        return None
    return MatchedFixedPoint(point.currents, point.variance, point.max_real_eigenvalue, "refined")


def match_fixed_point(
    spec: ModelSpec, fixed_points: Sequence[Any] | None, currents: np.ndarray, max_relative_distance: float = 0.5
) -> MatchedFixedPoint | None:
    """The stable fixed point a simulated state sits at: refined from it, else the nearest found.

    A candidate is accepted only if ``|S* - S| <= max_relative_distance * |S|`` (so a
    limit cycle's time average is not mistaken for a fixed point); otherwise None.
    """
    state = np.asarray(currents, dtype=float)
    limit = max_relative_distance * max(float(np.linalg.norm(state)), 1e-6)
    refined = refine_fixed_point(spec, state)
    if refined is not None and np.linalg.norm(refined.currents - state) <= limit:
        return refined
    nearest = nearest_fixed_point(fixed_points, state)
    if nearest is None or np.linalg.norm(np.asarray(nearest.currents, dtype=float) - state) > limit:
        return None
    return MatchedFixedPoint(
        np.asarray(nearest.currents, dtype=float), fixed_point_A(nearest, spec.regions),
        float(nearest.max_real_eigenvalue), "nearest found",
    )


# ====================================================================== simulation vs theory
@dataclass(frozen=True)
class SimulationComparison:
    """Finite-N simulations against the mean-field prediction.

    Attributes
    ----------
    regions : tuple of str
    t_settle : float
        Time averages use ``t >= t_settle``.
    measured_A : numpy.ndarray, shape (R,)
        Mean over runs of ``A^alpha = sum U Sbar Sbar`` of the time-averaged currents.
    time_averaged_A : numpy.ndarray, shape (R,)
        Mean over runs of the time average of ``A^alpha(t) = sum U S(t) S(t)``; equal to
        ``measured_A`` for static currents, larger when they oscillate or fluctuate.
    measured_root_A_sem : numpy.ndarray, shape (R,)
        Standard error over runs of ``sqrt(A^alpha)`` (NaN for one run).
    measured_currents : numpy.ndarray, shape (C,)
        Time-averaged currents of the first run.
    predicted_A : numpy.ndarray, shape (R,) or None
        Mean-field ``A^alpha`` (mean over runs of the matched prediction; None when the
        theory has no fixed-point or stationary prediction).
    predicted_currents : numpy.ndarray, shape (C,) or None
        Currents of the stable fixed point matched to the first run.
    source : str
        Where the prediction comes from.
    non_stationary_runs : int
        Runs whose currents are not static after ``t_settle`` (limit cycle, drift:
        :meth:`~mrdmft.solvers.simulate.SimulationResult.currents_stationary`); their
        ``A`` of the time-averaged currents is not a stationary ``A``.
    n_runs : int
        Number of runs compared.
    disordered : bool
        Some region has ``g > 0``: one run's ``A`` then scatters by tens of per cent from
        network to network at the report's sizes (the table says so).
    """

    regions: tuple[str, ...]
    t_settle: float
    measured_A: np.ndarray
    time_averaged_A: np.ndarray
    measured_root_A_sem: np.ndarray
    measured_currents: np.ndarray
    predicted_A: np.ndarray | None
    predicted_currents: np.ndarray | None
    source: str
    non_stationary_runs: int = 0
    n_runs: int = 1
    disordered: bool = False

    @property
    def relative_error_A(self) -> np.ndarray | None:
        """``(A_measured - A_predicted) / |A_predicted|`` per region (None without a prediction)."""
        if self.predicted_A is None:
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.measured_A - self.predicted_A) / np.abs(self.predicted_A)

    def table(self) -> Table:
        """Measured vs predicted ``sqrt(A^alpha)`` per region."""
        root_measured = np.sqrt(np.clip(self.measured_A, 0.0, None))
        root_of_mean = np.sqrt(np.clip(self.time_averaged_A, 0.0, None))
        if self.predicted_A is None:
            rows = [[r, root_measured[k], self.measured_root_A_sem[k], root_of_mean[k], "—", "—"]
                    for k, r in enumerate(self.regions)]
        else:
            root_predicted = np.sqrt(np.clip(self.predicted_A, 0.0, None))
            error = self.relative_error_A
            rows = [
                [r, root_measured[k], self.measured_root_A_sem[k], root_of_mean[k], root_predicted[k],
                 f"{100 * error[k]:+.1f} %".replace("-", "−") if np.isfinite(error[k]) else "—"]
                for k, r in enumerate(self.regions)
            ]
        headers = ["region", "√A measured", "s.e. (runs)", "√⟨A(t)⟩", "√A predicted", "rel. error of A"]
        note = (
            "√A measured: of the time-averaged currents (the stationary A of THEORY §4); √⟨A(t)⟩: time average of "
            f"A(t), larger when the currents fluctuate or oscillate. Prediction: {self.source}"
        )
        if self.non_stationary_runs:
            note = (
                f"WARNING: the currents of {self.non_stationary_runs} of {self.n_runs} runs are NOT stationary after "
                f"t = {format_number(self.t_settle)} (oscillation, e.g. a limit cycle, or slow drift): √A of the "
                "time-averaged currents is then not a stationary √A and the comparison is not meaningful (see the "
                "traces; use the two-time DMFT). " + note
            )
        if self.disordered and self.n_runs == 1 and self.predicted_A is not None:
            note += (
                ". One network with disorder (g > 0): its chaotic activity makes A scatter by tens of per cent from "
                "network to network at this N (the currents may even switch sign), so one run illustrates the theory "
                "but does not test it; `mrdmft validate MODEL --sizes N1,N2 --seeds 5` gives mean ± s.e. over networks "
                "and sizes"
            )
        return Table.build(headers, rows, caption=f"Simulation (t ≥ {format_number(self.t_settle)}) vs theory", note=note)


def compare_simulation(
    spec: ModelSpec,
    runs: Sequence[Any],
    fixed_points: Sequence[Any] | None = None,
    stationary_A: np.ndarray | None = None,
    t_settle: float | None = None,
) -> SimulationComparison:
    """Compare finite-N simulations with the mean-field prediction.

    Measured: ``A^alpha = sum U Sbar Sbar`` of each run's currents averaged over
    ``t >= t_settle`` (THEORY §4). Predicted, in this order: without disorder
    (``fixed_points`` given), the stable fixed point matched to each run by
    :func:`match_fixed_point`; with disorder, ``stationary_A`` (THEORY §4); else none
    (e.g. no stable fixed point: a limit cycle or chaos).

    Parameters
    ----------
    spec : ModelSpec
        The simulated model.
    runs : sequence of simulation results
        Each with ``t`` (n_t,), ``currents`` (n_t, C).
    fixed_points : sequence, optional
        Fixed points of the g = 0 current equations (``None`` for models with disorder).
    stationary_A : numpy.ndarray, shape (R,), or StationaryReport, optional
        Stationary ``A^alpha`` for models with disorder, or the report of
        ``stationary_regions`` itself. A failed report or non-finite values (the per-region
        theory does not apply to the model) give no prediction, with the reason as source.
    t_settle : float, optional
        Start of the time averages; default: half of the simulated time.

    Returns
    -------
    SimulationComparison
    """
    if not runs:
        raise ValueError("compare_simulation needs at least one simulation run")
    regions = tuple(spec.regions)
    t_end = float(np.asarray(runs[0].t)[-1])
    t_settle = 0.5 * t_end if t_settle is None else float(t_settle)
    settled = [np.asarray(run.currents)[np.asarray(run.t) >= t_settle] for run in runs]
    averages = [currents.mean(axis=0) for currents in settled]
    measured = structured_variance(spec, np.array(averages))
    mean_of_A = np.mean([structured_variance(spec, currents).mean(axis=0) for currents in settled], axis=0)
    root = np.sqrt(np.clip(measured, 0.0, None))
    sem = root.std(axis=0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else np.full(len(regions), np.nan)
    matched = [match_fixed_point(spec, fixed_points, s) for s in averages] if fixed_points is not None else []
    if matched and all(m is not None for m in matched):
        predicted_A = np.mean([m.A for m in matched], axis=0)
        predicted_currents = matched[0].currents
        how = sorted({m.how for m in matched})
        source = f"stable fixed point of the mean-field equations matched to each run ({', '.join(how)})"
    elif stationary_A is not None and not _stationary_ok(stationary_A):
        predicted_A, predicted_currents = None, None
        source = "none: " + _stationary_failure(stationary_A)
    elif stationary_A is not None:
        predicted_A, predicted_currents = np.asarray(getattr(stationary_A, "A", stationary_A), dtype=float), None
        source = "stationary solution per region (THEORY §4), checked to be a stationary state of the model"
    else:
        predicted_A, predicted_currents = None, None
        source = (
            "none (the simulated currents did not settle near a stable fixed point of the theory"
            + ("; the model has none" if fixed_points is not None and not any(_stable_enough(fp) for fp in fixed_points)
               else "; a finite network can end elsewhere, e.g. on a limit cycle, see the traces")
            + ")"
        )
    return SimulationComparison(
        regions=regions,
        t_settle=t_settle,
        measured_A=measured.mean(axis=0),
        time_averaged_A=mean_of_A,
        measured_root_A_sem=sem,
        measured_currents=averages[0],
        predicted_A=predicted_A,
        predicted_currents=predicted_currents,
        source=source,
        non_stationary_runs=sum(not _run_stationary(run, t_settle) for run in runs),
        n_runs=len(runs),
        disordered=bool(np.any(np.asarray(spec.g) > 0)),
    )


def _run_stationary(run: Any, t_settle: float) -> bool:
    """``run.currents_stationary(t_settle)`` for simulation results (others count as stationary)."""
    check = getattr(run, "currents_stationary", None)
    return True if check is None else bool(check(t_settle))


def _stationary_ok(stationary: Any) -> bool:
    """Whether a stationary prediction (report or ``A`` array) may be used."""
    if not bool(getattr(stationary, "success", True)):
        return False
    return bool(np.all(np.isfinite(np.asarray(getattr(stationary, "A", stationary), dtype=float))))


def _stationary_failure(stationary: Any) -> str:
    """Why a stationary prediction may not be used."""
    if hasattr(stationary, "message") and not bool(getattr(stationary, "success", True)):
        return str(stationary.message)
    return ("the per-region stationary theory gives no answer for this model (it applies in the paper's regime "
            "only; see the stationary table and use the two-time DMFT)")


# ====================================================================== building the report
class ReportExecutionError(RuntimeError):
    """A cell of the report notebook failed; nothing was written.

    Attributes
    ----------
    cell_number : int
        1-based number of the failing code cell (0: the kernel did not start).
    n_cells : int
        Number of code cells.
    heading : str
        The progress label of the cell (its section heading).
    ename, evalue : str
        The exception raised inside the kernel.
    """

    def __init__(self, cell_number: int, n_cells: int, heading: str, ename: str, evalue: str) -> None:
        self.cell_number, self.n_cells, self.heading = cell_number, n_cells, heading
        self.ename, self.evalue = ename, evalue
        super().__init__(
            f"report cell [{cell_number}/{n_cells}] '{heading}' failed: {ename}: {evalue} "
            "(no report was written; an earlier report in the output directory is unchanged)"
        )


def template_path() -> Path:
    """Path of the template notebook shipped with the package."""
    return Path(str(resources.files("mrdmft") / "templates" / "report.ipynb"))


def _check_arguments(simulation_n: int, simulation_t_max: float, seeds: int, timeout: float) -> None:
    checks = [
        ("simulation_n", isinstance(simulation_n, (int, np.integer)) and not isinstance(simulation_n, bool) and simulation_n >= 2,
         f"{simulation_n!r} is not an integer >= 2", "give the number of neurons per region, e.g. 4000"),
        ("simulation_t_max", isinstance(simulation_t_max, (int, float)) and not isinstance(simulation_t_max, bool)
         and math.isfinite(simulation_t_max) and simulation_t_max > 0,
         f"{simulation_t_max!r} is not a positive number", "give the simulated time in units of tau, e.g. 100"),
        ("seeds", isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool) and seeds >= 1,
         f"{seeds!r} is not an integer >= 1", "give the number of simulated networks, e.g. 1"),
        ("timeout", isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and math.isfinite(timeout) and timeout > 0,
         f"{timeout!r} is not a positive number", "give the per-cell time limit in seconds"),
    ]
    for field, ok, problem, fix in checks:
        if not ok:
            raise ModelInputError(field, problem, fix)


def _check_simulated_sizes(spec: ModelSpec, simulation_n: int) -> None:
    """Refuse, before the notebook starts, region sizes the report's simulation cannot sample.

    Raises
    ------
    ModelInputError
        On field ``sizes`` when a region would get no neuron (or too many), or fewer
        neurons than its exact-overlap sampling needs, at ``simulation_n`` neurons per
        unit of size.
    """
    from mrdmft.solvers.network_sampling import check_exact_overlaps, minimal_nn_covariance, region_sizes

    try:
        check_exact_overlaps(spec, region_sizes(spec, simulation_n), minimal_nn_covariance(spec))
    except ModelInputError as err:
        if err.field not in ("n", "exact_overlaps"):
            raise
        raise ModelInputError(
            "sizes",
            f"{err.problem} (the report simulates n = {simulation_n} neurons per unit of size, with exact overlaps)",
            "give region sizes of similar magnitude, e.g. sizes = [1.0, 0.5]; for extreme sizes use "
            "`mrdmft simulate MODEL --n N` with a larger N",
        ) from None


def _model_argument(model: str | os.PathLike[str] | None) -> str | None:
    """What the notebook passes to ``load_model``: a preset name or an absolute file path."""
    if model is None:
        return None
    path = Path(model)
    return str(path.resolve()) if path.is_file() else str(model)


def inject_parameters(nb: Any, values: Mapping[str, Any]) -> None:
    """Replace the source of the cell tagged ``parameters`` by assignments of ``values`` (in place).

    Raises
    ------
    ValueError
        If the notebook has no cell tagged ``parameters``.
    """
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            lines = ["# Parameters (written by mrdmft report)"]
            lines += [f"{name} = {value!r}" for name, value in values.items()]
            cell.source = "\n".join(lines)
            return
    raise ValueError("the report template has no cell tagged 'parameters'")


def cell_labels(nb: Any) -> dict[int, str]:
    """Map the index of each code cell to a progress label.

    The label is the nearest markdown heading above the cell (``$`` removed), followed
    by the cell's first line when that is a comment (``"5. Simulation: simulate the network"``).
    """
    heading = "start"
    out: dict[int, str] = {}
    for index, cell in enumerate(nb.cells):
        lines = cell.source.splitlines()
        if cell.cell_type == "markdown":
            titles = [line.lstrip("# ").strip() for line in lines if line.lstrip().startswith("#")]
            heading = titles[0].replace("$", "") if titles else heading
        elif cell.cell_type == "code":
            first = lines[0].strip() if lines else ""
            comment = first.lstrip("# ").strip() if first.startswith("#") else ""
            out[index] = f"{heading}: {comment}" if comment else heading
    return out


def _kernel_manager_class() -> type:
    """A KernelManager whose ``python3`` kernel runs the current interpreter (``sys.executable``)."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager
    from traitlets import default

    class CurrentInterpreterSpecs(KernelSpecManager):
        def get_kernel_spec(self, kernel_name: str) -> KernelSpec:  # noqa: D102
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name=f"Python 3 ({sys.executable})",
                language="python",
                resource_dir="",
            )

    class CurrentInterpreterKernelManager(KernelManager):
        @default("kernel_spec_manager")
        def _kernel_spec_manager_default(self) -> KernelSpecManager:
            return CurrentInterpreterSpecs()

    return CurrentInterpreterKernelManager


def execute_notebook(nb: Any, timeout: float, progress: TextIO | None, workdir: str) -> None:
    """Execute ``nb`` in place with nbclient, printing ``[k/n] label`` per code cell to ``progress``.

    The kernel runs in ``workdir`` (its current directory) and its own log goes to
    ``workdir/kernel.log`` (quoted when the kernel dies).

    Raises
    ------
    ReportExecutionError
        When a cell raises, times out or the kernel dies.
    KeyboardInterrupt
        On SIGINT (Ctrl-C) while the notebook runs (the kernel is shut down first).
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    labels = cell_labels(nb)
    order = {index: k + 1 for k, index in enumerate(sorted(labels))}
    n = len(order)
    state: dict[str, Any] = {"index": None, "interrupts": 0, "loop": None}

    def on_interrupt(signum: int, frame: Any) -> None:
        # A plain Python handler: it runs even while the blocking kernel client waits in
        # zmq's poll (an event-loop handler would only run once the cell has finished).
        state["interrupts"] += 1
        raise KeyboardInterrupt

    async def on_notebook_start(notebook: Any) -> None:
        # nbclient registered its own SIGINT handler on the event loop (it kills the kernel
        # under the running cell, which then fails with an AssertionError); replace it.
        # A SIGINT that arrived while the kernel started is still queued in the loop's
        # wake-up pipe: let the loop deliver it to nbclient's handler first (on_start then
        # sees it), or removing the handler would drop it.
        state["loop"] = loop = asyncio.get_running_loop()
        if main_thread:
            for _ in range(SIGNAL_DELIVERY_ROUNDS):
                await asyncio.sleep(0)
            if _startup_interrupted(client):  # stop now, while nbclient's kernel shutdown runs
                raise _ReportInterrupted("interrupted while the kernel started")
            loop.remove_signal_handler(signal.SIGINT)
            signal.signal(signal.SIGINT, on_interrupt)

    def on_start(cell: Any, cell_index: int) -> None:
        if state["interrupts"] or _startup_interrupted(client):
            raise _ReportInterrupted("interrupted before the next cell")
        if cell.cell_type != "code":
            return
        state["index"] = cell_index
        if progress is not None:
            print(f"[{order[cell_index]}/{n}] {labels[cell_index]}", file=progress, flush=True)

    client = NotebookClient(
        nb,
        timeout=timeout,
        startup_timeout=120,
        kernel_name="python3",
        kernel_manager_class=_kernel_manager_class(),
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": workdir}},
        on_cell_start=on_start,
        on_notebook_start=on_notebook_start,
    )
    log_path = Path(workdir) / "kernel.log"
    main_thread = threading.current_thread() is threading.main_thread()
    previous_handler = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            try:
                client.execute(stderr=log, stdout=log)
                if _startup_interrupted(client):  # SIGINT while the kernel started, no cell left to stop
                    raise _ReportInterrupted("interrupted while the kernel started")
            finally:
                if main_thread and previous_handler is not None:
                    signal.signal(signal.SIGINT, previous_handler)
    except BaseException as exc:
        if state["interrupts"] or _interrupted(client, exc):
            _stop_kernel(client, state.get("loop"))
            raise KeyboardInterrupt("report interrupted; nothing was saved") from exc
        if not isinstance(exc, (CellExecutionError, CellTimeoutError, DeadKernelError, RuntimeError)):
            raise
        index = state["index"]
        number = order.get(index, 0) if index is not None else 0
        label = labels.get(index, "kernel start") if index is not None else "kernel start"
        ename = str(getattr(exc, "ename", type(exc).__name__))
        evalue = getattr(exc, "evalue", None)
        if evalue is None:
            text = str(exc).strip()
            evalue = text.splitlines()[-1] if text else ""
            log_tail = log_path.read_text(errors="replace").strip().splitlines()[-5:] if log_path.exists() else []
            if log_tail:
                evalue += " | kernel log: " + " / ".join(log_tail)
        raise ReportExecutionError(number, n, label, ename, str(evalue)) from exc


SIGNAL_DELIVERY_ROUNDS = 3
"""Event-loop iterations granted to a queued SIGINT (read the wake-up pipe, run the handler)."""


class _ReportInterrupted(Exception):
    """Raised inside nbclient (cell-start hook) to stop after a SIGINT; becomes KeyboardInterrupt."""


def _interrupted(client: Any, exc: BaseException) -> bool:
    """Whether a failure of ``client.execute`` was caused by SIGINT / SIGTERM.

    True if ``exc`` or an exception in its ``__context__`` / ``__cause__`` chain is a
    ``KeyboardInterrupt``, or if nbclient's own signal handler (active while the kernel
    starts, before :func:`execute_notebook` takes SIGINT over) started the kernel cleanup.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, (KeyboardInterrupt, _ReportInterrupted)):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return _startup_interrupted(client)


def _startup_interrupted(client: Any) -> bool:
    """Whether nbclient's own SIGINT / SIGTERM handler fired (it is active while the kernel
    starts, before :func:`execute_notebook` takes SIGINT over, and only schedules the
    kernel's shutdown)."""
    return getattr(client, "_async_cleanup_kernel_future", None) is not None


def _stop_kernel(client: Any, loop: asyncio.AbstractEventLoop | None) -> None:
    """After an interrupt: cancel nbclient's unfinished tasks (their cleanup shuts the kernel
    down) and, if a kernel is still running, kill it."""
    try:
        if loop is not None and not loop.is_running() and not loop.is_closed():
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        future = getattr(client, "_async_cleanup_kernel_future", None)
        if future is not None and future.done() and not future.cancelled():
            future.exception()  # retrieve it: nbclient's own shutdown may fail once ours ran
        km = getattr(client, "km", None)
        if km is not None and km.has_kernel:
            km.shutdown_kernel(now=True)
    except Exception:  # noqa: BLE001 - best effort while stopping; the interrupt is reported
        pass


def check_report_targets(out_dir: Path | str) -> Path:
    """Check, before the notebook runs, that ``report.ipynb`` / ``report.html`` can be saved.

    ``out_dir`` must be a directory or not exist yet; ``out_dir/report.ipynb`` and
    ``out_dir/report.html`` must be regular files or absent; the nearest existing folder
    must be writable.

    Returns
    -------
    pathlib.Path
        ``out_dir`` as a Path.

    Raises
    ------
    ModelInputError
        On field ``out_dir``, naming the offending path.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ModelInputError("out_dir", f"{out} exists and is not a directory", "give a directory path")
    for name in REPORT_FILES:
        target = out / name
        if target.exists() and not target.is_file():
            raise ModelInputError(
                "out_dir", f"{target} is a directory, so the report cannot be saved there",
                f"remove or rename {target}, or choose another output directory",
            )
    existing = out.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ModelInputError("out_dir", f"{existing} is not a directory", "choose an output directory inside a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ModelInputError("out_dir", f"{existing} is not writable", "choose a writable output directory")
    return out


def _write_atomically(out_dir: Path, contents: Mapping[str, str]) -> None:
    """Write every ``name -> text`` into ``out_dir`` through temporary files.

    The files are renamed into place only once all of them are written, so ``out_dir``
    holds either the old or the new files (see :func:`atomic_output`).
    """
    with ExitStack() as stack:
        for name, text in contents.items():
            stack.enter_context(atomic_output(out_dir / name, binary=False)).write(text)


def build_report(
    model: str | os.PathLike[str] | None = None,
    out_dir: Path | str = "mrdmft-report",
    progress: bool = True,
    simulation_n: int | None = None,
    simulation_t_max: float | None = None,
    seeds: int = 1,
    timeout: float = 600,
) -> Path:
    """Build the executed-notebook report of a model.

    Copies ``templates/report.ipynb``, writes ``model``, ``simulation_n``,
    ``simulation_t_max`` and ``seeds`` into its ``parameters`` cell, executes it in a
    ``python3`` kernel running ``sys.executable``, and saves ``report.ipynb`` and
    ``report.html`` into ``out_dir`` (temporary files, then ``os.replace``). Other files in
    ``out_dir`` are never touched; nothing is written when the model is invalid or a cell
    fails.

    Parameters
    ----------
    model : str or path, optional
        Preset name or path to a TOML model file; default: the built-in ``fig3-1``.
    out_dir : path
        Output directory (created if missing).
    progress : bool
        Print ``[k/n] <section>`` to stderr as each code cell starts.
    simulation_n : int, optional
        Neurons per region (times the region's size fraction) in the finite-N simulation.
        Default from :func:`default_simulation_size`: 4000 without disorder, 1000 with.
    simulation_t_max : float, optional
        Simulated time, units of tau. Default: 150 without disorder, 100 with.
    seeds : int
        Number of independently sampled networks (mean ± standard error).
    timeout : float
        Time limit per cell, seconds.

    Returns
    -------
    pathlib.Path
        Path of ``report.html``.

    Raises
    ------
    ModelInputError
        Invalid model, arguments or output targets (:func:`check_report_targets`), before
        the notebook runs and before anything is written.
    ReportExecutionError
        A cell failed (nothing is written).
    KeyboardInterrupt
        Interrupted by the user (nothing is written; earlier report files are kept).
    """
    import nbformat
    from nbconvert import HTMLExporter

    spec = load_model(model)  # validate first: ModelInputError before anything is written
    default_n, default_t_max = default_simulation_size(spec)
    simulation_n = default_n if simulation_n is None else simulation_n
    simulation_t_max = default_t_max if simulation_t_max is None else simulation_t_max
    _check_arguments(simulation_n, simulation_t_max, seeds, timeout)
    _check_simulated_sizes(spec, simulation_n)
    out = check_report_targets(out_dir)

    nb = nbformat.read(template_path(), as_version=4)
    inject_parameters(
        nb,
        {
            "model": _model_argument(model),
            "simulation_n": int(simulation_n),
            "simulation_t_max": float(simulation_t_max),
            "seeds": int(seeds),
        },
    )
    stream = sys.stderr if progress else None
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mrdmft-report-") as workdir:
        execute_notebook(nb, timeout=float(timeout), progress=stream, workdir=workdir)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    out.mkdir(parents=True, exist_ok=True)
    _write_atomically(out, {"report.ipynb": nbformat.writes(nb), "report.html": body})
    if stream is not None:
        print(f"notebook executed and saved ({time.perf_counter() - started:.0f} s)", file=stream, flush=True)
    return out / "report.html"
