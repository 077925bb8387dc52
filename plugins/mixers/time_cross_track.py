"""Time-specific cross-track attention: tokens meet the other tracks at the same time step only."""

from __future__ import annotations

from typing import Literal

import torch
from einops import rearrange, repeat

from synctrack.attention import AttentionShape

from .attention_mixer import AttentionMixer


class TimeCrossTrackMixer(AttentionMixer):
    """Attention across tracks restricted to one time step (SyncTrack's time-specific cross-track attention).

    ``scope: frame`` (the paper's text): at each time step t, a token attends to all frequency positions of
    all tracks, a sequence of ``S * F'``; cost ``T' * (S * F')^2``. ``scope: cell`` (the official code): at
    each (t, f) cell, a token attends to the same cell of every track, a sequence of ``S``; cost
    ``T' * F' * S^2``.
    """

    def __init__(
        self,
        dim: int,
        scope: Literal["frame", "cell"] = "cell",
        head_dim: int = 32,
        zero_init: bool = False,
        dropout: float = 0.0,
        time_position: bool = False,
    ) -> None:
        super().__init__(dim, head_dim=head_dim, zero_init=zero_init, dropout=dropout, time_position=time_position)
        self.scope = scope

    def group(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        frames, bins = grid
        if self.scope == "frame":
            sequences = rearrange(tokens, "b s (t f) d -> (b t) (s f) d", t=frames, f=bins)
            key_mask = repeat(track_mask, "b s -> (b t) (s f)", t=frames, f=bins)
        else:
            sequences = rearrange(tokens, "b s n d -> (b n) s d")
            key_mask = repeat(track_mask, "b s -> (b n) s", n=frames * bins)
        return sequences, key_mask

    def ungroup(self, sequences: torch.Tensor, tokens_shape: torch.Size, grid: tuple[int, int]) -> torch.Tensor:
        frames, bins = grid
        batch, tracks = tokens_shape[0], tokens_shape[1]
        if self.scope == "frame":
            return rearrange(sequences, "(b t) (s f) d -> b s (t f) d", b=batch, s=tracks, f=bins)
        return rearrange(sequences, "(b n) s d -> b s n d", b=batch)

    def attention_shapes(self, batch: int, tracks: int, grid: tuple[int, int]) -> list[AttentionShape]:
        """frame: ``T'`` sequences of ``S * F'`` per song, ``4 * T' * (S * F')^2 * D`` FLOPs; cell: ``T' * F'``
        sequences of ``S``, ``4 * T' * F' * S^2 * D`` FLOPs."""
        frames, bins = grid
        if self.scope == "frame":
            return [self.shape(batch * frames, tracks * bins, tracks * bins)]
        return [self.shape(batch * frames * bins, tracks, tracks)]
