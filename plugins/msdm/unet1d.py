"""``unet1d``: MSDM's waveform denoiser. The S sources of a song are the input channels of one 1-D U-Net.

Unlike ``unet2d`` the track count is fixed by the recipe (``sources``), because every source has its own
input and output channel: this is the design of the baseline, kept as published.

Layout: patching folds ``patch_factor`` consecutive samples into channels (``[B, S, L]`` ->
``[B, S * p, L / p]``); ``levels = len(factors)`` down levels each downsample by ``factors[i]`` and run
``blocks_per_level[i]`` ResBlocks (plus self-attention where ``attention_levels[i]``); a bottleneck of
ResBlock, attention, ResBlock; the mirrored up path with skip connections; unpatching back to ``[B, S, L]``.
Widths are ``channels * multipliers[i]``. The noise level is embedded sinusoidally; the EDM diffusion passes
``c_noise = ln(sigma) / 4``.
"""

from __future__ import annotations

from typing import Any

import torch
from einops import rearrange
from torch import nn

from synctrack import TrackInfo
from synctrack.attention import MultiHeadAttention
from synctrack.interfaces import Denoiser
from synctrack.nn import TimestepEmbedding, zero_module


class ResBlock1d(nn.Module):
    """GroupNorm -> SiLU -> conv(3) -> scale-shift by the embedding -> GroupNorm -> SiLU -> conv(3), plus skip."""

    def __init__(self, channels: int, out_channels: int, embedding_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, channels)
        self.conv1 = nn.Conv1d(channels, out_channels, 3, padding=1)
        self.embedding_projection = nn.Linear(embedding_dim, 2 * out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels)
        self.conv2 = zero_module(nn.Conv1d(out_channels, out_channels, 3, padding=1))
        self.skip = nn.Identity() if channels == out_channels else nn.Conv1d(channels, out_channels, 1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """x ``[B, C, L]``, embedding ``[B, E]`` -> ``[B, out, L]``."""
        h = self.conv1(self.act(self.norm1(x)))
        scale, shift = self.embedding_projection(self.act(embedding))[:, :, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(self.act(h))


class Attention1d(nn.Module):
    """A transformer block over the positions of ``[B, C, L]``: pre-norm self-attention, then a feed-forward
    of width ``feedforward_multiplier * inner``, each residual."""

    def __init__(self, channels: int, heads: int, head_dim: int, groups: int, feedforward_multiplier: int = 2) -> None:
        super().__init__()
        inner = heads * head_dim
        self.norm = nn.GroupNorm(groups, channels)
        self.project_in = nn.Conv1d(channels, inner, 1)
        self.attention_norm = nn.LayerNorm(inner)
        self.attention = MultiHeadAttention(inner, head_dim=head_dim)
        self.feedforward = nn.Sequential(
            nn.LayerNorm(inner), nn.Linear(inner, feedforward_multiplier * inner), nn.GELU(), nn.Linear(feedforward_multiplier * inner, inner)
        )
        self.project_out = zero_module(nn.Conv1d(inner, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = rearrange(self.project_in(self.norm(x)), "b c l -> b l c")
        h = h + self.attention(self.attention_norm(h))
        h = h + self.feedforward(h)
        return x + self.project_out(rearrange(h, "b l c -> b c l"))


class Level(nn.Module):
    """ResBlocks with optional attention after each, at one resolution."""

    def __init__(self, channels: int, out_channels: int, blocks: int, attention: bool, embedding_dim: int, heads: int, head_dim: int, groups: int) -> None:
        super().__init__()
        self.resblocks = nn.ModuleList(
            [ResBlock1d(channels if i == 0 else out_channels, out_channels, embedding_dim, groups) for i in range(blocks)]
        )
        self.attentions = nn.ModuleList([Attention1d(out_channels, heads, head_dim, groups) for _ in range(blocks)] if attention else [])

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        for index, resblock in enumerate(self.resblocks):
            x = resblock(x, embedding)
            if self.attentions:
                x = self.attentions[index](x)
        return x


class UNet1D(Denoiser):
    """MSDM's waveform U-Net: the S sources are its input channels (``[B, S, 1, L]`` -> ``[B, S, 1, L]``)."""

    def __init__(
        self,
        sources: int = 4,
        channels: int = 256,
        patch_factor: int = 16,
        multipliers: list[int] = (1, 2, 4, 4, 4, 4, 4),
        factors: list[int] = (4, 4, 4, 2, 2, 2),
        blocks_per_level: list[int] = (2, 2, 2, 2, 2, 2),
        attention_levels: list[bool] = (False, False, False, True, True, True),
        attention_heads: int = 8,
        attention_head_dim: int = 128,
        bottleneck_attention: bool = True,
        norm_groups: int = 8,
    ) -> None:
        super().__init__()
        levels = len(factors)
        if not (len(multipliers) == levels + 1 and len(blocks_per_level) == levels and len(attention_levels) == levels):
            raise ValueError(
                f"unet1d needs len(multipliers) = len(factors) + 1 and one blocks_per_level and attention_levels entry per "
                f"factor; got {len(multipliers)} multipliers, {levels} factors, {len(blocks_per_level)} blocks_per_level, "
                f"{len(attention_levels)} attention_levels"
            )
        self.sources = sources
        self.patch_factor = patch_factor
        self.factors = list(factors)
        widths = [channels * m for m in multipliers]
        embedding_dim = 4 * channels
        self.time_embedding = TimestepEmbedding(channels, embedding_dim)
        self.conv_in = nn.Conv1d(sources * patch_factor, widths[0], 7, padding=3)

        self.downsamplers = nn.ModuleList()
        self.down_levels = nn.ModuleList()
        for i, factor in enumerate(factors):
            self.downsamplers.append(nn.Conv1d(widths[i], widths[i], 2 * factor + 1, stride=factor, padding=factor))
            self.down_levels.append(
                Level(widths[i], widths[i + 1], blocks_per_level[i], attention_levels[i], embedding_dim, attention_heads, attention_head_dim, norm_groups)
            )
        deepest = widths[-1]
        self.bottleneck = nn.ModuleList([
            ResBlock1d(deepest, deepest, embedding_dim, norm_groups),
            Attention1d(deepest, attention_heads, attention_head_dim, norm_groups) if bottleneck_attention else nn.Identity(),
            ResBlock1d(deepest, deepest, embedding_dim, norm_groups),
        ])
        self.up_levels = nn.ModuleList()
        self.upsamplers = nn.ModuleList()
        for i in reversed(range(levels)):
            self.up_levels.append(
                Level(2 * widths[i + 1], widths[i], blocks_per_level[i], attention_levels[i], embedding_dim, attention_heads, attention_head_dim, norm_groups)
            )
            self.upsamplers.append(nn.ConvTranspose1d(widths[i], widths[i], 2 * factors[i], stride=factors[i], padding=factors[i] // 2))
        self.conv_out = nn.Sequential(
            nn.GroupNorm(norm_groups, 2 * widths[0]), nn.SiLU(), zero_module(nn.Conv1d(2 * widths[0], sources * patch_factor, 7, padding=3))
        )

    @property
    def length_multiple(self) -> int:
        """Waveform lengths must be multiples of this (patching times every downsampling factor)."""
        multiple = self.patch_factor
        for factor in self.factors:
            multiple *= factor
        return multiple

    def latent_problem(self, shape: tuple[int, ...]) -> str | None:
        """Why a song of ``shape`` ``[S, 1, L]`` cannot be denoised (wrong source count, not a waveform, a length
        that is not a multiple of :attr:`length_multiple`), or None."""
        if len(shape) != 3 or shape[1] != 1:
            return f"unet1d denoises waveform latents [S, 1, L] (use the waveform encoder), got {list(shape)}"
        if shape[0] != self.sources:
            return f"unet1d was built for {self.sources} sources (its `sources`), but the songs have {shape[0]} tracks"
        if shape[2] % self.length_multiple:
            product = " x ".join(str(n) for n in [self.patch_factor, *self.factors])
            return (
                f"the waveform length {shape[2]} is not a multiple of {self.length_multiple} (patch_factor x factors = "
                f"{product}); set the waveform encoder's `multiple` to {self.length_multiple} so that it pads clips"
            )
        return None

    def forward(self, x: torch.Tensor, noise_level: torch.Tensor, tracks: TrackInfo, context: Any = None) -> torch.Tensor:
        """x ``[B, S, 1, L]``, noise_level ``[B]`` -> ``[B, S, 1, L]``; masked sources are zero."""
        if context is not None:
            raise ValueError("unet1d is unconditional: it takes no context")
        if x.dim() != 4 or x.shape[1] != self.sources or x.shape[2] != 1:
            raise ValueError(f"unet1d was built for [B, {self.sources}, 1, L] waveforms, got {tuple(x.shape)}")
        if x.shape[-1] % self.length_multiple:
            raise ValueError(f"waveform length {x.shape[-1]} must be a multiple of {self.length_multiple} (patching x downsampling)")
        embedding = self.time_embedding(noise_level)
        h = self.conv_in(rearrange(x, "b s 1 (l p) -> b (s p) l", p=self.patch_factor))
        skips = [h]
        for downsample, level in zip(self.downsamplers, self.down_levels):
            h = level(downsample(h), embedding)
            skips.append(h)
        h = self.bottleneck[2](self.bottleneck[1](self.bottleneck[0](h, embedding)), embedding)
        for level, upsample in zip(self.up_levels, self.upsamplers):
            h = upsample(level(torch.cat([h, skips.pop()], dim=1), embedding))
        out = self.conv_out(torch.cat([h, skips.pop()], dim=1))
        out = rearrange(out, "b (s p) l -> b s 1 (l p)", p=self.patch_factor)
        return out.masked_fill(~tracks.mask[:, :, None, None], 0.0)
