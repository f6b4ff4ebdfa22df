"""Model checks added after a newcomer's attempts to break mrdmft (one test per case)."""

from __future__ import annotations

import numpy as np
import pytest

from mrdmft.theory.derivation import derive
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import load_model, model_from_table
from mrdmft.theory.spec import MAX_MAGNITUDE, Edge, ModelSpec, symmetric_model

TWO = {"regions": ["A", "B"], "g": [0.0, 0.0]}


def symmetric_table(**symmetric: object) -> dict:
    return {**TWO, "parameters": {"b": 2.0, "s": -1.0}, "symmetric": {"a": [1.2, 1.2], **symmetric}}


def field_of(call) -> str:
    with pytest.raises(ModelInputError) as info:
        call()
    return info.value.field


def test_sign_expressions_build_the_same_T_as_numbers() -> None:
    symbolic = model_from_table(symmetric_table(b=["b", "b"], signs=["s", 1]))
    numeric = symmetric_model([1.2, 1.2], [2.0, 2.0], signs=[-1.0, 1.0], regions=["A", "B"])
    np.testing.assert_allclose(symbolic.T, numeric.T, rtol=0, atol=1e-14)
    assert symbolic.T[1, 2] == pytest.approx(-2.0)  # c_AB = s_A s_B sqrt(b_A b_B)


@pytest.mark.parametrize("signs", [[1, 0], [2, -1], [0.5, 1]])
def test_signs_must_be_plus_or_minus_one(signs: list) -> None:
    assert field_of(lambda: model_from_table(symmetric_table(b=[2.0, 2.0], signs=signs))) == "symmetric.signs"
    assert field_of(lambda: symmetric_model([1.0, 1.0], [2.0, 2.0], signs=signs)) == "symmetric.signs"


def test_parameter_expressions_cannot_bypass_the_checks_of_b_and_signs() -> None:
    spec = model_from_table(symmetric_table(b=["b", "b"], signs=["s", 1]))
    assert field_of(lambda: spec.with_parameters(b=-2.0)) == "symmetric.b"
    assert field_of(lambda: spec.with_parameters(s=0.5)) == "symmetric.signs"
    assert spec.with_parameters(b=3.0).T[1, 2] == pytest.approx(-3.0)
    table = symmetric_table(b=["b", "b"])
    table["parameters"]["b"] = -2.0
    assert field_of(lambda: model_from_table(table)) == "symmetric.b"
    # unequal b: T holds sqrt(b) c, whose evaluation must not be what the error blames
    table = symmetric_table(b=["x", 2.5])
    table["parameters"]["x"] = -1.0
    assert field_of(lambda: model_from_table(table)) == "symmetric.b"


def test_with_parameters_refuses_non_numbers() -> None:
    spec = load_model("two-regions")
    for bad in ("x", None, True, [1.0]):
        assert field_of(lambda: spec.with_parameters(b=bad)) == "parameters.b"


@pytest.mark.parametrize("name", ["T", "U", "g"])
def test_values_beyond_the_supported_magnitude_are_refused(name: str) -> None:
    spec = load_model("single-loop").with_values(g=np.array([0.0]))
    huge = 10 * MAX_MAGNITUDE
    value = {"T": np.array([[huge]]), "U": np.array([[huge]]), "g": np.array([huge])}[name]
    assert field_of(lambda: spec.with_values(**{name: value})) == name


def test_T_along_a_zero_variance_direction_of_U_is_refused() -> None:
    edges = (Edge("A", "A", rank=2),)
    U = np.diag([1.0, 0.0])
    T_ok = np.array([[2.0, 0.0], [0.5, 0.0]])
    ModelSpec(name="ok", regions=("A",), edges=edges, T=T_ok, U=U, g=[0.0])  # T in the range of U
    T_bad = np.array([[2.0, 0.3], [0.5, 0.0]])
    with pytest.raises(ModelInputError) as info:
        ModelSpec(name="bad", regions=("A",), edges=edges, T=T_bad, U=U, g=[0.0])
    assert info.value.field == "T" and "zero variance" in info.value.problem
    assert field_of(lambda: model_from_table({"regions": ["A"], "g": [0.0], "T": [[[2.0]]], "U": [[[0.0]]]})) == "T"


@pytest.mark.parametrize("name", ["psi_A", "Delta", "S", "sqrt", "pi", "lambda", "g_A", "T_x"])
def test_parameter_names_that_clash_are_refused(name: str) -> None:
    table = {"regions": ["A"], "g": [0.0], "T": [[["2.5"]]], "parameters": {name: 1.0}}
    assert field_of(lambda: model_from_table(table)) == f"parameters.{name}"


def test_a_folder_is_not_a_model_file(tmp_path) -> None:
    with pytest.raises(ModelInputError) as info:
        load_model(tmp_path)
    assert "folder" in info.value.problem


def test_nested_powers_are_displayed_without_expanding_them() -> None:
    table = {"regions": ["A"], "g": [0.0], "T": [[["((x+1)**64-1)**64"]]], "parameters": {"x": 1e-3}}
    text = derive(model_from_table(table)).to_text()  # used to hang in sympy's multinomial expansion
    assert "((x + 1)**64 - 1)**64" in text
