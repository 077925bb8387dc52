"""The per-song loss both diffusions share."""

from __future__ import annotations

import torch


def per_song_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                 track_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error per song over its present tracks.

    ``prediction``, ``target`` ``[B, S, ...]``, ``mask`` ``[B, S]`` bool -> ``[B]`` (float32). Each present
    track weighs the same whatever its size; a song without present tracks gives 0. ``track_weight`` ``[B]``
    or ``[B, S]`` scales each track's error before the mean (a loss weighting by noise level).
    """
    per_track = (prediction.float() - target.float()).pow(2).flatten(2).mean(-1)  # [B, S]
    if track_weight is not None:
        per_track = per_track * track_weight.to(per_track).reshape(per_track.shape[0], -1)
    weight = mask.to(per_track.dtype)
    return (per_track * weight).sum(1) / weight.sum(1).clamp(min=1.0)
