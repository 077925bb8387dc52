"""The ``librosa`` beat tracker: onset strength + tempo estimate + dynamic programming (Ellis 2007)."""

from __future__ import annotations

from typing import Any

import numpy as np

from synctrack.audio.io import resample
from synctrack.eval.cache import ensure_numba_cache_dir
from synctrack.interfaces import BeatTracker

ensure_numba_cache_dir()  # before librosa (and numba) are imported, here and in every worker process


class LibrosaTracker(BeatTracker):
    """librosa's dynamic-programming beat tracker; the default (no model weights, installs anywhere).

    Audio is resampled to ``sample_rate`` and analysed with frames of ``hop_length`` samples. The defaults
    (16 kHz, hop 256 = 16 ms) track click tracks at 90-170 BPM with F-measure 1.0; librosa's own
    ``hop_length=512`` at 16 kHz halves 150 BPM (measured, see docs/metrics.md).
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        hop_length: int = 256,
        start_bpm: float = 120.0,
        tightness: float = 100.0,
        trim: bool = True,
    ) -> None:
        if sample_rate <= 0 or hop_length <= 0 or start_bpm <= 0:
            raise ValueError("sample_rate, hop_length and start_bpm must be positive")
        self.sample_rate = sample_rate
        self.hop_length = hop_length
        self.start_bpm = start_bpm
        self.tightness = tightness
        self.trim = trim

    def track(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        """``waveform [L]`` float32 at ``sample_rate`` -> beat times ``[K]`` in seconds, ascending."""
        import librosa

        audio = resample(np.asarray(waveform, dtype=np.float32), sample_rate, self.sample_rate)
        if not np.any(audio):
            return np.zeros(0)
        _, beats = librosa.beat.beat_track(
            y=audio,
            sr=self.sample_rate,
            hop_length=self.hop_length,
            start_bpm=self.start_bpm,
            tightness=self.tightness,
            trim=self.trim,
            units="time",
        )
        return np.sort(np.asarray(beats, dtype=np.float64))

    def settings(self) -> dict[str, Any]:
        import librosa

        return {
            "tracker": "librosa",
            "librosa": librosa.__version__,
            "sample_rate": self.sample_rate,
            "hop_length": self.hop_length,
            "start_bpm": self.start_bpm,
            "tightness": self.tightness,
            "trim": self.trim,
        }
