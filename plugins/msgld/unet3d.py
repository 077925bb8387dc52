"""``unet3d``: MSG-LD's denoiser. The stems of a song are the channels of one 3-D U-Net whose depth axis is the
VAE's latent channels; it downsamples time and frequency only.

Input ``[B, S, C, T, F]`` is read as a 3-D volume of S channels over (C, T, F), exactly as stored. Plain
self-attention runs over all C x T' x F' positions at the chosen downsample factors and in the middle (MSG-LD
has no spatial transformer). The track count is fixed by ``sources``, as in the published model.

Mixture condition (``context``): the mixture's latent ``[B, C, T, F]``, average-pooled to each resolution
and added, through a 1x1x1 convolution, after every block. In training the pipeline drops it with probability
``condition_dropout``, per song and from the song's own generator (a dropped or absent condition is an
all-zero mixture; see ``Denoiser.condition_dropout``), so one model serves total
generation (no condition), separation (the mixture given) and, with partial generation, arrangement. The
model declares ``context_kind = "mixture"`` (None with ``mixture_condition: false``): the pipeline encodes
each training batch's mixture, and a user's mixture at sampling time, and passes it as ``context``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from synctrack import TrackInfo
from synctrack.attention import MultiHeadAttention
from synctrack.interfaces import Denoiser
from synctrack.nn import LayerPlan, StagePlan, TimestepEmbedding, unet_plan, zero_module


class ResBlock3d(nn.Module):
    """GroupNorm -> SiLU -> conv3d -> + embedding -> GroupNorm -> SiLU -> dropout -> conv3d, plus skip."""

    def __init__(self, channels: int, out_channels: int, embedding_dim: int, groups: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, channels)
        self.conv1 = nn.Conv3d(channels, out_channels, 3, padding=1)
        self.embedding_projection = nn.Linear(embedding_dim, out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_module(nn.Conv3d(out_channels, out_channels, 3, padding=1))
        self.skip = nn.Identity() if channels == out_channels else nn.Conv3d(channels, out_channels, 1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act(self.norm1(x)))
        h = h + self.embedding_projection(self.act(embedding))[:, :, None, None, None]
        return self.skip(x) + self.conv2(self.dropout(self.act(self.norm2(h))))


class Attention3d(nn.Module):
    """Pre-norm self-attention over all positions of ``[B, C, D, T, F]``, residual (output starts at zero)."""

    def __init__(self, channels: int, head_dim: int, groups: int) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels)
        self.attention = MultiHeadAttention(channels, head_dim=head_dim)
        zero_module(self.attention.to_out[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        depth, frames, bins = x.shape[-3:]
        h = rearrange(self.norm(x), "b c d t f -> b (d t f) c")
        return x + rearrange(self.attention(h), "b (d t f) c -> b c d t f", d=depth, t=frames, f=bins)


class Downsample3d(nn.Module):
    """Stride (1, 2, 2): halves time and frequency, keeps the latent-channel depth."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(channels, channels, 3, stride=(1, 2, 2), padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample3d(nn.Module):
    """Nearest x2 in time and frequency, then a 3x3x3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=(1.0, 2.0, 2.0), mode="nearest"))


class MixtureInjection(nn.Module):
    """The mixture latent ``[B, 1, C, T, F]`` pooled by ``factor`` in time and frequency, projected to the
    block's width: ``[B, width, C, T / factor, F / factor]``."""

    def __init__(self, width: int, factor: int) -> None:
        super().__init__()
        self.factor = factor
        self.project = nn.Conv3d(1, width, 1)

    def forward(self, mixture: torch.Tensor) -> torch.Tensor:
        pooled = F.avg_pool3d(mixture, kernel_size=(1, self.factor, self.factor)) if self.factor > 1 else mixture
        return self.project(pooled)


class Stage(nn.Module):
    """Layers of one U-Net block followed by the mixture injection at the block's resolution."""

    def __init__(self, layers: list[nn.Module], width: int, factor: int, conditioned: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.mixture = MixtureInjection(width, factor) if conditioned else None

    def forward(self, x: torch.Tensor, embedding: torch.Tensor, mixture: torch.Tensor | None) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, embedding) if isinstance(layer, ResBlock3d) else layer(x)
        if self.mixture is not None and mixture is not None:
            x = x + self.mixture(mixture)
        return x


class UNet3D(Denoiser):
    """MSG-LD's 3-D U-Net: stems as conv channels over (latent channels, time, frequency), mixture-conditioned.

    ``forward(x [B, S, C, T, F], noise_level [B], tracks, context=None | mixture latent [B, C, T, F])``.
    """

    def __init__(
        self,
        sources: int = 4,
        latent_channels: int = 8,
        base_channels: int = 128,
        channel_multipliers: list[int] = (1, 2, 3, 5),
        res_blocks: int = 2,
        attention_levels: list[int] = (2, 4, 8),
        middle_attention: bool = True,
        head_dim: int = 32,
        mixture_condition: bool = True,
        condition_dropout: float = 0.1,
        dropout: float = 0.0,
        norm_groups: int = 32,
    ) -> None:
        super().__init__()
        if not 0.0 <= condition_dropout <= 1.0:
            raise ValueError(f"condition_dropout must be a probability, got {condition_dropout}")
        self.sources = sources
        self.latent_channels = latent_channels
        self.levels = len(channel_multipliers)
        self.mixture_condition = mixture_condition
        self.context_kind = "mixture" if mixture_condition else None  # the pipeline encodes the mixture for it
        self.condition_dropout = condition_dropout
        embedding_dim = 4 * base_channels
        self.time_embedding = TimestepEmbedding(base_channels, embedding_dim)

        def layer(spec: LayerPlan) -> nn.Module:
            if spec.kind == "conv_in":
                return nn.Conv3d(spec.in_channels, spec.out_channels, 3, padding=1)
            if spec.kind == "res":
                return ResBlock3d(spec.in_channels, spec.out_channels, embedding_dim, norm_groups, dropout)
            if spec.kind == "down":
                return Downsample3d(spec.in_channels)
            if spec.kind == "up":
                return Upsample3d(spec.in_channels)
            return Attention3d(spec.in_channels, head_dim, norm_groups)

        def stage(plan: StagePlan) -> Stage:
            # the mixture injection meets the stage's output: its width and resolution
            return Stage([layer(spec) for spec in plan.layers], plan.layers[-1].out_channels, plan.factor, mixture_condition)

        plan = unet_plan(sources, base_channels, channel_multipliers, res_blocks, attention_levels, middle_attention)
        self.input_blocks = nn.ModuleList([stage(s) for s in plan.input])
        self.middle_block = stage(plan.middle)
        self.output_blocks = nn.ModuleList([stage(s) for s in plan.output])
        channels = plan.final_channels
        self.out = nn.Sequential(nn.GroupNorm(norm_groups, channels), nn.SiLU(), zero_module(nn.Conv3d(channels, sources, 3, padding=1)))

    def forward(self, x: torch.Tensor, noise_level: torch.Tensor, tracks: TrackInfo, context: Any = None) -> torch.Tensor:
        """x ``[B, S, C, T, F]``, noise_level ``[B]``, context None or ``[B, C, T, F]`` -> ``[B, S, C, T, F]``."""
        batch, sources, channels, frames, bins = self._check(x, context)
        mixture = self._mixture(context, batch, x) if self.mixture_condition else None
        embedding = self.time_embedding(noise_level)
        h = x
        skips = []
        for stage in self.input_blocks:
            h = stage(h, embedding, mixture)
            skips.append(h)
        h = self.middle_block(h, embedding, mixture)
        for stage in self.output_blocks:
            h = stage(torch.cat([h, skips.pop()], dim=1), embedding, mixture)
        return self.out(h).masked_fill(~tracks.mask[:, :, None, None, None], 0.0)

    def _mixture(self, context: torch.Tensor | None, batch: int, x: torch.Tensor) -> torch.Tensor:
        """The condition as ``[B, 1, C, T, F]``: zeros when absent (the pipeline drops it in training)."""
        if context is None:
            return torch.zeros(batch, 1, *x.shape[2:], dtype=x.dtype, device=x.device)
        return context[:, None]

    def latent_problem(self, shape: tuple[int, ...]) -> str | None:
        """Why a song of ``shape`` ``[S, C, T, F]`` cannot be denoised, or None."""
        if len(shape) != 4:
            return f"unet3d denoises latents [S, C, T, F] (a mel VAE's), got {list(shape)}"
        if shape[0] != self.sources:
            return f"unet3d was built for {self.sources} stems (its `sources`), but the songs have {shape[0]} tracks"
        if shape[1] != self.latent_channels:
            return f"unet3d was built for {self.latent_channels} latent channels (its `latent_channels`), the encoder gives {shape[1]}"
        multiple = 2 ** (self.levels - 1)
        if shape[2] % multiple or shape[3] % multiple:
            return (
                f"the latent grid {shape[2]} x {shape[3]} must be divisible by {multiple} (2 ** (levels - 1)); choose a "
                "clip length whose latent frames divide by it"
            )
        return None

    def _check(self, x: torch.Tensor, context: Any) -> tuple[int, ...]:
        if x.dim() != 5 or x.shape[1] != self.sources or x.shape[2] != self.latent_channels:
            raise ValueError(f"unet3d was built for [B, {self.sources}, {self.latent_channels}, T, F] latents, got {tuple(x.shape)}")
        multiple = 2 ** (self.levels - 1)
        if x.shape[3] % multiple or x.shape[4] % multiple:
            raise ValueError(f"latent grid {x.shape[3]} x {x.shape[4]} must be divisible by {multiple}")
        if context is not None:
            if not self.mixture_condition:
                raise ValueError("this unet3d was built with mixture_condition: false; it takes no context")
            if tuple(context.shape) != (x.shape[0], *x.shape[2:]):
                raise ValueError(f"the mixture condition must be [B, C, T, F] = {[x.shape[0], *x.shape[2:]]}, got {list(context.shape)}")
        return tuple(x.shape)
