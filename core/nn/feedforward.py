"""The gated feed-forward of latent-diffusion transformer blocks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GEGLU(nn.Module):
    """``Linear(dim, 2 * inner)`` split into value and gate: ``value * gelu(gate)``."""

    def __init__(self, dim: int, inner_dim: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim, inner_dim * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class GEGLUFeedForward(nn.Module):
    """``[..., dim]`` -> ``[..., dim]`` through a GEGLU of width ``mult * dim``.

    Submodules are named ``net.0.proj`` and ``net.2`` as in latent diffusion, so pretrained weights map
    directly.
    """

    def __init__(self, dim: int, mult: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        inner = dim * mult
        self.net = nn.Sequential(GEGLU(dim, inner), nn.Dropout(dropout), nn.Linear(inner, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
