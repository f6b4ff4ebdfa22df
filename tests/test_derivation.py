"""The sympy derivation of the current equations (theory/derivation.py).

The derived expressions are evaluated at numbers (``xreplace``, no lambdify) and
compared with the formulas of THEORY sections 2, 3, 5 and 7 written out in numpy:

* variance  ``Delta_beta = sum_{f, h into beta} U_fh S_f S_h``
* gain      ``psi(Delta) = (1 + pi Delta / 2)^(-1/2)``
* rhs       ``dS_e/dt = -S_e + psi_{src(e)} (T S)_e``
* Jacobian  ``-I + diag(psi_src) T + diag(psi'(Delta_src) (T S)) dDelta_src/dS`` and a
  finite-difference Jacobian of the numpy rhs
* ``L[e, f] = T_ef`` only where the structure allows (source of e == target of f).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mrdmft.theory.derivation import derive, derive_structure, latex_escape
from mrdmft.theory.modelfile import load_model, model_from_table
from mrdmft.theory.spec import Edge, ModelSpec, random_model


# ---------------------------------------------------------------------- numpy reference
def psi(delta: np.ndarray) -> np.ndarray:
    return (1.0 + np.pi * delta / 2.0) ** -0.5


def dpsi(delta: np.ndarray) -> np.ndarray:
    return -np.pi / 4.0 * (1.0 + np.pi * delta / 2.0) ** -1.5


def variance(spec: ModelSpec, S: np.ndarray) -> np.ndarray:
    out = np.zeros(spec.n_regions)
    for beta in range(spec.n_regions):
        idx = np.flatnonzero(spec.channel_target == beta)
        out[beta] = S[idx] @ spec.U[np.ix_(idx, idx)] @ S[idx]
    return out


def rhs(spec: ModelSpec, S: np.ndarray) -> np.ndarray:
    return -S + psi(variance(spec, S))[spec.channel_source] * (spec.T @ S)


def jacobian(spec: ModelSpec, S: np.ndarray) -> np.ndarray:
    src, tgt = spec.channel_source, spec.channel_target
    delta = variance(spec, S)
    dDelta = 2.0 * (spec.U @ S)[None, :] * (src[:, None] == tgt[None, :])  # d Delta_{src(e)} / d S_f
    return -np.eye(spec.n_channels) + psi(delta)[src][:, None] * spec.T + (dpsi(delta)[src] * (spec.T @ S))[:, None] * dDelta


def finite_difference_jacobian(spec: ModelSpec, S: np.ndarray, h: float = 1e-6) -> np.ndarray:
    C = spec.n_channels
    return np.stack([(rhs(spec, S + h * np.eye(C)[f]) - rhs(spec, S - h * np.eye(C)[f])) / (2 * h) for f in range(C)], axis=1)


def numbers(spec: ModelSpec, S: np.ndarray) -> dict:
    """Substitution of currents, T and U values into the generic derivation."""
    system = derive(spec)
    d = system.derivation
    arrays = system.parameter_arrays()
    values = list(S) + list(arrays["T_values"]) + list(arrays["U_values"])
    return dict(zip(d.currents + d.T_symbols + d.U_symbols, [sp.Float(float(v), 30) for v in values]))


def evaluate(expr, subs: dict) -> np.ndarray:
    return np.array(sp.Matrix(expr).xreplace(subs).evalf(20), dtype=float)


def random_psd_U(spec: ModelSpec, rng: np.random.Generator) -> np.ndarray:
    """A random U, positive definite on every region's block and zero across regions."""
    U = np.zeros((spec.n_channels, spec.n_channels))
    for beta in range(spec.n_regions):
        idx = np.flatnonzero(spec.channel_target == beta)
        A = rng.normal(size=(idx.size, idx.size))
        U[np.ix_(idx, idx)] = A @ A.T / idx.size + 0.5 * np.eye(idx.size)
    return U


def check_against_theory(spec: ModelSpec, S: np.ndarray) -> None:
    d = derive(spec).derivation
    subs = numbers(spec, S)
    np.testing.assert_allclose(evaluate(d.variance, subs).ravel(), variance(spec, S), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(evaluate(d.gain, subs).ravel(), psi(variance(spec, S)), rtol=1e-12)
    np.testing.assert_allclose(evaluate(d.rhs, subs).ravel(), rhs(spec, S), rtol=1e-12, atol=1e-12)
    J = evaluate(d.jacobian, subs)
    np.testing.assert_allclose(J, jacobian(spec, S), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(J, finite_difference_jacobian(spec, S), rtol=1e-6, atol=1e-7)


def check_structure(spec: ModelSpec) -> None:
    d = derive(spec).derivation
    C = spec.n_channels
    assert d.L.shape == (C, C) and d.gain_operator.shape == (C, C)
    T_of = dict(zip(d.T_entries, d.T_symbols))
    assert set(d.T_entries) == {(e, f) for e in range(C) for f in range(C) if spec.T_mask[e, f]}
    for e in range(C):
        for f in range(C):
            if spec.T_mask[e, f]:
                assert d.L[e, f] == T_of[(e, f)]
                assert d.gain_operator[e, f] == d.gain_symbols[spec.channel_source[e]] * T_of[(e, f)]
            else:
                assert d.L[e, f] == 0 and d.gain_operator[e, f] == 0  # zero where the structure forbids
    assert set(d.U_entries) == {(f, h) for f in range(C) for h in range(f, C) if spec.U_mask[f, h]}
    # the variance of region beta involves only currents entering beta
    for beta, expr in enumerate(d.variance):
        entering = {d.currents[f] for f in np.flatnonzero(spec.channel_target == beta)}
        assert expr.free_symbols & set(d.currents) <= entering
    # rhs_e depends on the currents its source region reads out and on nothing else
    for e, expr in enumerate(d.rhs):
        allowed = {d.currents[e]} | {d.currents[f] for f in np.flatnonzero(spec.channel_target == spec.channel_source[e])}
        assert expr.free_symbols & set(d.currents) <= allowed


# ---------------------------------------------------------------------- dense random models
@pytest.mark.parametrize("R", [1, 2, 3, 4, 5, 6])
def test_random_dense_models_match_the_theory(R: int) -> None:
    rng = np.random.default_rng(100 + R)
    spec = random_model(R, radius=2.0, seed=R)
    spec = spec.with_values(U=random_psd_U(spec, rng))
    check_structure(spec)
    S = rng.normal(scale=0.8, size=spec.n_channels)
    check_against_theory(spec, S)


@pytest.mark.parametrize("R", [1, 2, 3, 4, 5, 6])
def test_jacobian_is_the_sympy_jacobian_of_rhs(R: int) -> None:
    d = derive(random_model(R, radius=1.0, seed=0)).derivation
    assert d.jacobian.shape == (R * R, R * R)
    assert d.jacobian == d.rhs.jacobian(sp.Matrix(d.currents))


def test_derivation_has_no_numbers_of_the_model() -> None:
    d = derive(random_model(2, radius=2.0, seed=3)).derivation
    allowed = set(d.currents) | set(d.T_symbols) | set(d.U_symbols)
    for expr in list(d.rhs) + list(d.variance):
        assert expr.free_symbols <= allowed
        assert not any(isinstance(a, sp.Float) for a in sp.preorder_traversal(expr))  # exact constants only


def test_zero_state_operator_is_the_jacobian_at_zero() -> None:
    """At S = 0, Delta = 0 and psi = 1: the Jacobian is -I + L (THEORY section 7)."""
    spec = random_model(3, radius=2.0, seed=11)
    d = derive(spec).derivation
    subs = numbers(spec, np.zeros(spec.n_channels))
    np.testing.assert_allclose(evaluate(d.jacobian, subs), -np.eye(9) + spec.T, rtol=1e-14, atol=1e-15)
    L = evaluate(d.L, subs)
    np.testing.assert_array_equal(L, spec.T)


# ---------------------------------------------------------------------- general graphs
graphs = st.integers(min_value=1, max_value=3).flatmap(
    lambda R: st.tuples(
        st.just(R),
        st.lists(
            st.tuples(st.integers(0, R - 1), st.integers(0, R - 1), st.integers(1, 2)),
            min_size=1,
            max_size=5,
            unique_by=lambda e: (e[0], e[1]),
        ),
        st.integers(0, 2**16),
    )
)


@settings(max_examples=12)
@given(graphs)
def test_edge_list_graphs_match_the_theory(graph) -> None:
    """Any graph (missing edges, rank 2, self-edges): structure and values follow THEORY."""
    R, edge_list, seed = graph
    regions = tuple("ABC"[:R])
    edges = tuple(Edge(regions[s], regions[t], rank) for s, t, rank in edge_list)
    rng = np.random.default_rng(seed)
    skeleton = ModelSpec(name="graph", regions=regions, edges=edges, T=_zeros(edges), U=_eye(edges), g=np.zeros(R))
    T = rng.normal(size=skeleton.T.shape) * skeleton.T_mask
    spec = skeleton.with_values(T=T, U=random_psd_U(skeleton, rng))
    check_structure(spec)
    check_against_theory(spec, rng.normal(size=spec.n_channels))


def _zeros(edges) -> np.ndarray:
    C = sum(e.rank for e in edges)
    return np.zeros((C, C))


def _eye(edges) -> np.ndarray:
    targets = np.array([e.target for e in edges for _ in range(e.rank)])
    return np.eye(len(targets)) * (targets[:, None] == targets[None, :])


# ---------------------------------------------------------------------- symbolic models
def test_parameters_appear_symbolically_and_evaluate_to_the_numbers() -> None:
    spec = load_model("two-regions")  # [symmetric] a = ["a", "a"], b = ["b", "b"]
    system = derive(spec)
    subs = system.substitutions(symbolic=True)
    a, b = sp.Symbol("a", real=True), sp.Symbol("b", real=True)
    free = set().union(*(sp.sympify(v).free_symbols for v in subs.values()))
    assert {a, b} <= free
    numeric = system.substitutions(symbolic=False)
    for key, value in subs.items():
        assert float(sp.sympify(value).subs({a: 1.2, b: 2.0})) == pytest.approx(float(numeric[key]), rel=1e-9)
    equations = system.current_equations()
    assert any(a in eq.rhs.free_symbols for eq in equations)
    assert any(b in eq.rhs.free_symbols for eq in equations)


def test_symbolic_single_loop_current_equation() -> None:
    system = derive(load_model("single-loop"))  # T = [[["loop"]]], U = 1
    (eq,) = system.current_equations()
    S = system.derivation.currents[0]
    loop = sp.Symbol("loop", real=True)
    expected = -S + loop * S * (1 + sp.pi * S**2 / 2) ** sp.Rational(-1, 2)
    assert sp.simplify(eq.rhs - expected) == 0


# ---------------------------------------------------------------------- output formats
def small_models() -> list[ModelSpec]:
    edge_list = model_from_table(
        {
            "regions": ["A", "B"],
            "g": [0.0, 0.5],
            "edges": ["A->B", {"source": "B", "target": "A", "rank": 2}],
            "T": [[0, 1.0, -0.5], [2.0, 0, 0], [0.5, 0, 0]],
        }
    )
    awkward_names = model_from_table(
        {"regions": ["V1_L23", "x$y", "{z}", "a_b", "p%^~#&\\q", "x y"], "g": [0.0] * 6, "random": {"radius": 1.0}}
    )
    return [load_model("single-loop"), load_model("two-regions"), random_model(3, 2.0, 1), edge_list, awkward_names]


def test_to_latex_escapes_region_names() -> None:
    """Region names are data: underscores, dollars and braces must not become LaTeX syntax."""
    latex = derive(small_models()[4]).to_latex()
    assert r"\Delta_{V1\_L23}" in latex and r"\psi_{x\$y}" in latex and r"S_{\{z\},a\_b}" in latex
    assert r"p\%\hat{}\sim{}\#\&\backslash{}q" in latex
    assert "\\^" not in latex and "\\~" not in latex  # text accents are errors in math mode
    assert r"\Delta_{x\ y}" in latex  # a space in a name stays visible in math mode
    assert re.search(r"(?<!\\)\$", latex) is None  # no unescaped $
    assert re.search(r"_\{[^{}]*(?<!\\)_", latex) is None  # no second subscript inside a subscript


def test_latex_escape_wraps_non_ascii_in_text() -> None:
    """Non-ASCII characters are errors in LaTeX math mode; ``\\text{}`` carries them (MathJax too)."""
    assert latex_escape("Größe") == r"Gr\text{ö}\text{ß}e"
    assert latex_escape("V1→PFC_α") == r"V1\text{→}PFC\_\text{α}"
    latex = derive(model_from_table({"regions": ["été", "V2"], "g": [0.0, 0.0], "random": {"radius": 1.0}})).to_latex()
    assert r"\Delta_{\text{é}t\text{é}}" in latex
    assert all(char.isascii() for char in latex.replace(r"\text{é}", ""))


@pytest.mark.parametrize("index", range(5))
def test_to_latex_is_well_formed(index: int) -> None:
    spec = small_models()[index]
    latex = derive(spec).to_latex()
    assert latex.startswith("\\begin{aligned}\n") and latex.endswith("\n\\end{aligned}")
    body = latex[len("\\begin{aligned}\n") : -len("\n\\end{aligned}")]
    rows = body.split(" \\\\\n")
    # gain, variances, current equations, zero-state condition, Psi L (as in to_text)
    assert len(rows) == 1 + spec.n_regions + spec.n_channels + 2
    assert all(row.count("&=") == 1 for row in rows[:-2] + rows[-1:]) and "&\\iff" in rows[-2]
    assert rows[-1].startswith("\\Psi L &= \\left[\\begin{") and rows[-1].count("\\psi") >= 1
    assert derive(spec).to_latex(operator=False).count(" \\\\\n") == len(rows) - 3
    unescaped = re.sub(r"\\[{}]", "", latex)
    depth = 0
    for char in unescaped:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    assert latex.count("\\left") == latex.count("\\right")
    assert "nan" not in latex.lower() and "zoo" not in latex


@pytest.mark.parametrize("index", range(4))
def test_to_json_is_well_formed(index: int) -> None:
    spec = small_models()[index]
    payload = json.loads(derive(spec).to_json())
    assert payload["model"] == spec.name
    assert payload["regions"] == list(spec.regions)
    assert payload["channels"] == spec.channel_names
    assert list(payload["currents"]) == spec.channel_names
    assert list(payload["variance"]) == list(spec.regions)
    assert len(payload["operator"]) == spec.n_channels
    assert all(len(row) == spec.n_channels for row in payload["operator"])
    assert all(isinstance(v, str) and v for v in payload["currents"].values())
    # the operator entries are zero exactly where the structure forbids an interaction
    for e, row in enumerate(payload["operator"]):
        for f, entry in enumerate(row):
            assert (entry == "0") == (not spec.T_mask[e, f] or spec.T[e, f] == 0)


def test_to_text_lists_every_current() -> None:
    spec = small_models()[3]
    text = derive(spec).to_text()
    assert text.startswith(f"# {spec.name}: 2 regions, 3 currents")
    assert text.count("/dt = ") == spec.n_channels


# ---------------------------------------------------------------------- caching
def test_derivation_is_cached_per_structure() -> None:
    first, second = random_model(3, 2.0, seed=1), random_model(3, 1.0, seed=2, g=0.5)
    assert not np.array_equal(first.T, second.T)
    assert derive(first).derivation is derive(second).derivation
    spec = load_model("two-regions")
    assert derive(spec.with_parameters(a=3.0)).derivation is derive(spec).derivation
    assert derive(spec).derivation is derive_structure(spec.structure)
    # a different graph is a different derivation
    assert derive(random_model(2, 2.0, seed=1)).derivation is not derive(first).derivation
    assert derive(spec).derivation is not derive(random_model(2, 2.0, seed=1)).derivation  # other region names


_NAME_ALPHABET = st.sampled_from(list("AB1,;|:-> {}_$é"))


@settings(max_examples=30)
@example(["A", "A,A"])  # S_{A,A,A} for both A,A -> A and A -> A,A before "," was refused
@example(["A", "B,C", "A,B"])
@given(st.lists(st.text(_NAME_ALPHABET, min_size=1, max_size=3), min_size=2, max_size=3, unique=True))
def test_accepted_region_names_never_give_two_quantities_one_symbol(names: list[str]) -> None:
    """Names such as "B,C" next to "A,B" once made S_{A,B,C} stand for two currents (wrong equations)."""
    from mrdmft.theory.errors import ModelInputError
    from mrdmft.theory.spec import Structure, check_region_names, dense_edges

    try:
        check_region_names(names)
    except ModelInputError:
        return  # refused names are not derived
    derivation = derive_structure(Structure(tuple(names), dense_edges(names)))
    symbols = [*derivation.currents, *derivation.T_symbols, *derivation.U_symbols, *derivation.g_symbols]
    assert len({x.name for x in symbols}) == len(symbols)


def test_notebook_display_leaves_out_large_psi_l() -> None:
    """The notebook shows Psi L in full for small models only (fig3-1 has a 25 x 25 matrix)."""
    small, large = derive(load_model("two-regions")), derive(load_model("fig3-1"))
    assert r"\Psi L &= " in small._repr_latex_() and r"\Psi L &= " not in large._repr_latex_()
    assert r"\iff" in large._repr_latex_() and r"\Psi L &= " in large.to_latex()
