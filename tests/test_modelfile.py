"""Model files (theory/modelfile.py): dense form, shorthands, parameters, edge lists, sizes.

The preset contents (paper values) are checked in tests/test_presets.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.modelfile import DEFAULT_MODEL, load_model, model_from_table, preset_names
from mrdmft.theory.spec import random_model, symmetric_model

T3_TWO = [[[0.5, 1.25], [2.0, -0.75]], [[1.5, 0.25], [-1.0, 3.0]]]


def toml_list(value) -> str:
    if isinstance(value, (list, tuple, np.ndarray)):
        return "[" + ", ".join(toml_list(v) for v in value) + "]"
    return repr(value) if isinstance(value, str) else repr(float(value))


# ---------------------------------------------------------------------- dense form
def test_dense_form_maps_T_alpha_beta_gamma_to_channels(write_model) -> None:
    path = write_model(
        f"""
name = "pair"
regions = ["A", "B"]
g = [0.5, 0.0]
T = {toml_list(T3_TWO)}
"""
    )
    spec = load_model(path)
    assert spec.name == "pair" and spec.regions == ("A", "B") and spec.is_dense
    np.testing.assert_array_equal(spec.g, [0.5, 0.0])
    np.testing.assert_array_equal(spec.dense_T(), np.array(T3_TWO))
    # channel alpha*R + beta is S^{alpha beta}, the current from beta into alpha, named "beta->alpha"
    assert spec.channel_names == ["A->A", "B->A", "A->B", "B->B"]
    R = 2
    for a in range(R):
        for b in range(R):
            for c in range(R):
                # T[(alpha, beta), (beta, gamma)] = T^{alpha beta gamma}
                assert spec.T[a * R + b, b * R + c] == T3_TWO[a][b][c]
    # only entries whose middle indices match may be nonzero
    assert np.count_nonzero(spec.T) == R**3
    # default U: identity in every region
    np.testing.assert_array_equal(spec.U, np.eye(R * R))
    np.testing.assert_array_equal(spec.sizes, [1.0, 1.0])
    assert spec.nonlinearity == "erf"


def test_dense_form_with_explicit_U_and_sizes(write_model) -> None:
    U3 = [[[1.0, 0.5], [0.5, 2.0]], [[1.0, 0.0], [0.0, 1.0]]]
    path = write_model(
        f"""
regions = ["A", "B"]
g = [0.0, 0.0]
T = {toml_list(T3_TWO)}
U = {toml_list(U3)}
sizes = [1.0, 0.25]
"""
    )
    spec = load_model(path)
    assert spec.name == "model"  # defaults to the file stem
    np.testing.assert_array_equal(spec.U[:2, :2], U3[0])
    np.testing.assert_array_equal(spec.U[2:, 2:], U3[1])
    assert np.count_nonzero(spec.U[:2, 2:]) == 0
    np.testing.assert_array_equal(spec.sizes, [1.0, 0.25])


def test_default_model_is_the_documented_preset() -> None:
    assert DEFAULT_MODEL == "fig3-1"
    assert load_model().name == load_model("fig3-1").name == "fig3-1"


# ---------------------------------------------------------------------- [symmetric]
def test_symmetric_shorthand_builds_c_from_a_b_and_signs(write_model) -> None:
    a, b, signs = [2.0, 1.5, 0.5], [2.5, 1.0, 4.0], [1.0, -1.0, 1.0]
    path = write_model(
        f"""
regions = ["X", "Y", "Z"]
g = [0.0, 0.0, 0.0]
[symmetric]
a = {toml_list(a)}
b = {toml_list(b)}
signs = {toml_list(signs)}
"""
    )
    T3 = load_model(path).dense_T()
    for alpha in range(3):
        assert T3[alpha, alpha, alpha] == pytest.approx(a[alpha], abs=1e-14)
        for beta in range(3):
            for gamma in range(3):
                if gamma != alpha:
                    assert T3[alpha, beta, gamma] == 0.0  # T = delta_{alpha gamma} c_{alpha beta}
            if beta != alpha:
                c = T3[alpha, beta, alpha]
                assert c == pytest.approx(signs[alpha] * signs[beta] * math.sqrt(b[alpha] * b[beta]), rel=1e-14)
                assert c == T3[beta, alpha, beta]  # c is symmetric


def test_symmetric_shorthand_equals_the_python_builder(write_model) -> None:
    a, b = [2.07, 2.01], [2.46, 2.53]
    path = write_model(f"regions = ['1', '2']\ng = [0.5, 1.0]\n[symmetric]\na = {toml_list(a)}\nb = {toml_list(b)}\n")
    from_file = load_model(path)
    built = symmetric_model(a, b, g=[0.5, 1.0])
    np.testing.assert_array_equal(from_file.T, built.T)
    np.testing.assert_array_equal(from_file.U, built.U)
    np.testing.assert_array_equal(from_file.g, built.g)


# ---------------------------------------------------------------------- [random]
RANDOM = """
regions = ["1", "2", "3", "4"]
g = [0.0, 0.0, 0.0, 0.0]
[random]
radius = {radius}
seed = {seed}
"""


def test_random_shorthand_is_seeded_and_reproducible(write_model) -> None:
    first = load_model(write_model(RANDOM.format(radius=2.0, seed=7), "r1.toml"))
    again = load_model(write_model(RANDOM.format(radius=2.0, seed=7), "r2.toml"))
    other = load_model(write_model(RANDOM.format(radius=2.0, seed=8), "r3.toml"))
    np.testing.assert_array_equal(first.T, again.T)
    assert not np.array_equal(first.T, other.T)
    # documented law: i.i.d. normal entries of standard deviation radius / sqrt(R), numpy default_rng(seed)
    expected = np.random.default_rng(7).normal(0.0, 2.0 / np.sqrt(4), size=(4, 4, 4))
    np.testing.assert_array_equal(first.dense_T(), expected)
    np.testing.assert_array_equal(first.T, random_model(4, 2.0, 7).T)


def test_random_shorthand_scale_follows_the_radius(write_model) -> None:
    R, radius = 4, 3.0
    samples = np.concatenate(
        [load_model(write_model(RANDOM.format(radius=radius, seed=s), f"s{s}.toml")).dense_T().ravel() for s in range(40)]
    )
    # 40 * 64 = 2560 entries: the sample std has a relative standard error ~ 1/sqrt(2 * 2560) = 1.4 %
    assert samples.std() == pytest.approx(radius / np.sqrt(R), rel=0.06)
    assert abs(samples.mean()) < 5 * radius / np.sqrt(R) / np.sqrt(samples.size)


# ---------------------------------------------------------------------- [parameters]
PARAMETRIC = """
regions = ["A", "B"]
g = ["g", "g/2"]
sizes = [1, "s"]
[parameters]
a = 1.5
b = 2.25
g = 0.5
s = 0.5
[symmetric]
a = ["a", "a + 0.5"]
b = ["b", "sqrt(b)**2"]
signs = [1, -1]
"""


def test_parameters_fill_expression_fields(write_model) -> None:
    spec = load_model(write_model(PARAMETRIC))
    assert spec.parameters == {"a": 1.5, "b": 2.25, "g": 0.5, "s": 0.5}
    np.testing.assert_allclose(spec.g, [0.5, 0.25], rtol=1e-15)
    np.testing.assert_allclose(spec.sizes, [1.0, 0.5], rtol=1e-15)
    T3 = spec.dense_T()
    assert T3[0, 0, 0] == pytest.approx(1.5, rel=1e-14)
    assert T3[1, 1, 1] == pytest.approx(2.0, rel=1e-14)
    assert T3[0, 1, 0] == pytest.approx(-2.25, rel=1e-14)  # -sqrt(b b)
    assert set(spec.symbolic) == {"T", "g", "sizes"}


def test_with_parameters_re_evaluates_every_expression(write_model) -> None:
    spec = load_model(write_model(PARAMETRIC))
    changed = spec.with_parameters(b=4.0, g=1.0)
    assert changed.parameters == {"a": 1.5, "b": 4.0, "g": 1.0, "s": 0.5}
    np.testing.assert_allclose(changed.g, [1.0, 0.5], rtol=1e-15)
    assert changed.dense_T()[0, 1, 0] == pytest.approx(-4.0, rel=1e-14)
    assert changed.dense_T()[0, 0, 0] == pytest.approx(1.5, rel=1e-14)
    assert changed.structure == spec.structure
    # the original is immutable and unchanged
    assert spec.dense_T()[0, 1, 0] == pytest.approx(-2.25, rel=1e-14)
    with pytest.raises(ModelInputError) as info:
        spec.with_parameters(c=1.0)
    assert info.value.field == "parameters.c"
    with pytest.raises(ModelInputError) as info:
        spec.with_parameters(b=float("nan"))
    assert info.value.field == "parameters.b"
    with pytest.raises(ModelInputError) as info:
        spec.with_parameters(g=-1.0)  # evaluates to negative disorder
    assert info.value.field == "g"


def test_parameter_expressions_in_dense_T(write_model) -> None:
    text = """
regions = ["A"]
g = [0.0]
T = [[["2*loop - 1"]]]
[parameters]
loop = 1.25
"""
    spec = load_model(write_model(text))
    assert spec.T[0, 0] == pytest.approx(1.5, rel=1e-15)
    assert spec.with_parameters(loop=3.0).T[0, 0] == pytest.approx(5.0, rel=1e-15)


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ("x = 'a'", "parameters.x"),
        ("x = nan", "parameters.x"),
        ("x = inf", "parameters.x"),
        ("x = true", "parameters.x"),
        ("_x = 1.0", "parameters._x"),
        ("pi = 3.0", "parameters.pi"),
        ("I = 2.0", "parameters.I"),
        ("oo = 2.0", "parameters.oo"),
        ("N = 2.0", "parameters.N"),
        ("gamma = 2.0", "parameters.gamma"),
    ],
)
def test_bad_parameter_declarations(write_model, parameters: str, field: str) -> None:
    path = write_model(f'regions = ["A"]\ng = [0.0]\nT = [[[1.0]]]\n[parameters]\n{parameters}\n')
    with pytest.raises(ModelInputError) as info:
        load_model(path)
    assert info.value.field == field


# ---------------------------------------------------------------------- edge lists
EDGE_LIST = """
regions = ["A", "B", "C"]
g = [0.0, 0.0, 0.0]
sizes = [1.0, 0.5, 2.0]
edges = ["A->B", {source = "B", target = "A", rank = 2}, "C->C"]
# channels: 0 = A->B, 1 = B->A:0, 2 = B->A:1, 3 = C->C
T = [
  [0.0, 1.0, -0.5, 0.0],
  [2.0, 0.0, 0.0, 0.0],
  [0.5, 0.0, 0.0, 0.0],
  [0.0, 0.0, 0.0, 1.5],
]
"""


def test_edge_list_with_rank_two_and_missing_edges(write_model) -> None:
    spec = load_model(write_model(EDGE_LIST))
    assert not spec.is_dense
    assert spec.n_regions == 3 and spec.n_channels == 4
    assert spec.channel_names == ["A->B", "B->A:0", "B->A:1", "C->C"]
    np.testing.assert_array_equal(spec.channel_source, [0, 1, 1, 2])
    np.testing.assert_array_equal(spec.channel_target, [1, 0, 0, 2])
    np.testing.assert_array_equal(spec.sizes, [1.0, 0.5, 2.0])
    assert spec.T[0, 1] == 1.0 and spec.T[1, 0] == 2.0 and spec.T[3, 3] == 1.5
    # default U: identity over the input vectors of each region (the two B->A channels both enter A)
    np.testing.assert_array_equal(spec.U, np.eye(4))
    assert spec.U_mask[1, 2] and not spec.U_mask[0, 1]
    # structure masks: T[e, f] allowed iff source(e) == target(f)
    assert spec.T_mask[0, 1] and spec.T_mask[1, 0] and not spec.T_mask[0, 3] and not spec.T_mask[0, 0]
    with pytest.raises(ModelInputError) as info:
        spec.dense_T()
    assert info.value.field == "T"


def test_edge_list_with_explicit_U(write_model) -> None:
    text = EDGE_LIST + "U = [[1, 0, 0, 0], [0, 1, 0.5, 0], [0, 0.5, 1, 0], [0, 0, 0, 1]]\n"
    spec = load_model(write_model(text))
    assert spec.U[1, 2] == spec.U[2, 1] == 0.5


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (("[0.0, 0.0, 0.0, 1.5]", "[1.0, 0.0, 0.0, 1.5]"), "T", "do not meet"),  # C->C output into A->B input
        (('"C->C"]', '"C->D"]'), "edges", "unknown region"),
        (('"C->C"]', '"C-C"]'), "edges", "SOURCE->TARGET"),
        (("rank = 2", "rank = 0"), "edges", "rank"),
        (("[0.5, 0.0, 0.0, 0.0],\n", ""), "T", "shape"),
        (('sizes = [1.0, 0.5, 2.0]', 'sizes = [1.0, 0.0, 2.0]'), "sizes", "positive"),
    ],
)
def test_edge_list_errors_name_the_field(write_model, change, field, problem) -> None:
    old, new = change
    assert old in EDGE_LIST
    with pytest.raises(ModelInputError) as info:
        load_model(write_model(EDGE_LIST.replace(old, new, 1)))
    assert info.value.field == field
    assert problem in info.value.problem


def test_edge_list_repeated_edge_is_refused(write_model) -> None:
    text = 'regions = ["A"]\ng = [0.0]\nedges = ["A->A", "A->A"]\nT = [[1.0, 0.0], [0.0, 1.0]]\n'
    with pytest.raises(ModelInputError) as info:
        load_model(write_model(text))
    assert info.value.field == "edges" and "twice" in info.value.problem


def test_edge_list_U_across_regions_is_refused(write_model) -> None:
    text = EDGE_LIST + "U = [[1, 0.5, 0, 0], [0.5, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]\n"
    with pytest.raises(ModelInputError) as info:
        load_model(write_model(text))
    assert info.value.field == "U" and "different regions" in info.value.problem


# ---------------------------------------------------------------------- errors
DENSE_ONE = 'regions = ["A"]\ng = [0.0]\nT = [[[2.0]]]\n'


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        (DENSE_ONE + "colour = 1\n", "colour", "unknown key"),
        ('g = [0.0]\nT = [[[2.0]]]\n', "regions", "missing"),
        ('regions = []\ng = []\nT = []\n', "regions", "no regions"),
        ('regions = ["A", "A"]\ng = [0, 0]\n[symmetric]\na = [1, 1]\nb = [1, 1]\n', "regions", "repeat"),
        ('regions = ["A->B"]\ng = [0.0]\nT = [[[2.0]]]\n', "regions", "invalid region name"),
        ('regions = ["A"]\ng = [0.0]\n', "T", "missing"),
        (DENSE_ONE + "[symmetric]\na = [1.0]\nb = [1.0]\n", "T", "exactly one"),
        ('regions = ["A"]\ng = [0.0]\nT = [[2.0]]\n', "T", "shape"),
        ('regions = ["A"]\ng = [0.0, 1.0]\nT = [[[2.0]]]\n', "g", "shape"),
        ('regions = ["A"]\ng = [-1.0]\nT = [[[2.0]]]\n', "g", "negative"),
        ('regions = ["A"]\ng = [nan]\nT = [[[2.0]]]\n', "g", "not finite"),
        ('regions = ["A"]\ng = [inf]\nT = [[[2.0]]]\n', "g", "not finite"),
        ('regions = ["A"]\ng = [true]\nT = [[[2.0]]]\n', "g", "not a number"),
        ('regions = ["A"]\ng = ["fast"]\nT = [[[2.0]]]\n', "g", "unknown name"),
        ('regions = ["A", "B"]\ng = [0, 0]\nT = [[[1, 2], [3]], [[1, 2], [3, 4]]]\n', "T", "rows"),
        ('regions = ["A"]\ng = [0.0]\nT = [[[2.0]]]\nU = [[[-1.0]]]\n', "U", "positive semidefinite"),
        ('regions = ["A", "B"]\ng = [0, 0]\n[symmetric]\na = [1, 1]\nb = [1, -1]\n', "symmetric.b", ">= 0"),
        ('regions = ["A"]\ng = [0.0]\n[symmetric]\na = [1]\nb = [1]\nc = [1]\n', "symmetric.c", "unknown key"),
        ('regions = ["A"]\ng = [0.0]\n[random]\nradius = -1.0\n', "random.radius", ">= 0"),
        ('regions = ["A"]\ng = [0.0]\n[random]\nseed = 1\n', "random.radius", "is missing"),
        ('regions = ["A"]\ng = [0.0]\n[random]\nradius = 1e308\n', "random.radius", "larger than 1000000"),
        ('regions = ["A", "B"]\nedges = [{source = "A", target = "B", rank = 0}]\nT = [[0.0]]\n', "edges",
         "is not an integer >= 1"),
        ('regions = ["A"]\ng = ["sqrt(-1)"]\nT = [[[2.0]]]\n', "g", "evaluates to 1i, not a finite real number"),
        ('regions = ["A"]\ng = ["log(a)"]\nT = [[[2.0]]]\n[parameters]\na = 0\n', "g", "with a = 0"),
        ('regions = ["A"]\ng = [1000001]\nT = [[[2.0]]]\n', "g", "size 1000001"),
        ('regions = ["A"]\ng = [0.0]\n[random]\nradius = 1.0\nseed = -3\n', "random.seed", "integer"),
        ('regions = ["A"]\ng = [0.0]\nnonlinearity = "relu"\nT = [[[2.0]]]\n', "nonlinearity", "unknown"),
        (DENSE_ONE + 'name = 3\n', "name", "not a string"),
        (DENSE_ONE.replace('regions = ["A"]', 'name = " "\nregions = ["A"]'), "name", "is empty"),
        ('regions = ["A", "B,C", "A,B", "C"]\n[random]\nradius = 1.0\n', "regions", "invalid region name 'B,C'"),
        ('regions = ["AA", "AA;0"]\n[random]\nradius = 1.0\n', "regions", "invalid region name 'AA;0'"),
        ('regions = ["A|B"]\n[random]\nradius = 1.0\n', "regions", "invalid region name"),
        ('regions = ["A", "B "]\n[random]\nradius = 1.0\n', "regions", "white space"),
        ('regions = ["\\u3164"]\n[random]\nradius = 1.0\n', "regions", "U+3164"),
        ('regions = ["\\u2800"]\n[random]\nradius = 1.0\n', "regions", "U+2800"),
        ('regions = ["A\\ufe0f", "B"]\n[random]\nradius = 1.0\n', "regions", "U+FE0F"),
        ('regions = ["A\\u2028B"]\n[random]\nradius = 1.0\n', "regions", "U+2028"),
        ('regions = ["\\u0301"]\n[random]\nradius = 1.0\n', "regions", "combining mark"),
        (DENSE_ONE.replace('regions = ["A"]', 'name = "x\\u001b[31mRED"\nregions = ["A"]'), "name", "U+001B"),
        (DENSE_ONE.replace('regions = ["A"]', 'name = "two\\nlines"\nregions = ["A"]'), "name", "U+000A"),
        (DENSE_ONE + 'description = 5\n', "description", "not a string"),
        (DENSE_ONE + 'description = "bell\\u0007"\n', "description", "U+0007"),
        ('regions = ["\\u2126", "B"]\nedges = ["\\u03a9->B"]\nT = [[0.0]]\n', "edges", "only in its Unicode form"),
        ('regions = ["A\\nB"]\n[random]\nradius = 1.0\n', "regions", "U+000A"),
        ('regions = ["A\\u202eB"]\n[random]\nradius = 1.0\n', "regions", "U+202E"),
        ('regions = ["A\\u0000"]\n[random]\nradius = 1.0\n', "regions", "U+0000"),
        ('regions = ["\\u2126", "\\u03a9"]\n[random]\nradius = 1.0\n', "regions", "look the same"),
        ('regions = ["\\ufb01", "fi"]\n[random]\nradius = 1.0\n', "regions", "look the same"),
        ('regions = [' + ", ".join(f'"r{i}"' for i in range(33)) + ']\n[random]\nradius = 1.0\n', "regions",
         "1089 currents"),
        ('regions = ["A"]\nedges = [{source = "A", target = "A", rank = 1000000}]\nT = [[1.0]]\n', "edges",
         "1000000 currents"),
    ],
)
def test_invalid_fields_raise_model_input_error(write_model, text: str, field: str, problem: str) -> None:
    with pytest.raises(ModelInputError) as info:
        load_model(write_model(text))
    assert info.value.field == field
    assert problem in info.value.problem
    assert info.value.fix


def test_missing_file_unknown_preset_and_invalid_toml(write_model, tmp_path) -> None:
    with pytest.raises(ModelInputError) as info:
        load_model(tmp_path / "absent.toml")
    assert "no such file" in info.value.problem
    with pytest.raises(ModelInputError) as info:
        load_model("no-such-preset")
    assert info.value.field == "model" and "presets" in info.value.fix
    with pytest.raises(ModelInputError) as info:
        load_model(write_model('regions = ["A"\n'))
    assert "invalid TOML" in info.value.problem


def test_deeply_nested_toml_is_an_input_error(write_model) -> None:
    with pytest.raises(ModelInputError) as info:
        load_model(write_model('regions = ["A"]\nT = ' + "[" * 2000 + "]" * 2000 + "\n"))
    assert "nested too deeply" in info.value.problem


def test_bom_device_and_dangling_link_model_sources(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bom.toml").write_bytes(b"\xef\xbb\xbf" + DENSE_ONE.encode())
    assert load_model("bom.toml").regions == ("A",)  # a UTF-8 byte-order mark is fine
    with pytest.raises(ModelInputError) as info:
        load_model("/dev/null")
    assert info.value.problem == "is not a regular file"
    (tmp_path / "single-loop").symlink_to(tmp_path / "absent")
    with pytest.raises(ModelInputError) as info:
        load_model("single-loop")  # a dangling link named like a preset is a clash too
    assert "both a built-in preset" in info.value.problem


def test_a_file_named_like_a_preset_is_ambiguous(tmp_path, monkeypatch) -> None:
    """``single-loop`` in the current folder must not silently replace the preset."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "single-loop").write_text('regions = ["X"]\ng = [0.0]\nT = [[[3.0]]]\n')
    with pytest.raises(ModelInputError) as info:
        load_model("single-loop")
    assert info.value.field == "model" and "both a built-in preset and a file" in info.value.problem
    assert "./single-loop" in info.value.fix
    assert load_model("./single-loop").regions == ("X",)
    assert load_model("two-regions").n_regions == 2  # other presets unaffected


def test_python_builders_refuse_oversized_models() -> None:
    from mrdmft.theory.spec import MAX_CHANNELS, random_model, symmetric_model

    for build in (lambda: random_model(1000, 2.0, 0), lambda: symmetric_model([1.0] * 33, [1.0] * 33)):
        with pytest.raises(ModelInputError) as info:
            build()  # refused before an R^3 or C^2 array is allocated
        assert info.value.field == "regions" and f"exceed the {MAX_CHANNELS}" in info.value.problem
    assert random_model(32, 2.0, 0).n_channels == MAX_CHANNELS  # the limit itself is accepted


def test_model_from_table_accepts_python_data() -> None:
    spec = model_from_table({"regions": ["A"], "g": [1.5], "T": [[[2.0]]]})
    assert spec.T[0, 0] == 2.0 and spec.g[0] == 1.5


def test_every_preset_loads() -> None:
    names = preset_names()
    assert DEFAULT_MODEL in names
    for name in names:
        spec = load_model(name)
        assert spec.name == name
        assert spec.description
