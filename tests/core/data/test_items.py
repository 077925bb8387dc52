"""The item contract and batching: shapes, masks, padding, the mixture, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from synctrack.data import SongBatch, check_item, collate_songs, instrument_ids, make_item, mixdown
from synctrack.errors import UserError
from synctrack.interfaces import Dataset
from synctrack.tracks import TrackInfo


def item(slots: int, length: int = 16, mask=None, ids=None, song="s") -> dict:
    audio = torch.arange(slots * length, dtype=torch.float32).reshape(slots, length) / (slots * length)
    return make_item(audio, ids if ids is not None else list(range(slots)), mask if mask is not None else [True] * slots, {"song_id": song})


def test_make_item_silences_masked_slots_and_types_everything():
    made = make_item(np.ones((3, 8), dtype=np.float64), [4, 0, 2], [True, False, True], {"song_id": "a", "start": 1.5})
    assert made["audio"].dtype == torch.float32 and made["audio"].shape == (3, 8)
    assert made["audio"][1].abs().sum() == 0 and made["audio"][0].sum() == 8
    assert made["instrument_ids"].dtype == torch.long and made["instrument_ids"].tolist() == [4, 0, 2]
    assert made["track_mask"].tolist() == [True, False, True]
    assert made["meta"] == {"song_id": "a", "start": 1.5}


def test_check_item_names_what_is_wrong():
    good = item(2)
    with pytest.raises(ValueError, match=r"lacks \['meta'\]"):
        check_item({k: v for k, v in good.items() if k != "meta"})
    with pytest.raises(ValueError, match=r"instrument_ids must be a long tensor \[2\]"):
        check_item({**good, "instrument_ids": torch.zeros(3, dtype=torch.long)})
    with pytest.raises(ValueError, match=r"audio must be a float32 tensor \[S, L\]"):
        check_item({**good, "audio": good["audio"].double()})
    with pytest.raises(ValueError, match=r"track_mask must be a bool tensor"):
        check_item({**good, "track_mask": torch.ones(2)})


def test_collate_stacks_audio_and_track_info():
    items = [item(3, song="a"), item(3, mask=[True, False, True], ids=[5, 6, 7], song="b")]
    batch = collate_songs(items)
    assert isinstance(batch, SongBatch) and isinstance(batch.tracks, TrackInfo)
    assert batch.audio.shape == (2, 3, 16) and len(batch) == 2
    assert torch.equal(batch.audio[0], items[0]["audio"]) and torch.equal(batch.audio[1], items[1]["audio"])
    assert batch.tracks.instrument_ids.tolist() == [[0, 1, 2], [5, 6, 7]]
    assert batch.tracks.mask.tolist() == [[True, True, True], [True, False, True]]
    assert [meta["song_id"] for meta in batch.meta] == ["a", "b"]


def test_collate_pads_narrower_songs_with_masked_silent_slots():
    batch = collate_songs([item(2), item(4)])
    assert batch.audio.shape == (2, 4, 16)
    assert batch.tracks.mask[0].tolist() == [True, True, False, False]
    assert batch.audio[0, 2:].abs().sum() == 0


def test_collate_refuses_clips_of_different_lengths():
    with pytest.raises(ValueError, match=r"items differ in length \[8, 16\]"):
        collate_songs([item(2, 16), item(2, 8)])


def test_the_mixture_is_the_clipped_sum():
    audio = torch.tensor([[[0.7, -0.7, 0.2], [0.6, -0.6, 0.1]]])  # [B=1, S=2, L=3]
    batch = SongBatch(audio, TrackInfo.full([0, 1]))
    assert torch.allclose(batch.mixture, torch.tensor([[1.0, -1.0, 0.3]]))
    assert torch.allclose(mixdown(audio[0]), torch.tensor([1.0, -1.0, 0.3]))


def test_instrument_ids_index_the_vocabulary():
    assert instrument_ids(["drums", "bass"], None) == [0, 1]
    assert instrument_ids(["drums", "bass"], ["bass", "piano", "drums"]) == [2, 0]
    with pytest.raises(UserError, match=r"track\(s\) organ not in the vocabulary \[bass, drums\]"):
        instrument_ids(["bass", "organ"], ["bass", "drums"])
    with pytest.raises(UserError, match="bass appear more than once"):
        instrument_ids(["bass", "bass"], None)
    with pytest.raises(UserError, match="tracks is empty"):
        instrument_ids([], None)


class ListDataset(Dataset):
    """A dataset over a list of items, to exercise the interface's default summary."""

    def __init__(self, items):
        self.items, self.sample_rate, self.track_names = items, 8, ["a", "b"]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]


def test_the_default_summary_counts_songs_clips_and_present_tracks():
    items = [item(2, song="x"), item(2, song="x"), item(2, mask=[False, True], song="y")]
    summary = ListDataset(items).summary()
    assert (summary.songs, summary.segments, summary.seconds) == (2, 3, 6.0)
    assert summary.present == {"a": 1, "b": 2}
