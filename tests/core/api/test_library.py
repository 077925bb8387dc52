"""The library under the CLI: train -> sample -> evaluate in memory, and what each promises.

One tiny run (two steps of the bench recipe at toy size) is shared by the module; every test samples from it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

import synctrack
from synctrack.api import Songs
from synctrack.errors import UserError

REPO = Path(__file__).resolve().parents[3]
TINY = ["data.clip_seconds=1.28", "train.batch_size=2", "train.checkpoint_every=1", "train.log_every=1",
        "model.denoiser.head_dim=8", "model.sampler.steps=3", "train.steps=2"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("library") / "run"
    return synctrack.train(REPO / "recipes/bench/synctrack.yaml", out, overrides=TINY, progress=False)


def test_train_returns_what_it_did(run):
    assert run.step == 2 and run.signal is None and run.exit_code == 0 and run.resumed_at is None
    assert run.checkpoint.name == "step_00000002" and run.checkpoint.is_dir()
    with pytest.raises(UserError, match="already holds checkpoints"):  # the CLI's protection, in the library
        synctrack.train(REPO / "recipes/bench/synctrack.yaml", run.out, overrides=TINY, progress=False)


def test_resume_reports_the_step_and_the_changed_settings(run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(run.out, copy)
    seen = []
    resumed = synctrack.train(REPO / "recipes/bench/synctrack.yaml", copy, overrides=[*TINY[:-1], "train.steps=3"],
                              resume=True, progress=False, on_resume=lambda out, step, changes: seen.append((step, changes)))
    assert resumed.resumed_at == 2 and resumed.step == 3
    assert seen == [(2, {"train.steps": [2, 3]})]


def test_sampling_in_memory_matches_the_command_line_file_for_file(run, tmp_path):
    """``synctrack sample`` is the library plus writing: its WAVs hold the library's songs, rounded to 16 bits."""
    songs = synctrack.sample(run.out, num=3, seed=4, batch_size=2)
    result = subprocess.run([sys.executable, "-m", "synctrack", "sample", str(run.out), "--num", "3", "--seed", "4",
                             "--batch-size", "2", "--out", str(tmp_path / "cli")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "cli" / "sampling.json").read_text())
    assert record["command"].startswith("synctrack sample ") and "--seed 4" in record["command"]
    assert "bench-synctrack" in record["recipe"] and (tmp_path / "cli" / "index.html").is_file()
    for index, name in enumerate(songs.names):
        for slot, track in enumerate(songs.track_names):
            written, rate = soundfile.read(tmp_path / "cli" / name / f"{track}.wav", dtype="float32")
            assert rate == songs.sample_rate
            expected = np.clip(songs.waveforms[index, slot].numpy(), -1, 1)
            assert np.abs(written - expected).max() <= 1.0 / 32767 + 1e-7


def test_the_same_seed_and_batch_size_give_the_same_songs(run):
    first = synctrack.sample(run.out, num=2, seed=7)
    again = synctrack.sample(run.out, num=2, seed=7)
    other = synctrack.sample(run.out, num=2, seed=8)
    assert torch.equal(first.waveforms, again.waveforms)
    assert not torch.equal(first.waveforms, other.waveforms)
    assert first.mels is not None and first.mels.shape[:2] == (2, 4)


def test_batches_continue_the_song_names_and_report_progress(run):
    advanced = []
    songs = synctrack.sample(run.out, num=5, seed=0, batch_size=2, progress=advanced.append)
    assert advanced == [2, 2, 1] and songs.names == [f"song_{i:03d}" for i in range(5)] and len(songs.peaks) == 5


def test_evaluating_songs_in_memory_equals_evaluating_the_folder_they_write(run, tmp_path):
    songs = synctrack.sample(run.out, num=3, seed=1)
    metrics = ["irs", "cbs", "cbd", "track_correlation"]
    in_memory = synctrack.evaluate(songs, metrics=metrics, cache=False)
    synctrack.write_songs(songs, tmp_path / "songs")
    from_disk = synctrack.evaluate(tmp_path / "songs", metrics=metrics, cache=False)
    memory_rows = [(s, v.metric, v.track, v.value, v.ci_low, v.ci_high) for s, v in in_memory.rows()]
    disk_rows = [(s, v.metric, v.track, v.value, v.ci_low, v.ci_high) for s, v in from_disk.rows()]
    assert memory_rows == disk_rows and len(memory_rows) > 4
    assert in_memory.layouts == {"generated": "memory"} and "in memory" in in_memory.generated


def test_a_given_track_comes_back_unchanged_and_the_others_are_generated(run):
    drums = torch.linspace(-0.5, 0.5, 1000)  # shorter than the clip: zero-padded
    songs = synctrack.sample(run.out, num=2, seed=0, given={"drums": drums})
    expected = torch.nn.functional.pad(drums, (0, songs.waveforms.shape[-1] - 1000))
    assert torch.equal(songs.track("drums")[0], expected) and torch.equal(songs.track("drums")[1], expected)
    assert songs.track("bass").abs().sum() > 0


def test_chosen_tracks_come_from_the_vocabulary(run):
    songs = synctrack.sample(run.out, num=1, tracks=["piano", "drums"])
    assert songs.track_names == ["piano", "drums"] and songs.waveforms.shape[1] == 2


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"tracks": ["drums", "kazoo"]}, "'kazoo' not in the model's vocabulary: bass, drums, guitar, piano"),
        ({"tracks": []}, "tracks is empty"),
        ({"given": {"flute": torch.zeros(10)}}, "this model has no track 'flute'; its tracks: bass, drums, guitar, piano"),
        ({"given": {"drums": torch.zeros(2, 10)}}, "expected a mono waveform"),
        ({"mixture": torch.zeros(100)}, "this model cannot use a mixture"),
        ({"guidance": 2.0}, "guidance applies to conditional models"),
        ({"mixture_track": "bass"}, "mixture_track needs a mixture"),
        ({"sampler": "ddim", "overrides": ["model.sampler.steps"]}, "bad override"),
    ],
)
def test_bad_requests_say_what_to_fix(run, options, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        synctrack.sample(run.out, num=1, **options)


def test_a_pipeline_is_sampled_as_it_is(run):
    pipeline = synctrack.load_model(run.out)
    assert torch.equal(synctrack.sample(pipeline, num=1, seed=3).waveforms, synctrack.sample(run.out, num=1, seed=3).waveforms)
    with pytest.raises(UserError, match="change a stored recipe"):
        synctrack.sample(pipeline, num=1, sampler="ddpm")


def test_nan_songs_are_refused_by_evaluate():
    waveforms = torch.zeros(2, 2, 1600)
    waveforms[1, 0, 5] = float("nan")
    with pytest.raises(UserError, match="song_001 holds NaN"):
        synctrack.evaluate(Songs(waveforms, ["a", "b"], 16000), metrics=["cbs"])


def test_songs_check_their_shape_slice_and_read_back(tmp_path):
    with pytest.raises(ValueError, match=r"must be \[N, S, L\] with S = 3"):
        Songs(torch.zeros(2, 2, 10), ["a", "b", "c"], 16000)
    with pytest.raises(ValueError, match="not 'mix'"):
        Songs(torch.zeros(1, 2, 10), ["a", "mix"], 16000)
    waveforms = torch.rand(3, 2, 1600) * 0.4 - 0.2
    songs = Songs(waveforms, ["bass", "drums"], 16000)
    assert songs[1:].names == ["song_001", "song_002"] and torch.equal(songs[[2]].waveforms, waveforms[[2]])
    assert torch.allclose(songs.mix, waveforms.sum(dim=1).clamp(-1, 1))
    assert torch.equal(Songs.concatenate([songs[:1], songs[1:]]).waveforms, waveforms)
    songs.write(tmp_path / "out")
    back = Songs.read(tmp_path / "out")
    assert back.names == songs.names and back.track_names == ["bass", "drums"] and back.sample_rate == 16000
    assert (back.waveforms - waveforms).abs().max() <= 1.0 / 32767 + 1e-7


def test_the_notebook_example_in_the_architecture_docs_runs(tmp_path):
    """docs/architecture.md's library example, run as a reader would (from a folder holding the recipes)."""
    text = (REPO / "docs" / "architecture.md").read_text()
    script = text.split("<!-- test: library -->\n```python\n")[1].split("```")[0]
    os.symlink(REPO / "recipes", tmp_path / "recipes")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "SYNCTRACK_CACHE": str(tmp_path / "cache")}, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "torch.Size([3, 4, 20480]) ['bass', 'drums', 'guitar', 'piano'] 16000" in result.stdout
    assert "CBS " in result.stdout and (tmp_path / "runs/notebook-songs/song_002/mix.wav").is_file()
