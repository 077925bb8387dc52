"""Beat extraction chooses worker processes only when the work pays for starting them, and gives the same beats
either way."""

from __future__ import annotations

import concurrent.futures
import time

import numpy as np
import pytest

from synctrack.eval import extract
from synctrack.eval.cache import BeatCache
from synctrack.eval.memory import MemoryTrack
from synctrack.interfaces import BeatTracker

RATE = 8000


class ClickTracker(BeatTracker):
    """Beats where the waveform is above half its peak (after ``seconds`` of pretend work per file)."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds

    def track(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        time.sleep(self.seconds)
        peaks = np.flatnonzero(waveform > 0.5 * waveform.max())
        return peaks / sample_rate

    def settings(self):
        return {"name": "clicks"}


def click_tracks(count: int) -> list[MemoryTrack]:
    tracks = []
    for k in range(count):
        waveform = np.zeros(RATE, np.float32)
        waveform[[100 + k, 4000 + 7 * k]] = 1.0
        tracks.append(MemoryTrack(f"track {k}", waveform, RATE))
    return tracks


@pytest.fixture
def pools(monkeypatch):
    """Counts the pools extract_beats starts; each one runs its files on threads of this process."""
    started = []

    def thread_pool(workers, mp_context=None, initializer=None):
        started.append(workers)
        return concurrent.futures.ThreadPoolExecutor(workers)

    monkeypatch.setattr(extract.futures, "ProcessPoolExecutor", thread_pool)
    return started


def expected(tracks: list[MemoryTrack]) -> dict[MemoryTrack, np.ndarray]:
    return {track: np.flatnonzero(track.waveform > 0.5) / RATE for track in tracks}


def test_a_quick_job_stays_in_this_process(pools):
    tracks = click_tracks(12)
    beats = extract.extract_beats(tracks, ClickTracker(), BeatCache(None, {}), workers=2)
    assert pools == []  # 12 instant files: starting two interpreters would cost more than it saves
    for track, times in expected(tracks).items():
        np.testing.assert_array_equal(beats[track], times)


def test_a_long_job_goes_to_the_workers(pools, monkeypatch):
    monkeypatch.setattr(extract, "WORKER_START_SECONDS", 0.05)
    tracks = click_tracks(12)  # two in this process (imports, then a timed file), ten to the workers
    beats = extract.extract_beats(tracks, ClickTracker(seconds=0.02), BeatCache(None, {}), workers=2)
    assert pools == [2]
    for track, times in expected(tracks).items():
        np.testing.assert_array_equal(beats[track], times)


@pytest.mark.parametrize(
    ("seconds_per_file", "files", "workers", "pays"),
    [
        (1.0, 20, 2, True),  # saves 10 s, costs 8
        (1.0, 16, 2, False),  # saves 8 s: a tie is not worth the processes
        (0.1, 200, 2, True),
        (0.05, 100, 4, False),  # saves 3.75 s
        (100.0, 1, 2, False),  # one file cannot be split
    ],
)
def test_the_pool_pays_when_it_saves_more_than_a_workers_start(seconds_per_file, files, workers, pays):
    assert extract.WORKER_START_SECONDS == 8.0
    assert extract._pool_pays(seconds_per_file, files, workers) is pays
