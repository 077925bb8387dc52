"""benchmarks/onset_structure.py on song folders written here: click tracks on one grid peak at lag 0 and keep
a pulse, the same tracks shifted apart peak elsewhere and keep it, clicks at random times keep none."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from commands import load_benchmark

RATE = 16000
HOP = 512  # 32 ms frames: the bench front end


@pytest.fixture(scope="module")
def script():
    return load_benchmark("onset_structure")


def click_track(onset_frames, seconds=5.12, seed=0) -> np.ndarray:
    """Short noise bursts starting on the given frames, over a faint noise floor."""
    rng = np.random.default_rng(seed)
    audio = 0.001 * rng.standard_normal(int(seconds * RATE))
    for frame in onset_frames:
        start = int(frame) * HOP
        audio[start:start + 800] += 0.5 * rng.standard_normal(len(audio[start:start + 800])) * np.exp(-np.arange(len(audio[start:start + 800])) / 200)
    return audio.astype(np.float32)


def write_set(folder: Path, tracks_of_song) -> Path:
    for index in range(3):
        song = folder / f"song_{index:03d}"
        song.mkdir(parents=True)
        for name, audio in zip(("bass", "drums", "guitar", "piano"), tracks_of_song(index)):
            sf.write(song / f"{name}.wav", audio, RATE)
        sf.write(song / "mix.wav", np.zeros(100, dtype=np.float32), RATE)  # left out: not a track
    return folder


def test_together_apart_and_unsteady_are_told_apart(script, tmp_path, capsys):
    grid = np.arange(2, 150, 15)  # a beat every 15 frames (0.48 s)
    together = write_set(tmp_path / "together", lambda i: [click_track(grid, seed=10 * i + k) for k in range(4)])
    apart = write_set(tmp_path / "apart", lambda i: [click_track(grid + 4 * k, seed=10 * i + k) for k in range(4)])
    rng = np.random.default_rng(0)
    unsteady = write_set(tmp_path / "unsteady", lambda i: [click_track(np.sort(rng.choice(150, 10, replace=False)),
                                                                       seed=10 * i + k) for k in range(4)])
    out = tmp_path / "out"
    assert script.main([f"together={together}", f"apart={apart}", f"unsteady={unsteady}", "--out", str(out)]) == 0
    with open(out / "onset-structure.csv") as handle:
        rows = {row["set"]: {k: float(v) for k, v in row.items() if k != "set"} for row in csv.DictReader(handle)}
    assert rows["together"]["songs"] == 3
    assert rows["together"]["lag0"] > 0.8 and rows["together"]["lag0"] > rows["together"]["off_beat"] + 0.8
    assert rows["apart"]["lag0"] < 0.2 < rows["apart"]["curve-4"]  # track k+1 is 4 frames after track k
    assert rows["together"]["periodicity"] > 0.8 and rows["apart"]["periodicity"] > 0.8
    assert rows["unsteady"]["periodicity"] < rows["together"]["periodicity"] - 0.3
    assert (out / "onset-structure.png").stat().st_size > 0 and "periodicity" in capsys.readouterr().out


def test_a_folder_without_songs_is_a_clear_error(script, tmp_path):
    with pytest.raises(SystemExit, match="holds no song_\\* folders"):
        script.main([f"empty={tmp_path}"])
