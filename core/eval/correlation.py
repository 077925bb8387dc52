"""Track correlation: how alike the tracks of one song sound, a guard for the rhythm metrics.

CBS rewards tracks that beat together, and a model that writes the same audio into every track would
score it perfectly. Track correlation catches that: per song, the mean over track pairs of the Pearson
correlation between the two tracks' log-mel spectrograms (flattened over bands and frames) after each band's
mean over time is taken out. Without that step any two broadband sounds correlate strongly through the mel
filterbank's shared band profile alone (two independent white noises score about 0.6); with it, independent
tracks score near 0, copies 1, a track and its negation (same spectrogram) 1 as well. Tracks whose
spectrogram is constant (silence) are left out of the pairs; a song with fewer than two such tracks is NaN.

Lower is better only in the sense of "less copying": real stems of one song are correlated a little, so
read a model's value next to the held-out songs' value, not against 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torchaudio

LOG_FLOOR = 1e-5  # power floor before the log: silence gives a constant log-mel, not -inf
MEL_BANDS = 64


def log_mel(waveform: np.ndarray, sample_rate: int, bands: int = MEL_BANDS) -> np.ndarray:
    """``[L]`` float32 waveform -> ``[bands, T]`` log-power mel spectrogram (25 ms windows, 10 ms hop)."""
    transform = torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate,
        n_fft=max(16, round(0.025 * sample_rate)),
        hop_length=max(1, round(0.010 * sample_rate)),
        n_mels=bands,
        power=2.0,
    )
    with torch.no_grad():
        power = transform(torch.from_numpy(np.ascontiguousarray(waveform, dtype=np.float32)))
    return torch.log10(power.clamp_min(LOG_FLOOR)).numpy().astype(np.float64)


def mean_pairwise_correlation(features: Sequence[np.ndarray]) -> float:
    """Mean Pearson correlation over pairs of the ``[S]`` same-shaped feature arrays; constant ones skipped."""
    rows = [np.asarray(f, dtype=np.float64).ravel() for f in features]
    if len({row.size for row in rows}) > 1:
        raise ValueError(f"track features differ in size: {[row.size for row in rows]}; cut tracks to one length first")
    rows = [row for row in rows if row.size > 1 and np.ptp(row) > 0]
    if len(rows) < 2:
        return math.nan
    matrix = np.corrcoef(np.stack(rows))
    upper = np.triu_indices(len(rows), k=1)
    return float(np.mean(matrix[upper]))


def song_track_correlation(tracks: Sequence[np.ndarray], sample_rate: int) -> float:
    """Track correlation of one song from its ``[S]`` waveforms ``[L_s]`` (cut to the shortest track)."""
    if len(tracks) < 2:
        return math.nan
    length = min(len(track) for track in tracks)
    mels = [log_mel(track[:length], sample_rate) for track in tracks]
    return mean_pairwise_correlation([mel - mel.mean(axis=1, keepdims=True) for mel in mels])  # band profile out
