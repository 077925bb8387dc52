"""A learned table of instrument embeddings: the simplest track-specific conditioner."""

from __future__ import annotations

import torch
from torch import nn

from synctrack import TrackInfo
from synctrack.interfaces import Conditioner

from .vocabulary import check_ids, check_vocabulary


class InstrumentEmbedding(Conditioner):
    """A learned embedding per instrument name (an ablation of the instrument prior)."""

    def __init__(self, vocabulary: list[str], embedding_dim: int = 512) -> None:
        super().__init__()
        self.vocabulary = check_vocabulary(vocabulary)
        self.embedding_dim = embedding_dim
        self.table = nn.Embedding(len(self.vocabulary), embedding_dim)

    def forward(self, tracks: TrackInfo) -> torch.Tensor:
        """TrackInfo ``[B, S]`` -> embeddings ``[B, S, embedding_dim]``."""
        check_ids(tracks.instrument_ids, self.vocabulary)
        return self.table(tracks.instrument_ids)
