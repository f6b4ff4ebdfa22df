"""Finite-N simulation of a multiregion network, to validate the mean-field theory.

The network of THEORY §1 (no external input), for every neuron i of region alpha,

.. math::

    \\frac{dx_i^\\alpha}{dt} = -x_i^\\alpha + \\sum_j J^\\alpha_{ij} \\phi(x_j^\\alpha)
        + \\sum_{f:\\,\\mathrm{target}(f) = \\alpha} m_i^f\\, r_f,
    \\qquad r_e = \\frac{1}{N_\\beta} \\sum_j n_j^e \\phi(x_j^\\beta)\\quad(\\beta = \\mathrm{source}(e)),

with ``J^alpha = g_alpha chi^alpha / sqrt(N_alpha)``, integrated together with the
currents, the low-pass filtered readouts of THEORY §2,

.. math::

    \\frac{dS_e}{dt} = -S_e + r_e .

The low-rank part is computed as ``r = (n^T phi) / N`` followed by ``m @ r``; the
N x N low-rank matrix is never formed. ``phi`` is the model's nonlinearity, lambdified
from :func:`mrdmft.theory.gaussian.gaussian_averages` (``erf(sqrt(pi) x / 2)``) or
``tanh``.

Time stepping (``method``):

* ``"euler"`` (default): ``y <- y + dt f(y)`` for ``y = (x, S)``. Its fixed points are
  exactly those of the ODE, so static currents and ``A`` do not depend on ``dt``; the
  statistics of chaotic fluctuations carry an O(dt) error.
* ``"heun"`` (explicit second-order Runge-Kutta): twice the cost per step, O(dt^2) error.

Initial state: currents ``S(0) = S0`` (``initial_currents`` or i.i.d. N(0, 1) drawn from the
network seed, so that they start away from the unstable zero state) and
``x^alpha(0) = sum_f m^f S0_f + sigma_alpha z`` with ``z`` i.i.d. N(0, 1),
``sigma_alpha = 0.1`` (small noise) where ``g_alpha = 0`` and ``1`` (a random start for the
chaotic part) where ``g_alpha > 0``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from numbers import Real

import numpy as np
import scipy.special
import sympy as sp

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.gaussian import gaussian_averages
from mrdmft.theory.spec import ModelSpec, require_spec

from .network_sampling import (
    NetworkSample,
    check_dtype,
    check_positive_int,
    network_memory_bytes,
    random_streams,
    region_channels,
    region_sizes,
    require_memory,
    sample_network,
)

METHODS = ("euler", "heun")
"""Supported time-stepping schemes."""

INITIAL_NOISE = 0.1
"""Standard deviation of the initial noise on x in regions without disorder."""

INITIAL_CHAOS = 1.0
"""Standard deviation of the random initial x in regions with disorder (g > 0)."""

MAX_DT = 1.0
"""Largest accepted step (the neuronal time constant is 1)."""

MAX_STEPS = 10**7
"""Largest accepted number of time steps ``floor(t_max / dt)`` (a guard against typos such as
dt = 5e-8; 1e7 steps of a small network already take minutes)."""

STATE_COPIES = 12
"""Per-neuron arrays alive during a run (state, drives, Heun stage, activity, initial draws)."""

RECORD_COPIES = 6
"""Extra 8-byte entries per recorded time (times, step indices and their sorted copies)."""

STATIONARITY_RTOL = 0.05
"""Currents count as stationary while the fluctuation part of A is <= this fraction of <A(t)>_t ..."""

STATIONARITY_ATOL = 0.02
"""... plus this absolute allowance (finite-N noise of the currents in chaotic regions, O(C/N))."""


# ---------------------------------------------------------------------- nonlinearity
def nonlinearity_expression(name: str) -> tuple[sp.Symbol, sp.Expr]:
    """``(x, phi(x))`` for a nonlinearity name, from the theory layer where possible.

    ``"erf"``: ``gaussian_averages("erf").phi`` = ``erf(sqrt(pi) x / 2)``; ``"tanh"``: ``tanh(x)``.
    """
    if name == "erf":
        averages = gaussian_averages("erf")
        return averages.x, averages.phi
    if name == "tanh":
        x = sp.Symbol("x", real=True)
        return x, sp.tanh(x)
    raise ModelInputError("nonlinearity", f"cannot simulate nonlinearity {name!r}", "use \"erf\" or \"tanh\"")


@lru_cache(maxsize=None)
def nonlinearity_function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Lambdified ``phi`` (numpy + scipy.special.erf).

    Numeric constants are evaluated to 17 digits before lambdifying so that they enter as
    Python floats, which keeps float32 input in float32.
    """
    x, phi = nonlinearity_expression(name)
    return sp.lambdify(x, _float_constants(phi), modules=[{"erf": scipy.special.erf}, "numpy"])


def _float_constants(expr: sp.Expr) -> sp.Expr:
    """Replace every numeric subexpression (``sqrt(pi)/2``, ...) by a 17-digit Float."""
    if expr.is_number:
        return sp.Float(expr.evalf(17), 17)
    if not expr.args:
        return expr
    return expr.func(*(_float_constants(arg) for arg in expr.args))


# ---------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Recorded output of one simulated network.

    Attributes
    ----------
    model : str
        Model name.
    n, seed : int
        Nominal size and seed of the network.
    dt : float
        Time step.
    method : str
        ``"euler"`` or ``"heun"``.
    t : numpy.ndarray, shape (n_t,)
        Recorded times.
    currents : numpy.ndarray, shape (n_t, C)
        The currents ``S_e(t)`` (filtered readouts).
    variance : numpy.ndarray, shape (n_t, R)
        ``(1/N_alpha) sum_i (x_i^alpha)^2``, the population estimate of Delta^alpha(t, t)
        (the mean of x over neurons is zero in the theory; this is the uncentred variance).
    neuron_traces : numpy.ndarray, shape (n_t, R, k), or None
        ``x`` of the first ``k`` neurons of every region (``record_neurons = k``).
    nn_covariance, realized_T, realized_U : numpy.ndarray, shape (C, C)
        From the :class:`NetworkSample`.
    target_U : numpy.ndarray, shape (C, C)
        The model's ``U`` (used by :meth:`measured_A`).
    channel_target : numpy.ndarray of int, shape (C,)
        Target region of each channel.
    channel_names : list of str
        JSON names of the channels (``"SOURCE->TARGET"``).
    regions : tuple of str
        Region names.
    region_sizes : numpy.ndarray of int, shape (R,)
        ``N_alpha``.
    exact_overlaps : bool
        Whether the network was sampled with exact overlaps.
    success : bool
        False if the state became non-finite (the run stops there).
    status : int
        0 success, 1 non-finite state.
    message : str
        Human-readable status.
    """

    model: str
    n: int
    seed: int
    dt: float
    method: str
    t: np.ndarray
    currents: np.ndarray
    variance: np.ndarray
    neuron_traces: np.ndarray | None
    nn_covariance: np.ndarray
    realized_T: np.ndarray
    realized_U: np.ndarray
    target_U: np.ndarray
    channel_target: np.ndarray
    channel_names: list[str]
    regions: tuple[str, ...]
    region_sizes: np.ndarray
    exact_overlaps: bool
    success: bool
    status: int
    message: str

    def _settled(self, t_settle: float) -> np.ndarray:
        if isinstance(t_settle, bool) or not isinstance(t_settle, Real) or not math.isfinite(t_settle) or t_settle < 0:
            raise ModelInputError("t_settle", f"got {t_settle!r}", "give a finite time >= 0 (0 averages the whole run)")
        mask = self.t >= t_settle
        if not mask.any():
            raise ModelInputError(
                "t_settle", f"no recorded time >= {t_settle} (last is {self.t[-1]:.6g})", "use t_settle below the final time"
            )
        return mask

    def mean_currents(self, t_settle: float) -> np.ndarray:
        """Time average ``Sbar`` (C,) of the recorded currents with ``t >= t_settle``."""
        return self.currents[self._settled(t_settle)].mean(axis=0)

    def measured_A(self, t_settle: float) -> np.ndarray:
        """Static structured variance per region (R,).

        ``A^alpha = sum_{f, f' into alpha} U_{f f'} Sbar_f Sbar_f'`` with ``Sbar`` the time
        average of the currents after ``t_settle`` and ``U`` the model's (target) overlaps.
        Equals the derived variance ``Delta^alpha(Sbar)`` (checked in the tests).
        """
        S = self.mean_currents(t_settle)
        return np.bincount(self.channel_target, weights=S * (self.target_U @ S), minlength=len(self.regions))

    def A_trace(self) -> np.ndarray:
        """``A^alpha(t) = sum_{f, f' into alpha} U_{f f'} S_f(t) S_f'(t)`` at every recorded time, (n_t, R)."""
        S = np.asarray(self.currents, dtype=float)
        onehot = np.eye(len(self.regions))[self.channel_target]
        return (S * (S @ self.target_U.T)) @ onehot

    def time_averaged_A(self, t_settle: float) -> np.ndarray:
        """Time average over ``t >= t_settle`` of ``A^alpha(t) = sum U S(t) S(t)``, shape (R,).

        Equals :meth:`measured_A` (built from the time-averaged currents) plus the
        fluctuation term ``< sum U (S - Sbar)(S - Sbar) >_t >= 0``; the two agree only if
        the currents are static.
        """
        return self.A_trace()[self._settled(t_settle)].mean(axis=0)

    def current_fluctuation_A(self, t_settle: float) -> np.ndarray:
        """``time_averaged_A - measured_A = < sum U (S - Sbar)(S - Sbar) >_t`` per region (R,)."""
        return self.time_averaged_A(t_settle) - self.measured_A(t_settle)

    def currents_stationary(
        self, t_settle: float, rtol: float = STATIONARITY_RTOL, atol: float = STATIONARITY_ATOL
    ) -> bool:
        """Whether the currents are static after ``t_settle`` (so :meth:`measured_A` is meaningful).

        True iff in every region ``<A(t)>_t - A(Sbar) <= rtol * <A(t)>_t + atol``: the part of
        the time-averaged variance carried by current fluctuations (oscillations of a limit
        cycle, slow drift, chaotic currents) is small. ``atol`` absorbs the O(C/N) noise of
        finite-N currents in chaotic regions. A run that did not succeed is not stationary.
        """
        if not self.success:
            return False
        for name, value in (("rtol", rtol), ("atol", atol)):
            if isinstance(value, bool) or not isinstance(value, Real) or not (math.isfinite(value) and value >= 0):
                raise ModelInputError(name, f"got {value!r}", "give a finite number >= 0")
        averaged = self.time_averaged_A(t_settle)
        fluctuation = averaged - self.measured_A(t_settle)
        return bool(np.all(np.isfinite(averaged)) and np.all(fluctuation <= rtol * averaged + atol))

    def to_json(self, predicted_A: np.ndarray | None = None, t_settle: float | None = None) -> dict:
        """JSON-ready summary (the ``simulate --json`` contract).

        Parameters
        ----------
        predicted_A : array_like (R,), optional
            Mean-field prediction of ``A``; fills ``"predicted"`` and ``"relative_error_A"``
            (signed, ``(measured - predicted) / |predicted|``; ``null`` where the prediction
            is 0). Without it both are empty objects.
        t_settle : float, optional
            Start of the averaging window; default half the final time.

        Returns
        -------
        dict
            ``{"model", "N", "seed", "dt", "method", "t_final", "t_settle", "success",
            "status", "message", "exact_overlaps", "region_sizes",
            "measured": {"A", "currents_final", "currents_mean"}, "time_averaged_A",
            "stationary", "stationarity_tolerance": {"rtol", "atol"}, "predicted": {"A"}, "relative_error_A", "realized_overlaps": {"T", "U"},
            "nn_covariance"}``; regions and edges keyed by name.
        """
        t_settle = float(self.t[-1]) / 2 if t_settle is None else t_settle
        measured = self.measured_A(t_settle)
        predicted: dict[str, float] = {}
        relative: dict[str, float | None] = {}
        if predicted_A is not None:
            try:
                p = np.asarray(predicted_A, dtype=float)
            except (TypeError, ValueError):
                raise ModelInputError("predicted_A", "is not numeric", "give one number per region") from None
            if p.shape != (len(self.regions),) or not np.all(np.isfinite(p)):
                raise ModelInputError(
                    "predicted_A", f"has shape {p.shape} or non-finite values", f"give {len(self.regions)} finite numbers"
                )
            predicted = {r: float(v) for r, v in zip(self.regions, p)}
            relative = {
                r: (float((m - v) / abs(v)) if v != 0 else None) for r, m, v in zip(self.regions, measured, p)
            }
        return {
            "model": self.model,
            "N": int(self.n),
            "seed": int(self.seed),
            "dt": float(self.dt),
            "method": self.method,
            "t_final": float(self.t[-1]),
            "t_settle": float(t_settle),
            "success": bool(self.success),
            "status": int(self.status),
            "message": self.message,
            "exact_overlaps": bool(self.exact_overlaps),
            "region_sizes": {r: int(N) for r, N in zip(self.regions, self.region_sizes)},
            "measured": {
                "A": {r: float(v) for r, v in zip(self.regions, measured)},
                "currents_final": {c: float(v) for c, v in zip(self.channel_names, self.currents[-1])},
                "currents_mean": {c: float(v) for c, v in zip(self.channel_names, self.mean_currents(t_settle))},
            },
            "time_averaged_A": {r: float(v) for r, v in zip(self.regions, self.time_averaged_A(t_settle))},
            "stationary": self.currents_stationary(t_settle),
            "stationarity_tolerance": {"rtol": STATIONARITY_RTOL, "atol": STATIONARITY_ATOL},
            "predicted": {"A": predicted},
            "relative_error_A": relative,
            "realized_overlaps": {"T": self.realized_T.tolist(), "U": self.realized_U.tolist()},
            "nn_covariance": self.nn_covariance.tolist(),
        }


# ---------------------------------------------------------------------- dynamics
class _NetworkDynamics:
    """Right-hand side of the network and current equations for one sample.

    All regions' preactivations live in one vector ``x`` (regions are contiguous slices).
    """

    def __init__(self, sample: NetworkSample, phi: Callable[[np.ndarray], np.ndarray]) -> None:
        self.sample = sample
        self.phi = phi
        self.dtype = sample.dtype
        bounds = np.concatenate([[0], np.cumsum(sample.region_sizes)])
        self.slices = [slice(int(bounds[r]), int(bounds[r + 1])) for r in range(len(sample.region_sizes))]
        self.n_neurons = int(bounds[-1])
        # readout rows pre-divided by N_beta: r_O = (n_O / N) @ phi
        self.readout = [
            (block / self.dtype.type(N)).astype(self.dtype) for block, N in zip(sample.n_blocks, sample.region_sizes)
        ]

    def evaluate(self, x: np.ndarray, drive: np.ndarray, readout: np.ndarray) -> None:
        """Write ``drive = J phi(x) + m r`` (N_total,) and ``readout = r`` (C,) in place."""
        activity = self.phi(x)
        s = self.sample
        for r, sl in enumerate(self.slices):
            outputs = s.channels[r].outputs
            if outputs.size:
                readout[outputs] = self.readout[r] @ activity[sl]
        for r, sl in enumerate(self.slices):
            if s.chi[r] is not None:
                np.matmul(s.chi[r], activity[sl], out=drive[sl])
            else:
                drive[sl] = 0
            inputs = s.channels[r].inputs
            if inputs.size:
                drive[sl] += readout[inputs].astype(self.dtype) @ s.m_blocks[r]

    def initial_state(self, spec: ModelSpec, initial_currents: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """``(x0, S0)`` as described in the module docstring (seeded by the sample's seed)."""
        rng = np.random.default_rng(random_streams(self.sample.seed)["initial"])
        drawn = rng.standard_normal(self.sample.n_channels)
        noise = rng.standard_normal(self.n_neurons)
        S0 = drawn if initial_currents is None else np.array(initial_currents, dtype=float)
        x0 = np.empty(self.n_neurons, dtype=self.dtype)
        for r, sl in enumerate(self.slices):
            sigma = INITIAL_CHAOS if spec.g[r] > 0 else INITIAL_NOISE
            inputs = self.sample.channels[r].inputs
            structured = S0[inputs] @ self.sample.m_blocks[r].astype(float) if inputs.size else 0.0
            x0[sl] = structured + sigma * noise[sl]
        return x0, S0


class _Stepper:
    """One time step of ``(x, S)`` with the chosen scheme (in place)."""

    def __init__(self, dynamics: _NetworkDynamics, dt: float, method: str) -> None:
        self.f = dynamics
        self.dt = dt
        self.method = method
        N, C = dynamics.n_neurons, dynamics.sample.n_channels
        self.drive = np.empty(N, dtype=dynamics.dtype)
        self.readout = np.empty(C)
        if method == "heun":
            self.x_half = np.empty(N, dtype=dynamics.dtype)
            self.drive2 = np.empty(N, dtype=dynamics.dtype)
            self.readout2 = np.empty(C)

    def step(self, x: np.ndarray, S: np.ndarray) -> None:
        """Advance ``x`` and ``S`` by ``dt``."""
        dt = self.dt
        dt_x = self.f.dtype.type(dt)
        self.f.evaluate(x, self.drive, self.readout)
        # k1 = (drive - x, readout - S)
        self.drive -= x
        k1_S = self.readout - S
        if self.method == "euler":
            self.drive *= dt_x
            x += self.drive
            S += dt * k1_S
            return
        np.multiply(self.drive, dt_x, out=self.x_half)
        self.x_half += x
        S_half = S + dt * k1_S
        self.f.evaluate(self.x_half, self.drive2, self.readout2)
        self.drive2 -= self.x_half  # k2
        self.drive += self.drive2
        self.drive *= self.f.dtype.type(dt / 2)
        x += self.drive
        S += (dt / 2) * (k1_S + self.readout2 - S_half)


# ---------------------------------------------------------------------- checks
def _positive_time(value: object, field: str, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value) or value <= 0:
        raise ModelInputError(field, f"got {value!r}", "give a finite number > 0")
    if upper is not None and value >= upper:
        raise ModelInputError(field, f"{value} is too large for explicit time stepping", f"use {field} < {upper} (e.g. 0.05)")
    return float(value)


def final_time(t_max: float, dt: float) -> float:
    """Time of the last step of the simulation grid: ``floor(t_max / dt) dt`` (at least ``dt``).

    Raises
    ------
    ModelInputError
        (field ``t_max``) if the grid needs more than :data:`MAX_STEPS` steps.
    """
    return _n_steps(t_max, dt) * dt


def _n_steps(t_max: float, dt: float) -> int:
    """``max(1, floor(t_max / dt))`` steps (the grid ends at the last step ``<= t_max``, as in
    :func:`~mrdmft.solvers.dmft.solve_dmft`); raises (field ``t_max``) above :data:`MAX_STEPS`."""
    steps = t_max / dt
    if steps > MAX_STEPS:
        raise ModelInputError(
            "t_max",
            f"t_max = {t_max:.3g} with dt = {dt:.3g} needs {steps:.3g} steps, more than the limit {MAX_STEPS:.3g}",
            "use a shorter t_max or a larger dt",
        )
    return max(1, int(math.floor(steps + 1e-9)))


def run_memory_bytes(
    spec: ModelSpec, sizes: np.ndarray, n_steps: int, record_every: int, record_neurons: int
) -> tuple[float, float]:
    """Estimated bytes of a run: ``(state, recordings)``.

    ``state = 8 (STATE_COPIES N_total + 2 sum_alpha N_alpha k_alpha)`` (state vectors and
    per-region copies of the low-rank vectors); ``recordings = 8 n_rec (C + R (1 +
    record_neurons) + RECORD_COPIES)`` with ``n_rec = n_steps // record_every + 2``.
    """
    sizes = np.asarray(sizes, dtype=float)
    vectors = np.array([c.outputs.size + c.inputs.size for c in region_channels(spec)], dtype=float)
    state = 8.0 * (STATE_COPIES * sizes.sum() + 2.0 * float(sizes @ vectors))
    n_rec = n_steps // record_every + 2
    recordings = 8.0 * n_rec * (spec.n_channels + spec.n_regions * (1 + record_neurons) + RECORD_COPIES)
    return state, recordings


def _check_run_memory(
    spec: ModelSpec,
    sizes: np.ndarray,
    t_max: float,
    n_steps: int,
    record_every: int,
    record_neurons: int,
    network_bytes: float,
    max_memory_bytes: int | None,
) -> None:
    """Refuse recordings (field ``t_max``) or network + run (field ``n``) that do not fit in memory."""
    state, recordings = run_memory_bytes(spec, sizes, n_steps, record_every, record_neurons)
    require_memory(
        recordings,
        "t_max",
        f"recording {n_steps // record_every + 2:.3g} times (t_max = {t_max:.3g}, record_every = {record_every})",
        "use a shorter t_max, a larger dt or a larger record_every",
        max_memory_bytes,
    )
    require_memory(
        network_bytes + state + recordings,
        "n",
        f"simulating {float(np.sum(sizes)):.3g} neurons",
        "use a smaller n",
        max_memory_bytes,
    )


def _check_initial_currents(value: object, n_channels: int) -> np.ndarray | None:
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ModelInputError("initial_currents", "is not numeric", f"give {n_channels} numbers") from None
    if array.shape != (n_channels,):
        raise ModelInputError(
            "initial_currents", f"has shape {array.shape}, expected {(n_channels,)}", f"give one value per channel ({n_channels})"
        )
    if not np.all(np.isfinite(array)):
        raise ModelInputError("initial_currents", "contains NaN or infinite values", "give finite numbers")
    return array


def _check_sample(spec: ModelSpec, sample: object) -> NetworkSample:
    if not isinstance(sample, NetworkSample):
        raise ModelInputError("sample", f"expected a NetworkSample, got {type(sample).__name__}", "draw one with sample_network()")
    if sample.n_channels != spec.n_channels or not np.array_equal(sample.region_sizes, region_sizes(spec, sample.n)):
        raise ModelInputError("sample", "was drawn for a different model structure or size", "sample it from this spec")
    return sample


# ---------------------------------------------------------------------- public API
def run_network(
    spec: ModelSpec,
    sample: NetworkSample,
    t_max: float,
    dt: float = 0.05,
    initial_currents: np.ndarray | None = None,
    record_every: int = 10,
    record_neurons: int = 0,
    method: str = "euler",
    progress: bool = False,
    max_memory_bytes: int | None = None,
) -> SimulationResult:
    """Integrate an already-sampled network from ``t = 0`` to ``t >= t_max``.

    See :func:`simulate_network` for the parameters; the initial state is drawn from
    ``sample.seed``. Uses ``floor(t_max / dt)`` steps (at least 1, at most :data:`MAX_STEPS`) and
    records every ``record_every`` steps plus the last one.
    """
    spec = require_spec(spec)
    sample = _check_sample(spec, sample)
    t_max = _positive_time(t_max, "t_max")
    dt = _positive_time(dt, "dt", upper=MAX_DT)
    record_every = check_positive_int(record_every, "record_every")
    record_neurons = check_positive_int(record_neurons, "record_neurons", minimum=0)
    if record_neurons > int(sample.region_sizes.min()):
        raise ModelInputError(
            "record_neurons", f"{record_neurons} exceeds the smallest region ({int(sample.region_sizes.min())} neurons)",
            "record fewer neurons",
        )
    if method not in METHODS:
        raise ModelInputError("method", f"unknown method {method!r}", f"use one of {', '.join(METHODS)}")
    initial = _check_initial_currents(initial_currents, spec.n_channels)
    n_steps = _n_steps(t_max, dt)
    _check_run_memory(spec, sample.region_sizes, t_max, n_steps, record_every, record_neurons, 0.0, max_memory_bytes)

    dynamics = _NetworkDynamics(sample, nonlinearity_function(spec.nonlinearity))
    stepper = _Stepper(dynamics, dt, method)
    x, S = dynamics.initial_state(spec, initial)
    record_steps = np.unique(np.append(np.arange(0, n_steps + 1, record_every), n_steps))
    n_rec = record_steps.size
    R = spec.n_regions
    t = record_steps * dt
    currents = np.empty((n_rec, spec.n_channels))
    variance = np.empty((n_rec, R))
    traces = np.empty((n_rec, R, record_neurons)) if record_neurons else None
    status, message = 0, "integration finished"
    report_steps = {math.ceil(k * n_steps / 10) for k in range(1, 11)} if progress else set()

    def record(i: int) -> bool:
        currents[i] = S
        for r, sl in enumerate(dynamics.slices):
            xr = x[sl].astype(np.float64)
            variance[i, r] = xr @ xr / xr.size
            if traces is not None:
                traces[i, r] = xr[:record_neurons]
        return bool(np.all(np.isfinite(S)) and np.all(np.isfinite(variance[i])))

    record(0)
    i = 1
    for step in range(1, n_steps + 1):
        stepper.step(x, S)
        if i < n_rec and step == record_steps[i]:
            if not record(i):
                status, message = 1, f"state became non-finite at t = {step * dt:.6g}"
                i += 1
                break
            i += 1
        if step in report_steps:
            print(f"simulate {spec.name}: {round(100 * step / n_steps)}% (t = {step * dt:.4g})", file=sys.stderr)
    return SimulationResult(
        model=spec.name,
        n=sample.n,
        seed=sample.seed,
        dt=dt,
        method=method,
        t=t[:i],
        currents=currents[:i],
        variance=variance[:i],
        neuron_traces=None if traces is None else traces[:i],
        nn_covariance=sample.nn_covariance,
        realized_T=sample.realized_T,
        realized_U=sample.realized_U,
        target_U=np.asarray(spec.U),
        channel_target=np.asarray(spec.channel_target),
        channel_names=spec.channel_names,
        regions=tuple(spec.regions),
        region_sizes=sample.region_sizes,
        exact_overlaps=sample.exact_overlaps,
        success=status == 0,
        status=status,
        message=message,
    )


def simulate_network(
    spec: ModelSpec,
    n: int,
    t_max: float,
    dt: float = 0.05,
    seed: int = 0,
    initial_currents: np.ndarray | None = None,
    record_every: int = 10,
    record_neurons: int = 0,
    dtype: type | np.dtype = np.float64,
    nn_covariance: np.ndarray | None = None,
    exact_overlaps: bool = False,
    progress: bool = False,
    method: str = "euler",
    max_memory_bytes: int | None = None,
) -> SimulationResult:
    """Sample a network of nominal size ``n`` and integrate it (module docstring equations).

    Parameters
    ----------
    spec : ModelSpec
        The model (any regions, edges, ranks, T, U, g, sizes).
    n : int
        Nominal size; region alpha has ``round(n * sizes[alpha])`` neurons.
    t_max : float
        Final time (> 0).
    dt : float
        Time step, ``0 < dt < 1``.
    seed : int
        Seed of the network and of the initial state.
    initial_currents : array_like (C,), optional
        ``S(0)``; random N(0, 1) by default.
    record_every : int
        Record every this many steps (and the last step).
    record_neurons : int
        Record ``x`` of this many neurons per region.
    dtype : numpy.float32 or numpy.float64
        Floating type of the network state and connectivity.
    nn_covariance : array_like (C, C), optional
        Override the chosen ``<n n>`` (see :mod:`mrdmft.solvers.network_sampling`).
    exact_overlaps : bool
        Sample vectors whose realized overlaps equal T and U exactly.
    progress : bool
        Print the percentage done to stderr about every 10 %.
    method : {"euler", "heun"}
        Time-stepping scheme.
    max_memory_bytes : int, optional
        Refuse runs whose estimated memory (:func:`network_memory_bytes` plus
        :func:`run_memory_bytes`) exceeds this; default 50 % of the available RAM.

    Returns
    -------
    SimulationResult
        ``success`` / ``status`` / ``message`` report a run that became non-finite.

    Raises
    ------
    ModelInputError
        For invalid arguments (named by field, with a fix), including runs that need more
        than :data:`MAX_STEPS` steps (``t_max``) or more memory than allowed (``t_max``
        for the recordings, ``n`` for the network), checked before anything is allocated.
    """
    spec = require_spec(spec)
    # check the cheap arguments and the memory need before sampling a possibly large network
    t_max = _positive_time(t_max, "t_max")
    dt = _positive_time(dt, "dt", upper=MAX_DT)
    _check_initial_currents(initial_currents, spec.n_channels)
    record_every = check_positive_int(record_every, "record_every")
    record_neurons = check_positive_int(record_neurons, "record_neurons", minimum=0)
    if method not in METHODS:
        raise ModelInputError("method", f"unknown method {method!r}", f"use one of {', '.join(METHODS)}")
    nonlinearity_expression(spec.nonlinearity)
    sizes = region_sizes(spec, n)
    network_bytes = network_memory_bytes(spec, n, check_dtype(dtype))
    _check_run_memory(spec, sizes, t_max, _n_steps(t_max, dt), record_every, record_neurons, network_bytes, max_memory_bytes)
    sample = sample_network(
        spec, n, seed=seed, nn_covariance=nn_covariance, exact_overlaps=exact_overlaps, dtype=dtype,
        max_memory_bytes=max_memory_bytes,
    )
    return run_network(
        spec,
        sample,
        t_max,
        dt=dt,
        initial_currents=initial_currents,
        record_every=record_every,
        record_neurons=record_neurons,
        method=method,
        progress=progress,
        max_memory_bytes=max_memory_bytes,
    )
