"""``synctrack train`` and ``synctrack sample``: what they write, and user errors as exit code 2."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from synctrack.cli import main

HERE = Path(__file__).parent


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def trained(toy_recipe, tmp_path, capsys):
    """A toy model trained for 4 steps into tmp_path/run, encoding audio with the toy frame encoder."""
    recipe = toy_recipe(steps=4, checkpoint_every=2, extra="  sample_every: 4\n")
    text = recipe.read_text().replace("  denoiser: {type: toy_mlp, features: 16}",
                                      "  encoder: toy_frames\n  denoiser: {type: toy_mlp, features: 16}")
    recipe.write_text(text)
    code, out, err = run(capsys, "train", recipe, "--out", tmp_path / "run", "--no-progress")
    assert code == 0, err
    assert "done: step 4" in out
    return tmp_path / "run"


def test_train_writes_checkpoints_logs_samples_and_the_resolved_recipe(trained):
    assert sorted(p.name for p in (trained / "checkpoints").iterdir()) == ["latest", "step_00000002", "step_00000004"]
    assert "toy_frames" in (trained / "recipe.yaml").read_text()
    assert "toy_frames" in (trained / "checkpoints" / "step_00000004" / "recipe.yaml").read_text()
    song = trained / "samples" / "step_00000004" / "song_000"
    assert {p.name for p in song.iterdir()} == {"bass.wav", "drums.wav", "mix.wav", "mels.png"}
    assert len((trained / "log.jsonl").read_text().splitlines()) >= 4


def test_sample_writes_tracks_mix_and_mels_per_song(trained, tmp_path, capsys):
    code, out, err = run(capsys, "sample", trained, "--num", 3, "--steps", 3, "--out", tmp_path / "gen", "--seed", 5)
    assert code == 0, err
    for index in range(3):
        song = tmp_path / "gen" / f"song_{index:03d}"
        assert {p.name for p in song.iterdir()} == {"bass.wav", "drums.wav", "mix.wav", "mels.png"}
        tracks = [soundfile.read(song / f"{name}.wav")[0] for name in ("bass", "drums")]
        assert all(t.shape == (16,) for t in tracks)
        mix = soundfile.read(song / "mix.wav")[0]
        unclipped = (np.abs(tracks[0]) < 0.999) & (np.abs(tracks[1]) < 0.999)  # files clip each track at +-1
        assert unclipped.sum() > 4
        assert np.allclose(mix[unclipped], np.clip(tracks[0] + tracks[1], -1, 1)[unclipped], atol=2 / 32768)
    assert "wrote 3 song(s)" in out
    # the same seed gives the same songs
    run(capsys, "sample", trained, "--num", 3, "--steps", 3, "--out", tmp_path / "again", "--seed", 5)
    for index in range(3):
        for name in ("bass", "drums"):
            first = soundfile.read(tmp_path / "gen" / f"song_{index:03d}" / f"{name}.wav")[0]
            assert np.array_equal(first, soundfile.read(tmp_path / "again" / f"song_{index:03d}" / f"{name}.wav")[0])


def test_sample_shows_a_progress_bar_unless_told_not_to(trained, tmp_path, capsys):
    code, _, err = run(capsys, "sample", trained, "--num", 2, "--steps", 2, "--out", tmp_path / "shown")
    assert code == 0 and "sample" in err and "2/2" in err
    code, out, err = run(capsys, "sample", trained, "--num", 2, "--steps", 2, "--out", tmp_path / "quiet", "--no-progress")
    assert code == 0 and "2/2" not in err and "wrote 2 song(s)" in out


def test_sample_keeps_a_given_track_exactly(trained, tmp_path, capsys):
    given = (0.4 * np.sin(np.arange(40) / 3.0)).astype(np.float32)  # longer than a clip: cut to 16 samples
    soundfile.write(tmp_path / "drums.wav", given, 8000, subtype="PCM_16")
    code, _, err = run(capsys, "sample", trained, "--num", 2, "--steps", 3, "--sampler", "ddpm", "--out", tmp_path / "gen",
                       "--given", f"drums={tmp_path / 'drums.wav'}")
    assert code == 0, err
    assert "note: --given drums=" in err and "0.01 s cut to the clip's 0.00 s" in " ".join(err.split())
    expected = soundfile.read(tmp_path / "drums.wav")[0][:16]
    for index in range(2):
        assert np.array_equal(soundfile.read(tmp_path / "gen" / f"song_{index:03d}" / "drums.wav")[0], expected)


def test_songs_past_full_scale_are_named_and_normalize_scales_them_down(trained, tmp_path, capsys):
    loud = np.full(16, 0.999, np.float32)  # a given track at full scale: any generated sound pushes the mix past it
    soundfile.write(tmp_path / "drums.wav", loud, 8000, subtype="FLOAT")
    common = ["sample", trained, "--num", 2, "--steps", 3, "--sampler", "ddpm", "--given", f"drums={tmp_path / 'drums.wav'}"]
    code, _, err = run(capsys, *common, "--out", tmp_path / "clipped")
    flat = " ".join(err.split())
    assert code == 0, err
    assert "2 of 2 song(s) peak past full scale and are clipped in their WAVs" in flat and "--normalize" in flat
    code, _, err = run(capsys, *common, "--out", tmp_path / "scaled", "--normalize")
    assert code == 0, err
    assert "2 of 2 song(s) peaked past full scale and were scaled down to 0.99" in " ".join(err.split())
    for index in range(2):
        song = tmp_path / "scaled" / f"song_{index:03d}"
        tracks = [soundfile.read(song / f"{name}.wav")[0] for name in ("bass", "drums")]
        mix = soundfile.read(song / "mix.wav")[0]
        assert np.abs(mix).max() <= 0.99 + 1e-4 and np.allclose(mix, tracks[0] + tracks[1], atol=3 / 32768)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (["--given", "flute=x.wav"], "this model has no track 'flute'; its tracks: bass, drums"),
        (["--given", "drums"], "expected TRACK=FILE.wav"),
        (["--given", "drums=missing.wav"], "missing.wav: audio file not found"),
        (["--given", "drums=."], ". is a folder, not an audio file: give one WAV/FLAC/OGG file"),
        (["--sampler", "edm_heun"], "sampler 'edm_heun' works with 'sigma' diffusions"),
        (["--sampler", "ddmi"], "recipe.yaml: model.sampler.type: 'ddmi' is not in the sampler registry"),
        (["model.denoiser.hidden=8"], "do not fit the model its recipe builds"),
        (["--steps", "500"], "steps must be in 1 .. 100 (the diffusion's timesteps), got 500"),
        (["model.sampler.eta=-1"], "eta must be >= 0, got -1"),
        (["--mixer-guidance", "2"], "mixer guidance 2 needs cross-track mixers, and this denoiser has none"),
        (["model.denoiser.nan_after_calls=1"], "the model produced NaN or infinite audio (songs 0 .. 0)"),
    ],
)
def test_sample_user_errors_exit_2(trained, tmp_path, capsys, arguments, fragment):
    code, out, err = run(capsys, "sample", trained, "--out", tmp_path / "gen", *arguments)
    assert code == 2
    assert fragment in err and "Traceback" not in out + err


def test_sample_refuses_missing_and_damaged_checkpoints(trained, tmp_path, capsys):
    code, _, err = run(capsys, "sample", tmp_path / "nowhere", "--out", tmp_path / "gen")
    assert code == 2 and "checkpoint not found" in err
    weights = trained / "checkpoints" / "step_00000004" / "ema.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    code, _, err = run(capsys, "sample", trained, "--out", tmp_path / "gen")
    assert code == 2 and "ema.safetensors is damaged or truncated" in err


def test_train_resume_errors_exit_2(trained, toy_recipe, tmp_path, capsys):
    recipe = trained / "recipe.yaml"
    code, _, err = run(capsys, "train", recipe, "--out", trained)
    assert code == 2 and "already holds checkpoints (latest: step_00000004): pass --resume" in err
    code, _, err = run(capsys, "train", recipe, "--out", tmp_path / "fresh", "--resume")
    assert code == 2 and "nothing to resume" in err
    code, _, err = run(capsys, "train", recipe, "--out", trained, "--resume", "train.steps=6")
    assert code == 0, err
    assert (trained / "checkpoints" / "step_00000006").is_dir()


def test_resume_refuses_a_trainer_state_that_would_run_code(trained, tmp_path, capsys):
    class RunsCode:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'code-ran'}",))

    torch.save({"version": 1, "evil": RunsCode()}, trained / "checkpoints" / "step_00000004" / "trainer.pt")
    code, out, err = run(capsys, "train", trained / "recipe.yaml", "--out", trained, "--resume", "train.steps=6")
    assert code == 2 and "refusing to load" in err and "Traceback" not in out + err
    assert not (tmp_path / "code-ran").exists()


def test_train_without_data_is_a_recipe_error(toys, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.yaml").write_text("model: {denoiser: toy_mlp, diffusion: ddpm, sampler: ddim}\n")
    code, _, err = run(capsys, "train", "r.yaml")
    assert code == 2 and "data: missing; training needs a dataset node" in err


def test_the_commands_run_as_a_program(trained, tmp_path):
    """The same through a fresh interpreter: exit codes and output of the real entry point."""
    result = subprocess.run([sys.executable, str(HERE / "run_with_toys.py"), "sample", str(trained), "--num", "1",
                             "--out", str(tmp_path / "gen")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "gen" / "song_000" / "mels.png").stat().st_size > 0


# -- output folders: nothing clobbered, nothing mixed ----------------------------------------------------------


def test_train_refuses_a_folder_without_checkpoints_unless_overwrite(toy_recipe, tmp_path, capsys):
    """An earlier attempt that never reached a checkpoint: its recipe.yaml and log.jsonl are not silently
    replaced and appended to; --overwrite deletes them and starts again."""
    recipe = toy_recipe(steps=2, checkpoint_every=2)
    out = tmp_path / "attempt"
    out.mkdir()
    (out / "recipe.yaml").write_text("name: an earlier attempt\n")
    (out / "log.jsonl").write_text('{"step": 999, "loss": 1.0}\n')
    code, out_text, err = run(capsys, "train", recipe, "--out", out, "--no-progress")
    assert code == 2 and "Traceback" not in out_text + err
    assert f"--out {out} is not empty (it holds log.jsonl, recipe.yaml): pass --overwrite" in err
    assert (out / "recipe.yaml").read_text() == "name: an earlier attempt\n"
    assert (out / "log.jsonl").read_text() == '{"step": 999, "loss": 1.0}\n'
    code, _, err = run(capsys, "train", recipe, "--out", out, "--resume", "--overwrite")
    assert code == 2 and "--resume continues the run" in err and "pass one of them" in err
    code, _, err = run(capsys, "train", recipe, "--out", out, "--no-progress", "--overwrite")
    assert code == 0, err
    steps = [json.loads(line).get("step") for line in (out / "log.jsonl").read_text().splitlines()]
    assert 999 not in steps and "toy_mlp" in (out / "recipe.yaml").read_text()


def test_train_overwrite_replaces_a_run_with_checkpoints(trained, capsys):
    (trained / "samples" / "stale.txt").write_text("from the old run")
    code, _, err = run(capsys, "train", trained / "recipe.yaml", "train.steps=2", "--out", trained, "--no-progress", "--overwrite")
    assert code == 0, err
    assert sorted(p.name for p in (trained / "checkpoints").iterdir()) == ["latest", "step_00000002"]
    assert not (trained / "samples").exists()


@pytest.mark.parametrize("command", ["train", "sample"])
def test_an_out_that_is_a_file_is_refused_before_any_work(toy_recipe, tmp_path, capsys, command):
    """Checked before the recipe is built or the checkpoint read: here the checkpoint does not even exist."""
    target = tmp_path / "taken.txt"
    target.write_text("keep me")
    first = [toy_recipe()] if command == "train" else [tmp_path / "no-such-run"]
    code, out, err = run(capsys, command, *first, "--out", target, "--no-progress" if command == "train" else "--num=1")
    assert code == 2 and "Traceback" not in out + err
    assert f"--out {target} is a file, not a folder" in err
    assert target.read_text() == "keep me"


def test_sample_refuses_a_non_empty_folder_and_overwrite_replaces_it_whole(trained, tmp_path, capsys):
    """A 2-track model sampled into a folder of 4-track songs: refused, and with --overwrite no old track,
    no stale extra song and no temporary folder is left beside the new songs."""
    out = tmp_path / "gen"
    for song in ("song_000", "song_007"):
        (out / song).mkdir(parents=True)
        for name in ("bass", "drums", "guitar", "piano"):
            (out / song / f"{name}.wav").write_bytes(b"old")
    code, _, err = run(capsys, "sample", trained, "--num", 2, "--steps", 2, "--out", out)
    assert code == 2 and f"--out {out} is not empty (it holds song_000, song_007): pass --overwrite" in err
    assert (out / "song_000" / "guitar.wav").read_bytes() == b"old"
    code, _, err = run(capsys, "sample", trained, "--num", 2, "--steps", 2, "--out", out, "--overwrite")
    assert code == 0, err
    # the new songs, their record and their listening page: nothing of the old songs
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "sampling.json", "song_000", "song_001"]
    assert {p.name for p in (out / "song_000").iterdir()} == {"bass.wav", "drums.wav", "mix.wav", "mels.png"}


def test_a_song_appears_whole_or_not_at_all(trained, tmp_path, capsys, monkeypatch):
    """Each song is written into a hidden folder and renamed into place: a failure half-way through a song
    leaves no song folder with some of its files."""
    import synctrack.outputs

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(synctrack.outputs, "plot_mels", fail)  # after the WAVs of the first song are written
    with pytest.raises(OSError, match="disk full"):
        run(capsys, "sample", trained, "--num", 1, "--steps", 2, "--out", tmp_path / "gen")
    assert list((tmp_path / "gen").iterdir()) == []


def test_a_run_stopped_by_sigterm_exits_143_after_its_checkpoint(toy_recipe, tmp_path, capsys, monkeypatch):
    """A cluster's preemption must not look like completion: exit 128 + SIGTERM, once the checkpoint is safe."""
    from synctrack.training.trainer import Trainer

    step = Trainer.train_step

    def preempted_at_step_3(self):
        if self.step == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # a real signal, during step 3
        return step(self)

    monkeypatch.setattr(Trainer, "train_step", preempted_at_step_3)
    code, out, err = run(capsys, "train", toy_recipe(steps=10, checkpoint_every=10), "--out", tmp_path / "run", "--no-progress")
    assert code == 143
    assert "stopped by SIGTERM: step 3" in out and "exit code 143" in out
    assert "SIGTERM received: stopped at step 3 after saving" in err and "exiting with code 143" in err
    events = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines() if "event" in line]
    assert [e["event"] for e in events][-2:] == ["checkpoint", "stopped"]
    assert events[-1]["signal"] == "SIGTERM" and events[-1]["exit_code"] == 143 and events[-1]["step"] == 3
    assert (tmp_path / "run" / "checkpoints" / "latest").read_text().strip() == "step_00000003"
