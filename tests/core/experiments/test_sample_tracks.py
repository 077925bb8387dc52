"""`synctrack sample --tracks`: the same SyncTrack weights write any instruments of their vocabulary."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from synctrack.api.sampling import choose_tracks
from synctrack.errors import UserError
from synctrack.pipeline import build

from .conftest import TINY


REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tracks") / "run"
    argv = [sys.executable, "-m", "synctrack", "train", str(REPO / "recipes/bench/synctrack.yaml"), "--out", str(folder),
            *TINY, "train.steps=1"]
    result = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def test_two_of_the_four_trained_instruments(cli, run, tmp_path):
    result = cli("sample", str(run), "--tracks", "drums,bass", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert {p.name for p in (tmp_path / "out" / "song_000").glob("*.wav")} == {"drums.wav", "bass.wav", "mix.wav"}


def test_five_tracks_from_a_four_track_training(cli, run, tmp_path):
    result = cli("sample", str(run), "--tracks", "piano,guitar,bass,drums,bass", "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "'bass' twice" in result.stderr  # names are file names: each once
    wide = cli("sample", str(run), "--tracks", "piano,guitar,bass", "--given", "piano=missing.wav", "--out", str(tmp_path / "o2"))
    assert wide.returncode == 2 and "missing.wav" in wide.stderr  # --given takes the chosen names


def test_unknown_instruments_are_exit_2_naming_the_vocabulary(cli, run, tmp_path):
    result = cli("sample", str(run), "--tracks", "drums,kazoo", "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "'kazoo' not in the model's vocabulary: bass, drums, guitar, piano" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_a_model_without_an_instrument_vocabulary_is_refused(repo, tmp_path):
    msdm = build(repo / "recipes/baselines/msdm-tiny.yaml")
    msdm.layout.latent_shape = [1, 4096]
    with pytest.raises(UserError, match="no instrument vocabulary"):
        choose_tracks(msdm, ["bass", "drums"])
