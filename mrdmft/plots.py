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

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

__all__ = [
    "region_colors",
    "spectrum_figure",
    "plot_spectrum",
    "traces_figure",
    "comparison_figure",
]

MAX_LEGEND_ENTRIES = 12
"""Above this many regions the per-region legends are folded into one column of text."""


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
    handles = [Line2D([], [], color=c, lw=2, label=f"region {r}") for r, c in zip(regions, colors)]
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
            mec="k", mew=0.5, capsize=3, label=f"region {name}" if r < MAX_LEGEND_ENTRIES else None,
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
                             label=f"into region {name}" if r < MAX_LEGEND_ENTRIES else None, zorder=3)
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
