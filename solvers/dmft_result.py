"""Result object of the two-time DMFT integration, with atomic saving and loading.

Storage of ``delta``:

* full (``window is None``): ``delta[r, n, m] = Delta^r(t_n, t_m)``, shape ``(R, n_t, n_t)``,
  symmetric in ``(n, m)``; dimensions ``("region", "t", "t2")``.
* windowed (``window = W``): ``delta[r, n, k] = Delta^r(t_n, t_n - k dt)`` for the lags
  ``k = 0 .. W-1``, shape ``(R, n_t, W)``; entries with ``n - k < 0`` are NaN; dimensions
  ``("region", "t", "lag")``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mrdmft.theory.errors import ModelInputError

from .atomic_files import atomic_output

FORMAT = "mrdmft.dmft/1"
"""Format tag stored in saved files."""


@dataclass(frozen=True, eq=False)
class DMFTResult:
    """Currents, gains and two-time functions of one DMFT integration.

    Attributes
    ----------
    model : str
        Model name.
    regions : tuple of str
        Region names (order of the region axes).
    channel_names : list of str
        Edge/channel names ``"SOURCE->TARGET"`` (order of the edge axis).
    dt : float
        Time step.
    t : numpy.ndarray, shape (n_t,)
        Grid times ``t_n = n dt``.
    currents : numpy.ndarray, shape (n_t, C)
        ``S_e(t_n)``.
    gain : numpy.ndarray, shape (n_t, R)
        ``psi^beta(t_n) = psi(Delta^beta(t_n, t_n))``.
    delta : numpy.ndarray
        ``(R, n_t, n_t)`` full two-time functions, or ``(R, n_t, W)`` lag window (see
        the module docstring).
    window : int or None
        Number of stored lags, or None for full storage.
    success : bool
        False if the integration stopped early (the arrays then end at the last finite step).
    status : int
        0 = finished, 1 = stopped at a non-finite value.
    message : str
        Human-readable status.
    parameters : dict
        What the run was computed from (``g``, ``t_max``, initial currents and variance).
    """

    model: str
    regions: tuple[str, ...]
    channel_names: list[str]
    dt: float
    t: np.ndarray
    currents: np.ndarray
    gain: np.ndarray
    delta: np.ndarray
    window: int | None
    success: bool
    status: int
    message: str
    parameters: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ views
    @property
    def n_t(self) -> int:
        """Number of grid times."""
        return int(self.t.shape[0])

    def equal_time(self) -> np.ndarray:
        """``Delta^r(t_n, t_n)``, shape ``(n_t, R)``."""
        if self.window is None:
            return np.diagonal(self.delta, axis1=1, axis2=2).T.copy()
        return self.delta[:, :, 0].T.copy()

    def lag_row(self, n: int = -1) -> np.ndarray:
        """``Delta^r(t_n, t_n - k dt)`` for the stored lags ``k = 0, 1, ...``, shape ``(R, n_lags)``."""
        n = n % self.n_t
        if self.window is None:
            return self.delta[:, n, n::-1].copy()
        return self.delta[:, n, : min(self.window, n + 1)].copy()

    def stationary_autocorrelation(
        self, normalize: bool = False, max_lag: float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Two-time function at the end of the run as a function of the lag.

        Returns ``tau_k = k dt`` and ``Delta^r(t_end, t_end - tau_k)``; for a run that has
        reached a stationary state this is the stationary autocorrelation ``Delta(tau)``.

        Parameters
        ----------
        normalize : bool
            Divide each region by its ``Delta(t_end, t_end)`` (NaN for a region whose
            equal-time variance is zero).
        max_lag : float, optional
            Keep lags ``tau <= max_lag``. Default: all stored lags without a window; with a
            window the first half of it, because the lags near the window edge carry the
            error of the memory continuation (two-region chaotic model, dt = 0.05: shortly
            after the window fills up to 7.6 % at the last lag and 3 % twenty lags before
            it; at t = 80 at most 8e-5 over all lags and 3e-7 up to W/2, W = 200 or 800).

        Returns
        -------
        tau : numpy.ndarray, shape (n_tau,)
        autocorrelation : numpy.ndarray, shape (R, n_tau)
        """
        row = self.lag_row(-1)
        tau = self.dt * np.arange(row.shape[1])
        if max_lag is None and self.window is not None:
            max_lag = self.dt * (self.window // 2)
        if max_lag is not None:
            if not np.isfinite(max_lag) or max_lag < 0:
                raise ModelInputError("max_lag", f"max_lag = {max_lag} is not a lag", "give max_lag >= 0")
            keep = tau <= max_lag * (1 + 1e-12) + 1e-15
            tau, row = tau[keep], row[:, keep]
        if normalize:
            zero = row[:, :1] == 0
            row = np.where(zero, np.nan, row / np.where(zero, 1.0, row[:, :1]))
        return tau, row

    # ------------------------------------------------------------------ JSON
    def to_json(self) -> dict[str, Any]:
        """Final state with the stable keys of the DESIGN.md contract.

        Returns
        -------
        dict
            ``t_final``, ``currents_final`` {edge: S}, ``gain_final`` {region: psi},
            ``Delta_equal_time_final`` {region: Delta(t, t)}, plus ``model``, ``dt``,
            ``window``, ``success``, ``status``, ``message``.
        """
        equal = self.equal_time()[-1]
        return {
            "model": self.model,
            "t_final": float(self.t[-1]),
            "currents_final": {name: float(s) for name, s in zip(self.channel_names, self.currents[-1])},
            "gain_final": {name: float(p) for name, p in zip(self.regions, self.gain[-1])},
            "Delta_equal_time_final": {name: float(v) for name, v in zip(self.regions, equal)},
            "dt": float(self.dt),
            "window": self.window,
            "success": bool(self.success),
            "status": int(self.status),
            "message": self.message,
        }

    # ------------------------------------------------------------------ files
    def _meta(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "model": self.model,
            "regions": list(self.regions),
            "channel_names": list(self.channel_names),
            "dt": float(self.dt),
            "window": self.window,
            "success": bool(self.success),
            "status": int(self.status),
            "message": self.message,
            "parameters": self.parameters,
            "dims": {
                "t": ["t"],
                "currents": ["t", "edge"],
                "gain": ["t", "region"],
                "delta": ["region", "t", "t2" if self.window is None else "lag"],
            },
            "coords": {"edge": list(self.channel_names), "region": list(self.regions)},
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write an ``.npz`` file atomically (temporary file in the same folder, then rename).

        The archive holds the arrays ``t``, ``currents``, ``gain``, ``delta`` and a JSON
        string ``meta`` with names, dimensions (``currents``: ("t", "edge"), ``gain``:
        ("t", "region"), ``delta``: ("region", "t", "t2") or ("region", "t", "lag")) and
        the run's parameters.
        """
        path = Path(path)
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.is_dir():
            raise ModelInputError(str(path), "folder does not exist", "create the folder or choose another path")
        with atomic_output(path) as handle:
            np.savez(
                handle,
                t=self.t,
                currents=self.currents,
                gain=self.gain,
                delta=self.delta,
                meta=np.array(json.dumps(self._meta())),
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "DMFTResult":
        """Read a file written by :meth:`save`.

        Raises
        ------
        ModelInputError
            If the file is missing or is not a saved DMFT result.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelInputError(str(path), "no such file", "check the path of the saved DMFT result")
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in ("t", "currents", "gain", "delta", "meta")}
            meta = json.loads(str(arrays["meta"]))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelInputError(str(path), f"not a saved DMFT result ({exc})", "give a file written by DMFTResult.save / mrdmft dmft --out") from None
        if meta.get("format") != FORMAT:
            raise ModelInputError(str(path), f"unknown format {meta.get('format')!r}", f"expected {FORMAT}")
        return cls(
            model=meta["model"],
            regions=tuple(meta["regions"]),
            channel_names=list(meta["channel_names"]),
            dt=float(meta["dt"]),
            t=arrays["t"],
            currents=arrays["currents"],
            gain=arrays["gain"],
            delta=arrays["delta"],
            window=meta["window"],
            success=bool(meta["success"]),
            status=int(meta["status"]),
            message=meta["message"],
            parameters=meta.get("parameters", {}),
        )
