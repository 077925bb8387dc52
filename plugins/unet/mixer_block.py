"""A mixer-only block of the 2-D U-Net: cross-track exchange at a level that has no per-track attention."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from einops import rearrange
from torch import nn

from synctrack.interfaces import Mixer


class MixerBlock(nn.Module):
    """The mixers alone, at a finer time resolution than the attention blocks (``mixer_block_levels``).

    The bench U-Net attends only at a downsampling factor of 4, 128 ms per token, while CBS counts beats in
    70 ms windows: tracks can agree on the bar and still miss each other's beat. A cell-scope time mixer is
    cheap at any resolution (each (time, frequency) cell attends over the S tracks), so this block runs it
    where per-track self-attention would be too dear. Each mixer is pre-norm and residual, so a block of
    ``zero_init`` mixers is the identity when it joins a trained model.

    Input and output ``[B*S, C, T', F']`` (tracks folded into the batch), track_mask ``[B, S]``.
    """

    def __init__(self, mixers: Sequence[Mixer]) -> None:
        super().__init__()
        if not mixers:
            raise ValueError("a mixer block needs at least one mixer")
        self.mixers = nn.ModuleList(mixers)

    def forward(self, x: torch.Tensor, track_mask: torch.Tensor) -> torch.Tensor:
        frames, bins = x.shape[-2:]
        tokens = rearrange(x, "(b s) c t f -> b s (t f) c", s=track_mask.shape[1])
        for mixer in self.mixers:
            tokens = tokens + mixer(tokens, (frames, bins), track_mask)
        return rearrange(tokens, "b s (t f) c -> (b s) c t f", t=frames, f=bins)
