"""Tests of the N -> infinity extrapolation of validation tables (solvers/finite_size.py).

The fit is checked where the answer is known: exact points on a line, the closed form of
the two-point fit, invariances (hypothesis), and the calibration of its standard error on
synthetic Gaussian data (z-scores of unit variance).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mrdmft.solvers.finite_size import extrapolate_to_infinite_size, weighted_line_fit
from mrdmft.solvers.validation import table_from_measurements
from mrdmft.theory.errors import ModelInputError

size_lists = st.lists(st.integers(100, 100_000), min_size=2, max_size=6, unique=True)


def _table(sizes, means_per_size, spread, predicted):
    """Validation table whose seeds at size n are means_per_size[n] +- spread[n] (two seeds each)."""
    measured = {
        n: [np.asarray(means_per_size[n]) - np.asarray(spread[n]), np.asarray(means_per_size[n]) + np.asarray(spread[n])]
        for n in sizes
    }
    return table_from_measurements("synthetic", ["a", "b"], measured, np.asarray(predicted))


@given(size_lists, st.floats(-5, 5), st.floats(-1e4, 1e4), st.floats(1e-3, 1.0))
@example([99885, 99959], 3.0, 0.0, 1.0)  # close sizes: the normal equations lost 1e-8 in a (found in CI)
@example([34143, 34354], 1.0, 0.0, 1.0)
@settings(max_examples=60)
def test_exact_line_is_recovered(sizes, intercept, slope, noise):
    x = 1.0 / np.array(sizes, dtype=float)
    sigma = noise * (1 + np.arange(len(sizes)))
    a, c, se, chi2 = weighted_line_fit(x, intercept + slope * x, sigma)
    assert a == pytest.approx(intercept, abs=1e-8 * (1 + abs(slope) * x.max()))
    assert c == pytest.approx(slope, rel=1e-6, abs=1e-6)
    assert chi2 == pytest.approx(0.0, abs=1e-12)
    assert se > 0


def test_two_point_fit_matches_closed_form():
    # p = 1, two sizes: A_inf = (N2 m2 - N1 m1) / (N2 - N1), SE = sqrt(N2^2 s2^2 + N1^2 s1^2) / (N2 - N1)
    n1, n2, m1, m2, s1, s2 = 1000.0, 4000.0, 0.54, 0.21, 0.12, 0.05
    a, c, se, chi2 = weighted_line_fit(np.array([1 / n1, 1 / n2]), np.array([m1, m2]), np.array([s1, s2]))
    assert a == pytest.approx((n2 * m2 - n1 * m1) / (n2 - n1), rel=1e-12)
    assert se == pytest.approx(math.hypot(n2 * s2, n1 * s1) / (n2 - n1), rel=1e-12)
    assert c == pytest.approx((m1 - m2) / (1 / n1 - 1 / n2), rel=1e-12)
    assert chi2 == pytest.approx(0.0, abs=1e-20)


@given(size_lists, st.floats(-3, 3), st.floats(0.1, 10))
@settings(max_examples=40)
def test_shift_and_scale_invariance(sizes, shift, scale):
    rng = np.random.default_rng(len(sizes))
    x = 1.0 / np.array(sizes, dtype=float)
    y = rng.normal(size=len(sizes))
    sigma = rng.uniform(0.1, 1.0, size=len(sizes))
    a, c, se, chi2 = weighted_line_fit(x, y, sigma)
    a2, c2, se2, chi22 = weighted_line_fit(x, scale * y + shift, scale * sigma)
    assert a2 == pytest.approx(scale * a + shift, rel=1e-9, abs=1e-9)
    assert c2 == pytest.approx(scale * c, rel=1e-9, abs=1e-6)
    assert se2 == pytest.approx(scale * se, rel=1e-9)
    assert chi22 == pytest.approx(chi2, rel=1e-9, abs=1e-12)


def test_standard_error_is_calibrated():
    # Synthetic means with Gaussian errors of the stated size: z of the extrapolated value has
    # unit variance (4000 trials: the sample variance of z is within 0.1 of 1), and chi2 / dof ~ 1.
    rng = np.random.default_rng(0)
    x = 1.0 / np.array([1000.0, 2000.0, 4000.0, 8000.0])
    sigma = np.array([0.12, 0.08, 0.05, 0.03])
    truth_a, truth_c = 0.11, 400.0
    z, chi2 = [], []
    for _ in range(4000):
        y = truth_a + truth_c * x + sigma * rng.normal(size=4)
        a, _, se, c2 = weighted_line_fit(x, y, sigma)
        z.append((a - truth_a) / se)
        chi2.append(c2)
    assert abs(np.mean(z)) < 0.05
    assert np.var(z) == pytest.approx(1.0, abs=0.1)
    assert np.mean(chi2) / 2 == pytest.approx(1.0, abs=0.1)


def test_extrapolation_of_a_table():
    # Region a: A_N = 0.2 + 300 / N exactly (seed spread 0.01): A_inf = 0.2, passes against 0.2.
    # Region b: A_N = 2.0 + 0 / N but predicted 1.0: fails by far.
    sizes = [1000, 2000, 4000]
    means = {n: [0.2 + 300.0 / n, 2.0] for n in sizes}
    spread = {n: [0.01, 0.01] for n in sizes}
    fit = extrapolate_to_infinite_size(_table(sizes, means, spread, [0.2, 1.0]))
    assert fit.sizes == (1000, 2000, 4000) and fit.dof == 1
    np.testing.assert_allclose(fit.A_infinity, [0.2, 2.0], atol=1e-12)
    np.testing.assert_allclose(fit.slope, [300.0, 0.0], atol=1e-6)
    assert abs(fit.z_score[0]) < 1e-6 and fit.z_score[1] > 30
    assert not fit.passes()
    data = fit.to_json()
    assert data["passes"] is False and data["regions"]["a"]["A_infinity"] == pytest.approx(0.2)
    text = fit.to_text()
    assert "A_inf" in text and "0.2000" in text
    resolution = fit.resolution()  # region a: 3 SE(A_inf) / 0.2 is the coarser of the two
    assert resolution.region == "a" and resolution.where == "N -> infinity"
    assert resolution.relative_error == pytest.approx(3 * fit.stderr_A_infinity[0] / 0.2)
    assert data["resolution"]["detectable_relative_error"] == pytest.approx(resolution.relative_error)


def test_zero_scatter_region_on_a_line_has_zero_error():
    sizes = [1000, 2000, 4000]
    means = {n: [0.0, 1.0 + 10.0 / n] for n in sizes}
    spread = {n: [0.0, 0.0] for n in sizes}
    fit = extrapolate_to_infinite_size(_table(sizes, means, spread, [0.0, 1.0]))
    np.testing.assert_allclose(fit.A_infinity, [0.0, 1.0], atol=1e-12)
    assert fit.passes()


def test_bad_input_is_refused():
    one_size = _table([1000], {1000: [0.1, 0.2]}, {1000: [0.01, 0.01]}, [0.1, 0.2])
    with pytest.raises(ModelInputError, match="two or more network sizes"):
        extrapolate_to_infinite_size(one_size)
    two = _table([1000, 2000], {1000: [0.1, 0.2], 2000: [0.1, 0.2]}, {1000: [0.01, 0.01], 2000: [0.01, 0.01]}, [0.1, 0.2])
    for bad in (0, -1.0, float("nan"), True, "1"):
        with pytest.raises(ModelInputError, match="exponent"):
            extrapolate_to_infinite_size(two, exponent=bad)
    with pytest.raises(ModelInputError, match="ValidationTable"):
        extrapolate_to_infinite_size({"rows": []})
    single_seed = table_from_measurements("m", ["a"], {1000: [np.array([0.1])], 2000: [np.array([0.1])]}, np.array([0.1]))
    with pytest.raises(ModelInputError, match="finite mean and standard error"):
        extrapolate_to_infinite_size(single_seed)
