"""The ``none`` conditioner: tracks carry no identity (the ablation without an instrument prior)."""

from __future__ import annotations

import torch

from synctrack import TrackInfo
from synctrack.interfaces import Conditioner


class NoConditioner(Conditioner):
    """No track identity: zero embeddings of ``embedding_dim`` (keep 512 to keep pretrained shapes)."""

    def __init__(self, embedding_dim: int = 0) -> None:
        super().__init__()
        self.embedding_dim = embedding_dim

    def forward(self, tracks: TrackInfo) -> torch.Tensor:
        """TrackInfo ``[B, S]`` -> zeros ``[B, S, embedding_dim]``."""
        return torch.zeros(*tracks.instrument_ids.shape, self.embedding_dim, device=tracks.instrument_ids.device)
