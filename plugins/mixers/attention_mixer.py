"""Shared machinery of the attention mixers: pre-norm, grouping of tokens, masking, residual update."""

from __future__ import annotations

import torch
from torch import nn

from synctrack.attention import AttentionShape, MultiHeadAttention
from synctrack.interfaces import Mixer
from synctrack.nn import sinusoidal_embedding, zero_module


class AttentionMixer(Mixer):
    """Pre-norm multi-head attention within groups of tokens; subclasses say how tokens are grouped.

    ``group`` turns tokens ``[B, S, N, D]`` and the track mask ``[B, S]`` into sequences ``[G, L, D]`` and
    their key mask ``[G, L]``; ``ungroup`` inverts the token reshaping. Groups never mix songs, and masked
    tracks are never keys, so a song's update depends on its own present tracks only.

    ``time_position: true`` adds a sinusoidal embedding of each token's time step (its row of the ``(T', F')``
    grid) to the normed tokens that attention reads. Without it no token knows where in time it sits, so a
    mixer that sees the whole song (global, mix) can match tracks by content only; with it, "the other
    tracks at this time" is something attention can learn to find. Off in the paper's recipes (the paper
    has no position in its mixers); the same embedding for every track, so track order still does not matter.
    """

    def __init__(self, dim: int, head_dim: int = 32, zero_init: bool = False, dropout: float = 0.0,
                 time_position: bool = False) -> None:
        super().__init__()
        self.time_position = time_position
        self.norm = nn.LayerNorm(dim)
        self.attention = MultiHeadAttention(dim, head_dim=head_dim, dropout=dropout)
        if zero_init:  # the update starts at exactly zero: a pretrained U-Net is unchanged at step 0
            zero_module(self.attention.to_out[0])

    def shape(self, sequences: int, queries: int, keys: int) -> AttentionShape:
        """An attention call of this mixer's heads: ``sequences`` problems of ``queries`` x ``keys``."""
        return AttentionShape(sequences, queries, keys, self.attention.heads, self.attention.head_dim)

    def normed(self, tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """Pre-normed tokens ``[B, S, N, D]``, plus the time position when ``time_position`` is on."""
        normed = self.norm(tokens)
        if not self.time_position:
            return normed
        frames, bins = grid
        steps = torch.arange(frames, device=tokens.device)
        position = sinusoidal_embedding(steps, tokens.shape[-1]).to(normed.dtype)  # [T', D]
        return normed + position.repeat_interleave(bins, dim=0)  # tokens are in (t f) order: [N, D]

    def group(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def ungroup(self, sequences: torch.Tensor, tokens_shape: torch.Size, grid: tuple[int, int]) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> torch.Tensor:
        """tokens ``[B, S, N, D]``, grid ``(T', F')``, track_mask ``[B, S]`` -> update ``[B, S, N, D]``."""
        if tokens.shape[2] != grid[0] * grid[1]:
            raise ValueError(f"{tokens.shape[2]} tokens per track do not fill the grid {grid}")
        sequences, key_mask = self.group(self.normed(tokens, grid), grid, track_mask)
        mixed = self.attention(sequences, key_mask=key_mask)
        update = self.ungroup(mixed, tokens.shape, grid)
        return update.masked_fill(~track_mask[:, :, None, None], 0.0)
