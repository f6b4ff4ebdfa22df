"""The full-size validation records shipped as package data (read by the Fig. 3 notebook)."""

from __future__ import annotations

import numpy as np
import pytest

from mrdmft.solvers.finite_size import extrapolate_to_infinite_size
from mrdmft.solvers.validation import predicted_A
from mrdmft.stored_validation import load_stored_validation, stored_validation_names, stored_validation_settings
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import load_model

NAMES = stored_validation_names()


def test_the_disordered_fig3_examples_are_stored() -> None:
    assert {"fig3-2-disorder", "fig3-3-disorder"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_record_matches_todays_theory_and_settings(name: str) -> None:
    """The stored predictions are those mrdmft derives now (a record cannot silently go stale)."""
    table = load_stored_validation(name)
    predicted = np.array([table.row(r, table.sizes[0]).predicted_A for r in table.regions])
    np.testing.assert_allclose(predicted, predicted_A(load_model(name)), rtol=1e-6, atol=1e-9)
    settings = stored_validation_settings(name)
    assert settings["exact_overlaps"] == "True" and float(settings["t_max"]) == 400.0
    assert float(settings["t_settle"]) == 200.0 and "mrdmft validate" in settings["command"]
    assert len(table.sizes) >= 3 and all(table.row(r, n).seeds >= 5 for r in table.regions for n in table.sizes)


@pytest.mark.parametrize("name", NAMES)
def test_regions_with_currents_pass_at_every_size_and_all_extrapolate(name: str) -> None:
    """Regions 2-5 (static currents, theory A ~ 2.3-2.8) are within 3 SE at every size;
    every region's fitted A_inf (A = A_inf + c/N) is within 3 SE of the theory."""
    table = load_stored_validation(name)
    for region in table.regions[1:]:
        for n in table.sizes:
            assert abs(table.row(region, n).z_score) <= 3.0, (region, n)
    fit = extrapolate_to_infinite_size(table)
    assert fit.passes()


def test_pure_chaos_region_approaches_zero_like_one_over_n() -> None:
    """fig3-3-disorder region 1 (theory A = 0): the measured A falls with N and extrapolates to 0."""
    table = load_stored_validation("fig3-3-disorder")
    means = [table.row("1", n).mean_A for n in table.sizes]
    assert all(a > b for a, b in zip(means, means[1:]))
    fit = extrapolate_to_infinite_size(table)
    first = list(table.regions).index("1")
    assert abs(fit.A_infinity[first]) < 3 * fit.stderr_A_infinity[first]


def test_unknown_record_is_a_clear_error() -> None:
    with pytest.raises(ModelInputError, match="no stored validation record"):
        load_stored_validation("fig3-9")
