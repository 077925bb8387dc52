"""Seeded percentile bootstrap over songs.

Songs are the resampling unit: a resample draws ``N`` songs with replacement and recomputes the metric's
whole aggregate on them (for IRS the two-level mean, for CBS/CBD the mean over songs, NaN songs included
and skipped as the metric skips them). The interval is the percentile interval of those recomputations.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Statistic = Callable[[np.ndarray], np.ndarray]


def bootstrap_ci(
    per_song: np.ndarray,
    statistic: Statistic,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int = 200,
) -> tuple[float, float]:
    """Percentile interval of ``statistic`` over resamples of the songs of ``per_song``.

    Args:
        per_song: ``[N, ...]`` per-song values (NaN where the metric skipped a song).
        statistic: maps a batch of resampled sets ``[B, N, ...]`` to ``[B]`` aggregate values.
        resamples: number of resamples; 0 gives ``(nan, nan)``.
        confidence: coverage of the interval, in (0, 1).
        seed: seed of the generator: equal inputs and seed give equal intervals.

    Returns:
        ``(low, high)``; NaN when there are no songs or every resample's statistic is NaN.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    per_song = np.asarray(per_song, dtype=np.float64)
    count = per_song.shape[0]
    if count == 0 or resamples <= 0:
        return math.nan, math.nan
    generator = np.random.default_rng(seed)
    values = np.empty(resamples)
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        indices = generator.integers(0, count, size=(size, count))
        values[start : start + size] = statistic(per_song[indices])
    values = values[~np.isnan(values)]
    if values.size == 0:
        return math.nan, math.nan
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)
