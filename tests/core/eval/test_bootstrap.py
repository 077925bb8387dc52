"""Bootstrap confidence intervals: seeded, and matching normal theory where it applies."""

from __future__ import annotations

import math

import numpy as np
import pytest

from synctrack.eval.bootstrap import bootstrap_ci
from synctrack.eval.rhythm import irs_statistic, nanmean


def mean_over_songs(values):
    return nanmean(values, axis=1)


def test_same_seed_same_interval_and_another_seed_another():
    values = np.random.default_rng(0).normal(size=50)
    first = bootstrap_ci(values, mean_over_songs, 500, seed=3)
    assert bootstrap_ci(values, mean_over_songs, 500, seed=3) == first
    assert bootstrap_ci(values, mean_over_songs, 500, seed=4) != first


def test_interval_of_a_mean_matches_normal_theory():
    values = np.random.default_rng(1).normal(size=400)
    low, high = bootstrap_ci(values, mean_over_songs, 2000, confidence=0.95, seed=0)
    half_width = 1.96 * values.std(ddof=1) / math.sqrt(values.size)
    assert low < values.mean() < high
    assert (high - low) / 2 == pytest.approx(half_width, rel=0.1)


def test_higher_confidence_gives_a_wider_interval():
    values = np.random.default_rng(2).normal(size=60)
    narrow = bootstrap_ci(values, mean_over_songs, 1000, confidence=0.5)
    wide = bootstrap_ci(values, mean_over_songs, 1000, confidence=0.99)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_constant_values_give_a_point_interval_and_nan_songs_are_skipped():
    values = np.array([0.3, math.nan, 0.3, 0.3])
    assert bootstrap_ci(values, mean_over_songs, 300) == pytest.approx((0.3, 0.3))


def test_nothing_to_resample_gives_nan():
    assert all(math.isnan(x) for x in bootstrap_ci(np.zeros(0), mean_over_songs, 100))
    assert all(math.isnan(x) for x in bootstrap_ci(np.full(5, math.nan), mean_over_songs, 100))
    assert all(math.isnan(x) for x in bootstrap_ci(np.ones(5), mean_over_songs, 0))


def test_irs_resamples_whole_songs_with_their_track_slots():
    per_track = np.array([[0.1, math.nan], [0.0, 0.2], [0.05, 0.1]])
    low, high = bootstrap_ci(per_track, irs_statistic, 1000, seed=0)
    assert low <= irs_statistic(per_track[None])[0] <= high
    # the statistic of a batch equals the statistic of each resample on its own
    batch = per_track[np.array([[0, 0, 1], [2, 1, 1]])]
    assert irs_statistic(batch) == pytest.approx([irs_statistic(batch[0][None])[0], irs_statistic(batch[1][None])[0]])


def test_bad_confidence_is_rejected():
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(np.ones(3), mean_over_songs, 10, confidence=1.5)
