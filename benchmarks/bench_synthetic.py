"""How fast the synthetic world renders clips (the issue's target: >= 20 four-track 10.24 s clips/s, one core).

Run: ``.venv/bin/python -m pytest benchmarks/bench_synthetic.py --benchmark-only -p no:randomly``
Each benchmark renders new songs (no item is rendered twice); ``warm`` runs after the tone cache holds
every pitch of the instruments, ``cold`` starts from an empty cache (the first songs a process renders).
The rate in clips per second is stored in ``extra_info`` and printed.

With ``--benchmark-disable`` (the smoke run of tests/test_benchmarks_smoke.py, ``SYNCTRACK_BENCH_SIZE=smoke``)
each case renders a few 1 s clips once and checks them; there is no timing, so no rate is reported.
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
import torch

from synctrack.plugins.datasets.synthetic import INSTRUMENTS, SyntheticDataset
from synctrack.plugins.datasets.synthetic.instruments import TONES, ToneCache

PAPER = ["bass", "drums", "guitar", "piano"]
SMOKE = os.environ.get("SYNCTRACK_BENCH_SIZE", "full") == "smoke"
CLIP_SECONDS = 1.0 if SMOKE else 10.24
WARM_UP_SONGS = 2 if SMOKE else 80  # 80 fill the tone cache (every key and register has been rendered by then)


@pytest.fixture(autouse=True)
def one_core():
    """Rendering is numpy on one thread; keep torch (item tensors) and BLAS there too."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn/librosa
        yield
    else:
        with threadpool_limits(1):
            yield
    torch.set_num_threads(threads)


def render(dataset: SyntheticDataset, index: int) -> dict:
    """Item ``index``, checked: ``[S, L]`` finite audio, not all silent."""
    item = dataset[index]
    audio = np.asarray(item["audio"])
    assert audio.shape == (len(dataset.track_names), dataset.clip), audio.shape
    assert np.isfinite(audio).all() and np.abs(audio).max() > 0
    return item


def rate(benchmark, name: str) -> None:
    """Record and print clips per second; nothing when timing is off (``--benchmark-disable`` leaves no stats)."""
    if benchmark.stats is None:
        return
    clips_per_second = 1.0 / benchmark.stats.stats.mean
    benchmark.extra_info["clips_per_second"] = round(clips_per_second, 1)
    print(f"\n{name}: {clips_per_second:.1f} clips/s")


@pytest.mark.parametrize("tracks", [PAPER, list(INSTRUMENTS)], ids=["4-tracks", "16-tracks"])
def test_warm_clips_per_second(benchmark, tracks):
    dataset = SyntheticDataset(tracks=tracks, num_songs=100_000, sample_rate=16000, clip_seconds=CLIP_SECONDS)
    for index in range(WARM_UP_SONGS):
        render(dataset, index)
    songs = itertools.count(WARM_UP_SONGS)
    benchmark.pedantic(lambda: render(dataset, next(songs)), rounds=60, iterations=1)
    rate(benchmark, f"{len(tracks)} tracks, warm cache")


def test_cold_clips_per_second(benchmark, monkeypatch):
    """The first songs of a fresh process: every note's tone is synthesised on first use."""
    dataset = SyntheticDataset(tracks=PAPER, num_songs=100_000, sample_rate=16000, clip_seconds=CLIP_SECONDS, seed=99)
    songs = itertools.count()

    def fresh_cache():
        monkeypatch.setattr(TONES, "_tones", ToneCache()._tones)
        monkeypatch.setattr(TONES, "_bytes", 0)
        return (), {}

    benchmark.pedantic(lambda: render(dataset, next(songs)), setup=fresh_cache, rounds=8, iterations=1)
    rate(benchmark, "4 tracks, empty cache")
