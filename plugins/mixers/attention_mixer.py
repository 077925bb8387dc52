"""Shared machinery of the attention mixers: pre-norm, grouping of tokens, masking, residual update."""

from __future__ import annotations

import torch
from torch import nn

from synctrack.attention import AttentionShape, MultiHeadAttention
from synctrack.interfaces import Mixer
from synctrack.nn import zero_module


class AttentionMixer(Mixer):
    """Pre-norm multi-head attention within groups of tokens; subclasses say how tokens are grouped.

    ``group`` turns tokens ``[B, S, N, D]`` and the track mask ``[B, S]`` into sequences ``[G, L, D]`` and
    their key mask ``[G, L]``; ``ungroup`` inverts the token reshaping. Groups never mix songs, and masked
    tracks are never keys, so a song's update depends on its own present tracks only.
    """

    def __init__(self, dim: int, head_dim: int = 32, zero_init: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.attention = MultiHeadAttention(dim, head_dim=head_dim, dropout=dropout)
        if zero_init:  # the update starts at exactly zero: a pretrained U-Net is unchanged at step 0
            zero_module(self.attention.to_out[0])

    def shape(self, sequences: int, queries: int, keys: int) -> AttentionShape:
        """An attention call of this mixer's heads: ``sequences`` problems of ``queries`` x ``keys``."""
        return AttentionShape(sequences, queries, keys, self.attention.heads, self.attention.head_dim)

    def group(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def ungroup(self, sequences: torch.Tensor, tokens_shape: torch.Size, grid: tuple[int, int]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> torch.Tensor:
        """tokens ``[B, S, N, D]``, grid ``(T', F')``, track_mask ``[B, S]`` -> update ``[B, S, N, D]``."""
        if tokens.shape[2] != grid[0] * grid[1]:
            raise ValueError(f"{tokens.shape[2]} tokens per track do not fill the grid {grid}")
        sequences, key_mask = self.group(self.norm(tokens), grid, track_mask)
        mixed = self.attention(sequences, key_mask=key_mask)
        update = self.ungroup(mixed, tokens.shape, grid)
        return update.masked_fill(~track_mask[:, :, None, None], 0.0)
