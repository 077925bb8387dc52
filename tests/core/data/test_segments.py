"""Clip cutting: lengths, the flat index, training shifts."""

from __future__ import annotations

import numpy as np
import pytest

from synctrack.data import SegmentIndex, clip_length, count_segments, random_shift, segment_start
from synctrack.errors import UserError


def test_clip_length():
    assert clip_length(10.24, 16000) == 163840
    assert clip_length(0.5, 8000) == 4000
    with pytest.raises(UserError, match="clip_seconds must be positive"):
        clip_length(0.0, 16000)
    with pytest.raises(UserError, match="less than one sample"):
        clip_length(1e-6, 8000)


def test_segment_index_matches_a_naive_listing():
    counts = [2, 0, 3, 1, 0, 4]
    naive = [(song, segment) for song, count in enumerate(counts) for segment in range(count)]
    index = SegmentIndex(counts)
    assert len(index) == len(naive) == 10
    assert [index.locate(i) for i in range(len(naive))] == naive
    assert index.locate(-1) == naive[-1]
    with pytest.raises(IndexError):
        index.locate(10)
    assert len(SegmentIndex([])) == 0


def test_consecutive_segments_and_the_clamped_shift():
    assert count_segments(10400, 4000) == 2 and count_segments(3999, 4000) == 0
    assert [segment_start(k, 10400, 4000) for k in range(2)] == [0, 4000]
    assert segment_start(1, 10400, 4000, shift=2000) == 6000
    assert segment_start(1, 8000, 4000, shift=2000) == 4000  # kept inside the song


def test_random_shift_is_seeded_and_within_half_a_clip():
    shifts = [random_shift(4000, seed=1, epoch=e, index=i) for e in range(5) for i in range(50)]
    assert all(0 <= s <= 2000 for s in shifts)
    assert shifts == [random_shift(4000, seed=1, epoch=e, index=i) for e in range(5) for i in range(50)]
    assert len(set(shifts)) > 100
    assert shifts != [random_shift(4000, seed=2, epoch=e, index=i) for e in range(5) for i in range(50)]
    assert 800 < np.mean(shifts) < 1200  # uniform over [0, 2000]
