"""The two guards of the rhythm metrics: beating tracks per song, and track correlation (copies score 1)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import soundfile as sf

from synctrack import get_registry
from synctrack.eval.correlation import mean_pairwise_correlation, song_track_correlation
from synctrack.interfaces import BeatSet, TrackFiles

RATE = 16000


def build(name, **arguments):
    return get_registry().get("metric", name).factory(**arguments)


def noise_with_envelope(rng, segments=100):
    """A second of white noise whose loudness changes every 10 ms: its mel has a time pattern of its own."""
    return (rng.normal(scale=0.1, size=RATE) * np.repeat(rng.uniform(0, 1, segments), RATE // segments)).astype(np.float32)


def test_beating_tracks_counts_tracks_with_at_least_two_beats():
    beats = [[[0.5, 1.0], [0.2], []], [[0.1, 0.6, 1.1], [0.3, 0.8], [0.4, 0.9]]]
    (value,) = build("beating_tracks", bootstrap=50).compute(BeatSet(["a", "b"], ["x", "y", "z"], beats, np.full(2, 2.0)))
    assert value.per_song == {"a": 1.0, "b": 3.0} and value.value == pytest.approx(2.0)
    assert "of 3" in value.note


def test_mean_pairwise_correlation_against_numpy_and_edge_cases():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 40))
    expected = np.mean([np.corrcoef(a, b)[0, 1], np.corrcoef(a, c)[0, 1], np.corrcoef(b, c)[0, 1]])
    assert mean_pairwise_correlation([a, b, c]) == pytest.approx(expected)
    assert mean_pairwise_correlation([a, 2 * a + 1]) == pytest.approx(1.0)
    assert mean_pairwise_correlation([a, b, np.zeros(40)]) == pytest.approx(np.corrcoef(a, b)[0, 1])  # silence left out
    assert math.isnan(mean_pairwise_correlation([a, np.zeros(40)]))
    with pytest.raises(ValueError, match="differ in size"):
        mean_pairwise_correlation([a, b[:30]])


def test_copied_tracks_score_one_and_independent_noise_near_zero():
    rng = np.random.default_rng(1)
    track = noise_with_envelope(rng)
    assert song_track_correlation([track, track.copy(), track.copy()], RATE) == pytest.approx(1.0)
    # white noise shares the filterbank's band profile: without taking each band's mean out this scores ~0.6
    independent = [rng.normal(scale=0.1, size=RATE).astype(np.float32) for _ in range(3)]
    assert abs(song_track_correlation(independent, RATE)) < 0.05
    assert abs(song_track_correlation([noise_with_envelope(rng) for _ in range(3)], RATE)) < 0.2


def test_track_correlation_metric_reads_the_files(tmp_path):
    rng = np.random.default_rng(2)
    rows = []
    for song, copy in (("copies", True), ("independent", False)):
        first = noise_with_envelope(rng)
        files = []
        for name in ("x", "y"):
            path = tmp_path / song / f"{name}.wav"
            path.parent.mkdir(exist_ok=True)
            audio = first if copy or name == "x" else noise_with_envelope(rng)
            sf.write(path, audio, RATE)
            files.append(path)
        rows.append(files)
    (value,) = build("track_correlation", bootstrap=50).compute(TrackFiles(["copies", "independent"], ["x", "y"], rows))
    assert value.per_song["copies"] == pytest.approx(1.0, abs=1e-6)
    assert abs(value.per_song["independent"]) < 0.3
    assert value.better == "lower" and value.n == 2
    with pytest.raises(ValueError, match="positive rate"):
        build("track_correlation", sample_rate=0)
