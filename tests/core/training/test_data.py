"""Batching for training: global batches that do not depend on the number of processes, resumption, splits."""

from __future__ import annotations

import pytest
import torch

from synctrack.data import collate_songs, make_item
from synctrack.training.data import SongStream, batch_size, split_batch, to_device


def item(index: int, tracks: int = 2, length: int = 3):
    return make_item(torch.full((tracks, length), float(index)), range(1, tracks + 1), [True] * tracks, {"song": index})


class Numbers(torch.utils.data.Dataset):
    def __init__(self):
        self.epochs = []

    def __len__(self):
        return 10

    def __getitem__(self, index):
        return item(index)

    def set_epoch(self, epoch):
        self.epochs.append(epoch)


def global_batches(world_size: int, steps: int, start: dict | None = None, first_step: int = 0):
    """For each step, {position in the global batch: (song index, noise seed)} gathered over all ranks."""
    dataset = Numbers()
    streams = [SongStream(dataset, collate_songs, 4, world_size, rank, seed=7) for rank in range(world_size)]
    if start:
        for stream in streams:
            stream.load_state(start)
    out = []
    for step in range(first_step, first_step + steps):
        gathered = {}
        for rank, stream in enumerate(streams):
            batch, seeds = stream.next(step)
            for j, (song, seed) in enumerate(zip(batch.audio[:, 0, 0].tolist(), seeds.tolist())):
                gathered[rank + world_size * j] = (int(song), seed)
        out.append(gathered)
    return out


def test_global_batches_and_noise_seeds_do_not_depend_on_the_world_size():
    reference = global_batches(1, steps=6)  # 10 songs, batches of 4: 2 per epoch, so 3 epochs
    for world_size in (2, 4):
        assert global_batches(world_size, steps=6) == reference
    songs_per_epoch = [[song for batch in reference[2 * e : 2 * e + 2] for song, _ in batch.values()] for e in range(3)]
    assert all(len(set(songs)) == 8 for songs in songs_per_epoch)  # no song twice within an epoch
    assert reference[0] != reference[2]  # each epoch is shuffled anew


def test_a_stream_resumes_mid_epoch_exactly():
    reference = global_batches(2, steps=5)
    assert global_batches(2, steps=2, start={"epoch": 1, "batch": 1}, first_step=3) == reference[3:5]


def test_the_dataset_hears_of_each_epoch():
    dataset = Numbers()
    stream = SongStream(dataset, collate_songs, 4, 1, 0, seed=0)
    for step in range(5):
        stream.next(step)
    assert dataset.epochs == [0, 1, 2]


def test_split_batch_makes_equal_micro_batches_of_song_batches_and_dicts():
    batch = collate_songs([item(i) for i in range(4)])
    parts = split_batch(batch, 2)
    assert [p.meta for p in parts] == [[{"song": 0}, {"song": 1}], [{"song": 2}, {"song": 3}]]
    assert torch.equal(parts[1].audio, batch.audio[2:]) and torch.equal(parts[1].tracks.mask, batch.tracks.mask[2:])
    as_dict = {"audio": batch.audio, "instrument_ids": batch.tracks.instrument_ids, "names": ["a", "b", "c", "d"]}
    assert [p["names"] for p in split_batch(as_dict, 4)] == [["a"], ["b"], ["c"], ["d"]]
    assert batch_size(as_dict) == 4 and batch_size(batch) == 4
    with pytest.raises(ValueError, match="does not split into 3"):
        split_batch(batch, 3)
    moved = to_device(batch, torch.device("cpu"))
    assert torch.equal(moved.audio, batch.audio) and moved.meta == batch.meta
