"""The ``onsets`` beat tracker: the first sample of every isolated sound burst.

On click tracks (and on any synthetic track whose notes are separated by silence) this is exact, so the
rhythm metrics of such data can be checked against the beat times that made it, without a tracker's
errors in between. On real music it is meaningless: use ``librosa`` or ``madmom`` there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synctrack.interfaces import BeatTracker


class OnsetTracker(BeatTracker):
    """Onsets of isolated bursts (above ``threshold`` after ``min_gap`` s of quiet): exact on click tracks."""

    sample_rate = None  # works at the file's own rate

    def __init__(self, threshold: float = 1e-3, min_gap: float = 0.05) -> None:
        if threshold <= 0 or min_gap <= 0:
            raise ValueError(f"threshold and min_gap must be positive, got {threshold}, {min_gap}")
        self.threshold = threshold
        self.min_gap = min_gap

    def track(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        """``waveform [L]`` -> times ``[K]`` (s) of the samples that start a burst."""
        loud = np.flatnonzero(np.abs(np.asarray(waveform)) > self.threshold)
        if loud.size == 0:
            return np.zeros(0)
        starts = loud[np.concatenate([[True], np.diff(loud) > self.min_gap * sample_rate])]
        return starts / float(sample_rate)

    def settings(self) -> dict[str, Any]:
        return {"tracker": "onsets", "threshold": self.threshold, "min_gap": self.min_gap}
