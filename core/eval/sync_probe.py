"""The arithmetic of the sync probe: do a song's tracks put their onsets on the same frames, and does each keep a pulse?

For each track, the onset envelope is the spectral flux of its mel (the summed rise of every band from one
frame to the next). For each pair of tracks, the probe takes the Pearson correlation of the two envelopes at
lag 0 and subtracts its mean at the off-beat lags ``+-3 .. +-7`` frames. Tracks whose onsets fall on the same
frames score high (the synthetic world's songs about 0.66 on the bench's 32 ms frames); tracks that each keep
a beat but not the same one, or no beat, score about 0, because the envelope's own periodicity lifts lag 0 and
the nearby lags alike. A song's score is the mean over its pairs; a silent track (a flat envelope) is left
out of the pairs.

It reads mels, not audio: no vocoder and no beat tracker, so a checkpoint is scored in seconds. It is a
probe for learning curves, not a replacement for CBS / CBD (the ruler the results are reported with).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

OFF_BEAT_LAGS: tuple[int, ...] = (3, 4, 5, 6, 7)  # frames; both directions are used
FLAT = 1e-8  # an envelope whose variance is below this is silence: it has no onsets to line up


def onset_envelopes(mels: torch.Tensor) -> torch.Tensor:
    """Spectral flux ``[..., T - 1]`` of mels ``[..., T, F]`` (time before bands, in any log scale)."""
    if mels.dim() < 2 or mels.shape[-2] < 2:
        raise ValueError(f"mels are [..., T, F] with at least 2 frames, got shape {tuple(mels.shape)}")
    return torch.relu(mels[..., 1:, :] - mels[..., :-1, :]).sum(-1)


def _correlation(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of ``a`` and ``b`` ``[..., T]`` along the last axis (NaN where either is flat)."""
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    scale = (a.pow(2).mean(-1) * b.pow(2).mean(-1)).sqrt()
    value = (a * b).mean(-1) / scale
    return torch.where(scale > FLAT, value, torch.full_like(value, math.nan))


def lagged_correlation(a: torch.Tensor, b: torch.Tensor, lag: int) -> torch.Tensor:
    """Correlation of ``a[t + lag]`` with ``b[t]`` over the frames both cover (``a``, ``b``: ``[..., T]``)."""
    if lag == 0:
        return _correlation(a, b)
    if abs(lag) >= a.shape[-1] - 1:
        raise ValueError(f"lag {lag} leaves fewer than 2 frames of {a.shape[-1]}")
    if lag > 0:
        return _correlation(a[..., lag:], b[..., :-lag])
    return _correlation(a[..., :lag], b[..., -lag:])


def pair_sync(a: torch.Tensor, b: torch.Tensor, lags: Sequence[int] = OFF_BEAT_LAGS) -> torch.Tensor:
    """Lag-0 correlation minus the mean over ``+-lags`` for envelopes ``a``, ``b`` ``[..., T]`` -> ``[...]``."""
    off = torch.stack([lagged_correlation(a, b, sign * lag) for lag in lags for sign in (1, -1)], dim=-1)
    return lagged_correlation(a, b, 0) - off.mean(-1)


def song_sync(mels: torch.Tensor, mask: torch.Tensor | None = None, lags: Sequence[int] = OFF_BEAT_LAGS) -> torch.Tensor:
    """Sync score ``[B]`` (float64) of songs whose tracks' mels are ``[B, S, T, F]``.

    ``mask`` ``[B, S]`` (bool) leaves absent tracks out; a song with fewer than two sounding tracks is NaN.
    """
    if mels.dim() != 4:
        raise ValueError(f"mels are [B, S, T, F], got shape {tuple(mels.shape)}")
    envelopes = onset_envelopes(mels.double())  # [B, S, T-1]
    batch, tracks = envelopes.shape[:2]
    present = torch.ones(batch, tracks, dtype=torch.bool) if mask is None else mask.bool().cpu()
    scores = torch.full((batch,), math.nan, dtype=torch.float64)
    pairs = [(i, j) for i in range(tracks) for j in range(i + 1, tracks)]
    if not pairs:
        return scores
    values = torch.stack([pair_sync(envelopes[:, i], envelopes[:, j], lags) for i, j in pairs], dim=1).cpu()  # [B, P]
    usable = torch.stack([present[:, i] & present[:, j] for i, j in pairs], dim=1) & ~values.isnan()
    counts = usable.sum(1)
    sums = torch.where(usable, values, torch.zeros_like(values)).sum(1)
    return torch.where(counts > 0, sums / counts.clamp(min=1), scores)


BEAT_PERIOD_SECONDS: tuple[float, float] = (0.25, 1.3)  # one beat at 46 to 240 BPM


def beat_lags(frames: int, frame_seconds: float, periods: tuple[float, float] = BEAT_PERIOD_SECONDS) -> range:
    """The lags (frames) of one beat period, within what an envelope of ``frames`` frames can correlate."""
    if not frame_seconds > 0:
        raise ValueError(f"frame_seconds must be positive, got {frame_seconds}")
    low = max(1, math.ceil(periods[0] / frame_seconds))
    high = min(math.floor(periods[1] / frame_seconds), frames - 3)
    if high < low:
        raise ValueError(f"{frames} frames of {frame_seconds:.3f} s hold no lag of {periods[0]}-{periods[1]} s")
    return range(low, high + 1)


def track_periodicity(mels: torch.Tensor, frame_seconds: float, mask: torch.Tensor | None = None,
                      periods: tuple[float, float] = BEAT_PERIOD_SECONDS) -> torch.Tensor:
    """How steady each track's pulse is, per song ``[B]`` (float64), from mels ``[B, S, T, F]``.

    A track's value is the highest autocorrelation of its onset envelope over the lags of one beat period
    (``periods``, in seconds; ``frame_seconds`` per frame): near 1 for onsets on a steady grid, low for onsets
    that keep no tempo. A song's value is the mean over its sounding tracks (``mask`` leaves absent ones out;
    a flat envelope is silence); NaN when none sounds. Tracks can line up with each other and still keep no
    pulse, which the sync score cannot see and a beat tracker can.
    """
    if mels.dim() != 4:
        raise ValueError(f"mels are [B, S, T, F], got shape {tuple(mels.shape)}")
    envelopes = onset_envelopes(mels.double())  # [B, S, T-1]
    lags = beat_lags(envelopes.shape[-1], frame_seconds, periods)
    curves = torch.stack([lagged_correlation(envelopes, envelopes, lag) for lag in lags], dim=-1)  # [B, S, L]
    peaks = torch.nan_to_num(curves, nan=-math.inf).amax(-1).cpu()  # [B, S]; -inf where the track is silent
    present = torch.ones(peaks.shape, dtype=torch.bool) if mask is None else mask.bool().cpu()
    usable = present & torch.isfinite(peaks)
    counts = usable.sum(1)
    sums = torch.where(usable, peaks, torch.zeros_like(peaks)).sum(1)
    return torch.where(counts > 0, sums / counts.clamp(min=1), torch.full_like(sums, math.nan))
