"""Multi-head attention as a layer: projections around :func:`attend`."""

from __future__ import annotations

from collections.abc import Callable

import torch
from einops import rearrange
from torch import nn

from .dispatch import attend


class MultiHeadAttention(nn.Module):
    """Multi-head attention of queries ``[B, Nq, D]`` over keys/values ``[B, Nk, Dc]`` (self when none).

    Projections follow latent-diffusion naming (``to_q``, ``to_k``, ``to_v`` without bias, ``to_out.0``
    with bias), so pretrained attention weights map one to one.
    """

    def __init__(
        self,
        dim: int,
        head_dim: int = 32,
        context_dim: int | None = None,
        dropout: float = 0.0,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        if dim % head_dim:
            raise ValueError(f"attention width {dim} is not a multiple of head_dim {head_dim}")
        self.heads = dim // head_dim
        self.head_dim = head_dim
        self.backend = backend
        context_dim = context_dim or dim
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(context_dim, dim, bias=False)
        self.to_v = nn.Linear(context_dim, dim, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(dropout))

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, key_mask: torch.Tensor | None = None,
        rotate: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        """x ``[B, Nq, D]``, context ``[B, Nk, Dc]`` (default x), key_mask ``[B, Nk]`` -> ``[B, Nq, D]``.
        ``rotate`` maps queries and keys ``[B, H, N, Dh]`` before attention (a rotary position embedding)."""
        context = x if context is None else context
        q, k, v = (
            rearrange(projection(source), "b n (h d) -> b h n d", h=self.heads)
            for projection, source in ((self.to_q, x), (self.to_k, context), (self.to_v, context))
        )
        if rotate is not None:
            q, k = rotate(q, k)
        out = attend(q, k, v, key_mask=key_mask, backend=self.backend)
        return self.to_out(rearrange(out, "b h n d -> b n (h d)"))
