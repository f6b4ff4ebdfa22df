"""The validated, immutable description of a multiregion network (THEORY §1).

A :class:`ModelSpec` is the first stage of the pipeline. It stores the region graph
(regions and directed low-rank edges), the overlaps that enter the mean-field theory,
and the disorder of each region:

* ``T[e, f] = <n^e m^f>`` between the *output* vector of channel ``e`` (an edge
  ``beta -> alpha``, read out in region beta) and the *input* vector of channel ``f``
  (an edge ``gamma -> beta``, living in region beta). It may be nonzero only when the
  source region of ``e`` is the target region of ``f``. In the paper's dense form
  ``T[(alpha, beta), (beta, gamma)] = T^{alpha beta gamma}``.
* ``U[f, f'] = <m^f m^f'>`` between input vectors of channels entering the same region.
* ``g[alpha] >= 0``, the within-region disorder.

Channels are ordered edge by edge, ``rank`` channels per edge. In the dense form the
edges are ordered by target then source, so channel ``alpha * R + beta`` is the current
``S^{alpha beta}`` from beta into alpha.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import sympy as sp

from .errors import ModelInputError

NONLINEARITIES = ("erf",)
"""Supported single-neuron nonlinearities. ``erf`` means phi(x) = erf(sqrt(pi) x / 2)."""

PSD_TOLERANCE = 1e-10
MAX_MAGNITUDE = 1e6
"""Largest |value| accepted in T, U, g and sizes (beyond it no solver is meaningful)."""

MAX_CHANNELS = 1024
"""Largest number of currents C (sum of edge ranks; R^2 in the dense form, i.e. R <= 32).

The symbolic derivation and its Jacobian grow like C^2 (C = 900 takes about half a minute);
beyond this limit a model is refused up front instead of exhausting memory or time."""


def check_model_size(n_regions: int, n_channels: int, field: str = "regions") -> None:
    """Refuse a model with more than :data:`MAX_CHANNELS` currents, before anything is allocated.

    Raises
    ------
    ModelInputError
        ``n_channels > MAX_CHANNELS`` (reported under ``field``).
    """
    if n_channels > MAX_CHANNELS:
        regions = f"{n_regions} region" + ("" if n_regions == 1 else "s")
        raise ModelInputError(
            field,
            f"{n_channels} currents (one per channel of every edge, {regions}) exceed the "
            f"{MAX_CHANNELS} the symbolic derivation handles",
            "use fewer regions, lower ranks or an edge list with only the edges you need",
        )


RESERVED_NAME_MARKS = ("->", ":", ",", ";", "|")
"""Separators of edge names (``A->B``, ``A->B:1``) and of the derivation's symbol labels
(``S_{B,A;1}``, ``T_{e|f}``); a region name containing one could make two symbols equal."""


_BLANK_CHARACTERS = frozenset(
    [0x034F, 0x115F, 0x1160, 0x2800, 0x3164, 0xFFA0, *range(0x180B, 0x1810), *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)]
)
"""Characters that print as nothing or as blank space although they are letters or symbols
(Hangul fillers, braille blank, variation selectors, the combining grapheme joiner)."""


def hidden_character(text: str, allowed: str = "") -> str | None:
    """The first character of ``text`` that a reader cannot see, or None.

    Control, format, private-use and unassigned characters (Unicode categories ``C*``),
    separators other than those in ``allowed`` (``Z*``: line/paragraph separators, exotic
    spaces) and :data:`_BLANK_CHARACTERS`.
    """
    for char in text:
        if char in allowed:
            continue
        category = unicodedata.category(char)
        if category[0] in "CZ" or ord(char) in _BLANK_CHARACTERS:
            return char
    return None


def check_region_names(regions: Sequence[object]) -> None:
    """Region names must be non-empty, visible, unambiguous text.

    Refused: non-strings, empty names, :data:`RESERVED_NAME_MARKS`, leading or trailing
    white space, characters a reader cannot see (:func:`hidden_character`: newline, NUL,
    U+202E, U+3164, variation selectors), a leading combining mark, and names equal after
    Unicode NFKC normalization (``Ω`` ohm sign vs Greek omega, ``ﬁ`` vs ``fi``).

    Raises
    ------
    ModelInputError
        The first offending name.
    """
    if not regions:
        raise ModelInputError("regions", "no regions given", "list at least one region name")
    seen: dict[str, str] = {}
    for name in regions:
        if not isinstance(name, str) or not name or any(mark in name for mark in RESERVED_NAME_MARKS):
            raise ModelInputError(
                "regions", f"invalid region name {name!r}",
                "use non-empty names without " + ", ".join(f"'{mark}'" for mark in RESERVED_NAME_MARKS),
            )
        if name != name.strip():
            raise ModelInputError("regions", f"region name {name!r} has leading or trailing white space", "remove it")
        hidden = hidden_character(name, allowed=" ")
        if hidden is not None:
            raise ModelInputError(
                "regions", f"region name {name!r} contains the invisible or control character U+{ord(hidden):04X}",
                "use visible characters only",
            )
        if unicodedata.category(name[0]).startswith("M"):
            raise ModelInputError(
                "regions", f"region name {name!r} starts with the combining mark U+{ord(name[0]):04X}",
                "start it with a visible character",
            )
        key = unicodedata.normalize("NFKC", name)
        if key in seen:
            clash = "repeat" if seen[key] == name else f"{seen[key]!r} and {name!r} look the same (Unicode NFKC)"
            raise ModelInputError("regions", f"region names {clash}", "give each region a unique name")
        seen[key] = name


@dataclass(frozen=True)
class Constraint:
    """A condition on an expression of ``[parameters]`` (e.g. a shorthand's ``b >= 0``).

    ``kind`` is ``"nonnegative"`` (value >= 0) or ``"sign"`` (value is +1 or -1).
    """

    field: str
    expression: sp.Expr
    kind: str

    def check(self, parameters: Mapping[str, float]) -> None:
        """Raise ModelInputError if the expression violates the condition at ``parameters``."""
        value = float(evaluate_expressions(np.array([self.expression], dtype=object), parameters, self.field)[0])
        if self.kind == "nonnegative" and value < 0:
            raise ModelInputError(self.field, f"{self.expression} = {value:.6g} is negative", "it must be >= 0")
        if self.kind == "sign" and abs(abs(value) - 1.0) > 1e-12:
            raise ModelInputError(self.field, f"{self.expression} = {value:.6g} is not +1 or -1", "signs are +1 or -1")


@dataclass(frozen=True)
class Edge:
    """A directed low-rank connection ``source -> target`` of rank ``rank``."""

    source: str
    target: str
    rank: int = 1

    @property
    def name(self) -> str:
        """The edge name ``"SOURCE->TARGET"`` used in JSON output."""
        return f"{self.source}->{self.target}"


@dataclass(frozen=True)
class Channel:
    """Channel ``index`` (0-based) of an edge; one current ``S`` per channel."""

    edge: Edge
    index: int

    @property
    def name(self) -> str:
        """``"SOURCE->TARGET"``, with ``":d"`` appended when the edge has rank > 1."""
        return self.edge.name if self.edge.rank == 1 else f"{self.edge.name}:{self.index}"


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, dtype=float, copy=True)
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class Structure:
    """What a derivation depends on: the region graph and the nonlinearity.

    Hashable, so derivations and compiled functions are cached per structure and a
    sweep over numbers (g, T, U) never re-derives.
    """

    regions: tuple[str, ...]
    edges: tuple[Edge, ...]
    nonlinearity: str = "erf"

    @cached_property
    def channels(self) -> tuple[Channel, ...]:
        """All channels, edge by edge."""
        return tuple(Channel(edge, d) for edge in self.edges for d in range(edge.rank))

    @property
    def n_regions(self) -> int:
        """Number of regions R."""
        return len(self.regions)

    @property
    def n_channels(self) -> int:
        """Number of currents C."""
        return len(self.channels)

    @cached_property
    def channel_source(self) -> np.ndarray:
        """Index of the source region of each channel (where it is read out)."""
        index = {name: i for i, name in enumerate(self.regions)}
        return np.array([index[c.edge.source] for c in self.channels], dtype=int)

    @cached_property
    def channel_target(self) -> np.ndarray:
        """Index of the target region of each channel (where its input vector lives)."""
        index = {name: i for i, name in enumerate(self.regions)}
        return np.array([index[c.edge.target] for c in self.channels], dtype=int)

    @cached_property
    def T_mask(self) -> np.ndarray:
        """Boolean (C, C): where ``T[e, f]`` may be nonzero (source of e == target of f)."""
        return self.channel_source[:, None] == self.channel_target[None, :]

    @cached_property
    def U_mask(self) -> np.ndarray:
        """Boolean (C, C): where ``U[f, f']`` may be nonzero (same target region)."""
        return self.channel_target[:, None] == self.channel_target[None, :]


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """Validated description of a multiregion network.

    Parameters
    ----------
    name : str
        Human-readable model name.
    regions : tuple of str
        Region names, in order.
    edges : tuple of Edge
        Directed low-rank edges.
    T : numpy.ndarray, shape (C, C)
        Effective interactions between channels (see module docstring).
    U : numpy.ndarray, shape (C, C)
        Input overlaps; block diagonal by target region, symmetric, PSD per region.
    g : numpy.ndarray, shape (R,)
        Within-region disorder strengths, ``g >= 0``.
    nonlinearity : str
        ``"erf"`` (phi(x) = erf(sqrt(pi) x / 2), closed-form Gaussian averages).
    sizes : numpy.ndarray, shape (R,)
        Region sizes relative to N (N_alpha / N); used by simulations.
    parameters : Mapping[str, float]
        Named parameters and their current values.
    symbolic : Mapping[str, numpy.ndarray]
        For fields written as expressions of ``parameters``: object arrays of sympy
        expressions with the field's shape.
    description : str
        One line describing the model.
    constraints : tuple of Constraint
        Conditions on ``[parameters]`` expressions of shorthand tables (``b >= 0``,
        ``signs = +-1``), checked whenever the parameters change.
    """

    name: str
    regions: tuple[str, ...]
    edges: tuple[Edge, ...]
    T: np.ndarray
    U: np.ndarray
    g: np.ndarray
    nonlinearity: str = "erf"
    sizes: np.ndarray | None = None
    parameters: Mapping[str, float] = field(default_factory=dict)
    symbolic: Mapping[str, np.ndarray] = field(default_factory=dict)
    description: str = ""
    constraints: tuple["Constraint", ...] = ()

    def __post_init__(self) -> None:
        regions = tuple(self.regions)
        object.__setattr__(self, "regions", regions)
        object.__setattr__(self, "edges", tuple(self.edges))
        object.__setattr__(self, "parameters", dict(self.parameters))
        object.__setattr__(self, "symbolic", dict(self.symbolic))
        self._check_labels()
        self._validate_graph()
        n_channels = len(self.channels)
        object.__setattr__(self, "T", _checked_array(self.T, "T", (n_channels, n_channels)))
        object.__setattr__(self, "U", _checked_array(self.U, "U", (n_channels, n_channels)))
        object.__setattr__(self, "g", _checked_array(self.g, "g", (len(regions),)))
        sizes = np.ones(len(regions)) if self.sizes is None else self.sizes
        object.__setattr__(self, "sizes", _checked_array(sizes, "sizes", (len(regions),)))
        for constraint in self.constraints:  # before the values: a negative b would show up as sqrt(b) in T
            constraint.check(self.parameters)
        self._validate_values()

    # ------------------------------------------------------------------ structure
    @cached_property
    def structure(self) -> Structure:
        """The hashable graph + nonlinearity this model's derivation depends on."""
        return Structure(self.regions, self.edges, self.nonlinearity)

    @property
    def channels(self) -> tuple[Channel, ...]:
        """All channels, edge by edge."""
        return self.structure.channels

    @property
    def channel_names(self) -> list[str]:
        """Names of the channels (JSON keys of currents)."""
        return [channel.name for channel in self.channels]

    @property
    def n_regions(self) -> int:
        """Number of regions R."""
        return self.structure.n_regions

    @property
    def n_channels(self) -> int:
        """Number of currents C (sum of edge ranks)."""
        return self.structure.n_channels

    @cached_property
    def region_index(self) -> dict[str, int]:
        """Map from region name to its position."""
        return {name: i for i, name in enumerate(self.regions)}

    @property
    def channel_source(self) -> np.ndarray:
        """Index of the source region of each channel."""
        return self.structure.channel_source

    @property
    def channel_target(self) -> np.ndarray:
        """Index of the target region of each channel."""
        return self.structure.channel_target

    @property
    def T_mask(self) -> np.ndarray:
        """Boolean (C, C): where ``T[e, f]`` may be nonzero."""
        return self.structure.T_mask

    @property
    def U_mask(self) -> np.ndarray:
        """Boolean (C, C): where ``U[f, f']`` may be nonzero."""
        return self.structure.U_mask

    @property
    def is_dense(self) -> bool:
        """True for the paper's form: every ordered pair of regions, rank one, in order."""
        R = self.n_regions
        expected = tuple(
            Edge(self.regions[b], self.regions[a]) for a in range(R) for b in range(R)
        )
        return self.edges == expected

    def dense_T(self) -> np.ndarray:
        """Return ``T[alpha, beta, gamma]`` (R, R, R) for a dense model."""
        if not self.is_dense:
            raise ModelInputError("T", "model is not in dense form", "use the (C, C) array spec.T")
        R = self.n_regions
        out = np.zeros((R, R, R))
        for a in range(R):
            for b in range(R):
                out[a, b, :] = self.T[a * R + b, b * R : (b + 1) * R]
        return out

    @property
    def structure_key(self) -> str:
        """Short hash of :attr:`structure` (for file names and logs)."""
        return hashlib.sha256(repr(self.structure).encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ parameters
    def with_parameters(self, **values: float) -> "ModelSpec":
        """Return a copy with some ``[parameters]`` changed and fields re-evaluated.

        Raises
        ------
        ModelInputError
            If a name is not a declared parameter or a value is not finite.
        """
        for key, value in values.items():
            if key not in self.parameters:
                raise ModelInputError(
                    f"parameters.{key}",
                    "not a declared parameter",
                    f"declared: {', '.join(self.parameters) or 'none'}",
                )
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise ModelInputError(f"parameters.{key}", f"{value!r} is not a number", "give a finite number")
            if not np.isfinite(value):
                raise ModelInputError(f"parameters.{key}", f"value {value} is not finite", "give a finite number")
        merged = {**self.parameters, **{k: float(v) for k, v in values.items()}}
        updates = {
            name: evaluate_expressions(array, merged, name) for name, array in self.symbolic.items()
        }
        return replace(self, parameters=merged, **updates)

    def with_values(self, **fields: np.ndarray) -> "ModelSpec":
        """Return a validated copy with numeric fields (``T``, ``U``, ``g``) replaced."""
        symbolic = {k: v for k, v in self.symbolic.items() if k not in fields}
        return replace(self, symbolic=symbolic, **fields)

    # ------------------------------------------------------------------ validation
    def _check_labels(self) -> None:
        """Name and description are text a reader sees in terminals and reports."""
        for field_name, allowed in (("name", " "), ("description", " \n\t")):
            text = getattr(self, field_name)
            if not isinstance(text, str):
                raise ModelInputError(field_name, f"{text!r} is not a string", f'write {field_name} = "..."')
            if field_name == "name" and not text.strip():
                raise ModelInputError("name", "is empty", 'give the model a name, e.g. name = "my model", or omit the line to use the file name')
            hidden = hidden_character(text, allowed=allowed)
            if hidden is not None:
                raise ModelInputError(
                    field_name, f"contains the invisible or control character U+{ord(hidden):04X}",
                    "use visible characters" + (" and line breaks" if "\n" in allowed else " on one line"),
                )

    def _validate_graph(self) -> None:
        check_region_names(self.regions)
        if self.nonlinearity not in NONLINEARITIES:
            raise ModelInputError(
                "nonlinearity", f"unknown nonlinearity {self.nonlinearity!r}", f"use one of {', '.join(NONLINEARITIES)}"
            )
        seen = set()
        for edge in self.edges:
            for end in (edge.source, edge.target):
                if end not in self.regions:
                    twins = [r for r in self.regions if unicodedata.normalize("NFKC", r) == unicodedata.normalize("NFKC", str(end))]
                    detail = f" (it differs from region {twins[0]!r} only in its Unicode form)" if twins else ""
                    raise ModelInputError(
                        "edges", f"edge {edge.name} names unknown region {end!r}{detail}",
                        f"regions are {', '.join(self.regions)}",
                    )
            if not isinstance(edge.rank, int) or edge.rank < 1:
                raise ModelInputError("edges", f"edge {edge.name} has rank {edge.rank}", "use an integer rank >= 1")
            if edge.name in seen:
                raise ModelInputError("edges", f"edge {edge.name} appears twice", "merge them into one edge with a higher rank")
            seen.add(edge.name)
        check_model_size(len(self.regions), sum(edge.rank for edge in self.edges), "edges")

    def _validate_values(self) -> None:
        for name in ("T", "U", "g", "sizes"):
            largest = float(np.abs(getattr(self, name)).max(initial=0.0))
            if largest > MAX_MAGNITUDE:
                raise ModelInputError(
                    name, f"contains a value of size {largest:.7g}", f"use values of size at most {MAX_MAGNITUDE:.7g}"
                )
        if np.any(self.g < 0):
            bad = self.regions[int(np.argmax(self.g < 0))]
            raise ModelInputError("g", f"negative disorder g = {self.g.min()} in region {bad}", "use g >= 0")
        if np.any(self.sizes <= 0):
            raise ModelInputError("sizes", "region sizes must be positive", "use N_alpha / N > 0")
        stray_T = np.abs(self.T[~self.T_mask])
        if stray_T.size and stray_T.max() > 0:
            raise ModelInputError(
                "T",
                "nonzero overlap <n^e m^f> between channels that do not meet in one region",
                "T[e, f] may be nonzero only when the source of e is the target of f",
            )
        if not np.allclose(self.U, self.U.T, atol=1e-12, rtol=0):
            raise ModelInputError("U", "input overlaps are not symmetric", "make U[f, f'] == U[f', f]")
        stray_U = np.abs(self.U[~self.U_mask])
        if stray_U.size and stray_U.max() > 0:
            raise ModelInputError(
                "U", "overlap between input vectors of different regions", "U[f, f'] is nonzero only within a region"
            )
        for r, region in enumerate(self.regions):
            idx = np.flatnonzero(self.channel_target == r)
            if idx.size == 0:
                continue
            block = self.U[np.ix_(idx, idx)]
            lowest = float(np.linalg.eigvalsh(block).min())
            if lowest < -PSD_TOLERANCE * max(1.0, float(np.abs(block).max())):
                raise ModelInputError(
                    "U",
                    f"input overlaps of region {region} are not positive semidefinite (eigenvalue {lowest:.3g})",
                    "U must be a covariance matrix of the input vectors",
                )
            self._check_T_in_range_of_U(r, idx, block)

    def _check_T_in_range_of_U(self, region: int, into: np.ndarray, block: np.ndarray) -> None:
        """No network exists if n correlates with a direction in which m has zero variance (THEORY §1)."""
        out_of = np.flatnonzero(self.channel_source == region)
        if out_of.size == 0:
            return
        values, vectors = np.linalg.eigh(block)
        scale = max(1.0, float(np.abs(block).max()))
        null = vectors[:, values <= PSD_TOLERANCE * scale]
        if null.size == 0:
            return
        leak = np.abs(self.T[np.ix_(out_of, into)] @ null).max()
        if leak > 1e-9 * max(1.0, float(np.abs(self.T).max())):
            raise ModelInputError(
                "T",
                f"correlates n with a direction in which the input vectors of region {self.regions[region]} have "
                "zero variance (U is singular there), so no network has these overlaps",
                "make U positive definite on that region or set those T entries to zero",
            )


def _plain_complex(value: complex) -> str:
    """``nan``, ``inf`` or ``1i`` / ``2 + 1i`` (sympy's ``I`` is not a reader's notation)."""
    if not (np.isfinite(value.real) and np.isfinite(value.imag)):
        return "a non-finite value"
    return f"{value.real:g} {'+' if value.imag >= 0 else '-'} {abs(value.imag):g}i" if value.real else f"{value.imag:g}i"


def _checked_array(value: object, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """Convert to a read-only float array of the given shape or raise ModelInputError."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ModelInputError(name, "contains a non-numeric value", "give numbers (or [parameters] expressions in a model file)") from None
    if array.shape != shape:
        raise ModelInputError(name, f"has shape {array.shape}, expected {shape}", f"give an array of shape {shape}")
    if not np.all(np.isfinite(array)):
        raise ModelInputError(name, "contains NaN or infinite values", "give finite numbers")
    return _readonly(array)


def evaluate_expressions(array: np.ndarray, values: Mapping[str, float], name: str) -> np.ndarray:
    """Evaluate an object array of sympy expressions at parameter ``values``."""
    subs = {sp.Symbol(k, real=True): sp.Float(v) for k, v in values.items()}
    out = np.empty(array.shape, dtype=float)
    for index, expr in np.ndenumerate(array):
        shown = str(expr) if len(str(expr)) <= 60 else str(expr)[:57] + "..."
        try:
            number = sp.sympify(expr).xreplace(subs).evalf() if not isinstance(expr, (int, float)) else expr
            value = complex(number)
        except TypeError:
            raise ModelInputError(name, f"expression {shown} depends on undeclared names", "declare them in [parameters]") from None
        except (OverflowError, ValueError, ZeroDivisionError):
            value = complex("nan")
        if not np.isfinite(value.real) or abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
            where = f" with {', '.join(f'{k} = {v:g}' for k, v in values.items())}" if values else ""
            raise ModelInputError(
                name, f"expression {shown} evaluates to {_plain_complex(value)}, not a finite real number{where}",
                "check the expression and the parameter values",
            )
        out[index] = value.real
    return out


# ---------------------------------------------------------------------- builders
def dense_edges(regions: Sequence[str]) -> tuple[Edge, ...]:
    """All ordered pairs as rank-one edges, ordered by target then source."""
    return tuple(Edge(source, target) for target in regions for source in regions)


def dense_T_to_channels(T3: np.ndarray) -> np.ndarray:
    """Map ``T[alpha, beta, gamma]`` (R, R, R) to the channel matrix (R*R, R*R)."""
    R = T3.shape[0]
    out = np.zeros((R * R, R * R), dtype=T3.dtype)
    for a in range(R):
        for b in range(R):
            out[a * R + b, b * R : (b + 1) * R] = T3[a, b, :]
    return out


def dense_U_to_channels(U3: np.ndarray) -> np.ndarray:
    """Map ``U[beta, gamma, gamma']`` (R, R, R) to the channel matrix (R*R, R*R)."""
    R = U3.shape[0]
    out = np.zeros((R * R, R * R), dtype=U3.dtype)
    for b in range(R):
        out[b * R : (b + 1) * R, b * R : (b + 1) * R] = U3[b]
    return out


def symmetric_T(a: np.ndarray, b: np.ndarray, signs: np.ndarray) -> np.ndarray:
    """Build ``T[alpha, beta, gamma] = delta_{alpha gamma} c[alpha, beta]`` (THEORY §5).

    ``c = u u^T + diag(a - b)`` with ``u = signs * sqrt(b)``, so ``c[alpha, alpha] = a``
    (self-loop strength) and ``c[alpha, beta]^2 = b^alpha b^beta``. Works on float arrays
    and on object arrays of sympy expressions.
    """
    symbolic = a.dtype == object or b.dtype == object or signs.dtype == object
    sqrt = np.vectorize(sp.sqrt, otypes=[object]) if symbolic else np.sqrt
    if symbolic:
        signs = np.array(
            [sp.Integer(int(s)) if isinstance(s, (int, float, np.integer, np.floating)) and float(s).is_integer() else s for s in signs],
            dtype=object,
        )
    u = signs * sqrt(b)
    c = np.outer(u, u) + np.diag(a - b)
    R = len(a)
    T3 = np.zeros((R, R, R), dtype=object if symbolic else float)
    for alpha in range(R):
        T3[alpha, :, alpha] = c[alpha, :]
    return T3


def require_spec(spec: object, field: str = "spec") -> ModelSpec:
    """Return ``spec`` if it is a :class:`ModelSpec`; otherwise say how to get one.

    Raises
    ------
    ModelInputError
        On ``field`` for anything else (e.g. a preset name given where a spec is expected).
    """
    if isinstance(spec, ModelSpec):
        return spec
    fix = "build it with mrdmft.load_model(...)"
    if isinstance(spec, str):
        fix = f"load it first: load_model({spec!r})"
    raise ModelInputError(field, f"expected a ModelSpec, got {type(spec).__name__} {spec!r:.60}", fix)


def dense_model(
    regions: Sequence[str],
    T3: np.ndarray,
    g: Sequence[float],
    U3: np.ndarray | None = None,
    name: str = "model",
    **kwargs: object,
) -> ModelSpec:
    """Build a dense-form :class:`ModelSpec` from ``T[alpha][beta][gamma]``.

    Parameters
    ----------
    regions : sequence of str
        Region names.
    T3 : array_like, shape (R, R, R)
        ``T^{alpha beta gamma} = <n^{alpha beta} m^{beta gamma}>``.
    g : sequence of float
        Disorder per region.
    U3 : array_like, shape (R, R, R), optional
        ``U^{beta gamma gamma'}``; identity in every region by default.
    name : str
        Model name.
    **kwargs
        Further :class:`ModelSpec` fields.
    """
    regions = tuple(regions)
    R = len(regions)
    T3 = _checked_array(T3, "T", (R, R, R))
    U3 = np.broadcast_to(np.eye(R), (R, R, R)) if U3 is None else _checked_array(U3, "U", (R, R, R))
    return ModelSpec(
        name=name,
        regions=regions,
        edges=dense_edges(regions),
        T=dense_T_to_channels(np.asarray(T3)),
        U=dense_U_to_channels(np.asarray(U3)),
        g=np.asarray(g, dtype=float) if np.ndim(g) else np.full(R, float(g)),
        **kwargs,
    )


def symmetric_model(
    a: Sequence[float],
    b: Sequence[float],
    g: Sequence[float] | float = 0.0,
    signs: Sequence[float] | None = None,
    regions: Sequence[str] | None = None,
    name: str = "symmetric",
    **kwargs: object,
) -> ModelSpec:
    """Dense model with symmetric effective interactions (THEORY §5), U = identity."""
    check_model_size(len(a), len(a) ** 2)
    a_arr = _checked_array(a, "symmetric.a", (len(a),))
    b_arr = _checked_array(b, "symmetric.b", (len(a),))
    if np.any(b_arr < 0):
        raise ModelInputError("symmetric.b", "cross-loop strengths must be >= 0", "b is a squared overlap; use b >= 0")
    s_arr = np.ones(len(a)) if signs is None else _checked_array(signs, "symmetric.signs", (len(a),))
    if np.any(np.abs(np.abs(s_arr) - 1.0) > 1e-12):
        raise ModelInputError("symmetric.signs", "signs must be +1 or -1", "write e.g. signs = [1, -1, 1]")
    regions = tuple(regions) if regions is not None else tuple(str(i + 1) for i in range(len(a)))
    return dense_model(regions, symmetric_T(a_arr, b_arr, s_arr), np.broadcast_to(np.asarray(g, float), (len(a),)), name=name, **kwargs)


def random_model(
    n_regions: int, radius: float, seed: int, g: Sequence[float] | float = 0.0, name: str = "random", **kwargs: object
) -> ModelSpec:
    """Dense model with i.i.d. normal ``T`` entries of standard deviation ``radius / sqrt(R)``."""
    if n_regions < 1:
        raise ModelInputError("regions", "need at least one region", "give R >= 1")
    check_model_size(n_regions, n_regions**2)
    rng = np.random.default_rng(seed)
    T3 = rng.normal(0.0, radius / np.sqrt(n_regions), size=(n_regions,) * 3)
    regions = tuple(str(i + 1) for i in range(n_regions))
    return dense_model(regions, T3, np.broadcast_to(np.asarray(g, float), (n_regions,)), name=name, **kwargs)
