"""Input checks shared by the g = 0 current solvers (fixed points, stability, ODE).

Every problem is raised as :class:`~mrdmft.theory.errors.ModelInputError` naming the
field and the fix, before any numerics run.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.spec import ModelSpec, require_spec

TWO_TIME_FIX = "use `mrdmft stationary` / `mrdmft dmft`, or set g = 0"

START_ARRAYS = (4, 24, 16)
"""Per start, the multi-start root finder keeps about ``4 C^2 + 24 C + 16`` float64 numbers
alive (Jacobian and normal-matrix buffers and their products, currents, residuals, trial
points, damping and bookkeeping); see :func:`starts_memory_bytes`."""


def require_no_disorder(spec: ModelSpec, needs: str = "its fixed points need the two-time (chaotic) theory") -> None:
    """Refuse models with a disordered region (g > 0).

    The current equations ``dS/dt = -S + psi(Delta) T S`` with ``Delta = sum U S S``
    hold only for g = 0; with g > 0 the variance has a fluctuating part and the
    two-time theory applies.

    Raises
    ------
    ModelInputError
        On field ``g`` if some region has ``g > 0``; on ``edges`` if there are no
        currents at all.
    """
    spec = require_spec(spec)
    require_channels(spec)
    g = np.asarray(spec.g, dtype=float)
    if np.any(g > 0):
        r = int(np.flatnonzero(g > 0)[0])
        raise ModelInputError("g", f"region {spec.regions[r]} has disorder g = {g[r]:g}: {needs}", TWO_TIME_FIX)


def require_channels(spec: ModelSpec) -> None:
    """Refuse a model without edges (it has no currents to solve for).

    Raises
    ------
    ModelInputError
        On field ``edges`` if the model has no channels.
    """
    if spec.n_channels == 0:
        raise ModelInputError("edges", "the model has no edges, so there are no currents", "add at least one edge")


def as_currents(spec: ModelSpec, value: object, field: str) -> np.ndarray:
    """Convert currents to a finite float array of shape (C,).

    Parameters
    ----------
    spec : ModelSpec
        The model (gives C and the channel names).
    value : array_like or Mapping[str, float]
        One value per channel in channel order, or ``{channel name: value}`` (missing
        channels are 0).
    field : str
        Name of the argument, for error messages.
    """
    names = spec.channel_names
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ModelInputError(field, f"unknown channel {unknown[0]!r}", f"channels are {', '.join(names)}")
        value = [value.get(name, 0.0) for name in names]
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ModelInputError(field, "contains a non-numeric value", "give one number per channel") from None
    if array.shape != (len(names),):
        raise ModelInputError(
            field, f"has shape {array.shape}, expected ({len(names)},)", f"give one value per channel ({', '.join(names)})"
        )
    if not np.all(np.isfinite(array)):
        raise ModelInputError(field, "contains NaN or infinite values", "give finite currents")
    return array


def positive_number(value: object, field: str, fix: str) -> float:
    """Return ``value`` as a float, or raise if it is not a finite positive number."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ModelInputError(field, f"{value!r} is not a number", fix) from None
    if not np.isfinite(number) or number <= 0:
        raise ModelInputError(field, f"must be a finite positive number, got {value!r}", fix)
    return number


def positive_integer(value: object, field: str, minimum: int = 1) -> int:
    """Return ``value`` as an int >= ``minimum``, or raise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ModelInputError(field, f"must be an integer >= {minimum}, got {value!r}", f"give an integer >= {minimum}")
    return int(value)


def starts_memory_bytes(n_starts: int, n_channels: int) -> float:
    """Estimated peak bytes of a batched root search from ``n_starts`` starts (plus ``S = 0``).

    ``8 (n_starts + 1) (4 C^2 + 24 C + 16)`` (:data:`START_ARRAYS`), as a float.
    """
    quadratic, linear, constant = START_ARRAYS
    C = float(n_channels)
    return 8.0 * (float(n_starts) + 1.0) * (quadratic * C * C + linear * C + constant)


def require_starts_fit(n_starts: int, n_channels: int, max_memory_bytes: int | None = None) -> None:
    """Refuse (field ``n_starts``) more starts than fit in memory, before allocating them.

    Raises
    ------
    ModelInputError
        If :func:`starts_memory_bytes` exceeds the limit of
        :func:`mrdmft.solvers.network_sampling.require_memory` (default: half the available RAM).
    """
    from .network_sampling import require_memory

    require_memory(
        starts_memory_bytes(n_starts, n_channels),
        "n_starts",
        f"{n_starts:.3g} starts with {n_channels} currents",
        "use fewer starts",
        max_memory_bytes,
    )
