"""Matplotlib figures for the report and the notebooks.

Every helper returns a :class:`matplotlib.figure.Figure` built without ``pyplot``
(no global figure state): display it in Jupyter (``display(fig)``, or as the last
expression of a cell) or save it with ``fig.savefig(path)``. All axes carry labels
with their symbols, every figure a title and a legend.

Symbols follow THEORY.md: currents ``S^{alpha beta}`` (from region beta into alpha),
structured variance ``A^alpha = sum U S S`` (§4), eigenvalues ``lambda`` of the
effective-interaction operator ``Psi L`` (§7) or of the Jacobian of the current
equations at a fixed point (§7). Time is in units of the neuronal time constant tau.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

__all__ = [
    "plain_text",
    "region_colors",
    "spectrum_figure",
    "plot_spectrum",
    "traces_figure",
    "comparison_figure",
    "stationary_phase_figure",
    "autocorrelation_figure",
    "ActivityRow",
    "activity_figure",
    "root_A_scatter_figure",
    "finite_size_figure",
]

MAX_LEGEND_ENTRIES = 12
"""Above this many regions the per-region legends are folded into one column of text."""


def plain_text(text: object) -> str:
    """``text`` shown literally by matplotlib: ``$`` escaped, so a region name such as ``$^$`` is
    neither typeset as math nor a mathtext syntax error."""
    return str(text).replace("$", r"\$")


def region_colors(n_regions: int) -> list[str]:
    """``n_regions`` distinguishable colours (hex strings), region by region.

    Uses the qualitative ``tab10`` palette for up to 10 regions and samples
    ``viridis`` beyond that.
    """
    from matplotlib import colormaps

    if n_regions <= 10:
        cmap = colormaps["tab10"]
        return [to_hex(cmap(i)) for i in range(n_regions)]
    cmap = colormaps["viridis"]
    return [to_hex(cmap(x)) for x in np.linspace(0.0, 0.95, n_regions)]


def plot_spectrum(
    ax: Axes,
    eigenvalues: Sequence[complex] | np.ndarray,
    threshold: float,
    title: str,
    threshold_label: str,
    label: str = "eigenvalues",
    color: str = "C0",
) -> Axes:
    """Scatter eigenvalues in the complex plane with the stability line ``Re lambda = threshold``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Axes to draw on.
    eigenvalues : array_like of complex
        The spectrum.
    threshold : float
        Position of the vertical stability boundary (1 for ``Psi L``, 0 for a Jacobian).
    title : str
        Axes title.
    threshold_label : str
        Legend entry of the boundary line (e.g. ``"Re λ = 1 (zero state loses stability)"``).
    label : str
        Legend entry of the eigenvalues.
    color : str
        Marker colour.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ev = np.asarray(eigenvalues, dtype=complex).ravel()
    ax.axhline(0.0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(threshold, color="C3", ls="--", lw=1.4, label=threshold_label, zorder=1)
    ax.scatter(ev.real, ev.imag, s=28, color=color, edgecolor="k", linewidth=0.4, label=label, zorder=3)
    re_lo = min(float(ev.real.min()) if ev.size else threshold, threshold)
    re_hi = max(float(ev.real.max()) if ev.size else threshold, threshold)
    pad = 0.12 * max(re_hi - re_lo, 1.0)
    ax.set_xlim(re_lo - pad, re_hi + pad)
    im_max = float(np.abs(ev.imag).max()) if ev.size else 0.0
    im_lim = max(1.15 * im_max, 0.25 * (re_hi - re_lo + 2 * pad), 0.5)
    ax.set_ylim(-im_lim, im_lim)
    ax.set_xlabel(r"Re $\lambda$")
    ax.set_ylabel(r"Im $\lambda$")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small", framealpha=0.9)
    ax.grid(alpha=0.25)
    return ax


def spectrum_figure(
    operator_eigenvalues: Sequence[complex] | np.ndarray,
    jacobian_eigenvalues: Sequence[complex] | np.ndarray | None = None,
    jacobian_title: str = "Jacobian at the first stable fixed point",
    operator_title: str = r"Spectrum of $\Psi L$ at the zero state",
) -> Figure:
    """Spectrum of ``Psi L`` (line ``Re lambda = 1``) and, optionally, of a fixed point's Jacobian.

    The zero state ``S = 0`` is unstable iff an eigenvalue of ``Psi L`` has
    ``Re lambda > 1`` (THEORY §7); a fixed point is linearly stable iff every
    eigenvalue of the Jacobian ``d(dS/dt)/dS`` has ``Re lambda < 0``.

    Parameters
    ----------
    operator_eigenvalues : array_like of complex
        Eigenvalues of ``Psi L``.
    jacobian_eigenvalues : array_like of complex, optional
        Eigenvalues of the Jacobian at a fixed point; a second panel when given.
    jacobian_title, operator_title : str
        Panel titles.

    Returns
    -------
    matplotlib.figure.Figure
    """
    panels = 1 if jacobian_eigenvalues is None else 2
    fig = Figure(figsize=(5.6 * panels, 4.4), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]
    plot_spectrum(
        axes[0],
        operator_eigenvalues,
        threshold=1.0,
        title=operator_title,
        threshold_label=r"Re $\lambda$ = 1 (zero state loses stability)",
        label=r"eigenvalues of $\Psi L$",
    )
    if jacobian_eigenvalues is not None:
        plot_spectrum(
            axes[1],
            jacobian_eigenvalues,
            threshold=0.0,
            title=jacobian_title,
            threshold_label=r"Re $\lambda$ = 0 (stability boundary)",
            label="Jacobian eigenvalues",
            color="C2",
        )
    fig.suptitle("Linear stability (THEORY §7)")
    return fig


def _region_legend(ax: Axes, regions: Sequence[str], colors: Sequence[str], extra: Sequence[Line2D] = ()) -> None:
    handles = [Line2D([], [], color=c, lw=2, label=f"region {plain_text(r)}") for r, c in zip(regions, colors)]
    handles = list(handles[:MAX_LEGEND_ENTRIES]) + list(extra)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", borderaxespad=0.0)


def traces_figure(
    t: np.ndarray,
    currents: np.ndarray,
    variance: np.ndarray,
    regions: Sequence[str],
    channel_target: Sequence[int],
    predicted_currents: np.ndarray | None = None,
    predicted_A: np.ndarray | None = None,
    title: str = "Finite-N simulation vs mean-field theory",
) -> Figure:
    """Simulated currents ``S(t)`` and ``sqrt(A^alpha(t))`` with dashed theory lines.

    Parameters
    ----------
    t : numpy.ndarray, shape (n_t,)
        Recording times (units of tau).
    currents : numpy.ndarray, shape (n_t, C)
        Simulated currents, one column per channel.
    variance : numpy.ndarray, shape (n_t, R)
        Simulated structured variance ``A^alpha(t) = sum U S S`` per region.
    regions : sequence of str
        Region names.
    channel_target : sequence of int
        Target region of each channel (colours currents by the region they enter).
    predicted_currents : numpy.ndarray, shape (C,), optional
        Fixed-point currents drawn as dashed horizontal lines.
    predicted_A : numpy.ndarray, shape (R,), optional
        Predicted ``A^alpha`` drawn as dashed lines at ``sqrt(A^alpha)``.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    t = np.asarray(t, dtype=float)
    currents = np.asarray(currents, dtype=float)
    variance = np.asarray(variance, dtype=float)
    colors = region_colors(len(regions))
    target = np.asarray(channel_target, dtype=int)
    fig = Figure(figsize=(12.0, 4.4), layout="constrained")
    ax_s, ax_a = fig.subplots(1, 2)
    for c in range(currents.shape[1]):
        ax_s.plot(t, currents[:, c], color=colors[target[c]], lw=1.0, alpha=0.85)
        if predicted_currents is not None:
            ax_s.axhline(predicted_currents[c], color=colors[target[c]], ls="--", lw=0.9, alpha=0.9)
    theory = Line2D([], [], color="k", ls="--", lw=1.0, label="theory (fixed point)")
    ax_s.set_xlabel(r"time $t$ ($\tau$)")
    ax_s.set_ylabel(r"current $S^{\alpha\beta}(t)$")
    ax_s.set_title(r"Currents, coloured by target region $\alpha$")
    ax_s.grid(alpha=0.25)
    _region_legend(ax_s, regions, colors, [theory] if predicted_currents is not None else [])

    root_a = np.sqrt(np.clip(variance, 0.0, None))
    for r, name in enumerate(regions):
        ax_a.plot(t, root_a[:, r], color=colors[r], lw=1.2)
        if predicted_A is not None and np.isfinite(predicted_A[r]):
            ax_a.axhline(np.sqrt(max(predicted_A[r], 0.0)), color=colors[r], ls="--", lw=1.0)
    theory_a = Line2D([], [], color="k", ls="--", lw=1.0, label=r"theory $\sqrt{A^\alpha}$")
    ax_a.set_xlabel(r"time $t$ ($\tau$)")
    ax_a.set_ylabel(r"$\sqrt{A^\alpha(t)}$")
    ax_a.set_title(r"Structured variance $A^\alpha = \sum\, U S S$ per region")
    ax_a.grid(alpha=0.25)
    _region_legend(ax_a, regions, colors, [theory_a] if predicted_A is not None else [])
    fig.suptitle(title)
    return fig


def comparison_figure(
    regions: Sequence[str],
    predicted_A: np.ndarray,
    measured_A: np.ndarray,
    measured_A_sem: np.ndarray | None = None,
    predicted_currents: np.ndarray | None = None,
    measured_currents: np.ndarray | None = None,
    channel_target: Sequence[int] | None = None,
    title: str = "Measured vs predicted",
) -> Figure:
    """Scatter of measured against predicted ``sqrt(A^alpha)`` (and currents) with identity lines.

    Parameters
    ----------
    regions : sequence of str
        Region names (annotate the points).
    predicted_A, measured_A : numpy.ndarray, shape (R,)
        Predicted and measured ``A^alpha``; plotted as square roots.
    measured_A_sem : numpy.ndarray, shape (R,), optional
        Standard error of ``sqrt(A^alpha)`` over seeds (error bars).
    predicted_currents, measured_currents : numpy.ndarray, shape (C,), optional
        Fixed-point and simulated (time-averaged) currents; a second panel when given.
    channel_target : sequence of int, optional
        Target region of each channel (colours of the current panel).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    colors = region_colors(len(regions))
    with_currents = predicted_currents is not None and measured_currents is not None
    fig = Figure(figsize=(13.0 if with_currents else 6.6, 4.8), layout="constrained")
    axes = fig.subplots(1, 2 if with_currents else 1, squeeze=False)[0]
    ax = axes[0]
    x = np.sqrt(np.clip(np.asarray(predicted_A, dtype=float), 0.0, None))
    y = np.sqrt(np.clip(np.asarray(measured_A, dtype=float), 0.0, None))
    err = None if measured_A_sem is None else np.asarray(measured_A_sem, dtype=float)
    _identity(ax, np.concatenate([x, y]))
    for r, name in enumerate(regions):
        ax.errorbar(
            x[r], y[r], yerr=None if err is None else err[r], fmt="o", ms=7, color=colors[r],
            mec="k", mew=0.5, capsize=3, label=f"region {plain_text(name)}" if r < MAX_LEGEND_ENTRIES else None,
        )
    ax.set_xlabel(r"predicted $\sqrt{A^\alpha}$ (mean-field theory)")
    ax.set_ylabel(r"measured $\sqrt{A^\alpha}$ (simulation, time average)")
    ax.set_title(r"Structured variance $\sqrt{A^\alpha}$ per region")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", borderaxespad=0.0)
    ax.grid(alpha=0.25)
    if with_currents:
        ax_c = axes[1]
        pc = np.asarray(predicted_currents, dtype=float)
        mc = np.asarray(measured_currents, dtype=float)
        target = np.zeros(pc.size, dtype=int) if channel_target is None else np.asarray(channel_target, dtype=int)
        _identity(ax_c, np.concatenate([pc, mc]))
        for r, name in enumerate(regions):
            sel = target == r
            if sel.any():
                ax_c.scatter(pc[sel], mc[sel], s=30, color=colors[r], edgecolor="k", linewidth=0.4,
                             label=f"into region {plain_text(name)}" if r < MAX_LEGEND_ENTRIES else None, zorder=3)
        ax_c.set_xlabel(r"fixed-point current $S^{\alpha\beta}_*$ (theory)")
        ax_c.set_ylabel(r"simulated current $S^{\alpha\beta}$ (time average)")
        ax_c.set_title(r"Currents $S^{\alpha\beta}$, coloured by target region $\alpha$")
        ax_c.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", borderaxespad=0.0)
        ax_c.grid(alpha=0.25)
    fig.suptitle(title)
    return fig


def _identity(ax: Axes, values: np.ndarray) -> None:
    """Draw the identity line over the range of ``values`` (with a margin) and fix equal limits."""
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = max(0.08 * (hi - lo), 0.05 * max(abs(lo), abs(hi)), 1e-3)
    lo, hi = lo - pad, hi + pad
    ax.plot([lo, hi], [lo, hi], color="0.4", ls="--", lw=1.0, label="identity (theory = simulation)", zorder=1)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal", adjustable="box")


# ====================================================================== stationary phases (Fig. 4)
PHASE_STYLES = {"static": "-", "chaos+currents": "--", "chaos": ":", "quiescent": "-."}
"""Line style of each stationary phase (THEORY §4) in :func:`stationary_phase_figure`."""


def _phase_segments(phase: np.ndarray) -> list[tuple[str, int, int]]:
    """Runs ``(phase, start, stop)`` of equal phase (``stop`` exclusive, overlapping by one point)."""
    runs, start = [], 0
    for k in range(1, len(phase) + 1):
        if k == len(phase) or phase[k] != phase[start]:
            runs.append((str(phase[start]), start, min(k + 1, len(phase))))
            start = k
    return runs


def stationary_phase_figure(
    g: np.ndarray,
    loop_strengths: Sequence[float],
    A: np.ndarray,
    phase: np.ndarray,
    transitions: np.ndarray,
    simulated: Mapping[float, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
    title: str = r"Static currents vs chaos: $\sqrt{A}$ against disorder $g$",
) -> Figure:
    """``sqrt(A)`` of a pinned region against ``g``, one curve per loop strength, phases marked.

    The line style gives the stationary phase of every segment (THEORY §4-5): solid =
    static currents, dashed = currents + chaos, dotted = pure chaos (``A = 0``). Vertical
    lines in the curve's colour mark the transition values: dash-dot at the chaos onset
    ``g^2 <phi'^2>(Delta0) = 1``, dotted where the currents vanish.

    Parameters
    ----------
    g : numpy.ndarray, shape (G,)
        Disorder values (increasing).
    loop_strengths : sequence of float, length B
        Loop strengths ``b`` (one curve each).
    A, phase : numpy.ndarray, shape (B, G)
        Structured variance and phase name per point (e.g. from ``stationary_sweep``).
    transitions : numpy.ndarray, shape (B, 2)
        ``(g_chaos_onset, g_currents_vanish)`` per loop strength.
    simulated : mapping b -> (g, mean sqrt(A), standard error), optional
        Finite-N points drawn with error bars.
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    g = np.asarray(g, dtype=float)
    A = np.atleast_2d(np.asarray(A, dtype=float))
    phase = np.atleast_2d(np.asarray(phase))
    transitions = np.atleast_2d(np.asarray(transitions, dtype=float))
    colors = [f"C{k}" for k in range(len(loop_strengths))]
    fig = Figure(figsize=(10.6, 5.0), layout="constrained")
    ax = fig.subplots()
    root = np.sqrt(np.clip(A, 0.0, None))
    for k, b in enumerate(loop_strengths):
        for name, i0, i1 in _phase_segments(phase[k]):
            ax.plot(g[i0:i1], root[k, i0:i1], color=colors[k], ls=PHASE_STYLES.get(name, "-"), lw=2.0)
        onset, vanish = transitions[k]
        ax.axvline(onset, color=colors[k], ls="-.", lw=0.9, alpha=0.8)
        ax.axvline(vanish, color=colors[k], ls=":", lw=1.2, alpha=0.9)
        if simulated is not None and b in simulated:
            gs, mean, sem = (np.asarray(v, dtype=float) for v in simulated[b])
            ax.errorbar(gs, mean, yerr=sem, fmt="o", color=colors[k], mec="k", mew=0.5, ms=6, capsize=3, zorder=4)
    handles = [Line2D([], [], color=colors[k], lw=2.0, label=f"loop strength $b$ = {b:g}") for k, b in enumerate(loop_strengths)]
    present = {str(p) for p in np.unique(phase)}
    handles += [
        Line2D([], [], color="k", ls=PHASE_STYLES[name], lw=2.0, label=label)
        for name, label in (("static", "static currents (chaos suppressed)"), ("chaos+currents", "currents + chaos"),
                            ("chaos", r"pure chaos ($A = 0$)"), ("quiescent", "quiescent"))
        if name in present
    ]
    handles += [
        Line2D([], [], color="0.3", ls="-.", lw=0.9, label=r"chaos onset $g^2\langle\phi'^2\rangle(\Delta_0) = 1$"),
        Line2D([], [], color="0.3", ls=":", lw=1.2, label="currents vanish"),
    ]
    if simulated:
        handles.append(Line2D([], [], color="0.3", marker="o", ls="", mec="k", label="finite-N simulation (mean ± SE)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", borderaxespad=0.0)
    ax.set_xlabel(r"disorder $g$")
    ax.set_ylabel(r"$\sqrt{A}$ (static current amplitude)")
    ax.set_xlim(float(g.min()), float(g.max()))
    ax.set_ylim(bottom=-0.05)
    ax.set_title(title)
    ax.grid(alpha=0.25)
    return fig


def autocorrelation_figure(
    tau: np.ndarray,
    delta: np.ndarray,
    labels: Sequence[str],
    dmft: tuple[np.ndarray, np.ndarray] | None = None,
    simulated: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    asymptotes: Sequence[float] | None = None,
    title: str = r"Stationary autocovariance $\Delta(\tau)$",
    theory_label: str = "particle in a potential",
    dmft_label: str = "two-time DMFT",
    simulated_label: str = "simulation (mean ± SE over seeds)",
) -> Figure:
    """``Delta(tau)`` curves, one colour per setting, with optional DMFT and simulated overlays.

    Parameters
    ----------
    tau : numpy.ndarray, shape (L,)
        Lags of the main (solid) curves.
    delta : numpy.ndarray, shape (K, L)
        One curve per setting.
    labels : sequence of str, length K
        Legend label of each setting (e.g. ``"g = 1.5"``).
    dmft : (tau_d, delta_d), optional
        Second theory route drawn dashed; ``delta_d`` of shape (K, L_d).
    simulated : (tau_s, mean, stderr), optional
        Simulated curves (K, L_s) drawn as markers with a ±SE band.
    asymptotes : sequence of float, optional
        ``Delta_inf`` per setting, drawn as thin horizontal lines.
    title, theory_label, dmft_label, simulated_label : str
        Axes title and legend entries of the three kinds of curves.

    Returns
    -------
    matplotlib.figure.Figure
    """
    tau = np.asarray(tau, dtype=float)
    delta = np.atleast_2d(np.asarray(delta, dtype=float))
    fig = Figure(figsize=(10.4, 4.8), layout="constrained")
    ax = fig.subplots()
    for k, label in enumerate(labels):
        color = f"C{k}"
        ax.plot(tau, delta[k], color=color, lw=2.2, label=label)
        if asymptotes is not None:
            ax.axhline(asymptotes[k], color=color, lw=0.7, ls="-", alpha=0.5)
        if dmft is not None:
            ax.plot(dmft[0], np.atleast_2d(dmft[1])[k], color="k", lw=1.0, ls="--", dashes=(4, 3))
        if simulated is not None:
            ts, mean, sem = (np.atleast_2d(np.asarray(v, dtype=float)) for v in simulated)
            ts = ts[0]
            step = max(1, ts.size // 25)
            ax.fill_between(ts, mean[k] - sem[k], mean[k] + sem[k], color=color, alpha=0.2, lw=0)
            ax.plot(ts[::step], mean[k, ::step], "o", color=color, mec="k", mew=0.4, ms=4)
    kinds = [Line2D([], [], color="0.3", lw=2.2, label=theory_label)]
    if dmft is not None:
        kinds.append(Line2D([], [], color="k", lw=1.0, ls="--", dashes=(4, 3), label=dmft_label))
    if simulated is not None:
        kinds.append(Line2D([], [], color="0.3", marker="o", ls="", mec="k", label=simulated_label))
    if asymptotes is not None:
        kinds.append(Line2D([], [], color="0.3", lw=0.7, alpha=0.5, label=r"$\Delta_\infty = \Delta(\tau\to\infty)$"))
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + kinds, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small", borderaxespad=0.0)
    ax.set_xlabel(r"lag $\tau$ (units of the neuronal time constant)")
    ax.set_ylabel(r"$\Delta(\tau) = \langle x(t)\, x(t+\tau)\rangle$")
    ax.set_xlim(float(tau.min()), float(tau.max()))
    ax.set_title(title)
    ax.grid(alpha=0.25)
    return fig


# ====================================================================== network activity (Fig. 3)
@dataclass(frozen=True, eq=False)
class ActivityRow:
    """One row of :func:`activity_figure`: a simulated network and its theory.

    Attributes
    ----------
    label : str
        Row title (e.g. ``"example 1, no disorder"``).
    t : numpy.ndarray, shape (n_t,)
        Recording times.
    neuron_traces : numpy.ndarray, shape (n_t, R, k)
        ``x_i^alpha(t)`` of ``k`` neurons per region.
    currents : numpy.ndarray, shape (n_t, C)
        ``S^{alpha beta}(t)``.
    channel_target : sequence of int
        Target region of each channel.
    predicted_A : numpy.ndarray, shape (R,)
        Mean-field ``A^alpha``.
    measured_root_A, measured_root_A_sem : numpy.ndarray, shape (R,)
        Mean over seeds of the measured ``sqrt(A^alpha)`` and its standard error.
    """

    label: str
    t: np.ndarray
    neuron_traces: np.ndarray
    currents: np.ndarray
    channel_target: Sequence[int]
    predicted_A: np.ndarray
    measured_root_A: np.ndarray
    measured_root_A_sem: np.ndarray | None = None


def activity_figure(rows: Sequence[ActivityRow], regions: Sequence[str], title: str = "Network activity") -> Figure:
    """Per row: neuron traces by region, currents over time, measured vs predicted ``sqrt(A^alpha)``.

    Neuron traces ``x_i^alpha(t)`` are stacked by region (vertical offsets, region names on
    the axis); currents ``S^{alpha beta}(t)`` are coloured by their target region ``alpha``;
    the scatter compares the time-averaged ``sqrt(A^alpha)`` of the simulations (mean ± SE
    over seeds) with the mean-field prediction on the identity line.

    Parameters
    ----------
    rows : sequence of ActivityRow
        One row per simulated model.
    regions : sequence of str
        Region names (shared by the rows).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    colors = region_colors(len(regions))
    fig = Figure(figsize=(15.0, 3.9 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), 3, squeeze=False, gridspec_kw={"width_ratios": [1.25, 1.25, 1.0]})
    for (ax_x, ax_s, ax_a), row in zip(axes, rows):
        traces = np.asarray(row.neuron_traces, dtype=float)
        spread = float(np.nanmax(np.abs(traces))) if traces.size else 1.0
        offset = 2.2 * max(spread, 1e-9)
        for r in range(len(regions)):
            ax_x.plot(row.t, traces[:, r, :] - r * offset, color=colors[r], lw=0.7, alpha=0.85)
        ax_x.set_yticks([-r * offset for r in range(len(regions))], [f"region {plain_text(name)}" for name in regions])
        ax_x.set_xlabel(r"time $t$ ($\tau$)")
        ax_x.set_ylabel(r"$x_i^\alpha(t)$ (offset by region)")
        ax_x.set_title(f"{row.label}: neuron traces")
        target = np.asarray(row.channel_target, dtype=int)
        currents = np.asarray(row.currents, dtype=float)
        for c in range(currents.shape[1]):
            ax_s.plot(row.t, currents[:, c], color=colors[target[c]], lw=0.9, alpha=0.85)
        ax_s.set_xlabel(r"time $t$ ($\tau$)")
        ax_s.set_ylabel(r"current $S^{\alpha\beta}(t)$")
        ax_s.set_title(f"{row.label}: currents (colour = target region)")
        ax_s.grid(alpha=0.25)
        _region_legend(ax_s, regions, colors)
        x = np.sqrt(np.clip(np.asarray(row.predicted_A, dtype=float), 0.0, None))
        y = np.asarray(row.measured_root_A, dtype=float)
        sem = np.zeros_like(y) if row.measured_root_A_sem is None else np.nan_to_num(np.asarray(row.measured_root_A_sem, dtype=float))
        _identity(ax_a, np.concatenate([x, y - sem, y + sem]))
        for r, name in enumerate(regions):
            err = None if row.measured_root_A_sem is None else row.measured_root_A_sem[r]
            ax_a.errorbar(x[r], y[r], yerr=err, fmt="o", color=colors[r], mec="k", mew=0.5, ms=7, capsize=3)
        ax_a.set_xlabel(r"predicted $\sqrt{A^\alpha}$")
        ax_a.set_ylabel(r"measured $\sqrt{A^\alpha}$ (mean ± SE)")
        ax_a.set_title(r"$\sqrt{A^\alpha}$: simulation vs theory")
        ax_a.legend(loc="upper left", fontsize="small")
        ax_a.grid(alpha=0.25)
    fig.suptitle(title)
    return fig


def root_A_scatter_figure(
    groups: Sequence[tuple[str, np.ndarray, np.ndarray, np.ndarray | None]],
    title: str = r"Measured vs predicted $\sqrt{A^\alpha}$",
) -> Figure:
    """Measured against predicted ``sqrt(A^alpha)`` for several models, one marker per model.

    Parameters
    ----------
    groups : sequence of (label, predicted_A, measured_root_A, measured_root_A_sem)
        ``predicted_A`` (R,) is plotted as ``sqrt``; measured values are already square
        roots (mean over seeds) with their standard errors (or None).
    title : str
        Axes title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    markers = "osD^vP*Xh<>p"
    fig = Figure(figsize=(7.4, 5.6), layout="constrained")
    ax = fig.subplots()
    xs = [np.sqrt(np.clip(np.asarray(p, dtype=float), 0.0, None)) for _, p, _, _ in groups]
    ys = [np.asarray(m, dtype=float) for _, _, m, _ in groups]
    bars = [np.nan_to_num(np.asarray(sem, dtype=float)) if sem is not None else np.zeros_like(y)
            for (_, _, _, sem), y in zip(groups, ys)]
    _identity(ax, np.concatenate(xs + [y - b for y, b in zip(ys, bars)] + [y + b for y, b in zip(ys, bars)]) if xs else np.zeros(1))
    for k, ((label, _, _, sem), x, y) in enumerate(zip(groups, xs, ys)):
        ax.errorbar(x, y, yerr=sem, fmt=markers[k % len(markers)], color=f"C{k}", mec="k", mew=0.5, ms=7,
                    capsize=3, label=label)
    ax.set_xlabel(r"predicted $\sqrt{A^\alpha}$ (mean-field theory)")
    ax.set_ylabel(r"measured $\sqrt{A^\alpha}$ (simulation, mean ± SE over seeds)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.25)
    return fig


def finite_size_figure(panels: Sequence[tuple[str, object, object]], title: str = "Finite-size scaling of A") -> Figure:
    """Measured ``A^alpha`` against ``1/N^p`` with the fitted lines and the theory at ``1/N = 0``.

    Parameters
    ----------
    panels : sequence of (label, ValidationTable, FiniteSizeFit)
        One panel per model: the table's mean ± SE per region and size, the fit's lines
        ``A_inf + c x`` (:mod:`mrdmft.solvers.finite_size`) and, at ``x = 0``, the fit's
        ``A_inf`` ± SE (open markers) next to the mean-field prediction (stars).
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig = Figure(figsize=(4.6 * max(len(panels), 1), 4.4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(len(panels), 1), squeeze=False)[0])
    for ax, (label, table, fit) in zip(axes, panels):
        sizes = np.asarray(table.sizes, dtype=float)
        x = (1000.0 / sizes) ** fit.exponent  # N^-p in units of 1000^-p
        colors = region_colors(len(table.regions))
        for r, (region, color) in enumerate(zip(table.regions, colors)):
            rows = [table.row(region, int(n)) for n in table.sizes]
            ax.errorbar(x, [row.mean_A for row in rows], yerr=[row.stderr_A for row in rows], fmt="o", color=color,
                        ms=5, capsize=3, label=f"region {plain_text(region)}")
            line_x = np.linspace(0.0, x.max(), 20)
            ax.plot(line_x, fit.A_infinity[r] + fit.slope[r] * line_x / 1000.0**fit.exponent, color=color, lw=1, alpha=0.7)
            ax.errorbar([-0.03 * x.max()], [fit.A_infinity[r]], yerr=[fit.stderr_A_infinity[r]], fmt="o", mfc="none",
                        color=color, capsize=3)
            ax.plot([0.0], [fit.predicted_A[r]], marker="*", ms=11, color=color, mec="k", mew=0.6, ls="none")
        handles, labels = ax.get_legend_handles_labels()
        handles += [Line2D([], [], marker="*", ms=10, color="0.5", mec="k", ls="none"),
                    Line2D([], [], marker="o", mfc="none", color="0.5", ls="none")]
        labels += ["theory (N → ∞)", "fit: A_inf ± SE"]
        ax.legend(handles, labels, fontsize="x-small", loc="best")
        unit = "1000 / N" if fit.exponent == 1 else f"(1000 / N)^{fit.exponent:g}"
        ax.set_xlabel(f"{unit}  (N neurons per region)")
        ax.set_ylabel(r"$A^\alpha$ (mean ± SE over seeds)")
        ax.set_title(label)
        ax.grid(alpha=0.25)
    fig.suptitle(title)
    return fig

