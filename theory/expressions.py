"""Whitelisted parsing of the expressions that model files may contain.

Model files are data. A numeric field may hold an expression of declared parameters
(``"2*b + 0.5"``, ``"sqrt(b)"``); it is parsed with :mod:`ast` against a whitelist and
the sympy expression is built node by node. Nothing is ever passed to ``eval`` or
``sympify``: sympy owns names such as ``S``, ``N``, ``I``, ``E``, ``Q``, ``beta``.

Allowed: numbers, declared parameter names, the constant ``pi``, the operators
``+ - * / **`` and unary ``+ -``, and calls of the functions in :data:`ALLOWED_FUNCTIONS`.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

import sympy as sp

from .errors import ModelInputError

ALLOWED_FUNCTIONS = {
    "sqrt": sp.sqrt,
    "exp": sp.exp,
    "log": sp.log,
    "sin": sp.sin,
    "cos": sp.cos,
    "tanh": sp.tanh,
    "erf": sp.erf,
    "abs": sp.Abs,
}
"""Functions a model-file expression may call, by name."""

ALLOWED_CONSTANTS = {"pi": sp.pi}
"""Named constants a model-file expression may use."""

MAX_EXPRESSION_LENGTH = 400
MAX_EXPONENT = 64

_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def parse_expression(
    text: str, symbols: Mapping[str, sp.Symbol], field: str
) -> sp.Expr:
    """Parse a whitelisted arithmetic expression into a sympy expression.

    Parameters
    ----------
    text : str
        The expression as written in the model file.
    symbols : Mapping[str, sympy.Symbol]
        Declared parameter names and the symbols that stand for them.
    field : str
        Name of the model-file field, used in error messages.

    Returns
    -------
    sympy.Expr
        The expression, built from the parsed tree.

    Raises
    ------
    ModelInputError
        If the text is not an expression, or uses any name, operator or call
        outside the whitelist.
    """
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ModelInputError(
            field,
            f"expression is longer than {MAX_EXPRESSION_LENGTH} characters",
            "split it with intermediate [parameters]",
        )
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        raise ModelInputError(
            field, f"{text!r} is not a valid expression", "write e.g. \"2*b + 0.5\""
        ) from None
    return _build(tree.body, symbols, field, text)


def _finite(expr: sp.Expr, field: str, text: str) -> sp.Expr:
    """Refuse a constant sub-expression that is not a finite number (overflow, 1/0, log(0))."""
    if expr.is_number:
        try:
            value = complex(expr)
        except (OverflowError, TypeError, ValueError):
            value = complex("nan")
        if not (abs(value.real) < 1e300 and abs(value.imag) < 1e300):
            raise ModelInputError(
                field,
                f"{text!r} does not evaluate to a finite number",
                "keep values finite: no overflow, no log of 0 or of a negative number, no 1/0",
            )
    return expr


def _build(node: ast.AST, symbols: Mapping[str, sp.Symbol], field: str, text: str) -> sp.Expr:
    allowed_names = sorted(set(symbols) | set(ALLOWED_CONSTANTS))
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        if isinstance(node.value, int):
            return sp.Integer(node.value)
        return sp.Float(node.value)
    if isinstance(node, ast.Name):
        if node.id in symbols:
            return symbols[node.id]
        if node.id in ALLOWED_CONSTANTS:
            return ALLOWED_CONSTANTS[node.id]
        raise ModelInputError(
            field,
            f"unknown name {node.id!r} in {text!r}",
            f"declare it in [parameters]; known names: {', '.join(allowed_names) or 'none'}",
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _build(node.operand, symbols, field, text)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _build(node.left, symbols, field, text)
        right = _build(node.right, symbols, field, text)
        if isinstance(node.op, ast.Pow) and right.is_number and abs(complex(right)) > MAX_EXPONENT:
            raise ModelInputError(
                field, f"exponent of magnitude larger than {MAX_EXPONENT} in {text!r}", f"use an exponent between -{MAX_EXPONENT} and {MAX_EXPONENT}"
            )
        if isinstance(node.op, ast.Div) and right.is_zero:
            raise ModelInputError(field, f"division by zero in {text!r}", "fix the expression")
        return _finite(_BINARY[type(node.op)](left, right), field, text)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ALLOWED_FUNCTIONS
        and len(node.args) == 1
        and not node.keywords
    ):
        return _finite(ALLOWED_FUNCTIONS[node.func.id](_build(node.args[0], symbols, field, text)), field, text)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ALLOWED_FUNCTIONS:
        if node.keywords:
            problem = f"{node.func.id} takes no keyword arguments in {text!r}"
        else:
            problem = f"{node.func.id} takes exactly one argument, {len(node.args)} given in {text!r}"
        raise ModelInputError(field, problem, f"write e.g. {node.func.id}(b)")
    raise ModelInputError(
        field,
        f"{text!r} uses something outside the whitelist ({type(node).__name__})",
        "use numbers, [parameters] names, pi, + - * / ** and "
        + ", ".join(sorted(ALLOWED_FUNCTIONS)),
    )
