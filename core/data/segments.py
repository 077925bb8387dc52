"""Cutting songs into fixed-length clips.

The official SyncTrack/MSDM preprocessing cuts each song into consecutive clips of ``clip`` samples and
drops the remainder. For evaluation the clips are exactly those; for training each clip is moved later by
a random shift of up to half a clip (clamped so it stays inside the song), drawn from a generator seeded
by ``(seed, epoch, index)`` so that an epoch is reproducible and a resumed run sees the same clips.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from ..errors import UserError


def clip_length(clip_seconds: float, sample_rate: int) -> int:
    """Samples in a clip of ``clip_seconds`` (10.24 s at 16 kHz is 163840)."""
    if clip_seconds <= 0:
        raise UserError(f"clip_seconds must be positive, got {clip_seconds}")
    if sample_rate <= 0:
        raise UserError(f"sample_rate must be a positive number of Hz, got {sample_rate}")
    samples = int(round(clip_seconds * sample_rate))
    if samples < 1:
        raise UserError(f"clip_seconds {clip_seconds} is less than one sample at {sample_rate} Hz")
    return samples


def count_segments(num_samples: int, clip: int) -> int:
    """Consecutive whole clips in a song of ``num_samples`` samples (the remainder is dropped)."""
    return num_samples // clip


def segment_start(segment: int, num_samples: int, clip: int, shift: int = 0) -> int:
    """First sample of clip number ``segment``: ``segment * clip + shift``, kept inside the song."""
    return min(segment * clip + shift, num_samples - clip)


def random_shift(clip: int, seed: int, epoch: int, index: int) -> int:
    """A shift in ``[0, clip // 2]`` drawn from a generator seeded by ``(seed, epoch, index)``."""
    return int(np.random.default_rng([seed, epoch, index]).integers(0, clip // 2 + 1))


class SegmentIndex:
    """Maps a flat item index to ``(song, segment)`` given the number of segments of each song."""

    def __init__(self, counts: Sequence[int]) -> None:
        self.counts = list(counts)
        self._ends = np.cumsum(self.counts).tolist()

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def locate(self, index: int) -> tuple[int, int]:
        """``(song, segment)`` of item ``index``; negative indices count from the end."""
        total = len(self)
        if index < 0:
            index += total
        if not 0 <= index < total:
            raise IndexError(f"item {index} out of range for {total} items")
        song = bisect.bisect_right(self._ends, index)
        first = self._ends[song - 1] if song else 0
        return song, index - first
