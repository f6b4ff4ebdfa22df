"""Non-stationary two-time DMFT integrator (THEORY §2).

Closed system for the currents ``S_e(t)``, the gains ``psi^beta(t)`` and each region's
two-time function ``Delta^beta(t, t')`` of any model (any graph, T, U, g). All equations
come from :func:`mrdmft.theory.dmft_equations.derive_dmft` and are lambdified here:

    H_e(t)      = psi^{src(e)}(t) sum_f T_{e f} S_f(t),       psi^beta(t) = psi(Delta^beta(t, t)),
    dS_e/dt     = -S_e + H_e,
    (1 + d_t)(1 + d_t') Delta^beta(t, t') = Q^beta(t, t')
                = g_beta^2 C(Delta^beta(t, t), Delta^beta(t', t'), Delta^beta(t, t')) + sum U H(t) H(t'),
    (1 + d_t) Delta^beta(t, 0) = sum U H(t) S(0).

Discretization (grid ``t_n = n dt``, ``a = 1 - dt``, forward Euler in both times)::

    S_{n+1}          = S_n + dt (H_n - S_n)                                   (so H_n = S_n + (S_{n+1} - S_n)/dt)
    D_{n+1, m+1}     = a D_{n+1, m} + a D_{n, m+1} - a^2 D_{n, m} + dt^2 Q_{n, m}
    D_{n+1, 0}       = a D_{n, 0} + dt sum U H_n S_0,          D_{m, n} = D_{n, m}.

The four-point stencil is the covariance of the discrete process
``x_{n+1} = a x_n + dt (eta_n + m.H_n)``, so ``D`` stays a covariance matrix (tested), and
the scheme is first order in ``dt`` (tested: differences between dt, dt/2, dt/4 halve).
The equal-time value of a stationary chaotic state happens to be second order (pure
chaos at g = 2: Delta0 errors 6.3e-5, 1.4e-5, 3.3e-6, 8.1e-7 at dt = 0.2 ... 0.025).
For the vectorization, write ``F_{n, m} = D_{n+1, m} - a D_{n, m}``;
the stencil becomes the first-order recurrence in ``m``

    F_{n, m+1} = a F_{n, m} + dt^2 Q_{n, m},      D_{n+1, m} = a D_{n, m} + F_{n, m},

so each time step ``n`` is one causal IIR filter (``scipy.signal.lfilter``) over the
other time index, vectorized over regions: there is no Python loop over time pairs.
The diagonal follows from symmetry: ``D_{n+1, n+1} = a D_{n+1, n} + F_{n, n+1}``.

Window (``window = W``): only the lags ``0 .. W-1`` of every row are stored. The filter
then starts at ``m_0 = n - W + 1``. The unknown ``F_{n, m_0}`` (the source summed beyond
the window with weights ``dt^2 a^(j-1)``) is its structured part ``dt sum U H_n S_{m_0}``
(exact: the currents are stored at all times) plus a disorder part, the same weighted sum
of ``g^2 C`` continued beyond the window as a constant plus a geometric tail fitted to
the three largest stored lags (:func:`_tail_memory`). That is exact when ``C`` is
constant in the lag there (static currents, decorrelated chaos, ``g = 0``) or approaches
its limit geometrically; otherwise the error is set by how much ``C(t, t - tau)`` still
varies beyond ``tau = W dt``, and it decays as the correlations do, not as
``exp(-W dt)``. Measured at dt = 0.1, t <= 60 (max error of Delta(t, t) over the run):
pure chaos at g = 2 gives 1e-3, 2e-6, 6e-9, 3e-11 for ``W dt`` = 10, 20, 30, 40; the
R = 2 loop with chaos and currents of the tests gives 1e-3, 1e-4, 2e-6, 5e-9. Choose
``W dt`` several correlation times (>= 40 is a safe start) and check by comparing two
windows. Where the correlations never decay (chaos driven by oscillating currents) the
continuation can be unstable: errors at the window edge grow exponentially a few time
units after the window fills, whatever ``W``. The run then stops (status 2) at the
first step where ``|Delta(t, t')|`` exceeds ``sqrt(Delta(t, t) Delta(t', t'))`` by 1 %
(:func:`_violates_cauchy_schwarz`); measured on a 3-region random model
(radius 2.99, seed 11, g = 0, 1.06, 1.5) at dt = 0.05, W = 100 ... 800, the equal-time
error at the stop is 7e-3 ... 3e-12.

Initial state (documented defaults): ``S_e(0) = 0.1 sin(e + 1)`` (a small, deterministic,
non-symmetric vector that lets unstable directions grow) and
``Delta^beta(0, 0) = sum U S(0) S(0) + [g_beta > 0]``, i.e. a random part
``Delta_xi(0, 0) = 1`` in disordered regions and 0 otherwise.
"""

from __future__ import annotations

import math
import os
import sys
import time
from decimal import Decimal
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import sympy as sp
from scipy.signal import lfilter

from mrdmft.theory.derivation import derive
from mrdmft.theory.dmft_equations import DMFTEquations, derive_dmft
from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.spec import ModelSpec, Structure, require_spec

from .dmft_result import DMFTResult
from .lambdify_batched import MODULES, identifier_arguments, lambdify_batched

__all__ = [
    "DMFTResult",
    "CompiledDMFT",
    "compile_dmft",
    "solve_dmft",
    "required_memory_bytes",
    "available_memory_bytes",
    "default_initial_state",
]

DEFAULT_INITIAL_SCALE = 0.1
"""Amplitude of the default initial currents ``S_e(0) = 0.1 sin(e + 1)``."""

DEFAULT_RANDOM_VARIANCE = 1.0
"""Default ``Delta_xi(0, 0)`` in regions with ``g > 0``."""

MEMORY_FRACTION = 0.5
"""Default ``max_memory_bytes`` as a fraction of the available RAM."""

MIN_WINDOW_TIME = 10.0
"""Shortest lag span ``W dt`` a window may store (unless it holds the whole run): shorter
windows lose the correlation structure (single loop b = 2.5, g = 2.35, t = 60: A = 0.0027
with W dt = 0.1, 0.0977 with W dt = 5, 0.0942 with W dt = 15, 0.0941 without a window)."""

SUGGESTED_WINDOW_TIME = 60.0
"""Window length (time units) suggested when full storage does not fit."""


# ---------------------------------------------------------------------- compiled sources
@dataclass(frozen=True, eq=False)
class CompiledDMFT:
    """Lambdified two-time DMFT expressions of one structure (see :func:`compile_dmft`).

    The public methods ``gain``, ``drive``, ``source``, ``disorder_source``, ``boundary``
    and ``structured_covariance`` are
    :func:`~mrdmft.solvers.lambdify_batched.lambdify_batched` functions (compiled on first
    use): they broadcast over leading batch axes (last axis = the symbols of a group).

    The integrator's inner loop runs once per time step, so per-call packing costs as
    much as the arithmetic there. It uses direct lambdifications of the *same*
    expressions with the same modules: :meth:`row_source` (numpy, symbol-major arrays: the
    sources of a whole row of ``t'`` at once), ``step`` and ``disorder_point`` (``math``
    module, lists of floats: gains, drives and boundary term of one time). Tests assert
    that these agree with the batched methods.

    Attributes
    ----------
    equations : DMFTEquations
        The derived expressions.
    step : callable
        ``step(S, Delta_tt, T_values, S_other, U_values)`` (lists of floats) returns the
        list ``[psi (R), H (C), sum U H S_other (R)]`` with ``psi = psi(Delta_tt)`` and
        ``H = Psi L S`` composed symbolically.
    disorder_point : callable
        ``disorder_point(Delta_tt, Delta_ss, Delta_ts, g)`` (lists) returns ``g^2 C`` per region.
    """

    equations: DMFTEquations
    step: Callable[..., list]
    disorder_point: Callable[..., list]
    _row_source: Callable[..., list]

    # ------------------------------------------------------------------ batched (lazy)
    @property
    def _pair_groups(self) -> list[tuple[sp.Symbol, ...]]:
        e = self.equations
        return [e.delta_tt, e.delta_ss, e.delta_ts, e.drives, e.drives_other, e.g_symbols, e.U_symbols]

    @cached_property
    def _gain(self) -> Callable[..., np.ndarray]:
        return lambdify_batched([self.equations.delta_tt], self.equations.gain, cse=False)

    @cached_property
    def _drive(self) -> Callable[..., np.ndarray]:
        e = self.equations
        return lambdify_batched([e.currents, e.gain_symbols, e.T_symbols], e.drive)

    @cached_property
    def _source(self) -> Callable[..., np.ndarray]:
        return lambdify_batched(self._pair_groups, self.equations.source)

    @cached_property
    def _disorder_source(self) -> Callable[..., np.ndarray]:
        e = self.equations
        return lambdify_batched([e.delta_tt, e.delta_ss, e.delta_ts, e.g_symbols], e.disorder_source)

    @cached_property
    def _boundary(self) -> Callable[..., np.ndarray]:
        e = self.equations
        return lambdify_batched([e.drives, e.currents_other, e.U_symbols], e.boundary_source)

    @cached_property
    def _structured_covariance(self) -> Callable[..., np.ndarray]:
        e = self.equations
        return lambdify_batched([e.currents, e.currents_other, e.U_symbols], e.structured_covariance)

    def gain(self, delta_tt: np.ndarray) -> np.ndarray:
        """``psi(Delta^beta(t, t))``, (..., R) -> (..., R)."""
        return self._gain(delta_tt)

    def drive(self, S: np.ndarray, gains: np.ndarray, T_values: np.ndarray) -> np.ndarray:
        """``H_e = psi_{src(e)} sum_f T_{e f} S_f``, (..., C)."""
        return self._drive(S, gains, T_values)

    def source(
        self,
        delta_tt: np.ndarray,
        delta_ss: np.ndarray,
        delta_ts: np.ndarray,
        H: np.ndarray,
        H_other: np.ndarray,
        g: np.ndarray,
        U_values: np.ndarray,
    ) -> np.ndarray:
        """``Q^beta = g_beta^2 C + sum U H H'`` per region, shape (..., R).

        Parameters
        ----------
        delta_tt, delta_ss, delta_ts : numpy.ndarray, (..., R)
            ``Delta(t, t)``, ``Delta(t', t')``, ``Delta(t, t')``.
        H, H_other : numpy.ndarray, (..., C)
            Drives at ``t`` and ``t'``.
        g : numpy.ndarray, (..., R)
        U_values : numpy.ndarray, (..., n_U)
        """
        return self._source(delta_tt, delta_ss, delta_ts, H, H_other, g, U_values)

    def disorder_source(
        self, delta_tt: np.ndarray, delta_ss: np.ndarray, delta_ts: np.ndarray, g: np.ndarray
    ) -> np.ndarray:
        """``g_beta^2 C(Delta(t, t), Delta(t', t'), Delta(t, t'))`` per region, (..., R)."""
        return self._disorder_source(delta_tt, delta_ss, delta_ts, g)

    def boundary(self, H: np.ndarray, S_other: np.ndarray, U_values: np.ndarray) -> np.ndarray:
        """``sum U H(t) S(t')`` per region, (..., R)."""
        return self._boundary(H, S_other, U_values)

    def structured_covariance(self, S: np.ndarray, S_other: np.ndarray, U_values: np.ndarray) -> np.ndarray:
        """``sum U S(t) S(t')`` per region, (..., R)."""
        return self._structured_covariance(S, S_other, U_values)

    # ------------------------------------------------------------------ hot path
    def row_source(
        self,
        delta_tt: list[float],
        delta_ss: np.ndarray,
        delta_ts: np.ndarray,
        H: list[float],
        H_other: np.ndarray,
        g: list[float],
        U_values: list[float],
    ) -> np.ndarray:
        """``Q^beta(t, t'_m)`` for a row of times ``t'_m``, symbol-major: shape (R, L).

        Parameters
        ----------
        delta_tt, H, g, U_values : list of float
            Quantities of the time ``t`` (R, C, R and n_U values).
        delta_ss, delta_ts : numpy.ndarray, (R, L)
            ``Delta(t'_m, t'_m)`` and ``Delta(t, t'_m)``.
        H_other : numpy.ndarray, (C, L)
            Drives at the times ``t'_m``.
        """
        out = np.empty(np.shape(delta_ts))
        for r, value in enumerate(self._row_source(delta_tt, delta_ss, delta_ts, H, H_other, g, U_values)):
            out[r] = value  # broadcasts constant outputs
        return out


@lru_cache(maxsize=64)
def compile_dmft(structure: Structure) -> CompiledDMFT:
    """Derive (cached) and lambdify the two-time DMFT expressions of a structure."""
    e = derive_dmft(structure)
    H_of_state = [h.subs(dict(zip(e.gain_symbols, e.gain))) for h in e.drive]
    pair_groups = [e.delta_tt, e.delta_ss, e.delta_ts, e.drives, e.drives_other, e.g_symbols, e.U_symbols]
    return CompiledDMFT(
        equations=e,
        step=_two_stage_step(
            _lambdify_unpacked([e.currents, e.delta_tt, e.T_symbols], list(e.gain) + H_of_state, "math"),
            _lambdify_unpacked([e.drives, e.currents_other, e.U_symbols], e.boundary_source, "math"),
            structure.n_regions,
        ),
        disorder_point=_lambdify_unpacked([e.delta_tt, e.delta_ss, e.delta_ts, e.g_symbols], e.disorder_source, "math"),
        _row_source=_lambdify_unpacked(pair_groups, e.source, MODULES),
    )


def _two_stage_step(state: Callable[..., list], boundary: Callable[..., list], n_regions: int) -> Callable[..., list]:
    """``step(S, Delta_tt, T, S_other, U) -> [psi (R), H (C), sum U H S_other (R)]``.

    The drives ``H`` are evaluated first and passed to the boundary source as numbers:
    substituting their expressions into ``sum U H S'`` instead would expand it to
    O(R^4) terms for a dense R-region graph (minutes of ``subs`` / ``lambdify`` for R >= 11).
    """

    def step(S: list, delta_tt: list, T: list, S_other: list, U: list) -> list:
        values = state(S, delta_tt, T)
        return values + boundary(values[n_regions:], S_other, U)

    return step


def _lambdify_unpacked(groups: list, expressions: list, modules: object) -> object:
    """Lambdification taking one sequence per group, unpacked along its first axis (empty groups allowed)."""
    empty = [not g for g in groups]
    renamed, expressions = identifier_arguments(groups, expressions)
    raw = sp.lambdify(renamed, expressions, modules=modules, cse=True)
    if not any(empty):
        return raw

    def call(*args: list) -> list:
        return raw(*[[0.0] if is_empty else arg for is_empty, arg in zip(empty, args)])

    return call


# ---------------------------------------------------------------------- storage of Delta
class _FullStorage:
    """``D[r, n, m]`` for all pairs; rows are filled for ``m <= n`` and mirrored at the end."""

    def __init__(self, n_regions: int, n_t: int) -> None:
        # np.full touches the pages in order up front; faulting them in row by row during the
        # loop was measured several times slower on the development machine.
        self.array = np.full((n_regions, n_t, n_t), np.nan)

    @staticmethod
    def first(n: int) -> int:
        return 0

    def row(self, n: int, lo: int) -> np.ndarray:
        return self.array[:, n, lo : n + 1]

    def set_row(self, n: int, lo: int, values: np.ndarray) -> None:
        self.array[:, n, lo : n + 1] = values

    def result(self, n_t: int, block: int = 256) -> np.ndarray:
        """Mirror the lower triangle into the upper one (block by block) and return it."""
        D = self.array[:, :n_t, :n_t]
        for i0 in range(0, n_t, block):
            i1 = min(n_t, i0 + block)
            D[:, :i0, i0:i1] = D[:, i0:i1, :i0].transpose(0, 2, 1)
            upper = np.triu_indices(i1 - i0, 1)
            diagonal_block = D[:, i0:i1, i0:i1]
            diagonal_block[:, upper[0], upper[1]] = diagonal_block[:, upper[1], upper[0]]
        return D


class _WindowStorage:
    """``D[r, n, k] = Delta(t_n, t_{n-k})`` for the lags ``k < W``."""

    def __init__(self, n_regions: int, n_t: int, window: int) -> None:
        self.window = window
        self.array = np.full((n_regions, n_t, window), np.nan)

    def first(self, n: int) -> int:
        return max(0, n - self.window + 1)

    def row(self, n: int, lo: int) -> np.ndarray:
        return self.array[:, n, n - lo :: -1]

    def set_row(self, n: int, lo: int, values: np.ndarray) -> None:
        lags = min(self.window, n - lo + 1)
        self.array[:, n, :lags] = values[:, ::-1][:, :lags]

    def result(self, n_t: int) -> np.ndarray:
        return self.array if n_t == self.array.shape[1] else self.array[:, :n_t]


# ---------------------------------------------------------------------- memory
def _n_steps(t_max: float, dt: float) -> int:
    """Number of steps ``max(1, floor(t_max / dt))`` (up to rounding): the grid ends at the
    last step ``n dt <= t_max`` (one step when ``dt > t_max``)."""
    steps = t_max / dt
    if not math.isfinite(steps):
        raise ModelInputError(
            "t_max", f"t_max / dt = {t_max:.3g} / {dt:.3g} is not a finite number of steps", "use a shorter t_max or a larger dt"
        )
    return max(1, int(math.floor(steps + 1e-9)))


def required_memory_bytes(n_regions: int, t_max: float, dt: float, window: int | None = None) -> int:
    """Bytes :func:`solve_dmft` allocates (dense graph estimate, ``C = R^2`` channels).

    ``8 R n_t W`` for ``Delta`` (``W = n_t`` without a window) plus per-time arrays
    (currents, drives, gains: ``8 n_t (2 R^2 + 2 R)``) and per-step work arrays
    (``~ 16 x 8 R W``).
    """
    _check_grid(t_max, dt, window)
    if isinstance(n_regions, bool) or not isinstance(n_regions, (int, np.integer)) or n_regions < 1:
        raise ModelInputError("n_regions", f"n_regions = {n_regions!r} is not a positive integer", "give R >= 1")
    n_t = _n_steps(t_max, dt) + 1
    width = n_t if window is None else min(int(window), n_t)
    return int(8 * (n_regions * n_t * width + n_t * (2 * n_regions**2 + 2 * n_regions) + 16 * n_regions * width))


def available_memory_bytes() -> int:
    """Available RAM (``MemAvailable`` on Linux, else free physical pages, else 4 GiB)."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4 * 1024**3


def _g3(value: float) -> str:
    """``value`` with 3 significant digits (``:.3g``), also for integers beyond the float range."""
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        number = math.inf
    return format(number, ".3g") if math.isfinite(number) else format(Decimal(value), ".3g")


def _human(n_bytes: float) -> str:
    value = Decimal(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{_g3(value)} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    raise AssertionError  # pragma: no cover


# ---------------------------------------------------------------------- inputs
def default_initial_state(spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """Default ``S(0)`` and ``Delta(0, 0)`` (see the module docstring)."""
    S0 = DEFAULT_INITIAL_SCALE * np.sin(np.arange(spec.n_channels) + 1.0)
    return S0, _default_variance(spec, S0)


def _default_variance(spec: ModelSpec, S0: np.ndarray) -> np.ndarray:
    """``sum U S(0) S(0)`` plus ``Delta_xi(0, 0) = 1`` where ``g > 0``."""
    return _structured_variance(spec, S0) + DEFAULT_RANDOM_VARIANCE * (np.asarray(spec.g) > 0)


def _structured_variance(spec: ModelSpec, S0: np.ndarray) -> np.ndarray:
    compiled = compile_dmft(spec.structure)
    U_values = derive(spec).parameter_arrays()["U_values"]
    return compiled.structured_covariance(S0, S0, U_values)


def _as_vector(value: object, name: str, length: int, what: str) -> np.ndarray:
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise ModelInputError(name, "contains a non-numeric value", f"give {length} numbers, one per {what}") from None
    if array.shape != (length,):
        raise ModelInputError(name, f"has shape {array.shape}, expected ({length},)", f"give one number per {what}")
    if not np.all(np.isfinite(array)):
        raise ModelInputError(name, "contains NaN or infinite values", "give finite numbers")
    return array


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _check_grid(t_max: float, dt: float, window: int | None) -> None:
    if not _is_number(dt) or not 0 < dt < 1:
        raise ModelInputError("dt", f"dt = {dt!r} is not a step in (0, 1)", "use a number 0 < dt < 1 (e.g. 0.05)")
    if not _is_number(t_max) or not (np.isfinite(t_max) and t_max > 0):
        raise ModelInputError("t_max", f"t_max = {t_max!r} is not a positive finite duration", "give a number t_max > 0")
    if window is not None and (not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 1):
        raise ModelInputError("window", f"window = {window!r} is not a positive integer", "give the number of stored lags, e.g. 600")
    if window is not None and window * dt < MIN_WINDOW_TIME and window <= _n_steps(t_max, dt):
        shortest = int(math.ceil(MIN_WINDOW_TIME / dt - 1e-9))
        raise ModelInputError(
            "window",
            f"window = {window} stores lags up to {window * dt:g} time units, less than the {MIN_WINDOW_TIME:g} the "
            "memory continuation needs",
            f"give window >= {shortest} at dt = {dt:g} (>= {int(math.ceil(40 / dt - 1e-9))} is a safe start), or no window",
        )


def _check_memory(spec: ModelSpec, t_max: float, dt: float, window: int | None, max_memory_bytes: int | None) -> None:
    limit = MEMORY_FRACTION * available_memory_bytes() if max_memory_bytes is None else max_memory_bytes
    needed = required_memory_bytes(spec.n_regions, t_max, dt, window)
    if needed <= limit:
        return
    n_t = _n_steps(t_max, dt) + 1
    suggestion = int(math.ceil(SUGGESTED_WINDOW_TIME / dt))
    # a window only helps when it is shorter than the run (and long enough for the memory continuation)
    run_too_short = suggestion >= n_t - 1
    fits = not run_too_short and required_memory_bytes(spec.n_regions, t_max, dt, suggestion) <= limit
    if fits and (window is None or suggestion < window):
        fix = f"pass window={suggestion} (lags up to {suggestion * dt:g}) to store O(n_t W R) instead"
    elif run_too_short:
        fix = "use a larger dt, e.g. 0.05, which is usually enough"
    else:
        fix = "use a shorter t_max, a larger dt or a smaller window"
    raise ModelInputError(
        "dt" if run_too_short else "t_max",
        f"t_max = {t_max:.3g} with dt = {dt:.3g} ({_g3(n_t)} steps) needs {_human(needed)} for Delta(t, t'), "
        f"more than the limit {_human(limit)}",
        fix,
    )


def _initial_state(
    spec: ModelSpec, initial_currents: np.ndarray | None, initial_variance: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    if initial_currents is None:
        S0 = default_initial_state(spec)[0]
    else:
        S0 = _as_vector(initial_currents, "initial_currents", spec.n_channels, "channel")
    if initial_variance is None:
        return S0, _default_variance(spec, S0)
    structured = _structured_variance(spec, S0)
    if np.ndim(initial_variance) == 0:  # one number for every region
        initial_variance = [initial_variance] * spec.n_regions
    D0 = _as_vector(initial_variance, "initial_variance", spec.n_regions, "region")
    if np.any(D0 < 0):
        r = int(np.argmin(D0))
        raise ModelInputError("initial_variance", f"negative variance {D0[r]:g} in region {spec.regions[r]}", "give Delta(0, 0) >= 0")
    random_part = D0 - structured
    tolerance = 1e-12 * np.maximum(1.0, structured)
    if np.any(random_part < -tolerance):
        r = int(np.argmin(random_part + tolerance))
        raise ModelInputError(
            "initial_variance",
            f"Delta(0, 0) = {D0[r]:g} in region {spec.regions[r]} is below its structured part "
            f"sum U S(0) S(0) = {structured[r]:g}, so Delta_xi(0, 0) < 0",
            f"give initial_variance >= {structured[r]:g} there (or smaller initial currents)",
        )
    return S0, np.maximum(D0, structured)


# ---------------------------------------------------------------------- window edge
def _tail_memory(edge: np.ndarray, a: float, dt: float) -> np.ndarray:
    """Disorder part of ``F_{n, m0} = dt^2 sum_{j >= 1} a^(j-1) q_{m0 - j}`` beyond the window.

    ``edge[i]`` (i = 0, 1, 2; shape (<= 3, R)) is ``q = g^2 C`` at the stored times
    ``m0 + i``. The unknown ``q`` beyond the window is continued as a constant plus a
    geometric tail through these points: with ``d1 = q_0 - q_1``, ``d2 = q_1 - q_2``,
    ``rho = d1 / d2`` clipped to [0, 1] (flat continuation, ``rho = 0``, when fewer than
    three points are stored or the differences do not decay monotonically),
    ``q_{m0 - j} = q_0 + d1 (rho + ... + rho^j)``, and the weighted sum is in closed form,

        F = dt [q_0 + d1 rho / (1 - a rho)].

    Exact for sources that are constant or approach a constant geometrically in the lag.
    """
    q0 = edge[0]
    if edge.shape[0] < 3:
        return dt * q0
    d1, d2 = edge[0] - edge[1], edge[1] - edge[2]
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where((d2 != 0) & (d1 * d2 > 0), d1 / d2, 0.0)
    rho = np.clip(rho, 0.0, 1.0)
    return dt * (q0 + d1 * rho / (1.0 - a * rho))


def _violates_cauchy_schwarz(row: np.ndarray, d_nn: np.ndarray, d_mm: np.ndarray, rtol: float = 1e-2) -> bool:
    """True if ``|Delta(t_n, t_m)| > sqrt(Delta(t_n, t_n) Delta(t_m, t_m)) (1 + rtol)`` anywhere.

    The four-point stencil keeps ``Delta`` a covariance matrix (module docstring), so
    this bound can only break through the continued memory of a window; it is the
    run-time sign that the window is too short (e.g. for oscillating correlations).
    ``row``, ``d_mm`` have shape (R, L), ``d_nn`` shape (R,).
    """
    bound = np.sqrt(np.maximum(d_nn[:, None] * d_mm, 0.0)) * (1.0 + rtol) + 1e-12
    return bool(np.any(np.abs(row) > bound))


# ---------------------------------------------------------------------- solver
def solve_dmft(
    spec: ModelSpec,
    t_max: float,
    dt: float = 0.05,
    initial_currents: np.ndarray | None = None,
    initial_variance: np.ndarray | None = None,
    window: int | None = None,
    progress: bool = False,
    max_memory_bytes: int | None = None,
) -> DMFTResult:
    """Integrate the two-time DMFT of a model on a grid of step ``dt`` up to ``t_max``.

    Parameters
    ----------
    spec : ModelSpec
        The model (any graph; erf nonlinearity).
    t_max : float
        Final time; the grid is ``t_n = n dt``, ``n = 0 .. floor(t_max / dt)`` (it ends at
        the last step ``<= t_max``; at least one step).
    dt : float
        Step, ``0 < dt < 1``; the scheme is first order (see the module docstring).
    initial_currents : numpy.ndarray, shape (C,), optional
        ``S(0)``; default ``0.1 sin(e + 1)`` for channel ``e``.
    initial_variance : numpy.ndarray, shape (R,) or float, optional
        Total equal-time ``Delta(0, 0)`` per region. Its random part
        ``Delta_xi(0, 0) = initial_variance - sum U S(0) S(0)`` must be >= 0. Default: the
        structured part plus 1 in regions with ``g > 0``.
    window : int, optional
        Store only the last ``window`` lags of every row (memory ``O(n_t W R)``); see the
        module docstring for the truncation error. Default: full storage ``O(n_t^2 R)``.
    progress : bool
        Print progress to stderr.
    max_memory_bytes : int, optional
        Refuse runs needing more; default 50 % of the available RAM.

    Returns
    -------
    DMFTResult
        ``success`` is False if a non-finite value appeared (status 1) or, with a
        window, if ``Delta`` broke the Cauchy-Schwarz bound ``|Delta(t, t')|^2 <=
        Delta(t, t) Delta(t', t')`` (status 2: the window is too short for these
        correlations); the arrays then stop at the last good time.

    Raises
    ------
    ModelInputError
        Bad grid, window, initial state or memory need (checked before allocating).
    """
    spec = require_spec(spec)
    _check_grid(t_max, dt, window)
    t_max, dt = float(t_max), float(dt)
    if progress:
        print(
            f"dmft: deriving and compiling the two-time equations for {spec.n_channels} currents "
            "(once per region graph; about a minute for ~1000 currents)",
            file=sys.stderr, flush=True,
        )
    started = time.perf_counter()
    S0, D0 = _initial_state(spec, initial_currents, initial_variance)
    _check_memory(spec, t_max, dt, window, max_memory_bytes)
    compiled = compile_dmft(spec.structure)
    if progress:
        print(f"dmft: equations ready ({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
    packed = derive(spec).parameter_arrays()
    T_values, U_values, g = packed["T_values"], packed["U_values"], packed["g"]
    n_steps = _n_steps(t_max, dt)
    n_t = n_steps + 1
    R, C = spec.n_regions, spec.n_channels
    storage = _FullStorage(R, n_t) if window is None else _WindowStorage(R, n_t, min(int(window), n_t))

    a = 1.0 - dt
    filter_b, filter_a = np.array([dt * dt]), np.array([1.0, -a])
    S = np.empty((n_t, C))
    H = np.empty((C, n_t))  # symbol-major per-time arrays: row slices feed row_source directly
    equal = np.empty((R, n_t))
    gains = np.empty((n_t, R))
    S[0], equal[:, 0] = S0, D0
    storage.set_row(0, 0, D0[:, None])
    done, status, message = n_steps, 0, "finished"
    report_every = max(1, n_steps // 10)

    T_list, U_list, g_list = T_values.tolist(), U_values.tolist(), g.tolist()
    with np.errstate(all="ignore"):  # overflow/NaN are detected below and reported as status 1
        for n in range(n_steps):
            lo = storage.first(n)
            row = storage.row(n, lo)  # D_{n, m}, m = lo .. n, shape (R, L)
            d_nn = equal[:, n].tolist()
            try:  # the math-module functions raise on domain errors / overflow instead of returning NaN
                values = compiled.step(S[n].tolist(), d_nn, T_list, S[lo].tolist(), U_list)
                if lo > 0:  # disorder source at the three largest stored lags
                    edge = [
                        compiled.disorder_point(d_nn, equal[:, lo + j].tolist(), row[:, j].tolist(), g_list)
                        for j in range(min(3, n + 1 - lo))
                    ]
            except (ArithmeticError, ValueError):
                values, edge = [math.nan] * (2 * R + C), [[math.nan] * R]
            gains[n] = values[:R]
            H[:, n] = values[R : R + C]
            F0 = dt * np.array(values[R + C :], dtype=float)  # F_{n, lo}: structured part, exact
            if lo > 0:
                F0 += (1.0 - a**lo) * _tail_memory(np.array(edge, dtype=float), a, dt)
            S[n + 1] = S[n] + dt * (H[:, n] - S[n])
            Q = compiled.row_source(d_nn, equal[:, lo : n + 1], row, H[:, n].tolist(), H[:, lo : n + 1], g_list, U_list)
            F, _ = lfilter(filter_b, filter_a, Q, axis=-1, zi=(a * F0)[:, None])  # F_{n, lo+1 .. n+1}
            L = n + 1 - lo
            new = np.empty((R, L + 1))
            new[:, 0] = a * row[:, 0] + F0
            new[:, 1:L] = a * row[:, 1:] + F[:, :-1]
            new[:, L] = a * new[:, L - 1] + F[:, -1]
            # F accumulates Q along the row, so a non-finite source anywhere reaches new[:, L].
            if not math.isfinite(new[:, L].sum() + S[n + 1].sum() + sum(values)):
                done, status = n, 1
                message = f"non-finite value at t = {(n + 1) * dt:g}; stopped at t = {n * dt:g}"
                if lo > 0:
                    message += f" (the memory beyond the window of {storage.window} steps may have diverged)"
                break
            if lo > 0 and _violates_cauchy_schwarz(new[:, :L], new[:, L], equal[:, lo : n + 1]):
                done, status = n, 2
                message = (
                    f"window too short: at t = {(n + 1) * dt:g} Delta(t, t') exceeds the Cauchy-Schwarz bound "
                    f"sqrt(Delta(t, t) Delta(t', t')), so the memory continued beyond the {storage.window} stored "
                    f"lags ({storage.window * dt:g} time units) is wrong for these correlations; stopped at t = {n * dt:g}"
                )
                break
            storage.set_row(n + 1, lo, new)
            equal[:, n + 1] = new[:, L]
            if progress and ((n + 1) % report_every == 0 or n + 1 == n_steps):
                print(f"dmft: step {n + 1}/{n_steps} (t = {(n + 1) * dt:g})", file=sys.stderr, flush=True)

    gains[done] = compiled.gain(equal[:, done])  # the last time has no step
    n_ok = done + 1
    return DMFTResult(
        model=spec.name,
        regions=tuple(spec.regions),
        channel_names=list(spec.channel_names),
        dt=dt,
        t=dt * np.arange(n_ok),
        currents=S[:n_ok].copy(),
        gain=gains[:n_ok].copy(),
        delta=storage.result(n_ok),
        window=None if isinstance(storage, _FullStorage) else storage.window,
        success=status == 0,
        status=status,
        message=message,
        parameters={
            "g": [float(x) for x in spec.g],
            "t_max": t_max,
            "initial_currents": [float(x) for x in S0],
            "initial_variance": [float(x) for x in D0],
        },
    )
