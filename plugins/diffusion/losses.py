"""The per-song loss both diffusions share."""

from __future__ import annotations

import torch


def per_song_mse(prediction: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error per song over its present tracks.

    ``prediction``, ``target`` ``[B, S, ...]``, ``mask`` ``[B, S]`` bool -> ``[B]`` (float32). Each present
    track weighs the same whatever its size; a song without present tracks gives 0.
    """
    per_track = (prediction.float() - target.float()).pow(2).flatten(2).mean(-1)  # [B, S]
    weight = mask.to(per_track.dtype)
    return (per_track * weight).sum(1) / weight.sum(1).clamp(min=1.0)
