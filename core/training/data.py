"""Batches for training: a resumable distributed sampler, per-song noise seeds, and micro-batches.

The data order is a pure function of (seed, epoch): every epoch shuffles with ``torch.randperm`` seeded from
them, as :class:`torch.utils.data.DistributedSampler` does, and rank ``r`` of ``W`` takes every ``W``-th index.
Global batch ``k`` of an epoch is therefore the same set of songs for any world size, each song keeping its
position ``p`` in it (rank ``r``'s ``j``-th song has ``p = r + W * j``); the trainer seeds each song's
diffusion noise from (seed, step, p). Resuming at (epoch, batch) skips the consumed indices without loading
them. Batches are whatever the collate function makes (``synctrack.data.collate_songs``: a ``SongBatch``);
the helpers below split and move dicts, lists, tensors and dataclasses alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from ..errors import UserError
from ..noise import derive_seed


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

    ``next(step)`` returns the collated batch and ``noise_seeds`` ``[b]`` (long): one seed per song from
    (seed, step, position in the global batch). The dataset's ``set_epoch(epoch)`` is called as each epoch
    starts (datasets with random crops draw them from it).
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
        set_epoch = getattr(self.dataset, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(self.epoch)
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

    def next(self, step: int) -> tuple[Any, torch.Tensor]:
        """This rank's songs of global batch ``step`` (the optimizer step the batch is for), and their seeds."""
        if self.batch >= self.batches_per_epoch:
            self.epoch, self.batch, self._iterator = self.epoch + 1, 0, None
        if self._iterator is None:
            self._open()
        batch = next(self._iterator)
        self.batch += 1
        positions = [self.rank + self.world_size * j for j in range(self.per_rank)]
        seeds = torch.tensor([derive_seed(self.seed, "noise", step, p) for p in positions], dtype=torch.long)
        return batch, seeds


def split_batch(batch: Any, parts: int) -> list[Any]:
    """Split a batch along songs into ``parts`` equal micro-batches.

    Tensors split on their first dimension, lists and tuples by slicing; dicts and dataclasses (``SongBatch``,
    ``TrackInfo``) are split field by field; anything else is shared by every part.
    """
    size = batch_size(batch)
    if size % parts:
        raise ValueError(f"a batch of {size} songs does not split into {parts} equal micro-batches")
    step = size // parts
    return [_slice(batch, i * step, (i + 1) * step) for i in range(parts)]


def batch_size(batch: Any) -> int:
    """The number of songs in a batch: the first dimension of its first tensor."""
    if isinstance(batch, torch.Tensor):
        return batch.shape[0]
    values = batch.values() if isinstance(batch, Mapping) else (
        [getattr(batch, f.name) for f in dataclasses.fields(batch)] if dataclasses.is_dataclass(batch) else batch
    )
    for value in values:
        if isinstance(value, (torch.Tensor, Mapping)) or dataclasses.is_dataclass(value):
            return batch_size(value)
    raise ValueError(f"cannot tell the number of songs in a batch of type {type(batch).__name__}")


def _slice(value: Any, start: int, stop: int) -> Any:
    if isinstance(value, torch.Tensor):
        return value[start:stop]
    if isinstance(value, Mapping):
        return {key: _slice(item, start, stop) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return value[start:stop]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _slice(getattr(value, f.name), start, stop) for f in dataclasses.fields(value) if f.init}
        return type(value)(**fields)
    return value


def to_device(value: Any, device: torch.device) -> Any:
    """Move every tensor of a batch to ``device`` (objects with a ``to`` method move themselves)."""
    if isinstance(value, torch.Tensor):
        return value.to(device, non_blocking=True)
    if isinstance(value, Mapping):
        return {key: to_device(item, device) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_device(item, device) for item in value)
    if callable(getattr(value, "to", None)):
        return value.to(device)
    return value
