"""Global cross-track attention: every token attends to every token of every track of its song."""

from __future__ import annotations

import torch
from einops import rearrange, repeat

from synctrack.attention import AttentionShape

from .attention_mixer import AttentionMixer


class GlobalCrossTrackMixer(AttentionMixer):
    """Each token attends to all S*T'*F' tokens of its own song (SyncTrack's global cross-track attention).

    Cost per song grows as ``(S * N)^2``. Keys come from the same song only: the official code's batch
    indexing lets a track read another song's keys when B > 1, which this mixer cannot do by construction.
    """

    def group(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sequences = rearrange(tokens, "b s n d -> b (s n) d")
        key_mask = repeat(track_mask, "b s -> b (s n)", n=tokens.shape[2])
        return sequences, key_mask

    def ungroup(self, sequences: torch.Tensor, tokens_shape: torch.Size, grid: tuple[int, int]) -> torch.Tensor:
        return rearrange(sequences, "b (s n) d -> b s n d", s=tokens_shape[1])

    def attention_shapes(self, batch: int, tracks: int, grid: tuple[int, int]) -> list[AttentionShape]:
        """One sequence of ``S * T' * F'`` tokens per song: ``4 * (S * N)^2 * D`` FLOPs per song."""
        tokens = tracks * grid[0] * grid[1]
        return [self.shape(batch, tokens, tokens)]
