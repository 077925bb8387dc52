"""Batching: collation with padding, and global batches that do not depend on the number of processes."""

from __future__ import annotations

import pytest
import torch

from synctrack.training.data import SongStream, collate_songs, split_batch


def item(index: int, tracks: int = 2, length: int = 3):
    return {"audio": torch.full((tracks, length), float(index)), "instrument_ids": torch.arange(tracks) + 1,
            "track_mask": torch.ones(tracks, dtype=torch.bool), "meta": {"song": index}}


class Numbers(torch.utils.data.Dataset):
    def __len__(self):
        return 10

    def __getitem__(self, index):
        return item(index)


def test_collate_pads_songs_with_fewer_tracks_as_masked_slots():
    batch = collate_songs([item(1, tracks=3), item(2, tracks=1)])
    assert batch["audio"].shape == (2, 3, 3)
    assert batch["track_mask"].tolist() == [[True, True, True], [True, False, False]]
    assert batch["instrument_ids"].tolist() == [[1, 2, 3], [1, 0, 0]]
    assert torch.equal(batch["audio"][1, 1:], torch.zeros(2, 3)) and batch["meta"] == [{"song": 1}, {"song": 2}]
    with pytest.raises(ValueError, match="equal clip lengths, got \\[3, 5\\]"):
        collate_songs([item(1), item(2, length=5)])


def global_batches(world_size: int, steps: int, start: dict | None = None, first_step: int = 0):
    """For each step, {position in the global batch: (song index, noise seed)} gathered over all ranks."""
    streams = [SongStream(Numbers(), collate_songs, 4, world_size, rank, seed=7) for rank in range(world_size)]
    if start:
        for stream in streams:
            stream.load_state(start)
    out = []
    for step in range(first_step, first_step + steps):
        gathered = {}
        for rank, stream in enumerate(streams):
            batch = stream.next(step)
            for j, (song, seed) in enumerate(zip(batch["audio"][:, 0, 0].tolist(), batch["noise_seed"].tolist())):
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


def test_split_batch_makes_equal_micro_batches():
    batch = collate_songs([item(i) for i in range(4)])
    batch["noise_seed"] = torch.arange(4)
    parts = split_batch(batch, 2)
    assert [p["meta"] for p in parts] == [[{"song": 0}, {"song": 1}], [{"song": 2}, {"song": 3}]]
    assert torch.equal(parts[1]["audio"], batch["audio"][2:])
    with pytest.raises(ValueError, match="does not split into 3"):
        split_batch(batch, 3)
