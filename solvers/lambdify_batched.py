"""Turning lists of sympy expressions into batched numpy functions.

sympy's ``lambdify`` is given a few *packed* array arguments (one per group of
symbols). The returned function takes arrays whose **last** axis indexes the symbols
of each group and whose leading axes are a batch; outputs are stacked on a new last
axis and every output, constants included, is broadcast to the batch shape.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.special
import sympy as sp

MODULES = [{"erf": scipy.special.erf}, "numpy"]


def identifier_arguments(
    groups: Sequence[Sequence[sp.Symbol]], expressions: Sequence[sp.Expr]
) -> tuple[list[list[sp.Symbol]], list[sp.Expr]]:
    """Rename the argument symbols to symbols whose names are Python identifiers, in one pass.

    ``lambdify`` renames every argument whose name is not an identifier (``S_{AB}'``,
    ``Delta_{A}(t,t)``) with a separate ``xreplace`` over all expressions, which costs
    O(arguments x expression size): minutes for the two-time DMFT of a dense 16-region
    graph (a single ``Dummy`` argument makes it rename all of them). One simultaneous
    ``xreplace`` here does the same in seconds; the new symbols ``_arg<k>`` keep the
    assumptions, and an empty group gets one placeholder ``_unused<i>``.

    Returns
    -------
    groups, expressions
        The renamed groups and expressions (same order and structure).
    """
    mapping = {
        symbol: sp.Symbol(f"_arg{k}", **symbol.assumptions0)
        for k, symbol in enumerate(dict.fromkeys(x for group in groups for x in group))
    }
    renamed = list(sp.Tuple(*[sp.sympify(e) for e in expressions]).xreplace(mapping)) if expressions else []
    # an empty group still needs an argument: a named placeholder (a Dummy would make lambdify
    # rename every argument again)
    return [[mapping[x] for x in group] or [sp.Symbol(f"_unused{i}")] for i, group in enumerate(groups)], renamed


def lambdify_batched(
    groups: Sequence[Sequence[sp.Symbol]],
    expressions: Sequence[sp.Expr],
    output_shape: tuple[int, ...] | None = None,
    cse: bool = True,
) -> Callable[..., np.ndarray]:
    """Compile expressions of grouped symbols into a batched numpy function.

    Parameters
    ----------
    groups : sequence of sequences of sympy.Symbol
        One group per argument of the compiled function.
    expressions : sequence of sympy.Expr
        Outputs.
    output_shape : tuple of int, optional
        Reshape the stacked outputs' last axis to this shape (e.g. (C, C)).
    cse : bool
        Use common-subexpression elimination (recommended for large systems).

    Returns
    -------
    callable
        ``f(*arrays)`` with ``arrays[i].shape == batch_i + (len(groups[i]),)``;
        returns an array of shape ``broadcast(batch_i) + output_shape``.
    """
    groups = [list(g) for g in groups]
    renamed, expressions = identifier_arguments(groups, expressions)
    raw = sp.lambdify(renamed, expressions, modules=MODULES, cse=cse)
    n_out = len(expressions)
    out_shape = (n_out,) if output_shape is None else tuple(output_shape)

    def compiled(*arrays: np.ndarray) -> np.ndarray:
        if len(arrays) != len(groups):
            raise TypeError(f"expected {len(groups)} arrays, got {len(arrays)}")
        batch_shapes = []
        moved = []
        for group, array in zip(groups, arrays):
            array = np.asarray(array, dtype=float)
            if array.shape[-1:] != (len(group),) and group:
                raise ValueError(f"last axis must have length {len(group)}, got shape {array.shape}")
            batch_shapes.append(array.shape[:-1])
            moved.append(np.moveaxis(array, -1, 0) if group else np.zeros((1,)))
        batch = np.broadcast_shapes(*batch_shapes)
        values = raw(*moved)
        stacked = np.empty(batch + (n_out,), dtype=float)
        for k, value in enumerate(values):
            stacked[..., k] = np.broadcast_to(value, batch)
        return stacked.reshape(batch + out_shape)

    return compiled
