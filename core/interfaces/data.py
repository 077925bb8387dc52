"""Interface of datasets: multi-track songs with their track identities."""

from __future__ import annotations

from typing import Any, ClassVar

from torch.utils.data import Dataset as TorchDataset

from .base import PartInterface


class Dataset(PartInterface, TorchDataset):
    """Items of one split, each a dict with at least:

    - ``audio``: float32 ``[S, L]`` waveforms at ``sample_rate``;
    - ``instrument_ids``: long ``[S]``; ``track_mask``: bool ``[S]`` (False for a missing track);
    - ``meta``: a dict (song id, segment start, and whatever the dataset knows, such as beat times).
    """

    registry_kind: ClassVar[str] = "dataset"
    sample_rate: int
    track_names: list[str]

    def __getitem__(self, index: int) -> dict[str, Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError
