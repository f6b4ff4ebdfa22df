"""Mean-field prediction of the structured variance A that a simulation is compared with.

``mrdmft simulate`` measures ``A^alpha = sum_{f, f' into alpha} U_{f f'} Sbar_f Sbar_f'``
(currents ``Sbar`` averaged after the network settled) and compares it with the theory:

* models without disorder (every ``g = 0``): the stable fixed points of the current
  equations (``find_fixed_points``). A network settles into *one* of them, so the
  prediction is the stable (or marginal) fixed point nearest, in currents, to the
  measured time-averaged currents; its ``A`` (``FixedPoint.variance``) is the prediction.
* models with disorder (some ``g > 0``): the per-region stationary solution
  (``stationary_regions``), whose ``A`` does not depend on which fixed point is reached.
  It is checked to be a stationary state of the whole model; when it is not (outside the
  paper's regime) or there is no stable fixed point at g = 0, there is *no* prediction
  and the note says why (a wrong number is worse than none).

The solvers are imported lazily, so this module costs nothing until it is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mrdmft.theory.spec import ModelSpec

from .cli_output import as_payload


@dataclass(frozen=True)
class APrediction:
    """Predicted structured variance per region and how it was obtained.

    Attributes
    ----------
    A : numpy.ndarray or None
        ``A^alpha`` per region, in region order; ``None`` if the theory gives no
        static prediction (no stable fixed point found).
    method : str
        ``"fixed-point"`` or ``"stationary"``.
    note : str
        One sentence for the human output (which fixed point, or why none).
    """

    A: np.ndarray | None
    method: str
    note: str


@dataclass(frozen=True)
class PredictionCandidates:
    """What the theory offers before the simulation has run (computed first, so a bad
    model fails before the expensive simulation).

    Attributes
    ----------
    method : str
        ``"fixed-point"`` or ``"stationary"``.
    currents : numpy.ndarray, shape (K, C)
        Currents of the K stable or marginal fixed points (``fixed-point`` only).
    A : numpy.ndarray, shape (K, R)
        Their structured variances (one row for ``stationary``).
    n_found : int
        Number of distinct fixed points found (``fixed-point`` only).
    failure : str
        Why the stationary theory gives no prediction (``""`` if it does).
    """

    method: str
    currents: np.ndarray
    A: np.ndarray
    n_found: int = 0
    failure: str = ""


def prediction_candidates(spec: ModelSpec, n_starts: int = 200, seed: int = 0) -> PredictionCandidates:
    """Stable fixed points (g = 0) or the stationary solution (g > 0) of a model.

    Parameters
    ----------
    spec : ModelSpec
        The model.
    n_starts, seed : int
        Multi-start settings of ``find_fixed_points`` (g = 0 models).

    Returns
    -------
    PredictionCandidates
    """
    if np.any(np.asarray(spec.g) > 0):
        from mrdmft.solvers.stationary import stationary_regions

        report = stationary_regions(spec)
        regions = as_payload(report.to_json())["regions"]
        A = np.array([[_finite_or_nan(regions[r].get("A")) for r in spec.regions]])
        if not report.success:
            A = np.full((1, spec.n_regions), np.nan)
        failure = "" if report.success else report.message
        return PredictionCandidates("stationary", np.zeros((1, spec.n_channels)), A, failure=failure)
    from mrdmft.solvers.fixed_points import find_fixed_points

    result = find_fixed_points(spec, n_starts=n_starts, seed=seed)
    stable = [fp for fp in result.fixed_points if fp.stable]
    currents = np.array([np.asarray(fp.currents, dtype=float) for fp in stable]).reshape(len(stable), spec.n_channels)
    A = np.array([np.asarray(fp.variance, dtype=float) for fp in stable]).reshape(len(stable), spec.n_regions)
    return PredictionCandidates("fixed-point", currents, A, n_found=len(result.fixed_points))


def choose_prediction(candidates: PredictionCandidates, measured_currents: np.ndarray) -> APrediction:
    """Pick the prediction that corresponds to the state the network settled in.

    For fixed points: the stable fixed point ``S*`` minimizing ``||S* - Sbar||``
    (Euclidean, over channels), where ``Sbar`` are the measured time-averaged currents.

    Parameters
    ----------
    candidates : PredictionCandidates
        From :func:`prediction_candidates`.
    measured_currents : numpy.ndarray, shape (C,)
        Time-averaged simulated currents.

    Returns
    -------
    APrediction
    """
    if candidates.method == "stationary":
        if candidates.failure or not np.all(np.isfinite(candidates.A[0])):
            reason = candidates.failure or "the stationary solver found no solution for some region"
            return APrediction(None, "stationary", f"no prediction: {reason}")
        return APrediction(candidates.A[0], "stationary", "stationary mean-field solution per region (mrdmft stationary)")
    if len(candidates.A) == 0:
        return APrediction(
            None,
            "fixed-point",
            f"no stable fixed point among the {candidates.n_found} found: no static prediction "
            "(the currents may oscillate; try `mrdmft stability` or `mrdmft dmft`)",
        )
    distance = np.linalg.norm(candidates.currents - np.asarray(measured_currents)[None, :], axis=1)
    best = int(np.argmin(distance))
    return APrediction(
        candidates.A[best],
        "fixed-point",
        f"stable fixed point nearest to the measured currents ({len(candidates.A)} stable of "
        f"{candidates.n_found} found; distance {distance[best]:.3g})",
    )


def _finite_or_nan(value: Any) -> float:
    return float("nan") if value is None else float(value)
