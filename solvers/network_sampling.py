"""Sampling the connectivity of one finite-N multiregion network (THEORY §1).

For a :class:`~mrdmft.theory.spec.ModelSpec` and a size ``n`` this module draws

* the low-rank connectivity vectors: in region beta, the output vectors ``n^e`` of every
  channel read out in beta (``source(e) = beta``) and the input vectors ``m^f`` of every
  channel entering beta (``target(f) = beta``) are jointly Gaussian, i.i.d. across the
  region's ``N_beta = round(n * sizes[beta])`` neurons, with the per-neuron covariance

  .. math::

      \\Sigma^\\beta = \\begin{pmatrix} \\Sigma_{nn} & T_{OI} \\\\ T_{OI}^\\top & U_{II} \\end{pmatrix},
      \\qquad T_{OI}[e, f] = \\langle n^e m^f \\rangle = T_{ef},\\;
      U_{II}[f, f'] = \\langle m^f m^{f'} \\rangle = U_{ff'},

  where ``O`` / ``I`` are the output / input channels of the region;
* the random within-region couplings ``J^alpha = g_alpha chi^alpha / sqrt(N_alpha)``
  with ``chi`` i.i.d. standard normal.

``<n n>`` does not enter the mean-field theory; it is *chosen* (THEORY §1). The default
is the smallest admissible one plus a ridge,

.. math::

    \\Sigma_{nn} = T_{OI} U_{II}^{+} T_{OI}^\\top + \\epsilon\\, s\\, I,
    \\qquad \\epsilon = 10^{-3}\\ (\\text{RIDGE}),\\;
    s = \\max \\operatorname{diag}(T_{OI} U_{II}^{+} T_{OI}^\\top)\\ (1 \\text{ if that is } 0),

which makes the Schur complement ``Sigma_nn - T U^+ T^T = eps s I`` positive, i.e. the
joint covariance PSD, whenever ``T_OI`` has no component along the null space of
``U_II`` (otherwise no network exists and :class:`ModelInputError` is raised). The
ridge keeps a small part of every ``n`` independent of the ``m`` (a larger ``<n n>`` only
adds finite-size noise).

With ``exact_overlaps=True`` the standard-normal draws of each region are whitened
(their empirical second-moment matrix ``Z^T Z / N`` is made the identity) before being
coloured, so the realized overlaps ``n . m / N`` and ``m . m / N`` equal ``T`` and ``U``
to rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.linalg

from mrdmft.theory.errors import ModelInputError
from mrdmft.theory.spec import ModelSpec, require_spec

RIDGE = 1e-3
"""Relative ridge added to the minimal ``<n n>`` (see module docstring)."""

PSD_TOLERANCE = 1e-9
"""Relative tolerance for eigenvalues treated as zero / for the PSD check."""

NULL_TOLERANCE = 1e-6
"""Relative size of ``T_OI`` along the null space of ``U_II`` above which no network exists."""

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

MAX_REGION_SIZE = 10**10
"""Largest accepted ``N_alpha`` (far beyond any memory; keeps the sizes exact in int64)."""

SAMPLING_COPIES = 6
"""Float64 arrays of shape (N_alpha, k) alive at once while a region's vectors are drawn
(``Z``, its whitened copy, ``X``, the n / m blocks and their float64 copies)."""


# ---------------------------------------------------------------------- layout
@dataclass(frozen=True)
class RegionChannels:
    """Channels whose vectors live in one region.

    Attributes
    ----------
    outputs : numpy.ndarray of int
        Channels ``e`` read out in the region (``source(e) == region``): their ``n^e``.
    inputs : numpy.ndarray of int
        Channels ``f`` entering the region (``target(f) == region``): their ``m^f``.
    """

    outputs: np.ndarray
    inputs: np.ndarray


def region_channels(spec: ModelSpec) -> tuple[RegionChannels, ...]:
    """Output and input channels of every region, in region order."""
    return tuple(
        RegionChannels(np.flatnonzero(spec.channel_source == r), np.flatnonzero(spec.channel_target == r))
        for r in range(spec.n_regions)
    )


def region_sizes(spec: ModelSpec, n: int) -> np.ndarray:
    """``N_alpha = round(n * sizes[alpha])`` as an int array.

    Raises
    ------
    ModelInputError
        On field ``n`` if any ``N_alpha < 1`` or ``N_alpha > MAX_REGION_SIZE``.
    """
    n = check_positive_int(n, "n", minimum=2)  # one neuron has no population variance
    scaled = np.rint(n * np.asarray(spec.sizes, dtype=float))
    if np.any(scaled > MAX_REGION_SIZE):
        big = int(np.argmax(scaled))
        raise ModelInputError(
            "n",
            f"n = {n:.3g} gives {scaled[big]:.3g} neurons in region {spec.regions[big]}, "
            f"more than the limit {MAX_REGION_SIZE:.3g}",
            "use a smaller n",
        )
    sizes = scaled.astype(np.int64)
    if np.any(sizes < 1):
        small = spec.regions[int(np.argmin(sizes))]
        raise ModelInputError(
            "n", f"region {small} gets no neurons at n = {n}", "use a larger network size: n times the smallest region size must be at least 1"
        )
    return sizes


# ---------------------------------------------------------------------- checks
def check_exact_overlaps(spec: ModelSpec, sizes: np.ndarray, covariance: np.ndarray) -> None:
    """Refuse exact overlaps where a region has fewer neurons than independent vector directions.

    Whitening ``k`` Gaussian directions (the rank of the region's joint covariance of
    its ``n``, ``m`` vectors) over ``N`` neurons needs ``N >= k``. Checked before any
    vector or coupling is drawn.

    Raises
    ------
    ModelInputError
        On field ``exact_overlaps``.
    """
    for r, channels in enumerate(region_channels(spec)):
        joint = joint_covariance(spec, covariance, r, channels)
        k = _sqrt_factor(joint).shape[1] if joint.size else 0
        if k > int(sizes[r]):
            raise ModelInputError(
                "exact_overlaps",
                f"region {spec.regions[r]} has {int(sizes[r])} neurons but {k} independent vector directions",
                f"give region {spec.regions[r]} at least {k} neurons, i.e. a larger network size n, or sample "
                "i.i.d. vectors without exact overlaps",
            )


def check_positive_int(value: object, field: str, minimum: int = 1) -> int:
    """Return ``value`` as an int ``>= minimum`` or raise :class:`ModelInputError`."""
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < minimum:
        raise ModelInputError(field, f"got {value!r}", f"give an integer >= {minimum}")
    return int(value)


def memory_limit_bytes(max_memory_bytes: int | None = None) -> float:
    """The memory a run may use: ``max_memory_bytes``, or by default
    ``MEMORY_FRACTION`` (50 %) of :func:`mrdmft.solvers.dmft.available_memory_bytes`.

    Raises
    ------
    ModelInputError
        On field ``max_memory_bytes`` if it is given and not a positive integer.
    """
    from .dmft import MEMORY_FRACTION, available_memory_bytes

    if max_memory_bytes is None:
        return MEMORY_FRACTION * available_memory_bytes()
    return float(check_positive_int(max_memory_bytes, "max_memory_bytes"))


def require_memory(needed_bytes: float, field: str, what: str, fix: str, max_memory_bytes: int | None = None) -> None:
    """Raise before allocating if ``needed_bytes`` exceed :func:`memory_limit_bytes`.

    Parameters
    ----------
    needed_bytes : float
        Estimated peak allocation.
    field : str
        The argument that sets the size (named in the error).
    what : str
        Description of the run, e.g. ``"n = 100000 (100000 neurons)"``.
    fix : str
        Suggested fix.
    max_memory_bytes : int, optional
        Override of the limit (default: half the available RAM).

    Raises
    ------
    ModelInputError
        ``<field>: <what> needs X GiB, more than the limit Y GiB (<fix>)``.
    """
    limit = memory_limit_bytes(max_memory_bytes)
    if needed_bytes > limit:
        raise ModelInputError(
            field, f"{what} needs {needed_bytes / 2**30:.3g} GiB, more than the limit {limit / 2**30:.3g} GiB", fix
        )


def network_memory_bytes(spec: ModelSpec, n: int, dtype: type | np.dtype = np.float64) -> float:
    """Estimated peak bytes of :func:`sample_network` for nominal size ``n``.

    ``sum_alpha [itemsize N_alpha^2 (if g_alpha > 0) + 8 SAMPLING_COPIES N_alpha k_alpha]``
    with ``k_alpha`` the number of vectors living in region alpha (couplings ``chi``
    plus the draws of the low-rank vectors). A float (it can exceed any integer type).
    """
    sizes = region_sizes(spec, n).astype(float)
    itemsize = check_dtype(dtype).itemsize
    vectors = np.array([c.outputs.size + c.inputs.size for c in region_channels(spec)], dtype=float)
    chi = np.where(np.asarray(spec.g, dtype=float) > 0, itemsize * sizes**2, 0.0)
    return float(np.sum(chi + 8.0 * SAMPLING_COPIES * sizes * vectors))


def check_dtype(dtype: object) -> np.dtype:
    """Return a supported floating dtype (float32 or float64) or raise."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in SUPPORTED_DTYPES:
        raise ModelInputError("dtype", f"unsupported dtype {dtype!r}", "use numpy.float32 or numpy.float64")
    return resolved


def _scale(matrix: np.ndarray) -> float:
    return max(1.0, float(np.abs(matrix).max())) if matrix.size else 1.0


def _check_T_in_range_of_U(spec: ModelSpec, region: int, channels: RegionChannels) -> None:
    """Raise if ``T_OI`` has a component along the null space of ``U_II`` (no network exists)."""
    O, I = channels.outputs, channels.inputs
    if O.size == 0 or I.size == 0:
        return
    T_OI = np.asarray(spec.T)[np.ix_(O, I)]
    w, V = np.linalg.eigh(np.asarray(spec.U)[np.ix_(I, I)])
    null = V[:, w <= PSD_TOLERANCE * _scale(w)]
    if null.size and np.abs(T_OI @ null).max() > NULL_TOLERANCE * _scale(T_OI):
        raise ModelInputError(
            "T",
            f"correlates n with a direction in which m has zero variance (region {spec.regions[region]})",
            "make T[e, :] orthogonal to the null space of U in that region, or make U positive definite",
        )


# ---------------------------------------------------------------------- covariances
def minimal_nn_covariance(spec: ModelSpec, ridge: float = RIDGE) -> np.ndarray:
    """The default ``<n n>`` (C, C): ``T U^+ T^T + ridge * s * I`` per source region.

    Parameters
    ----------
    spec : ModelSpec
    ridge : float
        Relative ridge ``epsilon``; ``s`` is the largest diagonal entry of the region's
        ``T_OI U_II^+ T_OI^T`` (1 when that is zero).

    Returns
    -------
    numpy.ndarray, shape (C, C)
        Block diagonal by source region (entries between channels read out in different
        regions are zero).

    Raises
    ------
    ModelInputError
        If ``T`` correlates some ``n`` with a direction in which the ``m`` have zero variance.
    """
    C = spec.n_channels
    out = np.zeros((C, C))
    for r, channels in enumerate(region_channels(spec)):
        O, I = channels.outputs, channels.inputs
        if O.size == 0:
            continue
        _check_T_in_range_of_U(spec, r, channels)
        if I.size:
            T_OI = np.asarray(spec.T)[np.ix_(O, I)]
            U_pinv = np.linalg.pinv(np.asarray(spec.U)[np.ix_(I, I)], rcond=PSD_TOLERANCE, hermitian=True)
            block = T_OI @ U_pinv @ T_OI.T
            block = 0.5 * (block + block.T)
        else:
            block = np.zeros((O.size, O.size))
        diagonal_max = float(np.max(np.diag(block)))
        s = diagonal_max if diagonal_max > 0 else 1.0
        out[np.ix_(O, O)] = block + ridge * s * np.eye(O.size)
    return out


def validate_nn_covariance(spec: ModelSpec, nn_covariance: object) -> np.ndarray:
    """Check a user-supplied ``<n n>`` (C, C) and return it as a float array.

    It must be finite, symmetric, zero between channels read out in different regions,
    and make every region's joint covariance of (n, m) positive semidefinite.

    Raises
    ------
    ModelInputError
        Naming ``nn_covariance`` (or ``T`` when no choice of ``<n n>`` can work).
    """
    C = spec.n_channels
    try:
        array = np.array(nn_covariance, dtype=float)
    except (TypeError, ValueError):
        raise ModelInputError("nn_covariance", "is not a numeric array", f"give a ({C}, {C}) array") from None
    if array.shape != (C, C):
        raise ModelInputError("nn_covariance", f"has shape {array.shape}, expected {(C, C)}", f"give a ({C}, {C}) array")
    if not np.all(np.isfinite(array)):
        raise ModelInputError("nn_covariance", "contains NaN or infinite values", "give finite numbers")
    if not np.allclose(array, array.T, rtol=0, atol=1e-12 * _scale(array)):
        raise ModelInputError("nn_covariance", "is not symmetric", "make nn_covariance[e, e'] == nn_covariance[e', e]")
    same_source = spec.channel_source[:, None] == spec.channel_source[None, :]
    if np.any(array[~same_source] != 0):
        raise ModelInputError(
            "nn_covariance",
            "couples output vectors read out in different regions",
            "set nn_covariance[e, e'] = 0 unless channels e and e' have the same source region",
        )
    for r, channels in enumerate(region_channels(spec)):
        _check_T_in_range_of_U(spec, r, channels)
        joint = joint_covariance(spec, array, r, channels)
        if joint.size == 0:
            continue
        lowest = float(np.linalg.eigvalsh(joint).min())
        if lowest < -PSD_TOLERANCE * _scale(joint):
            raise ModelInputError(
                "nn_covariance",
                f"makes the joint covariance of (n, m) in region {spec.regions[r]} not positive semidefinite "
                f"(lowest eigenvalue {lowest:.3g})",
                "use nn_covariance >= T U^+ T^T on each source region, e.g. the default (nn_covariance=None)",
            )
    return 0.5 * (array + array.T)


def joint_covariance(
    spec: ModelSpec, nn_covariance: np.ndarray, region: int, channels: RegionChannels | None = None
) -> np.ndarray:
    """Per-neuron covariance of the vectors living in ``region``.

    Returns ``[[<n n>_OO, T_OI], [T_OI^T, U_II]]`` of shape (|O| + |I|, |O| + |I|),
    outputs first, in channel order.
    """
    channels = region_channels(spec)[region] if channels is None else channels
    O, I = channels.outputs, channels.inputs
    T_OI = np.asarray(spec.T)[np.ix_(O, I)]
    return np.block(
        [
            [np.asarray(nn_covariance)[np.ix_(O, O)], T_OI],
            [T_OI.T, np.asarray(spec.U)[np.ix_(I, I)]],
        ]
    )


# ---------------------------------------------------------------------- random streams
def random_streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """Independent seed sequences for the vectors, the couplings and the initial state.

    Keeping them separate means that, e.g., changing ``g`` (which decides whether the
    couplings are drawn) does not change the sampled vectors.
    """
    vectors, couplings, initial = np.random.SeedSequence(seed).spawn(3)
    return {"vectors": vectors, "couplings": couplings, "initial": initial}


# ---------------------------------------------------------------------- sample
@dataclass(frozen=True, eq=False)
class NetworkSample:
    """The sampled connectivity of one finite network.

    Attributes
    ----------
    n : int
        Nominal size; region alpha has ``N_alpha = round(n * sizes[alpha])`` neurons.
    seed : int
        Seed the network was drawn from.
    region_sizes : numpy.ndarray of int, shape (R,)
        ``N_alpha``.
    channels : tuple of RegionChannels
        Output / input channels of every region (the packed layout below follows them).
    n_blocks : tuple of numpy.ndarray
        Per region, the output vectors as rows, shape (|outputs|, N_alpha), in ``dtype``.
    m_blocks : tuple of numpy.ndarray
        Per region, the input vectors as rows, shape (|inputs|, N_alpha), in ``dtype``.
    chi : tuple of (numpy.ndarray or None)
        Per region the random couplings ``g_alpha chi^alpha / sqrt(N_alpha)``,
        shape (N_alpha, N_alpha); ``None`` where ``g_alpha = 0``.
    nn_covariance : numpy.ndarray, shape (C, C)
        The ``<n n>`` used (block diagonal by source region).
    realized_T : numpy.ndarray, shape (C, C)
        ``n^e . m^f / N_beta`` where ``source(e) = target(f) = beta`` (zero elsewhere).
    realized_U : numpy.ndarray, shape (C, C)
        ``m^f . m^f' / N_beta`` for channels entering the same region (zero elsewhere).
    exact_overlaps : bool
        Whether the draws were whitened so that the realized overlaps equal T and U.
    """

    n: int
    seed: int
    region_sizes: np.ndarray
    channels: tuple[RegionChannels, ...]
    n_blocks: tuple[np.ndarray, ...]
    m_blocks: tuple[np.ndarray, ...]
    chi: tuple[np.ndarray | None, ...]
    nn_covariance: np.ndarray
    realized_T: np.ndarray
    realized_U: np.ndarray
    exact_overlaps: bool = False

    @property
    def n_channels(self) -> int:
        """Number of channels C."""
        return self.realized_T.shape[0]

    @property
    def dtype(self) -> np.dtype:
        """Floating type of the vectors and couplings."""
        return self.n_blocks[0].dtype if self.n_blocks else self.m_blocks[0].dtype

    def _per_channel(self, blocks: tuple[np.ndarray, ...], attribute: str) -> list[np.ndarray]:
        out: list[np.ndarray | None] = [None] * self.n_channels
        for block, channels in zip(blocks, self.channels):
            for row, channel in enumerate(getattr(channels, attribute)):
                out[channel] = block[row]
        return out  # type: ignore[return-value]

    @property
    def m(self) -> list[np.ndarray]:
        """Per channel f, the input vector ``m^f`` in its target region, shape (N_target,)."""
        return self._per_channel(self.m_blocks, "inputs")

    @property
    def n_vectors(self) -> list[np.ndarray]:
        """Per channel e, the output vector ``n^e`` in its source region, shape (N_source,)."""
        return self._per_channel(self.n_blocks, "outputs")


def _sqrt_factor(covariance: np.ndarray) -> np.ndarray:
    """``L`` (d, k) with ``L L^T = covariance``, keeping the k positive eigen-directions."""
    w, V = np.linalg.eigh(covariance)
    keep = w > PSD_TOLERANCE * _scale(w)
    return V[:, keep] * np.sqrt(w[keep])


def _whiten(Z: np.ndarray) -> np.ndarray:
    """Return ``Z R^{-1}`` with ``Z^T Z / N = R^T R``, so its second-moment matrix is I."""
    gram = Z.T @ Z / Z.shape[0]
    upper = scipy.linalg.cholesky(gram, lower=False)
    return scipy.linalg.solve_triangular(upper, Z.T, trans="T", lower=False).T


def sample_network(
    spec: ModelSpec,
    n: int,
    seed: int = 0,
    nn_covariance: np.ndarray | None = None,
    exact_overlaps: bool = False,
    dtype: type | np.dtype = np.float64,
    max_memory_bytes: int | None = None,
) -> NetworkSample:
    """Draw the connectivity of one network of nominal size ``n`` (THEORY §1).

    Region beta's vectors are ``X = Z L^T`` with ``Z`` (N_beta, k) standard normal and
    ``L L^T = Sigma^beta`` (the joint covariance, see module docstring), so each neuron's
    row has covariance ``Sigma^beta``. With ``exact_overlaps`` ``Z`` is first whitened,
    giving ``X^T X / N_beta = Sigma^beta`` exactly. The couplings are
    ``g_alpha chi / sqrt(N_alpha)`` with ``chi`` i.i.d. N(0, 1) (not drawn when g_alpha = 0).

    Parameters
    ----------
    spec : ModelSpec
        The model (T, U, g, sizes).
    n : int
        Nominal size, ``N_alpha = round(n * sizes[alpha])``.
    seed : int
        Seed (non-negative); vectors and couplings use independent streams.
    nn_covariance : array_like (C, C), optional
        Override the default ``<n n>`` (:func:`minimal_nn_covariance`).
    exact_overlaps : bool
        Make the realized overlaps equal T and U exactly (needs N_beta >= number of
        vectors in the region).
    dtype : numpy.float32 or numpy.float64
        Storage type of vectors and couplings (the draws are made in float64).
    max_memory_bytes : int, optional
        Refuse networks whose :func:`network_memory_bytes` exceed this; default 50 % of
        the available RAM.

    Returns
    -------
    NetworkSample

    Raises
    ------
    ModelInputError
        Bad ``n``/``seed``/``dtype``, a network that does not fit in memory (field ``n``,
        checked before allocating), an infeasible ``T`` / ``nn_covariance``, or too few
        neurons for ``exact_overlaps``.
    """
    spec = require_spec(spec)
    sizes = region_sizes(spec, n)
    seed = check_positive_int(seed, "seed", minimum=0)
    dtype = check_dtype(dtype)
    require_memory(
        network_memory_bytes(spec, n, dtype),
        "n",
        f"a network with n = {n} ({float(sizes.sum()):.3g} neurons)",
        "use a smaller n",
        max_memory_bytes,
    )
    covariance = minimal_nn_covariance(spec) if nn_covariance is None else validate_nn_covariance(spec, nn_covariance)
    if exact_overlaps:
        check_exact_overlaps(spec, sizes, covariance)
    streams = random_streams(seed)
    vector_streams = streams["vectors"].spawn(spec.n_regions)
    coupling_streams = streams["couplings"].spawn(spec.n_regions)
    C = spec.n_channels
    realized_T = np.zeros((C, C))
    realized_U = np.zeros((C, C))
    n_blocks, m_blocks, chi = [], [], []
    all_channels = region_channels(spec)
    for r, channels in enumerate(all_channels):
        N = int(sizes[r])
        O, I = channels.outputs, channels.inputs
        joint = joint_covariance(spec, covariance, r, channels)
        factor = _sqrt_factor(joint) if joint.size else np.zeros((0, 0))
        k = factor.shape[1]
        Z = np.random.default_rng(vector_streams[r]).standard_normal((N, k))
        if exact_overlaps and k:
            Z = _whiten(Z)
        X = (Z @ factor.T).astype(dtype)
        n_block = np.ascontiguousarray(X[:, : O.size].T)
        m_block = np.ascontiguousarray(X[:, O.size :].T)
        n64, m64 = n_block.astype(np.float64), m_block.astype(np.float64)
        realized_T[np.ix_(O, I)] = n64 @ m64.T / N
        realized_U[np.ix_(I, I)] = m64 @ m64.T / N
        n_blocks.append(n_block)
        m_blocks.append(m_block)
        g = float(spec.g[r])
        if g > 0:
            couplings = np.random.default_rng(coupling_streams[r]).standard_normal((N, N), dtype=dtype)
            couplings *= dtype.type(g / np.sqrt(N))
            chi.append(couplings)
        else:
            chi.append(None)
    for array in (covariance, realized_T, realized_U):
        array.setflags(write=False)
    return NetworkSample(
        n=int(n),
        seed=seed,
        region_sizes=sizes,
        channels=all_channels,
        n_blocks=tuple(n_blocks),
        m_blocks=tuple(m_blocks),
        chi=tuple(chi),
        nn_covariance=covariance,
        realized_T=realized_T,
        realized_U=realized_U,
        exact_overlaps=bool(exact_overlaps),
    )
