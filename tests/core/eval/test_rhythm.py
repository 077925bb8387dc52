"""IRS, CBS and CBD: hand-computed cases, every skip/NaN rule, and a loop-by-loop re-implementation."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction

import numpy as np
import pytest

from synctrack.eval import rhythm

GRID = [0.5 * k for k in range(20)]  # 120 BPM for 10 s, exact in binary


# -- a plain re-implementation, written from the definitions (docs/metrics.md), one loop at a time ---------


def naive_irs(beats):
    slot_means = []
    for slot in range(len(beats[0])):
        stds = []
        for song in beats:
            times = list(song[slot])
            if len(times) < 2:
                continue
            intervals = [times[k + 1] - times[k] for k in range(len(times) - 1)]
            mean = sum(intervals) / len(intervals)
            stds.append(math.sqrt(sum((x - mean) ** 2 for x in intervals) / len(intervals)))
        if stds:
            slot_means.append(sum(stds) / len(stds))
    return sum(slot_means) / len(slot_means) if slot_means else math.nan


def naive_cbs_song(tracks, duration, window):
    beating = [list(t) for t in tracks if len(t) > 0]
    if len(beating) <= 1:
        return math.nan
    count = math.ceil((duration - window) / window) + 1
    fractions = []
    for i in range(count):
        start, end = i * window, i * window + window
        hit = 0
        for times in beating:
            if any(start <= b < end for b in times):
                hit += 1
        if hit:
            fractions.append(hit / len(beating))
    return sum(fractions) / len(fractions) if fractions else 0.0


def naive_cbs(beats, durations, window):
    values = [naive_cbs_song(song, d, window) for song, d in zip(beats, durations)]
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def fraction_cbs_song(tracks, duration, window):
    """naive_cbs_song in exact rational arithmetic on the decimal values the floats print as (0.21 is 21/100)."""
    exact = lambda seconds: Fraction(str(float(seconds)))  # noqa: E731
    beating = [[exact(b) for b in t] for t in tracks if len(t) > 0]
    if len(beating) <= 1:
        return math.nan
    w, d = exact(window), exact(duration)
    count = math.ceil((d - w) / w) + 1
    fractions = []
    for i in range(count):
        start, end = i * w, i * w + w
        hit = sum(1 for times in beating if any(start <= b < end for b in times))
        if hit:
            fractions.append(Fraction(hit, len(beating)))
    return float(sum(fractions) / len(fractions)) if fractions else 0.0


def grid_set(rng, window, songs=10, tracks=4):
    """Beat lists on madmom's 10 ms frame grid, about half of the beats exactly on a window edge, and clip
    lengths on the grid, some a whole number of windows."""
    step = round(window * 100)  # the window in 10 ms frames
    beats, durations = [], []
    for _ in range(songs):
        frames = int(rng.integers(100, 500))
        song = []
        for _ in range(tracks):
            count = int(rng.integers(0, 40))
            on_edges = rng.integers(0, frames // step + 2, count) * step  # up to a window past the clip
            anywhere = rng.integers(0, frames + step, count)
            chosen = np.where(rng.random(count) < 0.5, on_edges, anywhere)
            song.append(np.unique(chosen) / 100)
        beats.append(song)
        durations.append((frames // step) * step / 100 if rng.random() < 0.5 else frames / 100)
    return beats, durations


def naive_cbd_song(tracks):
    per_reference = []
    for i, reference in enumerate(tracks):
        errors = []
        for j, target in enumerate(tracks):
            if i == j or len(reference) < 2 or len(target) == 0:
                continue
            for k, r in enumerate(reference):
                best = None
                for t in target:  # ascending, so "<=" hands a tie to the later beat
                    if best is None or abs(t - r) <= abs(best - r):
                        best = t
                previous = reference[k] - reference[k - 1] if k > 0 else reference[1] - reference[0]
                following = reference[k + 1] - reference[k] if k < len(reference) - 1 else reference[-1] - reference[-2]
                if best >= r:
                    if best < r + following / 2:
                        errors.append((best - r) / (following / 2))
                elif best >= r - previous / 2:
                    errors.append((r - best) / (previous / 2))
        if errors:
            per_reference.append((statistics.fmean(errors), statistics.pstdev(errors), statistics.median(errors)))
    if not per_reference:
        return (math.nan, math.nan, math.nan)
    return tuple(sum(row[q] for row in per_reference) / len(per_reference) for q in range(3))


def naive_cbd(beats):
    songs = [naive_cbd_song(song) for song in beats]
    result = []
    for q in range(3):
        kept = [s[q] for s in songs if not math.isnan(s[q])]
        result.append(sum(kept) / len(kept) if kept else math.nan)
    return result


def random_set(rng, songs=12, tracks=4, duration=10.24):
    """Beat lists of every kind: steady with jitter and offsets, sparse, random, single, empty."""
    beats = []
    for _ in range(songs):
        song = []
        for _ in range(tracks):
            kind = rng.integers(0, 5)
            if kind == 0:
                song.append(np.zeros(0))
            elif kind == 1:
                song.append(np.array([rng.uniform(0, duration)]))
            elif kind == 2:
                song.append(np.sort(rng.uniform(0, duration, rng.integers(2, 30))))
            else:
                period = 60.0 / rng.uniform(60, 200)
                grid = np.arange(rng.uniform(0, period), duration, period)
                song.append(np.sort(np.clip(grid + rng.normal(0, 0.03 * kind, grid.size), 0, None)))
        beats.append(song)
    return beats


@pytest.mark.parametrize("seed", range(6))
def test_metrics_equal_the_plain_reimplementation_on_random_beats(seed):
    rng = np.random.default_rng(seed)
    beats = random_set(rng)
    durations = rng.uniform(9.0, 10.24, len(beats))
    window = [0.07, 0.15, 0.05][seed % 3]
    assert rhythm.irs(beats).value == pytest.approx(naive_irs(beats), rel=1e-12, nan_ok=True)
    assert rhythm.cbs(beats, durations, window).value == pytest.approx(naive_cbs(beats, durations, window), rel=1e-12, nan_ok=True)
    for song, duration in zip(beats, durations):
        assert rhythm.cbs_song(song, duration, window) == pytest.approx(naive_cbs_song(song, duration, window), nan_ok=True)
        assert rhythm.cbs_song(song, duration, window, paper_compat=True) == pytest.approx(
            naive_cbs_song(song, duration, window), nan_ok=True)
        np.testing.assert_allclose(rhythm.cbd_song(song), naive_cbd_song(song), rtol=1e-12)
    np.testing.assert_allclose(rhythm.cbd(beats).value, naive_cbd(beats), rtol=1e-12)


# -- hand-computed values --------------------------------------------------------------------------------


def test_perfect_sync_gives_irs_0_cbs_1_cbd_0():
    song = [GRID, GRID, GRID]
    assert rhythm.irs([song]).value == 0.0
    assert rhythm.cbs([song], [10.0]).value == 1.0
    np.testing.assert_array_equal(rhythm.cbd([song]).value, [0.0, 0.0, 0.0])


def test_a_constant_offset_of_100_ms():
    late = [t + 0.1 for t in GRID]
    song = [GRID, late]
    assert rhythm.irs([song]).value == pytest.approx(0.0, abs=1e-12)
    # every beat pairs with the other track's beat 0.1 s away; the half interval is 0.25 s
    np.testing.assert_allclose(rhythm.cbd([song]).value, [0.4, 0.0, 0.4], atol=1e-12)
    # 0.1 s apart never share a 70 ms window: every active window holds 1 of 2 tracks
    assert rhythm.cbs([song], [10.0], window=0.07).value == pytest.approx(0.5)
    # ... but always share a 0.5 s window
    assert rhythm.cbs([song], [10.0], window=0.5).value == pytest.approx(1.0)


def test_one_jittered_beat():
    steady = [0.0, 0.5, 1.0, 1.5, 2.0]
    jittered = [0.0, 0.5, 1.1, 1.5, 2.0]  # intervals 0.5, 0.6, 0.4, 0.5
    song = [jittered, steady]
    assert rhythm.interval_std(jittered) == pytest.approx(math.sqrt(0.005))
    assert rhythm.irs([song]).value == pytest.approx(math.sqrt(0.005) / 2)
    per_reference = rhythm.cbd_per_reference(song)
    # reference jittered: 1.1 pairs with 1.0, earlier, over the previous half interval 0.3 -> 1/3
    np.testing.assert_allclose(per_reference[0], [1 / 15, 2 / 15, 0.0], atol=1e-12)
    # reference steady: 1.0 pairs with 1.1, later, over the next half interval 0.25 -> 0.4
    np.testing.assert_allclose(per_reference[1], [0.08, 0.16, 0.0], atol=1e-12)
    np.testing.assert_allclose(rhythm.cbd_song(song), [(1 / 15 + 0.08) / 2, (2 / 15 + 0.16) / 2, 0.0], atol=1e-12)
    # windows of 70 ms: 1.0 and 1.1 fall apart (2 of 6 active windows hold one track)
    assert rhythm.cbs_song(song, 2.5, 0.07) == pytest.approx(5 / 6)


def test_offsets_and_jitter_worsen_every_metric():
    rng = np.random.default_rng(0)
    sync = [[GRID] * 4]
    desync = [[[t + offset + rng.normal(0, 0.02) for t in GRID] for offset in (0.0, 0.04, 0.08, 0.12)]]
    assert rhythm.irs(desync).value > rhythm.irs(sync).value
    assert rhythm.cbs(desync, [10.0]).value < rhythm.cbs(sync, [10.0]).value
    assert rhythm.cbd(desync).value[0] > rhythm.cbd(sync).value[0]


# -- IRS skip rules -------------------------------------------------------------------------------------


def test_irs_skips_tracks_with_fewer_than_two_beats_and_slots_without_values():
    beats = [[[0.0, 0.5, 1.0], []], [[0.0, 0.6, 1.2], [3.0]]]
    scores = rhythm.irs(beats)
    assert np.isnan(scores.per_track[:, 1]).all()
    assert scores.value == pytest.approx(0.0, abs=1e-12)  # slot 1 has no value and is left out, not NaN


def test_irs_two_beats_give_a_zero_std_that_counts():
    assert rhythm.interval_std([0.0, 1.0]) == 0.0
    assert rhythm.irs([[[0.0, 1.0], [0.0, 0.5, 1.1]]]).value == pytest.approx(0.025)


def test_irs_is_nan_when_every_track_is_skipped():
    assert math.isnan(rhythm.irs([[[], [1.0]], [[2.0], []]]).value)


def test_irs_averages_songs_per_slot_then_slots():
    beats = [[[0.0, 0.5, 1.2], []], [[0.0, 0.5, 1.0], [0.0, 0.5, 1.4]]]  # stds 0.1, -, 0, 0.2
    assert rhythm.irs(beats).value == pytest.approx((0.05 + 0.2) / 2)  # not the pooled 0.1


# -- CBS rules ------------------------------------------------------------------------------------------


def test_cbs_song_with_at_most_one_beating_track_is_nan_and_left_out():
    lonely = [GRID, [], []]
    assert math.isnan(rhythm.cbs_song(lonely, 10.0))
    assert math.isnan(rhythm.cbs_song([[], []], 10.0))
    scores = rhythm.cbs([[GRID, GRID, GRID], lonely], [10.0, 10.0])
    assert scores.value == 1.0
    assert math.isnan(scores.per_song[1])


def test_cbs_denominator_counts_only_beating_tracks():
    assert rhythm.cbs_song([GRID, GRID, []], 10.0) == 1.0  # 2 of 2, not 2 of 3


def test_cbs_windows_are_closed_on_the_left():
    # 0.5 starts window 1 = [0.5, 1.0); 0.49 lies in window 0
    assert rhythm.cbs_song([[0.5], [0.49]], 2.0, window=0.5) == 0.5
    assert rhythm.cbs_song([[0.5], [0.99]], 2.0, window=0.5) == 1.0


def test_cbs_window_count_follows_the_official_formula():
    starts, ends = rhythm.cbs_windows(1.0, 0.3)  # ceil(0.7 / 0.3) + 1 = 4 windows, the last ends at 1.2
    assert len(starts) == 4 and ends[-1] == pytest.approx(1.2)
    assert rhythm.cbs_song([[1.1], [1.15]], 1.0, window=0.3) == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_cbs_on_a_10_ms_grid_equals_exact_fractions_by_default_and_float_edges_in_paper_compat(seed):
    window = [0.07, 0.05, 0.15, 0.1, 0.03][seed]
    beats, durations = grid_set(np.random.default_rng(seed), window)
    exact = [fraction_cbs_song(song, d, window) for song, d in zip(beats, durations)]
    paper = [naive_cbs_song(song, d, window) for song, d in zip(beats, durations)]
    np.testing.assert_allclose(rhythm.cbs_per_song(beats, durations, window), exact, rtol=1e-12)
    np.testing.assert_allclose(rhythm.cbs_per_song(beats, durations, window, paper_compat=True), paper, rtol=1e-12)
    kept = [v for v in exact if not math.isnan(v)]
    assert rhythm.cbs(beats, durations, window).value == pytest.approx(sum(kept) / len(kept), rel=1e-12)
    assert rhythm.cbs(beats, durations, window, paper_compat=True).value == pytest.approx(
        naive_cbs(beats, durations, window), rel=1e-12)
    # the grid puts beats on edges often enough that float rounding moves some songs: the check has teeth
    assert sum(not math.isclose(e, p) for e, p in zip(exact, paper) if not math.isnan(e)) >= 1


def test_cbs_beat_exactly_on_an_edge_opens_the_later_window_unless_paper_compat():
    # window 0.07 s; tracks A = [0.0, 0.21], B = [0.0, 0.20], clip 1.0 s.
    # exact: 0.21 = 3 * 0.07 starts window 3 = [0.21, 0.28); 0.20 lies in window 2 = [0.14, 0.21).
    #   active windows: 0 (A and B: 2/2), 2 (B: 1/2), 3 (A: 1/2) -> CBS = (1 + 1/2 + 1/2) / 3 = 2/3.
    # paper_compat: window 2 ends at 0.14 + 0.07 = 0.21000000000000002 and window 3 starts at
    #   3 * 0.07 = 0.21000000000000002, both above the float 0.21, so 0.21 falls in window 2 with 0.20.
    #   active windows: 0 (2/2), 2 (2/2) -> CBS = (1 + 1) / 2 = 1.
    song = [[0.0, 0.21], [0.0, 0.20]]
    assert rhythm.cbs_song(song, 1.0, 0.07) == pytest.approx(2 / 3)
    assert rhythm.cbs_song(song, 1.0, 0.07, paper_compat=True) == 1.0
    assert rhythm.cbs([song], [1.0], 0.07).value == pytest.approx(2 / 3)
    assert rhythm.cbs([song], [1.0], 0.07, paper_compat=True).value == 1.0
    # 0.14 = 2 * 0.07 is exact in float too: both put it in window 2, apart from 0.13 in window 1 -> 1/2 each
    assert rhythm.cbs_song([[0.14], [0.13]], 1.0, 0.07) == 0.5
    assert rhythm.cbs_song([[0.14], [0.13]], 1.0, 0.07, paper_compat=True) == 0.5


def test_cbs_exact_window_count_has_no_spare_window_at_the_clip_end():
    # clip 2.24 s = 32 windows of 0.07 s exactly: T = ceil((2.24 - 0.07) / 0.07) + 1 = 31 + 1 = 32, windows
    # end at 2.24 and a beat at 2.24 lies past them. In float (2.24 - 0.07) / 0.07 = 31.000000000000004,
    # so the scripts make 33 windows and window 32 = [2.24, 2.31) (32 * 0.07 is 2.24 in float) holds the beat.
    assert rhythm.cbs_window_count(2.24, 0.07) == 32 and len(rhythm.cbs_windows(2.24, 0.07)[0]) == 33
    song = [[0.0, 2.24], [0.0]]
    assert rhythm.cbs_song(song, 2.24, 0.07) == 1.0  # only window 0, both tracks: 2/2
    assert rhythm.cbs_song(song, 2.24, 0.07, paper_compat=True) == 0.75  # window 0 (2/2), window 32 (1/2)
    assert rhythm.cbs_window_count(1.0, 0.3) == 4


def test_cbs_exact_edges_need_a_window_of_whole_microseconds():
    assert rhythm.cbs_window_microseconds(0.07) == 70_000
    with pytest.raises(ValueError, match="whole number of microseconds"):
        rhythm.cbs_song([GRID, GRID], 10.0, window=1 / 30)
    assert rhythm.cbs_song([GRID, GRID], 10.0, window=1 / 30, paper_compat=True) == 1.0


def test_cbs_is_zero_when_no_window_holds_a_beat():
    assert rhythm.cbs_song([[1.2], [1.3]], 1.0, window=0.5) == 0.0


def test_cbs_is_nan_when_every_song_is_skipped():
    assert math.isnan(rhythm.cbs([[GRID, []]], [10.0]).value)


# -- CBD rules ------------------------------------------------------------------------------------------


def test_cbd_reference_with_fewer_than_two_beats_gives_nothing():
    per_reference = rhythm.cbd_per_reference([[1.0], [0.0, 0.5, 1.0]])
    assert np.isnan(per_reference[0]).all()
    # reference [0, 0.5, 1] against target [1.0]: only the beat at 1.0 pairs
    np.testing.assert_array_equal(per_reference[1], [0.0, 0.0, 0.0])


def test_cbd_empty_target_gives_nothing_and_a_song_without_pairs_is_nan():
    assert rhythm.cbd_pair([0.0, 0.5, 1.0], []).size == 0
    assert np.isnan(rhythm.cbd_song([[0.0, 0.5, 1.0], []])).all()
    scores = rhythm.cbd([[[0.0, 0.5, 1.0], []], [GRID, GRID]])
    np.testing.assert_array_equal(scores.value, [0.0, 0.0, 0.0])  # the NaN song is left out


def test_cbd_window_is_closed_before_and_open_after_the_reference_beat():
    # target 1.5 sits exactly half an interval after 1.0 (excluded) and before 2.0 (included, error 1)
    np.testing.assert_array_equal(rhythm.cbd_pair([0.0, 1.0, 2.0], [1.5]), [1.0])


def test_cbd_uses_the_interval_on_the_side_of_the_match():
    reference = [0.0, 1.0, 1.4]  # intervals 1.0 then 0.4
    np.testing.assert_allclose(rhythm.cbd_pair(reference, [0.8]), [0.2 / 0.5])  # earlier: previous interval
    np.testing.assert_allclose(rhythm.cbd_pair(reference, [1.15]), [0.15 / 0.2])  # later: next interval


def test_cbd_replicates_the_edge_intervals():
    np.testing.assert_allclose(rhythm.cbd_pair([1.0, 1.4, 2.4], [0.85]), [0.75])  # before the first beat
    np.testing.assert_allclose(rhythm.cbd_pair([0.0, 1.0, 1.4], [1.55]), [0.75])  # after the last beat


def test_cbd_tie_goes_to_the_later_target_beat():
    # 1.0 is 0.125 from both 0.875 and 1.125; the later one is measured against the next half interval 0.25
    np.testing.assert_array_equal(rhythm.cbd_pair([0.0, 1.0, 1.5], [0.875, 1.125]), [0.5])


def test_cbd_pools_errors_per_reference_track_over_all_targets():
    steady = [0.0, 0.5, 1.0, 1.5, 2.0]
    per_reference = rhythm.cbd_per_reference([steady, [t + 0.1 for t in steady], steady])
    # reference 0: five errors 0.4 (late track) and five 0 (identical track), pooled
    np.testing.assert_allclose(per_reference[0], [0.2, 0.2, 0.2], atol=1e-12)


# -- bad input ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("beats", "message"),
    [([0.5, 0.2], "ascending"), ([0.1, float("nan")], "NaN"), ([[0.1, 0.2]], "1-D")],
)
def test_bad_beat_lists_are_rejected(beats, message):
    with pytest.raises(ValueError, match=message):
        rhythm.as_beats(beats)


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match="same number of track slots"):
        rhythm.irs([[GRID, GRID], [GRID]])
    with pytest.raises(ValueError, match="one duration per song"):
        rhythm.cbs([[GRID, GRID]], [10.0, 5.0])
    with pytest.raises(ValueError, match="window must be positive"):
        rhythm.cbs_song([GRID, GRID], 10.0, window=0.0)
