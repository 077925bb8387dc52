"""SyncTrack's learnable instrument prior (the track-specific module)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from synctrack import TrackInfo
from synctrack.interfaces import Conditioner

from .vocabulary import check_ids, check_vocabulary


class InstrumentPrior(Conditioner):
    """One-hot instrument id -> [sin, cos] -> Linear -> SiLU -> Linear (SyncTrack's instrument prior).

    For a vocabulary of K names: one-hot ``[K]`` -> ``[sin(onehot), cos(onehot)]`` ``[2K]`` ->
    ``Linear(2K, hidden_dim)`` -> SiLU -> ``Linear(hidden_dim, embedding_dim)``, as in the official code
    (hidden 128, output 512).
    """

    def __init__(self, vocabulary: list[str], hidden_dim: int = 128, embedding_dim: int = 512) -> None:
        super().__init__()
        self.vocabulary = check_vocabulary(vocabulary)
        self.embedding_dim = embedding_dim
        self.mlp = nn.Sequential(nn.Linear(2 * len(self.vocabulary), hidden_dim), nn.SiLU(), nn.Linear(hidden_dim, embedding_dim))

    def forward(self, tracks: TrackInfo) -> torch.Tensor:
        """TrackInfo ``[B, S]`` -> embeddings ``[B, S, embedding_dim]``."""
        check_ids(tracks.instrument_ids, self.vocabulary)
        onehot = F.one_hot(tracks.instrument_ids, len(self.vocabulary)).to(self.mlp[0].weight.dtype)
        return self.mlp(torch.cat([torch.sin(onehot), torch.cos(onehot)], dim=-1))
