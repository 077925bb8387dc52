"""The KL autoencoder network of latent diffusion (as MusicLDM uses it on mels).

Module names follow the LDM ``AutoencoderKL`` layout (``encoder.down.0.block.1.conv1.weight``,
``encoder.mid.attn_1.q.weight``, ``quant_conv.weight``, ``decoder.up.2.upsample.conv.weight``, ...) so that
pretrained MusicLDM weights map one to one. Every level but the last halves both spatial axes, so
``channel_multipliers=[1, 2, 4]`` downsamples by 4: a ``[N, 1, 1024, 64]`` mel becomes ``[N, 8, 256, 16]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from synctrack.attention import attend


def group_norm(channels: int, groups: int) -> nn.GroupNorm:
    return nn.GroupNorm(num_groups=groups, num_channels=channels, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    """norm -> SiLU -> conv, twice, plus a (1x1-projected when widths differ) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, groups: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels, groups)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = group_norm(out_channels, groups)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, in, H, W]`` -> ``[N, out, H, W]``."""
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        shortcut = x if self.nin_shortcut is None else self.nin_shortcut(x)
        return shortcut + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all ``H * W`` positions, 1x1 convolutions for q, k, v and output."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.norm = group_norm(channels, groups)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W]`` -> ``[N, C, H, W]``."""
        height = x.shape[2]
        h = self.norm(x)
        q, k, v = (rearrange(proj(h), "n c h w -> n 1 (h w) c") for proj in (self.q, self.k, self.v))
        out = attend(q, k, v)  # one head of width C: scale 1/sqrt(C), as in LDM
        return x + self.proj_out(rearrange(out, "n 1 (h w) c -> n c h w", h=height))


class Downsample(nn.Module):
    """Stride-2 3x3 convolution after zero padding of one row/column at the end (LDM's asymmetric pad)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Nearest-neighbour x2 then a 3x3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Middle(nn.Module):
    """ResBlock, attention (optional), ResBlock at the lowest resolution."""

    def __init__(self, channels: int, groups: int, attention: bool, dropout: float) -> None:
        super().__init__()
        self.block_1 = ResnetBlock(channels, channels, groups, dropout)
        self.attn_1 = AttnBlock(channels, groups) if attention else nn.Identity()
        self.block_2 = ResnetBlock(channels, channels, groups, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block_2(self.attn_1(self.block_1(x)))


class Level(nn.Module):
    """The ResBlocks of one resolution and its resampler (``downsample`` or ``upsample``, or none)."""

    def __init__(self, blocks: list[ResnetBlock], resample: nn.Module | None, attribute: str) -> None:
        super().__init__()
        self.block = nn.ModuleList(blocks)
        self.resample_name = attribute
        if resample is not None:
            setattr(self, attribute, resample)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.block:
            x = block(x)
        resample = getattr(self, self.resample_name, None)
        return x if resample is None else resample(x)


class Encoder2d(nn.Module):
    """``[N, in_channels, H, W]`` -> ``[N, 2 * z_channels, H / f, W / f]`` (mean and log-variance)."""

    def __init__(
        self,
        in_channels: int,
        base_channels: int,
        channel_multipliers: Sequence[int],
        res_blocks: int,
        z_channels: int,
        groups: int,
        mid_attention: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(in_channels, base_channels, 3, padding=1)
        widths = [base_channels * m for m in channel_multipliers]
        levels = []
        current = base_channels
        for index, width in enumerate(widths):
            blocks = []
            for _ in range(res_blocks):
                blocks.append(ResnetBlock(current, width, groups, dropout))
                current = width
            last = index == len(widths) - 1
            levels.append(Level(blocks, None if last else Downsample(current), "downsample"))
        self.down = nn.ModuleList(levels)
        self.mid = Middle(current, groups, mid_attention, dropout)
        self.norm_out = group_norm(current, groups)
        self.conv_out = nn.Conv2d(current, 2 * z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for level in self.down:
            h = level(h)
        h = self.mid(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder2d(nn.Module):
    """``[N, z_channels, H / f, W / f]`` -> ``[N, out_channels, H, W]``."""

    def __init__(
        self,
        out_channels: int,
        base_channels: int,
        channel_multipliers: Sequence[int],
        res_blocks: int,
        z_channels: int,
        groups: int,
        mid_attention: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        widths = [base_channels * m for m in channel_multipliers]
        current = widths[-1]
        self.conv_in = nn.Conv2d(z_channels, current, 3, padding=1)
        self.mid = Middle(current, groups, mid_attention, dropout)
        levels: list[Level] = []
        for index in reversed(range(len(widths))):
            blocks = []
            for _ in range(res_blocks + 1):
                blocks.append(ResnetBlock(current, widths[index], groups, dropout))
                current = widths[index]
            levels.insert(0, Level(blocks, Upsample(current) if index > 0 else None, "upsample"))
        self.up = nn.ModuleList(levels)  # up[0] is the highest resolution; it runs last
        self.norm_out = group_norm(current, groups)
        self.conv_out = nn.Conv2d(current, out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.conv_in(z))
        for level in reversed(self.up):
            h = level(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class DiagonalGaussian:
    """The posterior ``N(mean, exp(logvar))`` from moments ``[N, 2C, ...]`` (mean first, as in LDM)."""

    def __init__(self, moments: torch.Tensor) -> None:
        self.mean, logvar = moments.chunk(2, dim=1)
        self.logvar = logvar.clamp(-30.0, 20.0)
        self.std = torch.exp(0.5 * self.logvar)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """A draw ``[N, C, ...]`` with noise from ``generator`` (None: the global stream)."""
        noise = torch.randn(self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype)
        return self.sample_with(noise)

    def sample_with(self, noise: torch.Tensor) -> torch.Tensor:
        """The draw ``mean + std * noise`` for standard normal ``noise`` shaped like the mean."""
        return self.mean + self.std * noise

    def mode(self) -> torch.Tensor:
        return self.mean

    def kl(self) -> torch.Tensor:
        """``KL(q || N(0, I))`` summed over all but the batch axis: ``[N]``."""
        return 0.5 * (self.mean.square() + self.logvar.exp() - 1.0 - self.logvar).flatten(1).sum(dim=1)


class AutoencoderKL(nn.Module):
    """Encoder, ``quant_conv``, ``post_quant_conv``, decoder: images ``[N, C_in, H, W]`` <-> ``[N, z, H/f, W/f]``."""

    def __init__(
        self,
        in_channels: int = 1,
        base_channels: int = 128,
        channel_multipliers: Sequence[int] = (1, 2, 4),
        res_blocks: int = 2,
        latent_channels: int = 8,
        norm_groups: int = 32,
        mid_attention: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        shared = dict(
            base_channels=base_channels,
            channel_multipliers=list(channel_multipliers),
            res_blocks=res_blocks,
            z_channels=latent_channels,
            groups=norm_groups,
            mid_attention=mid_attention,
            dropout=dropout,
        )
        self.encoder = Encoder2d(in_channels=in_channels, **shared)
        self.decoder = Decoder2d(out_channels=in_channels, **shared)
        self.quant_conv = nn.Conv2d(2 * latent_channels, 2 * latent_channels, 1)
        self.post_quant_conv = nn.Conv2d(latent_channels, latent_channels, 1)
        self.downsampling = 2 ** (len(channel_multipliers) - 1)

    def encode(self, x: torch.Tensor) -> DiagonalGaussian:
        """``[N, C_in, H, W]`` -> the posterior over ``[N, z, H / f, W / f]``."""
        return DiagonalGaussian(self.quant_conv(self.encoder(x)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """``[N, z, H / f, W / f]`` -> ``[N, C_in, H, W]``."""
        return self.decoder(self.post_quant_conv(z))

    @property
    def last_layer(self) -> torch.Tensor:
        """The decoder's output weight (the adaptive adversarial weight balances gradients there)."""
        return self.decoder.conv_out.weight
