"""The librosa tracker against known beats (mir_eval), at the rates it is fed."""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest

from synctrack.eval.clicks import beat_grid, click_track
from synctrack.plugins.beat_trackers.librosa_tracker import LibrosaTracker

DURATION = 20.0  # mir_eval.beat.trim_beats drops the first 5 s: leave 15 s to score


def f_measure(reference, estimated):
    return mir_eval.beat.f_measure(mir_eval.beat.trim_beats(reference), mir_eval.beat.trim_beats(estimated))


@pytest.mark.parametrize("bpm", [90, 120, 150])
def test_click_tracks_score_at_least_0_9(bpm):
    truth = beat_grid(bpm, DURATION, 0.1)
    beats = LibrosaTracker().track(click_track(truth, DURATION, 16000), 16000)
    assert np.all(np.diff(beats) > 0)
    assert f_measure(truth, beats) >= 0.9


def test_other_sample_rates_are_resampled_first():
    truth = beat_grid(120, DURATION, 0.1)
    beats = LibrosaTracker().track(click_track(truth, DURATION, 44100), 44100)
    assert f_measure(truth, beats) >= 0.9


def test_silence_has_no_beats_and_settings_name_the_version():
    tracker = LibrosaTracker(hop_length=512)
    assert tracker.track(np.zeros(16000, np.float32), 16000).size == 0
    settings = tracker.settings()
    assert settings["tracker"] == "librosa" and settings["hop_length"] == 512 and settings["librosa"]
