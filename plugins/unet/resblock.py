"""The residual block of the 2-D U-Net, with the noise-level embedding injected between its convolutions."""

from __future__ import annotations

import torch
from torch import nn

from synctrack.nn import zero_module


class ResBlock2d(nn.Module):
    """GroupNorm -> SiLU -> conv -> + projected embedding -> GroupNorm -> SiLU -> dropout -> conv, plus skip.

    ``x [N, C, T, F]``, ``embedding [N, E]`` -> ``[N, out_channels, T, F]``. The second convolution starts
    at zero, so a fresh block is the identity (or its 1x1 skip projection).
    """

    def __init__(
        self,
        channels: int,
        embedding_dim: int,
        out_channels: int | None = None,
        dropout: float = 0.0,
        norm_groups: int = 32,
    ) -> None:
        super().__init__()
        out_channels = out_channels or channels
        self.norm1 = nn.GroupNorm(norm_groups, channels, eps=1e-5)
        self.conv1 = nn.Conv2d(channels, out_channels, 3, padding=1)
        self.embedding_projection = nn.Linear(embedding_dim, out_channels)
        self.norm2 = nn.GroupNorm(norm_groups, out_channels, eps=1e-5)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_module(nn.Conv2d(out_channels, out_channels, 3, padding=1))
        self.skip = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)
        self.act = nn.SiLU()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act(self.norm1(x)))
        h = h + self.embedding_projection(self.act(embedding))[:, :, None, None]
        h = self.conv2(self.dropout(self.act(self.norm2(h))))
        return self.skip(x) + h
