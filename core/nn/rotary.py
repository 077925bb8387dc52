"""Rotary position embedding (RoFormer, Su et al. 2021) along one axis: attention scores that depend on how far
apart two tokens are, not on where they sit.

Pairs of a head's channels ``(2i, 2i + 1)`` are rotated by ``position * base ** (-2i / head_dim)``. The dot
product of a query at position ``m`` with a key at ``n`` then depends on ``m - n`` only, so a layer can learn
"the onset one beat period back" the same way anywhere in the clip. No parameters: a pretrained attention
loads as it is.
"""

from __future__ import annotations

import torch
from torch import nn


class RotaryEmbedding(nn.Module):
    """Rotate queries and keys ``[B, H, N, Dh]`` by their tokens' positions ``[N]`` (any real numbers)."""

    def __init__(self, head_dim: int, base: float = 10000.0) -> None:
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"rotary positions rotate channel pairs: head_dim must be even, got {head_dim}")
        if base <= 1.0:
            raise ValueError(f"the rotary base must be above 1, got {base}")
        self.head_dim = head_dim
        self.base = float(base)
        # inverse wavelengths [Dh / 2], a buffer so .to(device) moves it; not saved: it is fixed by the arguments
        self.register_buffer("frequencies", base ** (-torch.arange(0, head_dim, 2).double() / head_dim), persistent=False)

    def angles(self, positions: torch.Tensor) -> torch.Tensor:
        """Rotation angles ``[N, Dh / 2]`` for positions ``[N]`` (in float64: large positions stay exact)."""
        return positions.double()[:, None] * self.frequencies.to(positions.device)[None, :]

    def forward(self, q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if q.shape[-1] != self.head_dim or k.shape[-1] != self.head_dim:
            raise ValueError(f"rotary embedding built for head_dim {self.head_dim}, got {q.shape[-1]} and {k.shape[-1]}")
        if positions.shape != (q.shape[-2],) or k.shape[-2] != q.shape[-2]:
            raise ValueError(f"rotary self-attention needs one position per token: {q.shape[-2]} queries, "
                             f"{k.shape[-2]} keys, positions {tuple(positions.shape)}")
        angles = self.angles(positions)
        cos, sin = angles.cos().to(q.dtype), angles.sin().to(q.dtype)
        return rotate_pairs(q, cos, sin), rotate_pairs(k, cos, sin)


def rotate_pairs(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs ``(2i, 2i + 1)`` of ``x`` ``[..., N, Dh]`` by the angles whose cosines and sines are
    ``[N, Dh / 2]``."""
    even, odd = x[..., 0::2], x[..., 1::2]
    rotated = torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1)
    return rotated.flatten(-2)
