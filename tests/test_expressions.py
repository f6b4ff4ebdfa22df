"""Whitelisted model-file expressions (theory/expressions.py).

Model files are data: an expression may use numbers, declared parameters, ``pi``,
``+ - * / **`` and a few named functions — nothing else, and it is never evaluated
by Python. The property test checks that arithmetic strings parse to the value
Python's float arithmetic gives for the same tree.
"""

from __future__ import annotations

import math

import pytest
import sympy as sp
from hypothesis import assume, given
from hypothesis import strategies as st

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.expressions import ALLOWED_FUNCTIONS, MAX_EXPONENT, MAX_EXPRESSION_LENGTH, parse_expression

SYMBOLS = {name: sp.Symbol(name, real=True) for name in ("a", "b", "g")}
VALUES = {"a": 1.7, "b": 2.5, "g": 0.3}


def value(text: str, symbols=SYMBOLS) -> float:
    expr = parse_expression(text, symbols, "field")
    return float(expr.subs({symbols[k]: v for k, v in VALUES.items() if k in symbols}))


# ---------------------------------------------------------------------- accepted
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", 2.0),
        ("-3.5", -3.5),
        ("+4", 4.0),
        ("1e-3", 1e-3),
        ("2*b + 0.5", 2 * 2.5 + 0.5),
        ("sqrt(b)", math.sqrt(2.5)),
        ("a**2 - b/4", 1.7**2 - 2.5 / 4),
        ("(a - b)*(a + b)", (1.7 - 2.5) * (1.7 + 2.5)),
        ("2**-1", 0.5),
        ("pi/2", math.pi / 2),
        ("exp(-g) + log(b)", math.exp(-0.3) + math.log(2.5)),
        ("sin(a)*cos(b) - tanh(g)", math.sin(1.7) * math.cos(2.5) - math.tanh(0.3)),
        ("erf(sqrt(pi)*g/2)", math.erf(math.sqrt(math.pi) * 0.3 / 2)),
        ("abs(a - b)", abs(1.7 - 2.5)),
        ("  b  ", 2.5),
        ("2**64", 2.0**64),
    ],
)
def test_allowed_expressions_have_the_expected_value(text: str, expected: float) -> None:
    assert value(text) == pytest.approx(expected, rel=1e-14, abs=1e-300)


def test_integer_literals_stay_exact() -> None:
    expr = parse_expression("1/3 + b", SYMBOLS, "T")
    assert expr - SYMBOLS["b"] == sp.Rational(1, 3)


def test_names_owned_by_sympy_are_plain_parameters() -> None:
    # sympify("S + N + I + E + Q + beta") would build sympy objects; the whitelist builds symbols.
    names = ["S", "N", "I", "E", "Q", "beta", "gamma"]
    symbols = {n: sp.Symbol(n, real=True) for n in names}
    expr = parse_expression(" + ".join(names), symbols, "T")
    assert expr.free_symbols == set(symbols.values())
    assert float(expr.subs({s: 1.0 for s in symbols.values()})) == len(names)


def test_every_whitelisted_function_is_callable() -> None:
    for name, function in ALLOWED_FUNCTIONS.items():
        assert parse_expression(f"{name}(b)", SYMBOLS, "T") == function(SYMBOLS["b"])


# ---------------------------------------------------------------------- refused
@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("__import__('os')", "outside the whitelist"),
        ("os.system('x')", "outside the whitelist"),
        ("b.__class__", "outside the whitelist"),
        ("(1).__class__.__bases__", "outside the whitelist"),
        ("lambda: 1", "outside the whitelist"),
        ("b[0]", "outside the whitelist"),
        ("[1, 2]", "outside the whitelist"),
        ("{'a': 1}", "outside the whitelist"),
        ("'text'", "outside the whitelist"),
        ("True", "outside the whitelist"),
        ("1j", "outside the whitelist"),
        ("a if b else g", "outside the whitelist"),
        ("a < b", "outside the whitelist"),
        ("a and b", "outside the whitelist"),
        ("a // b", "outside the whitelist"),
        ("a % b", "outside the whitelist"),
        ("a @ b", "outside the whitelist"),
        ("~a", "outside the whitelist"),
        ("not a", "outside the whitelist"),
        ("f'{a}'", "outside the whitelist"),
        ("sqrt(b, 2)", "sqrt takes exactly one argument, 2 given"),
        ("sqrt(x=b)", "sqrt takes no keyword arguments"),
        ("sqrt()", "sqrt takes exactly one argument, 0 given"),
        ("sqrt(*b)", "outside the whitelist (Starred)"),
        ("eval('1')", "outside the whitelist"),
        ("getattr(b, 'x')", "outside the whitelist"),
        ("(lambda: 1)()", "outside the whitelist"),
        ("sqrt.__call__(b)", "outside the whitelist"),
        ("[x for x in ()]", "outside the whitelist"),
        ("(a := 2)", "outside the whitelist"),
        ("x + 1", "unknown name 'x'"),
        ("os", "unknown name 'os'"),
        ("__builtins__", "unknown name"),
        ("2**1000", "exponent of magnitude larger"),
        ("b**(10**3)", "exponent of magnitude larger"),
        ("9**9**9", "exponent of magnitude larger"),
        ("b**-65", "exponent of magnitude larger"),
        ("1/0", "division by zero"),
        ("b/(a - a)", "division by zero"),
        ("a = 1", "not a valid expression"),
        ("import os", "not a valid expression"),
        ("2 +", "not a valid expression"),
        ("", "not a valid expression"),
        ("1" * (MAX_EXPRESSION_LENGTH + 1), "longer than"),
    ],
)
def test_anything_outside_the_whitelist_is_refused(text: str, problem: str) -> None:
    with pytest.raises(ModelInputError) as info:
        parse_expression(text, SYMBOLS, "T")
    assert info.value.field == "T"
    assert problem in info.value.problem
    assert info.value.fix  # every error says how to fix it


def test_exponent_limit_is_inclusive() -> None:
    assert value(f"2**{MAX_EXPONENT}") == 2.0**MAX_EXPONENT
    with pytest.raises(ModelInputError):
        parse_expression(f"2**{MAX_EXPONENT + 1}", SYMBOLS, "T")


def test_unknown_name_error_lists_the_declared_names() -> None:
    with pytest.raises(ModelInputError) as info:
        parse_expression("c", SYMBOLS, "g")
    assert "a, b, g, pi" in info.value.fix


# ---------------------------------------------------------------------- property
# A tree is ("num", text, float) | ("name", text, float) | ("neg", tree) | (op, left, right).
# Each node is printed fully parenthesized, so the string means exactly the tree.
numbers = st.one_of(
    st.integers(min_value=0, max_value=1000).map(lambda n: ("num", str(n), float(n))),
    st.decimals(min_value=0, max_value=100, places=3, allow_nan=False, allow_infinity=False).map(
        lambda d: ("num", str(d), float(str(d)))
    ),
    st.sampled_from(sorted(VALUES)).map(lambda n: ("name", n, VALUES[n])),
)
trees = st.recursive(
    numbers,
    lambda sub: st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*", "/"]), sub, sub),
        st.tuples(st.just("neg"), sub),
        st.tuples(st.just("**"), sub, st.integers(min_value=0, max_value=3).map(lambda n: ("num", str(n), float(n)))),
    ),
    max_leaves=12,
)


def render(tree) -> str:
    kind = tree[0]
    if kind in ("num", "name"):
        return tree[1]
    if kind == "neg":
        return f"-({render(tree[1])})"
    return f"({render(tree[1])}) {kind} ({render(tree[2])})"


def python_value(tree) -> tuple[float, float]:
    """Python float value of the tree and a magnitude scale for rounding-error bounds.

    The scale bounds the intermediate magnitudes, so cancellation (a - b with a ~ b)
    does not turn harmless rounding differences into test failures; divisions by
    results that suffered cancellation are rejected with ``assume``.
    """
    kind = tree[0]
    if kind in ("num", "name"):
        return tree[2], abs(tree[2])
    if kind == "neg":
        v, s = python_value(tree[1])
        return -v, s
    (a, sa), (b, sb) = python_value(tree[1]), python_value(tree[2])
    if kind == "+":
        return a + b, sa + sb
    if kind == "-":
        return a - b, sa + sb
    if kind == "*":
        return a * b, sa * sb
    if kind == "/":
        assume(abs(b) > 1e-6 * max(sb, 1e-300) and abs(b) > 1e-9)
        return a / b, sa / abs(b) + abs(a / b)
    n = int(b)
    return a**n, (max(sa, abs(a)) ** n if n else 1.0)


@given(trees)
def test_arithmetic_strings_parse_to_the_python_float_value(tree) -> None:
    text = render(tree)
    assume(len(text) <= MAX_EXPRESSION_LENGTH)
    expected, scale = python_value(tree)
    assume(math.isfinite(expected) and math.isfinite(scale) and scale < 1e100)
    try:
        got = value(text)
    except ModelInputError as exc:
        # The only refusal allowed for these trees: a denominator that is exactly zero.
        assert "division by zero" in exc.problem
        assume(False)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9 * max(scale, 1.0))
