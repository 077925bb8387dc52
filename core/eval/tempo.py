"""A song's tempo from its beats, and how far it is from the tempo asked for (issue 17's tempo study).

The tempo of a beat sequence is 60 over its median inter-beat interval: a missed or an extra beat moves the
median little, where the mean would move by a whole interval. The error against an asked tempo is reported two
ways, as tempo-estimation work does: the relative error ``|detected - asked| / asked``, and whether the detected
tempo is within 4% of the asked one (MIREX's "accuracy 1"), or of half, double, a third or three times it
("accuracy 2": a tracker that locks onto a metrical level other than the beat).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

OCTAVE_FACTORS = (1.0, 0.5, 2.0, 1.0 / 3.0, 3.0)


def tempo_from_beats(beats: ArrayLike, minimum_beats: int = 3) -> float:
    """Beats per minute of beat times ``[K]`` (seconds, ascending): ``60 / median(diff(beats))``; NaN with fewer
    than ``minimum_beats`` beats."""
    times = np.asarray(beats, dtype=np.float64).reshape(-1)
    if times.size < max(minimum_beats, 2):
        return float("nan")
    intervals = np.diff(times)
    if np.any(intervals <= 0):
        raise ValueError("beat times must be strictly ascending")
    return float(60.0 / np.median(intervals))


def tempo_errors(detected: ArrayLike, asked: ArrayLike, tolerance: float = 0.04) -> dict[str, np.ndarray]:
    """Per song ``[N]`` (a single song gives ``[1]``): ``relative`` error, ``relative_octave`` (the relative
    error to the nearest of the asked tempo, half, double, a third or three times it: what is left once the
    tracker's choice of metrical level is forgiven), ``accuracy1`` and ``accuracy2`` (0 or 1), NaN where no
    tempo was detected."""
    detected, asked = np.broadcast_arrays(np.atleast_1d(np.asarray(detected, dtype=np.float64)),
                                         np.atleast_1d(np.asarray(asked, dtype=np.float64)))
    missing = ~np.isfinite(detected)
    relative = np.abs(detected - asked) / asked
    within = relative <= tolerance
    octave = np.zeros_like(within)
    relative_octave = np.full_like(relative, np.inf)
    for factor in OCTAVE_FACTORS:
        level = np.abs(detected - factor * asked) / (factor * asked)
        octave |= level <= tolerance
        relative_octave = np.minimum(relative_octave, level)
    out = {"relative": relative, "relative_octave": relative_octave, "accuracy1": within.astype(np.float64),
           "accuracy2": octave.astype(np.float64)}
    for values in out.values():
        values[missing] = np.nan
    return out
