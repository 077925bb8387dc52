"""Two guards for the rhythm metrics as metric parts: ``beating_tracks`` and ``track_correlation``."""

from __future__ import annotations

import numpy as np

from synctrack.eval.correlation import song_track_correlation
from synctrack.eval.memory import read_track
from synctrack.eval.values import beating_tracks_values, track_correlation_values
from synctrack.interfaces import AudioMetric, BeatSet, MetricValue, TrackFiles

from .rhythm import _Rhythm


class BeatingTracksMetric(_Rhythm):
    """Tracks per song with a rhythm (>= 2 beats): CBS and CBD compare sets only where these counts agree."""

    def compute(self, generated: BeatSet, reference: object = None) -> list[MetricValue]:
        return beating_tracks_values(generated, self.bootstrap)


class TrackCorrelationMetric(_Rhythm, AudioMetric):
    """Mean pairwise correlation of a song's track log-mels: near 1 when a model copies one track into all.

    ``sample_rate`` is the rate tracks are read at before the mel transform (16 kHz: the spectrogram's
    shape, not its top octave, is what the guard compares).
    """

    inputs = "audio"

    def __init__(self, sample_rate: int = 16000, bootstrap: int = 1000, confidence: float = 0.95, seed: int = 0) -> None:
        super().__init__(bootstrap, confidence, seed)
        if sample_rate <= 0:
            raise ValueError(f"track_correlation.sample_rate must be a positive rate in Hz, got {sample_rate}")
        self.sample_rate = sample_rate

    def compute(self, generated: TrackFiles, reference: object = None) -> list[MetricValue]:
        per_song = np.array(
            [
                song_track_correlation([read_track(entry, self.sample_rate) for entry in row if entry is not None], self.sample_rate)
                for row in generated.files
            ],
            dtype=np.float64,
        )
        return track_correlation_values(list(generated.songs), per_song, self.bootstrap)
