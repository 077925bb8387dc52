"""The ``none`` mixer: tracks exchange nothing (the ablation without cross-track attention)."""

from __future__ import annotations

import torch

from synctrack.attention import AttentionShape
from synctrack.interfaces import Mixer


class NoMixer(Mixer):
    """No cross-track exchange: the update is zero, so each track is denoised on its own."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> torch.Tensor:
        """tokens ``[B, S, N, D]`` -> zeros ``[B, S, N, D]``."""
        return torch.zeros_like(tokens)

    def attention_shapes(self, batch: int, tracks: int, grid: tuple[int, int]) -> list[AttentionShape]:
        """No attention at all."""
        return []
