"""Metric parts: thin wrappers over synctrack.eval, and desynchronised click songs score worse."""

from __future__ import annotations

import numpy as np
import pytest

from synctrack import get_registry
from synctrack.eval import rhythm
from synctrack.eval.clicks import beat_grid, click_song
from synctrack.interfaces import BeatSet, EmbeddingSet, Metric
from synctrack.plugins.beat_trackers.librosa_tracker import LibrosaTracker


def build(name, **arguments) -> Metric:
    return get_registry().get("metric", name).factory(**arguments)


def random_beat_set(seed=0, songs=8, tracks=3):
    rng = np.random.default_rng(seed)
    beats = [[np.sort(rng.uniform(0, 10, rng.integers(0, 25))) for _ in range(tracks)] for _ in range(songs)]
    return BeatSet([f"s{i}" for i in range(songs)], [f"t{j}" for j in range(tracks)], beats, np.full(songs, 10.0))


def test_rhythm_parts_report_the_pure_functions():
    beats = random_beat_set()
    irs = {v.track: v for v in build("irs", bootstrap=100).compute(beats)}
    assert irs["all"].value == pytest.approx(rhythm.irs(beats.beats).value)
    assert irs["t1"].value == pytest.approx(rhythm.irs(beats.beats).per_slot[1])
    assert list(irs["all"].per_song) == beats.songs
    (cbs,) = build("cbs", window=0.15, bootstrap=100).compute(beats)
    assert cbs.value == pytest.approx(rhythm.cbs(beats.beats, beats.durations, 0.15).value)
    assert cbs.value != pytest.approx(rhythm.cbs(beats.beats, beats.durations, 0.07).value)
    assert "150 ms" in cbs.note and cbs.better == "higher"
    cbd = {v.metric: v for v in build("cbd", bootstrap=100).compute(beats)}
    np.testing.assert_allclose([cbd["cbd"].value, cbd["cbd_std"].value, cbd["cbd_median"].value], rhythm.cbd(beats.beats).value)
    for value in (irs["all"], cbs, cbd["cbd"]):
        assert value.ci_low <= value.value <= value.ci_high
        assert value.n == sum(not np.isnan(v) for v in value.per_song.values())


def test_same_seed_same_interval():
    beats = random_beat_set(1)
    first, second = build("cbs", seed=7).compute(beats), build("cbs", seed=7).compute(beats)
    assert (first[0].ci_low, first[0].ci_high) == (second[0].ci_low, second[0].ci_high)


def test_fad_defaults_to_the_offline_embedder_and_says_it_is_not_comparable():
    fad = build("fad", bootstrap=20)
    assert fad.embedder.label == "logmel_not_comparable" and not fad.embedder.comparable_to_published
    rng = np.random.default_rng(0)
    songs = ["a", "b", "c", "d"]

    def embedding_set(shift):
        tracks = {name: [rng.normal(size=(6, 4)) + shift for _ in songs] for name in ("bass", "mix")}
        return EmbeddingSet(songs, tracks, fad.embedder.label, False)

    values = fad.compute(embedding_set(0.5), embedding_set(0.0))
    # per name: the bias-corrected estimate with its interval, then the plain FD without one
    assert [(v.metric, v.track) for v in values] == [
        ("fad", "bass"), ("fad_plain", "bass"), ("fad", "mix"), ("fad_plain", "mix")
    ]
    assert all(v.value > 0 and "NOT comparable with published FAD" in v.note and v.per_song is None for v in values)
    for corrected, plain in zip(values[::2], values[1::2]):
        assert corrected.ci_low <= corrected.value <= corrected.ci_high and corrected.value < plain.value
        assert np.isnan(plain.ci_low) and np.isnan(plain.ci_high)


def click_tracked(beat_lists, tracker, duration=10.0, rate=16000):
    return [tracker.track(track, rate) for track in click_song(beat_lists, duration, rate)]


def test_offsets_and_jitter_worsen_irs_cbs_and_cbd_through_the_librosa_tracker():
    rng = np.random.default_rng(0)
    tracker = LibrosaTracker()
    synced, drifted = [], []
    for song in range(3):
        grid = beat_grid(100 + 20 * song, 10.0, 0.2)
        synced.append(click_tracked([grid] * 4, tracker))
        shifted = [grid + offset + rng.normal(0, 0.02, grid.size) for offset in (0.0, 0.04, 0.08, 0.12)]
        drifted.append(click_tracked([np.sort(np.clip(t, 0, None)) for t in shifted], tracker))
    names, tracks = ["s0", "s1", "s2"], ["a", "b", "c", "d"]
    sync = BeatSet(names, tracks, synced, np.full(3, 10.0))
    desync = BeatSet(names, tracks, drifted, np.full(3, 10.0))
    irs, cbs, cbd = build("irs", bootstrap=0), build("cbs", bootstrap=0), build("cbd", bootstrap=0)
    assert irs.compute(desync)[0].value > irs.compute(sync)[0].value
    assert cbs.compute(desync)[0].value < cbs.compute(sync)[0].value
    assert cbd.compute(desync)[0].value > cbd.compute(sync)[0].value


def test_cbs_part_passes_paper_compat_and_checks_the_window_before_any_work():
    # one song, beats 0.21 (on the edge 3 * 0.07) and 0.20: exact edges 1/2 + 1/2 over windows 3 and 2 -> 0.5;
    # the scripts' float window 2 ends at 0.21000000000000002 and holds both beats -> 1.0
    beats = BeatSet(["s"], ["a", "b"], [[np.array([0.21]), np.array([0.20])]], np.array([1.0]))
    (exact,) = build("cbs", bootstrap=0).compute(beats)
    (paper,) = build("cbs", bootstrap=0, paper_compat=True).compute(beats)
    assert (exact.value, paper.value) == (0.5, 1.0)
    assert "PAPER-COMPATIBLE" in paper.note and "PAPER-COMPATIBLE" not in exact.note
    with pytest.raises(ValueError, match="whole number of microseconds"):
        build("cbs", window=1 / 30)
    assert build("cbs", window=1 / 30, paper_compat=True).window == 1 / 30
