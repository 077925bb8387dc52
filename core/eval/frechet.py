"""Frechet distance between Gaussians fitted to embeddings (FAD), computed stably.

``d^2 = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))``. The trace term is the sum of the square
roots of the eigenvalues of ``S1 S2``, which equal those of the symmetric PSD matrix
``S1^(1/2) S2 S1^(1/2)``: two symmetric eigen-decompositions, no complex ``sqrtm``, no singular-matrix
failure when a set has fewer embeddings than dimensions. Everything runs in float64.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

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


def fad_bootstrap_ci(
    generated: Sequence[np.ndarray],
    reference: Sequence[np.ndarray],
    resamples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile interval of FAD when the songs of each set are resampled with replacement.

    ``generated`` and ``reference`` are per-song embedding arrays ``[M_i, E]``. Note that FAD is biased
    upwards for small sets, and a resample repeats songs, so the interval describes the spread of the
    estimate rather than bracketing an unbiased value.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if resamples <= 0 or not len(generated) or not len(reference):
        return math.nan, math.nan
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
    if not values:
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)
