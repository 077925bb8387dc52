"""On synthetic songs, the in-sync versions score better IRS, CBS and CBD than their desync versions.

Uses the ``synthetic`` dataset (issue 6) and the default ``librosa`` tracker: the whole chain a user runs.
"""

from __future__ import annotations

import numpy as np

from synctrack import get_registry
from synctrack.interfaces import BeatSet, Dataset
from synctrack.recipe import build

SONGS = 4
DESYNC = {"shift": 0.08, "jitter": 0.03}


def synthetic(**arguments) -> Dataset:
    """A few test-split songs, built as a recipe node builds them (``desync`` as a mapping)."""
    assert get_registry().get("dataset", "synthetic").plugin == "synctrack.plugins.datasets"
    node = {"type": "synthetic", "split": "test", "num_songs": SONGS, "clip_seconds": 10.24, "seed": 0, **arguments}
    return build(node, Dataset, get_registry())


def tracked(dataset: Dataset, tracker) -> BeatSet:
    songs, beats = [], []
    for index in range(len(dataset)):
        item = dataset[index]
        audio = np.asarray(item["audio"], dtype=np.float32)
        songs.append(str(item["meta"].get("song_id", index)))
        beats.append([tracker.track(track, dataset.sample_rate) for track in audio])
    duration = np.full(len(songs), audio.shape[-1] / dataset.sample_rate)
    return BeatSet(songs, list(dataset.track_names), beats, duration)


def test_in_sync_songs_score_better_than_their_desync_versions():
    registry = get_registry()
    tracker = registry.get("beat_tracker", "librosa").factory()
    in_sync, drifted = tracked(synthetic(), tracker), tracked(synthetic(desync=DESYNC), tracker)
    metric = {name: registry.get("metric", name).factory(bootstrap=0) for name in ("irs", "cbs", "cbd")}
    score = {name: (m.compute(in_sync)[0].value, m.compute(drifted)[0].value) for name, m in metric.items()}
    assert score["irs"][0] < score["irs"][1], score
    assert score["cbs"][0] > score["cbs"][1], score
    assert score["cbd"][0] < score["cbd"][1], score
