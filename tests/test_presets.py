"""Built-in presets reproduce the paper's cases (tests/data/paper_cases.json)."""

from __future__ import annotations

import numpy as np
import pytest

from mrdmft.theory.modelfile import DEFAULT_MODEL, load_model, preset_descriptions, preset_names

FIG3 = [(f"fig3-{k}", "symmetric_no_disorder", k - 1) for k in (1, 2, 3)] + [
    (f"fig3-{k}-disorder", "symmetric_with_disorder", k - 1) for k in (1, 2, 3)
]
FIG6 = [
    ("fig6-r3", "fig6_fp_to_limit_cycle_without_chaos"),
    ("fig6-r3-chaos", "fig6_fp_to_limit_cycle_with_chaos"),
    ("fig6-r5", "fig6_five_regions"),
]


def test_preset_list_and_descriptions() -> None:
    names = preset_names()
    assert names == sorted(names)
    expected = {name for name, _, _ in FIG3} | {name for name, _ in FIG6} | {"single-loop", "two-regions"}
    assert expected <= set(names)
    assert DEFAULT_MODEL in names
    descriptions = preset_descriptions()
    assert list(descriptions) == names
    for name, text in descriptions.items():
        assert text.strip() and "\n" not in text, name


@pytest.mark.parametrize(("name", "group", "index"), FIG3)
def test_fig3_presets_reproduce_a_and_b(paper_cases, name: str, group: str, index: int) -> None:
    case = paper_cases[group][index]
    a, b, g = (np.array(case[k], dtype=float) for k in ("a", "b", "g"))
    spec = load_model(name)
    R = len(a)
    assert spec.n_regions == R and spec.is_dense
    T3 = spec.dense_T()
    c = np.array([[T3[alpha, beta, alpha] for beta in range(R)] for alpha in range(R)])
    # T^{alpha beta gamma} = delta_{alpha gamma} c_{alpha beta}
    off = T3.copy()
    for alpha in range(R):
        off[alpha, :, alpha] = 0.0
    assert np.all(off == 0.0)
    np.testing.assert_allclose(np.diag(c), a, rtol=1e-14)  # self-loops
    mask = ~np.eye(R, dtype=bool)
    np.testing.assert_allclose((c**2)[mask], np.outer(b, b)[mask], rtol=1e-13)  # c_ab^2 = b^a b^b
    np.testing.assert_allclose(c, c.T, rtol=1e-15)
    np.testing.assert_array_equal(spec.g, g)
    np.testing.assert_array_equal(spec.U, np.kron(np.eye(R), np.eye(R)))  # U^beta = identity


@pytest.mark.parametrize(("name", "key"), FIG6)
def test_fig6_presets_have_the_paper_T_exactly(paper_cases, name: str, key: str) -> None:
    case = paper_cases["random_interaction_examples"][key]
    spec = load_model(name)
    assert list(spec.regions) == case["regions"]
    np.testing.assert_array_equal(spec.dense_T(), np.array(case["T"], dtype=float))
    np.testing.assert_array_equal(spec.g, np.zeros(spec.n_regions))


def test_single_loop_preset() -> None:
    spec = load_model("single-loop")
    assert spec.parameters == {"loop": 2.5, "g": 2.0}
    assert spec.T[0, 0] == 2.5 and spec.g[0] == 2.0 and spec.U[0, 0] == 1.0
    moved = spec.with_parameters(loop=1.5, g=0.5)
    assert moved.T[0, 0] == 1.5 and moved.g[0] == 0.5


def test_two_regions_preset() -> None:
    spec = load_model("two-regions")
    assert spec.parameters == {"a": 1.2, "b": 2.0}
    T3 = spec.dense_T()
    assert T3[0, 0, 0] == pytest.approx(1.2, rel=1e-15) and T3[1, 1, 1] == pytest.approx(1.2, rel=1e-15)
    assert T3[0, 1, 0] == pytest.approx(2.0, rel=1e-15) and T3[1, 0, 1] == pytest.approx(2.0, rel=1e-15)
    assert spec.with_parameters(b=3.0).dense_T()[0, 1, 0] == pytest.approx(3.0, rel=1e-15)
