"""``logmel_not_comparable``: an offline embedder with no weights, NOT comparable with published FAD."""

from __future__ import annotations

import numpy as np

from synctrack.audio.io import resample
from synctrack.interfaces import Embedder

from . import frontend

NAME = "logmel_not_comparable"


class LogMelEmbedder(Embedder):
    """Per 0.96 s example, mean and std of VGGish's 64 log-mel bands (128-d); NOT comparable with published FAD.

    Needs no download and is deterministic, so FAD with it tracks progress within a project; published FAD
    numbers use VGGish embeddings and cannot be compared with these.
    """

    comparable_to_published = False
    sample_rate = frontend.SAMPLE_RATE

    @property
    def label(self) -> str:
        return NAME

    def embed(self, waveforms: np.ndarray, sample_rate: int) -> np.ndarray:
        """``waveforms [N, L]`` -> ``[M, 128]``, M the 0.96 s examples of all N clips."""
        rows = []
        for waveform in np.atleast_2d(np.asarray(waveforms, dtype=np.float32)):
            batch = frontend.examples(resample(waveform, sample_rate, self.sample_rate))
            rows.append(np.concatenate([batch.mean(axis=1), batch.std(axis=1)], axis=1))
        return np.concatenate(rows).astype(np.float64) if rows else np.zeros((0, 2 * frontend.MEL_BANDS))

    def notes(self) -> list[str]:
        return [
            f"FAD uses the offline embedder {NAME} (log-mel statistics, not VGGish): its numbers are NOT "
            "comparable with published FAD; for those use --embedder vggish --set embedder.weights=PATH"
        ]
