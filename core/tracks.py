"""TrackInfo: which instrument each track slot holds, and which slots are present.

The track count ``S`` is a runtime dimension everywhere: a song with fewer tracks than the batch's widest
song has its extra slots masked out (``mask`` False), never special-cased.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class TrackInfo:
    """Per-song track identities.

    Attributes:
        instrument_ids: ``[B, S]`` long, indices into the recipe's instrument vocabulary.
        mask: ``[B, S]`` bool, True where the track exists.
    """

    instrument_ids: torch.Tensor
    mask: torch.Tensor

    def __post_init__(self) -> None:
        if self.instrument_ids.dim() != 2:
            raise ValueError(f"instrument_ids must be [B, S], got shape {tuple(self.instrument_ids.shape)}")
        if self.mask.shape != self.instrument_ids.shape:
            raise ValueError(
                f"mask {tuple(self.mask.shape)} and instrument_ids {tuple(self.instrument_ids.shape)} differ in shape"
            )
        if self.mask.dtype != torch.bool:
            raise ValueError(f"mask must be bool, got {self.mask.dtype}")

    @property
    def batch_size(self) -> int:
        return self.instrument_ids.shape[0]

    @property
    def num_tracks(self) -> int:
        return self.instrument_ids.shape[1]

    def to(self, device: torch.device | str) -> TrackInfo:
        return TrackInfo(self.instrument_ids.to(device), self.mask.to(device))

    def index_tracks(self, order: torch.Tensor | Sequence[int]) -> TrackInfo:
        """The same songs with their track slots reordered: ``order`` is ``[S']`` slot indices."""
        order = torch.as_tensor(order, device=self.instrument_ids.device)
        return TrackInfo(self.instrument_ids[:, order], self.mask[:, order])

    @classmethod
    def full(cls, instrument_ids: Sequence[int], batch_size: int = 1, device: torch.device | str = "cpu") -> TrackInfo:
        """Every song holds the same instruments, all present: ``[batch_size, len(instrument_ids)]``."""
        ids = torch.as_tensor(list(instrument_ids), dtype=torch.long, device=device)
        ids = ids.unsqueeze(0).expand(batch_size, -1).contiguous()
        return cls(ids, torch.ones_like(ids, dtype=torch.bool))
