"""Interface of datasets: multi-track songs with their track identities."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from torch.utils.data import Dataset as TorchDataset

from .base import PartInterface


@dataclass
class DatasetSummary:
    """What ``synctrack data inspect`` shows.

    Attributes:
        songs: songs used; segments: items (clips); seconds: total duration of the songs used (of the
            clips, for a dataset that cannot tell).
        present: per track slot, the number of songs in which it has audio.
        dropped: songs left out by the preprocessing rules, by reason.
    """

    songs: int
    segments: int
    seconds: float
    present: dict[str, int]
    dropped: dict[str, int] = field(default_factory=dict)


class Dataset(PartInterface, TorchDataset):
    """The clips of one split. Each item is a dict (see ``synctrack.data.items``):

    - ``audio``: float32 ``[S, L]`` waveforms at ``sample_rate``, one per track slot, ``L`` samples of
      ``clip_seconds``; a masked slot is silent;
    - ``instrument_ids``: long ``[S]``, indices into ``vocabulary``;
    - ``track_mask``: bool ``[S]``, False for a slot with no instrument in this song;
    - ``meta``: a dict with at least ``song_id`` and ``start`` (seconds into the song), plus what the dataset
      knows (the synthetic world gives ground-truth ``beat_times``, ``downbeat_times``, ``tempo``, ``meter``
      and the per-track ``offsets`` applied by ``desync``).

    Every dataset factory takes ``tracks`` (the ``S`` slot names), ``vocabulary`` (names that instrument ids
    index; default: ``tracks``; the conditioner uses the same list), ``split`` (``train``, ``validation``,
    ``test``; the trainer builds its evaluation set by overriding it), ``sample_rate`` and ``clip_seconds``.
    ``synctrack.data.collate_songs`` stacks items into audio ``[B, S, L]`` and a ``TrackInfo``. The trainer
    calls ``set_epoch(epoch)`` at each epoch; datasets with random training crops draw new ones from it.
    """

    registry_kind: ClassVar[str] = "dataset"
    sample_rate: int
    track_names: list[str]
    vocabulary: list[str]

    def __getitem__(self, index: int) -> dict[str, Any]:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def set_epoch(self, epoch: int) -> None:
        """Called by the trainer at the start of each epoch; a no-op unless items depend on the epoch."""

    def summary(self) -> DatasetSummary:
        """Songs, clips, duration and present tracks. This default reads every item; datasets override it."""
        songs: set[str] = set()
        present: Counter[str] = Counter()
        seconds = 0.0
        for index in range(len(self)):
            item = self[index]
            song = str(item["meta"].get("song_id", index))
            seconds += item["audio"].shape[-1] / self.sample_rate
            if song not in songs:
                songs.add(song)
                present.update(name for name, here in zip(self.track_names, item["track_mask"].tolist()) if here)
        return DatasetSummary(
            songs=len(songs),
            segments=len(self),
            seconds=seconds,
            present={name: present[name] for name in self.track_names},
        )
