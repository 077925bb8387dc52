"""Mix attention: every track attends to its song's mix, so the cost grows linearly with the track count."""

from __future__ import annotations

from typing import Literal

import torch
from einops import rearrange

from synctrack.attention import AttentionShape

from .attention_mixer import AttentionMixer


class MixCrossTrackMixer(AttentionMixer):
    """Each track attends to its song's mix tokens (mean of the present tracks), at a cost linear in S.

    The mix is the per-position reduction over the song's present tracks of the pre-normed tokens,
    ``N = T' * F'`` tokens per song. Queries are the ``S * N`` tokens of the song, keys and values the
    ``N`` mix tokens, so keys do not grow with S: ``4 * S * N^2 * D`` FLOPs per song, against
    ``4 * (S * N)^2 * D`` for ``global_cross_track``. A track still hears every other track, through the
    mix, at every time-frequency position.

    ``reduce: mean`` (default) keeps the mix on the scale of one track whatever S is; ``sum`` is the mixture
    in the audio sense, whose scale grows with S. A masked track never enters the mix and gets a zero
    update; a song's mix holds its own tracks only.
    """

    def __init__(
        self,
        dim: int,
        reduce: Literal["mean", "sum"] = "mean",
        head_dim: int = 32,
        zero_init: bool = False,
        dropout: float = 0.0,
        time_position: bool = False,
    ) -> None:
        super().__init__(dim, head_dim=head_dim, zero_init=zero_init, dropout=dropout, time_position=time_position)
        self.reduce = reduce

    def mix(self, normed: torch.Tensor, track_mask: torch.Tensor) -> torch.Tensor:
        """Normed tokens ``[B, S, N, D]`` and ``track_mask [B, S]`` -> the song's mix ``[B, N, D]``."""
        absent = ~track_mask[:, :, None, None]
        total = normed.masked_fill(absent, 0.0).sum(dim=1)
        if self.reduce == "sum":
            return total
        present = track_mask.sum(dim=1).clamp(min=1).to(normed.dtype)  # a song with no track: a zero mix
        return total / present[:, None, None]

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int], track_mask: torch.Tensor) -> torch.Tensor:
        """tokens ``[B, S, N, D]``, grid ``(T', F')``, track_mask ``[B, S]`` -> update ``[B, S, N, D]``."""
        if tokens.shape[2] != grid[0] * grid[1]:
            raise ValueError(f"{tokens.shape[2]} tokens per track do not fill the grid {grid}")
        normed = self.normed(tokens, grid)
        queries = rearrange(normed, "b s n d -> b (s n) d")
        mixed = self.attention(queries, context=self.mix(normed, track_mask))
        update = rearrange(mixed, "b (s n) d -> b s n d", s=tokens.shape[1])
        return update.masked_fill(~track_mask[:, :, None, None], 0.0)

    def attention_shapes(self, batch: int, tracks: int, grid: tuple[int, int]) -> list[AttentionShape]:
        """One call per song: ``S * N`` queries over ``N`` mix keys, ``4 * S * N^2 * D`` FLOPs."""
        tokens = grid[0] * grid[1]
        return [self.shape(batch, tracks * tokens, tokens)]
