"""Frechet distance between Gaussians fitted to embeddings (FAD), computed stably.

``d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``. The trace term is the sum of the square
roots of the eigenvalues of ``S1 S2``, which equal those of the symmetric PSD matrix
``S1^(1/2) S2 S1^(1/2)``: two symmetric eigen-decompositions, no complex ``sqrtm``, no singular-matrix
failure when a set has fewer embeddings than dimensions. Everything runs in float64.

FD is biased upwards for small sets; :func:`fad_estimate` reports the plain FD next to a bias-corrected
estimate with a basic bootstrap interval over songs, which contains that estimate.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run BLAS/LAPACK on one thread: eigen-decompositions of E x E matrices (E ~ 128) are many times
    faster that way than with OpenBLAS's threads, which spin against each other on a busy machine."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _symmetric(matrix: np.ndarray) -> np.ndarray:
    return (matrix + matrix.T) * 0.5


def psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite ``[E, E]`` matrix (negative rounding clipped)."""
    eigenvalues, eigenvectors = np.linalg.eigh(_symmetric(np.asarray(matrix, dtype=np.float64)))
    return (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T


def gaussian_statistics(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[E]`` and covariance ``[E, E]`` (unbiased, ddof=1) of ``[M, E]`` embeddings, M >= 2."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    if embeddings.ndim != 2 or embeddings.shape[0] < 2:
        raise ValueError(f"need at least 2 embeddings of shape [M, E], got shape {embeddings.shape}")
    return embeddings.mean(axis=0), np.cov(embeddings, rowvar=False, ddof=1).reshape(embeddings.shape[1], -1)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Squared Frechet distance between N(mu1, sigma1) and N(mu2, sigma2); shapes ``[E]`` and ``[E, E]``."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    size = mu1.shape[0]
    if mu2.shape != (size,) or sigma1.shape != (size, size) or sigma2.shape != (size, size):
        raise ValueError(
            f"mismatched Gaussian parameters: mu1 {mu1.shape}, sigma1 {sigma1.shape}, mu2 {mu2.shape}, sigma2 {sigma2.shape}"
        )
    root = psd_sqrt(sigma1)
    middle = _symmetric(root @ _symmetric(sigma2) @ root)
    trace_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(middle), 0.0, None)).sum()
    difference = mu1 - mu2
    distance = difference @ difference + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt
    return max(float(distance), 0.0)  # only rounding can make it negative


def frechet_audio_distance(generated: np.ndarray, reference: np.ndarray) -> float:
    """FAD between two embedding sets ``[M1, E]`` and ``[M2, E]``."""
    generated, reference = np.asarray(generated), np.asarray(reference)
    if generated.ndim != 2 or reference.ndim != 2 or generated.shape[1] != reference.shape[1]:
        raise ValueError(f"embedding sets must be [M, E] with equal E, got {generated.shape} and {reference.shape}")
    with single_threaded_blas():
        return frechet_distance(*gaussian_statistics(generated), *gaussian_statistics(reference))


class _WeightedGaussian:
    """Mean and covariance of a set of songs' embeddings under per-song resampling counts.

    The rows are centred once; a resample weights every row by how often its song was drawn, so no
    resampled matrix is ever built.
    """

    def __init__(self, per_song: Sequence[np.ndarray]) -> None:
        arrays = [np.asarray(a, dtype=np.float64).reshape(len(a), -1) for a in per_song]
        self.rows = np.concatenate(arrays) if arrays else np.zeros((0, 0))
        self.song_of_row = np.repeat(np.arange(len(arrays)), [len(a) for a in arrays])
        self.centre = self.rows.mean(axis=0) if len(self.rows) else np.zeros(self.rows.shape[1])
        self.rows = self.rows - self.centre
        self.songs = len(arrays)

    def statistics(self, song_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        weights = song_counts[self.song_of_row].astype(np.float64)
        total = weights.sum()
        if total < 2:
            return None
        mean = weights @ self.rows / total
        second = (self.rows * weights[:, None]).T @ self.rows
        covariance = (second - total * np.outer(mean, mean)) / (total - 1.0)
        return mean + self.centre, covariance


def _resampled_distances(
    generated: Sequence[np.ndarray], reference: Sequence[np.ndarray], resamples: int, seed: int
) -> np.ndarray:
    """FD of ``resamples`` bootstrap resamples: the songs of each set drawn with replacement, independently."""
    sets = _WeightedGaussian(generated), _WeightedGaussian(reference)
    generator = np.random.default_rng(seed)
    values = []
    with single_threaded_blas():
        for _ in range(resamples):
            stats = []
            for gaussian in sets:
                counts = np.bincount(generator.integers(0, gaussian.songs, gaussian.songs), minlength=gaussian.songs)
                stats.append(gaussian.statistics(counts))
            if stats[0] is not None and stats[1] is not None:
                values.append(frechet_distance(*stats[0], *stats[1]))
    return np.asarray(values, dtype=np.float64)


def _check(resamples: int, confidence: float) -> float:
    """The lower tail in percent, after checking ``confidence`` (no resamples, or fewer, give NaN)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return (1.0 - confidence) / 2.0 * 100.0


@dataclass(frozen=True)
class FrechetEstimate:
    """The FD of two sets of songs: the plain value, and a bias-corrected estimate with its interval.

    ``plain`` is the FD of the full sets (biased upwards for small sets, no interval of its own);
    ``value`` is the bias-corrected estimate and ``ci_low``/``ci_high`` its interval, which always
    contains it. ``resampled_median`` is the median FD of the ``resamples`` resamples that had at least
    two embeddings per set; ``value`` and the interval are NaN when there were none.
    """

    plain: float
    value: float
    ci_low: float
    ci_high: float
    resamples: int
    resampled_median: float

    @property
    def exceeded(self) -> bool:
        """True when even the low quantile of the resampled FDs is at least twice the plain FD: the
        resampling bias is as large as the FD itself, and estimate and interval collapse to 0."""
        return self.resamples > 0 and self.ci_high == 0.0 and self.plain > 0.0


def fad_estimate(
    generated: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> FrechetEstimate:
    """Plain FD, bias-corrected FD and a basic (reverse-percentile) bootstrap interval for the latter.

    ``generated`` and ``reference`` are per-song embedding arrays ``[M_i, E]``. The songs of each set are
    resampled with replacement (independently, ``seed`` fixes the draws). The bootstrap treats the sets
    as their own populations: a resampled FD* stands to the plain FD as the plain FD stands to the true
    FD, upward bias included. Hence, with ``q_lo``, ``q_hi`` the quantiles of FD* at ``(1 -/+ confidence) / 2``:

    - estimate ``max(0, 2 FD - median(FD*))``: FD minus the bias the resamples show (the median, not the
      mean, since FD* is skewed to the right, and so that the estimate lies inside the interval);
    - interval ``[max(0, 2 FD - q_hi), max(0, 2 FD - q_lo)]``, which contains the estimate by
      construction (``q_lo <= median <= q_hi``); both are clipped at 0, as FD is.

    Why not the extrapolated FD of Chong & Forsyth (2020), which fits ``FD(N) = FD_inf + k / N`` on
    subsets of the generated set against a large fixed reference? Here both sets are small (a few to a
    few dozen songs) and both bias FD; subsets of a 6-song set have 3 to 6 songs, where FD is far from
    linear in ``1 / N`` once a subset has fewer embeddings than dimensions; and an interval for ``FD_inf``
    must refit inside every resample (about 13 times the cost), which in trials on Gaussian sets gave
    intervals far wider than needed. The basic bootstrap costs what the old percentile interval cost,
    corrects the bias of both sets to first order, and in those trials (dimension 2 to 16, 6 to 20 songs)
    its 95% interval covered the closed-form FD in 86 to 98% of sets, where the percentile interval of the
    resampled FDs (what synctrack reported before) covered it in 0 to 84%: a resample repeats songs, so the
    resampled FDs sit above the plain FD, often all of them.

    Small sets: the correction is first order. With fewer embeddings than dimensions the bias grows
    faster than ``1 / N`` and is only partly removed, so the estimate stays biased upwards and its
    interval can miss the true FD (in 64 dimensions with 6 songs of 10 embeddings per set, it never
    covered it): compare only sets of equal song and embedding counts. When even ``q_lo`` reaches twice
    the plain FD (:attr:`FrechetEstimate.exceeded`), estimate and interval are 0: the sets are too small
    to tell the FD from the resampling bias, which is not an FD of exactly 0. This is also what a paired
    design gives (generated songs that copy the reference songs one for one): the plain FD is small, and
    independent resampling of the two sets breaks the pairs.
    """
    tail = _check(resamples, confidence)
    plain = frechet_audio_distance(np.concatenate(list(generated)), np.concatenate(list(reference)))
    values = _resampled_distances(generated, reference, resamples, seed) if resamples > 0 else np.zeros(0)
    if not values.size:
        return FrechetEstimate(plain, math.nan, math.nan, math.nan, 0, math.nan)
    low, median, high = np.percentile(values, [tail, 50.0, 100.0 - tail])
    return FrechetEstimate(
        plain=plain,
        value=max(2.0 * plain - float(median), 0.0),
        ci_low=max(2.0 * plain - float(high), 0.0),
        ci_high=max(2.0 * plain - float(low), 0.0),
        resamples=int(values.size),
        resampled_median=float(median),
    )
