"""The library under the command line: train, sample and evaluate in memory.

    import synctrack

    run = synctrack.train("recipes/bench/synctrack.yaml", "runs/mine", overrides=["train.steps=300"])
    songs = synctrack.sample(run.out, num=8, seed=0)          # Songs: waveforms [8, S, L], track names, rate
    result = synctrack.evaluate(songs, metrics=["cbs", "cbd"], tracker="madmom")
    synctrack.write_songs(songs, "out/songs")                 # song_000/<track>.wav, mix.wav, mels.png

``synctrack train``, ``sample`` and ``eval``, the demo and the ablation runner all call these functions.
"""

from __future__ import annotations

import os
from pathlib import Path

from .evaluation import evaluate
from .loading import load_pipeline
from .sampling import UntrainedFrontEndWarning, load_model, sample, sample_batches
from .songs import Songs
from .training import TrainResult, train


def write_songs(songs: Songs, folder: str | os.PathLike) -> list[Path]:
    """Write every song of ``songs`` to ``folder/<name>/``: one WAV per track, ``mix.wav`` and ``mels.png``."""
    return songs.write(folder)


__all__ = [
    "Songs",
    "TrainResult",
    "UntrainedFrontEndWarning",
    "evaluate",
    "load_model",
    "load_pipeline",
    "sample",
    "sample_batches",
    "train",
    "write_songs",
]
