"""Batches for training: collation, a resumable distributed sampler, and micro-batches.

The data order is a pure function of (seed, epoch): every epoch shuffles with ``torch.randperm`` seeded from
them, as :class:`torch.utils.data.DistributedSampler` does, and rank ``r`` of ``W`` takes every ``W``-th index.
Global batch ``k`` of an epoch is therefore the same set of songs for any world size, each song keeping its
position ``p`` in it (rank ``r``'s ``j``-th song has ``p = r + W * j``); the trainer seeds each song's
diffusion noise from (seed, step, p). Resuming at (epoch, batch) skips the consumed indices without loading
them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..errors import UserError
from ..noise import derive_seed


def collate_songs(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stack dataset items into a batch.

    ``audio`` ``[S, L]`` -> ``[B, S_max, L]`` (songs with fewer tracks are padded with silent, masked
    slots); ``instrument_ids`` -> ``[B, S_max]`` (padding 0); ``track_mask`` -> ``[B, S_max]`` (padding
    False); ``meta`` -> a list of dicts; any other tensor key is stacked as is. Clips must share ``L``.

    A minimal stand-in until ``synctrack.data.collate_songs`` lands; the trainer takes any collate function.
    """
    if not items:
        raise ValueError("cannot collate an empty list of songs")
    lengths = {item["audio"].shape[-1] for item in items}
    if len(lengths) > 1:
        raise ValueError(f"songs in a batch must have equal clip lengths, got {sorted(lengths)} samples")
    tracks = max(item["audio"].shape[0] for item in items)
    length = lengths.pop()
    audio = torch.zeros(len(items), tracks, length, dtype=items[0]["audio"].dtype)
    ids = torch.zeros(len(items), tracks, dtype=torch.long)
    mask = torch.zeros(len(items), tracks, dtype=torch.bool)
    for b, item in enumerate(items):
        count = item["audio"].shape[0]
        audio[b, :count] = torch.as_tensor(item["audio"])
        ids[b, :count] = torch.as_tensor(item["instrument_ids"])
        mask[b, :count] = torch.as_tensor(item["track_mask"])
    batch: dict[str, Any] = {"audio": audio, "instrument_ids": ids, "track_mask": mask, "meta": [item.get("meta", {}) for item in items]}
    for key in items[0]:
        if key not in batch and isinstance(items[0][key], torch.Tensor):
            batch[key] = torch.stack([item[key] for item in items])
    return batch


class ResumableDistributedSampler(DistributedSampler):
    """DistributedSampler (shuffled, tail dropped) that can start part-way into an epoch."""

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, seed: int) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=True)
        self.skip = 0

    def set_position(self, epoch: int, skip: int) -> None:
        """Start at ``epoch``, leaving out this rank's first ``skip`` indices."""
        self.set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        return iter(list(super().__iter__())[self.skip :])

    def __len__(self) -> int:
        return max(super().__len__() - self.skip, 0)


class SongStream:
    """An endless stream of this rank's share of each global batch, with its position for resuming.

    ``next()`` returns the batch with ``noise_seed`` ``[b]`` (long) added: one seed per song from
    (seed, step, position in the global batch).
    """

    def __init__(
        self,
        dataset: Dataset,
        collate: Callable[[list[Any]], dict[str, Any]],
        global_batch: int,
        world_size: int,
        rank: int,
        seed: int,
        num_workers: int = 0,
    ) -> None:
        self.dataset = dataset
        self.collate = collate
        self.world_size, self.rank, self.seed = world_size, rank, seed
        self.per_rank = global_batch // world_size
        self.num_workers = num_workers
        self.batches_per_epoch = len(dataset) // global_batch
        if self.batches_per_epoch == 0:
            raise UserError(
                f"the dataset has {len(dataset)} songs, fewer than train.batch_size = {global_batch}; "
                "lower train.batch_size or use more data"
            )
        self.epoch, self.batch = 0, 0
        self._iterator: Iterator[dict[str, Any]] | None = None

    def state(self) -> dict[str, int]:
        return {"epoch": self.epoch, "batch": self.batch}

    def load_state(self, state: Mapping[str, int]) -> None:
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])
        self._iterator = None

    def _open(self) -> None:
        sampler = ResumableDistributedSampler(self.dataset, self.world_size, self.rank, self.seed)
        sampler.set_position(self.epoch, self.batch * self.per_rank)
        loader = DataLoader(
            self.dataset,
            batch_size=self.per_rank,
            sampler=sampler,
            collate_fn=self.collate,
            num_workers=self.num_workers,
            drop_last=True,
            # worker seeds from (seed, epoch), not from the global RNG, so resuming does not shift them
            generator=torch.Generator().manual_seed(derive_seed(self.seed, "workers", self.epoch)),
        )
        self._iterator = iter(loader)

    def next(self, step: int) -> dict[str, Any]:
        """This rank's songs of global batch ``step`` (the optimizer step the batch is for)."""
        if self.batch >= self.batches_per_epoch:
            self.epoch, self.batch, self._iterator = self.epoch + 1, 0, None
        if self._iterator is None:
            self._open()
        batch = next(self._iterator)
        self.batch += 1
        positions = [self.rank + self.world_size * j for j in range(self.per_rank)]
        batch["noise_seed"] = torch.tensor([derive_seed(self.seed, "noise", step, p) for p in positions], dtype=torch.long)
        return batch


def split_batch(batch: Mapping[str, Any], parts: int) -> list[dict[str, Any]]:
    """Split a batch along songs into ``parts`` equal micro-batches (tensors and lists alike)."""
    size = len(batch["noise_seed"])
    if size % parts:
        raise ValueError(f"a batch of {size} songs does not split into {parts} equal micro-batches")
    step = size // parts
    return [{key: value[i * step : (i + 1) * step] for key, value in batch.items()} for i in range(parts)]


def to_device(value: Any, device: torch.device) -> Any:
    """Move every tensor inside dicts, lists and tuples to ``device``."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, Mapping):
        return {key: to_device(item, device) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(item, device) for item in value)
    return value
