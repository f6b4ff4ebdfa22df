"""Extrapolation of finite-network measurements to N -> infinity (THEORY §1).

A sampled network of size ``N`` measures the structured variance ``A^alpha`` with a
systematic finite-size error. Where the currents are large the error is dominated by the
O(1/sqrt N) scatter between networks, which averages out over seeds; its *mean* is
O(1/N). Near a transition (a loop close to criticality) the mean error dominates: each
readout carries a quenched offset ``epsilon = O(1/sqrt N)`` (the neurons' time-averaged
rates are not exactly orthogonal to the readout vectors), the loop amplifies it, and
``A = sum U S S`` is a sum of squares, so ``E[A_N] - A = O(<epsilon^2>) = O(1/N)``. For a
region in pure chaos (``A = 0``) both the mean and the scatter of ``A_N`` are O(1/N),
so ``z = (mean - A) / SE`` does not shrink with ``N``: a test at fixed ``N`` cannot pass
however large the network, while the extrapolation can.

:func:`extrapolate_to_infinite_size` fits, region by region, the seed means
``m_k +- s_k`` measured at sizes ``N_k`` with the model

.. math::

    m_k = A_\\infty + c\\, N_k^{-p}  \\qquad (p = 1 \\text{ by default})

by weighted least squares (weights ``1 / s_k^2``): with ``X = [1, N^{-p}]`` and
``W = diag(1 / s^2)``, ``(A_inf, c) = (X^T W X)^{-1} X^T W m``, the standard error of
``A_inf`` is the square root of ``[(X^T W X)^{-1}]_{00}``, and
``chi^2 = sum_k (m_k - A_inf - c N_k^{-p})^2 / s_k^2`` with ``K - 2`` degrees of freedom
judges the model (``chi^2 / dof`` of order 1). The theory passes when
``|A_inf - A_predicted| <= z_max SE(A_inf)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np

from mrdmft.theory.errors import ModelInputError

from .validation import Resolution, ValidationTable, detectable_relative_error, z_score

__all__ = ["FiniteSizeFit", "extrapolate_to_infinite_size", "weighted_line_fit"]


@dataclass(frozen=True)
class FiniteSizeFit:
    """Per-region extrapolation ``A(N) = A_inf + c N^-p`` of a :class:`ValidationTable`.

    Attributes
    ----------
    model : str
        Model name.
    regions : tuple of str
        Region names.
    sizes : tuple of int
        Network sizes used in the fit (increasing).
    exponent : float
        ``p``.
    predicted_A : numpy.ndarray, shape (R,)
        Mean-field ``A``.
    A_infinity, stderr_A_infinity : numpy.ndarray, shape (R,)
        Extrapolated ``A_inf`` and its standard error.
    slope : numpy.ndarray, shape (R,)
        ``c``: the finite-size coefficient (``A_N - A_inf ~ c / N^p``).
    z_score : numpy.ndarray, shape (R,)
        ``(A_inf - predicted_A) / SE(A_inf)``.
    chi2 : numpy.ndarray, shape (R,)
        Weighted sum of squared residuals of the fit.
    dof : int
        Degrees of freedom ``K - 2`` (0 for two sizes: the line goes through both points).
    """

    model: str
    regions: tuple[str, ...]
    sizes: tuple[int, ...]
    exponent: float
    predicted_A: np.ndarray
    A_infinity: np.ndarray
    stderr_A_infinity: np.ndarray
    slope: np.ndarray
    z_score: np.ndarray
    chi2: np.ndarray
    dof: int

    def passes(self, z_max: float = 3.0) -> bool:
        """True if every region has a finite ``|z| <= z_max``."""
        return bool(np.all(np.isfinite(self.z_score) & (np.abs(self.z_score) <= z_max)))

    def resolution(self) -> Resolution:
        """The region with the largest detectable relative error ``3 SE(A_inf) / A_predicted``."""
        values = detectable_relative_error(self.stderr_A_infinity, self.predicted_A)
        return Resolution.worst(values, self.regions, ["N -> infinity"] * len(self.regions), self.stderr_A_infinity)

    def to_text(self) -> str:
        """Aligned table: region, predicted A, A_inf ± SE, z, c, chi^2 / dof."""
        sizes = ", ".join(str(n) for n in self.sizes)
        lines = [
            f"model {self.model}: A(N) = A_inf + c / N^{self.exponent:g} fitted over N = {sizes} "
            f"(weights 1/SE^2, {self.dof} degrees of freedom)",
        ]
        headers = ["region", "A predicted", "A_inf ± SE", "z", "c", "chi2/dof"]
        body = []
        for r, name in enumerate(self.regions):
            chi = f"{self.chi2[r] / self.dof:.2f}" if self.dof > 0 else "-"
            body.append(
                [
                    name,
                    f"{self.predicted_A[r]:.4f}",
                    f"{self.A_infinity[r]:.4f} ± {self.stderr_A_infinity[r]:.4f}",
                    f"{self.z_score[r]:+.2f}",
                    f"{self.slope[r]:.4g}",
                    chi,
                ]
            )
        widths = [max(len(h), *(len(row[k]) for row in body)) for k, h in enumerate(headers)]
        lines.append("  ".join(h.rjust(w) if k else h.ljust(w) for k, (h, w) in enumerate(zip(headers, widths))))
        lines.append("  ".join("-" * w for w in widths))
        for row in body:
            lines.append("  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(zip(row, widths))))
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        """Plain-JSON dict: ``{"model", "sizes", "exponent", "dof", "passes", "regions": {name: {...}}}``."""

        def number(value: float) -> float | None:
            return float(value) if math.isfinite(value) else None

        return {
            "model": self.model,
            "sizes": list(self.sizes),
            "exponent": self.exponent,
            "dof": self.dof,
            "passes": self.passes(),
            "resolution": self.resolution().to_json(),
            "regions": {
                name: {
                    "predicted_A": number(self.predicted_A[r]),
                    "A_infinity": number(self.A_infinity[r]),
                    "stderr_A_infinity": number(self.stderr_A_infinity[r]),
                    "slope": number(self.slope[r]),
                    "z_score": number(self.z_score[r]),
                    "chi2": number(self.chi2[r]) if self.dof > 0 else None,  # 0 dof: the line fits exactly
                }
                for r, name in enumerate(self.regions)
            },
        }


def weighted_line_fit(x: np.ndarray, y: np.ndarray, sigma: np.ndarray) -> tuple[float, float, float, float]:
    """Weighted least-squares line ``y = a + c x`` (module docstring formulas).

    Points with ``sigma = 0`` get the weight of the smallest positive ``sigma``; if every
    ``sigma`` is 0 the points are weighted equally and the standard error is 0 when they lie
    exactly on the line.

    Parameters
    ----------
    x, y, sigma : numpy.ndarray, shape (K,)
        Abscissae (at least two distinct), ordinates and their standard errors (>= 0).

    Returns
    -------
    (float, float, float, float)
        Intercept ``a``, slope ``c``, standard error of ``a``, and ``chi^2``.
    """
    x, y, sigma = (np.asarray(v, dtype=float) for v in (x, y, sigma))
    positive = sigma[sigma > 0]
    if positive.size:
        s = np.where(sigma > 0, sigma, positive.min())
        w = 1.0 / s**2
    else:
        w = np.ones_like(y)
    # Centred form (same solution as the normal equations, which square the conditioning when
    # the sizes are close): c = sum w dx dy / sum w dx^2, a = ybar - c xbar, var(a) = 1/W + xbar^2/Sxx.
    W = float(np.sum(w))
    x_bar, y_bar = float(np.sum(w * x)) / W, float(np.sum(w * y)) / W
    dx = x - x_bar
    Sxx = float(np.sum(w * dx * dx))
    c = float(np.sum(w * dx * (y - y_bar))) / Sxx
    a = y_bar - c * x_bar
    residual = (y - y_bar) - c * dx
    chi2 = float(np.sum(w * residual**2))
    var_a = 1.0 / W + x_bar * x_bar / Sxx
    if positive.size:
        stderr = math.sqrt(var_a)
    else:  # no scatter: only a departure from the line is uncertain
        stderr = math.sqrt(var_a * chi2 / max(len(y) - 2, 1))
    return float(a), float(c), stderr, chi2


MIN_EXPONENT, MAX_EXPONENT = 0.1, 4.0
"""Range of finite-size exponents ``p`` accepted by :func:`extrapolate_to_infinite_size`
(outside it ``N^-p`` is nearly constant or nearly zero over any range of sizes and the
fit is singular)."""


def check_exponent(exponent: object) -> float:
    """``exponent`` as a float in ``[MIN_EXPONENT, MAX_EXPONENT]``.

    Raises
    ------
    ModelInputError
        (field ``exponent``) if it is not a finite number in that range.
    """
    if isinstance(exponent, bool) or not isinstance(exponent, Real) or not math.isfinite(exponent) or exponent <= 0:
        raise ModelInputError("exponent", f"got {exponent!r}", "give a finite power > 0, e.g. 1 for an O(1/N) bias")
    if not MIN_EXPONENT <= exponent <= MAX_EXPONENT:
        raise ModelInputError(
            "exponent", f"{exponent:g} is outside [{MIN_EXPONENT:g}, {MAX_EXPONENT:g}]: N^-p would not separate from A_inf in the fit",
            f"give {MIN_EXPONENT:g} <= p <= {MAX_EXPONENT:g}: 1 for an O(1/N) bias, 0.5 for O(1/sqrt N)",
        )
    return float(exponent)


def extrapolate_to_infinite_size(table: ValidationTable, exponent: float = 1.0) -> FiniteSizeFit:
    """Fit ``A(N) = A_inf + c N^-exponent`` per region to a validation table (module docstring).

    Parameters
    ----------
    table : ValidationTable
        Measurements at two or more sizes (e.g. from
        :func:`~mrdmft.solvers.validation.validate_A`), each with a standard error.
    exponent : float
        ``p > 0``; 1 for the O(1/N) bias of a sum of squares of O(1/sqrt N) offsets.

    Returns
    -------
    FiniteSizeFit

    Raises
    ------
    ModelInputError
        Fewer than two sizes, a non-finite mean or standard error, or a bad exponent.
    """
    if not isinstance(table, ValidationTable):
        raise ModelInputError("table", f"expected a ValidationTable, got {type(table).__name__}", "pass the result of validate_A()")
    exponent = check_exponent(exponent)
    sizes = table.sizes
    if len(sizes) < 2:
        raise ModelInputError("table", f"has measurements at {len(sizes)} size(s)", "measure at two or more network sizes")
    x = np.asarray(sizes, dtype=float) ** -float(exponent)
    results = []
    predicted = []
    for region in table.regions:
        rows = [table.row(region, n) for n in sizes]
        mean = np.array([row.mean_A for row in rows])
        stderr = np.array([row.stderr_A for row in rows])
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(stderr))):
            raise ModelInputError(
                f"table (region {region})", "has a size without a finite mean and standard error of A",
                "give every size two or more finished networks",
            )
        results.append(weighted_line_fit(x, mean, stderr))
        predicted.append(rows[0].predicted_A)
    a, c, se, chi2 = (np.array(v) for v in zip(*results))
    predicted_arr = np.array(predicted)
    return FiniteSizeFit(
        model=table.model,
        regions=table.regions,
        sizes=sizes,
        exponent=float(exponent),
        predicted_A=predicted_arr,
        A_infinity=a,
        stderr_A_infinity=se,
        slope=c,
        z_score=z_score(a, se, predicted_arr),
        chi2=chi2,
        dof=len(sizes) - 2,
    )
