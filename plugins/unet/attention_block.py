"""The attention block of the 2-D U-Net: per-track attention, cross-track mixers, feed-forward."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from einops import rearrange
from torch import nn

from synctrack.attention import MultiHeadAttention
from synctrack.interfaces import Mixer
from synctrack.nn import GEGLUFeedForward, RotaryEmbedding, zero_module


class AttentionBlock(nn.Module):
    """Per-track self-attention, then (with ``context_dim``) cross-attention to the song's condition tokens, then
    the mixers, then an optional second self-attention, then a GEGLU FF.

    Input ``[B*S, C, T', F']`` (tracks folded into the batch). Inside, tokens are ``[B*S, T'*F', C]`` for the
    per-track layers and ``[B, S, T'*F', C]`` for the mixers, which see every track of a song. Each sub-layer
    is pre-norm and residual; the block's output projection starts at zero (latent-diffusion convention).

    ``time_rotary`` gives the per-track self-attention a rotary position along time (each token's frame; the
    bins of a frame share it): its scores then depend on how many frames apart two tokens are, which is
    what a steady beat is made of. Latent diffusion's attention has no position, so it is off by default.
    """

    def __init__(
        self,
        channels: int,
        head_dim: int = 32,
        mixers: Sequence[Mixer] = (),
        second_self_attention: bool = True,
        dropout: float = 0.0,
        norm_groups: int = 32,
        context_dim: int | None = None,
        time_rotary: bool = False,
    ) -> None:
        super().__init__()
        self.rotary = RotaryEmbedding(head_dim) if time_rotary else None
        self.norm = nn.GroupNorm(norm_groups, channels, eps=1e-6)
        self.proj_in = nn.Conv2d(channels, channels, 1)
        self.norm1 = nn.LayerNorm(channels)
        self.attn1 = MultiHeadAttention(channels, head_dim=head_dim, dropout=dropout)
        self.norm_context = nn.LayerNorm(channels) if context_dim else None
        self.cross_attn = MultiHeadAttention(channels, head_dim=head_dim, context_dim=context_dim, dropout=dropout) if context_dim else None
        self.mixers = nn.ModuleList(mixers)
        self.norm2 = nn.LayerNorm(channels) if second_self_attention else None
        self.attn2 = MultiHeadAttention(channels, head_dim=head_dim, dropout=dropout) if second_self_attention else None
        self.norm3 = nn.LayerNorm(channels)
        self.ff = GEGLUFeedForward(channels, dropout=dropout)
        self.proj_out = zero_module(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor, track_mask: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """x ``[B*S, C, T', F']``, track_mask ``[B, S]``, context ``[B*S, K, context_dim]`` (the song's condition
        tokens, repeated for its tracks; only with ``context_dim``) -> ``[B*S, C, T', F']``."""
        frames, bins = x.shape[-2:]
        tracks = track_mask.shape[1]
        h = rearrange(self.proj_in(self.norm(x)), "n c t f -> n (t f) c")
        rotate = None
        if self.rotary is not None:  # tokens are in (t f) order: a token's position is its frame
            positions = torch.arange(frames, device=x.device).repeat_interleave(bins)
            rotate = partial(self.rotary, positions=positions)
        h = h + self.attn1(self.norm1(h), rotate=rotate)
        if self.cross_attn is not None:
            if context is None:
                raise ValueError("this attention block attends to song conditions: give context [B*S, K, D]")
            h = h + self.cross_attn(self.norm_context(h), context)
        if len(self.mixers):
            tokens = rearrange(h, "(b s) n c -> b s n c", s=tracks)
            for mixer in self.mixers:
                tokens = tokens + mixer(tokens, (frames, bins), track_mask)
            h = rearrange(tokens, "b s n c -> (b s) n c")
        if self.attn2 is not None:
            h = h + self.attn2(self.norm2(h), rotate=rotate)
        h = h + self.ff(self.norm3(h))
        return x + self.proj_out(rearrange(h, "n (t f) c -> n c t f", t=frames, f=bins))
