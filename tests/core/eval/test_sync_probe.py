"""The sync probe's arithmetic: onset envelopes, lagged correlation against a naive loop, and its scale:
synthetic songs score high, the same tracks shifted independently or drawn from other songs near zero."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from synctrack.eval.sync_probe import (
    OFF_BEAT_LAGS,
    beat_lags,
    lagged_correlation,
    onset_envelopes,
    song_sync,
    track_periodicity,
)


def test_onset_envelope_is_the_summed_rise_of_every_band():
    mels = torch.tensor([[0.0, 1.0], [1.0, 0.0], [3.0, 2.0]])  # [T=3, F=2]
    assert onset_envelopes(mels).tolist() == [1.0, 4.0]
    with pytest.raises(ValueError, match="at least 2 frames"):
        onset_envelopes(torch.zeros(1, 4))


def test_lagged_correlation_matches_a_naive_loop():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 50))
    for lag in (-5, -1, 0, 3, 7):
        pairs = [(a[t + lag], b[t]) for t in range(50) if 0 <= t + lag < 50]
        x, y = np.array(pairs).T
        assert float(lagged_correlation(torch.tensor(a), torch.tensor(b), lag)) == pytest.approx(np.corrcoef(x, y)[0, 1])


def pulse_mels(period, phase, frames=160, bands=8, seed=0):
    """A track that hits every ``period`` frames from ``phase``, with a little noise: ``[T, F]``."""
    generator = torch.Generator().manual_seed(seed)
    mels = torch.full((frames, bands), -1.0) + 0.02 * torch.randn(frames, bands, generator=generator)
    mels[phase::period] += 1.5
    return mels


def test_tracks_on_the_same_frames_score_high_and_shifted_tracks_near_zero():
    together = torch.stack([pulse_mels(15, 2, seed=s) for s in range(4)])[None]  # [1, 4, T, F]
    apart = torch.stack([pulse_mels(15, p, seed=s) for s, p in enumerate((0, 5, 9, 12))])[None]
    other_tempi = torch.stack([pulse_mels(p, 0, seed=s) for s, p in enumerate((11, 13, 17, 19))])[None]
    assert float(song_sync(together)) > 0.8
    assert abs(float(song_sync(apart))) < 0.15
    assert abs(float(song_sync(other_tempi))) < 0.15


def test_silent_and_masked_tracks_are_left_out_and_a_lone_track_is_nan():
    song = torch.stack([pulse_mels(15, 2, seed=0), pulse_mels(15, 2, seed=1), torch.full((160, 8), -1.0)])[None]
    assert float(song_sync(song)) == pytest.approx(float(song_sync(song[:, :2])))
    shifted = song.clone()
    shifted[0, 2] = pulse_mels(15, 9, seed=2)
    mask = torch.tensor([[True, True, False]])
    assert float(song_sync(shifted, mask)) == pytest.approx(float(song_sync(song[:, :2])))
    assert math.isnan(float(song_sync(song[:, :1])))


def test_a_song_does_not_depend_on_the_others_in_the_batch():
    songs = torch.stack([torch.stack([pulse_mels(15, p, seed=4 * i + s) for s, p in enumerate((1, 1, 6, 1))]) for i in range(3)])
    alone = song_sync(songs[1:2])
    assert torch.equal(song_sync(songs)[1:2], alone)


def test_off_beat_lags_are_off_the_beat_of_the_bench_frames():
    # 32 ms frames: a beat at 90-180 BPM is 10-21 frames; the lags stay within a third of the shortest period
    assert max(OFF_BEAT_LAGS) * 3 <= 21 and min(OFF_BEAT_LAGS) >= 3


def jittered_mels(period, frames=160, bands=8, jitter=1, seed=0):
    """Onsets one ``period`` apart on average, each moved by up to ``jitter`` frames: a pulse kept loosely."""
    generator = torch.Generator().manual_seed(seed)
    mels = torch.full((frames, bands), -1.0) + 0.02 * torch.randn(frames, bands, generator=generator)
    hits = torch.arange(3, frames - jitter, period) + torch.randint(-jitter, jitter + 1, (len(range(3, frames - jitter, period)),), generator=generator)
    mels[hits.clamp(0, frames - 1)] += 1.5
    return mels


def random_onset_mels(count, frames=160, bands=8, seed=0):
    """``count`` onsets at random frames: no pulse at all."""
    generator = torch.Generator().manual_seed(seed)
    mels = torch.full((frames, bands), -1.0) + 0.02 * torch.randn(frames, bands, generator=generator)
    mels[torch.randperm(frames, generator=generator)[:count]] += 1.5
    return mels


def test_periodicity_is_high_for_a_steady_pulse_lower_when_it_wanders_and_low_without_one():
    frame = 0.032  # the bench's frames: lags of 8 to 40 frames
    steady = torch.stack([pulse_mels(15, 2, seed=s) for s in range(4)])[None]
    wandering = torch.stack([jittered_mels(15, seed=s) for s in range(4)])[None]
    random = torch.stack([random_onset_mels(10, seed=s) for s in range(4)])[None]
    values = [float(track_periodicity(song, frame)) for song in (steady, wandering, random)]
    # a max over 33 lags: onsets at random frames still find some lag that fits (about 0.2-0.25)
    assert values[0] > 0.9 and 0.3 < values[1] < 0.8 and values[1] > values[2] + 0.1 and values[2] < 0.3, values
    # the tracks' phases do not matter: it is each track's own pulse, not their agreement
    shifted = torch.stack([pulse_mels(15, phase, seed=s) for s, phase in enumerate((0, 4, 7, 11))])[None]
    assert float(track_periodicity(shifted, frame)) == pytest.approx(values[0], abs=0.02)


def test_periodicity_of_one_track_matches_a_naive_autocorrelation():
    mels = jittered_mels(12, seed=3)
    envelope = onset_envelopes(mels.double()).numpy()
    lags = beat_lags(len(envelope), 0.032)
    assert (lags.start, lags.stop - 1) == (8, 40)
    naive = max(np.corrcoef(envelope[lag:], envelope[:-lag])[0, 1] for lag in lags)
    assert float(track_periodicity(mels[None, None], 0.032)) == pytest.approx(naive)


def test_periodicity_leaves_out_silent_and_masked_tracks():
    pulse, silent = pulse_mels(15, 2), torch.full((160, 8), -1.0)
    song = torch.stack([pulse, silent, random_onset_mels(10)])[None]
    alone = float(track_periodicity(pulse[None, None], 0.032))
    assert float(track_periodicity(song, 0.032, mask=torch.tensor([[True, True, False]]))) == pytest.approx(alone)
    assert math.isnan(float(track_periodicity(silent[None, None], 0.032)))


@pytest.mark.parametrize(("frames", "seconds", "fragment"), [
    (160, 0.0, "frame_seconds must be positive"),
    (10, 0.032, "10 frames of 0.032 s hold no lag of 0.25-1.3 s"),
])
def test_impossible_lag_ranges_are_explained(frames, seconds, fragment):
    with pytest.raises(ValueError, match=fragment):
        beat_lags(frames, seconds)
