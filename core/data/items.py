"""The item every dataset returns, and how items become a batch.

An *item* is one clip of one song::

    {
        "audio": float32 tensor [S, L],        # one waveform per track slot, at the dataset's sample rate
        "instrument_ids": long tensor [S],     # indices into the dataset's vocabulary
        "track_mask": bool tensor [S],         # False where the slot holds no instrument (audio is silent)
        "meta": dict,                          # song_id, start (seconds into the song), and dataset extras
    }

:func:`collate_songs` stacks items into a :class:`SongBatch`: audio ``[B, S, L]`` plus a
:class:`~synctrack.tracks.TrackInfo` of ``[B, S]``. It is the ``collate_fn`` the trainer gives its DataLoader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..errors import UserError
from ..naming import listing
from ..tracks import TrackInfo

ITEM_KEYS = ("audio", "instrument_ids", "track_mask", "meta")


def track_slot_problem(tracks: Sequence[str]) -> str | None:
    """Why a list of track slots cannot be used (empty, or a name twice), to follow the key; None when it can.
    ``recipe validate`` reports it at ``data.tracks``; datasets refuse the same lists."""
    tracks = list(tracks)
    if not tracks:
        return "is empty: give at least one track slot, e.g. tracks: [bass, drums, guitar, piano]"
    repeated = sorted({name for name in tracks if tracks.count(name) > 1})
    if repeated:
        return f"must be unique, but {listing(repeated)} appear more than once in {tracks}"
    return None


def instrument_ids(tracks: Sequence[str], vocabulary: Sequence[str] | None) -> list[int]:
    """The vocabulary index of each track slot; ``vocabulary=None`` means the slots themselves.

    A slot missing from the vocabulary is a :class:`UserError` naming it and listing the vocabulary.
    """
    tracks = list(tracks)
    problem = track_slot_problem(tracks)
    if problem:
        raise UserError(f"tracks {problem}")
    vocabulary = tracks if vocabulary is None else list(vocabulary)
    missing = [name for name in tracks if name not in vocabulary]
    if missing:
        raise UserError(
            f"track(s) {listing(missing)} not in the vocabulary [{', '.join(vocabulary)}]; "
            "add them to vocabulary (the conditioner uses the same list) or remove them from tracks"
        )
    return [vocabulary.index(name) for name in tracks]


def make_item(
    audio: np.ndarray | torch.Tensor, ids: Sequence[int], mask: Sequence[bool], meta: Mapping[str, Any]
) -> dict[str, Any]:
    """An item from audio ``[S, L]``, instrument ids ``[S]``, track mask ``[S]`` and metadata.

    Masked slots are zeroed, so a missing track is silent whatever the caller passed.
    """
    if isinstance(audio, np.ndarray):
        audio = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    track_mask = torch.as_tensor(list(mask), dtype=torch.bool)
    if not bool(track_mask.all()):
        audio = audio.clone()
        audio[~track_mask] = 0.0
    item = {
        "audio": audio.to(torch.float32),
        "instrument_ids": torch.as_tensor(list(ids), dtype=torch.long),
        "track_mask": track_mask,
        "meta": dict(meta),
    }
    check_item(item)
    return item


def check_item(item: Mapping[str, Any]) -> None:
    """Raise ValueError when ``item`` breaks the contract above (a bug in the dataset, not user input)."""
    missing = [key for key in ITEM_KEYS if key not in item]
    if missing:
        raise ValueError(f"dataset item lacks {missing}; an item has {list(ITEM_KEYS)}")
    audio, ids, mask = item["audio"], item["instrument_ids"], item["track_mask"]
    if not isinstance(audio, torch.Tensor) or audio.dim() != 2 or audio.dtype != torch.float32:
        raise ValueError(f"item audio must be a float32 tensor [S, L], got {_describe(audio)}")
    slots = audio.shape[0]
    if not isinstance(ids, torch.Tensor) or ids.shape != (slots,) or ids.dtype != torch.long:
        raise ValueError(f"item instrument_ids must be a long tensor [{slots}], got {_describe(ids)}")
    if not isinstance(mask, torch.Tensor) or mask.shape != (slots,) or mask.dtype != torch.bool:
        raise ValueError(f"item track_mask must be a bool tensor [{slots}], got {_describe(mask)}")
    if not isinstance(item["meta"], dict):
        raise ValueError(f"item meta must be a dict, got {type(item['meta']).__name__}")


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"{value.dtype} tensor of shape {tuple(value.shape)}"
    return type(value).__name__


def mixdown(audio: torch.Tensor) -> torch.Tensor:
    """The mixture of tracks ``[..., S, L]`` -> ``[..., L]``: their sum clipped to [-1, 1] (Slakh's rule)."""
    return audio.sum(dim=-2).clamp(-1.0, 1.0)


@dataclass
class SongBatch:
    """A batch of clips.

    Attributes:
        audio: ``[B, S, L]`` float32 waveforms; masked slots are silent.
        tracks: :class:`TrackInfo` with instrument ids and mask ``[B, S]``.
        meta: one metadata dict per song.
    """

    audio: torch.Tensor
    tracks: TrackInfo
    meta: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mixture(self) -> torch.Tensor:
        """``[B, L]``: the sum of the tracks clipped to [-1, 1]."""
        return mixdown(self.audio)

    def __len__(self) -> int:
        return self.audio.shape[0]

    def to(self, device: torch.device | str) -> SongBatch:
        return SongBatch(self.audio.to(device), self.tracks.to(device), self.meta)

    def pin_memory(self) -> SongBatch:
        """Called by a DataLoader with ``pin_memory=True``."""
        tracks = TrackInfo(self.tracks.instrument_ids.pin_memory(), self.tracks.mask.pin_memory())
        return SongBatch(self.audio.pin_memory(), tracks, self.meta)


def collate_songs(items: Sequence[Mapping[str, Any]]) -> SongBatch:
    """Stack items into a :class:`SongBatch` (audio ``[B, S, L]``, TrackInfo ``[B, S]``).

    Every item must have the same length ``L``. Items with fewer slots than the widest one are padded with
    silent, masked slots (instrument id 0), so songs from datasets of different widths can share a batch.
    """
    if not items:
        raise ValueError("collate_songs needs at least one item")
    for item in items:
        check_item(item)
    lengths = {item["audio"].shape[1] for item in items}
    if len(lengths) > 1:
        raise ValueError(f"items differ in length {sorted(lengths)}: every clip of a batch needs the same number of samples")
    width = max(item["audio"].shape[0] for item in items)
    (length,) = lengths
    audio = torch.zeros(len(items), width, length, dtype=torch.float32)
    ids = torch.zeros(len(items), width, dtype=torch.long)
    mask = torch.zeros(len(items), width, dtype=torch.bool)
    for row, item in enumerate(items):
        slots = item["audio"].shape[0]
        audio[row, :slots] = item["audio"]
        ids[row, :slots] = item["instrument_ids"]
        mask[row, :slots] = item["track_mask"]
    return SongBatch(audio, TrackInfo(ids, mask), [dict(item["meta"]) for item in items])
