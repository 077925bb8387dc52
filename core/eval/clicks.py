"""Click tracks with known beat times: the ground truth for checking beat trackers and metrics.

Each track of a click song is a train of short decaying tone bursts, one per beat, with its own pitch so
that tracks sound (and onset-detect) differently, like instruments playing the same beat.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def beat_grid(bpm: float, duration: float, offset: float = 0.0) -> np.ndarray:
    """Beat times ``[K]`` (seconds) of a steady tempo from ``offset`` up to ``duration`` (exclusive)."""
    if bpm <= 0:
        raise ValueError(f"bpm must be positive, got {bpm}")
    return np.arange(offset, duration, 60.0 / bpm)


def click_track(
    beat_times: Sequence[float] | np.ndarray,
    duration: float,
    sample_rate: int,
    frequency: float = 1000.0,
    burst: float = 0.03,
    decay: float = 0.005,
    amplitude: float = 0.5,
) -> np.ndarray:
    """A float32 ``[L]`` waveform with a tone burst starting at every beat time (``L = duration * rate``)."""
    length = int(round(duration * sample_rate))
    waveform = np.zeros(length, dtype=np.float32)
    n = np.arange(int(burst * sample_rate))
    # cosine phase: the burst starts at full amplitude, so its first sample is the beat
    shape = (amplitude * np.cos(2 * np.pi * frequency * n / sample_rate) * np.exp(-n / (decay * sample_rate))).astype(np.float32)
    for time in np.asarray(beat_times, dtype=np.float64):
        start = int(round(time * sample_rate))
        if 0 <= start < length:
            stop = min(length, start + len(shape))
            waveform[start:stop] += shape[: stop - start]
    return waveform


def click_song(
    beat_times: Sequence[Sequence[float] | np.ndarray],
    duration: float,
    sample_rate: int,
    frequencies: Sequence[float] | None = None,
) -> np.ndarray:
    """``[S, L]`` click tracks, one per list of beat times, each at its own pitch."""
    frequencies = frequencies or [330.0 * 1.5**i for i in range(len(beat_times))]
    return np.stack([click_track(t, duration, sample_rate, f) for t, f in zip(beat_times, frequencies)])
