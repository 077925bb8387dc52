"""Input checks shared by the vocoders."""

from __future__ import annotations

import torch


def check_mel(mel: torch.Tensor, n_mels: int, what: str) -> torch.Tensor:
    """A vocoder's input must be a log-mel ``[B, S, n_mels, frames]``."""
    if mel.dim() != 4 or mel.shape[2] != n_mels:
        raise ValueError(f"{what} expects a log-mel [B, S, {n_mels}, frames], got shape {tuple(mel.shape)}")
    return mel
