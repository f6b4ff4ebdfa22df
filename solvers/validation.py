"""Statistical comparison of finite-N simulations with the mean-field theory (THEORY §1, §4-5).

A sampled network differs from the infinite-N theory by O(1/sqrt(N)) (realized overlaps,
non-Gaussian empirical averages), so the comparison is statistical: for each network
size ``N`` we simulate ``K`` independently sampled networks (seeds ``0 .. K-1``), measure
per region

.. math::

    A^\\alpha_k = \\sum_{f, f' \\to \\alpha} U_{f f'} \\bar S_f \\bar S_{f'}
    \\qquad (\\bar S = \\text{time average of the currents over } t \\ge t_\\text{settle}),

and report the sample mean ``mean_A = (1/K) sum_k A_k``, its standard error
``stderr_A = s / sqrt(K)`` (``s`` the sample standard deviation, ``ddof = 1``) and the
score ``z = (mean_A - predicted_A) / stderr_A``. The theory passes at size ``N`` when
``|z| <= z_max`` (3 by default) in every region; the scatter must shrink with ``N``.

The stationary autocorrelation of the neurons is estimated from recorded traces as

.. math::

    \\hat\\Delta^\\alpha(\\tau_l) = \\frac{1}{k} \\sum_{i=1}^{k} \\frac{1}{M - l}
        \\sum_{m=0}^{M-l-1} x_i^\\alpha(t_m)\\, x_i^\\alpha(t_{m+l}),
    \\qquad \\tau_l = l h,

over the ``M`` recorded times ``t_m = t_0 + m h >= t_settle`` (nothing is subtracted: the
estimate contains the static part, like the theory's ``Delta(tau) -> Delta_inf``), and
compared with a theory curve across seeds by the same mean / standard-error / z statistics,
lag by lag.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.spec import ModelSpec, require_spec

from .simulate import SimulationResult, simulate_network

__all__ = [
    "ValidationRow",
    "ValidationTable",
    "AutocorrelationComparison",
    "Resolution",
    "detectable_relative_error",
    "mean_and_stderr",
    "z_score",
    "predicted_A",
    "validate_A",
    "validation_table",
    "table_from_measurements",
    "simulated_autocorrelation",
    "compare_autocorrelation",
]

A_AGREEMENT_RTOL = 1e-6
"""Relative tolerance within which all stable fixed points must share ``A`` (g = 0 prediction)."""

CONCLUSIVE_RESOLUTION = 0.5
"""Largest detectable relative error ``3 SE / A_predicted`` at which a pass still says something.

A comparison with standard error SE can only detect deviations larger than about 3 SE; when
that exceeds half the predicted ``A`` (tiny networks, few seeds) a "pass" is inconclusive.
"""

MAX_SEEDS = 1000
"""Most networks per size (every one is a full simulation; 1000 already gives SE / s = 3 %)."""

RESERVED_SIMULATE_KEYWORDS = ("n", "seed", "t_max", "dt", "spec")
"""Arguments of :func:`simulate_network` that :func:`validate_A` sets itself."""


# ---------------------------------------------------------------------- statistics
def mean_and_stderr(samples: Sequence[float] | np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sample mean and standard error of the mean along ``axis``.

    ``mean = (1/K) sum_k x_k`` and ``stderr = s / sqrt(K)`` with
    ``s^2 = sum_k (x_k - mean)^2 / (K - 1)``; the standard error is NaN for ``K < 2``.

    Parameters
    ----------
    samples : array_like
        Samples along ``axis`` (e.g. one per seed).
    axis : int
        The sample axis.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Mean and standard error (the sample axis removed; 0-d arrays for 1-d input).
    """
    x = np.asarray(samples, dtype=float)
    K = x.shape[axis] if x.ndim else 0
    if K == 0:
        shape = np.delete(np.array(x.shape), axis) if x.ndim else ()
        nan = np.full(tuple(shape), np.nan)
        return nan, nan.copy()
    mean = x.mean(axis=axis)
    if K < 2:
        return mean, np.full(np.shape(mean), np.nan)
    return mean, x.std(axis=axis, ddof=1) / math.sqrt(K)


def z_score(mean: np.ndarray | float, stderr: np.ndarray | float, predicted: np.ndarray | float) -> np.ndarray:
    """``z = (mean - predicted) / stderr`` (elementwise).

    A zero standard error gives ``z = 0`` when ``mean == predicted`` and ``±inf`` otherwise
    (no scatter: any deviation is significant); NaN inputs give NaN.
    """
    mean, stderr, predicted = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (mean, stderr, predicted)))
    diff = mean - predicted
    zero = stderr == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(zero, np.copysign(np.inf, diff), diff / stderr)
    return np.where(zero & (diff == 0), 0.0, z)


def detectable_relative_error(stderr: np.ndarray | float, predicted: np.ndarray | float, z_max: float = 3.0) -> np.ndarray:
    """``z_max * stderr / scale``: the smallest relative deviation a ``|z| <= z_max`` test detects.

    The scale is the row's predicted ``A``; rows predicted at ``A = 0`` (no relative error of
    their own) are measured against the largest positive prediction among all rows, the size
    of ``A`` the test must be able to tell from zero. NaN where no prediction is positive or
    the standard error is not finite.
    """
    stderr, predicted = np.broadcast_arrays(np.asarray(stderr, dtype=float), np.asarray(predicted, dtype=float))
    positive = predicted[np.isfinite(predicted) & (predicted > 0)]
    reference = float(positive.max()) if positive.size else math.nan
    scale = np.where(predicted > 0, predicted, reference)
    with np.errstate(divide="ignore", invalid="ignore"):
        return z_max * stderr / scale


@dataclass(frozen=True)
class Resolution:
    """The coarsest comparison of a validation: largest ``3 SE / A_predicted`` and where it occurs.

    Attributes
    ----------
    relative_error : float
        Largest detectable relative error over the compared rows (NaN if none has ``A > 0``).
    region : str
        Region of that row.
    where : str
        Size of that row, e.g. ``"N = 2000"`` or ``"N -> infinity"``.
    absolute_error : float
        Largest ``3 SE`` over all rows, in units of ``A`` (the resolution when every
        prediction is ``A = 0`` and no relative error exists).
    """

    relative_error: float
    region: str
    where: str
    absolute_error: float = math.nan

    @classmethod
    def worst(
        cls, values: Sequence[float], regions: Sequence[str], places: Sequence[str], stderr: Sequence[float] = ()
    ) -> "Resolution":
        """The entry with the largest finite value (NaN if there is none); ``3 max(stderr)`` as absolute error."""
        values = np.asarray(values, dtype=float)
        finite_se = np.asarray(stderr, dtype=float)
        finite_se = finite_se[np.isfinite(finite_se)]
        absolute = 3.0 * float(finite_se.max()) if finite_se.size else math.nan
        if not np.isfinite(values).any():
            return cls(math.nan, "", "", absolute)
        k = int(np.nanargmax(np.where(np.isfinite(values), values, np.nan)))
        return cls(float(values[k]), regions[k], places[k], absolute)

    @property
    def conclusive(self) -> bool:
        """True if every compared row resolves deviations of ``CONCLUSIVE_RESOLUTION`` of ``A``."""
        return math.isfinite(self.relative_error) and self.relative_error <= CONCLUSIVE_RESOLUTION

    def verdict(self, passed: bool) -> str:
        """``"True"``/``"False"``, with a warning when a pass is inconclusive."""
        if not passed or self.conclusive:
            return str(passed)
        if not math.isfinite(self.relative_error):
            return (
                "True, but inconclusive on its own: every prediction is A = 0 and these runs resolve A only down to "
                f"3 SE = {self.absolute_error:.3g} (compare with the smallest A that must be excluded)"
            )
        return (
            f"True, but inconclusive: 3 SE is {100 * self.relative_error:.0f} % of the predicted A "
            f"(region {self.region}, {self.where}), so smaller errors cannot be detected "
            "(use larger sizes or more seeds)"
        )

    def to_json(self) -> dict[str, object]:
        """``{"detectable_relative_error", "detectable_absolute_error", "region", "where", "conclusive"}``."""
        return {
            "detectable_relative_error": _finite_or_none(self.relative_error),
            "detectable_absolute_error": _finite_or_none(self.absolute_error),
            "region": self.region or None,
            "where": self.where or None,
            "conclusive": self.conclusive,
        }


# ---------------------------------------------------------------------- results
@dataclass(frozen=True)
class ValidationRow:
    """Measured vs predicted ``A`` of one region at one network size.

    Attributes
    ----------
    region : str
        Region name.
    n : int
        Nominal network size (region alpha has ``round(n * sizes[alpha])`` neurons).
    seeds : int
        Number of networks that finished (their ``A`` values are in ``samples``).
    predicted_A : float
        Mean-field ``A^alpha``.
    mean_A, stderr_A : float
        Mean of the measured ``A^alpha`` over the seeds and its standard error.
    z_score : float
        ``(mean_A - predicted_A) / stderr_A``.
    samples : tuple of float
        Measured ``A^alpha`` of every finished network, in seed order.
    failed : int
        Networks whose state became non-finite (left out of the statistics).
    """

    region: str
    n: int
    seeds: int
    predicted_A: float
    mean_A: float
    stderr_A: float
    z_score: float
    samples: tuple[float, ...] = ()
    failed: int = 0

    @property
    def root_samples(self) -> np.ndarray:
        """``sqrt(A)`` of every finished network (negative rounding clipped to 0)."""
        return np.sqrt(np.clip(np.asarray(self.samples, dtype=float), 0.0, None))

    @property
    def predicted_root_A(self) -> float:
        """``sqrt(predicted_A)``."""
        return math.sqrt(max(self.predicted_A, 0.0))

    @property
    def mean_root_A(self) -> float:
        """Mean of ``sqrt(A)`` over the seeds."""
        return float(mean_and_stderr(self.root_samples)[0])

    @property
    def stderr_root_A(self) -> float:
        """Standard error of the mean of ``sqrt(A)`` over the seeds."""
        return float(mean_and_stderr(self.root_samples)[1])

    def to_json(self) -> dict[str, object]:
        """Plain-JSON dict of the row (non-finite numbers become ``None``)."""
        return {
            "region": self.region,
            "N": int(self.n),
            "seeds": int(self.seeds),
            "failed": int(self.failed),
            "predicted_A": _finite_or_none(self.predicted_A),
            "mean_A": _finite_or_none(self.mean_A),
            "stderr_A": _finite_or_none(self.stderr_A),
            "z_score": _finite_or_none(self.z_score),
            "predicted_sqrt_A": _finite_or_none(self.predicted_root_A),
            "mean_sqrt_A": _finite_or_none(self.mean_root_A),
            "stderr_sqrt_A": _finite_or_none(self.stderr_root_A),
            "samples_A": [float(v) for v in self.samples],
        }


@dataclass(frozen=True)
class ValidationTable:
    """Rows of :class:`ValidationRow`, sizes in increasing order, regions in model order.

    Attributes
    ----------
    model : str
        Model name.
    rows : tuple of ValidationRow
        One row per (size, region).
    t_settle : float or None
        Start of the time averages.
    settings : tuple of (str, str)
        Simulation settings (``t_max``, ``dt``, keyword arguments) for the record.
    """

    model: str
    rows: tuple[ValidationRow, ...]
    t_settle: float | None = None
    settings: tuple[tuple[str, str], ...] = ()

    @property
    def sizes(self) -> tuple[int, ...]:
        """Network sizes, increasing."""
        return tuple(sorted({row.n for row in self.rows}))

    @property
    def regions(self) -> tuple[str, ...]:
        """Region names in row order."""
        return tuple(dict.fromkeys(row.region for row in self.rows))

    def row(self, region: str, n: int) -> ValidationRow:
        """The row of ``region`` at size ``n``."""
        for row in self.rows:
            if row.region == region and row.n == n:
                return row
        raise ModelInputError("region", f"no row for region {region!r} at N = {n}", f"use one of {self.regions} and {self.sizes}")

    def passes(self, z_max: float = 3.0) -> bool:
        """True if every row has a finite ``|z| <= z_max`` and no network failed."""
        return all(math.isfinite(row.z_score) and abs(row.z_score) <= z_max and row.failed == 0 for row in self.rows)

    def resolution(self) -> Resolution:
        """The row with the largest detectable relative error ``3 SE / A_predicted``."""
        rows = self.rows
        values = detectable_relative_error([row.stderr_A for row in rows], [row.predicted_A for row in rows])
        return Resolution.worst(
            values, [row.region for row in rows], [f"N = {row.n}" for row in rows], [row.stderr_A for row in rows]
        )

    def scatter_shrinks(self) -> bool:
        """True if, in every region, ``stderr_A`` at the largest size is below that at the smallest.

        Regions whose standard error is 0 at both sizes (e.g. ``A = 0`` exactly) count as shrinking.
        """
        if len(self.sizes) < 2:
            return False
        small, large = self.sizes[0], self.sizes[-1]
        for region in self.regions:
            a, b = self.row(region, small).stderr_A, self.row(region, large).stderr_A
            if not (b < a or (a == 0 and b == 0)):
                return False
        return True

    def to_text(self) -> str:
        """Aligned table: region, N, seeds, predicted, mean ± SE, z (for ``A`` and ``sqrt(A)``)."""
        headers = ["region", "N", "seeds", "A predicted", "A mean ± SE", "z", "√A predicted", "√A mean ± SE"]
        body = []
        for row in self.rows:
            seeds = f"{row.seeds}" + (f" ({row.failed} failed)" if row.failed else "")
            body.append(
                [
                    row.region,
                    str(row.n),
                    seeds,
                    f"{row.predicted_A:.4f}",
                    f"{row.mean_A:.4f} ± {row.stderr_A:.4f}",
                    f"{row.z_score:+.2f}",
                    f"{row.predicted_root_A:.4f}",
                    f"{row.mean_root_A:.4f} ± {row.stderr_root_A:.4f}",
                ]
            )
        widths = [max(len(h), *(len(r[k]) for r in body)) if body else len(h) for k, h in enumerate(headers)]
        lines = [f"model {self.model}" + (f" (time averages over t >= {self.t_settle:g})" if self.t_settle is not None else "")]
        lines.append("  ".join(h.rjust(w) if k else h.ljust(w) for k, (h, w) in enumerate(zip(headers, widths))))
        lines.append("  ".join("-" * w for w in widths))
        for r in body:
            lines.append("  ".join(c.rjust(w) if k else c.ljust(w) for k, (c, w) in enumerate(zip(r, widths))))
        return "\n".join(lines)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> "ValidationTable":
        """Rebuild a table from :meth:`to_json` output (e.g. the record of ``mrdmft validate --out``).

        Mean, standard error and ``z`` are recomputed from ``samples_A`` (the record's own
        summary numbers are not trusted); rows without samples are refused.

        Raises
        ------
        ModelInputError
            A missing key or a row without samples.
        """
        try:
            rows_data = list(data["rows"])  # type: ignore[call-overload]
            measured: dict[int, list[np.ndarray]] = {}
            regions: list[str] = []
            predicted: dict[str, float] = {}
            failed: dict[int, int] = {}
            by_size: dict[int, dict[str, list[float]]] = {}
            for row in rows_data:
                region, n = str(row["region"]), int(row["N"])
                if region not in predicted:
                    regions.append(region)
                    predicted[region] = float(row["predicted_A"])
                by_size.setdefault(n, {})[region] = [float(v) for v in row["samples_A"]]
                failed[n] = int(row.get("failed", 0))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelInputError("record", f"is not a validation table ({exc})", "give the JSON written by ValidationTable.to_json") from None
        for n, samples in by_size.items():
            counts = {len(samples.get(r, [])) for r in regions}
            if len(counts) != 1 or 0 in counts:
                raise ModelInputError("record", f"rows at N = {n} have no samples or unequal numbers of samples",
                                      "give the JSON written by ValidationTable.to_json")
            k = counts.pop()
            measured[n] = [np.array([samples[r][i] for r in regions]) for i in range(k)] + [None] * failed[n]
        settings = data.get("settings") or {}
        t_settle = data.get("t_settle")
        return table_from_measurements(
            str(data.get("model", "")), regions, measured, np.array([predicted[r] for r in regions]),
            None if t_settle is None else float(t_settle), settings,  # type: ignore[arg-type]
        )

    def to_json(self) -> dict[str, object]:
        """``{"model", "t_settle", "settings", "passes", "rows": [...]}`` (see :meth:`ValidationRow.to_json`)."""
        return {
            "model": self.model,
            "t_settle": self.t_settle,
            "settings": {key: _plain_setting(value) for key, value in self.settings},
            "passes": self.passes(),
            "resolution": self.resolution().to_json(),
            "rows": [row.to_json() for row in self.rows],
        }


def _plain_setting(text: str) -> bool | int | float | str:
    """A stored setting as plain JSON: ``"True"`` -> true, ``"400.0"`` -> 400.0, others unchanged."""
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        return value if math.isfinite(value) else text
    return text


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# ---------------------------------------------------------------------- prediction
class NoPredictionError(ModelInputError):
    """The theory gives no single stationary ``A`` for a valid model (limit cycles,
    multistability, outside the paper's regime). The CLI reports it as a solver result
    (exit status 1), not as bad input."""


def predicted_A(spec: ModelSpec) -> np.ndarray:
    """Mean-field structured variance ``A^alpha`` per region, shape (R,).

    * ``g = 0`` in every region: ``A^alpha = sum U S* S*`` of the stable fixed points of
      the current equations (:func:`~mrdmft.solvers.fixed_points.find_fixed_points`); all
      stable (and marginal) fixed points must share it (true in the paper's symmetric
      regime, THEORY §5), otherwise the prediction is ambiguous and an error is raised.
    * otherwise: the per-region stationary solution
      (:func:`~mrdmft.solvers.stationary.stationary_regions`, loop strengths ``1/psi`` from
      the g = 0 fixed point, THEORY §4-5), which must pass its check of being a stationary
      state of the whole model (it fails outside the paper's regime).

    Raises
    ------
    NoPredictionError
        No stable fixed point, stable fixed points with different ``A``, or a failed
        stationary solve (field ``spec``): a result of the theory, not bad input.
    ModelInputError
        ``spec`` is not a ModelSpec.
    """
    spec = require_spec(spec)
    g = np.asarray(spec.g, dtype=float)
    if np.all(g == 0):
        from .fixed_points import find_fixed_points

        stable = find_fixed_points(spec).stable_points
        if not stable:
            raise NoPredictionError(
                "spec", f"model {spec.name!r} has no stable fixed point at g = 0, so A has no stationary prediction",
                "validate a model with a stable fixed point, or compare the currents over time with `mrdmft dmft` (solve_dmft in Python)",
            )
        values = np.array([np.asarray(p.variance, dtype=float) for p in stable])
        if not np.allclose(values, values[0], rtol=A_AGREEMENT_RTOL, atol=A_AGREEMENT_RTOL):
            raise NoPredictionError(
                "spec", f"the stable fixed points of {spec.name!r} have different A, so there is no single prediction",
                "compare each run with its own fixed point (mrdmft.report.compare_simulation)",
            )
        return values[0].copy()
    from .stationary import stationary_regions

    report = stationary_regions(spec)
    if not report.success:
        raise NoPredictionError(
            "spec", f"no stationary prediction of A for {spec.name!r}: {report.message}",
            "validate a model in the paper's regime, or compare the currents over time with `mrdmft dmft` (solve_dmft in Python)",
        )
    return report.A.copy()


# ---------------------------------------------------------------------- tables
def table_from_measurements(
    model: str,
    regions: Sequence[str],
    measured: Mapping[int, Sequence[np.ndarray | None]],
    predicted: np.ndarray,
    t_settle: float | None = None,
    settings: Mapping[str, object] | None = None,
) -> ValidationTable:
    """Build the table from measured ``A`` per size and seed.

    Parameters
    ----------
    model : str
        Model name.
    regions : sequence of str
        Region names (R).
    measured : mapping int -> sequence of (R,) arrays or None
        For every size, the measured ``A`` of every seed; ``None`` marks a failed run.
    predicted : array_like, shape (R,)
        Mean-field ``A``.
    t_settle : float, optional
        Recorded in the table.
    settings : mapping, optional
        Recorded in the table (values stored as strings).

    Returns
    -------
    ValidationTable
    """
    predicted = np.asarray(predicted, dtype=float)
    R = len(regions)
    if predicted.shape != (R,):
        raise ModelInputError("predicted", f"has shape {predicted.shape}", f"give {R} values, one per region")
    rows = []
    for n in sorted(measured):
        runs = list(measured[n])
        good = [np.asarray(a, dtype=float) for a in runs if a is not None]
        samples = np.array(good).reshape(len(good), R)
        mean, stderr = mean_and_stderr(samples)
        mean, stderr = np.broadcast_to(mean, (R,)), np.broadcast_to(stderr, (R,))
        z = z_score(mean, stderr, predicted)
        for r, name in enumerate(regions):
            rows.append(
                ValidationRow(
                    region=str(name),
                    n=int(n),
                    seeds=len(good),
                    predicted_A=float(predicted[r]),
                    mean_A=float(mean[r]),
                    stderr_A=float(stderr[r]),
                    z_score=float(z[r]),
                    samples=tuple(float(v) for v in samples[:, r]),
                    failed=len(runs) - len(good),
                )
            )
    return ValidationTable(
        model=model,
        rows=tuple(rows),
        t_settle=None if t_settle is None else float(t_settle),
        settings=tuple((str(k), str(v)) for k, v in (settings or {}).items()),
    )


def validation_table(
    spec: ModelSpec,
    runs: Mapping[int, Sequence[SimulationResult]],
    t_settle: float,
    predicted: np.ndarray | None = None,
) -> ValidationTable:
    """Table of measured vs predicted ``A`` from already simulated networks.

    Parameters
    ----------
    spec : ModelSpec
        The simulated model.
    runs : mapping int -> sequence of SimulationResult
        Simulations per network size (one per seed).
    t_settle : float
        Start of the time averages (``result.measured_A(t_settle)``).
    predicted : array_like (R,), optional
        Mean-field ``A``; default :func:`predicted_A`.

    Returns
    -------
    ValidationTable
        Runs with ``success = False`` are counted in ``failed``.
    """
    predicted = predicted_A(spec) if predicted is None else np.asarray(predicted, dtype=float)
    measured = {n: [r.measured_A(t_settle) if r.success else None for r in results] for n, results in runs.items()}
    return table_from_measurements(spec.name, spec.regions, measured, predicted, t_settle)


def _check_sizes(sizes: object) -> list[int]:
    fix = "give one or more distinct network sizes, e.g. [2000, 6000]"
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) == 0:
        raise ModelInputError("sizes", f"got {sizes!r}", fix)
    out = []
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, Integral) or int(n) < 1:
            raise ModelInputError("sizes", f"{n!r} is not a positive integer", fix)
        out.append(int(n))
    if len(set(out)) != len(out):
        raise ModelInputError("sizes", f"{out} repeats a size", fix)
    return sorted(out)


def _check_times(t_max: object, t_settle: object) -> tuple[float, float]:
    for field, value in (("t_max", t_max), ("t_settle", t_settle)):
        if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value < 0:
            raise ModelInputError(field, f"got {value!r}", "give a finite time >= 0")
    if not 0 <= t_settle < t_max:
        raise ModelInputError("t_settle", f"{t_settle} is not below t_max = {t_max}", "average over part of the run: 0 <= t_settle < t_max")
    return float(t_max), float(t_settle)


def validate_A(
    spec: ModelSpec,
    sizes: Sequence[int],
    seeds: int,
    t_max: float,
    t_settle: float,
    dt: float = 0.05,
    progress: bool = False,
    predicted: np.ndarray | None = None,
    **simulate_kwargs: object,
) -> ValidationTable:
    """Simulate ``seeds`` networks at every size and compare their ``A`` with the theory.

    For each ``n`` in ``sizes`` and ``seed = 0 .. seeds - 1``, runs
    ``simulate_network(spec, n, t_max, dt=dt, seed=seed, **simulate_kwargs)``, measures
    ``A = result.measured_A(t_settle)`` and tabulates mean, standard error and
    ``z = (mean - predicted) / stderr`` against :func:`predicted_A` (module docstring).
    A run whose state becomes non-finite is counted as failed, not raised.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    sizes : sequence of int
        Nominal network sizes (two or more to see the scatter shrink).
    seeds : int
        Networks per size (>= 2, so that a standard error exists).
    t_max, t_settle : float
        Simulated time and start of the time averages (``0 <= t_settle < t_max``).
    dt : float
        Time step.
    progress : bool
        Print one line per finished network to stderr.
    predicted : numpy.ndarray, shape (R,), optional
        The mean-field ``A`` if the caller already has it (default: :func:`predicted_A`,
        which solves for fixed points or the stationary state).
    **simulate_kwargs
        Passed on to :func:`~mrdmft.solvers.simulate.simulate_network` (``dtype``,
        ``exact_overlaps``, ``nn_covariance``, ``method``, ...).

    Returns
    -------
    ValidationTable

    Raises
    ------
    ModelInputError
        Bad sizes, seeds, times, or simulation arguments; no prediction for the model.
    """
    spec = require_spec(spec)
    sizes_list = _check_sizes(sizes)
    if isinstance(seeds, bool) or not isinstance(seeds, Integral) or not 2 <= seeds <= MAX_SEEDS:
        raise ModelInputError(
            "seeds", f"got {seeds!r}", f"give an integer from 2 to {MAX_SEEDS}; a standard error needs two networks"
        )
    t_max, t_settle = _check_times(t_max, t_settle)
    clash = sorted(set(simulate_kwargs) & set(RESERVED_SIMULATE_KEYWORDS))
    if clash:
        raise ModelInputError(clash[0], "is set by validate_A", "pass it as validate_A's own argument (sizes, seeds, t_max, dt)")
    if predicted is None:
        predicted = predicted_A(spec)
    else:
        predicted = np.asarray(predicted, dtype=float)
        if predicted.shape != (spec.n_regions,) or not np.all(np.isfinite(predicted)):
            raise ModelInputError("predicted", f"has shape {predicted.shape} or non-finite values",
                                  f"give {spec.n_regions} finite values, one per region, or omit it")
    measured: dict[int, list[np.ndarray | None]] = {}
    started = time.perf_counter()
    for n in sizes_list:
        measured[n] = []
        for seed in range(int(seeds)):
            result = simulate_network(spec, n, t_max, dt=dt, seed=seed, **simulate_kwargs)
            measured[n].append(result.measured_A(t_settle) if result.success else None)
            if progress:
                state = "ok" if result.success else f"FAILED ({result.message})"
                print(
                    f"validate {spec.name}: N = {n}, seed {seed + 1}/{seeds} {state} "
                    f"({time.perf_counter() - started:.0f} s)",
                    file=sys.stderr,
                    flush=True,
                )
    settings = {"t_max": t_max, "dt": dt, **{k: _describe(v) for k, v in simulate_kwargs.items()}}
    return table_from_measurements(spec.name, spec.regions, measured, predicted, t_settle, settings)


def _describe(value: object) -> str:
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    return repr(value)


# ---------------------------------------------------------------------- autocorrelation
def _uniform_window(t: np.ndarray, t_settle: float) -> tuple[np.ndarray, float]:
    """Indices of the recorded times ``>= t_settle`` on a uniform grid, and its spacing ``h``.

    The simulator records every ``record_every`` steps plus the last step; a last sample
    off that grid is dropped.
    """
    index = np.flatnonzero(t >= t_settle)
    if index.size < 2:
        raise ModelInputError("t_settle", f"fewer than two recorded times >= {t_settle}", "use t_settle well below the final time")
    gaps = np.diff(t[index])
    h = float(gaps[0])
    if gaps.size > 1 and not math.isclose(gaps[-1], h, rel_tol=1e-9, abs_tol=1e-12):
        index, gaps = index[:-1], gaps[:-1]
    if h <= 0 or not np.allclose(gaps, h, rtol=1e-9, atol=1e-12):
        raise ModelInputError("result", "the recorded times are not uniformly spaced", "record with a fixed record_every")
    return index, h


def simulated_autocorrelation(
    result: SimulationResult, t_settle: float, max_lag: float
) -> tuple[np.ndarray, np.ndarray]:
    """Time-averaged autocovariance ``Delta^alpha(tau)`` of the recorded neurons (module docstring).

    Parameters
    ----------
    result : SimulationResult
        A run made with ``record_neurons = k > 0``.
    t_settle : float
        Only recorded times ``>= t_settle`` are used.
    max_lag : float
        Largest lag; lags are multiples of the recording interval ``h = record_every * dt``.

    Returns
    -------
    tau : numpy.ndarray, shape (L,)
        ``tau_l = l h``, ``l = 0 .. floor(max_lag / h)``.
    delta : numpy.ndarray, shape (R, L)
        ``Delta^alpha(tau_l)``, averaged over the ``k`` recorded neurons of each region; nothing
        is subtracted (the static part ``A`` is included).

    Raises
    ------
    ModelInputError
        No traces recorded, a failed run, ``max_lag`` not below the averaging window.
    """
    if not isinstance(result, SimulationResult):
        raise ModelInputError("result", f"expected a SimulationResult, got {type(result).__name__}", "pass the output of simulate_network")
    if result.neuron_traces is None or result.neuron_traces.shape[-1] == 0:
        raise ModelInputError("record_neurons", "the run recorded no neuron traces", "simulate with record_neurons > 0 (e.g. 200)")
    if not result.success:
        raise ModelInputError("result", f"the run failed ({result.message})", "use a finished run")
    if isinstance(max_lag, bool) or not isinstance(max_lag, Real) or not math.isfinite(max_lag) or max_lag < 0:
        raise ModelInputError("max_lag", f"got {max_lag!r}", "give a lag >= 0")
    index, h = _uniform_window(np.asarray(result.t, dtype=float), t_settle)
    M = index.size
    L = int(math.floor(max_lag / h + 1e-9)) + 1
    if L > M - 1:
        raise ModelInputError(
            "max_lag", f"{max_lag} reaches the end of the averaging window ({(M - 1) * h:g} long)",
            "use a smaller max_lag or a longer run",
        )
    X = np.moveaxis(np.asarray(result.neuron_traces, dtype=float)[index], 0, -1)  # (R, k, M)
    n_fft = 1 << int(math.ceil(math.log2(2 * M)))
    spectrum = np.fft.rfft(X, n=n_fft, axis=-1)
    lagged = np.fft.irfft(spectrum * np.conj(spectrum), n=n_fft, axis=-1)[..., :L]  # sum_m x(t_m) x(t_m + tau_l)
    delta = lagged.mean(axis=1) / (M - np.arange(L))
    return h * np.arange(L), delta


@dataclass(frozen=True, eq=False)
class AutocorrelationComparison:
    """Simulated ``Delta^alpha(tau)`` (mean ± SE over seeds) against a theory curve.

    Attributes
    ----------
    model : str
        Model name.
    regions : tuple of str
        Region names.
    n : int
        Nominal network size.
    seeds : int
        Number of networks.
    tau : numpy.ndarray, shape (L,)
        Lags.
    predicted : numpy.ndarray, shape (R, L)
        Theory ``Delta^alpha(tau)`` at the lags.
    mean, stderr : numpy.ndarray, shape (R, L)
        Mean over seeds of the simulated curves and its standard error.
    samples : numpy.ndarray, shape (K, R, L)
        The simulated curve of every seed.
    """

    model: str
    regions: tuple[str, ...]
    n: int
    seeds: int
    tau: np.ndarray
    predicted: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    samples: np.ndarray

    @property
    def z(self) -> np.ndarray:
        """``(mean - predicted) / stderr`` lag by lag, shape (R, L)."""
        return z_score(self.mean, self.stderr, self.predicted)

    def max_abs_z(self) -> np.ndarray:
        """Largest ``|z|`` over the lags, per region (R,)."""
        return np.max(np.abs(self.z), axis=-1)

    def max_deviation(self) -> np.ndarray:
        """Largest ``|mean - predicted|`` over the lags, per region (R,)."""
        return np.max(np.abs(self.mean - self.predicted), axis=-1)

    def passes(self, z_max: float = 3.0) -> bool:
        """True if ``|z| <= z_max`` at every lag in every region."""
        z = self.max_abs_z()
        return bool(np.all(np.isfinite(z)) and np.all(z <= z_max))

    def to_text(self) -> str:
        """One line per region: max |deviation|, max |z| and the curve at a few lags."""
        lines = [f"model {self.model}, N = {self.n}, {self.seeds} seeds: Delta(tau) simulated (mean ± SE) vs theory"]
        picks = sorted({0, len(self.tau) // 4, len(self.tau) // 2, len(self.tau) - 1})
        for r, name in enumerate(self.regions):
            lines.append(
                f"  region {name}: max |dev| = {self.max_deviation()[r]:.4f}, max |z| = {self.max_abs_z()[r]:.2f}"
            )
            for l in picks:
                lines.append(
                    f"    tau = {self.tau[l]:6.2f}: theory {self.predicted[r, l]:.4f}, "
                    f"simulated {self.mean[r, l]:.4f} ± {self.stderr[r, l]:.4f} (z = {self.z[r, l]:+.2f})"
                )
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        """Summary and curves as plain JSON."""
        return {
            "model": self.model,
            "N": int(self.n),
            "seeds": int(self.seeds),
            "tau": self.tau.tolist(),
            "regions": {
                name: {
                    "predicted": self.predicted[r].tolist(),
                    "mean": self.mean[r].tolist(),
                    "stderr": self.stderr[r].tolist(),
                    "max_abs_z": _finite_or_none(float(self.max_abs_z()[r])),
                    "max_deviation": float(self.max_deviation()[r]),
                }
                for r, name in enumerate(self.regions)
            },
        }


def compare_autocorrelation(
    results: Sequence[SimulationResult],
    tau_theory: np.ndarray,
    delta_theory: np.ndarray,
    t_settle: float,
    max_lag: float,
) -> AutocorrelationComparison:
    """Compare the simulated ``Delta(tau)`` of several networks with a theory curve.

    Each finished run gives :func:`simulated_autocorrelation`; the theory curve is
    linearly interpolated onto the simulated lags, which must lie within ``tau_theory``.

    Parameters
    ----------
    results : sequence of SimulationResult
        Networks of one size and model (failed runs are skipped).
    tau_theory : array_like, shape (L_theory,)
        Increasing lags of the theory curve.
    delta_theory : array_like, shape (R, L_theory)
        Theory ``Delta^alpha(tau)`` (e.g. ``solve_dmft(...).stationary_autocorrelation()``).
    t_settle, max_lag : float
        See :func:`simulated_autocorrelation`.

    Returns
    -------
    AutocorrelationComparison
    """
    finished = [r for r in results if isinstance(r, SimulationResult) and r.success]
    if len(finished) < 2:
        raise ModelInputError("results", f"{len(finished)} finished runs", "give two or more finished simulations")
    if len({(r.model, r.n) for r in finished}) != 1:
        raise ModelInputError("results", "mixes models or network sizes", "compare runs of one model at one size")
    curves = [simulated_autocorrelation(r, t_settle, max_lag) for r in finished]
    tau = curves[0][0]
    if any(c[0].shape != tau.shape for c in curves):
        raise ModelInputError("results", "runs were recorded with different intervals", "use the same dt and record_every")
    samples = np.array([c[1] for c in curves])
    tau_theory = np.asarray(tau_theory, dtype=float)
    delta_theory = np.atleast_2d(np.asarray(delta_theory, dtype=float))
    R = samples.shape[1]
    if delta_theory.shape != (R, tau_theory.size):
        raise ModelInputError("delta_theory", f"has shape {delta_theory.shape}", f"give shape ({R}, {tau_theory.size})")
    if tau_theory.size < 2 or tau[-1] > tau_theory[-1] * (1 + 1e-12) + 1e-12 or tau_theory[0] > 0:
        raise ModelInputError("tau_theory", f"covers [{tau_theory[0]:g}, {tau_theory[-1]:g}]", f"give the theory up to lag {tau[-1]:g}")
    predicted = np.array([np.interp(tau, tau_theory, delta_theory[r]) for r in range(R)])
    mean, stderr = mean_and_stderr(samples)
    return AutocorrelationComparison(
        model=finished[0].model,
        regions=tuple(finished[0].regions),
        n=int(finished[0].n),
        seeds=len(finished),
        tau=tau,
        predicted=predicted,
        mean=mean,
        stderr=stderr,
        samples=samples,
    )
