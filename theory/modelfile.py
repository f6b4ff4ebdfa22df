"""Reading model files (TOML) and presets into a :class:`ModelSpec`.

Dense form (the paper's)::

    name = "two regions"
    nonlinearity = "erf"
    regions = ["A", "B"]
    g = [1.5, 1.5]
    T = [[[...], [...]], [[...], [...]]]   # T[alpha][beta][gamma], R x R x R
    U = ...                                # optional R x R x R; default identity

Shorthands instead of ``T``: a ``[symmetric]`` table (``a``, ``b``, optional ``signs``)
or a ``[random]`` table (``radius``, ``seed``).

Edge-list form: ``edges = ["A->B", {source = "B", target = "A", rank = 2}, ...]`` with
``T`` and optional ``U`` as (C, C) matrices over channels (edge by edge, ``rank``
channels each). ``sizes`` (relative region sizes) is optional in both forms.

``[parameters]`` declares named values; any number in ``g``, ``T``, ``U``, ``sizes`` or
the shorthand tables may then be a string expression of them, parsed by
:func:`mrdmft.theory.expressions.parse_expression` (a whitelist, never ``eval``).
"""

from __future__ import annotations

import keyword
import os
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import sympy as sp

from .errors import ModelInputError
from .expressions import ALLOWED_FUNCTIONS, parse_expression
from .spec import (
    Constraint,
    Edge,
    MAX_MAGNITUDE,
    ModelSpec,
    check_model_size,
    check_region_names,
    dense_edges,
    dense_T_to_channels,
    dense_U_to_channels,
    evaluate_expressions,
    symmetric_T,
)

KNOWN_KEYS = {
    "name", "description", "nonlinearity", "regions", "g", "T", "U", "sizes",
    "edges", "symmetric", "random", "parameters",
}

RESERVED_NAMES = frozenset({"pi", "S", "T", "U", "Delta", "psi", *ALLOWED_FUNCTIONS})
"""Parameter names refused because the derivation or the expression language uses them."""
RESERVED_PREFIXES = ("S_", "T_", "U_", "g_", "psi", "Delta")

SYMPY_NAMES = frozenset(sp.__all__)
"""Names sympy's parser reads as a constant or function (``I``, ``E``, ``N``, ``oo``, ``gamma``,
``factor``, ...): refused as parameter names, because the derived equations are printed (and in
``derive --format json`` exported) as sympy strings, where ``I*S`` would read back as the
imaginary unit times ``S``."""

DEFAULT_MODEL = "fig3-1"
"""The built-in default model (paper Fig. 3, first 5-region symmetric example)."""


def preset_names() -> list[str]:
    """Names of the built-in presets, sorted."""
    folder = resources.files("mrdmft.theory") / "presets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def preset_descriptions() -> dict[str, str]:
    """Map each preset name to its one-line description."""
    return {name: _read_preset_table(name).get("description", "") for name in preset_names()}


def _read_preset_table(name: str) -> dict[str, Any]:
    text = (resources.files("mrdmft.theory") / "presets" / f"{name}.toml").read_text()
    return tomllib.loads(text)


def load_model(source: str | Path | None = None) -> ModelSpec:
    """Load a model from a TOML file path or a preset name.

    Parameters
    ----------
    source : str or Path, optional
        A path to a ``.toml`` model file or the name of a preset
        (see :func:`preset_names`). Default: :data:`DEFAULT_MODEL`.

    Returns
    -------
    ModelSpec

    Raises
    ------
    ModelInputError
        Missing file, unknown preset, invalid TOML, or any invalid field.
    """
    source = DEFAULT_MODEL if source is None else source
    if not isinstance(source, (str, os.PathLike)):
        raise ModelInputError(
            "model", f"got {type(source).__name__} {source!r}", "give a preset name or the path to a .toml model file"
        )
    if not str(source).strip():
        raise ModelInputError("model", "empty name", "give a path to a .toml file or a preset name; list them with `mrdmft presets`")
    path = Path(source)
    if str(source) in preset_names() and (path.exists() or path.is_symlink()):
        raise ModelInputError(
            "model", f"{str(source)!r} is both a built-in preset and a file or folder here",
            f"write ./{source} for the file, or run from another folder for the preset",
        )
    if path.is_dir():
        raise ModelInputError(str(path), "is a folder, not a model file", "give the path to a .toml model file")
    if path.exists() and not path.is_file():
        raise ModelInputError(str(path), "is not a regular file", "give the path to a .toml model file")
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark is not an error
        except tomllib.TOMLDecodeError as exc:
            raise ModelInputError(str(path), f"invalid TOML: {exc}", "fix the file's syntax") from None
        except RecursionError:
            raise ModelInputError(str(path), "arrays or tables are nested too deeply to read", "flatten the file's arrays") from None
        except UnicodeDecodeError:
            raise ModelInputError(str(path), "is not UTF-8 text", "save the model file as UTF-8 TOML") from None
        except OSError as exc:
            raise ModelInputError(str(path), f"cannot read file: {exc.strerror}", "check the path and its permissions") from None
        table.setdefault("name", path.stem)
        return model_from_table(table)
    if str(source) in preset_names():
        table = _read_preset_table(str(source))
        table.setdefault("name", str(source))
        return model_from_table(table)
    if path.suffix == ".toml" or "/" in str(source):
        raise ModelInputError(str(source), "no such file", "check the path to the model file")
    raise ModelInputError(
        "model", f"no file or preset named {str(source)!r}", "give a path to a .toml file or run `mrdmft presets`"
    )


def model_from_table(table: Mapping[str, Any]) -> ModelSpec:
    """Build a :class:`ModelSpec` from a parsed TOML table (see module docstring)."""
    unknown = set(table) - KNOWN_KEYS
    if unknown:
        raise ModelInputError(
            sorted(unknown)[0], "unknown key", f"known keys: {', '.join(sorted(KNOWN_KEYS))}"
        )
    parameters, symbols = _read_parameters(table.get("parameters", {}))
    reader = _FieldReader(symbols, parameters)
    regions = table.get("regions")
    if not isinstance(regions, list) or not all(isinstance(r, str) for r in regions):
        raise ModelInputError("regions", "missing or not a list of names", 'write regions = ["A", "B"]')
    R = len(regions)
    check_region_names(regions)
    g = reader.array(table.get("g", [0.0] * R), "g", (R,))
    sizes = reader.array(table.get("sizes", [1.0] * R), "sizes", (R,))
    nonlinearity = table.get("nonlinearity", "erf")
    constraints: tuple[Constraint, ...] = ()
    if "edges" in table:
        edges = _read_edges(table["edges"])
        n_channels = sum(e.rank for e in edges)
        check_model_size(R, n_channels, "edges")
        for key in ("symmetric", "random"):
            if key in table:
                raise ModelInputError(key, "shorthand only builds the dense form", "give T over channels for an edge list")
        if "T" not in table:
            raise ModelInputError("T", "missing", f"give a {n_channels} x {n_channels} matrix over channels")
        T = reader.array(table["T"], "T", (n_channels, n_channels))
        if "U" in table:
            U = reader.array(table["U"], "U", (n_channels, n_channels))
        else:
            targets = np.array([e.target for e in edges for _ in range(e.rank)])
            U = (targets[:, None] == targets[None, :]) * np.eye(n_channels)
    else:
        check_model_size(R, R * R)
        edges = dense_edges(regions)
        T3, constraints = _dense_T(table, reader, R)
        for constraint in constraints:  # before T is evaluated: a negative b would surface as sqrt(b) in T
            constraint.check(parameters)
        T = dense_T_to_channels(T3)
        U3 = reader.array(table["U"], "U", (R, R, R)) if "U" in table else np.broadcast_to(np.eye(R), (R, R, R)).copy()
        U = dense_U_to_channels(U3)
    fields = {"T": T, "U": U, "g": g, "sizes": sizes}
    symbolic = {k: v for k, v in fields.items() if v.dtype == object}
    numeric = {
        k: evaluate_expressions(v, parameters, k) if v.dtype == object else v for k, v in fields.items()
    }
    name = table.get("name", "model")
    if not isinstance(name, str):
        raise ModelInputError("name", "not a string", 'write name = "my model"')
    return ModelSpec(
        name=name,
        regions=tuple(regions),
        edges=edges,
        nonlinearity=nonlinearity,
        parameters=parameters,
        symbolic=symbolic,
        description=table.get("description", ""),
        constraints=constraints,
        **numeric,
    )


def _dense_T(table: Mapping[str, Any], reader: "_FieldReader", R: int) -> tuple[np.ndarray, tuple[Constraint, ...]]:
    """``T[alpha][beta][gamma]`` from ``T`` or a shorthand, and the shorthand's constraints."""
    given = [k for k in ("T", "symmetric", "random") if k in table]
    if len(given) != 1:
        raise ModelInputError(
            "T", "give exactly one of T, [symmetric], [random]" if given else "missing", "see README 'Model files'"
        )
    if "T" in table:
        return reader.array(table["T"], "T", (R, R, R)), ()
    if "symmetric" in table:
        sym = table["symmetric"]
        _require_table(sym, "symmetric", {"a", "b", "signs"})
        a = reader.array(sym.get("a"), "symmetric.a", (R,))
        b = reader.array(sym.get("b"), "symmetric.b", (R,))
        signs = reader.array(sym.get("signs", [1.0] * R), "symmetric.signs", (R,))
        constraints = tuple(
            Constraint(field, value, kind)
            for field, array, kind in (("symmetric.b", b, "nonnegative"), ("symmetric.signs", signs, "sign"))
            for value in array
            if isinstance(value, sp.Basic) and value.free_symbols
        )
        if b.dtype != object and np.any(b < 0):
            raise ModelInputError("symmetric.b", "cross-loop strengths must be >= 0", "b is a squared overlap; use b >= 0")
        plain_signs = [float(x) for x in signs if not (isinstance(x, sp.Basic) and x.free_symbols)]
        if any(abs(abs(x) - 1.0) > 1e-12 for x in plain_signs):
            raise ModelInputError("symmetric.signs", "signs must be +1 or -1", "write e.g. signs = [1, -1]")
        return symmetric_T(a, b, signs), constraints
    rnd = table["random"]
    _require_table(rnd, "random", {"radius", "seed"})
    radius = rnd.get("radius")
    seed = rnd.get("seed", 0)
    if not isinstance(radius, (int, float)) or isinstance(radius, bool) or not np.isfinite(radius) or radius < 0:
        problem = "is missing" if radius is None else f"{radius!r} is not a number >= 0"
        raise ModelInputError("random.radius", problem, "write radius = 2.0")
    if radius > MAX_MAGNITUDE:
        raise ModelInputError("random.radius", f"{radius:.7g} is larger than {MAX_MAGNITUDE:.7g}", "use a smaller radius")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ModelInputError("random.seed", f"{seed!r} is not an integer >= 0", "write seed = 7")
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, radius / np.sqrt(R), size=(R, R, R)), ()


def _require_table(value: Any, name: str, allowed: set[str]) -> None:
    if not isinstance(value, Mapping):
        raise ModelInputError(name, "is not a table", f"write [{name}] followed by its keys")
    extra = set(value) - allowed
    if extra:
        raise ModelInputError(f"{name}.{sorted(extra)[0]}", "unknown key", f"known keys: {', '.join(sorted(allowed))}")


def _read_edges(value: Any) -> tuple[Edge, ...]:
    if not isinstance(value, list) or not value:
        raise ModelInputError("edges", "not a non-empty list", 'write edges = ["A->B", "B->A"]')
    edges = []
    for item in value:
        if isinstance(item, str):
            parts = item.split("->")
            if len(parts) != 2 or not all(p.strip() for p in parts):
                raise ModelInputError("edges", f"{item!r} is not 'SOURCE->TARGET'", 'write "A->B"')
            edges.append(Edge(parts[0].strip(), parts[1].strip()))
        elif isinstance(item, Mapping) and {"source", "target"} <= set(item) and set(item) <= {"source", "target", "rank"}:
            rank = item.get("rank", 1)
            if not isinstance(rank, int) or isinstance(rank, bool) or rank < 1:
                raise ModelInputError(
                    "edges", f"rank {rank!r} of {item['source']}->{item['target']} is not an integer >= 1", "use rank = 1, 2, ..."
                )
            edges.append(Edge(str(item["source"]), str(item["target"]), rank))
        else:
            raise ModelInputError("edges", f"cannot read edge {item!r}", 'use "A->B" or {source = "A", target = "B", rank = 2}')
    return tuple(edges)


def _read_parameters(value: Any) -> tuple[dict[str, float], dict[str, sp.Symbol]]:
    if not isinstance(value, Mapping):
        raise ModelInputError("parameters", "is not a table", "write [parameters] then name = value lines")
    parameters = {}
    for key, number in value.items():
        if keyword.iskeyword(key):
            raise ModelInputError(f"parameters.{key}", "is a Python keyword, which expressions cannot name", "rename it")
        if not key.isidentifier() or key.startswith("_"):
            raise ModelInputError(f"parameters.{key}", "is not a valid parameter name", "use letters, digits and _")
        if key in RESERVED_NAMES or key.startswith(RESERVED_PREFIXES):
            raise ModelInputError(
                f"parameters.{key}",
                "clashes with a name the derivation or the expression language uses",
                f"rename it; reserved: {', '.join(sorted(RESERVED_NAMES))} and names starting with "
                f"{', '.join(RESERVED_PREFIXES)}",
            )
        if key in SYMPY_NAMES:
            raise ModelInputError(
                f"parameters.{key}",
                f"is sympy's own name {key} ({type(getattr(sp, key)).__name__}), so the derived equations "
                "(sympy strings in derive's output) would not read back as this parameter",
                f"rename it, e.g. {key}_1",
            )
        if not isinstance(number, (int, float)) or isinstance(number, bool) or not np.isfinite(number):
            raise ModelInputError(f"parameters.{key}", f"{number!r} is not a finite number", "give the default value as a number")
        parameters[key] = float(number)
    return parameters, {k: sp.Symbol(k, real=True) for k in parameters}


class _FieldReader:
    """Turns nested TOML lists (numbers or expression strings) into arrays."""

    def __init__(self, symbols: Mapping[str, sp.Symbol], parameters: Mapping[str, float]) -> None:
        self.symbols = symbols
        self.parameters = parameters

    def array(self, value: Any, field: str, shape: tuple[int, ...]) -> np.ndarray:
        """Float array, or object array of sympy expressions if any entry is a string."""
        if value is None:
            raise ModelInputError(field, "missing", f"give an array of shape {shape}")
        actual = _nested_shape(value, field)
        if actual != shape:
            raise ModelInputError(field, f"has shape {actual}, expected {shape}", f"give an array of shape {shape}")
        flat = list(_flatten(value))
        if any(isinstance(x, str) for x in flat):
            exprs = [self._entry(x, field, symbolic=True) for x in flat]
            return np.array(exprs, dtype=object).reshape(shape)
        return np.array([self._entry(x, field, symbolic=False) for x in flat], dtype=float).reshape(shape)

    def _entry(self, x: Any, field: str, symbolic: bool) -> Any:
        if isinstance(x, bool) or not isinstance(x, (int, float, str)):
            raise ModelInputError(field, f"{x!r} is not a number", "give numbers or expression strings")
        if isinstance(x, str):
            if not self.symbols and not x.strip():
                raise ModelInputError(field, "empty string", "give a number")
            return parse_expression(x, self.symbols, field)
        if not np.isfinite(x):
            raise ModelInputError(field, f"{x} is not finite", "give finite numbers")
        if symbolic:
            return sp.Integer(int(x)) if float(x).is_integer() else sp.Float(x)
        return float(x)


def _nested_shape(value: Any, field: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    if not value:
        return (0,)
    shapes = {_nested_shape(v, field) for v in value}
    if len(shapes) != 1:
        raise ModelInputError(field, "rows have different lengths", "make the nested lists rectangular")
    return (len(value),) + shapes.pop()


def _flatten(value: Any):
    if isinstance(value, list):
        for v in value:
            yield from _flatten(v)
    else:
        yield value
