"""Noise-level embeddings."""

from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_embedding(levels: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """The transformer sinusoidal embedding of ``levels`` ``[B]`` (float): ``[B, dim]``, cosines first.

    Cosine-then-sine with frequencies ``exp(-ln(max_period) * i / (dim / 2))`` is the latent-diffusion
    convention, which pretrained MusicLDM weights expect.
    """
    half = dim // 2
    frequencies = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=levels.device) / half)
    angles = levels.float()[:, None] * frequencies[None, :]
    embedding = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
    if dim % 2:
        embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
    return embedding


class TimestepEmbedding(nn.Module):
    """Sinusoidal embedding followed by ``Linear -> SiLU -> Linear``: ``[B]`` -> ``[B, out_dim]``."""

    def __init__(self, frequency_dim: int, out_dim: int) -> None:
        super().__init__()
        self.frequency_dim = frequency_dim
        self.linear_1 = nn.Linear(frequency_dim, out_dim)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(out_dim, out_dim)

    def forward(self, levels: torch.Tensor) -> torch.Tensor:
        embedding = sinusoidal_embedding(levels, self.frequency_dim).to(self.linear_1.weight.dtype)
        return self.linear_2(self.act(self.linear_1(embedding)))
